"""The data magics (%whoami, %upload, %ls, %download, %image, %%api, %jobs,
%status, %logs) through jupyter_client against the built kernel:

(a) the local backend: the kernel finds no sagemagic-local in its data dir
    (SAGEMAGIC_LOCAL_DATA_DIR, a temporary dir) and starts one in a session
    of its own; boto3 with the service's credentials checks what arrived;
(b) the aws backend against moto on a free port of 127.0.0.1, with fake
    keys and an empty AWS config, so nothing here can reach AWS.

Every service and kernel started here is stopped; every wait is bounded."""
import hashlib
import json
import os
import random
import time
import uuid

import boto3
import pytest
from botocore.config import Config

from magics_helpers import (LOCAL_BIN, Kernel, clean_env, start_moto,
                            stop_local_service, stop_process)

pytestmark = pytest.mark.timeout(300)
MIB = 1 << 20
LOCAL_ACCOUNT = "000000000000"
MOTO_ACCOUNT = "123456789012"
XGBOOST_US_EAST_1 = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


def write_random(path, size, seed):
    """`size` deterministic pseudo-random bytes; returns them."""
    data = random.Random(seed).randbytes(size)
    path.write_bytes(data)
    return data


def value(cell):
    """A cell's result as JSON when it is JSON, else its text."""
    try:
        return json.loads(cell.result)
    except (TypeError, ValueError):
        return cell.result


# ---- (a) the local backend -------------------------------------------------

class Local:
    """One kernel on the local backend, its data dir and its service."""

    def __init__(self, base):
        self.base = base
        self.data_dir = base / "local-data"
        self.work = base / "work"
        self.work.mkdir()
        self.stderr = base / "kernel.stderr"
        env = clean_env(base / "home", SAGEMAGIC_LOCAL_DATA_DIR=str(self.data_dir),
                        SAGEMAGIC_MULTIPART_THRESHOLD="6M")
        self.kernel = Kernel(env, self.work, stderr_path=self.stderr, log_level="debug")

    def service(self):
        return json.loads((self.data_dir / "service.json").read_text())

    def credentials(self):
        return json.loads((self.data_dir / "credentials.json").read_text())

    def s3(self):
        c = self.credentials()
        return boto3.client(
            "s3", endpoint_url=self.service()["endpoint_url"], region_name=c["Region"],
            aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"],
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    assert os.path.exists(LOCAL_BIN), f"build it first: {LOCAL_BIN}"
    loc = Local(tmp_path_factory.mktemp("magics-local"))
    loc.kernel.start()
    try:
        yield loc
    finally:
        loc.kernel.stop()
        stop_local_service(loc.data_dir)


def test_local_service_starts_in_its_own_session(local):
    assert not (local.data_dir / "service.json").exists()
    cell = local.kernel.ok("me = %whoami\nme", timeout=60)
    info = local.service()
    pid = info["pid"]
    assert os.getsid(pid) != os.getsid(local.kernel.pid), "the service shares the kernel's session"
    assert os.getpgid(pid) != os.getpgid(local.kernel.pid)
    me = value(cell)
    assert me["backend"] == "local"
    assert me["account"] == LOCAL_ACCOUNT
    assert me["region"] == local.credentials()["Region"]
    assert me["bucket"] == f"sagemaker-{me['region']}-{LOCAL_ACCOUNT}"
    assert me["endpoint_url"] == info["endpoint_url"]
    assert me["pid"] == pid
    # shown as a small table, in text and HTML
    shown = local.kernel.ok("%whoami").of("execute_result")[0]["data"]
    assert "identity" in shown["text/plain"] and "<table" in shown["text/html"]
    # the credentials file the service wrote is not readable by others
    assert (local.data_dir / "credentials.json").stat().st_mode & 0o077 == 0


def test_upload_small_and_multipart_files(local):
    small = write_random(local.work / "small.csv", 3000, "small")
    big = write_random(local.work / "big.bin", 13 * MIB, "big")  # over the 6 MiB threshold
    k = local.kernel
    # --dry-run: the requests each file would take, and nothing sent
    cell = k.ok("%upload small.csv big.bin --prefix dry --dry-run")
    bucket = f"sagemaker-us-east-1-{LOCAL_ACCOUNT}"
    table = cell.of("execute_result")[0]["data"]["text/plain"]
    assert "dry run: nothing was sent" in cell.stdout
    assert "PutObject" in table and "CreateMultipartUpload, 2 UploadPart" in table
    assert f"s3://{bucket}/dry/small.csv" in table
    listed = local.s3().list_objects_v2(Bucket=bucket, Prefix="dry/") \
        if bucket in [b["Name"] for b in local.s3().list_buckets()["Buckets"]] else {}
    assert listed.get("KeyCount", 0) == 0
    cell = k.ok("small = %upload small.csv\nsmall")
    assert cell.result == f"s3://{bucket}/sagemagic/small.csv"
    summary = cell.of("display_data")[-1]["data"]["text/plain"]
    assert "2.9 KiB" in summary and "MD5 " + hashlib.md5(small).hexdigest() in summary
    assert "/s)" in summary  # the throughput

    cell = k.ok("big = %upload big.bin --key data/big.bin\nbig", timeout=120)
    assert cell.result == f"s3://{bucket}/data/big.bin"
    shown = cell.of("display_data") + cell.of("update_display_data")
    final = shown[-1]["data"]["text/plain"]
    assert "13.0 MiB" in final and "2 parts" in final and "ETag " in final, final
    s3 = local.s3()
    assert s3.get_object(Bucket=bucket, Key="sagemagic/small.csv")["Body"].read() == small
    got = s3.get_object(Bucket=bucket, Key="data/big.bin")
    assert got["ETag"].strip('"').endswith("-2"), got["ETag"]  # multipart
    assert got["Body"].read() == big
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_upload_folder_ls_and_download(local):
    k = local.kernel
    folder = local.work / "dataset"
    (folder / "train").mkdir(parents=True)
    a = write_random(folder / "train" / "a.csv", 100, "a")
    b = write_random(folder / "b.csv", 200, "b")
    cell = k.ok("ds = %upload dataset\nds")
    bucket = f"sagemaker-us-east-1-{LOCAL_ACCOUNT}"
    assert cell.result == f"s3://{bucket}/sagemagic/dataset/"
    text = cell.of("display_data")[-1]["data"]["text/plain"]
    assert "uploaded 2 files" in text and "dataset/train/a.csv" in text

    listing = k.ok("%ls $ds")
    rows = value(k.ok("files = %ls $ds\nfiles"))
    assert [r["key"] for r in rows] == ["sagemagic/dataset/b.csv", "sagemagic/dataset/train/"]
    assert rows[0]["size"] == 200 and rows[0]["uri"] == f"s3://{bucket}/sagemagic/dataset/b.csv"
    data = listing.of("execute_result")[0]["data"]
    assert "sagemagic/dataset/b.csv" in data["text/plain"] and "200 B" in data["text/plain"]
    assert "<table" in data["text/html"]
    deep = value(k.ok("r = %ls -r $ds\nr"))
    assert [r["key"] for r in deep] == ["sagemagic/dataset/b.csv",
                                        "sagemagic/dataset/train/a.csv"]
    # no argument: the default bucket's prefix; s3:// alone: the buckets
    assert "sagemagic/small.csv" in k.ok("%ls").result
    assert bucket in k.ok("%ls s3://").result

    cell = k.ok("%download s3://" + bucket + "/sagemagic/small.csv copies/small.csv")
    assert cell.result == "copies/small.csv"
    assert (local.work / "copies" / "small.csv").read_bytes() == \
        (local.work / "small.csv").read_bytes()
    assert "MD5 " in cell.of("display_data")[-1]["data"]["text/plain"]
    cell = k.ok("%download $ds fetched", timeout=60)
    assert cell.result == "fetched"
    assert (local.work / "fetched" / "train" / "a.csv").read_bytes() == a
    assert (local.work / "fetched" / "b.csv").read_bytes() == b
    k.ok("%download ${files.0.uri}")
    assert (local.work / "b.csv").read_bytes() == b


def test_api_calls(local):
    k = local.kernel
    me = value(k.ok("%%api sts GetCallerIdentity\n"))
    assert me["Account"] == LOCAL_ACCOUNT and me["Arn"].endswith("sagemagic-local")
    assert "TrainingJobSummaries" in value(k.ok("%%api sagemaker ListTrainingJobs\n"
                                                "{\"MaxResults\": 5}"))
    # `r = $_` keeps the response as it is, so its fields can be read
    k.ok("%%api sts GetCallerIdentity")
    assert k.ok("r = $_\n${r.Account}").result == LOCAL_ACCOUNT
    assert k.ok("a = ${r.Account}\na").result == LOCAL_ACCOUNT
    assert k.ok("t = $r/x\nt").result.endswith("/x")  # text around it: text
    assert k.fails("n = ${r.NoSuchField}")["evalue"] == "$r has no field 'NoSuchField'"
    # ${...} expands in the body; s3's REST operations answer as JSON
    cell = k.ok('key = sagemagic/small.csv\n')
    cell = k.ok('%%api s3 HeadObject\n{"Bucket": "sagemaker-us-east-1-000000000000", '
                '"Key": "${key}"}')
    assert value(cell)["ContentLength"] == 3000
    listing = value(k.ok('%%api s3 ListObjectsV2\n{"Bucket": "sagemaker-us-east-1-'
                         '000000000000", "Prefix": "sagemagic/dataset/", "Delimiter": "/"}'))
    assert [c["Key"] for c in listing["Contents"]] == ["sagemagic/dataset/b.csv"]
    assert listing["CommonPrefixes"] == [{"Prefix": "sagemagic/dataset/train/"}]
    # shown as pretty JSON text, nothing else
    data = k.ok("%%api sts GetCallerIdentity").of("execute_result")[0]["data"]
    assert list(data) == ["text/plain"] and data["text/plain"].startswith("{\n  ")


def test_errors_are_one_sentence(local):
    k = local.kernel
    e = k.fails("%upload no-such-file.csv")
    assert e["ename"] == "FileNotFoundError" and "no-such-file.csv" in e["evalue"]
    e = k.fails("%download not-a-uri")
    assert "is not an S3 URI" in e["evalue"]
    e = k.fails("%%api nosuch Operation\n{}")
    assert e["evalue"].startswith("unknown service 'nosuch'")
    e = k.fails("%%api sts GetCallerIdentity\n{not json")
    assert "not JSON" in e["evalue"]
    e = k.fails("%ls s3://no-such-bucket-" + uuid.uuid4().hex[:8] + "/")
    assert e["ename"] == "ClientError" and "NoSuchBucket" in e["evalue"]
    e = k.fails("%download s3://sagemaker-us-east-1-000000000000/nothing/here")
    assert "nothing at s3://" in e["evalue"]
    e = k.fails("%image linear-learner")
    assert "xgboost" in e["evalue"]
    e = k.fails("%upload small.csv small.csv --key one")
    assert "--key" in e["evalue"]
    e = k.fails("%jobs --kind nonsense")
    assert "--kind" in e["evalue"]


def test_image(local):
    assert local.kernel.ok("%image xgboost").result == XGBOOST_US_EAST_1
    uri = local.kernel.ok("%image xgboost --version 1.5-1").result
    assert uri.endswith("sagemaker-xgboost:1.5-1")


def test_completion(local):
    k = local.kernel
    bucket = f"sagemaker-us-east-1-{LOCAL_ACCOUNT}"
    reply = k.complete("%ls s3://sagemaker-us")
    assert f"s3://{bucket}/" in reply["matches"]
    assert reply["cursor_start"] == 4
    reply = k.complete(f"%ls s3://{bucket}/sagemagic/da")
    assert f"s3://{bucket}/sagemagic/dataset/" in reply["matches"]
    reply = k.complete("%upload sma")
    assert reply["matches"] == ["small.csv"]
    reply = k.complete("%upload data")
    assert "dataset/" in reply["matches"]
    reply = k.complete("%%api s")
    assert {"sagemaker", "s3", "sts"} <= set(reply["matches"])


def test_interrupt_during_a_large_upload(local):
    k = local.kernel
    huge = local.work / "huge.bin"
    with open(huge, "wb") as f:
        f.truncate(4 << 30)  # sparse: 4 GiB that take no disk until sent
    service_pid = local.service()["pid"]
    interrupted_at = []

    def on_message(msg):
        data = msg["content"].get("data", {})
        if (not interrupted_at and msg["msg_type"] in ("display_data", "update_display_data")
                and "uploading" in data.get("text/plain", "")):
            assert msg["content"]["transient"]["display_id"]
            k.km.interrupt_kernel()
            interrupted_at.append(time.monotonic())

    cell = k.run("%upload huge.bin", timeout=120, on_message=on_message)
    done = time.monotonic()
    assert interrupted_at, "no progress was shown"
    assert done - interrupted_at[0] < 1.0, f"took {done - interrupted_at[0]:.2f} s"
    assert cell.status == "error" and cell.error["ename"] == "KeyboardInterrupt"
    assert cell.error["evalue"].startswith("interrupted: ")
    updates = cell.of("update_display_data")
    assert updates, "the progress was not updated in place"
    # the service, in a session of its own, never saw the interrupt
    os.kill(service_pid, 0)
    assert local.service()["pid"] == service_pid
    huge.unlink()
    bucket = f"sagemaker-us-east-1-{LOCAL_ACCOUNT}"
    deadline = time.monotonic() + 10
    while local.s3().list_multipart_uploads(Bucket=bucket).get("Uploads"):
        assert time.monotonic() < deadline, "the interrupted upload left parts behind"
        time.sleep(0.1)
    k.ok("%echo still here")


def test_restart_finds_the_same_service(local):
    pid = local.service()["pid"]
    local.kernel.restart()
    me = value(local.kernel.ok("me = %whoami\nme"))
    assert me["pid"] == pid
    assert local.service()["pid"] == pid
    assert local.kernel.ok("%ls s3://sagemaker-us-east-1-000000000000/data/").result


TRAINING_JOB = """%%api sagemaker CreateTrainingJob
{"TrainingJobName": "${name}",
 "AlgorithmSpecification": {"TrainingImage": "${image}", "TrainingInputMode": "File"},
 "RoleArn": "arn:aws:iam::000000000000:role/sagemaker",
 "InputDataConfig": [{"ChannelName": "train", "ContentType": "text/csv",
   "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "${train}"}}}],
 "OutputDataConfig": {"S3OutputPath": "s3://sagemaker-us-east-1-000000000000/out"},
 "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
 "StoppingCondition": {"MaxRuntimeInSeconds": 300},
 "HyperParameters": {"num_round": "5", "objective": "binary:logistic"}}
"""


def test_jobs_status_logs_on_the_local_service(local):
    """A training job made with %%api, then watched with %logs --follow,
    described with %status and listed with %jobs. While the local service
    lacks training, the call fails with its one sentence instead."""
    k = local.kernel
    rng = random.Random(7)
    rows = [f"{int(x > 0.5)},{x:.4f},{rng.random():.4f}"
            for x in (rng.random() for _ in range(200))]
    (local.work / "train.csv").write_text("\n".join(rows) + "\n")
    k.ok("train = %upload train.csv\nimage = %image xgboost\nname = local-job-1")
    cell = k.run(TRAINING_JOB)
    if cell.status == "error":
        assert cell.error["evalue"].startswith("CreateTrainingJob failed: "), cell.error
        for code in ("%jobs", "%status", "%logs local-job-1"):
            cell = k.run(code)
            assert cell.status == "ok" or "\n" not in cell.error["evalue"]
        return
    out = k.ok("%logs local-job-1 --follow", timeout=120).stdout
    assert "train-logloss" in out, out
    status = value(k.ok("s = %status local-job-1\ns"))
    assert status["TrainingJobStatus"] == "Completed", status
    text = k.ok("%status").result  # the latest job
    assert "local-job-1" in text and "Completed" in text and "ml.m5.large x 1" in text
    jobs = value(k.ok("j = %jobs --kind training\nj"))
    assert [(j["name"], j["status"]) for j in jobs] == [("local-job-1", "Completed")]
    assert k.ok("%jobs --status Failed").result.startswith("no jobs")
    tail = k.ok("%logs local-job-1 --tail 2").stdout.splitlines()
    assert len(tail) == 2 and tail == out.splitlines()[-2:]
    assert "local-job-1" in k.complete("%logs local-")["matches"]


def test_no_secret_in_any_output(local):
    k = local.kernel
    k.ok("%config")
    k.run("%config region=bad_region!")
    secret = local.credentials()["SecretAccessKey"]
    assert len(secret) >= 20
    assert secret not in k.all_published_text()
    log = local.stderr.read_text(errors="replace")
    assert "] debug: " in log  # the log was on, at its most talkative
    assert secret not in log


# ---- (b) the aws backend against moto --------------------------------------

SECRET = "moto-secret-" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    proc, url = start_moto(tmp_path_factory.mktemp("moto") / "moto.log")
    try:
        yield url
    finally:
        stop_process(proc)


@pytest.fixture(scope="module")
def aws(moto, tmp_path_factory):
    base = tmp_path_factory.mktemp("magics-aws")
    work = base / "work"
    work.mkdir()
    env = clean_env(base / "home", AWS_ACCESS_KEY_ID="testing",
                    AWS_SECRET_ACCESS_KEY=SECRET,
                    SAGEMAGIC_LOCAL_DATA_DIR=str(base / "never-used"))
    k = Kernel(env, work, stderr_path=base / "kernel.stderr", log_level="debug").start()
    k.work = work
    k.stderr = base / "kernel.stderr"
    try:
        k.ok(f"%config backend=aws endpoint_url={moto} region=us-east-1")
        yield k
    finally:
        k.stop()
        stop_local_service(base / "never-used")


def moto_client(url, service):
    return boto3.client(service, endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key=SECRET,
                        config=Config(s3={"addressing_style": "path"}))


def test_aws_whoami_upload_ls_download(aws, moto):
    me = value(aws.ok("me = %whoami\nme"))
    bucket = f"sagemaker-us-east-1-{MOTO_ACCOUNT}"
    assert me["backend"] == "aws" and me["account"] == MOTO_ACCOUNT
    assert me["bucket"] == bucket and me["region"] == "us-east-1"
    assert me["endpoint_url"] == moto
    data = write_random(aws.work / "train.csv", 5000, "train")
    uri = aws.ok("train = %upload train.csv\ntrain").result
    assert uri == f"s3://{bucket}/sagemagic/train.csv"
    s3 = moto_client(moto, "s3")
    assert s3.get_object(Bucket=bucket, Key="sagemagic/train.csv")["Body"].read() == data
    rows = value(aws.ok("r = %ls\nr"))
    assert [r["key"] for r in rows] == ["sagemagic/train.csv"]
    aws.ok("%download $train back.csv")
    assert (aws.work / "back.csv").read_bytes() == data
    assert not (aws.work.parent / "never-used" / "service.json").exists()


def test_aws_api_image_and_jobs(aws, moto):
    listing = value(aws.ok("%%api sagemaker ListTrainingJobs\n{}"))
    assert listing["TrainingJobSummaries"] == []
    assert aws.ok("%image xgboost").result == XGBOOST_US_EAST_1
    assert aws.ok("%jobs").result.startswith("no jobs")

    sm = moto_client(moto, "sagemaker")
    name = "xgb-" + uuid.uuid4().hex[:8]
    sm.create_training_job(
        TrainingJobName=name,
        AlgorithmSpecification={"TrainingImage": XGBOOST_US_EAST_1, "TrainingInputMode": "File"},
        RoleArn=f"arn:aws:iam::{MOTO_ACCOUNT}:role/sagemaker",
        InputDataConfig=[{"ChannelName": "train", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": "s3://b/train/"}}}],
        OutputDataConfig={"S3OutputPath": "s3://b/out/"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
        StoppingCondition={"MaxRuntimeInSeconds": 600},
        HyperParameters={"num_round": "10"})
    jobs = value(aws.ok("j = %jobs\nj"))
    assert [(j["name"], j["kind"]) for j in jobs] == [(name, "training")]
    table = aws.ok("%jobs --kind training").of("execute_result")[0]["data"]
    assert name in table["text/plain"] and "<table" in table["text/html"]
    cell = aws.ok(f"%status {name}")
    text = cell.result
    assert "ml.m5.large x 1" in text and "num_round=10" in text and "s3://b/train/" in text
    assert value(aws.ok(f"d = %status {name}\nd"))["TrainingJobName"] == name
    assert aws.ok("%status").result == text  # the latest job

    logs = moto_client(moto, "logs")
    group = "/aws/sagemaker/TrainingJobs"
    logs.create_log_group(logGroupName=group)
    now = int(time.time() * 1000)
    for i, stream in enumerate(("algo-1-1700000000", "algo-2-1700000000")):
        logs.create_log_stream(logGroupName=group, logStreamName=f"{name}/{stream}")
        logs.put_log_events(logGroupName=group, logStreamName=f"{name}/{stream}", logEvents=[
            {"timestamp": now + 10 * j + i, "message": f"[{j}] train-rmse:{j}.{i} host {i}"}
            for j in range(5)])
    out = aws.ok(f"%logs {name}").stdout
    lines = out.splitlines()
    assert len(lines) == 10, out
    assert lines[0] == "[algo-1-1700000000] [0] train-rmse:0.0 host 0"
    assert lines[1].startswith("[algo-2-1700000000] [0]")
    tail = aws.ok(f"%logs {name} --tail 2").stdout.splitlines()
    assert [line.split("] ", 1)[1] for line in tail] == ["[4] train-rmse:4.0 host 0",
                                                        "[4] train-rmse:4.1 host 1"]
    e = aws.fails("%logs no-such-job")
    assert e["evalue"] == "no training job, transform job or endpoint named no-such-job"
    out = aws.ok(f"%logs {name} --filter host --tail 3").stdout.splitlines()
    assert len(out) == 3 and out[-1].endswith("[4] train-rmse:4.1 host 1"), out
    # the job has ended: --follow shows what there is and returns
    assert len(aws.ok(f"%logs {name} --follow", timeout=30).stdout.splitlines()) == 10
    assert name in aws.complete("%status xgb-")["matches"]


def test_aws_logs_follow_until_interrupted(aws, moto):
    """An endpoint's log has no end: --follow shows new lines as they come
    until an interrupt, which returns at once."""
    sm = moto_client(moto, "sagemaker")
    role = f"arn:aws:iam::{MOTO_ACCOUNT}:role/sagemaker"
    sm.create_model(ModelName="m1", ExecutionRoleArn=role,
                    PrimaryContainer={"Image": XGBOOST_US_EAST_1})
    sm.create_endpoint_config(EndpointConfigName="c1", ProductionVariants=[{
        "VariantName": "v", "ModelName": "m1", "InstanceType": "ml.m5.large",
        "InitialInstanceCount": 1}])
    sm.create_endpoint(EndpointName="ep1", EndpointConfigName="c1")
    logs = moto_client(moto, "logs")
    group, stream = "/aws/sagemaker/Endpoints/ep1", "AllTraffic/i-0123"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    now = int(time.time() * 1000)
    logs.put_log_events(logGroupName=group, logStreamName=stream,
                        logEvents=[{"timestamp": now, "message": "first line"}])
    aws.ok("%config poll=0.2")
    seen, interrupted_at = [], []

    def on_message(msg):
        if msg["msg_type"] != "stream":
            return
        seen.append(msg["content"]["text"])
        if len(seen) == 1:
            logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[
                {"timestamp": now + 1, "message": "second line"}])
        elif not interrupted_at:
            aws.km.interrupt_kernel()
            interrupted_at.append(time.monotonic())

    try:
        cell = aws.run("%logs ep1 --follow", timeout=60, on_message=on_message)
    finally:
        aws.ok("%config poll=auto")
    assert seen[:2] == ["first line\n", "second line\n"]
    assert time.monotonic() - interrupted_at[0] < 1.0
    assert cell.error["ename"] == "KeyboardInterrupt"
    assert "keeps running" in cell.error["evalue"]


def test_aws_no_secret_in_any_output(aws):
    aws.ok("%config")
    aws.run("%%api sts GetCallerIdentity")
    assert SECRET not in aws.all_published_text()
    assert SECRET not in aws.stderr.read_text(errors="replace")
