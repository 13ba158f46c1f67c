"""sagemagic-local's serving against boto3: models, endpoint configs and
endpoints (SageMaker), InvokeEndpoint (SageMaker Runtime) answering as the
XGBoost container does, batch transform, many clients at once, and a
restart. The models are trained here with Python's xgboost (the 1.7 line,
as the container and Debian's libxgboost) and compared with its own
predictions."""
import http.client
import io
import json
import os
import statistics
import subprocess
import sys
import tarfile
import threading
import time
import uuid

import numpy as np
import pytest
import scipy.sparse
import xgboost as xgb
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError, WaiterError

from local_service import LocalService

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
ROLE = "arn:aws:iam::000000000000:role/SageMakerRole"
BUCKET = "serving-tests"
FAST = {"Delay": 1, "MaxAttempts": 60}


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("local-serving")


@pytest.fixture(scope="module")
def svc(root):
    with LocalService(root / "data").running() as service:
        yield service


@pytest.fixture(scope="module")
def clients(svc):
    """(s3, sagemaker, runtime); re-made after a restart (the port changes)."""
    state = {}

    def make():
        state["s3"] = svc.client("s3")
        state["sm"] = svc.client("sagemaker")
        state["rt"] = svc.client("sagemaker-runtime")
        state["logs"] = svc.client("logs")
        return state

    make()
    state["remake"] = make
    return state


def train(objective, rows=400, features=4, rounds=30, **params):
    rng = np.random.default_rng(7)
    X = rng.normal(size=(rows, features))
    y = X[:, 0] * 2 + X[:, 1] - X[:, 2] * 0.5 + rng.normal(size=rows) * 0.1
    if objective == "binary:logistic":
        y = (y > 0).astype(float)
    elif objective == "multi:softprob":
        y = np.digitize(y, [-1, 1]).astype(float)
        params["num_class"] = 3
    booster = xgb.train(dict(params, objective=objective, max_depth=4, eta=0.3),
                        xgb.DMatrix(X, label=y), rounds)
    return booster, X


def model_tar(booster, name="xgboost-model", prefix="./"):
    raw = booster.save_raw("deprecated")  # what 1.7's save_model("xgboost-model") writes
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo(prefix + name)
        info.size = len(raw)
        tar.addfile(info, io.BytesIO(bytes(raw)))
    return buf.getvalue()


@pytest.fixture(scope="module")
def models(clients):
    """Three trained models uploaded as model.tar.gz and created in SageMaker."""
    s3, sm = clients["s3"], clients["sm"]
    s3.create_bucket(Bucket=BUCKET)
    out = {}
    for key, objective in [("reg", "reg:squarederror"),
                           ("bin", "binary:logistic"),
                           ("multi", "multi:softprob")]:
        booster, X = train(objective)
        s3.put_object(Bucket=BUCKET, Key=f"models/{key}/model.tar.gz",
                      Body=model_tar(booster))
        name = f"model-{key}"
        sm.create_model(ModelName=name, ExecutionRoleArn=ROLE,
                        PrimaryContainer={"Image": IMAGE,
                                          "ModelDataUrl": f"s3://{BUCKET}/models/{key}/model.tar.gz"})
        out[key] = {"name": name, "booster": booster, "X": X}
    return out


def csv_rows(X):
    return "\n".join(",".join(repr(float(v)) for v in row) for row in X)


def expected(booster, X):
    return booster.predict(xgb.DMatrix(X))


def deploy(sm, endpoint, model, variant="AllTraffic"):
    config = f"{endpoint}-config-{uuid.uuid4().hex[:6]}"
    sm.create_endpoint_config(EndpointConfigName=config, ProductionVariants=[{
        "VariantName": variant, "ModelName": model, "InitialInstanceCount": 1,
        "InstanceType": "ml.m5.large", "InitialVariantWeight": 1.0}])
    return config


def invoke(rt, endpoint, body, content_type="text/csv", accept=None, **kw):
    args = dict(EndpointName=endpoint, Body=body, ContentType=content_type, **kw)
    if accept:
        args["Accept"] = accept
    r = rt.invoke_endpoint(**args)
    return r, r["Body"].read().decode()


def error(excinfo):
    return excinfo.value.response["Error"]


# ---- models and configs ------------------------------------------------------

def test_create_model_checks_image_data_and_names(clients, models):
    sm = clients["sm"]
    d = sm.describe_model(ModelName="model-reg")
    assert d["ModelArn"] == "arn:aws:sagemaker:us-east-1:000000000000:model/model-reg"
    assert d["PrimaryContainer"]["Image"] == IMAGE
    with pytest.raises(ClientError) as e:
        sm.create_model(ModelName="model-reg", ExecutionRoleArn=ROLE,
                        PrimaryContainer={"Image": IMAGE,
                                          "ModelDataUrl": f"s3://{BUCKET}/models/reg/model.tar.gz"})
    assert error(e)["Code"] == "ValidationException"
    assert "Cannot create already existing model" in error(e)["Message"]
    with pytest.raises(ClientError) as e:
        sm.create_model(ModelName="other-image", ExecutionRoleArn=ROLE,
                        PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/mine:1",
                                          "ModelDataUrl": f"s3://{BUCKET}/models/reg/model.tar.gz"})
    assert "XGBoost" in error(e)["Message"]
    with pytest.raises(ClientError) as e:
        sm.create_model(ModelName="no-data", ExecutionRoleArn=ROLE,
                        PrimaryContainer={"Image": IMAGE,
                                          "ModelDataUrl": f"s3://{BUCKET}/nothing/model.tar.gz"})
    assert error(e)["Message"] == f"Could not find model data at s3://{BUCKET}/nothing/model.tar.gz."
    with pytest.raises(ClientError) as e:
        sm.describe_model(ModelName="never-made")
    assert error(e)["Code"] == "ValidationException"
    assert error(e)["Message"].startswith("Could not find model")
    names = [m["ModelName"] for m in sm.list_models(SortBy="Name", SortOrder="Ascending")["Models"]]
    assert names == sorted(names) and "model-reg" in names
    with pytest.raises(ClientError) as e:
        sm.create_endpoint_config(EndpointConfigName="bad-config", ProductionVariants=[{
            "VariantName": "AllTraffic", "ModelName": "never-made",
            "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
    assert error(e)["Message"].startswith("Could not find model")


def test_model_archive_without_booster_fails_the_endpoint(clients, models):
    s3, sm = clients["s3"], clients["sm"]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("notes.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    s3.put_object(Bucket=BUCKET, Key="models/empty/model.tar.gz", Body=buf.getvalue())
    sm.create_model(ModelName="model-empty", ExecutionRoleArn=ROLE,
                    PrimaryContainer={"Image": IMAGE,
                                      "ModelDataUrl": f"s3://{BUCKET}/models/empty/model.tar.gz"})
    sm.create_endpoint(EndpointName="ep-broken",
                       EndpointConfigName=deploy(sm, "ep-broken", "model-empty"))
    deadline = time.monotonic() + 20
    while sm.describe_endpoint(EndpointName="ep-broken")["EndpointStatus"] == "Creating":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    d = sm.describe_endpoint(EndpointName="ep-broken")
    assert d["EndpointStatus"] == "Failed"
    assert "xgboost-model" in d["FailureReason"]
    sm.delete_endpoint(EndpointName="ep-broken")


# ---- an endpoint's life ------------------------------------------------------

def test_endpoint_serves_like_the_container(clients, models):
    sm, rt = clients["sm"], clients["rt"]
    reg = models["reg"]
    config = deploy(sm, "ep-main", reg["name"])
    arn = sm.create_endpoint(EndpointName="ep-main", EndpointConfigName=config)["EndpointArn"]
    assert arn == "arn:aws:sagemaker:us-east-1:000000000000:endpoint/ep-main"
    sm.get_waiter("endpoint_in_service").wait(EndpointName="ep-main", WaiterConfig=FAST)
    d = sm.describe_endpoint(EndpointName="ep-main")
    assert d["EndpointStatus"] == "InService"
    assert d["EndpointConfigName"] == config
    pv = d["ProductionVariants"][0]
    assert pv["VariantName"] == "AllTraffic" and pv["CurrentInstanceCount"] == 1
    assert pv["DeployedImages"][0]["SpecifiedImage"] == IMAGE

    X = reg["X"][:25]
    want = expected(reg["booster"], X)
    # one row, CSV answer: one value per line
    r, body = invoke(rt, "ep-main", csv_rows(X[:1]), accept="text/csv")
    assert r["ContentType"].startswith("text/csv")
    assert r["InvokedProductionVariant"] == "AllTraffic"
    assert body.endswith("\n")
    assert abs(float(body) - want[0]) < 1e-6
    # many rows, a trailing newline and spaces
    payload = "\n".join(" , ".join(repr(float(v)) for v in row) for row in X) + "\n"
    _, body = invoke(rt, "ep-main", payload)
    got = [float(v) for v in body.split()]
    assert np.allclose(got, want, atol=1e-6)
    # JSON answer
    r, body = invoke(rt, "ep-main", csv_rows(X), accept="application/json")
    assert r["ContentType"] == "application/json"
    scores = [p["score"] for p in json.loads(body)["predictions"]]
    assert np.allclose(scores, want, atol=1e-6)
    # libsvm (1-based indices, as the container shifts them)
    libsvm = "\n".join(" ".join(f"{j + 1}:{v!r}" for j, v in enumerate(row)) for row in X[:3])
    _, body = invoke(rt, "ep-main", libsvm, content_type="text/libsvm")
    assert np.allclose([float(v) for v in body.split()], want[:3], atol=1e-6)
    # a missing value (empty field) is missing, as in a DMatrix
    row = X[0].copy()
    row[1] = np.nan
    _, body = invoke(rt, "ep-main", ",".join("" if np.isnan(v) else repr(float(v)) for v in row))
    assert abs(float(body) - expected(reg["booster"], row.reshape(1, -1))[0]) < 1e-6


def test_classifier_outputs(clients, models):
    sm, rt = clients["sm"], clients["rt"]
    for key in ("bin", "multi"):
        m = models[key]
        sm.create_endpoint(EndpointName=f"ep-{key}",
                           EndpointConfigName=deploy(sm, f"ep-{key}", m["name"]))
    for key in ("bin", "multi"):
        sm.get_waiter("endpoint_in_service").wait(EndpointName=f"ep-{key}", WaiterConfig=FAST)
    X = models["bin"]["X"][:5]
    _, body = invoke(rt, "ep-bin", csv_rows(X), accept="application/json")
    probs = [p["score"] for p in json.loads(body)["predictions"]]
    assert all(0 <= p <= 1 for p in probs)
    assert np.allclose(probs, expected(models["bin"]["booster"], X), atol=1e-6)
    _, body = invoke(rt, "ep-multi", csv_rows(X), accept="application/json")
    rows = [p["score"] for p in json.loads(body)["predictions"]]
    assert np.allclose(rows, expected(models["multi"]["booster"], X), atol=1e-6)
    _, body = invoke(rt, "ep-multi", csv_rows(X[:2]), accept="text/csv")
    lines = body.strip().split("\n")
    assert len(lines) == 2 and len(lines[0].split(",")) == 3
    for key in ("bin", "multi"):
        sm.delete_endpoint(EndpointName=f"ep-{key}")


def test_bad_payloads_get_the_containers_errors(clients, models):
    rt = clients["rt"]
    with pytest.raises(ClientError) as e:
        invoke(rt, "ep-main", "1.0,abc,2.0,3.0")
    err = e.value.response
    assert err["Error"]["Code"] == "ModelError"
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert err["OriginalStatusCode"] == 415
    assert "could not convert string to float: 'abc'" in err["OriginalMessage"]
    assert "Loading csv data failed with Exception" in err["OriginalMessage"]
    assert err["Error"]["Message"].startswith("Received client error (415) from primary")
    # the container's csv_to_dmatrix: numpy parses "inf", then a DMatrix refuses it
    # (1e39 too, once cast to float32); the same for libsvm through scipy
    for body, content_type, kind in (("1.0,inf,2.0,3.0", "text/csv", "csv"),
                                     ("1.0,2.0,-1e39,3.0", "text/csv", "csv"),
                                     ("0 1:1.0 2:-inf", "text/libsvm", "libsvm")):
        if kind == "csv":
            values = np.array([body.split(",")]).astype(float)
        else:
            values = np.array([[1.0, float(body.split(":")[-1])]])
        with pytest.raises(xgb.core.XGBoostError, match="Input data contains `inf`"):
            xgb.DMatrix(values)
        with pytest.raises(ClientError) as e:
            invoke(rt, "ep-main", body, content_type=content_type)
        err = e.value.response
        assert err["OriginalStatusCode"] == 415, body
        assert err["OriginalMessage"] == (
            f"Loading {kind} data failed with Exception, please ensure data is in {kind} "
            "format:\n <class 'xgboost.core.XGBoostError'>\n Check failed: valid: "
            "Input data contains `inf` or `nan`")
    with pytest.raises(ClientError) as e:
        invoke(rt, "ep-main", '{"instances": [[1, 2, 3, 4]]}', content_type="application/json")
    assert e.value.response["OriginalStatusCode"] == 415
    assert "application/json is not an accepted ContentType" in e.value.response["OriginalMessage"]
    with pytest.raises(ClientError) as e:
        invoke(rt, "ep-main", "1,2,3,4,5,6")  # more features than the model
    assert e.value.response["OriginalStatusCode"] == 400
    assert e.value.response["OriginalMessage"].startswith("Unable to evaluate payload provided")
    with pytest.raises(ClientError) as e:
        invoke(rt, "ep-main", "1,2,3,4", accept="text/libsvm")
    assert e.value.response["OriginalStatusCode"] == 406
    with pytest.raises(ClientError) as e:
        invoke(rt, "no-such-endpoint", "1,2,3,4")
    assert error(e)["Code"] == "ValidationError"
    assert error(e)["Message"] == "Endpoint no-such-endpoint of account 000000000000 not found."
    assert e.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == "ValidationError"


RECORDIO_WRITER = """
import sys
import numpy as np
import scipy.sparse as sp
from sagemaker.amazon.common import write_numpy_to_dense_tensor, write_spmatrix_to_sparse_tensor
arrays = np.load(sys.argv[1])
labels = arrays["y"] if "y" in arrays.files else None
with open(sys.argv[2], "wb") as f:
    if sys.argv[3] == "dense":
        write_numpy_to_dense_tensor(f, arrays["x"].astype(np.float32), labels)
    else:
        write_spmatrix_to_sparse_tensor(f, sp.csr_matrix(arrays["x"]), labels)
"""


def recordio(tmp_path, X, kind, y=None):
    """X (and labels y) as the SageMaker SDK writes RecordIO-protobuf (in
    a child, so that its import leaves this process as it was)."""
    arrays, out = tmp_path / f"{kind}.npz", tmp_path / f"{kind}.rec"
    np.savez(arrays, x=X, **({} if y is None else {"y": y}))
    subprocess.run([sys.executable, "-c", RECORDIO_WRITER, str(arrays), str(out), kind],
                   check=True, capture_output=True, timeout=120,
                   env=dict(os.environ, SAGEMAKER_SUPPRESS_V2_WARNING="1"))
    return out.read_bytes()


def test_recordio_protobuf_payloads_serve_as_xgboost_predicts(clients, models, tmp_path):
    """application/x-recordio-protobuf as the SDK's RecordSerializer writes
    it: dense float32 rows, and sparse float64 rows whose absent entries
    are missing, predicted as XGBoost predicts the container's DMatrix."""
    rt, booster = clients["rt"], models["reg"]["booster"]
    X = models["reg"]["X"][:7].copy()
    kind = "application/x-recordio-protobuf"
    _, body = invoke(rt, "ep-main", recordio(tmp_path, X, "dense"), content_type=kind)
    got = np.array([float(v) for v in body.split()], dtype=np.float32)
    assert np.array_equal(got, booster.predict(xgb.DMatrix(X.astype(np.float32))))
    Xs = np.where(X > 0, X, 0.0)
    _, body = invoke(rt, "ep-main", recordio(tmp_path, Xs, "sparse"), content_type=kind)
    got = np.array([float(v) for v in body.split()], dtype=np.float32)
    assert np.array_equal(got, booster.predict(xgb.DMatrix(scipy.sparse.csr_matrix(Xs))))
    payload = recordio(tmp_path, X, "dense")
    for bad, message in [(b"not recordio at all", "Invalid RecordIO magic at offset 0"),
                         (payload[:-6], "Truncated record at offset")]:
        with pytest.raises(ClientError) as e:
            invoke(rt, "ep-main", bad, content_type=kind)
        err = e.value.response
        assert err["OriginalStatusCode"] == 415
        assert err["OriginalMessage"].startswith(
            "Loading recordio-protobuf data failed with Exception, please ensure data is "
            f"in recordio-protobuf format: <class 'ValueError'> {message}")
    X[2, 1] = np.inf
    with pytest.raises(ClientError) as e:
        invoke(rt, "ep-main", recordio(tmp_path, X, "dense"), content_type=kind)
    assert "Input data contains `inf` or `nan`" in e.value.response["OriginalMessage"]


def test_list_endpoints_filters_sorts_and_pages(clients, models):
    sm = clients["sm"]
    for i in range(3):
        sm.create_endpoint(EndpointName=f"listed-{i}",
                           EndpointConfigName=deploy(sm, f"listed-{i}", "model-reg"))
    for i in range(3):
        sm.get_waiter("endpoint_in_service").wait(EndpointName=f"listed-{i}", WaiterConfig=FAST)
    page = sm.list_endpoints(NameContains="listed", SortBy="Name", SortOrder="Ascending", MaxResults=2)
    assert [e["EndpointName"] for e in page["Endpoints"]] == ["listed-0", "listed-1"]
    rest = sm.list_endpoints(NameContains="listed", SortBy="Name", SortOrder="Ascending",
                             MaxResults=2, NextToken=page["NextToken"])
    assert [e["EndpointName"] for e in rest["Endpoints"]] == ["listed-2"]
    assert "NextToken" not in rest
    newest = sm.list_endpoints(NameContains="LISTED")["Endpoints"]  # CreationTime, Descending
    assert newest[0]["EndpointName"] == "listed-2"
    assert all(e["EndpointStatus"] == "InService" for e in newest)
    assert sm.list_endpoints(StatusEquals="Failed", NameContains="listed")["Endpoints"] == []
    for i in range(3):
        sm.delete_endpoint(EndpointName=f"listed-{i}")


def test_update_endpoint_swaps_the_model(clients, models):
    sm, rt = clients["sm"], clients["rt"]
    config = deploy(sm, "ep-main", models["bin"]["name"], variant="Blue")
    sm.update_endpoint(EndpointName="ep-main", EndpointConfigName=config)
    status = sm.describe_endpoint(EndpointName="ep-main")["EndpointStatus"]
    assert status in ("Updating", "InService")
    sm.get_waiter("endpoint_in_service").wait(EndpointName="ep-main", WaiterConfig=FAST)
    d = sm.describe_endpoint(EndpointName="ep-main")
    assert d["EndpointConfigName"] == config
    assert d["ProductionVariants"][0]["VariantName"] == "Blue"
    X = models["bin"]["X"][:4]
    r, body = invoke(rt, "ep-main", csv_rows(X))
    assert r["InvokedProductionVariant"] == "Blue"
    assert np.allclose([float(v) for v in body.split()], expected(models["bin"]["booster"], X), atol=1e-6)
    with pytest.raises(ClientError) as e:
        invoke(rt, "ep-main", csv_rows(X), TargetVariant="Green")
    assert error(e)["Code"] == "ValidationError"
    # back to the regression model for the tests that follow
    sm.update_endpoint(EndpointName="ep-main", EndpointConfigName=deploy(sm, "ep-main", "model-reg"))
    sm.get_waiter("endpoint_in_service").wait(EndpointName="ep-main", WaiterConfig=FAST)


def test_delete_endpoint(clients, models):
    sm, rt = clients["sm"], clients["rt"]
    sm.create_endpoint(EndpointName="ep-gone", EndpointConfigName=deploy(sm, "ep-gone", "model-reg"))
    sm.get_waiter("endpoint_in_service").wait(EndpointName="ep-gone", WaiterConfig=FAST)
    with pytest.raises(ClientError) as e:
        sm.create_endpoint(EndpointName="ep-gone", EndpointConfigName=deploy(sm, "ep-gone", "model-reg"))
    assert "Cannot create already existing endpoint" in error(e)["Message"]
    sm.delete_endpoint(EndpointName="ep-gone")
    sm.get_waiter("endpoint_deleted").wait(EndpointName="ep-gone", WaiterConfig=FAST)
    with pytest.raises(ClientError) as e:
        sm.describe_endpoint(EndpointName="ep-gone")
    assert error(e)["Code"] == "ValidationException"
    assert error(e)["Message"] == ('Could not find endpoint '
                                   '"arn:aws:sagemaker:us-east-1:000000000000:endpoint/ep-gone".')
    with pytest.raises(ClientError) as e:
        invoke(rt, "ep-gone", "1,2,3,4")
    assert error(e)["Code"] == "ValidationError"


def test_delete_config_and_model(clients, models):
    s3, sm = clients["s3"], clients["sm"]
    s3.put_object(Bucket=BUCKET, Key="models/spare/model.tar.gz",
                  Body=model_tar(models["reg"]["booster"], prefix=""))
    sm.create_model(ModelName="model-spare", ExecutionRoleArn=ROLE,
                    PrimaryContainer={"Image": IMAGE,
                                      "ModelDataUrl": f"s3://{BUCKET}/models/spare/model.tar.gz"})
    config = deploy(sm, "spare", "model-spare")
    d = sm.describe_endpoint_config(EndpointConfigName=config)
    assert d["ProductionVariants"][0]["ModelName"] == "model-spare"
    assert d["EndpointConfigArn"].endswith(f":endpoint-config/{config}")
    sm.delete_endpoint_config(EndpointConfigName=config)
    sm.delete_model(ModelName="model-spare")
    with pytest.raises(ClientError) as e:
        sm.describe_endpoint_config(EndpointConfigName=config)
    assert error(e)["Message"].startswith("Could not find endpoint configuration")
    with pytest.raises(ClientError) as e:
        sm.delete_model(ModelName="model-spare")
    assert error(e)["Message"].startswith("Could not find model")


# ---- batch transform ---------------------------------------------------------

def run_transform(sm, name, **extra):
    job = dict(TransformJobName=name, ModelName="model-reg",
               TransformInput={"DataSource": {"S3DataSource": {
                   "S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/batch/in"}},
                   "ContentType": "text/csv", "SplitType": "Line"},
               TransformOutput={"S3OutputPath": f"s3://{BUCKET}/batch/out/{name}",
                                "AssembleWith": "Line", "Accept": "text/csv"},
               TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1})
    job.update(extra)
    sm.create_transform_job(**job)
    try:
        sm.get_waiter("transform_job_completed_or_stopped").wait(TransformJobName=name,
                                                                  WaiterConfig=FAST)
    except WaiterError:
        pass  # Failed: the caller looks at why
    return sm.describe_transform_job(TransformJobName=name)


def test_transform_matches_invocations(clients, models):
    s3, sm, rt = clients["s3"], clients["sm"], clients["rt"]
    X = models["reg"]["X"]
    files = {"batch/in/part-a.csv": X[:120], "batch/in/sub/part-b.csv": X[120:170]}
    for key, rows in files.items():
        s3.put_object(Bucket=BUCKET, Key=key, Body=(csv_rows(rows) + "\n").encode())
    for strategy in ("MultiRecord", "SingleRecord"):
        name = f"transform-{strategy.lower()}"
        d = run_transform(sm, name, BatchStrategy=strategy, MaxPayloadInMB=1)
        assert d["TransformJobStatus"] == "Completed", d.get("FailureReason")
        assert d["BatchStrategy"] == strategy
        assert d["TransformStartTime"] <= d["TransformEndTime"]
        for key, rows in files.items():
            rel = key[len("batch/"):]
            out = s3.get_object(Bucket=BUCKET, Key=f"batch/out/{name}/{rel}.out")["Body"].read().decode()
            _, invoked = invoke(rt, "ep-main", csv_rows(rows))
            assert out == invoked
            assert len(out.splitlines()) == len(rows)
    summaries = sm.list_transform_jobs(NameContains="transform-", SortBy="Name",
                                       SortOrder="Ascending")["TransformJobSummaries"]
    assert [s["TransformJobName"] for s in summaries] == ["transform-multirecord",
                                                          "transform-singlerecord"]
    logs = clients["logs"]
    streams = logs.describe_log_streams(logGroupName="/aws/sagemaker/TransformJobs",
                                        logStreamNamePrefix="transform-multirecord/")["logStreams"]
    assert streams
    events = logs.get_log_events(logGroupName="/aws/sagemaker/TransformJobs",
                                 logStreamName=streams[0]["logStreamName"], startFromHead=True)["events"]
    text = "\n".join(e["message"] for e in events)
    assert "part-a.csv.out" in text and "Completed" in text


def test_transform_splits_recordio(clients, models, tmp_path):
    """SplitType RecordIO over what the SDK writes: each record a row, in
    mini-batches or one by one, the output a line per record."""
    s3, sm = clients["s3"], clients["sm"]
    booster, X = models["reg"]["booster"], models["reg"]["X"][:90]
    s3.put_object(Bucket=BUCKET, Key="rio/in/rows.rec", Body=recordio(tmp_path, X, "dense"))
    want = booster.predict(xgb.DMatrix(X.astype(np.float32)))
    source = {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                              "S3Uri": f"s3://{BUCKET}/rio/in"}},
              "ContentType": "application/x-recordio-protobuf", "SplitType": "RecordIO"}
    for strategy in ("MultiRecord", "SingleRecord"):
        name = f"transform-rio-{strategy.lower()}"
        d = run_transform(sm, name, BatchStrategy=strategy, TransformInput=source)
        assert d["TransformJobStatus"] == "Completed", d.get("FailureReason")
        out = s3.get_object(Bucket=BUCKET, Key=f"batch/out/{name}/in/rows.rec.out")["Body"]
        got = np.array([float(v) for v in out.read().decode().split()], dtype=np.float32)
        assert np.array_equal(got, want)
    s3.put_object(Bucket=BUCKET, Key="rio/in/rows.rec", Body=b"1,2,3,4\n")
    d = run_transform(sm, "transform-rio-not", TransformInput=source)
    assert d["TransformJobStatus"] == "Failed"
    assert "no RecordIO record starts at byte 0" in d["FailureReason"]
    s3.delete_object(Bucket=BUCKET, Key="rio/in/rows.rec")


def test_transform_filters_and_joins_like_sagemaker(clients, models):
    """DataProcessing on CSV: the label column kept out of the model by the
    input filter, each input joined to its prediction, and the output
    filter keeping the label and the prediction."""
    s3, sm, rt = clients["s3"], clients["sm"], clients["rt"]
    X = models["reg"]["X"][:40]
    labels = [f"{i % 3}" for i in range(len(X))]
    rows = [lab + "," + ",".join(repr(float(v)) for v in row) for lab, row in zip(labels, X)]
    s3.put_object(Bucket=BUCKET, Key="batch/labelled/in.csv", Body=("\n".join(rows) + "\n").encode())
    _, invoked = invoke(rt, "ep-main", csv_rows(X))
    predictions = invoked.split()

    def run(name, processing, **extra):
        return run_transform(sm, name, DataProcessing=processing,
                             TransformInput={"DataSource": {"S3DataSource": {
                                 "S3DataType": "S3Prefix",
                                 "S3Uri": f"s3://{BUCKET}/batch/labelled/"}},
                                 "ContentType": "text/csv", "SplitType": "Line"},
                             BatchStrategy="MultiRecord", **extra)

    d = run("transform-join", {"InputFilter": "$[1:]", "JoinSource": "Input",
                               "OutputFilter": "$[0,-1]"})
    assert d["TransformJobStatus"] == "Completed", d.get("FailureReason")
    assert d["DataProcessing"]["JoinSource"] == "Input"
    out = s3.get_object(Bucket=BUCKET, Key="batch/out/transform-join/in.csv.out")
    lines = out["Body"].read().decode().splitlines()
    assert lines == [f"{lab},{p}" for lab, p in zip(labels, predictions)]

    d = run("transform-join-all", {"InputFilter": "$[1:]", "JoinSource": "Input"},
            MaxPayloadInMB=1)
    out = s3.get_object(Bucket=BUCKET, Key="batch/out/transform-join-all/in.csv.out")
    assert out["Body"].read().decode().splitlines() == [
        f"{row},{p}" for row, p in zip(rows, predictions)]

    # records the filter leaves empty get no prediction: the job fails
    s3.put_object(Bucket=BUCKET, Key="batch/one-field/in.csv", Body=b"1\n0\n1\n")
    d = run_transform(sm, "transform-join-empty", DataProcessing={
        "InputFilter": "$[1:]", "JoinSource": "Input"},
        TransformInput={"DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/batch/one-field/"}},
            "ContentType": "text/csv", "SplitType": "Line"})
    assert d["TransformJobStatus"] == "Failed", d
    assert "cannot be joined" in d["FailureReason"] or "415" in d["FailureReason"]

    # a filter that picks a field the records lack fails the job, saying so
    d = run("transform-join-bad", {"InputFilter": "$[40]"})
    assert d["TransformJobStatus"] == "Failed"
    assert "picks field 40 of a record with 5 fields" in d["FailureReason"]

    for processing, message in (
            ({"InputFilter": "$.features"}, "is not a filter"),
            ({"JoinSource": "Output"}, "JoinSource"),
            ({"InputFilter": "$[" + "1," * 40 + "1]"}, "inputfilter")):
        with pytest.raises(ClientError) as info:
            run("transform-join-invalid", processing)
        assert error(info)["Code"] == "ValidationException"
        assert message.lower() in error(info)["Message"].lower()
    with pytest.raises(ClientError) as info:
        run_transform(sm, "transform-join-json", DataProcessing={"JoinSource": "Input"},
                      TransformInput={"DataSource": {"S3DataSource": {
                          "S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/batch/labelled/"}},
                          "ContentType": "text/libsvm", "SplitType": "Line"})
    assert "text/csv" in error(info)["Message"]


def test_stop_transform_job(clients, models):
    s3, sm = clients["s3"], clients["sm"]
    rows = "\n".join(["0.5,1.5,-1.0,2.0"] * 100000) + "\n"
    s3.put_object(Bucket=BUCKET, Key="batch/long/rows.csv", Body=rows.encode())
    sm.create_transform_job(
        TransformJobName="transform-stopped", ModelName="model-reg", BatchStrategy="SingleRecord",
        TransformInput={"DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/batch/long/"}},
            "ContentType": "text/csv", "SplitType": "Line"},
        TransformOutput={"S3OutputPath": f"s3://{BUCKET}/batch/out/stopped"},
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1})
    sm.stop_transform_job(TransformJobName="transform-stopped")
    sm.get_waiter("transform_job_completed_or_stopped").wait(TransformJobName="transform-stopped",
                                                              WaiterConfig=FAST)
    d = sm.describe_transform_job(TransformJobName="transform-stopped")
    assert d["TransformJobStatus"] in ("Stopped", "Completed")  # it may win the race
    with pytest.raises(ClientError) as e:
        sm.stop_transform_job(TransformJobName="transform-stopped")
    assert error(e)["Code"] == "ValidationException"


def test_transform_with_a_bad_record_fails(clients, models):
    s3, sm = clients["s3"], clients["sm"]
    s3.put_object(Bucket=BUCKET, Key="batch/bad/x.csv", Body=b"1,2,3,4\nnot,a,number,here\n")
    d = run_transform(sm, "transform-bad",
                      TransformInput={"DataSource": {"S3DataSource": {
                          "S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/batch/bad/"}},
                          "ContentType": "text/csv", "SplitType": "Line"},
                      BatchStrategy="SingleRecord")
    assert d["TransformJobStatus"] == "Failed"
    assert "could not convert string to float" in d["FailureReason"]
    with pytest.raises(ClientError) as e:
        sm.describe_transform_job(TransformJobName="never-ran")
    assert error(e)["Code"] == "ValidationException"
    with pytest.raises(ClientError) as e:
        run_transform(sm, "transform-bad")
    assert error(e)["Code"] == "ResourceInUse"


# ---- trained here, served here -----------------------------------------------

@pytest.mark.parametrize("name,hyperparameters", [
    ("trained-here", {"max_depth": "3"}),
    ("trained-linear", {"booster": "gblinear", "lambda": "0.5", "alpha": "0.01",
                        "updater": "coord_descent"}),
])
def test_a_model_trained_by_the_service_serves(clients, models, name, hyperparameters):
    """CreateTrainingJob's model.tar.gz deployed as it is, as %deploy does,
    answering with the exact text of Python xgboost's predictions."""
    s3, sm, rt = clients["s3"], clients["sm"], clients["rt"]
    X = models["reg"]["X"]
    y = X[:, 0] * 2 - X[:, 1]
    train_csv = "".join(",".join(repr(float(v)) for v in [label, *row]) + "\n" for label, row in zip(y, X))
    s3.put_object(Bucket=BUCKET, Key=f"{name}/train/train.csv", Body=train_csv.encode())
    sm.create_training_job(
        TrainingJobName=name, RoleArn=ROLE,
        AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        InputDataConfig=[{"ChannelName": "train", "ContentType": "text/csv", "DataSource": {
            "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/{name}/train/"}}}],
        OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/trained"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
        StoppingCondition={"MaxRuntimeInSeconds": 600},
        HyperParameters={"num_round": "20", "objective": "reg:squarederror", **hyperparameters})
    sm.get_waiter("training_job_completed_or_stopped").wait(TrainingJobName=name,
                                                             WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    job = sm.describe_training_job(TrainingJobName=name)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    url = job["ModelArtifacts"]["S3ModelArtifacts"]
    sm.create_model(ModelName=name, ExecutionRoleArn=ROLE,
                    PrimaryContainer={"Image": IMAGE, "ModelDataUrl": url})
    sm.create_endpoint(EndpointName=name, EndpointConfigName=deploy(sm, name, name))
    sm.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig=FAST)
    bucket, key = url[len("s3://"):].split("/", 1)
    with tarfile.open(fileobj=io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read())) as tar:
        booster = xgb.Booster(model_file=bytearray(tar.extractfile("xgboost-model").read()))
    _, body = invoke(rt, name, csv_rows(X[:10]))
    assert body == "".join(repr(float(v)) + "\n" for v in expected(booster, X[:10]))
    sm.delete_endpoint(EndpointName=name)


# ---- exact answers -----------------------------------------------------------

EXACT_MODELS = [
    ("reg:squarederror", {"max_depth": 6}, 40),
    ("reg:squarederror", {"max_depth": 3, "num_parallel_tree": 2, "subsample": 0.8}, 10),
    ("binary:logistic", {"max_depth": 5, "base_score": 0.2}, 30),
    ("binary:hinge", {"max_depth": 4}, 10),
    ("count:poisson", {"max_depth": 4}, 20),
    ("reg:gamma", {"max_depth": 4}, 20),
    ("multi:softprob", {"max_depth": 4, "num_class": 3}, 15),
    ("multi:softmax", {"max_depth": 4, "num_class": 4}, 15),
]


def exact_data(objective, rng, rows, features=6):
    """Features with a tenth missing; a label the objective takes."""
    X = np.round(rng.normal(size=(rows, features)), 2)
    X[rng.random(size=X.shape) < 0.1] = np.nan
    base = np.nan_to_num(X[:, 0]) * 2 - np.nan_to_num(X[:, 1]) + rng.normal(size=rows) * 0.2
    if objective.startswith("multi:"):
        return X, np.digitize(base, [-1, 0.5, 2][:int(objective == "multi:softmax") + 2])
    if objective.startswith("binary:"):
        return X, (base > 0.3).astype(float)
    if objective in ("count:poisson", "reg:gamma"):
        return X, np.floor(np.exp(base / 3) * 2) + (objective == "reg:gamma")
    return X, base


def thresholds(booster):
    """Each feature's split thresholds, as the float32 XGBoost compares with."""
    model = json.loads(bytes(booster.save_raw("json")))
    out = {}
    for tree in model["learner"]["gradient_booster"]["model"]["trees"]:
        for left, feature, cond in zip(tree["left_children"], tree["split_indices"],
                                       tree["split_conditions"]):
            if left != -1:
                out.setdefault(feature, []).append(np.float32(cond))
    return out


def probe_rows(booster, rng, rows, features=6):
    """Rows a tenth missing, a third on a threshold or one float beside it."""
    X = exact_data("reg:squarederror", rng, rows, features)[0].astype(np.float32)
    cuts = thresholds(booster)
    for i, j in zip(*np.nonzero(rng.random(size=X.shape) < 0.33)):
        if cuts.get(j):
            t = cuts[j][rng.integers(len(cuts[j]))]
            X[i, j] = np.nextafter(t, np.float32(rng.choice([-np.inf, np.inf]))) if rng.random() < 0.5 else t
    return X


def text_of(v):
    return "" if np.isnan(v) else repr(float(v))


def test_small_batches_answer_exactly_as_xgboost(clients, models):
    """Models of several objectives answer batches of 1 to 64 rows (walked
    in C) with the exact text of XGBoost's own predictions: Python's repr
    of each float, as CSV and from sparse LIBSVM rows."""
    s3, sm, rt = clients["s3"], clients["sm"], clients["rt"]
    rng = np.random.default_rng(23)
    served = []
    for k, (objective, params, rounds) in enumerate(EXACT_MODELS):
        X, y = exact_data(objective, rng, 600)
        booster = xgb.train(dict(params, objective=objective, seed=1),
                            xgb.DMatrix(X, label=y), rounds)
        s3.put_object(Bucket=BUCKET, Key=f"exact/{k}/model.tar.gz", Body=model_tar(booster))
        name = f"exact-{k}"
        sm.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={
            "Image": IMAGE, "ModelDataUrl": f"s3://{BUCKET}/exact/{k}/model.tar.gz"})
        sm.create_endpoint(EndpointName=name, EndpointConfigName=deploy(sm, name, name))
        served.append((name, booster))
    for name, booster in served:
        sm.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig=FAST)
        X = probe_rows(booster, rng, 1000)
        preds = booster.predict(xgb.DMatrix(X, missing=np.nan)).reshape(len(X), -1)
        want = "".join(",".join(repr(float(v)) for v in row) + "\n" for row in preds)
        got, at = [], 0
        while at < len(X):
            n = int(rng.integers(1, 65))
            body = "\n".join(",".join(text_of(v) for v in row) for row in X[at:at + n])
            got.append(invoke(rt, name, body, accept="text/csv")[1])
            at += n
        assert "".join(got) == want, name
        if name == "exact-0":
            got = []
            for at in range(0, 300, 50):
                body = "\n".join("0 " + " ".join(f"{j + 1}:{v!r}" for j, v in enumerate(row.tolist())
                                                   if not np.isnan(v)) for row in X[at:at + 50])
                got.append(invoke(rt, name, body, content_type="text/libsvm")[1])
            assert "".join(got) == "".join(want.splitlines(keepends=True)[:300])
        sm.delete_endpoint(EndpointName=name)


# ---- boosters without trees to walk -------------------------------------------

LINEAR_AND_DART = [
    ("linear-reg", {"booster": "gblinear", "objective": "reg:squarederror",
                    "lambda": 0.5, "alpha": 0.1, "updater": "coord_descent"}, 20),
    ("linear-multi", {"booster": "gblinear", "objective": "multi:softprob",
                      "num_class": 3}, 10),
    ("dart-bin", {"booster": "dart", "objective": "binary:logistic", "max_depth": 4,
                  "rate_drop": 0.3, "seed": 1}, 15),
]


def test_linear_and_dart_models_serve_and_transform_like_the_container(clients, models):
    """gblinear (which XGBoost 1.7 cannot predict in place) and dart
    models answer InvokeEndpoint as CSV, LIBSVM and JSON, and a batch
    transform, with the exact text of XGBoost's DMatrix predictions."""
    s3, sm, rt = clients["s3"], clients["sm"], clients["rt"]
    X = models["reg"]["X"]
    y = X[:, 0] * 2 + X[:, 1]
    X = X.copy()
    X[::7, 2] = np.nan
    for name, params, rounds in LINEAR_AND_DART:
        label = np.digitize(y, [-1, 1]) if params["objective"].startswith("multi") else (
            (y > 0).astype(float) if params["objective"].startswith("binary") else y)
        booster = xgb.train(params, xgb.DMatrix(X, label=label), rounds)
        s3.put_object(Bucket=BUCKET, Key=f"{name}/model.tar.gz", Body=model_tar(booster))
        sm.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={
            "Image": IMAGE, "ModelDataUrl": f"s3://{BUCKET}/{name}/model.tar.gz"})
        sm.create_endpoint(EndpointName=name, EndpointConfigName=deploy(sm, name, name))
        sm.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig=FAST)
        preds = booster.predict(xgb.DMatrix(X)).reshape(len(X), -1)
        lines = [",".join(repr(float(v)) for v in row) + "\n" for row in preds]
        csv = ["\n".join(",".join(text_of(v) for v in row) for row in X[at:at + n])
               for at, n in ((0, 1), (1, 5), (6, 200))]
        assert "".join(invoke(rt, name, body)[1] for body in csv) == "".join(lines[:206]), name
        libsvm = "\n".join("0 " + " ".join(f"{j + 1}:{v!r}" for j, v in enumerate(row.tolist())
                                             if not np.isnan(v)) for row in X[:100])
        assert invoke(rt, name, libsvm, content_type="text/libsvm")[1] == "".join(lines[:100]), name
        _, body = invoke(rt, name, csv[1], accept="application/json")
        scores = [p["score"] for p in json.loads(body)["predictions"]]
        assert np.array(scores).reshape(5, -1).tolist() == preds[1:6].tolist(), name
        s3.put_object(Bucket=BUCKET, Key=f"{name}/in/rows.csv",
                      Body=("\n".join(",".join(text_of(v) for v in row) for row in X) + "\n").encode())
        d = run_transform(sm, f"transform-{name}", ModelName=name, BatchStrategy="MultiRecord",
                          TransformInput={"DataSource": {"S3DataSource": {
                              "S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/{name}/in"}},
                              "ContentType": "text/csv", "SplitType": "Line"})
        assert d["TransformJobStatus"] == "Completed", d.get("FailureReason")
        out = s3.get_object(Bucket=BUCKET,
                            Key=f"batch/out/transform-{name}/in/rows.csv.out")["Body"].read().decode()
        batch = [str([float(v) for v in row]) if len(row) > 1 else repr(float(row[0])) for row in preds]
        assert out.splitlines() == batch, name
        sm.delete_endpoint(EndpointName=name)


# ---- many clients ------------------------------------------------------------

def test_concurrent_invocations(svc, clients, models, capsys):
    """100 clients, each its own connection, one-row CSV for 10 s."""
    X = models["reg"]["X"]
    want = expected(models["reg"]["booster"], X[:100])
    creds = Credentials(svc.creds["AccessKeyId"], svc.creds["SecretAccessKey"])
    host, port = "127.0.0.1", svc.info["port"]
    bodies = [csv_rows(X[i:i + 1]).encode() for i in range(100)]
    stop_at = time.monotonic() + 10
    latencies, failures, lock = [], [], threading.Lock()

    def client(i):
        conn = http.client.HTTPConnection(host, port, timeout=30)
        mine = []
        try:
            while time.monotonic() < stop_at:
                k = (i + len(mine)) % 100
                req = AWSRequest(method="POST", url=f"http://{host}:{port}/endpoints/ep-main/invocations",
                                 data=bodies[k], headers={"Content-Type": "text/csv", "Accept": "text/csv"})
                SigV4Auth(creds, "sagemaker", "us-east-1").add_auth(req)
                t0 = time.perf_counter()
                conn.request("POST", "/endpoints/ep-main/invocations", body=bodies[k],
                             headers=dict(req.headers.items()))
                resp = conn.getresponse()
                text = resp.read().decode()
                mine.append(time.perf_counter() - t0)
                if resp.status != 200 or abs(float(text) - want[k]) > 1e-6:
                    with lock:
                        failures.append((resp.status, text[:200]))
                    break
        except Exception as e:  # noqa: BLE001 - every failure is reported
            with lock:
                failures.append(repr(e))
        finally:
            conn.close()
            with lock:
                latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(100)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    elapsed = time.monotonic() - started
    assert not failures, failures[:5]
    assert not any(t.is_alive() for t in threads)
    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[int(len(latencies) * 0.99)] * 1000
    with capsys.disabled():
        print(f"\n  InvokeEndpoint, 100 clients, one-row CSV: {len(latencies)} requests in "
              f"{elapsed:.1f} s = {len(latencies) / elapsed:.0f}/s, p50 {p50:.2f} ms, p99 {p99:.2f} ms")
    assert len(latencies) > 1000


# ---- a restart ---------------------------------------------------------------

def test_restart_brings_endpoints_back(svc, clients, models):
    svc.stop()
    svc.start()
    clients["remake"]()
    sm, rt = clients["sm"], clients["rt"]
    assert sm.describe_endpoint(EndpointName="ep-main")["EndpointStatus"] == "InService"
    X = models["reg"]["X"][:3]
    _, body = invoke(rt, "ep-main", csv_rows(X))
    assert np.allclose([float(v) for v in body.split()], expected(models["reg"]["booster"], X), atol=1e-6)
    assert sm.describe_endpoint(EndpointName="ep-main")["ProductionVariants"]
