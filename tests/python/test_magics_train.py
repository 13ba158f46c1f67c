"""%train, %%train and %stop through jupyter_client against the built kernel
on the local backend: the kernel starts its own sagemagic-local in a
private data dir (SAGEMAGIC_LOCAL_DATA_DIR), which trains XGBoost for real;
boto3 with the service's credentials checks what arrived.

Data is made here with a fixed seed. Every service and kernel started here
is stopped; every wait is bounded."""
import json
import random
import time

import pytest

from magics_helpers import InterruptOn, local_kernel, wait_while_in_progress

pytestmark = pytest.mark.timeout(300)


def linear_rows(n, seed, features=3):
    """label-first CSV rows of y = 2 x0 - x1 + 0.5 x2 + noise."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        xs = [rng.uniform(-1, 1) for _ in range(features)]
        y = 2 * xs[0] - xs[1] + 0.5 * xs[2] + rng.gauss(0, 0.1)
        rows.append(",".join(f"{v:.5f}" for v in [y] + xs))
    return "\n".join(rows) + "\n"


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    for loc in local_kernel(tmp_path_factory, "magics-train"):
        (loc.work / "train.csv").write_text(linear_rows(400, 1))
        (loc.work / "validation.csv").write_text(linear_rows(100, 2))
        loc.kernel.ok("train = %upload train.csv\nval = %upload validation.csv",
                      timeout=60)
        yield loc


def training_jobs(local):
    return local.sagemaker().list_training_jobs(MaxResults=100)["TrainingJobSummaries"]


def training_status(local, name):
    return local.sagemaker().describe_training_job(TrainingJobName=name)["TrainingJobStatus"]


def test_train_with_validation(local):
    k = local.kernel
    cell = k.run("job = %train xgboost --train $train --validation $val "
                 "objective=reg:squarederror num_round=20 max_depth=3\njob", timeout=120)
    assert cell.status == "ok", cell.error
    name = cell.result
    assert name.startswith("xgboost-") and len(name) <= 63
    job = local.sagemaker().describe_training_job(TrainingJobName=name)
    assert job["TrainingJobStatus"] == "Completed"
    hp = job["HyperParameters"]
    assert hp["num_round"] == "20" and hp["max_depth"] == "3"
    assert hp["objective"] == "reg:squarederror"
    assert [c["ChannelName"] for c in job["InputDataConfig"]] == ["train", "validation"]
    assert job["RoleArn"] == "arn:aws:iam::000000000000:role/sagemagic-local"
    assert job["AlgorithmSpecification"]["TrainingImage"].endswith("sagemaker-xgboost:1.7-1")
    # one card, updated in place
    shown = [c for t, c in cell.outputs if t == "display_data"
             and "training job" in c["data"].get("text/plain", "")]
    assert len(shown) == 1
    display_id = shown[0]["transient"]["display_id"]
    updates = cell.of("update_display_data")
    assert updates and all(u["transient"]["display_id"] == display_id for u in updates)
    final = updates[-1]["data"]
    assert "Completed" in final["text/plain"] and name in final["text/plain"]
    assert "model.tar.gz" in final["text/plain"]
    assert "var(--jp-" in final["text/html"]
    # the log lines, streamed during the wait
    assert "validation-rmse" in cell.stdout and "[19]" in cell.stdout
    kinds = [m["msg_type"] for m in cell.messages]
    first_line = next(i for i, m in enumerate(cell.messages) if m["msg_type"] == "stream"
                      and "train-rmse" in m["content"]["text"])
    assert first_line < len(kinds) - 1 - kinds[::-1].index("update_display_data"), \
        "no log line arrived before the job ended"
    # the chart at the end
    charts = [c for t, c in cell.outputs if t == "display_data"
              and "image/svg+xml" in c["data"]]
    assert charts and "<polyline" in charts[-1]["data"]["image/svg+xml"]
    assert "validation" in charts[-1]["data"]["text/plain"]
    assert "20 rounds" in charts[-1]["data"]["text/plain"]
    # the last job is this one
    assert name in k.ok("%status").result


def test_train_cell_form(local):
    k = local.kernel
    cell = k.run("%%train xgboost --train $train --name cell-form-job\n"
                 "# a comment\n"
                 "objective = reg:squarederror\n"
                 "num_round = 5   # trailing comment\n"
                 "\n"
                 "eta = 0.3\n", timeout=120)
    assert cell.status == "ok", cell.error
    assert cell.result == "cell-form-job"
    hp = local.sagemaker().describe_training_job(TrainingJobName="cell-form-job")["HyperParameters"]
    assert hp["num_round"] == "5" and hp["eta"] == "0.3"
    assert hp["objective"] == "reg:squarederror"


def test_dry_run_sends_nothing(local):
    k = local.kernel
    before = len(training_jobs(local))
    cell = k.ok("%train xgboost --train $train --name dry-job --instance ml.c5.xlarge "
                "--dry-run num_round=7")
    request = json.loads(cell.result)
    assert request["TrainingJobName"] == "dry-job"
    assert request["HyperParameters"] == {"num_round": "7"}
    assert request["ResourceConfig"]["InstanceType"] == "ml.c5.xlarge"
    assert request["OutputDataConfig"]["S3OutputPath"] == \
        "s3://sagemaker-us-east-1-000000000000/sagemagic/"
    assert request["InputDataConfig"][0]["ContentType"] == "text/csv"
    assert len(training_jobs(local)) == before


def test_usage_errors(local):
    k = local.kernel
    e = k.fails("%train xgboost num_round=5")
    assert e["ename"] == "UsageError" and "--train" in e["evalue"]
    e = k.fails("%%train xgboost --train s3://b/k\nnot a pair\n")
    assert "KEY = VALUE" in e["evalue"]
    k.ok("%config backend=aws role=")
    try:
        e = k.fails("%train xgboost --train s3://b/k num_round=5")
        assert "%config role=arn:aws:iam::" in e["evalue"]
    finally:
        k.ok("%config backend=local")
    e = k.fails("%stop no-such-job-here")
    assert "no-such-job-here" in e["evalue"] and "\n" not in e["evalue"]


def test_failed_job_is_an_error(local):
    k = local.kernel
    (local.work / "bad.csv").write_text("1.0,2.0,3.0\n2.0,oops,4.0\n")
    k.ok("bad = %upload bad.csv")
    cell = k.run("%train xgboost --train $bad --name bad-data-job num_round=3",
                 timeout=120)
    assert cell.status == "error"
    e = cell.error
    assert e["ename"] == "TrainingJobFailed"
    assert e["evalue"].startswith("training job bad-data-job failed: ")
    assert "\n" not in e["evalue"]
    reason = local.sagemaker().describe_training_job(
        TrainingJobName="bad-data-job")["FailureReason"]
    assert " ".join(reason.split()).rstrip(".") in e["evalue"]


def test_no_wait(local):
    k = local.kernel
    cell = k.ok("j = %train xgboost --train $train --name no-wait-job --no-wait "
                "num_round=3\nj")
    assert cell.result == "no-wait-job"
    assert not cell.of("update_display_data")
    assert "no-wait-job" in cell.stdout
    k.ok("%config wait=false")
    try:
        cell = k.ok("%train xgboost --train $train --name config-no-wait-job num_round=3")
        assert cell.result == "config-no-wait-job" and not cell.of("update_display_data")
    finally:
        k.ok("%config wait=true")
    for name in ("no-wait-job", "config-no-wait-job"):
        wait_while_in_progress(lambda: training_status(local, name), 60)


def test_interrupt_leaves_the_job_running(local):
    k = local.kernel
    (local.work / "big.csv").write_text(linear_rows(20000, 3, features=10))
    k.ok("big = %upload big.csv", timeout=60)
    interrupt = InterruptOn(k, "update_display_data")
    cell = k.run("%train xgboost --train $big --name long-job "
                 "num_round=2000 max_depth=10 eta=0.01", timeout=120,
                 on_message=interrupt)
    done = time.monotonic()
    assert interrupt.at, "the card was never updated"
    assert done - interrupt.at < 1.0, f"took {done - interrupt.at:.2f} s"
    assert cell.status == "error" and cell.error["ename"] == "KeyboardInterrupt"
    assert "%stop long-job" in cell.error["evalue"]
    sm = local.sagemaker()
    # the job goes on without the kernel watching it
    time.sleep(0.5)
    job = sm.describe_training_job(TrainingJobName="long-job")
    assert job["TrainingJobStatus"] == "InProgress", job["TrainingJobStatus"]
    assert "long-job" in k.complete("%stop long-")["matches"]
    cell = k.ok("%stop long-job")
    assert cell.result == "long-job" and "stopping" in cell.stdout
    assert wait_while_in_progress(lambda: training_status(local, "long-job"), 60) == "Stopped"
    e = k.fails("%stop long-job")
    assert "nothing to stop" in e["evalue"]


@pytest.mark.timeout(400)
def test_interrupted_job_still_completes(local):
    """An interrupt as soon as the card shows returns the cell within 1 s;
    the job, unwatched, runs on to Completed with its model, and %status
    tells so."""
    k = local.kernel
    (local.work / "mid.csv").write_text(linear_rows(10000, 4, features=10))
    k.ok("mid = %upload mid.csv", timeout=60)
    interrupt = InterruptOn(k, "display_data")
    cell = k.run("%train xgboost --train $mid --name finishing-job "
                 "num_round=30 max_depth=6 eta=0.1", timeout=120, on_message=interrupt)
    done = time.monotonic()
    assert interrupt.at, "the card was never shown"
    assert done - interrupt.at < 1.0, f"took {done - interrupt.at:.2f} s"
    assert cell.error["ename"] == "KeyboardInterrupt"
    assert "training job keeps running (stop it with %stop finishing-job)" in cell.error["evalue"]
    sm = local.sagemaker()
    assert sm.describe_training_job(TrainingJobName="finishing-job")[
        "TrainingJobStatus"] == "InProgress"
    assert k.ok("%echo still here").stdout == "still here\n"  # the kernel is free
    wait_while_in_progress(lambda: training_status(local, "finishing-job"), 240)
    job = sm.describe_training_job(TrainingJobName="finishing-job")
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    url = job["ModelArtifacts"]["S3ModelArtifacts"]
    bucket, key = url[len("s3://"):].split("/", 1)
    assert local.client("s3").head_object(Bucket=bucket, Key=key)["ContentLength"] > 0
    status = k.ok("%status finishing-job").result
    assert "Completed" in status
