"""%prepare and %transform through jupyter_client against the built kernel.

(a) the local backend: the kernel starts its own sagemagic-local in a
private data dir; %prepare's files are checked row by row against the
input read with Python's csv module, and a transform of a model trained
here is checked against python xgboost's predictions from the same
model.tar.gz.
(b) the aws backend against moto, as far as moto goes (it completes a
transform job at once and writes no output).

Data is made here with fixed seeds. Every service and kernel started here
is stopped; every wait is bounded."""
import collections
import csv
import io
import json
import random
import tarfile
import time
import uuid

import boto3
import numpy as np
import pytest
import xgboost

from magics_helpers import (InterruptOn, local_kernel, wait_while_in_progress)
from magics_helpers import moto_kernel as moto_helper

pytestmark = pytest.mark.timeout(300)


def housing_csv(n, seed):
    """A CSV with a header, the label in the middle, quoted fields, CRLF
    line ends, blank lines and an empty (missing) feature now and then."""
    rng = random.Random(seed)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    w.writerow(["rooms", "area, m2", "price", "age"])
    for i in range(n):
        rooms, area, age = rng.randint(1, 6), rng.uniform(20, 200), rng.uniform(0, 80)
        price = 3 * rooms + 0.05 * area - 0.02 * age + rng.gauss(0, 0.2)
        row = [str(rooms), f"{area:.3f}", f"{price:.4f}", "" if i % 17 == 5 else f"{age:.2f}"]
        w.writerow(row)
        if i % 13 == 0:
            out.write("\r\n")  # a blank line
    text = out.getvalue()
    # quote a few numbers as some exporters do
    return text.replace("\r\n1,", '\r\n"1",')


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    yield from local_kernel(tmp_path_factory, "magics-transform")


def read_rows(path):
    with open(path, newline="") as f:
        return [row for row in csv.reader(f) if row]


# ---- %prepare ---------------------------------------------------------------

def test_prepare_rows_match_the_input(local):
    k = local.kernel
    (local.work / "housing.csv").write_text(housing_csv(200, 1), newline="")
    assert k.complete("%prepare hous")["matches"] == ["housing.csv"]
    cell = k.ok("data = %prepare housing.csv --label price --seed 7\ndata")
    assert cell.result == "housing-prepared"
    folder = local.work / "housing-prepared"
    parts = {name: read_rows(folder / f"{name}.csv") for name in ("train", "validation", "test")}
    assert [len(parts[p]) for p in ("train", "validation", "test")] == [160, 20, 20]
    # the table shows the counts; the preview is train.csv's first lines
    table = cell.of("display_data")[0]["data"]["text/plain"]
    assert "train.csv" in table and "160" in table and "housing-prepared/test.csv" in table
    first = (folder / "train.csv").read_text().splitlines()[:5]
    assert "\n".join(first) in cell.stdout

    with open(local.work / "housing.csv", newline="") as f:
        source = [row for row in csv.reader(f) if row]
    header, rows = source[0], source[1:]
    label = header.index("price")
    expected = collections.Counter(
        tuple([r[label]] + [v for i, v in enumerate(r) if i != label]) for r in rows)
    got = collections.Counter(tuple(r) for p in parts.values() for r in p)
    assert got == expected  # every row once, label first, no header, no index
    assert all(len(r) == 4 for p in parts.values() for r in p)
    # shuffled: not in the file's order
    assert [r[0] for r in parts["train"][:20]] != [r[label] for r in rows[:20]]

    # the same seed gives the same files; another seed another order
    before = {p: (folder / f"{p}.csv").read_bytes() for p in parts}
    k.ok("%prepare housing.csv --label price --seed 7")
    assert {p: (folder / f"{p}.csv").read_bytes() for p in parts} == before
    cell = k.ok("o = %prepare housing.csv --label price --seed 8 --out other/ --split 0.5,0.5\no")
    assert cell.result == "other" and "other/train.csv" in cell.text()
    assert not (local.work / "other" / "test.csv").exists()
    a, b = read_rows(local.work / "other" / "train.csv"), read_rows(local.work / "other" / "validation.csv")
    assert len(a) == len(b) == 100
    assert a != parts["train"][:100]
    assert collections.Counter(tuple(r) for r in a + b) == expected


def test_prepare_errors(local):
    k = local.kernel
    (local.work / "colors.csv").write_text("x,color,y\n1,2,3\n4,red,6\n")
    e = k.fails("%prepare colors.csv --label y")
    assert e["evalue"] == ("column 'color' is not numeric: row 2 (line 3 of colors.csv) has "
                           "'red'; encode it as numbers (one-hot for categories) or drop it")
    (local.work / "labels.csv").write_text("x,y\n1,\n")
    e = k.fails("%prepare labels.csv --label y")
    assert "the label column 'y' needs a number in every row: row 1" in e["evalue"]
    e = k.fails("%prepare colors.csv --label colour")
    assert e["evalue"].startswith("no column 'colour' in the header; did you mean 'color'")
    (local.work / "ragged.csv").write_text("a,b\r\n1,2\r\n3\r\n")
    assert k.fails("%prepare ragged.csv --label a")["evalue"] == \
        "ragged.csv line 3 has 1 field, but the header has 2"
    (local.work / "open.csv").write_text('a,b\n1,"2\n')
    assert "quoted field is never closed" in k.fails("%prepare open.csv --label a")["evalue"]
    (local.work / "header.csv").write_text("a,b\n\n")
    assert "a header but no rows" in k.fails("%prepare header.csv --label a")["evalue"]
    assert "cannot read missing.csv" in k.fails("%prepare missing.csv --label a")["evalue"]
    assert "--split needs two or three fractions" in \
        k.fails("%prepare colors.csv --label y --split 0.9,0.2")["evalue"]
    assert "--seed needs a whole number" in k.fails("%prepare colors.csv --label y --seed x")["evalue"]
    assert "needs --label" in k.fails("%prepare colors.csv")["evalue"]
    (local.work / "only.csv").write_text("y\n1\n2\n")
    assert k.fails("%prepare only.csv --label y")["evalue"] == \
        "only.csv has only the label column; a model needs at least one feature column"


# ---- %transform on the local backend -------------------------------------------

@pytest.fixture(scope="module")
def trained(local):
    """A small model trained on %prepare's output, and the test features
    (the test file without its label) uploaded for transforms."""
    k = local.kernel
    (local.work / "house.csv").write_text(housing_csv(300, 2), newline="")
    k.ok("d = %prepare house.csv --label price --seed 3")
    test = read_rows(local.work / "house-prepared" / "test.csv")
    features = "".join(",".join(r[1:]) + "\n" for r in test)
    (local.work / "features").mkdir()
    (local.work / "features" / "a.csv").write_text(features)
    (local.work / "features" / "b.csv").write_text(features[: features.index("\n") + 1])
    cell = k.ok("train = %upload house-prepared/train.csv --key prep/train.csv\n"
                "feat = %upload features --prefix batch/in\n"
                "job = %train xgboost --train $train --name tiny-job "
                "objective=reg:squarederror num_round=10 max_depth=3\n$job", timeout=120)
    assert cell.result == "tiny-job"
    local.client("s3").create_bucket(Bucket="preds")
    return {"features": features}


def model_predictions(local, features):
    sm, s3 = local.client("sagemaker"), local.client("s3")
    url = sm.describe_training_job(TrainingJobName="tiny-job")["ModelArtifacts"]["S3ModelArtifacts"]
    bucket, key = url[len("s3://"):].split("/", 1)
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tar:
        raw = tar.extractfile("xgboost-model").read()
    booster = xgboost.Booster()
    booster.load_model(bytearray(raw))
    x = np.array([[float(v) if v else np.nan for v in line.split(",")]
                  for line in features.splitlines()], dtype=np.float32)
    return booster.predict(xgboost.DMatrix(x, missing=np.nan))


def test_dry_run_creates_nothing(local, trained):
    k = local.kernel
    sm = local.client("sagemaker")
    cell = k.ok("r = %transform tiny-job --input s3://bucket/in/ --output s3://bucket/out/ "
                "--split line --name dry-job --dry-run\nr")
    requests = json.loads(cell.result)
    assert [r["operation"] for r in requests] == ["CreateModel", "CreateTransformJob"]
    job = sm.describe_training_job(TrainingJobName="tiny-job")
    assert requests[0]["request"]["ModelName"] == "tiny-job"
    assert requests[0]["request"]["PrimaryContainer"]["ModelDataUrl"] == \
        job["ModelArtifacts"]["S3ModelArtifacts"]
    assert requests[0]["request"]["PrimaryContainer"]["Image"] == \
        job["AlgorithmSpecification"]["TrainingImage"]
    create = requests[1]["request"]
    assert create["TransformJobName"] == "dry-job" and create["ModelName"] == "tiny-job"
    assert create["TransformInput"] == {
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://bucket/in/"}},
        "ContentType": "text/csv", "SplitType": "Line"}
    assert create["TransformOutput"] == {"S3OutputPath": "s3://bucket/out/", "AssembleWith": "Line"}
    assert "nothing was created" in cell.stdout
    assert sm.list_models()["Models"] == []
    assert sm.list_transform_jobs()["TransformJobSummaries"] == []


def test_transform_of_a_job_matches_python_xgboost(local, trained):
    k = local.kernel
    cell = k.run("out = %transform tiny-job --input $feat --output s3://preds/tiny/ "
                 "--split line --name tiny-transform\n$out", timeout=120)
    assert cell.status == "ok", cell.error
    assert cell.result == "tiny-transform"
    assert "model tiny-job made from the training job's artifacts" in cell.stdout
    assert "model tiny-job loaded" in cell.stdout  # the job's log lines, streamed
    cards = cell.of("display_data") + cell.of("update_display_data")
    ids = {c["transient"]["display_id"] for c in cards if "transient" in c}
    assert len(ids) == 1  # one card, updated in place
    last = [c for c in cards if c.get("transient", {}).get("display_id") in ids][-1]
    assert "Completed" in last["data"]["text/plain"]
    assert "<table" in last["data"]["text/html"]
    s3 = local.client("s3")
    sm = local.client("sagemaker")
    assert sm.describe_model(ModelName="tiny-job")["PrimaryContainer"]["ModelDataUrl"].endswith(
        "model.tar.gz")
    out = s3.get_object(Bucket="preds", Key="tiny/a.csv.out")["Body"].read().decode()
    got = np.array([float(v) for v in out.split()])
    want = model_predictions(local, trained["features"])
    assert len(got) == len(want) == 30
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    # where the output is and a preview of its first lines
    assert "output: s3://preds/tiny/ (2 objects)" in cell.stdout
    assert "s3://preds/tiny/a.csv.out, first lines:\n" + "\n".join(out.splitlines()[:5]) \
        in cell.stdout
    # %status and %logs know the job
    assert "Completed" in k.ok("%status tiny-transform").result
    assert "a.csv.out" in k.ok("%logs tiny-transform").stdout
    # a model given by name is used as it is
    cell = k.ok("%transform tiny-job --input ${feat}b.csv --output s3://preds/again/ "
                "--split line --name by-model", timeout=120)
    assert "made from" not in cell.stdout
    again = s3.get_object(Bucket="preds", Key="again/b.csv.out")["Body"].read().decode()
    assert again.split() == out.split()[:1]


def test_transform_keeps_labels_beside_predictions(local, trained):
    """The test split as %prepare wrote it (label first): the label left
    out of the model's input, and written beside each prediction."""
    k = local.kernel
    k.ok("labelled = %upload house-prepared/test.csv --key prep/test.csv\n"
         "%transform tiny-job --input $labelled --output s3://preds/joined/ "
         "--split line --input-filter '$[1:]' --join --output-filter '$[0,-1]' "
         "--name joined", timeout=120)
    job = local.client("sagemaker").describe_transform_job(TransformJobName="joined")
    assert job["DataProcessing"] == {"InputFilter": "$[1:]", "JoinSource": "Input",
                                     "OutputFilter": "$[0,-1]"}
    out = local.client("s3").get_object(Bucket="preds", Key="joined/test.csv.out")["Body"]
    lines = out.read().decode().splitlines()
    test = read_rows(local.work / "house-prepared" / "test.csv")
    assert [line.split(",")[0] for line in lines] == [r[0] for r in test]
    got = np.array([float(line.split(",")[1]) for line in lines])
    np.testing.assert_allclose(got, model_predictions(local, trained["features"]),
                               rtol=1e-5, atol=1e-5)
    e = k.fails("%transform tiny-job --input $labelled --output s3://preds/x/ "
                "--input-filter 'features' --name bad-filter")
    assert "is not a filter" in e["evalue"]


def test_split_none_sends_each_object_whole(local, trained):
    k = local.kernel
    k.ok("%transform tiny-job --input ${feat}a.csv --output s3://preds/whole/ "
         "--split none --name whole-transform", timeout=120)
    job = local.client("sagemaker").describe_transform_job(TransformJobName="whole-transform")
    assert job["TransformInput"]["SplitType"] == "None"
    out = local.client("s3").get_object(Bucket="preds", Key="whole/a.csv.out")["Body"].read()
    want = model_predictions(local, trained["features"])
    got = np.array([float(v) for v in out.decode().replace(",", "\n").split()])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_transform_errors(local, trained):
    k = local.kernel
    e = k.fails("%transform tiny-job --output s3://preds/x/")
    assert e["evalue"].startswith("%transform needs --input URI")
    e = k.fails("%transform nothing-here --input s3://preds/x --output s3://preds/y/")
    assert e["evalue"] == "no model or training job named nothing-here"
    e = k.fails("%transform tiny-job --input data.csv --output s3://preds/z/")
    assert "S3Uri 'data.csv' is not valid" in e["evalue"]
    e = k.fails("%transform tiny-job --input $feat --output s3://preds/z/ --instance big")
    assert "InstanceType 'big' is not a SageMaker instance type" in e["evalue"]
    e = k.fails("%transform tiny-job --input $feat --output s3://preds/z/ --split lines")
    assert e["evalue"].startswith("--split is line")
    e = k.fails("%transform tiny-job --input s3://preds/no-such-prefix/ "
                "--output s3://preds/z/ --name empty-input", timeout=120)
    assert e["ename"] == "TransformJobFailed"
    assert e["evalue"].startswith("transform job empty-input failed: ")
    assert "No objects found" in e["evalue"]
    e = k.fails("%transform tiny-job --input $feat --output s3://preds/z/ --name empty-input")
    assert e["ename"] == "ClientError" and "already exists" in e["evalue"]
    k.fails("%train xgboost --train s3://preds/no-data/ --name failed-job num_round=2",
            timeout=120)
    e = k.fails("%transform failed-job --input $feat --output s3://preds/z/")
    assert e["evalue"] == ("the training job failed-job is Failed: only a completed job "
                           "has a model to transform with")


def test_no_wait_and_interrupt(local, trained):
    k = local.kernel
    cell = k.ok("n = %transform tiny-job --input $feat --output s3://preds/nw/ "
                "--name no-wait-transform --no-wait\n$n")
    assert cell.result == "no-wait-transform" and "started transform job" in cell.stdout
    sm = local.client("sagemaker")

    def status(name):
        return sm.describe_transform_job(TransformJobName=name)["TransformJobStatus"]

    assert wait_while_in_progress(lambda: status("no-wait-transform"), 60) == "Completed"
    # an interrupt while watching returns at once, naming %stop
    big = "".join(f"{i % 6},{i % 190}.5,{i % 80}\n" for i in range(400000))
    (local.work / "big.csv").write_text(big)
    k.ok("bigin = %upload big.csv --key batch/big/big.csv", timeout=120)
    interrupt = InterruptOn(k, "display_data")
    cell = k.run("%transform tiny-job --input $bigin --output s3://preds/big/ "
                 "--split line --name big-transform", timeout=120, on_message=interrupt)
    assert interrupt.at, "no card shown"
    assert time.monotonic() - interrupt.at < 1.0
    assert cell.error["ename"] == "KeyboardInterrupt"
    assert "transform job keeps running (stop it with %stop big-transform)" in \
        cell.error["evalue"]
    # the job, unwatched, runs on to the end
    assert wait_while_in_progress(lambda: status("big-transform"), 120) == "Completed"


# ---- %transform against moto ----------------------------------------------------

MOTO_ACCOUNT = "123456789012"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


@pytest.fixture(scope="module")
def moto_kernel(tmp_path_factory):
    yield from moto_helper(tmp_path_factory, "transform-moto")


def test_transform_against_moto(moto_kernel):
    k = moto_kernel
    sm = boto3.client("sagemaker", endpoint_url=k.url, region_name="us-east-1",
                      aws_access_key_id="testing",
                      aws_secret_access_key=k.env["AWS_SECRET_ACCESS_KEY"])
    role = f"arn:aws:iam::{MOTO_ACCOUNT}:role/sagemaker"
    sm.create_training_job(
        TrainingJobName="moto-job",
        AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        RoleArn=role,
        InputDataConfig=[{"ChannelName": "train", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": "s3://bucket/train/"}}}],
        OutputDataConfig={"S3OutputPath": "s3://bucket/out/"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
        StoppingCondition={"MaxRuntimeInSeconds": 600})
    artifacts = sm.describe_training_job(TrainingJobName="moto-job")["ModelArtifacts"]
    dry = json.loads(k.ok("d = %transform moto-job --input s3://bucket/batch/ "
                          "--output s3://bucket/preds/ --dry-run\nd").result)
    assert [r["operation"] for r in dry] == ["CreateModel", "CreateTransformJob"]
    assert sm.list_models()["Models"] == []
    assert sm.list_transform_jobs()["TransformJobSummaries"] == []
    cell = k.run("t = %transform moto-job --input s3://bucket/batch/ --output s3://bucket/preds/ "
                 "--split line --instance ml.m5.xlarge --count 2 --name moto-transform\n$t",
                 timeout=60)
    assert cell.status == "ok", cell.error
    assert cell.result == "moto-transform"
    model = sm.describe_model(ModelName="moto-job")
    assert model["PrimaryContainer"]["Image"] == IMAGE
    assert model["PrimaryContainer"]["ModelDataUrl"] == artifacts["S3ModelArtifacts"]
    assert model["ExecutionRoleArn"] == role
    job = sm.describe_transform_job(TransformJobName="moto-transform")
    assert job["ModelName"] == "moto-job"
    assert job["TransformInput"]["SplitType"] == "Line"
    assert job["TransformOutput"] == {"S3OutputPath": "s3://bucket/preds/", "AssembleWith": "Line"}
    assert job["TransformResources"] == {"InstanceType": "ml.m5.xlarge", "InstanceCount": 2}
    assert "Completed" in cell.text()
    # on aws the card links to the job in the console
    assert ("https://us-east-1.console.aws.amazon.com/sagemaker/home?region=us-east-1"
            "#/transform-jobs/moto-transform") in cell.text()
    assert "output: s3://bucket/preds/ (" in cell.stdout  # moto writes none
    e = k.fails("%transform nobody --input s3://bucket/batch/ --output s3://bucket/preds/")
    assert e["evalue"] == "no model or training job named nobody"
