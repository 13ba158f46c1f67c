"""The whole workflow against sagemagic-local, driven once by boto3 and once
by the C client (the sagemagic-aws CLI), with boto3 and python xgboost as
the independent judges: a bucket; an upload made multipart by a small
threshold; a training job waited on; its metrics equal to the last log
line; its logs; model, endpoint config and endpoint; predictions equal to
python xgboost's from the same model.tar.gz; a transform whose output is
what invoking gives; a tuning job of six trials two at a time whose best
job heads its trials ranked by the objective; and the deletes."""
import io
import os
import subprocess
import tarfile
import time

import boto3.s3.transfer
import numpy as np
import pytest
import xgboost
from botocore.exceptions import ClientError

from local_service import LocalService, ROOT
from test_local_training import GROUP, IMAGE, ROLE, csv_text, regression

AWS_BIN = str(ROOT / "build" / "sagemagic-aws")
PART = 5 * 1024 * 1024
WAIT = {"Delay": 0.2, "MaxAttempts": 600}


@pytest.fixture(scope="module")
def svc(tmp_path_factory):
    with LocalService(tmp_path_factory.mktemp("local-flow") / "data").running() as service:
        yield service


@pytest.fixture(scope="module")
def judge(svc):
    """boto3 clients that only read back what the drivers did."""
    return {name: svc.client(name) for name in ("s3", "sagemaker", "logs")}


class Boto3Driver:
    """The flow as a boto3 user writes it."""

    def __init__(self, svc):
        self.s3 = svc.client("s3")
        self.sm = svc.client("sagemaker")
        self.rt = svc.client("sagemaker-runtime")
        self.logs = svc.client("logs")

    def make_bucket(self, bucket):
        self.s3.create_bucket(Bucket=bucket)

    def upload(self, path, bucket, key):
        config = boto3.s3.transfer.TransferConfig(multipart_threshold=1024,
                                                  multipart_chunksize=PART)
        self.s3.upload_file(str(path), bucket, key, Config=config)

    def train(self, name, train, validation, output, hyperparameters):
        channels = [{"ChannelName": channel, "ContentType": "text/csv",
                     "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                                     "S3Uri": uri}}}
                    for channel, uri in (("train", train), ("validation", validation))]
        self.sm.create_training_job(
            TrainingJobName=name, RoleArn=ROLE,
            AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
            InputDataConfig=channels, OutputDataConfig={"S3OutputPath": output},
            ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1,
                            "VolumeSizeInGB": 5},
            StoppingCondition={"MaxRuntimeInSeconds": 600},
            HyperParameters=hyperparameters)
        self.sm.get_waiter("training_job_completed_or_stopped").wait(
            TrainingJobName=name, WaiterConfig=WAIT)

    def log_lines(self, name):
        stream = self.logs.describe_log_streams(
            logGroupName=GROUP, logStreamNamePrefix=name + "/")["logStreams"][0]["logStreamName"]
        lines, token = [], None
        for _ in range(1000):
            args = {"logGroupName": GROUP, "logStreamName": stream, "startFromHead": True}
            if token:
                args["nextToken"] = token
            page = self.logs.get_log_events(**args)
            lines += [e["message"] for e in page["events"]]
            if page["nextForwardToken"] == token:
                return lines
            token = page["nextForwardToken"]
        raise AssertionError("GetLogEvents never ended")

    def deploy(self, name, artifact):
        self.sm.create_model(ModelName=name, ExecutionRoleArn=ROLE,
                             PrimaryContainer={"Image": IMAGE, "ModelDataUrl": artifact})
        self.sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{
            "VariantName": "AllTraffic", "ModelName": name, "InitialInstanceCount": 1,
            "InstanceType": "ml.m5.large"}])
        self.sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
        self.sm.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig=WAIT)

    def invoke(self, endpoint, body):
        r = self.rt.invoke_endpoint(EndpointName=endpoint, Body=body, ContentType="text/csv")
        return r["Body"].read().decode()

    def transform(self, name, model, source, output):
        self.sm.create_transform_job(
            TransformJobName=name, ModelName=model,
            TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                                            "S3Uri": source}},
                            "ContentType": "text/csv", "SplitType": "Line"},
            TransformOutput={"S3OutputPath": output, "AssembleWith": "Line"},
            TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1})
        self.sm.get_waiter("transform_job_completed_or_stopped").wait(
            TransformJobName=name, WaiterConfig=WAIT)

    def tune(self, name, train, validation, output):
        channels = [{"ChannelName": channel, "ContentType": "text/csv",
                     "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                                     "S3Uri": uri}}}
                    for channel, uri in (("train", train), ("validation", validation))]
        self.sm.create_hyper_parameter_tuning_job(
            HyperParameterTuningJobName=name,
            HyperParameterTuningJobConfig={
                "Strategy": "Bayesian",
                "HyperParameterTuningJobObjective": {"Type": "Minimize",
                                                     "MetricName": "validation:rmse"},
                "ResourceLimits": {"MaxNumberOfTrainingJobs": 6,
                                   "MaxParallelTrainingJobs": 2},
                "ParameterRanges": {
                    "ContinuousParameterRanges": [{"Name": "eta", "MinValue": "0.05",
                                                   "MaxValue": "0.5"}],
                    "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "2",
                                                "MaxValue": "6"}]}},
            TrainingJobDefinition={
                "AlgorithmSpecification": {"TrainingImage": IMAGE,
                                           "TrainingInputMode": "File"},
                "RoleArn": ROLE, "InputDataConfig": channels,
                "OutputDataConfig": {"S3OutputPath": f"s3://{train.split('/')[2]}/tuning"},
                "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1,
                                   "VolumeSizeInGB": 5},
                "StoppingCondition": {"MaxRuntimeInSeconds": 600},
                "StaticHyperParameters": {"num_round": "10",
                                          "objective": "reg:squarederror"}})
        deadline = time.monotonic() + 180  # botocore has no waiter for tuning jobs
        while self.sm.describe_hyper_parameter_tuning_job(
                HyperParameterTuningJobName=name)["HyperParameterTuningJobStatus"] in (
                    "InProgress", "Stopping"):
            assert time.monotonic() < deadline, f"{name} still running"
            time.sleep(0.2)

    def read(self, bucket, key):
        return self.s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()

    def delete(self, name, bucket):
        self.sm.delete_endpoint(EndpointName=name)
        self.sm.delete_endpoint_config(EndpointConfigName=name)
        self.sm.delete_model(ModelName=name)
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for obj in page.get("Contents", []):
                self.s3.delete_object(Bucket=bucket, Key=obj["Key"])


class CliDriver:
    """The same flow through the C client: one sagemagic-aws command a step."""

    def __init__(self, svc):
        self.env = dict(os.environ, AWS_ACCESS_KEY_ID=svc.creds["AccessKeyId"],
                        AWS_SECRET_ACCESS_KEY=svc.creds["SecretAccessKey"],
                        AWS_REGION="us-east-1", AWS_ENDPOINT_URL=svc.endpoint)
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE",
                     "AWS_SHARED_CREDENTIALS_FILE"):
            self.env.pop(name, None)

    def run(self, *args, timeout=180):
        done = subprocess.run([AWS_BIN, *args], env=self.env, capture_output=True,
                              text=True, timeout=timeout)
        assert done.returncode == 0, f"{args[:2]}: {done.stderr}"
        return done.stdout

    def make_bucket(self, bucket):
        self.run("s3", "mb", f"s3://{bucket}")

    def upload(self, path, bucket, key):
        self.run("s3", "cp", str(path), f"s3://{bucket}/{key}", "--quiet",
                 "--multipart-threshold", "1KiB", "--part-size", "5MiB")

    def train(self, name, train, validation, output, hyperparameters):
        hp = [arg for k, v in hyperparameters.items() for arg in ("--hp", f"{k}={v}")]
        self.run("sagemaker", "train", "--name", name, "--image", IMAGE, "--role", ROLE,
                 "--train", train, "--validation", validation, "--content-type", "text/csv",
                 "--output", output, "--instance-type", "ml.m5.large", *hp,
                 "--wait", "--poll", "0.2", "--timeout", "120")

    def log_lines(self, name):
        streams = self.run("logs", GROUP, "--prefix", name + "/").splitlines()
        assert len(streams) == 1
        return self.run("logs", GROUP, streams[0].split("\t")[0]).splitlines()

    def deploy(self, name, artifact):
        self.run("sagemaker", "model", "--name", name, "--image", IMAGE, "--role", ROLE,
                 "--model-data", artifact)
        self.run("sagemaker", "deploy", "--name", name, "--model", name,
                 "--instance-type", "ml.m5.large", "--wait", "--poll", "0.2",
                 "--timeout", "60")

    def invoke(self, endpoint, body):
        return self.run("sagemaker", "invoke", endpoint, "--content-type", "text/csv",
                        "--body", body)

    def transform(self, name, model, source, output):
        self.run("sagemaker", "transform", "--name", name, "--model", model,
                 "--input", source, "--output", output, "--instance-type", "ml.m5.large",
                 "--content-type", "text/csv", "--split-type", "Line",
                 "--assemble-with", "Line", "--wait", "--poll", "0.2", "--timeout", "120")

    def tune(self, name, train, validation, output):
        self.run("sagemaker", "tune", "--name", name, "--image", IMAGE, "--role", ROLE,
                 "--train", train, "--validation", validation, "--content-type", "text/csv",
                 "--output", f"s3://{train.split('/')[2]}/tuning",
                 "--instance-type", "ml.m5.large", "--objective", "validation:rmse",
                 "--objective-type", "Minimize", "--strategy", "Bayesian",
                 "--max-jobs", "6", "--max-parallel", "2",
                 "--range", "eta=0.05..0.5", "--range", "max_depth=2..6:int",
                 "--hp", "num_round=10", "--hp", "objective=reg:squarederror",
                 "--wait", "--poll", "0.2", "--timeout", "180")

    def read(self, bucket, key):
        return self.run("s3", "cp", f"s3://{bucket}/{key}", "-")

    def delete(self, name, bucket):
        self.run("sagemaker", "delete", "endpoint", name, "--wait", "--poll", "0.2",
                 "--timeout", "60")
        self.run("sagemaker", "delete", "endpoint-config", name)
        self.run("sagemaker", "delete", "model", name)
        self.run("s3", "rm", f"s3://{bucket}/", "--recursive")


def last_round_metrics(lines):
    """{"train:rmse": x, ...} from the container's last per-round line."""
    rounds = [line for line in lines if line.startswith("[") and "]#011" in line]
    metrics = {}
    for piece in rounds[-1].split("#011")[1:]:
        name, value = piece.rsplit(":", 1)
        data, metric = name.split("-", 1)
        metrics[f"{data}:{metric}"] = float(value)
    return len(rounds), metrics


def booster_from(s3, bucket, key):
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tar:
        raw = tar.extractfile("xgboost-model").read()
    booster = xgboost.Booster()
    booster.load_model(bytearray(raw))
    return booster


@pytest.mark.parametrize("driver_class", [Boto3Driver, CliDriver], ids=["boto3", "c-client"])
def test_whole_flow(svc, judge, driver_class, tmp_path):
    s3, sm = judge["s3"], judge["sagemaker"]
    drive = driver_class(svc)
    tag = "boto3" if driver_class is Boto3Driver else "cli"
    bucket, name = f"flow-{tag}", f"flow-{tag}"

    drive.make_bucket(bucket)
    s3.head_bucket(Bucket=bucket)

    x, y = regression(seed=11, rows=900)
    files = {"train.csv": csv_text(x[:600], y[:600]),
             "validation.csv": csv_text(x[600:750], y[600:750])}
    for file, text in files.items():
        (tmp_path / file).write_text(text)
        drive.upload(tmp_path / file, bucket, f"data/{file}")
        head = s3.head_object(Bucket=bucket, Key=f"data/{file}")
        assert head["ETag"].endswith('-1"'), "a multipart upload of one part"
        assert s3.get_object(Bucket=bucket, Key=f"data/{file}")["Body"].read() == text.encode()

    hp = {"num_round": "20", "max_depth": "4", "eta": "0.3",
          "objective": "reg:squarederror", "seed": "3"}
    drive.train(name, f"s3://{bucket}/data/train.csv", f"s3://{bucket}/data/validation.csv",
                f"s3://{bucket}/out", hp)
    job = sm.describe_training_job(TrainingJobName=name)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert job["HyperParameters"] == hp

    lines = drive.log_lines(name)
    assert lines == Boto3Driver(svc).log_lines(name)
    rounds, from_log = last_round_metrics(lines)
    assert rounds == 20
    final = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    assert final == pytest.approx(from_log, abs=1e-9)

    artifact = job["ModelArtifacts"]["S3ModelArtifacts"]
    assert artifact == f"s3://{bucket}/out/{name}/output/model.tar.gz"
    drive.deploy(name, artifact)
    assert sm.describe_endpoint(EndpointName=name)["EndpointStatus"] == "InService"

    test_x = x[750:].astype(np.float32)
    rows = "\n".join(",".join(repr(float(v)) for v in row) for row in test_x)
    answer = drive.invoke(name, rows)
    got = np.array([float(v) for v in answer.split()], dtype=np.float32)
    booster = booster_from(s3, bucket, f"out/{name}/output/model.tar.gz")
    assert got == pytest.approx(booster.predict(xgboost.DMatrix(test_x)), abs=1e-6)

    (tmp_path / "batch.csv").write_text(rows + "\n")
    drive.upload(tmp_path / "batch.csv", bucket, "batch/in/batch.csv")
    drive.transform(name, name, f"s3://{bucket}/batch/in/", f"s3://{bucket}/batch/out")
    assert sm.describe_transform_job(TransformJobName=name)["TransformJobStatus"] == "Completed"
    out = drive.read(bucket, "batch/out/batch.csv.out")
    assert out == s3.get_object(Bucket=bucket, Key="batch/out/batch.csv.out")["Body"].read().decode()
    assert out.split() == answer.split()

    # a tuning job of six trials, two at a time; its best job is the first
    # of its trials ranked by the objective
    drive.tune(name, f"s3://{bucket}/data/train.csv", f"s3://{bucket}/data/validation.csv",
               f"s3://{bucket}/tuning")
    tuning = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    assert tuning["HyperParameterTuningJobStatus"] == "Completed"
    assert tuning["TrainingJobStatusCounters"]["Completed"] == 6
    ranked = sm.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name, SortBy="FinalObjectiveMetricValue",
        SortOrder="Ascending")["TrainingJobSummaries"]
    values = [t["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for t in ranked]
    assert len(ranked) == 6 and values == sorted(values)
    best = tuning["BestTrainingJob"]
    assert best["TrainingJobName"] == ranked[0]["TrainingJobName"]
    trial = sm.describe_training_job(TrainingJobName=best["TrainingJobName"])
    final = {m["MetricName"]: m["Value"] for m in trial["FinalMetricDataList"]}
    assert final["validation:rmse"] == pytest.approx(values[0], abs=1e-9)

    drive.delete(name, bucket)
    for call, arg in ((sm.describe_endpoint, {"EndpointName": name}),
                      (sm.describe_endpoint_config, {"EndpointConfigName": name}),
                      (sm.describe_model, {"ModelName": name})):
        with pytest.raises(ClientError) as info:
            call(**arg)
        assert info.value.response["Error"]["Code"] == "ValidationException"
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
