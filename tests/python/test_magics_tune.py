"""%tune through jupyter_client against the built kernel on the local
backend: the request it builds, its usage errors, and (with the service's
tuning) a tuning job watched to the end with its leaderboard and chart.
Data is made here with fixed seeds; every wait is bounded."""
import json

import pytest

from magics_helpers import local_kernel

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
