"""sagemagic-local's training jobs and CloudWatch Logs against boto3: real
XGBoost training on data the test makes, the container's log lines and
metrics, model.tar.gz loaded by Python's xgboost, the container's failure
reasons, StopTrainingJob, and a service killed in the middle of a job."""
import io
import re
import tarfile
import time

import numpy as np
import psutil
import pytest
import scipy.sparse
import xgboost
from botocore.exceptions import ClientError

from local_service import LocalService
from test_local_serving import recordio

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
ROLE = "arn:aws:iam::000000000000:role/SageMakerRole"
GROUP = "/aws/sagemaker/TrainingJobs"
WAIT = {"Delay": 1, "MaxAttempts": 120}


@pytest.fixture(scope="module")
def svc(tmp_path_factory):
    with LocalService(tmp_path_factory.mktemp("local-training") / "data").running() as service:
        yield service


@pytest.fixture(scope="module")
def s3(svc):
    return svc.client("s3")


@pytest.fixture(scope="module")
def sm(svc):
    return svc.client("sagemaker")


@pytest.fixture(scope="module")
def logs(svc):
    return svc.client("logs")


@pytest.fixture(scope="module")
def bucket(s3):
    s3.create_bucket(Bucket="training-data")
    return "training-data"


def regression(seed=7, rows=600):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 5))
    y = 3 * x[:, 0] - 2 * x[:, 1] + 0.5 * x[:, 2] * x[:, 3] + rng.normal(scale=0.1, size=rows)
    return x, y


def csv_text(x, y):
    return "".join(",".join(f"{v:.6f}" for v in [label, *row]) + "\n" for label, row in zip(y, x))


def put(s3, bucket, key, text):
    return put_bytes(s3, bucket, key, text.encode())


def put_bytes(s3, bucket, key, body):
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    return f"s3://{bucket}/{key}"


def channel(name, uri, content_type="text/csv"):
    ch = {"ChannelName": name,
          "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri}}}
    if content_type:
        ch["ContentType"] = content_type
    return ch


def create(sm, name, channels, hyperparameters, image=IMAGE, output="s3://training-data/out",
           max_runtime=600):
    return sm.create_training_job(
        TrainingJobName=name, RoleArn=ROLE,
        AlgorithmSpecification={"TrainingImage": image, "TrainingInputMode": "File"},
        InputDataConfig=channels, OutputDataConfig={"S3OutputPath": output},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
        StoppingCondition={"MaxRuntimeInSeconds": max_runtime},
        HyperParameters=hyperparameters)


def wait(sm, name):
    sm.get_waiter("training_job_completed_or_stopped").wait(TrainingJobName=name, WaiterConfig=WAIT)
    return sm.describe_training_job(TrainingJobName=name)


def wait_failed(sm, name, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        d = sm.describe_training_job(TrainingJobName=name)
        if d["TrainingJobStatus"] not in ("InProgress", "Stopping"):
            return d
        time.sleep(0.1)
    raise AssertionError(f"{name} still running after {timeout} s")


def wait_secondary(sm, name, status, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        d = sm.describe_training_job(TrainingJobName=name)
        if d["SecondaryStatus"] == status:
            return d
        time.sleep(0.05)
    raise AssertionError(f"{name} never reached {status}")


def all_events(logs, stream, limit=7):
    """Every event of the stream, paging forward until the token comes back."""
    events, token = [], None
    for _ in range(1000):
        args = {"logGroupName": GROUP, "logStreamName": stream, "startFromHead": True,
                "limit": limit}
        if token:
            args["nextToken"] = token
        page = logs.get_log_events(**args)
        events += page["events"]
        if page["nextForwardToken"] == token:
            return events
        token = page["nextForwardToken"]
    raise AssertionError("GetLogEvents never ended")


def job_stream(logs, name):
    streams = logs.describe_log_streams(logGroupName=GROUP, logStreamNamePrefix=name + "/")
    assert len(streams["logStreams"]) == 1
    return streams["logStreams"][0]["logStreamName"]


def train_job_processes(name):
    found = []
    for p in psutil.process_iter(["cmdline"]):
        cmd = p.info["cmdline"] or []
        if "train-job" in cmd and any(arg.endswith("/training/" + name) for arg in cmd):
            found.append(p)
    return found


# ---- a job that trains ---------------------------------------------------------

@pytest.fixture(scope="module")
def trained(s3, sm, bucket):
    x, y = regression()
    train = put(s3, bucket, "reg/train/part-1.csv", csv_text(x[:400], y[:400]))
    put(s3, bucket, "reg/train/part-2.csv", csv_text(x[400:500], y[400:500]))
    put(s3, bucket, "reg/train/_SUCCESS", "")
    val = put(s3, bucket, "reg/validation/val.csv", csv_text(x[500:], y[500:]))
    started = time.monotonic()
    arn = create(sm, "reg-job", [channel("train", train.rsplit("/", 1)[0] + "/"),
                                 channel("validation", val)],
                 {"num_round": "25", "max_depth": "4", "eta": "0.3",
                  "objective": "reg:squarederror", "seed": "1"})["TrainingJobArn"]
    job = wait(sm, "reg-job")
    return {"arn": arn, "job": job, "x": x, "y": y, "seconds": time.monotonic() - started}


def test_training_job_completes(trained):
    job = trained["job"]
    assert trained["arn"] == "arn:aws:sagemaker:us-east-1:000000000000:training-job/reg-job"
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert job["SecondaryStatus"] == "Completed"
    steps = [t["Status"] for t in job["SecondaryStatusTransitions"]]
    assert steps == ["Starting", "Downloading", "Training", "Uploading", "Completed"]
    assert all("StatusMessage" in t and "EndTime" in t for t in job["SecondaryStatusTransitions"])
    assert job["ModelArtifacts"]["S3ModelArtifacts"] == "s3://training-data/out/reg-job/output/model.tar.gz"
    assert job["HyperParameters"]["num_round"] == "25"
    assert job["AlgorithmSpecification"]["TrainingImage"] == IMAGE
    assert job["ResourceConfig"]["InstanceType"] == "ml.m5.large"
    assert job["TrainingTimeInSeconds"] >= 1 and job["BillableTimeInSeconds"] >= 1
    assert job["CreationTime"] <= job["TrainingStartTime"] <= job["TrainingEndTime"]
    assert trained["seconds"] < 30


def test_final_metrics_equal_the_last_log_line(trained, logs):
    events = all_events(logs, job_stream(logs, "reg-job"))
    rounds = [e["message"] for e in events if re.match(r"\[\d+\]#011", e["message"])]
    assert len(rounds) == 25
    assert rounds[0].startswith("[0]#011train-rmse:")
    last = rounds[-1]
    assert last.startswith("[24]#011")
    from_log = {}
    for piece in last.split("#011")[1:]:
        name, value = piece.rsplit(":", 1)
        data, metric = name.split("-", 1)
        from_log[f"{data}:{metric}"] = float(value)
    final = {m["MetricName"]: m["Value"] for m in trained["job"]["FinalMetricDataList"]}
    assert set(final) == {"train:rmse", "validation:rmse"}
    assert final == pytest.approx(from_log, abs=1e-9)
    assert final["validation:rmse"] < 1.0


def test_model_artifact_loads_in_python_xgboost(trained, s3):
    body = s3.get_object(Bucket="training-data", Key="out/reg-job/output/model.tar.gz")["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tar:
        assert tar.getnames() == ["xgboost-model"]
        raw = tar.extractfile("xgboost-model").read()
    booster = xgboost.Booster()
    booster.load_model(bytearray(raw))
    assert booster.num_boosted_rounds() == 25
    x, y = trained["x"], trained["y"]
    predicted = booster.predict(xgboost.DMatrix(x[:500].astype(np.float32)))
    rmse = float(np.sqrt(np.mean((predicted - y[:500].astype(np.float32)) ** 2)))
    final = {m["MetricName"]: m["Value"] for m in trained["job"]["FinalMetricDataList"]}
    assert rmse == pytest.approx(final["train:rmse"], abs=2e-5)


def test_logs_paging_and_filter(trained, logs):
    stream = job_stream(logs, "reg-job")
    assert stream.startswith("reg-job/algo-1-")
    everything = all_events(logs, stream, limit=10000)
    assert [e["message"] for e in all_events(logs, stream, limit=3)] == \
        [e["message"] for e in everything]
    # Without startFromHead the newest events come, oldest first.
    tail = logs.get_log_events(logGroupName=GROUP, logStreamName=stream, limit=2)
    assert [e["message"] for e in tail["events"]] == [e["message"] for e in everything[-2:]]
    back = logs.get_log_events(logGroupName=GROUP, logStreamName=stream, limit=2,
                               nextToken=tail["nextBackwardToken"], startFromHead=True)
    assert [e["message"] for e in back["events"]] == [e["message"] for e in everything[-4:-2]]
    found, token = [], None
    for _ in range(100):
        args = {"logGroupName": GROUP, "logStreamNamePrefix": "reg-job/",
                "filterPattern": "validation-rmse", "limit": 10}
        if token:
            args["nextToken"] = token
        page = logs.filter_log_events(**args)
        found += page["events"]
        token = page.get("nextToken")
        if not token:
            break
    assert len(found) == 25
    assert all(e["logStreamName"] == stream for e in found)
    groups = logs.describe_log_groups(logGroupNamePrefix="/aws/sagemaker/")["logGroups"]
    assert GROUP in [g["logGroupName"] for g in groups]
    with pytest.raises(ClientError) as e:
        logs.get_log_events(logGroupName=GROUP, logStreamName="no-such/stream")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_list_training_jobs(trained, sm):
    names = [s["TrainingJobName"] for s in sm.list_training_jobs(NameContains="reg-j")["TrainingJobSummaries"]]
    assert names == ["reg-job"]
    done = sm.list_training_jobs(StatusEquals="Completed", SortBy="Name", SortOrder="Ascending")
    assert "reg-job" in [s["TrainingJobName"] for s in done["TrainingJobSummaries"]]
    pages = sm.get_paginator("list_training_jobs").paginate(PaginationConfig={"PageSize": 1})
    listed = [s["TrainingJobName"] for page in pages for s in page["TrainingJobSummaries"]]
    assert len(listed) == len(set(listed)) and "reg-job" in listed
    later = sm.list_training_jobs(CreationTimeAfter=time.time() + 3600)["TrainingJobSummaries"]
    assert later == []


def test_name_must_be_unique(trained, sm):
    with pytest.raises(ClientError) as e:
        create(sm, "REG-JOB", [channel("train", "s3://training-data/reg/train/")], {"num_round": "2"})
    err = e.value.response["Error"]
    assert err["Code"] == "ResourceInUse"
    assert err["Message"] == ("Training job names must be unique within an AWS account and region, "
                              "and a training job with this name already exists (" + trained["arn"] + ")")


# ---- checks at CreateTrainingJob --------------------------------------------------

def test_invalid_requests(sm):
    with pytest.raises(ClientError) as e:
        create(sm, "bad_name", [channel("train", "s3://training-data/x")], {"num_round": "2"})
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert "trainingJobName" in e.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as e:
        sm.describe_training_job(TrainingJobName="never-made")
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert "Could not find" in e.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as e:
        sm.stop_training_job(TrainingJobName="never-made")
    assert e.value.response["Error"]["Code"] == "ValidationException"


# ---- failures the job reports ------------------------------------------------------

def failed_job(sm, name, channels, hyperparameters, **kw):
    create(sm, name, channels, hyperparameters, **kw)
    d = wait_failed(sm, name)
    assert d["TrainingJobStatus"] == "Failed"
    assert d["SecondaryStatus"] == "Failed"
    return d["FailureReason"]


@pytest.mark.parametrize("kind", ["dense", "sparse"])
def test_recordio_protobuf_channels_train_as_python_xgboost(s3, sm, bucket, kind, tmp_path):
    """Channels written by the SageMaker SDK (dense float32 rows, or sparse
    float64 ones without their zeros): the job's final metrics are the
    ones Python's xgboost gets from the matrices the container builds."""
    x, y = regression(seed=17, rows=500)
    if kind == "sparse":
        x = np.where(np.abs(x) > 0.5, x, 0.0)
    content = "application/x-recordio-protobuf"
    train = put_bytes(s3, bucket, f"rio-{kind}/train.rec", recordio(tmp_path, x[:400], kind, y[:400]))
    val = put_bytes(s3, bucket, f"rio-{kind}/val.rec", recordio(tmp_path, x[400:], kind, y[400:]))
    params = {"num_round": "12", "max_depth": "3", "eta": "0.3", "objective": "reg:squarederror"}
    create(sm, f"rio-{kind}", [channel("train", train, content), channel("validation", val, content)],
           params)
    job = wait(sm, f"rio-{kind}")
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")

    def matrix(rows, labels):
        data = rows.astype(np.float32) if kind == "dense" else scipy.sparse.csr_matrix(rows)
        return xgboost.DMatrix(data, label=labels)
    dtrain, dval = matrix(x[:400], y[:400]), matrix(x[400:], y[400:])
    result = {}
    xgboost.train({"max_depth": 3, "eta": 0.3, "objective": "reg:squarederror"}, dtrain, 12,
                  evals=[(dtrain, "train"), (dval, "validation")], evals_result=result,
                  verbose_eval=False)
    final = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    assert final["train:rmse"] == pytest.approx(result["train"]["rmse"][-1], abs=1e-5)
    assert final["validation:rmse"] == pytest.approx(result["validation"]["rmse"][-1], abs=1e-5)


def test_recordio_protobuf_without_labels_or_other_types_fail_clearly(s3, sm, bucket, tmp_path):
    x, _ = regression(seed=3, rows=20)
    uri = put_bytes(s3, bucket, "rio-bad/nolabel.rec", recordio(tmp_path, x, "dense"))
    reason = failed_job(sm, "rio-nolabel", [channel("train", uri, "recordio-protobuf")],
                        {"num_round": "3"})
    assert reason == (f"ClientError: {uri}: 20 records have features but 0 label values were "
                      "found; each record needs label[\"values\"] with one value")
    uri = put_bytes(s3, bucket, "rio-bad/not.rec", b"1,2,3,4,5,6,7,8\n")
    reason = failed_job(sm, "rio-not", [channel("train", uri, "recordio-protobuf")],
                        {"num_round": "3"})
    assert reason == (f"ClientError: {uri} is not RecordIO-protobuf the algorithm reads: "
                      "ValueError: Invalid RecordIO magic at offset 0")
    reason = failed_job(sm, "parquet", [channel("train", uri, "application/x-parquet")],
                        {"num_round": "3"})
    assert reason.endswith("(sagemagic-local reads text/csv, text/libsvm and "
                           "application/x-recordio-protobuf)")


def test_text_in_a_numeric_column_names_the_row(s3, sm, bucket):
    uri = put(s3, bucket, "bad/text.csv", "1,2,3\n0,1,2\n1,oops,3\n")
    reason = failed_job(sm, "bad-text", [channel("train", uri)], {"num_round": "3"})
    assert reason == ("ClientError: s3://training-data/bad/text.csv line 3, column 2: "
                      "'oops' is not a number (a feature)")


def test_a_header_row_is_explained(s3, sm, bucket):
    uri = put(s3, bucket, "bad/header.csv", "label,a,b\n1,2,3\n")
    reason = failed_job(sm, "bad-header", [channel("train", uri)], {"num_round": "3"})
    assert "line 1, column 1: 'label' is not a number" in reason
    assert "no header row" in reason


def test_wrong_column_count_names_the_row(s3, sm, bucket):
    uri = put(s3, bucket, "bad/columns.csv", "1,2,3,4\n0,1,2,3\n1,2,3\n")
    reason = failed_job(sm, "bad-columns", [channel("train", uri)], {"num_round": "3"})
    assert "s3://training-data/bad/columns.csv line 3: 3 columns where the rows before have 4" in reason


def test_empty_file(s3, sm, bucket):
    uri = put(s3, bucket, "bad/empty.csv", "")
    reason = failed_job(sm, "bad-empty", [channel("train", uri)], {"num_round": "3"})
    assert reason.startswith("ClientError: s3://training-data/bad/empty.csv is empty")


def test_csv_without_content_type_is_read_as_libsvm(s3, sm, bucket):
    uri = put(s3, bucket, "bad/nocontent.csv", "1,2,3\n")
    reason = failed_job(sm, "bad-content", [channel("train", uri, content_type=None)],
                        {"num_round": "3"})
    assert "looks like CSV" in reason and "text/csv" in reason


def test_unknown_hyperparameter_is_rejected(s3, sm, bucket):
    uri = put(s3, bucket, "ok/small.csv", csv_text(*regression(rows=50)))
    reason = failed_job(sm, "bad-hp", [channel("train", uri)], {"num_round": "3", "depth": "4"})
    assert reason == "ClientError: Extraneous hyperparameter found: depth"


def test_script_mode_says_only_the_algorithm_runs(s3, sm, bucket):
    """The SageMaker SDK's XGBoost(entry_point=...) in the xgboost image."""
    uri = put(s3, bucket, "ok/script.csv", csv_text(*regression(rows=50)))
    reason = failed_job(sm, "script-mode", [channel("train", uri)], {
        "sagemaker_program": '"train.py"', "sagemaker_region": '"us-east-1"',
        "sagemaker_submit_directory": f'"s3://{bucket}/src/sourcedir.tar.gz"'})
    assert reason.startswith('ClientError: This job asks for script mode (sagemaker_program '
                             '"train.py", as the SageMaker SDK\'s XGBoost estimator')
    assert "runs only the built-in XGBoost algorithm" in reason


def test_hyperparameter_out_of_range_and_missing_num_round(s3, sm, bucket):
    uri = put(s3, bucket, "ok/small2.csv", csv_text(*regression(rows=50)))
    reason = failed_job(sm, "bad-eta", [channel("train", uri)], {"num_round": "3", "eta": "2"})
    assert reason == "ClientError: Hyperparameter eta: 2.0 is not in [0, 1]"
    reason = failed_job(sm, "no-rounds", [channel("train", uri)], {"max_depth": "3"})
    assert reason == "ClientError: Missing required hyperparameter: num_round"


def test_gblinear_takes_one_linear_updater_and_no_feature_selector(s3, sm, bucket):
    uri = put(s3, bucket, "ok/small3.csv", csv_text(*regression(rows=50)))
    linear = {"num_round": "3", "booster": "gblinear"}
    reason = failed_job(sm, "bad-linear-updater", [channel("train", uri)],
                        dict(linear, updater="grow_colmaker"))
    assert reason == ("ClientError: Linear updater should be one of these options: "
                      "'shotgun', 'coord_descent'.")
    reason = failed_job(sm, "bad-linear-selector", [channel("train", uri)],
                        dict(linear, updater="coord_descent", feature_selector="greedy"))
    assert reason == "ClientError: Extraneous hyperparameter found: feature_selector"


def test_missing_train_channel_and_missing_data(s3, sm, bucket):
    uri = put(s3, bucket, "ok/small3.csv", csv_text(*regression(rows=50)))
    reason = failed_job(sm, "no-train", [channel("validation", uri)], {"num_round": "3"})
    assert reason == "ClientError: Missing required channel: train"
    reason = failed_job(sm, "no-data", [channel("train", "s3://training-data/nothing/here")],
                        {"num_round": "3"})
    assert reason.startswith('ClientError: No S3 objects found under S3 URL "s3://training-data/nothing/here"')


def test_an_image_other_than_xgboost_fails(s3, sm, bucket):
    uri = put(s3, bucket, "ok/small4.csv", csv_text(*regression(rows=50)))
    reason = failed_job(sm, "not-xgboost", [channel("train", uri)], {"num_round": "3"},
                        image="123456789012.dkr.ecr.us-east-1.amazonaws.com/my-own:latest")
    assert "runs only the built-in XGBoost algorithm" in reason
    assert "my-own:latest" in reason


def test_libsvm_and_early_stopping(s3, sm, bucket):
    rng = np.random.default_rng(3)
    rows = []
    for _ in range(300):
        a, b = rng.normal(size=2)
        label = int(a + b > 0)
        rows.append(f"{label} 1:{a:.5f} 3:{b:.5f}\n")
    train = put(s3, bucket, "svm/train.libsvm", "".join(rows[:200]))
    val = put(s3, bucket, "svm/val.libsvm", "".join(rows[200:]))
    create(sm, "svm-early", [channel("train", train, "text/libsvm"),
                             channel("validation", val, "libsvm")],
           {"num_round": "500", "objective": "binary:logistic", "eval_metric": "logloss,error",
            "early_stopping_rounds": "5", "max_depth": "2", "eta": "0.5"})
    job = wait(sm, "svm-early")
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    names = {m["MetricName"] for m in job["FinalMetricDataList"]}
    assert names == {"train:logloss", "train:error", "validation:logloss", "validation:error"}
    body = s3.get_object(Bucket="training-data", Key="out/svm-early/output/model.tar.gz")["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tar:
        raw = tar.extractfile("xgboost-model").read()
    booster = xgboost.Booster()
    booster.load_model(bytearray(raw))
    assert booster.num_boosted_rounds() < 500
    assert "best_iteration" in booster.attributes()


# ---- stopping --------------------------------------------------------------------

@pytest.fixture(scope="module")
def long_data(s3, bucket):
    x, y = regression(seed=11, rows=3000)
    return put(s3, bucket, "long/train.csv", csv_text(x, y))


def test_stop_training_job(sm, long_data):
    create(sm, "long-stop", [channel("train", long_data)],
           {"num_round": "1000000", "max_depth": "8", "eta": "0.01"})
    wait_secondary(sm, "long-stop", "Training")
    deadline = time.monotonic() + 30
    while not train_job_processes("long-stop") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert train_job_processes("long-stop")
    sm.stop_training_job(TrainingJobName="long-stop")
    assert sm.describe_training_job(TrainingJobName="long-stop")["TrainingJobStatus"] in ("Stopping", "Stopped")
    job = wait(sm, "long-stop")
    assert job["TrainingJobStatus"] == "Stopped"
    assert job["SecondaryStatus"] == "Stopped"
    assert [t["Status"] for t in job["SecondaryStatusTransitions"]][-2:] == ["Stopping", "Stopped"]
    assert train_job_processes("long-stop") == []
    with pytest.raises(ClientError) as e:
        sm.stop_training_job(TrainingJobName="long-stop")
    assert "is in status Stopped" in e.value.response["Error"]["Message"]


def test_max_runtime_stops_the_job(sm, long_data):
    create(sm, "long-timeout", [channel("train", long_data)],
           {"num_round": "1000000", "max_depth": "8", "eta": "0.01",
            "save_model_on_termination": "true"}, max_runtime=2)
    job = wait(sm, "long-timeout")
    assert job["TrainingJobStatus"] == "Stopped"
    assert job["SecondaryStatus"] == "MaxRuntimeExceeded"
    assert job["ModelArtifacts"]["S3ModelArtifacts"].endswith("/long-timeout/output/model.tar.gz")
    assert train_job_processes("long-timeout") == []


# ---- the service killed while a job runs -------------------------------------------

def test_kill_9_then_restart_fails_the_job(tmp_path):
    data = tmp_path / "data"
    service = LocalService(data).start()
    try:
        s3, sm = service.client("s3"), service.client("sagemaker")
        s3.create_bucket(Bucket="training-data")
        x, y = regression(seed=5, rows=3000)
        uri = put(s3, "training-data", "k/train.csv", csv_text(x, y))
        create(sm, "killed-job", [channel("train", uri)],
               {"num_round": "1000000", "max_depth": "8", "eta": "0.01"})
        wait_secondary(sm, "killed-job", "Training")
        deadline = time.monotonic() + 30
        while not train_job_processes("killed-job") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert train_job_processes("killed-job")
        service.kill()
        deadline = time.monotonic() + 10
        while train_job_processes("killed-job") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert train_job_processes("killed-job") == []
        service = LocalService(data).start()
        sm = service.client("sagemaker")
        job = sm.describe_training_job(TrainingJobName="killed-job")
        assert job["TrainingJobStatus"] == "Failed"
        assert "sagemagic-local stopped while the training job ran" in job["FailureReason"]
        assert "TrainingEndTime" in job
    finally:
        service.stop()
        service.kill()
