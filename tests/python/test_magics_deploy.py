"""The hosting magics (%deploy, %predict, %%predict, %endpoints, %delete,
%cleanup, --ttl and cleanup_on_exit) through jupyter_client against the
built kernel:

(a) the local backend: the kernel starts its own sagemagic-local in a
    private data dir, trains a small XGBoost job and serves it; boto3 with
    the service's credentials checks what exists, and the predictions are
    compared with Python XGBoost's on the same model.tar.gz;
(b) the aws backend against moto on a free port of 127.0.0.1 (endpoints
    are InService at once there, and InvokeEndpoint answers from a queue
    set through /moto-api).

Data is made here with a fixed seed. Every service and kernel started here
is stopped; every wait is bounded."""
import io
import json
import os
import tarfile
import time

import pytest

from magics_helpers import LOCAL_BIN, Cell, Kernel, LocalKernel, stop_local_service
from test_client_moto import queue_answers
from test_magics_data import MOTO_ACCOUNT, SECRET, aws, moto, moto_client  # noqa: F401 (fixtures)
from test_magics_train import linear_rows

pytestmark = pytest.mark.timeout(300)
JOB = "deploy-src-job"


def rows_of(n, seed, features=3):
    """test_magics_train's label-first rows, as numbers."""
    return [[float(v) for v in line.split(",")]
            for line in linear_rows(n, seed, features).splitlines()]


def value(cell):
    try:
        return json.loads(cell.result)
    except (TypeError, ValueError):
        return cell.result


def run_with_stdin(k, code, allow_stdin=True, answer=None, timeout=60):
    """Run `code` with allow_stdin as given; answer one input_request with
    `answer` (or call it). Returns (Cell, the prompt asked or None)."""
    msg_id = k.kc.execute(code, allow_stdin=allow_stdin)
    prompt = []
    messages = []
    deadline = time.monotonic() + timeout
    while True:
        assert time.monotonic() < deadline, f"no idle after {timeout} s"
        if answer is not None and not prompt:
            try:
                req = k.kc.get_stdin_msg(timeout=0.1)
            except Exception:  # queue.Empty: nothing asked yet
                req = None
            if req and req["msg_type"] == "input_request":
                prompt.append(req["content"]["prompt"])
                if callable(answer):
                    answer()
                else:
                    k.kc.input(answer)
        try:
            msg = k.kc.get_iopub_msg(timeout=0.1)
        except Exception:
            continue
        k.published.append(msg)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        messages.append(msg)
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
    while True:
        reply = k.kc.get_shell_msg(timeout=10)
        if reply["parent_header"].get("msg_id") == msg_id:
            return Cell(reply, messages), (prompt[0] if prompt else None)


def wait_until(check, seconds, what):
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"{what} not within {seconds} s"
        time.sleep(0.2)


# ---- (a) the local backend ---------------------------------------------------


class Local(LocalKernel):
    """LocalKernel, with what this module asks of the service."""

    def endpoints(self):
        return {e["EndpointName"]: e["EndpointStatus"] for e in
                self.client("sagemaker").list_endpoints(MaxResults=100)["Endpoints"]}

    def names(self):
        """Names of the models, endpoint configs and endpoints there are."""
        sm = self.client("sagemaker")
        return ({m["ModelName"] for m in sm.list_models(MaxResults=100)["Models"]},
                {c["EndpointConfigName"] for c in
                 sm.list_endpoint_configs(MaxResults=100)["EndpointConfigs"]},
                set(self.endpoints()))

    def gone(self, name):
        return name not in self.endpoints()


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    assert os.path.exists(LOCAL_BIN), f"build it first: {LOCAL_BIN}"
    loc = Local(tmp_path_factory.mktemp("magics-deploy"))
    loc.kernel.start()
    try:
        (loc.work / "train.csv").write_text(linear_rows(300, 1))
        loc.kernel.ok("train = %upload train.csv", timeout=60)
        loc.kernel.ok(f"%train xgboost --train $train --name {JOB} "
                      "objective=reg:squarederror num_round=15 max_depth=3", timeout=120)
        yield loc
    finally:
        loc.kernel.stop()
        stop_local_service(loc.data_dir)


@pytest.fixture(scope="module")
def booster(local, tmp_path_factory):
    """Python XGBoost's Booster from the job's own model.tar.gz."""
    xgb = pytest.importorskip("xgboost")
    artifact = local.client("sagemaker").describe_training_job(
        TrainingJobName=JOB)["ModelArtifacts"]["S3ModelArtifacts"]
    bucket, key = artifact[len("s3://"):].split("/", 1)
    data = local.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    out = tmp_path_factory.mktemp("model")
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extract("xgboost-model", out)
    b = xgb.Booster()
    b.load_model(str(out / "xgboost-model"))
    return lambda feats: [float(v) for v in b.predict(xgb.DMatrix(feats))]


@pytest.fixture(scope="module")
def endpoint(local):
    cell = local.kernel.run(f"ep = %deploy {JOB} --name ep-main\nep", timeout=120)
    assert cell.status == "ok", cell.error
    return cell


def test_deploy_shows_a_live_card(local, endpoint):
    assert endpoint.result == "ep-main"
    cards = [c for t, c in endpoint.outputs if t == "display_data"
             and "endpoint ep-main" in c["data"].get("text/plain", "")]
    assert len(cards) == 1
    display_id = cards[0]["transient"]["display_id"]
    updates = endpoint.of("update_display_data")
    assert updates and all(u["transient"]["display_id"] == display_id for u in updates)
    final = updates[-1]["data"]
    for word in ("InService", "elapsed", "ml.m5.large x 1", "%predict ep-main"):
        assert word in final["text/plain"], final["text/plain"]
    assert "var(--jp-" in final["text/html"] and "console.aws" not in final["text/html"]
    sm = local.client("sagemaker")
    assert sm.describe_endpoint(EndpointName="ep-main")["EndpointStatus"] == "InService"
    config = sm.describe_endpoint_config(EndpointConfigName="ep-main")
    variant = config["ProductionVariants"][0]
    assert variant["InstanceType"] == "ml.m5.large" and variant["ModelName"] == "ep-main"
    model = sm.describe_model(ModelName="ep-main")
    job = sm.describe_training_job(TrainingJobName=JOB)
    assert model["PrimaryContainer"]["ModelDataUrl"] == job["ModelArtifacts"]["S3ModelArtifacts"]
    assert model["PrimaryContainer"]["Image"] == job["AlgorithmSpecification"]["TrainingImage"]


def test_default_names_are_the_sdks(local):
    k = local.kernel
    cell = k.ok(f"d = %deploy {JOB} --no-wait\nd")
    name = cell.result
    assert name.startswith("sagemaker-xgboost-20") and len(name) <= 63
    assert not cell.of("update_display_data") and name in cell.stdout
    k.ok(f"%delete {name} -f")


def test_deploy_an_existing_model(local, endpoint):
    k = local.kernel
    sm = local.client("sagemaker")

    def models():
        return {m["ModelName"] for m in sm.list_models(MaxResults=100)["Models"]}

    before = models()
    cell = k.ok("m = %deploy ep-main --name ep-from-model\nm", timeout=60)
    assert cell.result == "ep-from-model"
    variant = sm.describe_endpoint_config(
        EndpointConfigName="ep-from-model")["ProductionVariants"][0]
    assert variant["ModelName"] == "ep-main"
    assert models() == before  # no new model
    cell, prompt = run_with_stdin(k, "%delete ep-from-model", answer="yes")
    assert "model ep-main" in prompt and cell.result == "ep-from-model"
    wait_until(lambda: local.gone("ep-from-model"), 30, "the delete")
    # the model went with it (as it would on AWS, where ep-main keeps
    # serving its copy); made again for the tests that follow
    assert "ep-main" not in [m["ModelName"] for m in sm.list_models(MaxResults=100)["Models"]]
    job = sm.describe_training_job(TrainingJobName=JOB)
    sm.create_model(ModelName="ep-main", ExecutionRoleArn=job["RoleArn"], PrimaryContainer={
        "Image": job["AlgorithmSpecification"]["TrainingImage"],
        "ModelDataUrl": job["ModelArtifacts"]["S3ModelArtifacts"]})


def test_predict_row_file_and_cell(local, endpoint, booster):
    k = local.kernel
    feats = [r[1:] for r in rows_of(5, 7)]
    want = booster(feats)
    row = ",".join(f"{v:.5f}" for v in feats[0])
    p = value(k.ok(f"p = %predict $ep {row}\np"))
    assert len(p) == 1 and abs(p[0] - want[0]) < 1e-5, (p, want)
    # the value is bound and reachable
    assert abs(float(k.ok("${p.0}").result) - want[0]) < 1e-5
    # "1, 2, 3" is the same row as "1,2,3"
    spaced = ", ".join(f"{v:.5f}" for v in feats[0])
    cell = k.ok(f"%predict $ep {spaced}")
    assert abs(float(cell.result) - want[0]) < 1e-5  # shown as the endpoint said
    assert abs(value(k.ok("_"))[0] - want[0]) < 1e-5
    (local.work / "rows.csv").write_text(
        "".join(",".join(f"{v:.5f}" for v in f) + "\n" for f in feats))
    pf = value(k.ok("pf = %predict $ep --file rows.csv\npf"))
    assert len(pf) == 5 and all(abs(a - b) < 1e-5 for a, b in zip(pf, want)), (pf, want)
    # a file in SageMaker's training format: the label first, taken off
    # before sending and shown beside the predictions; --rows keeps a few
    labelled = rows_of(5, 7)
    (local.work / "labelled.csv").write_text(
        "".join(",".join(f"{v:.5f}" for v in r) + "\n" for r in labelled))
    cell = k.ok("%predict $ep --file labelled.csv --label-first --rows 3")
    pl = value(k.ok("pl = $_\npl"))
    assert len(pl) == 3 and all(abs(a - b) < 1e-5 for a, b in zip(pl, want)), (pl, want)
    table = cell.of("execute_result")[0]["data"]
    assert "<table" in table["text/html"]
    lines = table["text/plain"].splitlines()
    assert lines[0].split() == ["label", "prediction"] and len(lines) == 4
    assert lines[1].split()[0] == f"{labelled[0][0]:.5f}"
    assert "has no field after its label" in k.fails(
        "%%predict $ep --label-first\n1\n")["evalue"]
    body = "\n".join(",".join(f"{v:.5f}" for v in f) for f in feats[:3])
    cell = k.ok(f"%%predict $ep\n{body}\n\n")
    assert len(cell.result.splitlines()) == 3
    pc = value(k.ok("_"))
    assert len(pc) == 3 and all(abs(a - b) < 1e-5 for a, b in zip(pc, want)), (pc, want)
    assert abs(value(k.ok("_"))[2] - want[2]) < 1e-5
    # another answer type: JSON, kept as it came
    js = value(k.ok(f"js = %predict $ep {row} --accept json\njs"))
    assert abs(js["predictions"][0]["score"] - want[0]) < 1e-5
    # libsvm rows
    svm = " ".join(f"{i}:{v:.5f}" for i, v in enumerate(feats[1]))
    ls = value(k.ok(f"ls = %predict $ep --content-type libsvm '0 {svm}'\nls"))
    assert abs(ls[0] - want[1]) < 1e-5


def test_endpoints_lists_with_cost_and_owner(local, endpoint):
    k = local.kernel
    cell = k.ok("eps = %endpoints\n%endpoints")
    assert "ep-main" in cell.result and "ml.m5.large x 1" in cell.result
    assert "InService" in cell.result and "yes" in cell.result
    assert "2024-06-01" in cell.stdout and "us-east-1" in cell.stdout
    eps = value(k.ok("eps"))
    mine = [e for e in eps if e["name"] == "ep-main"][0]
    assert mine["this_kernel"] is True and mine["status"] == "InService"
    assert mine["instance_type"] == "ml.m5.large" and mine["instance_count"] == 1
    assert mine["uptime_seconds"] >= 0
    # an endpoint made elsewhere is listed, not marked
    sm = local.client("sagemaker")
    sm.create_endpoint_config(EndpointConfigName="elsewhere", ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": "ep-main",
        "InstanceType": "ml.c5.xlarge", "InitialInstanceCount": 2}])
    sm.create_endpoint(EndpointName="elsewhere", EndpointConfigName="elsewhere")
    try:
        eps = value(k.ok("e = %endpoints\ne"))
        other = [e for e in eps if e["name"] == "elsewhere"][0]
        assert other["this_kernel"] is False and other["instance_type"] == "ml.c5.xlarge"
        assert other["instance_count"] == 2
    finally:
        sm.delete_endpoint(EndpointName="elsewhere")
        sm.delete_endpoint_config(EndpointConfigName="elsewhere")


def test_dry_run_sends_nothing(local, endpoint):
    k = local.kernel
    before = local.names()
    cell = k.ok(f"%deploy {JOB} --name dry-ep --instance ml.c5.large --count 2 --dry-run")
    requests = json.loads(cell.result)
    assert list(requests) == ["CreateModel", "CreateEndpointConfig", "CreateEndpoint"]
    assert requests["CreateModel"]["ModelName"] == "dry-ep"
    variant = requests["CreateEndpointConfig"]["ProductionVariants"][0]
    assert variant["InstanceType"] == "ml.c5.large" and variant["InitialInstanceCount"] == 2
    assert requests["CreateEndpoint"] == {"EndpointName": "dry-ep",
                                          "EndpointConfigName": "dry-ep"}
    assert "nothing was sent" in cell.stdout
    # nothing new (an endpoint deleted earlier may finish going meanwhile)
    assert all(after <= was for after, was in zip(local.names(), before))


def test_ttl_deletes_the_endpoint(local):
    k = local.kernel
    cell = k.ok(f"%deploy {JOB} --name ep-ttl --ttl 2s", timeout=60)
    assert "will be deleted at" in cell.stdout and "exits first" in cell.stdout
    assert "deleted at" in cell.of("update_display_data")[-1]["data"]["text/plain"]
    wait_until(lambda: local.gone("ep-ttl"), 30, "the ttl's delete")
    sm = local.client("sagemaker")
    models = [m["ModelName"] for m in sm.list_models(MaxResults=100)["Models"]]
    assert "ep-ttl" not in models
    assert "ep-ttl" not in str(k.ok("%endpoints").result)


def test_delete_asks_first(local):
    k = local.kernel
    k.ok(f"%deploy {JOB} --name ep-ask --no-wait")
    cell, prompt = run_with_stdin(k, "%delete ep-ask", answer="n")
    assert cell.status == "ok"
    assert prompt == ("Delete endpoint ep-ask, endpoint config ep-ask and model ep-ask? "
                      "[y/N] "), prompt
    assert "nothing was deleted" in cell.stdout
    assert not local.gone("ep-ask")
    cell, _ = run_with_stdin(k, "%delete ep-ask", allow_stdin=False)
    assert cell.status == "error" and "-f" in cell.error["evalue"]
    assert "\n" not in cell.error["evalue"]
    assert not local.gone("ep-ask")
    cell, _ = run_with_stdin(k, "%delete ep-ask", answer=k.km.interrupt_kernel)
    assert cell.status == "error" and cell.error["ename"] == "KeyboardInterrupt"
    assert "nothing was deleted" in cell.error["evalue"]
    assert not local.gone("ep-ask")
    cell, prompt = run_with_stdin(k, "%delete ep-ask", answer="y")
    assert cell.status == "ok", cell.error
    assert cell.result == "ep-ask" and "endpoint config ep-ask" in cell.stdout
    wait_until(lambda: local.gone("ep-ask"), 30, "the delete")
    sm = local.client("sagemaker")
    assert "ep-ask" not in [m["ModelName"] for m in sm.list_models(MaxResults=100)["Models"]]
    assert "ep-ask" not in [c["EndpointConfigName"] for c in
                            sm.list_endpoint_configs(MaxResults=100)["EndpointConfigs"]]


def test_cleanup_removes_what_this_kernel_made(local, tmp_path):
    env = dict(local.env)
    k = Kernel(env, local.work).start()
    try:
        k.ok(f"%deploy {JOB} --name ep-c1 --no-wait\n%deploy {JOB} --name ep-c2 --no-wait")
        cell, prompt = run_with_stdin(k, "%cleanup", answer="no")
        assert "ep-c1" in prompt and "ep-c2" in prompt and "nothing was deleted" in cell.stdout
        cell = k.ok("gone = %cleanup -f\ngone")
        assert json.loads(cell.result) == ["ep-c1", "ep-c2"]
        wait_until(lambda: local.gone("ep-c1") and local.gone("ep-c2"), 30, "cleanup")
        assert "no endpoints to clean up" in k.ok("%cleanup").stdout
    finally:
        k.stop()


def test_cleanup_on_exit_and_the_warning(local, tmp_path):
    stderr = tmp_path / "kernel.stderr"
    k = Kernel(dict(local.env), local.work, stderr_path=stderr).start()
    k.ok("%config cleanup_on_exit=true")
    k.ok(f"%deploy {JOB} --name ep-exit --no-wait")
    k.stop()
    wait_until(lambda: local.gone("ep-exit"), 30, "cleanup_on_exit")
    stderr2 = tmp_path / "kernel2.stderr"
    k = Kernel(dict(local.env), local.work, stderr_path=stderr2).start()
    try:
        k.ok(f"%deploy {JOB} --name ep-left --no-wait\n"
             f"%deploy {JOB} --name ep-gone-already --no-wait")
        # deleted behind the kernel's back: no warning for it
        sm = local.client("sagemaker")
        sm.delete_endpoint(EndpointName="ep-gone-already")
        wait_until(lambda: local.gone("ep-gone-already"), 30, "the delete")
    finally:
        k.stop()
    try:
        text = stderr2.read_text()
        assert "ep-left" in text and "left running" in text, text
        assert "ep-gone-already" not in text, text
        assert not local.gone("ep-left")
    finally:
        local.client("sagemaker").delete_endpoint(EndpointName="ep-left")


def test_interrupt_leaves_it_creating(local):
    k = local.kernel
    k.ok("%config poll=5")
    interrupted_at = []

    def on_message(msg):
        if not interrupted_at and msg["msg_type"] == "display_data":
            k.km.interrupt_kernel()
            interrupted_at.append(time.monotonic())

    try:
        cell = k.run(f"%deploy {JOB} --name ep-int", timeout=60, on_message=on_message)
        done = time.monotonic()
    finally:
        k.ok("%config poll=auto")
    assert interrupted_at
    assert done - interrupted_at[0] < 1.0, f"took {done - interrupted_at[0]:.2f} s"
    assert cell.status == "error" and cell.error["ename"] == "KeyboardInterrupt"
    assert "keeps being created" in cell.error["evalue"]
    assert "%delete ep-int" in cell.error["evalue"]
    assert not local.gone("ep-int")
    k.ok("%delete ep-int -f")


BAD_CELLS = [  # (cell, words its error names)
    ("%predict no-such-endpoint 1,2,3", ["no-such-endpoint"]),
    ("%predict $ep 1,abc,3", ["ModelError", "abc"]),
    ("%predict $ep", ["ROW", "--file"]),
    ("%predict $ep 1,2,3 --file rows.csv", ["one of"]),
    ("%%predict $ep\n\n  \n", ["no rows to send", "%%predict body"]),
    ("%%predict $ep 1,2,3\n4,5,6\n", ["one of"]),
    ("%predict $ep --file no-such-file.csv", ["no-such-file.csv"]),
    ("%predict $ep 1,2,3 --content-type nonsense", ["--content-type"]),
    ("%deploy no-such-job", ["no training job or model named no-such-job"]),
    (f"%deploy {JOB} --ttl 5x", ["--ttl", "5x"]),
    (f"%deploy {JOB} --ttl 0s", ["--ttl", "0s"]),
    (f"%deploy {JOB} --ttl 31d", ["--ttl", "31d"]),
    (f"%deploy {JOB} --ttl=-5m", ["--ttl", "-5m"]),
    (f"%deploy {JOB} --count 0", ["--count"]),
    (f"%deploy {JOB} --instanse ml.m5.large", ["--instance"]),
    (f"%deploy {JOB} --instance m5.large", ["ml.m5.large"]),
    ("%delete no-such-endpoint -f", ["no endpoint named no-such-endpoint"]),
    (f"%deploy {JOB} --name ep-main", ["ep-main"]),
]


def test_errors_are_one_sentence(local, endpoint):
    k = local.kernel
    for code, words in BAD_CELLS:
        e = k.fails(code)
        for w in words:
            assert w in e["evalue"], (code, e)
    assert k.fails("%predict no-such-endpoint 1,2,3")["ename"] == "ClientError"
    # the failed deploy took nothing with it, and left nothing behind
    assert local.client("sagemaker").describe_endpoint(
        EndpointName="ep-main")["EndpointStatus"] == "InService"
    assert "SecretAccessKey" not in local.kernel.all_published_text()
    secret = json.loads((local.data_dir / "credentials.json").read_text())["SecretAccessKey"]
    assert secret not in local.kernel.all_published_text()


def test_help_and_completion(local, endpoint):
    k = local.kernel
    for magic in ("deploy", "predict", "endpoints", "delete", "cleanup"):
        text = k.ok(f"%{magic} --help").text()
        assert "Example:" in text and f"%{magic}" in text
    assert "ep-main" in k.complete("%delete ep-m")["matches"]
    assert "ep-main" in k.complete("%predict ep-")["matches"]
    assert JOB in k.complete("%deploy deploy-src")["matches"]


# ---- (b) the aws backend against moto ---------------------------------------

@pytest.fixture(scope="module")
def aws_job(aws):
    """test_magics_data's kernel on moto, with a role and a trained job."""
    aws.ok(f"%config role=arn:aws:iam::{MOTO_ACCOUNT}:role/SageMakerRole")
    (aws.work / "deploy-train.csv").write_text(linear_rows(50, 3))
    aws.ok("train = %upload deploy-train.csv")
    cell = aws.ok("job = %train xgboost --train $train --name moto-job num_round=3", timeout=60)
    # on aws the training card links to the job in the console
    assert ("https://us-east-1.console.aws.amazon.com/sagemaker/home?region=us-east-1"
            "#/jobs/moto-job") in cell.text()
    return aws


def test_aws_dry_run_has_the_cost(aws_job, moto):
    sm = moto_client(moto, "sagemaker")
    before = len(sm.list_models()["Models"]), len(sm.list_endpoints()["Endpoints"])
    cell = aws_job.ok("%deploy moto-job --name moto-dry --dry-run")
    assert "$0.115 per hour" in cell.stdout and "ml.m5.large" in cell.stdout
    assert set(json.loads(cell.result)) == {"CreateModel", "CreateEndpointConfig",
                                            "CreateEndpoint"}
    assert (len(sm.list_models()["Models"]), len(sm.list_endpoints()["Endpoints"])) == before


def test_aws_deploy_predict_list_delete(aws_job, moto):
    sm = moto_client(moto, "sagemaker")
    cell = aws_job.ok("ep = %deploy $job --name moto-ep\nep", timeout=60)
    assert cell.result == "moto-ep"
    cards = [c for t, c in cell.outputs if t in ("display_data", "update_display_data")
             and "endpoint moto-ep" in c["data"].get("text/plain", "")]
    final = cards[-1]["data"]
    assert "InService" in final["text/plain"]
    assert ("https://us-east-1.console.aws.amazon.com/sagemaker/home?region=us-east-1"
            "#/endpoints/moto-ep") in final["text/plain"]
    assert "<a href=" in final["text/html"] and "$0.115 per hour" in final["text/plain"]
    job = sm.describe_training_job(TrainingJobName="moto-job")
    model = sm.describe_model(ModelName="moto-ep")
    assert model["PrimaryContainer"]["ModelDataUrl"] == job["ModelArtifacts"]["S3ModelArtifacts"]
    queue_answers(moto, [{"Body": "0.25\n0.75\n", "ContentType": "text/csv",
                          "InvokedProductionVariant": "AllTraffic", "CustomAttributes": ""}])
    assert value(aws_job.ok("p = %predict $ep 1,2,3\np")) == [0.25, 0.75]
    queue_answers(moto, [
        {"Body": "cat,0.9\ndog,0.1\n", "ContentType": "text/csv",
         "InvokedProductionVariant": "AllTraffic", "CustomAttributes": ""},
        {"Body": "{not json", "ContentType": "application/json",
         "InvokedProductionVariant": "AllTraffic", "CustomAttributes": ""}])
    assert value(aws_job.ok("q = %predict $ep 4,5,6\nq")) == [["cat", 0.9], ["dog", 0.1]]
    e = aws_job.fails("%predict $ep 7,8,9")
    assert "cannot be read as predictions" in e["evalue"] and "application/json" in e["evalue"]
    # labels that the answer does not pair up with are not set beside it
    queue_answers(moto, [
        {"Body": "0.5\n", "ContentType": "text/csv",
         "InvokedProductionVariant": "AllTraffic", "CustomAttributes": ""},
        {"Body": '{"predictions": [0.1, 0.2]}', "ContentType": "application/json",
         "InvokedProductionVariant": "AllTraffic", "CustomAttributes": ""}])
    short = aws_job.ok("%%predict $ep --label-first\n1,2,3\n0,4,5\n").result
    assert short == ("the endpoint answered 1 prediction for 2 rows, so they are not "
                     "shown beside the labels:\n0.5"), short
    assert value(aws_job.ok("_")) == [0.5]
    whole = aws_job.ok("%%predict $ep --label-first\n1,6,7\n0,8,9\n").result
    assert whole.splitlines() == [
        "the endpoint's answer is not one prediction a row, so it is not shown "
        "beside the 2 labels:", '{"predictions": [0.1, 0.2]}'], whole
    eps = value(aws_job.ok("e = %endpoints\ne"))
    mine = [e for e in eps if e["name"] == "moto-ep"][0]
    assert mine["this_kernel"] is True and mine["instance_type"] == "ml.m5.large"
    assert mine["estimated_cost_usd"] is not None and mine["estimated_cost_usd"] >= 0
    cell = aws_job.ok("%delete $ep -f")
    assert "endpoint moto-ep" in cell.stdout
    assert "moto-ep" not in [e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]]
    assert "moto-ep" not in [m["ModelName"] for m in sm.list_models()["Models"]]
    assert SECRET not in aws_job.all_published_text()


def test_aws_cleanup(aws_job, moto):
    sm = moto_client(moto, "sagemaker")
    aws_job.ok("%deploy moto-job --name moto-c1 --no-wait")
    cell = aws_job.ok("c = %cleanup -f\nc")
    assert json.loads(cell.result) == ["moto-c1"]
    assert "moto-c1" not in [e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]]


def test_aws_ttl(aws_job, moto):
    """The timer's own client reaches the same endpoint_url and keys."""
    sm = moto_client(moto, "sagemaker")
    aws_job.ok("%deploy moto-job --name moto-ttl --ttl 1s --no-wait")
    wait_until(lambda: "moto-ttl" not in [e["EndpointName"] for e in
                                          sm.list_endpoints()["Endpoints"]], 30, "the ttl")
    assert "moto-ttl" not in [m["ModelName"] for m in sm.list_models()["Models"]]
    assert "moto-ttl" not in [c["EndpointConfigName"] for c in
                              sm.list_endpoint_configs()["EndpointConfigs"]]
