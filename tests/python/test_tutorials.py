"""The tutorials in notebooks/ run top to bottom through nbclient, as
`make demo` runs the quickstart, each in a copy of the notebooks folder
with a kernel of its own on a fresh local backend (05-aws on the aws
backend, against moto), and the outputs that matter are checked: no error
output, the jobs Completed, metrics that make sense for the data,
predictions close to the true labels, nothing left running at the end."""
import base64
import json
import re
import urllib.parse
import uuid

import boto3
import nbformat
import pytest
from nbclient import NotebookClient

from conftest import ROOT, copy_notebooks
from magics_helpers import clean_env, start_moto, stop_local_service, stop_process
from test_client_moto import queue_answers
from test_request_shapes import problems

pytestmark = [pytest.mark.timeout(600), pytest.mark.slow]

NOTEBOOKS = ROOT / "notebooks"


def run_notebook(name, tmp_path, **env):
    """Execute notebooks/NAME.ipynb in a copy of the folder; returns the
    executed notebook and the local service's data dir."""
    work = tmp_path / "notebooks"
    copy_notebooks(work, notebooks=False)
    data_dir = tmp_path / "local"
    environment = clean_env(tmp_path / "home", SAGEMAGIC_LOCAL_DATA_DIR=str(data_dir), **env)
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    client = NotebookClient(nb, kernel_name="sagemagic", timeout=300, startup_timeout=60,
                            allow_errors=True)
    try:
        client.execute(env=environment, cwd=str(work))
    finally:
        stop_local_service(data_dir)
    return nb, data_dir


def outputs(nb):
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]


def cell_text(cell):
    """Every text/plain and stream text of a code cell, joined."""
    parts = []
    for o in cell.outputs:
        if o.output_type == "stream":
            parts.append(o.text)
        elif o.output_type == "error":
            parts.append(f"{o.ename}: {o.evalue}")
        else:
            parts.append(o.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def code_cell(nb, starts):
    """The code cell whose source starts with `starts`."""
    found = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith(starts)]
    assert len(found) == 1, starts
    return found[0]


def no_errors(nb):
    errors = [f"{o.ename}: {o.evalue}" for o in outputs(nb) if o.output_type == "error"]
    assert errors == []
    counts = [c.execution_count for c in nb.cells if c.cell_type == "code"]
    assert counts == list(range(1, len(counts) + 1))


def last_card(cell, title):
    """The final text of the card whose text starts with `title`."""
    cards = [o["data"]["text/plain"] for o in cell.outputs
             if o.output_type in ("display_data", "update_display_data")
             and o.get("data", {}).get("text/plain", "").startswith(title)]
    assert cards, f"no card {title!r} in {cell_text(cell)[:500]}"
    return cards[-1]


def test_quickstart(kernel_bin, tmp_path):
    nb, _ = run_notebook("01-quickstart", tmp_path)
    no_errors(nb)

    prepared = cell_text(code_cell(nb, "data = %prepare"))
    assert re.search(r"train\.csv\s+398", prepared), prepared
    # training: the card ends Completed, with sensible metrics and a chart
    train = code_cell(nb, "%%train")
    card = last_card(train, "training job")
    assert "Completed" in card
    auc = float(re.search(r"validation:auc = ([0-9.]+)", card).group(1))
    assert auc > 0.95, card
    assert any("image/svg+xml" in o.get("data", {}) for o in train.outputs)
    assert "[59]#011train-auc:" in cell_text(train)  # the log streamed in

    # predictions beside the true labels: nearly all on the right side of 0.5
    table = cell_text(code_cell(nb, "%predict"))
    pairs = [line.split() for line in table.splitlines()[1:]]
    assert len(pairs) == 8
    right = sum((float(p) > 0.5) == (float(label) == 1) for label, p in pairs)
    assert right >= 7, table

    # the transform's output: the label and the prediction, one line a row
    transform = code_cell(nb, "test = %upload")
    assert "Completed" in last_card(transform, "transform job")
    preview = cell_text(transform).split("first lines:\n", 1)[1].splitlines()[:5]
    assert all(re.fullmatch(r"[01],[0-9.e-]+", line) for line in preview), preview

    # nothing of ours left running
    closing = cell_text(nb.cells[-1])
    assert "deleting endpoint sagemaker-xgboost-" in closing
    assert closing.rstrip().endswith("no endpoints")


def test_low_level(kernel_bin, tmp_path):
    nb, _ = run_notebook("04-low-level", tmp_path)
    no_errors(nb)
    created = json.loads(cell_text(code_cell(nb, "%%api sagemaker CreateTrainingJob")))
    assert created["TrainingJobArn"].endswith(":training-job/lowlevel-breast-cancer-1")
    follow = cell_text(code_cell(nb, "%logs lowlevel-breast-cancer-1 --follow"))
    assert "[59]#011train-auc:" in follow
    described = json.loads(cell_text(code_cell(nb, "%%api sagemaker DescribeTrainingJob")))
    assert described["TrainingJobStatus"] == "Completed"
    assert described["HyperParameters"]["num_round"] == "60"
    metrics = {m["MetricName"]: m["Value"] for m in described["FinalMetricDataList"]}
    assert metrics["validation:auc"] > 0.95
    summary = cell_text(code_cell(nb, "job = $_"))
    assert summary.startswith("status Completed, model at s3://")
    events = json.loads(cell_text(code_cell(nb, "%%api logs GetLogEvents")))["events"]
    assert len(events) == 5 and events[0]["message"] == "Arguments: train"


def test_tuning(kernel_bin, tmp_path):
    nb, _ = run_notebook("02-tuning", tmp_path)
    no_errors(nb)
    tune = code_cell(nb, "%tune xgboost")
    card = last_card(tune, "tuning job")
    assert "status     Completed" in card and "8 completed" in card
    best = re.search(r"best\s+validation:logloss = ([0-9.]+) \((\S+)\)", card)
    assert best and float(best.group(1)) < 0.2, card
    assert any("image/svg+xml" in o.get("data", {}) for o in tune.outputs)
    described = json.loads(cell_text(code_cell(nb, "%%api sagemaker DescribeHyperParameterTuningJob")))
    assert described["BestTrainingJob"]["TrainingJobName"] == best.group(2)
    compared = cell_text(code_cell(nb, "best = "))
    assert best.group(2) in compared and "final validation:logloss" in compared
    table = cell_text(code_cell(nb, "ep = %deploy $best"))
    pairs = [line.split() for line in table.split("label  prediction", 1)[1].splitlines() if line.strip()]
    assert len(pairs) == 8
    assert sum((float(p) > 0.5) == (lab == "1") for lab, p in pairs) >= 7
    assert cell_text(nb.cells[-1]).rstrip().endswith("no endpoints")


def test_batch_transform(kernel_bin, tmp_path):
    nb, _ = run_notebook("03-batch-transform", tmp_path)
    no_errors(nb)
    multi = code_cell(nb, "%transform $job --input $s3data --output ${out}/multi/")
    single = code_cell(nb, "%transform $job --input $s3data --output ${out}/single/")
    for cell in (multi, single):
        assert "Completed" in last_card(cell, "transform job")
        assert "(3 objects)" in cell_text(cell)
    # both strategies wrote the same bytes: the listings agree on sizes
    sizes = [re.findall(r"(\w+\.csv\.out)\s+([0-9.]+ \w+)", cell_text(code_cell(nb, f"%ls ${{out}}/{s}/")))
             for s in ("multi", "single")]
    assert sizes[0] == sizes[1] and len(sizes[0]) == 3
    joined = cell_text(code_cell(nb, "%transform $job --input ${s3data}test.csv --output ${out}/joined/"))
    rows = joined.split("first lines:\n", 1)[1].splitlines()[:5]
    assert all(len(r.split(",")) == 32 for r in rows), rows  # label, 30 features, prediction
    labelled = cell_text(code_cell(nb, "%transform $job --input ${s3data}test.csv --output ${out}/labelled/"))
    pairs = [r.split(",") for r in labelled.split("first lines:\n", 1)[1].splitlines()[:5]]
    assert all(len(p) == 2 and p[0] in ("0", "1") for p in pairs), pairs
    assert sum((float(p) > 0.5) == (lab == "1") for lab, p in pairs) >= 4
    assert "predictions.csv" in cell_text(nb.cells[-1])


# ---- 05-aws: the aws backend, against moto ------------------------------------

MOTO_ROLE = "arn:aws:iam::123456789012:role/SageMakerExecutionRole"
XGBOOST_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


def recorded_calls(path):
    """moto's recording of the requests it served: (target, JSON body) of
    each SageMaker call and (path, body bytes) of each runtime call."""
    calls = []
    for line in path.read_text().splitlines():
        entry = json.loads(line)
        body = entry.get("body") or ""
        raw = base64.b64decode(body) if entry.get("body_encoded") else body.encode()
        target = entry["headers"].get("X-Amz-Target", "")
        if target.startswith("SageMaker."):
            calls.append((target.split(".", 1)[1], json.loads(raw)))
        elif "/invocations" in entry["url"]:
            calls.append(("InvokeEndpoint", (urllib.parse.urlsplit(entry["url"]).path, raw)))
    return calls


def moto_boto3(url, secret, service):
    return boto3.client(service, endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key=secret)


def only(calls, operation):
    found = [body for op, body in calls if op == operation]
    assert len(found) == 1, (operation, len(found))
    return found[0]


def test_aws(kernel_bin, tmp_path, monkeypatch):
    """05-aws, unchanged, on the aws backend with moto standing in for AWS:
    the notebook reads the endpoint and fake keys from the environment, as
    a real user's notebook reads theirs. moto trains and serves nothing, so
    what is checked is that every request reached it with the right shape
    (moto's own recording of them, and boto3 reading back what exists),
    that no cell failed or showed a secret, and that nothing is left
    running."""
    recording = tmp_path / "moto-recording.jsonl"
    monkeypatch.setenv("MOTO_ENABLE_RECORDING", "true")
    monkeypatch.setenv("MOTO_RECORDER_FILEPATH", str(recording))
    proc, url = start_moto(tmp_path / "moto.log")
    secret = "moto-secret-" + uuid.uuid4().hex
    try:
        # moto's endpoint answers with what is queued: one CSV line a row
        answers = "\n".join(f"0.{i}1" for i in range(1, 9)) + "\n"
        queue_answers(url, [{"Body": answers, "ContentType": "text/csv",
                             "InvokedProductionVariant": "AllTraffic",
                             "CustomAttributes": ""}])
        nb, data_dir = run_notebook("05-aws", tmp_path, AWS_ENDPOINT_URL=url,
                                    AWS_ACCESS_KEY_ID="testing",
                                    AWS_SECRET_ACCESS_KEY=secret)
        sm = moto_boto3(url, secret, "sagemaker")
        endpoints = sm.list_endpoints()["Endpoints"]
        configs = sm.list_endpoint_configs()["EndpointConfigs"]
        models = [m["ModelName"] for m in sm.list_models()["Models"]]
        jobs = sm.list_training_jobs()["TrainingJobSummaries"]
        described = [sm.describe_training_job(TrainingJobName=j["TrainingJobName"])
                     for j in jobs]
        s3 = moto_boto3(url, secret, "s3")
        bucket = "sagemaker-us-east-1-123456789012"
        keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
        uploaded = s3.get_object(Bucket=bucket, Key="sagemagic/batch/test.csv")["Body"].read()
    finally:
        stop_process(proc)
    no_errors(nb)
    assert secret not in nbformat.writes(nb)
    journal = (tmp_path / "notebooks" / "sagemagic-journal.jsonl").read_text()
    assert secret not in journal
    records = [json.loads(line) for line in journal.splitlines()]
    assert {(r["event"], r.get("backend")) for r in records} >= {("upload", "aws")}
    assert not (data_dir / "service.json").exists()  # the local backend never ran

    me = cell_text(code_cell(nb, "me = %whoami"))
    assert MOTO_ROLE in me and url in me and bucket in me, me

    # every SageMaker request the notebook made is valid for botocore's model
    calls = recorded_calls(recording)
    invalid = [(op, problems("sagemaker", op, body)) for op, body in calls
               if op != "InvokeEndpoint"]
    assert [(op, found) for op, found in invalid if found] == []

    # the training job: the notebook's hyperparameters, image, role, instance
    job = code_cell(nb, "%%train").outputs[-1]["data"]["text/plain"].strip()
    assert [j["TrainingJobName"] for j in jobs] == [job]
    # the journal has the job, then what %deploy and %transform made
    made = [(r["kind"], r["name"]) for r in records if r["event"] == "created"]
    assert made[0] == ("training", job)
    assert {kind for kind, _ in made} >= {"training", "model", "endpoint-config",
                                          "endpoint", "transform"}
    created = only(calls, "CreateTrainingJob")
    assert created["TrainingJobName"] == job
    assert described[0]["HyperParameters"] == created["HyperParameters"]
    assert described[0]["TrainingJobStatus"] == "Completed"
    assert created["HyperParameters"] == {
        "objective": "binary:logistic", "eval_metric": "auc", "num_round": "60",
        "max_depth": "3", "eta": "0.2", "subsample": "0.8", "min_child_weight": "2",
        "seed": "7"}
    assert created["AlgorithmSpecification"]["TrainingImage"] == XGBOOST_IMAGE
    assert created["RoleArn"] == MOTO_ROLE
    assert created["ResourceConfig"]["InstanceType"] == "ml.m5.large"
    prefix = f"s3://{bucket}/sagemagic/breast-cancer-wisconsin-prepared/"
    channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"]
                for c in created["InputDataConfig"]}
    assert channels == {"train": prefix + "train.csv", "validation": prefix + "validation.csv"}
    assert {"sagemagic/breast-cancer-wisconsin-prepared/" + f for f in
            ("train.csv", "validation.csv", "test.csv")} <= keys
    test_csv = (tmp_path / "notebooks" / "data" / "breast-cancer-wisconsin-prepared"
                / "test.csv").read_bytes()
    assert uploaded == test_csv

    # the dry run sent nothing; the deploy: model, config on ml.m5.large, endpoint
    assert "$0.115 per hour" in cell_text(code_cell(nb, "%deploy $job --instance $instance --dry-run"))
    deploy_models = [b for op, b in calls if op == "CreateModel"]
    assert len(deploy_models) == 2  # the endpoint's, then the transform's
    artifact = f"s3://{bucket}/sagemagic/{job}/output/model.tar.gz"
    for model in deploy_models:
        assert model["PrimaryContainer"] == {"Image": XGBOOST_IMAGE, "ModelDataUrl": artifact}
        assert model["ExecutionRoleArn"] == MOTO_ROLE
    config = only(calls, "CreateEndpointConfig")
    assert [(v["InstanceType"], v["InitialInstanceCount"]) for v in
            config["ProductionVariants"]] == [("ml.m5.large", 1)]
    ep = only(calls, "CreateEndpoint")["EndpointName"]

    # the prediction: the first 8 test rows without their label, in one call
    path, body = only(calls, "InvokeEndpoint")
    assert path == f"/endpoints/{ep}/invocations"
    rows = test_csv.decode().splitlines()[:8]
    assert body.decode().splitlines() == [r.split(",", 1)[1] for r in rows]
    table = cell_text(code_cell(nb, "%predict")).splitlines()
    assert [line.split() for line in table[1:]] == [
        [r.split(",", 1)[0], f"0.{i}1"] for i, r in zip(range(1, 9), rows)]

    # the transform: its model from the job, the filters and the join
    transform = only(calls, "CreateTransformJob")
    assert transform["ModelName"] == job and models == [job]
    assert transform["TransformResources"]["InstanceType"] == "ml.m5.large"
    assert transform["DataProcessing"] == {"InputFilter": "$[1:]", "JoinSource": "Input",
                                           "OutputFilter": "$[0,-1]"}
    assert transform["TransformInput"]["SplitType"] == "Line"

    # nothing left running: the endpoint, its config and model were deleted
    assert only(calls, "DeleteEndpoint")["EndpointName"] == ep
    assert endpoints == [] and configs == []
    assert cell_text(nb.cells[-1]).rstrip().endswith("no endpoints")
