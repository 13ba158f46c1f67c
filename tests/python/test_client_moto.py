"""The C client's typed SageMaker, Runtime, Logs and STS operations against
moto in server mode, through `sagemagic-aws sagemaker`, `logs` and
`whoami`; boto3 is the independent checker (what the C client sent is what
boto3 reads back from moto).

moto runs as a subprocess on a free port of 127.0.0.1; the CLI reaches it
through AWS_ENDPOINT_URL with fake keys, an empty HOME and config and
AWS_EC2_METADATA_DISABLED, so nothing here can reach AWS.

What moto 5.x does and lacks, as these tests rely on it:
- Training, transform and tuning jobs are Completed, endpoints InService, the
  moment they are created, so every waiter succeeds on its first Describe.
- StopTrainingJob, StopTransformJob, StopHyperParameterTuningJob,
  UpdateEndpoint and ListTrainingJobsForHyperParameterTuningJob are not
  implemented (moto answers 500); the tests check that boto3 fails the same
  way and that the C client sends them and reports the failure in one line.
  (DeleteHyperParameterTuningJob, which moto has, the C client does not
  offer.)
- DescribeHyperParameterTuningJob reports a canned best training job
  ("FakeTrainingJobName"); list filters other than NameContains and
  StatusEquals, and sorting, are ignored.
- InvokeEndpoint answers from a queue set through /moto-api; it remembers
  each answer by endpoint, Accept, X-Amzn-SageMaker-* headers and body, so
  boto3 repeating the C client's request gets the same answer only if both
  sent the same thing.
- GetLogEvents, FilterLogEvents (simple term patterns) and
  DescribeLogStreams page with tokens as the service does.
"""
import datetime
import http.server
import json
import os
import pathlib
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

ROOT = pathlib.Path(__file__).resolve().parents[2]
_KERNEL = os.environ.get("SAGEMAGIC_KERNEL")
AWS_BIN = os.environ.get(
    "SAGEMAGIC_AWS",
    str(pathlib.Path(_KERNEL).parent / "sagemagic-aws") if _KERNEL else str(ROOT / "build" / "sagemagic-aws"),
)
REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's
ROLE = f"arn:aws:iam::{ACCOUNT}:role/SageMakerRole"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
GROUP = "/aws/sagemaker/TrainingJobs"
pytestmark = pytest.mark.timeout(300)


# ---- moto, the environment and the two clients ------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def moto_url(tmp_path_factory):
    port = free_port()
    log = open(tmp_path_factory.mktemp("moto") / "moto.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, f"moto exited with {proc.returncode}"
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                assert time.monotonic() < deadline, "moto did not start"
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def env(moto_url, tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    (home / "config").write_text("")
    (home / "credentials").write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "HOME": str(home),
        "AWS_CONFIG_FILE": str(home / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
        "AWS_MAX_ATTEMPTS": "1",  # moto's 500s for what it lacks: no retries
        "SAGEMAGIC_LOG": "warn",
    })
    return env


def client(moto_url, service):
    return boto3.client(
        service, endpoint_url=moto_url, region_name=REGION,
        aws_access_key_id="testing", aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}))


@pytest.fixture(scope="module")
def sm(moto_url):
    return client(moto_url, "sagemaker")


@pytest.fixture(scope="module")
def logs(moto_url):
    return client(moto_url, "logs")


def run(env, *args, timeout=60, stdin=None):
    assert os.path.exists(AWS_BIN), f"build it first (make all): {AWS_BIN}"
    return subprocess.run([AWS_BIN, *args], env=env, capture_output=True,
                          text=True, timeout=timeout, input=stdin)


def ok(env, *args, **kw):
    """Run and insist on success; the result."""
    r = run(env, *args, **kw)
    assert r.returncode == 0, f"{args}: exit {r.returncode}\n{r.stderr}"
    return r


def fields(text):
    """`describe` output as {key: value}, repeated keys as lists."""
    out = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        value = value.strip()
        if key in out:
            out[key] = (out[key] if isinstance(out[key], list) else [out[key]]) + [value]
        else:
            out[key] = value
    return out


def iso(dt: datetime.datetime) -> str:
    return dt.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def train_args(name, *extra):
    return ["sagemaker", "train", "--name", name, "--image", IMAGE, "--role", ROLE,
            "--train", "s3://bucket/data/train/", "--output", "s3://bucket/output/",
            "--instance-type", "ml.m5.xlarge", *extra]


def make_model(env, name):
    ok(env, "sagemaker", "model", "--name", name, "--image", IMAGE, "--role", ROLE,
       "--model-data", f"s3://bucket/output/{name}/output/model.tar.gz")


# ---- the command line ---------------------------------------------------------

SUBCOMMANDS = ["train", "tune", "model", "deploy", "update", "transform", "describe",
               "list", "stop", "delete", "wait", "invoke"]


def test_help_lists_every_subcommand_and_its_flags(env):
    r = ok(env, "sagemaker", "--help")
    listed = [l.split()[0] for l in r.stdout.split("\n\n")[1].splitlines()]
    assert listed == SUBCOMMANDS
    for sub in SUBCOMMANDS:
        r = ok(env, "sagemaker", sub, "--help")
        assert r.stdout.startswith(f"usage: sagemagic-aws sagemaker {sub}")
        assert "--endpoint-url" in r.stdout and r.stderr == ""
    assert "--hp KEY=VALUE" in ok(env, "sagemaker", "train", "-h").stdout
    assert "--hp" not in ok(env, "sagemaker", "list", "--help").stdout
    r = ok(env, "logs", "--help")
    assert r.stdout.startswith("usage: sagemagic-aws logs GROUP [STREAM]")
    commands = ok(env, "--help").stdout.split("commands:\n", 1)[1].split("\n\n")[0]
    assert {"sagemaker", "logs", "whoami"} <= {l.split()[0] for l in commands.splitlines()}


@pytest.mark.parametrize("args, message", [
    (["sagemaker"], "usage: sagemagic-aws sagemaker"),
    (["sagemaker", "bogus"], "unknown subcommand 'bogus'"),
    (["sagemaker", "train", "--name", "x"], "missing --image"),
    (train_args("x", "--hp", "eta"), "--hp takes KEY=VALUE, not 'eta'"),
    (train_args("x", "--instance-count", "0"), "--instance-count takes a whole number"),
    (train_args("x", "--wait=yes"), "--wait takes no value"),
    (["sagemaker", "describe", "thing", "x"], "unknown KIND 'thing'"),
    (["sagemaker", "describe", "model"], "usage: sagemagic-aws sagemaker describe KIND NAME"),
    (["sagemaker", "list", "model", "extra"], "unexpected argument 'extra'"),
    (["sagemaker", "list", "model", "--wait"], "unknown flag '--wait'"),
    (["sagemaker", "list", "model", "--tuning-job", "t"], "--tuning-job lists training jobs only"),
    (["sagemaker", "stop", "model", "m"], "models cannot be stopped"),
    (["sagemaker", "delete", "training-job", "j"], "training jobs cannot be deleted"),
    (["sagemaker", "delete", "tuning-job", "j"], "tuning jobs cannot be deleted"),
    (["sagemaker", "wait", "model", "m"], "models have no status to wait for"),
    (["sagemaker", "wait", "endpoint", "e", "--poll", "soon"], "--poll takes a number of seconds"),
    (["sagemaker", "invoke", "ep"], "give the body with --body or --body-file"),
    (["sagemaker", "tune", "--name", "t", "--image", IMAGE, "--role", ROLE, "--train",
      "s3://b/t/", "--output", "s3://b/o/", "--instance-type", "ml.m5.large",
      "--max-parallel", "1", "--range", "eta"],
     "--range: 'eta' is not a range; write NAME=MIN..MAX or NAME=A|B."),
    (["logs"], "usage: sagemagic-aws logs"),
    (["logs", GROUP, "--follow"], "--follow needs STREAM"),
    (["logs", GROUP, "s", "--start", "yesterday"], "--start takes milliseconds"),
])
def test_usage_mistakes_exit_2_with_one_line(env, args, message):
    r = run(env, *args)
    assert r.returncode == 2, r.stderr
    assert message in r.stderr
    assert r.stdout == ""
    if len(args) > 1:
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_a_bad_argument_is_refused_before_sending(env, sm):
    name = unique("refused")
    r = run(env, *train_args(name)[:-1], "m5.xlarge")
    assert r.returncode == 2
    assert "CreateTrainingJob failed" in r.stderr
    assert "'m5.xlarge' is not a SageMaker instance type" in r.stderr
    assert sm.list_training_jobs(NameContains=name)["TrainingJobSummaries"] == []


# ---- STS --------------------------------------------------------------------------


def test_whoami_is_sts_get_caller_identity(env, moto_url):
    mine = json.loads(ok(env, "whoami").stdout)
    theirs = client(moto_url, "sts").get_caller_identity()
    assert mine == {k: theirs[k] for k in ("UserId", "Account", "Arn")}
    assert mine["Account"] == ACCOUNT


# ---- training jobs ------------------------------------------------------------------


def test_training_job_is_what_boto3_reads_back(env, sm):
    name = unique("train")
    hps = {"num_round": "50", "eta": "0.2", "objective": "binary:logistic",
           "max_depth": "5"}
    r = ok(env, *train_args(name, "--validation", "s3://bucket/data/validation/",
                            "--content-type", "text/csv", "--instance-count", "2",
                            "--volume-gb", "50", "--max-runtime", "3600",
                            "--tag", "team=ml", "--tag", "project=churn",
                            *[a for k, v in hps.items() for a in ("--hp", f"{k}={v}")]))
    job = sm.describe_training_job(TrainingJobName=name)
    assert r.stdout == job["TrainingJobArn"] + "\n"
    assert job["HyperParameters"] == hps
    assert job["RoleArn"] == ROLE
    assert job["AlgorithmSpecification"]["TrainingImage"] == IMAGE
    assert job["AlgorithmSpecification"]["TrainingInputMode"] == "File"
    channels = {c["ChannelName"]: c for c in job["InputDataConfig"]}
    assert list(channels) == ["train", "validation"]
    for channel, uri in (("train", "s3://bucket/data/train/"),
                         ("validation", "s3://bucket/data/validation/")):
        assert channels[channel]["ContentType"] == "text/csv"
        assert channels[channel]["DataSource"]["S3DataSource"]["S3Uri"] == uri
        assert channels[channel]["DataSource"]["S3DataSource"]["S3DataType"] == "S3Prefix"
    assert job["OutputDataConfig"]["S3OutputPath"] == "s3://bucket/output/"
    assert job["ResourceConfig"] == {"InstanceType": "ml.m5.xlarge", "InstanceCount": 2,
                                     "VolumeSizeInGB": 50}
    assert job["StoppingCondition"]["MaxRuntimeInSeconds"] == 3600
    tags = sm.list_tags(ResourceArn=job["TrainingJobArn"])["Tags"]
    assert {t["Key"]: t["Value"] for t in tags} == {"team": "ml", "project": "churn"}


def test_train_wait_describe_and_wait(env, sm):
    name = unique("wait")
    start = time.monotonic()
    r = ok(env, *train_args(name, "--hp", "num_round=3", "--wait", "--poll", "1"))
    assert time.monotonic() - start < 20  # moto: Completed at the first Describe
    job = sm.describe_training_job(TrainingJobName=name)
    arn, summary = r.stdout.split("\n", 1)
    assert arn == job["TrainingJobArn"]
    assert f"training job {name}: Completed" in r.stderr
    shown = fields(summary)
    assert shown["Status"] == "Completed" == job["TrainingJobStatus"]
    assert shown["ModelArtifacts"] == job["ModelArtifacts"]["S3ModelArtifacts"]

    described = fields(ok(env, "sagemaker", "describe", "training-job", name).stdout)
    assert described == shown
    assert described["Name"] == name
    assert described["Arn"] == job["TrainingJobArn"]
    assert described["SecondaryStatus"] == job["SecondaryStatus"]
    assert described["Image"] == IMAGE
    assert described["Instances"] == "ml.m5.xlarge x 1"
    assert described["OutputPath"] == "s3://bucket/output/"
    assert described["CreationTime"] == iso(job["CreationTime"])
    assert described["EndTime"] == iso(job["TrainingEndTime"])
    metric = job["FinalMetricDataList"][0]
    assert described["Metric"] == f"{metric['MetricName']} = {metric['Value']:g}"
    transition = job["SecondaryStatusTransitions"][0]
    assert described["Transition"] == f"{transition['Status']}: {transition['StatusMessage']}"

    raw = json.loads(ok(env, "sagemaker", "describe", "training-job", name, "--json").stdout)
    assert raw["TrainingJobArn"] == job["TrainingJobArn"]
    assert raw["HyperParameters"] == job["HyperParameters"] == {"num_round": "3"}
    assert abs(raw["CreationTime"] - job["CreationTime"].timestamp()) < 0.01

    r = ok(env, "sagemaker", "wait", "training-job", name)
    assert fields(r.stdout)["Status"] == "Completed"


def test_list_training_jobs_over_pages(env, sm):
    ok(env, *train_args(unique("other")))  # so the first page of one misses
    prefix = unique("listed")
    names = [f"{prefix}-{i}" for i in range(5)]
    for name in names:
        ok(env, *train_args(name))
    theirs = {s["TrainingJobName"] for s in
              sm.list_training_jobs(NameContains=prefix)["TrainingJobSummaries"]}
    assert theirs == set(names)

    r = ok(env, "sagemaker", "list", "training-job", "--name-contains", prefix)
    rows = [l.split() for l in r.stdout.splitlines()]
    assert {row[0] for row in rows} == set(names)
    assert all(row[1] == "Completed" for row in rows)
    everything = {s["TrainingJobName"] for s in
                  sm.list_training_jobs(MaxResults=100)["TrainingJobSummaries"]}
    assert len(everything) >= 6  # three pages at least
    r = ok(env, "sagemaker", "list", "training-job", "--page-size", "2")  # pages of 2
    assert {l.split()[0] for l in r.stdout.splitlines()} == everything
    assert r.stderr == ""
    r = ok(env, "sagemaker", "list", "training-job", "--page-size", "2", "--max-items", "3")
    assert len(r.stdout.splitlines()) == 3
    assert "more may remain" in r.stderr
    r = ok(env, "sagemaker", "list", "training-job", "--name-contains", prefix,
           "--status", "Completed", "--json")
    listed = json.loads(r.stdout)
    assert {s["TrainingJobName"] for s in listed} == set(names)
    assert {s["TrainingJobArn"] for s in listed} == {
        sm.describe_training_job(TrainingJobName=n)["TrainingJobArn"] for n in names}
    r = ok(env, "sagemaker", "list", "training-job", "--name-contains", prefix,
           "--status", "Failed")
    assert r.stdout == ""
    # moto, like SageMaker, filters each page after cutting it: a first page
    # without a match comes back empty with a next token, and the client's
    # pager walks on through such pages, as botocore's paginators do
    r = ok(env, "sagemaker", "list", "training-job", "--name-contains", prefix,
           "--page-size", "1")
    assert {l.split()[0] for l in r.stdout.splitlines()} == set(names)
    assert "more may remain" not in r.stderr


# ---- what moto lacks ------------------------------------------------------------------


@pytest.mark.parametrize("kind, operation, boto3_call", [
    ("training-job", "StopTrainingJob", lambda sm, n: sm.stop_training_job(TrainingJobName=n)),
    ("transform-job", "StopTransformJob", lambda sm, n: sm.stop_transform_job(TransformJobName=n)),
    ("tuning-job", "StopHyperParameterTuningJob",
     lambda sm, n: sm.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName=n)),
])
def test_stop_is_sent_but_moto_lacks_it(env, sm, kind, operation, boto3_call):
    name = unique("stop")[:32]
    with pytest.raises(ClientError) as e:
        boto3_call(sm, name)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500, (
        f"moto implements {operation} now: check it through the C client")
    r = run(env, "sagemaker", "stop", kind, name)
    assert r.returncode == 1
    assert r.stderr == f"sagemagic-aws sagemaker stop: {operation} failed: 500: Internal Server Error\n"


def test_listing_a_tuning_jobs_trials_is_sent_but_moto_lacks_it(env, sm):
    with pytest.raises(ClientError) as e:
        sm.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName="t")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500, (
        "moto implements ListTrainingJobsForHyperParameterTuningJob now: check it "
        "through the C client")
    r = run(env, "sagemaker", "list", "training-job", "--tuning-job", "t",
            "--sort-by", "FinalObjectiveMetricValue")
    assert r.returncode == 1
    assert "ListTrainingJobsForHyperParameterTuningJob failed: 500" in r.stderr
    r = run(env, "sagemaker", "list", "training-job", "--tuning-job", "t",
            "--name-contains", "x")  # the service has no such filter there
    assert r.returncode == 2 and r.stdout == ""


def test_update_endpoint_is_sent_but_moto_lacks_it(env, sm):
    with pytest.raises(ClientError) as e:
        sm.update_endpoint(EndpointName="ep", EndpointConfigName="cfg")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500, (
        "moto implements UpdateEndpoint now: check it through the C client")
    r = run(env, "sagemaker", "update", "ep", "--config", "cfg")
    assert r.returncode == 1
    assert "UpdateEndpoint failed: 500" in r.stderr


# ---- models, endpoint configs, endpoints ------------------------------------------------


def test_model_endpoint_lifecycle(env, sm):
    model, endpoint = unique("model"), unique("endpoint")
    r = ok(env, "sagemaker", "model", "--name", model, "--image", IMAGE, "--role", ROLE,
           "--model-data", "s3://bucket/output/m/model.tar.gz",
           "--env", "SAGEMAKER_PROGRAM=inference.py", "--env", "LOG_LEVEL=debug",
           "--tag", "stage=test")
    described = sm.describe_model(ModelName=model)
    assert r.stdout == described["ModelArn"] + "\n"
    assert described["PrimaryContainer"]["Image"] == IMAGE
    assert described["PrimaryContainer"]["ModelDataUrl"] == "s3://bucket/output/m/model.tar.gz"
    assert described["PrimaryContainer"]["Environment"] == {
        "SAGEMAKER_PROGRAM": "inference.py", "LOG_LEVEL": "debug"}
    assert described["ExecutionRoleArn"] == ROLE
    shown = fields(ok(env, "sagemaker", "describe", "model", model).stdout)
    assert shown["Arn"] == described["ModelArn"]
    assert shown["Image"] == IMAGE and shown["ExecutionRoleArn"] == ROLE
    assert shown["ModelDataUrl"] == "s3://bucket/output/m/model.tar.gz"

    r = ok(env, "sagemaker", "deploy", "--name", endpoint, "--model", model,
           "--instance-type", "ml.m5.large", "--instance-count", "2", "--tag", "stage=test",
           "--wait")
    config_arn, endpoint_arn, summary = r.stdout.split("\n", 2)
    config = sm.describe_endpoint_config(EndpointConfigName=endpoint)
    assert config_arn == config["EndpointConfigArn"]
    variant = config["ProductionVariants"][0]
    assert len(config["ProductionVariants"]) == 1
    assert variant["VariantName"] == "AllTraffic"
    assert variant["ModelName"] == model
    assert variant["InstanceType"] == "ml.m5.large"
    assert variant["InitialInstanceCount"] == 2
    assert variant["InitialVariantWeight"] == 1.0
    described = sm.describe_endpoint(EndpointName=endpoint)
    assert endpoint_arn == described["EndpointArn"]
    assert described["EndpointStatus"] == "InService"
    assert described["EndpointConfigName"] == endpoint
    assert f"endpoint {endpoint}: InService" in r.stderr
    assert fields(summary)["Status"] == "InService"
    assert fields(summary)["EndpointConfig"] == endpoint

    shown = fields(ok(env, "sagemaker", "describe", "endpoint-config", endpoint).stdout)
    assert shown["Variant"] == f"AllTraffic model {model} ml.m5.large x 2 weight 1"
    assert ok(env, "sagemaker", "wait", "endpoint", endpoint).returncode == 0
    for kind, name in (("model", model), ("endpoint-config", endpoint),
                       ("endpoint", endpoint)):
        listed = ok(env, "sagemaker", "list", kind, "--name-contains", name).stdout
        assert [l.split()[0] for l in listed.splitlines()] == [name]

    r = ok(env, "sagemaker", "delete", "endpoint", endpoint, "--wait", "--poll", "1")
    assert r.stdout == f"delete: endpoint {endpoint}\n"
    with pytest.raises(ClientError) as e:  # EndpointDeleted: gone
        sm.describe_endpoint(EndpointName=endpoint)
    assert e.value.response["Error"]["Code"] == "ValidationException"
    ok(env, "sagemaker", "delete", "endpoint-config", endpoint)
    ok(env, "sagemaker", "delete", "model", model)
    assert not sm.list_models(NameContains=model)["Models"]
    assert not sm.list_endpoint_configs(NameContains=endpoint)["EndpointConfigs"]
    r = run(env, "sagemaker", "describe", "model", model)
    assert r.returncode == 1
    assert "DescribeModel failed: ValidationException: Could not find model" in r.stderr


def test_waiting_for_a_missing_endpoint_fails(env):
    r = run(env, "sagemaker", "wait", "endpoint", unique("nowhere"))
    assert r.returncode == 1
    assert "DescribeEndpoint failed: ValidationException: Could not find endpoint" in r.stderr
    r = run(env, "sagemaker", "describe", "training-job", "nowhere")
    assert r.returncode == 1
    assert r.stderr.startswith("sagemagic-aws sagemaker describe: DescribeTrainingJob failed: "
                               "ValidationException: Could not find training job")


class Forever:
    """A SageMaker that says every training job is still training."""

    def __init__(self):
        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                answer = json.dumps({"TrainingJobName": body.get("TrainingJobName", ""),
                                     "TrainingJobStatus": "InProgress",
                                     "SecondaryStatus": "Training"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def forever():
    peer = Forever()
    yield peer
    peer.server.shutdown()
    peer.server.server_close()


def test_wait_gives_up_at_the_timeout_and_stops_on_ctrl_c(env, forever):
    """moto finishes every job at once; a scripted peer that never does
    shows the waiter's limit and its interruption."""
    slow = dict(env, AWS_ENDPOINT_URL=forever.url)
    start = time.monotonic()
    r = run(slow, "sagemaker", "wait", "training-job", "job", "--poll", "0.2",
            "--timeout", "1")
    assert 0.9 < time.monotonic() - start < 15
    assert r.returncode == 1
    assert "training job job: InProgress - Training (0 s)" in r.stderr
    assert ("WaiterTimeout: Gave up waiting for the training job job after 1 s; "
            "its status is InProgress.") in r.stderr
    assert fields(r.stdout)["Status"] == "InProgress"  # where it stood

    proc = subprocess.Popen([AWS_BIN, "sagemaker", "wait", "training-job", "job",
                             "--poll", "5"], env=slow, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1)
        assert proc.poll() is None
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130
    assert "WaiterInterrupted: Stopped waiting for the training job job" in err
    assert out == ""  # interrupted: no summary


# ---- Runtime --------------------------------------------------------------------------


def queue_answers(moto_url, answers):
    body = json.dumps({"account_id": ACCOUNT, "region": REGION, "results": answers})
    req = urllib.request.Request(f"{moto_url}/moto-api/static/sagemaker/endpoint-results",
                                 data=body.encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 201


def test_invoke_endpoint_sends_what_boto3_sends(env, moto_url, sm, tmp_path):
    model, endpoint = unique("model"), unique("endpoint")
    make_model(env, model)
    ok(env, "sagemaker", "deploy", "--name", endpoint, "--model", model,
       "--instance-type", "ml.m5.large", "--wait")
    first = {"Body": "0.93\n", "ContentType": "text/csv", "InvokedProductionVariant": "AllTraffic",
             "CustomAttributes": "model=1"}
    second = {"Body": '{"scores": [0.1]}', "ContentType": "application/json",
              "InvokedProductionVariant": "AllTraffic", "CustomAttributes": ""}
    queue_answers(moto_url, [first, second])

    out = tmp_path / "answer.csv"
    r = ok(env, "sagemaker", "invoke", endpoint, "--content-type", "text/csv",
           "--accept", "text/csv", "--custom-attributes", "trace=1",
           "--body", "5.1,3.5,1.4", "--out", str(out))
    assert out.read_text() == first["Body"]
    assert fields(r.stdout) == {"ContentType": "text/csv",
                                "InvokedProductionVariant": "AllTraffic",
                                "CustomAttributes": "model=1"}
    # moto keys its answers on Accept, the X-Amzn-SageMaker-* headers and the
    # body: boto3 sending the same request gets the first answer again, not
    # the second one waiting in the queue.
    rt = client(moto_url, "sagemaker-runtime")
    theirs = rt.invoke_endpoint(EndpointName=endpoint, Body=b"5.1,3.5,1.4",
                                ContentType="text/csv", Accept="text/csv",
                                CustomAttributes="trace=1")
    assert theirs["Body"].read().decode() == first["Body"]
    assert theirs["CustomAttributes"] == "model=1"

    body = tmp_path / "rows.csv"
    body.write_text("6.0,2.2,5.0\n")
    r = ok(env, "sagemaker", "invoke", endpoint, "--content-type", "text/csv",
           "--body-file", str(body))
    assert r.stdout == second["Body"]  # the answer itself, nothing else
    r = ok(env, "sagemaker", "invoke", endpoint, "--body-file", "-", stdin="6.0,2.2,5.0\n")
    assert r.stdout == second["Body"]  # same request, same answer
    r = run(env, "sagemaker", "invoke", endpoint, "--body", "")
    assert r.returncode == 2 and "the body is empty" in r.stderr


# ---- transform and tuning jobs ------------------------------------------------------------


def test_transform_job(env, sm):
    model, name = unique("model"), unique("transform")
    make_model(env, model)
    r = ok(env, "sagemaker", "transform", "--name", name, "--model", model,
           "--input", "s3://bucket/batch/in/", "--output", "s3://bucket/batch/out/",
           "--instance-type", "ml.m5.large", "--instance-count", "2",
           "--content-type", "text/csv", "--split-type", "line", "--accept", "text/csv",
           "--assemble-with", "Line", "--strategy", "MultiRecord", "--tag", "k=v", "--wait")
    job = sm.describe_transform_job(TransformJobName=name)
    arn, summary = r.stdout.split("\n", 1)
    assert arn == job["TransformJobArn"]
    assert job["ModelName"] == model
    assert job["TransformInput"] == {
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                        "S3Uri": "s3://bucket/batch/in/"}},
        "ContentType": "text/csv", "SplitType": "Line"}
    assert job["TransformOutput"] == {"S3OutputPath": "s3://bucket/batch/out/",
                                      "Accept": "text/csv", "AssembleWith": "Line"}
    assert job["TransformResources"] == {"InstanceType": "ml.m5.large", "InstanceCount": 2}
    assert job["BatchStrategy"] == "MultiRecord"
    shown = fields(summary)
    assert shown == fields(ok(env, "sagemaker", "describe", "transform-job", name).stdout)
    assert shown["Status"] == job["TransformJobStatus"] == "Completed"
    assert shown["Model"] == model
    assert shown["Input"] == "s3://bucket/batch/in/"
    assert shown["OutputPath"] == "s3://bucket/batch/out/"
    assert shown["Instances"] == "ml.m5.large x 2"
    listed = ok(env, "sagemaker", "list", "transform-job", "--name-contains", name).stdout
    assert listed.split()[:2] == [name, "Completed"]
    ok(env, "sagemaker", "wait", "transform-job", name)


def test_tuning_job(env, sm):
    name = unique("tune")[:32]
    r = ok(env, "sagemaker", "tune", "--name", name, "--image", IMAGE, "--role", ROLE,
           "--train", "s3://bucket/data/train/", "--validation", "s3://bucket/data/validation/",
           "--content-type", "text/csv", "--output", "s3://bucket/output/",
           "--instance-type", "ml.m5.xlarge", "--objective", "validation:auc",
           "--objective-type", "Maximize", "--max-jobs", "4", "--max-parallel", "2",
           "--range", "eta=0.1..0.5:log", "--range", "max_depth=3..9:int",
           "--range", "booster=gbtree|dart", "--hp", "num_round=10", "--wait")
    job = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    arn, summary = r.stdout.split("\n", 1)
    assert arn == job["HyperParameterTuningJobArn"]
    config = job["HyperParameterTuningJobConfig"]
    assert config["Strategy"] == "Bayesian"
    assert config["HyperParameterTuningJobObjective"] == {"Type": "Maximize",
                                                          "MetricName": "validation:auc"}
    assert config["ResourceLimits"]["MaxNumberOfTrainingJobs"] == 4
    assert config["ResourceLimits"]["MaxParallelTrainingJobs"] == 2
    ranges = config["ParameterRanges"]
    assert ranges["ContinuousParameterRanges"] == [
        {"Name": "eta", "MinValue": "0.1", "MaxValue": "0.5", "ScalingType": "Logarithmic"}]
    assert ranges["IntegerParameterRanges"] == [
        {"Name": "max_depth", "MinValue": "3", "MaxValue": "9"}]
    assert ranges["CategoricalParameterRanges"] == [
        {"Name": "booster", "Values": ["gbtree", "dart"]}]
    definition = job["TrainingJobDefinition"]
    assert definition["StaticHyperParameters"] == {"num_round": "10"}
    assert definition["AlgorithmSpecification"]["TrainingImage"] == IMAGE
    assert definition["RoleArn"] == ROLE
    assert [c["ChannelName"] for c in definition["InputDataConfig"]] == ["train", "validation"]
    assert definition["OutputDataConfig"]["S3OutputPath"] == "s3://bucket/output/"
    assert definition["ResourceConfig"]["InstanceType"] == "ml.m5.xlarge"

    shown = fields(summary)
    assert shown == fields(ok(env, "sagemaker", "describe", "tuning-job", name).stdout)
    assert shown["Status"] == job["HyperParameterTuningJobStatus"] == "Completed"
    assert shown["Strategy"] == "Bayesian"
    assert shown["Objective"] == "Maximize validation:auc"
    assert shown["TrainingJobs"] == "4 in all, 2 at once"
    assert shown["BestTrainingJob"] == job["BestTrainingJob"]["TrainingJobName"]
    assert f"tuning job {name}: Completed" in r.stderr
    listed = ok(env, "sagemaker", "list", "tuning-job", "--name-contains", name).stdout
    assert listed.split()[:2] == [name, "Completed"]
    ok(env, "sagemaker", "wait", "tuning-job", name)


# ---- CloudWatch Logs ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def log_group(logs):
    group = f"/aws/sagemaker/TrainingJobs-{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=group)
    return group


def put(logs, group, stream, messages, start_ms, step_ms=10):
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[
        {"timestamp": start_ms + i * step_ms, "message": m} for i, m in enumerate(messages)])


def test_logs_streams_events_and_filter(env, logs, log_group):
    job = unique("job")
    first, second = f"{job}/algo-1-1700000000", f"{job}/algo-2-1700000000"
    for stream in (first, second, f"other-{job}/algo-1-1700000000"):
        logs.create_log_stream(logGroupName=log_group, logStreamName=stream)
    t0 = int(time.time() * 1000) - 60_000
    lines = [f"[{i}] train-auc:{i / 100:.2f}" + (" ERROR disk" if i % 7 == 3 else "")
             for i in range(25)]
    put(logs, log_group, first, lines, t0)
    put(logs, log_group, second, ["algo-2 up", "ERROR algo-2 down"], t0 + 5)

    r = ok(env, "logs", log_group, "--prefix", f"{job}/")
    rows = [l.split("\t") for l in r.stdout.splitlines()]
    theirs = logs.describe_log_streams(logGroupName=log_group,
                                       logStreamNamePrefix=f"{job}/")["logStreams"]
    assert [row[0] for row in rows] == [s["logStreamName"] for s in theirs] == [first, second]

    r = ok(env, "logs", log_group, first, "--limit", "10")  # three pages, then the end
    assert r.stdout.splitlines() == lines
    r = ok(env, "logs", log_group, first, "--timestamps", "--start", str(t0 + 50),
           "--end", str(t0 + 95))
    got = [l.split("\t") for l in r.stdout.splitlines()]
    assert [m for _, m in got] == lines[5:10]
    when = datetime.datetime.fromtimestamp((t0 + 50) / 1000, datetime.timezone.utc)
    assert got[0][0] == when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{(t0 + 50) % 1000:03d}Z"

    for pattern, count in (("ERROR", 5), ("", 27)):  # "": every event
        theirs = logs.filter_log_events(logGroupName=log_group, filterPattern=pattern,
                                        logStreamNamePrefix=f"{job}/")["events"]
        theirs = [[e["logStreamName"], e["message"]] for e in theirs]
        assert len(theirs) == count
        for extra in ([], ["--limit", "2"]):  # one page, or several
            r = ok(env, "logs", log_group, "--filter", pattern, "--prefix", f"{job}/", *extra)
            assert [l.split("\t") for l in r.stdout.splitlines()] == theirs
    r = ok(env, "logs", log_group, second, "--filter", "ERROR")
    assert r.stdout == f"{second}\tERROR algo-2 down\n"

    r = run(env, "logs", log_group + "-missing", first)
    assert r.returncode == 1
    assert "GetLogEvents failed: ResourceNotFoundException" in r.stderr


class LineReader:
    """Lines of a process's stdout, read by a thread, with timeouts."""

    def __init__(self, proc):
        self.lines = queue.Queue()
        threading.Thread(target=self._read, args=(proc.stdout,), daemon=True).start()

    def _read(self, stream):
        for line in stream:
            self.lines.put(line.rstrip("\n"))

    def take(self, n, seconds=20):
        got, deadline = [], time.monotonic() + seconds
        while len(got) < n:
            left = deadline - time.monotonic()
            assert left > 0, f"only {got} of {n} lines in {seconds} s"
            try:
                got.append(self.lines.get(timeout=left))
            except queue.Empty:
                pass
        return got


def test_logs_follow_prints_new_events_until_interrupted(env, logs, log_group):
    stream = f"{unique('job')}/algo-1-1700000000"
    t0 = int(time.time() * 1000)
    proc = subprocess.Popen([AWS_BIN, "logs", log_group, stream, "--follow", "--poll", "0.2"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        reader = LineReader(proc)
        time.sleep(0.5)  # the stream does not exist yet: it waits for it
        assert proc.poll() is None
        logs.create_log_stream(logGroupName=log_group, logStreamName=stream)
        put(logs, log_group, stream, ["starting", "epoch 1"], t0)
        assert reader.take(2) == ["starting", "epoch 1"]
        put(logs, log_group, stream, ["epoch 2", "done"], t0 + 100)
        assert reader.take(2) == ["epoch 2", "done"]
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
        assert proc.stderr.read() == ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
