"""The AWS CLI (v1, from PyPI) against sagemagic-local, pointed at it by
AWS_ENDPOINT_URL alone: s3 commands (a multipart cp both ways, sync, ls,
rm), s3api, sts, a training job from --cli-input-json, its logs, a model,
endpoint config and endpoint, invoke-endpoint, and the error a missing job
gives. boto3 and python xgboost judge what the CLI did."""
import io
import json
import subprocess
import tarfile
import time

import numpy as np
import pytest
import xgboost

from local_service import LocalService, ROOT
from test_local_training import IMAGE, ROLE, csv_text, regression

AWS = str(ROOT / ".venv" / "bin" / "aws")
BUCKET = "cli-bucket"


@pytest.fixture(scope="module")
def svc(tmp_path_factory):
    with LocalService(tmp_path_factory.mktemp("local-awscli") / "data").running() as service:
        yield service


@pytest.fixture(scope="module")
def aws(svc, tmp_path_factory):
    """Runs `aws ARGS...` in a work dir; returns (rc, stdout, stderr)."""
    work = tmp_path_factory.mktemp("awscli-work")
    env = dict(svc.client_env(), HOME=str(work), AWS_PAGER="")

    def run(*args, check=True):
        p = subprocess.run([AWS, *args], env=env, cwd=work, capture_output=True, text=True,
                           timeout=120)
        if check:
            assert p.returncode == 0, f"aws {' '.join(args)}: {p.stderr}"
        return p.returncode, p.stdout, p.stderr
    run.work = work
    return run


def aws_json(aws, *args):
    return json.loads(aws(*args, "--output", "json")[1])


def until(aws, args, key, done, timeout=60):
    """Polls a describe command (bounded) until `key` is in `done`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = aws_json(aws, *args)
        if got[key] in done:
            return got
        time.sleep(0.2)
    raise AssertionError(f"{' '.join(args)}: {key} still {got[key]} after {timeout} s")


def test_s3_commands_round_trip_a_multipart_file(svc, aws):
    aws("s3", "mb", f"s3://{BUCKET}")
    data = np.random.default_rng(9).bytes(20 * 1024 * 1024 + 12345)
    (aws.work / "big.bin").write_bytes(data)
    aws("s3", "cp", "big.bin", f"s3://{BUCKET}/data/big file.bin")  # 8 MiB parts
    head = svc.client("s3").head_object(Bucket=BUCKET, Key="data/big file.bin")
    assert head["ContentLength"] == len(data)
    assert head["ETag"].endswith('-3"')  # three parts, as S3 names a multipart ETag
    _, out, _ = aws("s3", "ls", f"s3://{BUCKET}/data/")
    assert f"{len(data)} big file.bin" in out
    aws("s3", "cp", f"s3://{BUCKET}/data/big file.bin", "back.bin")
    assert (aws.work / "back.bin").read_bytes() == data
    got = aws_json(aws, "s3api", "head-object", "--bucket", BUCKET, "--key", "data/big file.bin")
    assert got["ETag"] == head["ETag"]


def test_s3_sync_ls_and_rm(svc, aws):
    tree = aws.work / "tree"
    for name, text in {"a.csv": "1,2\n", "sub/b.csv": "3,4\n", "sub/deeper/c é.txt": "x"}.items():
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_text(text)
    aws("s3", "mb", "s3://cli-sync")
    aws("s3", "sync", str(tree), "s3://cli-sync/tree/")
    listed = svc.client("s3").list_objects_v2(Bucket="cli-sync")["Contents"]
    assert sorted(o["Key"] for o in listed) == [
        "tree/a.csv", "tree/sub/b.csv", "tree/sub/deeper/c é.txt"]
    _, out, _ = aws("s3", "ls", "s3://cli-sync/tree/")
    assert "PRE sub/" in out and "a.csv" in out and "b.csv" not in out
    _, out, _ = aws("s3", "sync", str(tree), "s3://cli-sync/tree/")
    assert out.strip() == ""  # nothing changed, nothing sent
    aws("s3", "rm", "--recursive", "s3://cli-sync/tree/sub/")
    listed = svc.client("s3").list_objects_v2(Bucket="cli-sync")["Contents"]
    assert [o["Key"] for o in listed] == ["tree/a.csv"]


def test_sts_caller_identity(aws):
    assert aws_json(aws, "sts", "get-caller-identity")["Account"] == "000000000000"


def test_train_deploy_invoke(svc, aws):
    x, y = regression(seed=31, rows=300)
    (aws.work / "train.csv").write_text(csv_text(x, y))
    aws("s3", "cp", "train.csv", f"s3://{BUCKET}/train/train.csv")
    job = {"TrainingJobName": "cli-job", "RoleArn": ROLE,
           "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
           "InputDataConfig": [{"ChannelName": "train", "ContentType": "text/csv",
                                "DataSource": {"S3DataSource": {
                                    "S3DataType": "S3Prefix",
                                    "S3Uri": f"s3://{BUCKET}/train/"}}}],
           "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/out"},
           "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1,
                              "VolumeSizeInGB": 5},
           "StoppingCondition": {"MaxRuntimeInSeconds": 600},
           "HyperParameters": {"num_round": "15", "max_depth": "3"}}
    (aws.work / "job.json").write_text(json.dumps(job))
    arn = aws_json(aws, "sagemaker", "create-training-job", "--cli-input-json",
                   "file://job.json")["TrainingJobArn"]
    assert arn.endswith(":training-job/cli-job")
    done = until(aws, ["sagemaker", "describe-training-job", "--training-job-name", "cli-job"],
                 "TrainingJobStatus", ("Completed", "Failed", "Stopped"))
    assert done["TrainingJobStatus"] == "Completed", done.get("FailureReason")
    names = [j["TrainingJobName"] for j in aws_json(
        aws, "sagemaker", "list-training-jobs", "--name-contains", "cli-")["TrainingJobSummaries"]]
    assert names == ["cli-job"]

    streams = aws_json(aws, "logs", "describe-log-streams", "--log-group-name",
                       "/aws/sagemaker/TrainingJobs", "--log-stream-name-prefix", "cli-job/")
    stream = streams["logStreams"][0]["logStreamName"]
    events = aws_json(aws, "logs", "get-log-events", "--log-group-name",
                      "/aws/sagemaker/TrainingJobs", "--log-stream-name", stream,
                      "--start-from-head")["events"]
    assert any(e["message"].startswith("[14]#011train-rmse:") for e in events)
    found = aws_json(aws, "logs", "filter-log-events", "--log-group-name",
                     "/aws/sagemaker/TrainingJobs", "--filter-pattern", "train-rmse")["events"]
    assert len(found) == 15

    model_data = done["ModelArtifacts"]["S3ModelArtifacts"]
    aws("sagemaker", "create-model", "--model-name", "cli-model", "--execution-role-arn", ROLE,
        "--primary-container", json.dumps({"Image": IMAGE, "ModelDataUrl": model_data}))
    aws("sagemaker", "create-endpoint-config", "--endpoint-config-name", "cli-config",
        "--production-variants", json.dumps([{
            "VariantName": "AllTraffic", "ModelName": "cli-model", "InitialInstanceCount": 1,
            "InstanceType": "ml.m5.large"}]))
    aws("sagemaker", "create-endpoint", "--endpoint-name", "cli-ep",
        "--endpoint-config-name", "cli-config")
    ep = until(aws, ["sagemaker", "describe-endpoint", "--endpoint-name", "cli-ep"],
               "EndpointStatus", ("InService", "Failed"))
    assert ep["EndpointStatus"] == "InService", ep.get("FailureReason")

    rows = "\n".join(",".join(f"{v:.6f}" for v in row) for row in x[:4])
    (aws.work / "rows.csv").write_text(rows)
    aws("sagemaker-runtime", "invoke-endpoint", "--endpoint-name", "cli-ep", "--body",
        "fileb://rows.csv", "--content-type", "text/csv", "predictions.txt")
    got = [float(v) for v in (aws.work / "predictions.txt").read_text().split()]
    bucket, key = model_data[len("s3://"):].split("/", 1)
    body = svc.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        raw = tar.extractfile("xgboost-model").read()
    booster = xgboost.Booster()
    booster.load_model(bytearray(raw))
    features = np.array([[float(v) for v in line.split(",")] for line in rows.split("\n")])
    assert np.array_equal(np.array(got, dtype=np.float32),
                          booster.predict(xgboost.DMatrix(features)))

    aws("sagemaker", "delete-endpoint", "--endpoint-name", "cli-ep")
    aws("sagemaker", "delete-endpoint-config", "--endpoint-config-name", "cli-config")
    aws("sagemaker", "delete-model", "--model-name", "cli-model")
    assert aws_json(aws, "sagemaker", "list-endpoints")["Endpoints"] == []


def test_errors_reach_the_cli_as_aws_sends_them(aws):
    rc, _, err = aws("sagemaker", "describe-training-job", "--training-job-name", "no-such-job",
                     check=False)
    assert rc != 0
    assert "(ValidationException) when calling the DescribeTrainingJob operation: " \
           "Requested resource not found: Could not find training job 'no-such-job'." in err
    rc, _, err = aws("s3", "ls", "s3://no-such-bucket-here/", check=False)
    assert rc != 0 and "NoSuchBucket" in err
    rc, _, err = aws("s3", "mb", "s3://Not_A_Valid_Bucket", check=False)
    assert rc != 0
