"""The SageMaker Python SDK (v2 API, from PyPI) against sagemagic-local: the
flow of tests/python/sdk_flow.py in a child process pointed at the service
by AWS_ENDPOINT_URL, judged here with boto3 and python xgboost. No request
may leave the machine: the child's HTTP(S) proxy is a closed loopback port
(LocalService.client_env), and the SDK's telemetry is opted out as its
config file allows."""
import io
import json
import subprocess
import sys
import tarfile

import numpy as np
import pytest
import xgboost
from botocore.exceptions import ClientError

from local_service import LocalService, ROOT

FLOW = ROOT / "tests" / "python" / "sdk_flow.py"
BUCKET = "sagemaker-us-east-1-000000000000"
SDK_CONFIG = """SchemaVersion: '1.0'
SageMaker:
  PythonSDK:
    Modules:
      TelemetryOptOut: true
"""


@pytest.fixture(scope="module")
def svc(tmp_path_factory):
    with LocalService(tmp_path_factory.mktemp("local-sdk") / "data").running() as service:
        yield service


@pytest.fixture(scope="module")
def flow(svc, tmp_path_factory):
    """Runs the SDK's flow once; its result, stdout and stderr."""
    work = tmp_path_factory.mktemp("sdk-work")
    config = work / "config.yaml"
    config.write_text(SDK_CONFIG)
    env = svc.client_env()
    env.update(SAGEMAKER_USER_CONFIG_OVERRIDE=str(config),
               SAGEMAKER_ADMIN_CONFIG_OVERRIDE=str(config),
               SAGEMAKER_SUPPRESS_V2_WARNING="1", HOME=str(work))
    run = subprocess.run([sys.executable, str(FLOW), str(work)], env=env, cwd=work,
                         capture_output=True, text=True, timeout=420)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-5000:]
    return json.loads((work / "result.json").read_text()), run.stdout, run.stderr


def model_from(s3, uri):
    bucket, key = uri[len("s3://"):].split("/", 1)
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        raw = tar.extractfile("xgboost-model").read()
    booster = xgboost.Booster()
    booster.load_model(bytearray(raw))
    return booster


def test_nothing_left_the_machine(flow):
    _, out, err = flow
    assert "amazonaws.com" not in out + err
    assert "Request exception" not in out + err  # what the telemetry logs when it fails


def test_fit_trains_and_streams_the_jobs_logs(svc, flow):
    result, out, _ = flow
    job = svc.client("sagemaker").describe_training_job(TrainingJobName=result["job"])
    assert job["TrainingJobStatus"] == "Completed"
    assert job["HyperParameters"]["num_round"] == "20"
    assert result["model_data"] == job["ModelArtifacts"]["S3ModelArtifacts"]
    assert result["model_data"] == f"s3://{BUCKET}/sdk/output/{result['job']}/output/model.tar.gz"
    # the SDK printed the job's log from the Logs API, the last round included
    assert "[19]#011train-rmse:" in out and "#011validation-rmse:" in out
    last = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    line = next(line for line in out.splitlines() if line.startswith("[19]#011"))
    assert f"validation-rmse:{last['validation:rmse']:.5f}" in line


def test_predict_is_xgboosts_prediction(svc, flow):
    result, _, _ = flow
    booster = model_from(svc.client("s3"), result["model_data"])
    expected = booster.predict(xgboost.DMatrix(np.array(result["test"])))
    got = np.array([float(row[0]) for row in result["predictions"]])
    assert got.shape == expected.shape
    assert np.array_equal(got.astype(np.float32), expected)


def test_transform_output_is_what_predict_gave(svc, flow):
    result, _, _ = flow
    sm, s3 = svc.client("sagemaker"), svc.client("s3")
    job = sm.describe_transform_job(TransformJobName=result["transform"]["job"])
    assert job["TransformJobStatus"] == "Completed"
    out = s3.get_object(Bucket=BUCKET, Key="sdk/transform/test.csv.out")["Body"].read()
    assert [line for line in out.decode().split("\n") if line] == [
        row[0] for row in result["predictions"]]


def test_tuner_ranks_its_trials_as_the_service_lists_them(svc, flow):
    result, _, _ = flow
    tuning = result["tuning"]
    sm = svc.client("sagemaker")
    job = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=tuning["job"])
    assert job["HyperParameterTuningJobStatus"] == "Completed"
    assert job["TrainingJobStatusCounters"]["Completed"] == 4
    assert len(tuning["trials"]) == 4
    assert tuning["best"] == min(tuning["trials"], key=tuning["trials"].get)
    assert tuning["best"] == job["BestTrainingJob"]["TrainingJobName"]
    for name, hp in tuning["hyperparameters"].items():
        assert 0.05 <= hp["eta"] <= 0.5 and 2 <= hp["max_depth"] <= 5
        trial = sm.describe_training_job(TrainingJobName=name)
        metrics = {m["MetricName"]: m["Value"] for m in trial["FinalMetricDataList"]}
        assert metrics["validation:rmse"] == pytest.approx(tuning["trials"][name])


def test_delete_endpoint_and_model(svc, flow):
    result, _, _ = flow
    sm = svc.client("sagemaker")
    with pytest.raises(ClientError):
        sm.describe_endpoint(EndpointName=result["endpoint"])
    with pytest.raises(ClientError):
        sm.describe_endpoint_config(EndpointConfigName=result["endpoint"])
    with pytest.raises(ClientError):  # the SDK names the model as the endpoint
        sm.describe_model(ModelName=result["endpoint"])
