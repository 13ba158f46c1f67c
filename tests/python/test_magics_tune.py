"""%tune through jupyter_client against the built kernel on the local
backend: the request it builds, its usage errors, and (with the service's
tuning) a tuning job watched to the end with its leaderboard and chart.
Data is made here with fixed seeds; every wait is bounded."""
import json
import time

import pytest

import boto3

from magics_helpers import InterruptOn, local_kernel, moto_kernel
from test_magics_train import linear_rows

pytestmark = pytest.mark.timeout(300)

BASE = ("%tune xgboost --train s3://b/train.csv --validation s3://b/val.csv "
        "--max-jobs 6 --parallel 2 ")


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    yield from local_kernel(tmp_path_factory, "magics-tune")


def test_dry_run_builds_the_request_and_sends_nothing(local):
    k = local.kernel
    cell = k.ok(BASE + "--objective validation:auc --strategy random eta=0.05..0.5 "
                "max_depth=2..8:int alpha=0.001..10:log booster=gbtree|dart "
                "objective=binary:logistic num_round=20 --name tune-dry --dry-run")
    request = json.loads(cell.result)
    config = request["HyperParameterTuningJobConfig"]
    assert request["HyperParameterTuningJobName"] == "tune-dry"
    assert config["Strategy"] == "Random"
    assert config["HyperParameterTuningJobObjective"] == {"MetricName": "validation:auc",
                                                          "Type": "Maximize"}
    assert config["ResourceLimits"] == {"MaxNumberOfTrainingJobs": 6,
                                        "MaxParallelTrainingJobs": 2}
    ranges = config["ParameterRanges"]
    assert {r["Name"] for r in ranges["ContinuousParameterRanges"]} == {"eta", "alpha"}
    alpha = [r for r in ranges["ContinuousParameterRanges"] if r["Name"] == "alpha"][0]
    assert alpha["ScalingType"] == "Logarithmic"
    assert ranges["IntegerParameterRanges"] == [{"Name": "max_depth", "MinValue": "2",
                                                 "MaxValue": "8"}]
    assert ranges["CategoricalParameterRanges"] == [{"Name": "booster",
                                                     "Values": ["gbtree", "dart"]}]
    definition = request["TrainingJobDefinition"]
    assert definition["StaticHyperParameters"] == {"objective": "binary:logistic",
                                                   "num_round": "20"}
    assert [c["ChannelName"] for c in definition["InputDataConfig"]] == ["train",
                                                                         "validation"]
    # a loss is minimized unless said otherwise; the default name fits 32
    request = json.loads(k.ok(BASE + "--objective validation:rmse eta=0.1..0.2 "
                              "--dry-run").result)
    objective = request["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]
    assert objective["Type"] == "Minimize"
    assert request["HyperParameterTuningJobName"].startswith("xgboost-")
    assert len(request["HyperParameterTuningJobName"]) <= 32
    request = json.loads(k.ok(BASE + "--objective validation:rmse:maximize eta=0.1..0.2 "
                              "--dry-run").result)
    assert request["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"][
        "Type"] == "Maximize"
    assert local.sagemaker().list_hyper_parameter_tuning_jobs()[
        "HyperParameterTuningJobSummaries"] == []


@pytest.mark.parametrize("words, message", [
    ("--objective auc eta=0.1..0.2", "names a channel and a metric"),
    ("--objective validation:auc num_round=3", "at least one range"),
    ("--objective validation:auc --strategy best eta=0.1..0.2", "bayesian, random"),
    ("--objective validation:auc eta=1..x", "not a number"),
])
def test_usage_errors(local, words, message):
    assert message in local.kernel.fails(BASE + words)["evalue"]


def test_required_flags(local):
    k = local.kernel
    assert "--validation" in k.fails("%tune xgboost --train s3://b/t.csv "
                                      "--objective validation:auc eta=0.1..0.2")["evalue"]
    e = k.fails("%tune xgboost --train s3://b/t --validation s3://b/v "
                "--objective validation:auc --max-jobs 2 --parallel 3 eta=0.1..0.2")
    assert "more than --max-jobs" in e["evalue"]
    e = k.fails("%tune xgboost --train s3://b/t --validation s3://b/v "
                "--objective validation:auc eta=0.1..0.2")
    assert "--max-jobs N" in e["evalue"]


# ---- a tuning job on the local backend ----------------------------------------

@pytest.fixture(scope="module")
def data(local):
    k = local.kernel
    (local.work / "tune-train.csv").write_text(linear_rows(300, 1))
    (local.work / "tune-val.csv").write_text(linear_rows(100, 2))
    k.ok("tt = %upload tune-train.csv\ntv = %upload tune-val.csv")
    return local


TUNE = ("%tune xgboost --train $tt --validation $tv --objective validation:rmse "
        "--max-jobs 6 --parallel 2 eta=0.05..0.5:log max_depth=2..6:int "
        "objective=reg:squarederror num_round=15 ")


def test_tuning_job_watched_to_the_end(data):
    k = data.kernel
    cell = k.run("t = " + TUNE + "--name tune-live\n$t", timeout=240)
    assert cell.status == "ok", cell.error
    assert cell.result == "tune-live"
    cards = cell.of("display_data") + cell.of("update_display_data")
    ids = {c["transient"]["display_id"] for c in cards if "transient" in c}
    assert len(ids) == 1 and len(cell.of("update_display_data")) >= 2
    final = [c for c in cards if "transient" in c][-1]["data"]
    assert "var(--jp-" in final["text/html"]
    text = final["text/plain"]
    assert "status     Completed" in text and "6 completed" in text
    # the leaderboard: every trial, the best first and marked, as the
    # service ranks them
    sm = data.sagemaker()
    ranked = sm.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="tune-live", SortBy="FinalObjectiveMetricValue",
        SortOrder="Ascending")["TrainingJobSummaries"]
    assert len(ranked) == 6
    best = sm.describe_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="tune-live")["BestTrainingJob"]
    assert best["TrainingJobName"] == ranked[0]["TrainingJobName"]
    board = text.split("hyperparameters\n", 1)[1].splitlines()
    assert board[0].split()[:2] == ["best", best["TrainingJobName"]]
    assert [line.split()[1] if line.startswith("best") else line.split()[0]
            for line in board[:6]] == [r["TrainingJobName"] for r in ranked]
    value = best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
    assert f"validation:rmse = {value:.6g}" in text
    # the chart of the objective by job
    charts = [c for c in cell.of("display_data") if "image/svg+xml" in c["data"]]
    assert len(charts) == 1 and charts[0]["data"]["image/svg+xml"].count("<rect") == 6
    # the trials are training jobs of their own
    trial = sm.describe_training_job(TrainingJobName=best["TrainingJobName"])
    assert trial["HyperParameters"]["num_round"] == "15"
    assert "tune-live" in k.ok("%jobs --kind tuning").text()


def test_no_wait_stop_and_interrupt(data):
    k = data.kernel
    cell = k.ok(TUNE + "--name tune-nowait --no-wait")
    assert "started tuning job tune-nowait" in cell.stdout
    assert "stop" in k.ok("%stop tune-nowait").text().lower()
    sm = data.sagemaker()
    deadline = time.monotonic() + 60
    while sm.describe_hyper_parameter_tuning_job(
            HyperParameterTuningJobName="tune-nowait")["HyperParameterTuningJobStatus"] \
            not in ("Stopped", "Completed"):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    # an interrupt stops the watching at once; the tuning job goes on
    watcher = InterruptOn(k, "display_data")
    cell = k.run(TUNE + "--name tune-interrupted", timeout=60, on_message=watcher)
    assert cell.status == "error" and time.monotonic() - watcher.at < 1.5
    assert "keeps running" in cell.error["evalue"] and "%stop tune-interrupted" in \
        cell.error["evalue"]
    k.ok("%stop tune-interrupted")


# ---- the aws backend against moto ---------------------------------------------

@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    yield from moto_kernel(tmp_path_factory, "tune-moto")


def test_tune_against_moto(moto):
    """moto keeps a tuning job as it was created (it runs no trials and
    lists none), so the request is what is checked; watching is left out."""
    k = moto
    k.ok("%config role=arn:aws:iam::123456789012:role/SageMakerRole")
    cell = k.ok("%tune xgboost --train s3://b/t.csv --validation s3://b/v.csv "
                "--objective validation:auc --max-jobs 4 --parallel 2 --strategy random "
                "eta=0.1..0.3 booster=gbtree|dart num_round=5 --name moto-tune --no-wait")
    assert "started tuning job moto-tune" in cell.stdout
    sm = boto3.client("sagemaker", endpoint_url=k.url, region_name="us-east-1",
                      aws_access_key_id="testing",
                      aws_secret_access_key=k.env["AWS_SECRET_ACCESS_KEY"])
    job = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="moto-tune")
    config = job["HyperParameterTuningJobConfig"]
    assert config["Strategy"] == "Random"
    assert config["ResourceLimits"]["MaxParallelTrainingJobs"] == 2
    assert config["ParameterRanges"]["CategoricalParameterRanges"] == [
        {"Name": "booster", "Values": ["gbtree", "dart"]}]
    definition = job["TrainingJobDefinition"]
    assert definition["RoleArn"] == "arn:aws:iam::123456789012:role/SageMakerRole"
    assert definition["OutputDataConfig"]["S3OutputPath"] == \
        "s3://sagemaker-us-east-1-123456789012/sagemagic/"
    # on aws a role is needed, and the message says how to set one
    k.ok("%config role=")
    e = k.fails("%tune xgboost --train s3://b/t.csv --validation s3://b/v.csv "
                "--objective validation:auc --max-jobs 4 --parallel 2 eta=0.1..0.3")
    assert "%config role=" in e["evalue"]
