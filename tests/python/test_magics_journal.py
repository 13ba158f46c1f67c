"""The experiment journal beside the notebook, through jupyter_client against
the built kernel on the local backend (which trains XGBoost for real):
what %upload and %train write to it, that it survives a kernel killed with
SIGKILL, %experiments, %compare, %export, and %reproduce refusing changed
inputs and giving identical metrics and model bytes for unchanged ones;
what %deploy, %transform and %tune record of what they create and how it
ends, and the deletions of %delete, %cleanup, --ttl, cleanup_on_exit and
%%api.

Data is made here with fixed seeds. Every service and kernel started here
is stopped; every wait is bounded."""
import hashlib
import json
import os
import signal
import time

import nbformat
import pytest

from magics_helpers import LOCAL_BIN, Kernel, LocalKernel, local_client, stop_local_service
from test_magics_train import linear_rows

pytestmark = pytest.mark.timeout(300)
MIMETYPE = "application/vnd.sagemagic.run+json"
JOURNAL = "sagemagic-journal.jsonl"


class Local(LocalKernel):
    """The kernel and local service of test_magics_train, with the journal
    and the S3 objects at hand."""

    def client(self, service):
        return local_client(self.data_dir, service)

    def records(self, work=None):
        lines = ((work or self.work) / JOURNAL).read_text().splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def model_bytes(self, job):
        uri = self.client("sagemaker").describe_training_job(
            TrainingJobName=job)["ModelArtifacts"]["S3ModelArtifacts"]
        bucket, key = uri[len("s3://"):].split("/", 1)
        return self.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()


def wait_until_ended(local, job, seconds=60):
    sm = local.client("sagemaker")
    deadline = time.monotonic() + seconds
    while sm.describe_training_job(TrainingJobName=job)["TrainingJobStatus"] == "InProgress":
        assert time.monotonic() < deadline, f"{job} did not end in {seconds} s"
        time.sleep(0.2)


def of(records, event, name):
    return [r for r in records if r["event"] == event and r.get("name") == name]


def train(k, name, *params):
    cell = k.run(f"%train xgboost --train $train --validation $val --name {name} "
                 "objective=reg:squarederror seed=7 " + " ".join(params), timeout=120)
    assert cell.status == "ok", cell.error
    return cell


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    assert os.path.exists(LOCAL_BIN), f"build it first: {LOCAL_BIN}"
    loc = Local(tmp_path_factory.mktemp("magics-journal"))
    loc.kernel.start()
    try:
        (loc.work / "train.csv").write_text(linear_rows(400, 1))
        (loc.work / "validation.csv").write_text(linear_rows(100, 2))
        loc.kernel.ok("train = %upload train.csv\nval = %upload validation.csv")
        # two runs that differ in max_depth, for the tests to look at
        loc.cell_a = train(loc.kernel, "journal-a", "num_round=12", "max_depth=3")
        train(loc.kernel, "journal-b", "num_round=12", "max_depth=5")
        yield loc
    finally:
        loc.kernel.stop()
        stop_local_service(loc.data_dir)


def test_upload_recorded_with_size_and_checksums(local):
    data = (local.work / "train.csv").read_bytes()
    ups = [r for r in local.records() if r["event"] == "upload"
           and r["path"].endswith("/train.csv")]
    assert len(ups) == 1
    up = ups[0]
    assert up["uri"] == local.kernel.ok("train").result
    assert up["size"] == len(data)
    assert up["sha256"] == hashlib.sha256(data).hexdigest()
    assert up["md5"] == hashlib.md5(data).hexdigest()
    assert up["etag"].strip('"') == up["md5"]
    assert up["backend"] == "local" and up["region"] and up["v"] == 1


def test_training_run_recorded(local):
    cell = local.cell_a
    records = local.records()
    created, = of(records, "created", "journal-a")
    finished, = of(records, "finished", "journal-a")
    assert records.index(created) < records.index(finished)
    # the exact request, without secrets
    req = created["request"]
    assert req["TrainingJobName"] == "journal-a"
    assert req["HyperParameters"] == created["hyperparameters"]
    assert created["hyperparameters"]["max_depth"] == "3"
    assert created["hyperparameters"]["seed"] == "7"
    assert created["image"].endswith("sagemaker-xgboost:1.7-1")
    assert created["backend"] == "local" and created["kind"] == "training"
    secret = json.loads((local.data_dir / "credentials.json").read_text())["SecretAccessKey"]
    assert secret not in (local.work / JOURNAL).read_text()
    # inputs with size and the checksum computed at upload
    data = (local.work / "train.csv").read_bytes()
    inputs = {i["channel"]: i for i in created["inputs"]}
    assert set(inputs) == {"train", "validation"}
    obj, = inputs["train"]["objects"]
    assert obj["size"] == len(data) == inputs["train"]["size"]
    assert obj["sha256"] == hashlib.sha256(data).hexdigest()
    assert len(inputs["train"]["digest"]) == 64
    # the end: status, metrics and curves, the model, times
    assert finished["status"] == "Completed" and finished["failure_reason"] == ""
    assert finished["metrics"]["validation:rmse"] > 0
    curve = finished["curves"]["rmse"]["validation"]
    assert [p[0] for p in curve] == list(range(12))
    assert abs(curve[-1][1] - finished["metrics"]["validation:rmse"]) < 1e-4
    assert finished["artifacts"]["model"].endswith("journal-a/output/model.tar.gz")
    t = finished["timings"]
    assert 0 < t["created"] <= t["started"] <= t["ended"]
    # the card carries the run's record for the saved notebook
    final = cell.of("update_display_data")[-1]["data"]
    run = final[MIMETYPE]
    assert run["name"] == "journal-a" and run["status"] == "Completed"
    assert run["metrics"] == finished["metrics"]
    assert run["request"] == req and run["inputs"] == created["inputs"]
    # and a notebook saved with that output is valid and holds the record
    nb = nbformat.v4.new_notebook()
    # what a front end keeps of the card: its display with the last update's data
    out = nbformat.v4.new_output("display_data", data=final)
    nb.cells.append(nbformat.v4.new_code_cell("%train ...", outputs=[out]))
    nbformat.validate(nbformat.reads(nbformat.writes(nb), as_version=4))
    assert nbformat.reads(nbformat.writes(nb), as_version=4).cells[0].outputs[0][
        "data"][MIMETYPE]["name"] == "journal-a"


def test_failed_run_recorded(local):
    k = local.kernel
    (local.work / "broken.csv").write_text("1.0,2.0,3.0\n2.0,oops,4.0\n")
    k.ok("broken = %upload broken.csv")
    cell = k.run("%train xgboost --train $broken --name journal-broken num_round=3",
                 timeout=120)
    assert cell.status == "error"
    finished, = of(local.records(), "finished", "journal-broken")
    assert finished["status"] == "Failed"
    assert finished["failure_reason"]
    assert " ".join(finished["failure_reason"].split()).rstrip(".") in cell.error["evalue"]


def test_experiments_table(local):
    k = local.kernel
    cell = k.ok("%experiments --where \"status=Completed and kind=training\" "
                "--sort validation:rmse")
    runs = json.loads(k.ok("_").result)
    names = [r["name"] for r in runs]
    assert {"journal-a", "journal-b"} <= set(names) and "journal-broken" not in names
    rmse = [r["metrics"]["validation:rmse"] for r in runs]
    assert rmse == sorted(rmse)
    table = cell.of("execute_result")[0]["data"]["text/plain"]
    header = table.splitlines()[0].split()
    assert "validation:rmse" in header and "max_depth" in header
    assert "num_round" not in header  # the same in every run shown
    cell = k.ok("r = %experiments --where \"max_depth>4\" --sort name:desc\nr")
    assert [r["name"] for r in json.loads(cell.result)] == ["journal-b"]
    cell = k.ok("r = %experiments --where \"name~journal-\" --sort name:desc\nr")
    names = [r["name"] for r in json.loads(cell.result)]
    assert names == sorted(names, reverse=True) and "journal-a" in names
    runs = json.loads(k.ok("r = %experiments --sort max_depth:desc\nr").result)
    depths = [r.get("hyperparameters", {}).get("max_depth") for r in runs]
    assert runs[0]["name"] == "journal-b" and depths[0] == "5"
    known = [d for d in depths if d is not None]
    assert depths[:len(known)] == known  # runs without it go last
    assert [int(d) for d in known] == sorted((int(d) for d in known), reverse=True)
    e = k.fails("%experiments --where max_depth")
    assert "KEY OP VALUE" in e["evalue"]


def test_compare(local):
    k = local.kernel
    cell = k.ok("%compare journal-a journal-b")
    table = cell.of("display_data")[0]["data"]
    lines = table["text/plain"].splitlines()
    assert lines[0].split() == ["journal-a", "journal-b"]
    depth = next(line for line in lines if line.startswith("max_depth"))
    assert depth.split() == ["max_depth", "3", "5"]
    assert any(line.startswith("final validation:rmse") for line in lines)
    assert "<table" in table["text/html"]
    charts = [c["data"] for c in cell.of("display_data") if "image/svg+xml" in c["data"]]
    assert len(charts) == 1  # one metric: rmse
    svg = charts[0]["image/svg+xml"]
    assert svg.count("<polyline") == 4  # two runs, two channels each
    for label in ("journal-a train", "journal-a validation", "journal-b validation"):
        assert label in svg and label + ": 12 rounds" in charts[0]["text/plain"]
    assert cell.result == "compared 2 runs"
    assert [r["name"] for r in json.loads(k.ok("_").result)] == ["journal-a", "journal-b"]
    e = k.fails("%compare journal-a no-such-run")
    assert e["ename"] == "LookupError" and "no-such-run" in e["evalue"]


def test_export(local):
    k = local.kernel
    (local.work / "kept").mkdir()
    cell = k.ok("%export kept/record.json journal-a journal-b")
    doc = json.loads((local.work / "kept" / "record.json").read_text())
    assert [r["name"] for r in doc["runs"]] == ["journal-a", "journal-b"]
    assert doc["runs"][0]["hyperparameters"]["max_depth"] == "3"
    assert doc["runs"][0]["inputs"][0]["objects"][0]["sha256"]
    md = (local.work / "kept" / "record.md").read_text()
    assert "## journal-a" in md and "## journal-b" in md
    assert "| max_depth | 3 |" in md and "| validation:rmse |" in md
    assert hashlib.sha256((local.work / "train.csv").read_bytes()).hexdigest() in md
    assert "```json" in md and '"TrainingJobName": "journal-a"' in md
    assert "| ended | 20" in md and "| training_seconds |" in md
    assert "record.md" in cell.stdout


def test_reproduce_unchanged_inputs_gives_identical_results(local):
    k = local.kernel
    cell = k.run("again = %reproduce journal-a --name journal-a-again\nagain",
                 timeout=120)
    assert cell.status == "ok", cell.error
    assert cell.result == "journal-a-again"
    assert "inputs unchanged" in cell.stdout
    assert "final metrics of journal-a-again are identical to those of journal-a" \
        in cell.stdout
    assert "model bytes are identical" in cell.stdout
    records = local.records()
    first, = of(records, "finished", "journal-a")
    again, = of(records, "finished", "journal-a-again")
    assert again["metrics"] == first["metrics"]
    assert again["curves"] == first["curves"]
    created, = of(records, "created", "journal-a-again")
    assert created["reproduces"] == "journal-a"
    assert created["hyperparameters"] == of(records, "created", "journal-a")[0]["hyperparameters"]
    assert local.model_bytes("journal-a-again") == local.model_bytes("journal-a")
    # without --name: the SDK's default name after the job's
    cell = k.run("%reproduce journal-b", timeout=120)
    assert cell.status == "ok", cell.error
    again = cell.result if cell.result else k.ok("_").result
    assert again.startswith("journal-b-20") and len(again) <= 63
    assert of(local.records(), "finished", again)[0]["metrics"] == \
        of(local.records(), "finished", "journal-b")[0]["metrics"]


def test_reproduce_refuses_changed_inputs(local):
    k = local.kernel
    (local.work / "drift.csv").write_text(linear_rows(300, 5))
    k.ok("drift = %upload drift.csv --key journal/drift.csv")
    cell = k.run("%train xgboost --train $drift --name journal-drift "
                 "objective=reg:squarederror num_round=3", timeout=120)
    assert cell.status == "ok", cell.error
    (local.work / "drift.csv").write_text(linear_rows(310, 6))
    k.ok("%upload drift.csv --key journal/drift.csv")
    before = training_job_count(local)
    e = k.fails("%reproduce journal-drift")
    assert e["ename"] == "InputsChanged"
    assert "journal/drift.csv changed" in e["evalue"]
    assert training_job_count(local) == before  # nothing was started


def training_job_count(local):
    return len(local.client("sagemaker").list_training_jobs(MaxResults=100)
               ["TrainingJobSummaries"])


def kill_while_watching(k, code, name, seconds=30):
    """Run `code` and SIGKILL the kernel once the card of `name` shows."""
    msg_id = k.kc.execute(code)
    deadline = time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        assert left > 0, f"no card of {name} in {seconds} s"
        msg = k.kc.get_iopub_msg(timeout=left)
        if msg["parent_header"].get("msg_id") == msg_id and \
                msg["msg_type"] == "display_data" and \
                f"training job {name}" in msg["content"]["data"].get("text/plain", ""):
            break
    os.kill(k.pid, signal.SIGKILL)
    k.km.provisioner.process.wait(timeout=10)


def test_records_survive_kill_9(local, tmp_path):
    work = tmp_path / "crash"
    work.mkdir()
    (work / "small.csv").write_text(linear_rows(200, 9))
    k = Kernel(local.kernel.env, work, stderr_path=tmp_path / "crash.stderr").start()
    try:
        k.ok("small = %upload small.csv --key journal/small.csv")
        cell = k.run("%train xgboost --train $small --name journal-crash "
                     "objective=reg:squarederror num_round=4", timeout=120)
        assert cell.status == "ok", cell.error
        kill_while_watching(k, "%train xgboost --train $small --name journal-crash-2 "
                            "objective=reg:squarederror num_round=300", "journal-crash-2")
    finally:
        k.stop()
    records = local.records(work)
    assert [(r["event"], r.get("name")) for r in records][:4] == [
        ("upload", None), ("created", "journal-crash"), ("finished", "journal-crash"),
        ("created", "journal-crash-2")]
    assert records[2]["status"] == "Completed"
    # a line torn by a crash mid-write is skipped, and the next starts afresh
    with open(work / JOURNAL, "a") as f:
        f.write('{"v":1,"event":"created","kind":"training","na')
    wait_until_ended(local, "journal-crash-2")
    k = Kernel(local.kernel.env, work, stderr_path=tmp_path / "crash2.stderr").start()
    try:
        k.ok("%upload small.csv --key journal/small-2.csv")
        runs = json.loads(k.ok("r = %experiments\nr").result)
        assert [(r["name"], r["status"]) for r in runs] == [
            ("journal-crash", "Completed"), ("journal-crash-2", "Completed")]
    finally:
        k.stop()
    lines = (work / JOURNAL).read_text().splitlines()
    torn = next(i for i, line in enumerate(lines) if line.endswith('"na'))
    assert json.loads(lines[torn + 1])["uri"].endswith("journal/small-2.csv")
    assert sum(1 for line in lines if line.endswith('"na')) == 1


def test_unwatched_run_recorded_when_listed(local):
    k = local.kernel
    k.ok("%train xgboost --train $train --name journal-unwatched --no-wait "
         "objective=reg:squarederror num_round=3")
    assert not of(local.records(), "finished", "journal-unwatched")
    wait_until_ended(local, "journal-unwatched")
    runs = json.loads(k.ok("r = %experiments --where name=journal-unwatched\nr").result)
    assert runs[0]["status"] == "Completed"
    finished, = of(local.records(), "finished", "journal-unwatched")
    assert finished["metrics"]["train:rmse"] > 0
    assert finished["artifacts"]["model"].endswith("model.tar.gz")


def test_reproduce_refuses_another_backend(local):
    k = local.kernel
    k.ok("%config backend=aws")
    try:
        e = k.fails("%reproduce journal-a")
    finally:
        k.ok("%config backend=local")
    assert "journal-a ran on the local backend and this kernel uses aws" in e["evalue"]
    e = k.fails("%reproduce journal-unknown")
    assert e["ename"] == "LookupError"


def test_journal_moved_or_off(local):
    k = local.kernel
    before = len(local.records())
    (local.work / "notes").mkdir()
    k.ok("%config journal=notes/elsewhere.jsonl\n%upload train.csv --key journal/moved.csv")
    moved = [json.loads(line) for line in
             (local.work / "notes" / "elsewhere.jsonl").read_text().splitlines()]
    assert [r["uri"].rsplit("/", 2)[-2:] for r in moved] == [["journal", "moved.csv"]]
    try:
        k.ok("%config journal=off\n%upload train.csv --key journal/off.csv")
        e = k.fails("%experiments")
        assert "the experiment journal is off" in e["evalue"]
    finally:
        k.ok("%config journal=sagemagic-journal.jsonl")
    # a journal that cannot be written is a warning, not a failed upload
    try:
        cell = k.ok("%config journal=no-such-folder/j.jsonl\n"
                    "%upload train.csv --key journal/unjournaled.csv")
    finally:
        k.ok("%config journal=sagemagic-journal.jsonl")
    warning = "".join(c["text"] for c in cell.of("stream") if c["name"] == "stderr")
    assert "warning: cannot write the journal no-such-folder/j.jsonl" in warning
    assert len(local.records()) == before
    assert "journal must be a file name" in k.fails("%config journal=")["evalue"]


def test_api_created_training_job_recorded_and_reproducible(local):
    k = local.kernel
    request = of(local.records(), "created", "journal-a")[0]["request"]
    request["TrainingJobName"] = "journal-api"
    cell = k.run("%%api sagemaker CreateTrainingJob\n" + json.dumps(request))
    assert cell.status == "ok", cell.error
    created, = of(local.records(), "created", "journal-api")
    assert created["request"] == request and created["inputs"][0]["objects"]
    wait_until_ended(local, "journal-api")
    cell = k.run("%reproduce journal-api --name journal-api-again", timeout=120)
    assert cell.status == "ok", cell.error
    records = local.records()
    assert of(records, "finished", "journal-api")[0]["metrics"] == \
        of(records, "finished", "journal-api-again")[0]["metrics"] == \
        of(records, "finished", "journal-a")[0]["metrics"]


# ---- %deploy, %delete, --ttl, %cleanup ----------------------------------------

def of_kind(records, event, kind, name):
    return [r for r in of(records, event, name) if r["kind"] == kind]


def last_card(cell):
    return cell.of("update_display_data")[-1]["data"]


def wait_for(check, seconds, what):
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"{what} not within {seconds} s"
        time.sleep(0.2)


def test_deploy_and_delete_recorded(local):
    k = local.kernel
    cell = k.run("%deploy journal-a --name journal-ep", timeout=120)
    assert cell.status == "ok", cell.error
    records = local.records()
    model, = of_kind(records, "created", "model", "journal-ep")
    config, = of_kind(records, "created", "endpoint-config", "journal-ep")
    created, = of_kind(records, "created", "endpoint", "journal-ep")
    finished, = of_kind(records, "finished", "endpoint", "journal-ep")
    # created in order, each with its exact request and what it came from
    assert records.index(model) < records.index(config) < records.index(created) \
        < records.index(finished)
    trained, = of_kind(records, "finished", "training", "journal-a")
    assert model["status"] == "Created" and model["training_job"] == "journal-a"
    assert model["request"]["ModelName"] == "journal-ep"
    assert model["artifacts"]["model_data"] == trained["artifacts"]["model"]
    assert model["image"] == of(records, "created", "journal-a")[0]["image"]
    assert config["status"] == "Created" and config["models"] == ["journal-ep"]
    assert config["request"]["ProductionVariants"][0]["ModelName"] == "journal-ep"
    assert created["status"] == "InProgress" and created["backend"] == "local"
    assert created["request"] == {"EndpointName": "journal-ep",
                                  "EndpointConfigName": "journal-ep"}
    assert created["endpoint_config"] == "journal-ep" and created["model"] == "journal-ep"
    assert created["training_job"] == "journal-a"
    assert created["instance_type"] == "ml.m5.large" and created["instance_count"] == 1
    assert finished["status"] == "InService" and finished["failure_reason"] == ""
    t = finished["timings"]
    assert 0 < t["created"] <= t["ended"]
    # the card's last update carries the endpoint's run
    run = last_card(cell)[MIMETYPE]
    assert run["kind"] == "endpoint" and run["name"] == "journal-ep"
    assert run["status"] == "InService" and run["request"] == created["request"]
    # %delete records each part it deleted
    k.ok("%delete journal-ep -f")
    records = local.records()
    for kind in ("endpoint", "endpoint-config", "model"):
        gone, = of_kind(records, "deleted", kind, "journal-ep")
        assert gone["status"] == "Deleted" and gone["deleted_by"] == "%delete"
    runs = json.loads(k.ok("r = %experiments --kind all --where name=journal-ep\nr").result)
    assert sorted((r["kind"], r["status"]) for r in runs) == [
        ("endpoint", "Deleted"), ("endpoint-config", "Deleted"), ("model", "Deleted")]
    # by default only the endpoint: its model and config are its parts
    runs = json.loads(k.ok("r = %experiments --where name~journal-ep\nr").result)
    assert [(r["kind"], r["name"]) for r in runs] == [("endpoint", "journal-ep")]
    runs = json.loads(k.ok("r = %experiments --kind model\nr").result)
    assert "journal-ep" in [r["name"] for r in runs]
    assert {r["kind"] for r in runs} == {"model"}
    cell = k.ok("%experiments --kind endpoint")
    table = cell.of("execute_result")[0]["data"]["text/plain"]
    assert "journal-ep" in table and "Deleted" in table and "journal-a" not in table
    # %export writes the endpoint with what it was made of and its end
    k.ok("%export endpoint-record journal-ep")
    doc = json.loads((local.work / "endpoint-record.json").read_text())
    run, = doc["runs"]
    assert run["kind"] == "endpoint" and run["deleted_by"] == "%delete"
    assert run["request"] == created["request"]
    md = (local.work / "endpoint-record.md").read_text()
    assert "## journal-ep" in md and "- kind: endpoint" in md
    assert "- model: journal-ep" in md and "- training job: journal-a" in md
    assert "- deleted by: %delete" in md and "- deleted: 20" in md
    # the model's own record by KIND/NAME
    k.ok("%export model-record model/journal-ep")
    run, = json.loads((local.work / "model-record.json").read_text())["runs"]
    assert run["kind"] == "model" and run["artifacts"]["model_data"].endswith("model.tar.gz")


def test_unwatched_endpoint_ttl_and_cleanup_recorded(local):
    k = local.kernel
    k.ok("%deploy journal-a --name journal-ep-ttl --ttl 2s --no-wait\n"
         "%deploy journal-a --name journal-ep-later --no-wait")
    assert not of(local.records(), "finished", "journal-ep-later")
    # the timer deletes it outside any cell; the journal says so
    wait_for(lambda: len(of(local.records(), "deleted", "journal-ep-ttl")) == 3, 60,
             "the ttl's records")
    gone = of(local.records(), "deleted", "journal-ep-ttl")
    assert {r["kind"] for r in gone} == {"endpoint", "endpoint-config", "model"}
    assert {r["deleted_by"] for r in gone} == {"ttl"}
    assert {r["backend"] for r in gone} == {"local"}
    created, = of_kind(local.records(), "created", "endpoint", "journal-ep-ttl")
    assert created["ttl_seconds"] == 2
    # the endpoint left unwatched: its end recorded when the journal is read
    sm = local.client("sagemaker")
    wait_for(lambda: sm.describe_endpoint(EndpointName="journal-ep-later")[
        "EndpointStatus"] == "InService", 60, "journal-ep-later in service")
    runs = json.loads(k.ok("r = %experiments --where name=journal-ep-later\nr").result)
    assert [(r["kind"], r["status"]) for r in runs] == [("endpoint", "InService")]
    finished, = of(local.records(), "finished", "journal-ep-later")
    assert finished["status"] == "InService"
    k.ok("%cleanup -f")
    gone = of(local.records(), "deleted", "journal-ep-later")
    assert {(r["kind"], r["deleted_by"]) for r in gone} == {
        ("endpoint", "%cleanup"), ("endpoint-config", "%cleanup"), ("model", "%cleanup")}


def test_cleanup_on_exit_recorded(local, tmp_path):
    work = tmp_path / "exit"
    work.mkdir()
    k = Kernel(local.kernel.env, work, stderr_path=tmp_path / "exit.stderr").start()
    try:
        k.ok("%config cleanup_on_exit=true")
        k.ok("%deploy journal-a --name journal-ep-exit --no-wait")
    finally:
        k.stop()
    gone = of(local.records(work), "deleted", "journal-ep-exit")
    assert {(r["kind"], r["deleted_by"]) for r in gone} == {
        ("endpoint", "cleanup_on_exit"), ("endpoint-config", "cleanup_on_exit"),
        ("model", "cleanup_on_exit")}
    assert "journal-ep-exit" not in [
        e["EndpointName"] for e in local.client("sagemaker").list_endpoints()["Endpoints"]]


# ---- %transform ----------------------------------------------------------------

def test_transform_recorded(local):
    k = local.kernel
    train(k, "journal-t", "num_round=5")
    local.client("s3").create_bucket(Bucket="journal-preds")
    cell = k.run("%transform journal-t --input $val --output s3://journal-preds/t/ "
                 "--split line --input-filter '$[1:]' --name journal-transform",
                 timeout=120)
    assert cell.status == "ok", cell.error
    records = local.records()
    model, = of_kind(records, "created", "model", "journal-t")
    assert model["training_job"] == "journal-t" and model["status"] == "Created"
    created, = of_kind(records, "created", "transform", "journal-transform")
    finished, = of_kind(records, "finished", "transform", "journal-transform")
    assert records.index(model) < records.index(created) < records.index(finished)
    req = created["request"]
    assert req["TransformJobName"] == "journal-transform" and req["ModelName"] == "journal-t"
    assert req["DataProcessing"]["InputFilter"] == "$[1:]"
    assert created["model"] == "journal-t" and created["training_job"] == "journal-t"
    assert created["output"] == "s3://journal-preds/t/"
    data = (local.work / "validation.csv").read_bytes()
    inp, = created["inputs"]
    assert inp["channel"] == "input" and inp["size"] == len(data)
    assert inp["objects"][0]["sha256"] == hashlib.sha256(data).hexdigest()
    assert finished["status"] == "Completed" and finished["failure_reason"] == ""
    out, = finished["outputs"]
    obj, = out["objects"]
    body = local.client("s3").get_object(Bucket="journal-preds",
                                         Key="t/validation.csv.out")["Body"].read()
    assert obj["key"] == "t/validation.csv.out" and obj["size"] == len(body)
    assert finished["artifacts"]["output"] == "s3://journal-preds/t/"
    t = finished["timings"]
    assert 0 < t["created"] <= t["ended"]
    run = last_card(cell)[MIMETYPE]
    assert run["kind"] == "transform" and run["status"] == "Completed"
    assert run["inputs"] == created["inputs"] and run["outputs"] == finished["outputs"]
    # the training job keeps its name: its model does not hide it
    cell = k.ok("%compare journal-t journal-a")
    assert cell.of("display_data")[0]["data"]["text/plain"].splitlines()[0].split() == [
        "journal-t", "journal-a"]
    runs = json.loads(k.ok("_").result)
    assert [r["kind"] for r in runs] == ["training", "training"]
    runs = json.loads(k.ok("r = %experiments --kind transform\nr").result)
    assert [r["name"] for r in runs] == ["journal-transform"]
    k.ok("%export transform-record journal-transform")
    md = (local.work / "transform-record.md").read_text()
    assert "- kind: transform" in md and "- model: journal-t" in md
    assert "Inputs:" in md and "Outputs:" in md and "t/validation.csv.out" in md
    assert "- output: s3://journal-preds/t/" in md
    # a transform left unwatched: its end recorded when the journal is read
    k.ok("%transform journal-t --input $val --output s3://journal-preds/later/ "
         "--split line --input-filter '$[1:]' --name journal-transform-later --no-wait")
    assert not of(local.records(), "finished", "journal-transform-later")
    sm = local.client("sagemaker")
    wait_for(lambda: sm.describe_transform_job(TransformJobName="journal-transform-later")[
        "TransformJobStatus"] != "InProgress", 60, "journal-transform-later's end")
    runs = json.loads(k.ok("r = %experiments --where name=journal-transform-later\nr").result)
    assert [(r["kind"], r["status"]) for r in runs] == [("transform", "Completed")]
    finished, = of(local.records(), "finished", "journal-transform-later")
    assert finished["outputs"][0]["objects"][0]["key"] == "later/validation.csv.out"


# ---- %tune ---------------------------------------------------------------------

def test_tune_recorded(local):
    k = local.kernel
    cell = k.run("%tune xgboost --train $train --validation $val --name journal-tune "
                 "--objective validation:rmse --strategy random --max-jobs 3 --parallel 2 "
                 "eta=0.1..0.5 max_depth=2..4:int objective=reg:squarederror num_round=5",
                 timeout=240)
    if cell.status == "error" and "UnknownOperation" in cell.error["evalue"]:
        assert not of(local.records(), "created", "journal-tune")  # nothing made
        pytest.skip("this sagemagic-local has no hyperparameter tuning")
    assert cell.status == "ok", cell.error
    records = local.records()
    created, = of_kind(records, "created", "tuning", "journal-tune")
    finished, = of_kind(records, "finished", "tuning", "journal-tune")
    assert records.index(created) < records.index(finished)
    req = created["request"]
    assert req["HyperParameterTuningJobName"] == "journal-tune"
    assert created["hyperparameters"] == {"objective": "reg:squarederror", "num_round": "5"}
    assert created["objective"] == {"MetricName": "validation:rmse", "Type": "Minimize"}
    assert created["strategy"] == "Random"
    assert [r["Name"] for r in created["ranges"]["ContinuousParameterRanges"]] == ["eta"]
    assert created["image"].endswith("sagemaker-xgboost:1.7-1")
    data = (local.work / "train.csv").read_bytes()
    inputs = {i["channel"]: i for i in created["inputs"]}
    assert set(inputs) == {"train", "validation"}
    assert inputs["train"]["objects"][0]["sha256"] == hashlib.sha256(data).hexdigest()
    # the end: the best training job, its objective as the run's metric,
    # and each trial linked by name with its tuned hyperparameters
    assert finished["status"] == "Completed"
    trials = finished["trials"]
    assert len(trials) == 3 and finished["counts"]["completed"] == 3
    assert all(0.1 <= float(t["hyperparameters"]["eta"]) <= 0.5 for t in trials)
    best = finished["best"]
    assert best["name"] in [t["name"] for t in trials]
    assert best["objective"] == min(t["objective"] for t in trials)
    assert finished["metrics"] == {"validation:rmse": best["objective"]}
    assert not [r for r in records if r.get("name") in {t["name"] for t in trials}]
    run = last_card(cell)[MIMETYPE]
    assert run["kind"] == "tuning" and run["best"] == best
    runs = json.loads(k.ok("r = %experiments --kind tuning\nr").result)
    assert [(r["name"], r["best"]["name"]) for r in runs] == [("journal-tune", best["name"])]
    k.ok("%export tune-record journal-tune")
    md = (local.work / "tune-record.md").read_text()
    assert "Objective: validation:rmse (Minimize), Random search" in md
    assert f"Best training job: {best['name']}" in md
    assert all(f"| {t['name']} | Completed |" in md for t in trials)
    e = k.fails("%reproduce journal-tune")
    assert "is a tuning run" in e["evalue"]
    # a tuning job left unwatched: its end recorded when the journal is read
    k.ok("%tune xgboost --train $train --validation $val --name journal-tune-later "
         "--objective validation:rmse --strategy random --max-jobs 2 --parallel 2 "
         "eta=0.1..0.5 objective=reg:squarederror num_round=3 --no-wait")
    assert not of(local.records(), "finished", "journal-tune-later")
    sm = local.client("sagemaker")
    wait_for(lambda: sm.describe_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="journal-tune-later")[
        "HyperParameterTuningJobStatus"] != "InProgress", 120, "journal-tune-later's end")
    runs = json.loads(k.ok("r = %experiments --where name=journal-tune-later\nr").result)
    assert [(r["kind"], r["status"]) for r in runs] == [("tuning", "Completed")]
    finished, = of(local.records(), "finished", "journal-tune-later")
    assert len(finished["trials"]) == 2
    assert finished["best"]["name"] in [t["name"] for t in finished["trials"]]


def test_api_created_and_deleted_model_recorded(local):
    k = local.kernel
    request = of_kind(local.records(), "created", "model", "journal-ep")[0]["request"]
    request["ModelName"] = "journal-api-model"
    k.ok("%%api sagemaker CreateModel\n" + json.dumps(request))
    created, = of(local.records(), "created", "journal-api-model")
    assert created["kind"] == "model" and created["request"] == request
    assert created["artifacts"]["model_data"] == request["PrimaryContainer"]["ModelDataUrl"]
    k.ok('%%api sagemaker DeleteModel\n{"ModelName": "journal-api-model"}')
    gone, = of(local.records(), "deleted", "journal-api-model")
    assert gone["kind"] == "model" and gone["deleted_by"] == "%%api"
    # a delete the service refused is not recorded
    k.fails('%%api sagemaker DeleteModel\n{"ModelName": "journal-api-model"}')
    assert len(of(local.records(), "deleted", "journal-api-model")) == 1
