"""The client core (client/aws.c and friends) through `sagemagic-aws`,
against peers that misbehave on purpose and against moto.

(a) A scripted HTTP server on 127.0.0.1 (http.server in a thread):
    throttling, 5xx, slow answers, validation errors, clock skew, container
    credentials, IMDSv2 and AssumeRole.
(b) moto in server mode, with AWS_ENDPOINT_URL pointing at it.
(c) Secrets (secret key, session tokens, container token) never appear in
    anything the CLI prints, even with SAGEMAGIC_LOG=debug.

Nothing here talks to anything but 127.0.0.1, reads the real ~/.aws, or
waits without a bound. Every server is stopped.
"""
import datetime
import email.utils
import json
import os
import pathlib
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
# SAGEMAGIC_AWS, else next to SAGEMAGIC_KERNEL (so `make asan` tests its own
# build), else build/.
_KERNEL = os.environ.get("SAGEMAGIC_KERNEL")
AWS_BIN = os.environ.get(
    "SAGEMAGIC_AWS",
    str(pathlib.Path(_KERNEL).parent / "sagemagic-aws") if _KERNEL else str(ROOT / "build" / "sagemagic-aws"),
)

SECRET = "SECRETkey/0123456789abcdefghijklmnopqrstuv"
TOKEN = "TOKENsession0123456789abcdefghijklmnopqrstuvwxyz=="
ROLE_SECRET = "ROLEsecret/0123456789abcdefghijklmnopqrstu"
ROLE_TOKEN = "ROLEtoken0123456789abcdefghijklmnopqrstuvwxyz=="
CONTAINER_AUTH = "CONTAINERauthtoken-0123456789abcdef"
CONTAINER_SECRET = "CONTAINERsecret/0123456789abcdefghijklmnop"
CONTAINER_TOKEN = "CONTAINERtoken0123456789abcdefghijklmnop=="
IMDS_SECRET = "IMDSsecret/0123456789abcdefghijklmnopqrstuv"
IMDS_TOKEN = "IMDSsessiontoken0123456789abcdefghijklmnop=="
IMDS_API_TOKEN = "IMDSapitoken-0123456789abcdefghij"

FAR_FUTURE = "2099-01-01T00:00:00Z"


# ---- a scripted server ------------------------------------------------------


class Recorded:
    def __init__(self, method, path, headers, body, peer=None):
        self.peer = peer  # the client's (host, port): one per connection
        self.method = method
        self.path = path
        self.headers = {k.lower(): v for k, v in headers.items()}
        self.body = body

    @property
    def target(self):
        return self.headers.get("x-amz-target", "")

    @property
    def form(self):
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}


class FakeAWS:
    """Answers each request with `route(req)` -> (status, headers, body)."""

    def __init__(self):
        self.requests = []
        self.lock = threading.Lock()
        self.release = threading.Event()  # ends any deliberate stall
        self.route = lambda req: (200, {}, b"{}")
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def handle_one(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                req = Recorded(self.command, self.path, dict(self.headers), body, self.client_address)
                with fake.lock:
                    fake.requests.append(req)
                status, headers, payload = fake.route(req)
                if isinstance(payload, str):
                    payload = payload.encode()
                self.send_response_only(status)
                headers = dict(headers)
                headers.setdefault("Date", email.utils.formatdate(usegmt=True))
                headers.setdefault("Content-Length", str(len(payload)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            def do_any(self):
                try:
                    self.handle_one()
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = do_any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@pytest.fixture
def fake():
    server = FakeAWS()
    yield server
    server.stop()


def json_error(status, code, message):
    body = json.dumps({"__type": code, "message": message})
    return status, {"x-amzn-RequestId": "req-1", "Content-Type": "application/x-amz-json-1.1"}, body


def sts_assume_role_xml(key, secret, token):
    return (
        "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
        "<AssumeRoleResult><Credentials>"
        f"<AccessKeyId>{key}</AccessKeyId><SecretAccessKey>{secret}</SecretAccessKey>"
        f"<SessionToken>{token}</SessionToken><Expiration>{FAR_FUTURE}</Expiration>"
        "</Credentials><AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/ML/nb</Arn>"
        "<AssumedRoleId>AROA:nb</AssumedRoleId></AssumedRoleUser></AssumeRoleResult>"
        "<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></AssumeRoleResponse>"
    )


# ---- running the CLI -----------------------------------------------------------


@pytest.fixture
def home(tmp_path):
    """A HOME of its own, so the real ~/.aws is never read."""
    (tmp_path / ".aws").mkdir()
    return tmp_path


def clean_env(home, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and not k.startswith("SAGEMAGIC_")}
    env.update(
        HOME=str(home),
        AWS_CONFIG_FILE=str(home / ".aws" / "config"),
        AWS_SHARED_CREDENTIALS_FILE=str(home / ".aws" / "credentials"),
        AWS_EC2_METADATA_DISABLED="true",
        AWS_REGION="us-east-1",
        SAGEMAGIC_LOG="warn",
    )
    env.update({k: v for k, v in extra.items() if v is not None})
    for k, v in extra.items():
        if v is None:
            env.pop(k, None)
    return env


def static_keys(**extra):
    return dict(AWS_ACCESS_KEY_ID="AKIDTESTKEY", AWS_SECRET_ACCESS_KEY=SECRET, AWS_SESSION_TOKEN=TOKEN, **extra)


def run_cli(env, *args, timeout=60, input=""):
    assert os.path.exists(AWS_BIN), f"build it first: {AWS_BIN}"
    start = time.monotonic()
    proc = subprocess.run(
        [AWS_BIN, *args], env=env, capture_output=True, text=True, timeout=timeout, input=input
    )
    proc.elapsed = time.monotonic() - start
    return proc


# ---- (a) retries, errors, skew --------------------------------------------------


def test_throttling_twice_then_success(fake, home):
    answers = [json_error(400, "ThrottlingException", "Rate exceeded")] * 2
    answers.append((200, {}, json.dumps({"TrainingJobSummaries": [{"TrainingJobName": "j"}]})))
    fake.route = lambda req: answers[min(len(fake.requests), 3) - 1]
    env = clean_env(home, AWS_ENDPOINT_URL=fake.url, **static_keys())
    proc = run_cli(env, "call", "sagemaker", "ListTrainingJobs", "{}")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["TrainingJobSummaries"][0]["TrainingJobName"] == "j"
    assert len(fake.requests) == 3
    assert all(r.target == "SageMaker.ListTrainingJobs" for r in fake.requests)
    assert all(r.headers["content-type"] == "application/x-amz-json-1.1" for r in fake.requests)
    assert proc.elapsed < 10  # backoff: at most 1 s + 2 s of jitter
    assert len({r.peer for r in fake.requests}) == 1  # one connection, reused


def test_server_errors_give_up_after_three_attempts(fake, home):
    fake.route = lambda req: json_error(500, "InternalFailure", "We encountered an internal error.")
    env = clean_env(home, AWS_ENDPOINT_URL=fake.url, **static_keys())
    proc = run_cli(env, "call", "logs", "DescribeLogGroups")
    assert proc.returncode == 1
    assert len(fake.requests) == 3
    assert all(r.target == "Logs_20140328.DescribeLogGroups" for r in fake.requests)
    lines = proc.stderr.strip().splitlines()
    assert lines == [
        "sagemagic-aws call: DescribeLogGroups failed: InternalFailure: We encountered an internal error."
    ]
    assert proc.stdout == ""


def test_html_502_from_a_proxy(fake, home):
    fake.route = lambda req: (502, {"Content-Type": "text/html"}, "<html><body>Bad Gateway</body></html>")
    env = clean_env(home, AWS_ENDPOINT_URL=fake.url, AWS_MAX_ATTEMPTS="2", **static_keys())
    proc = run_cli(env, "call", "sagemaker", "ListModels")
    assert proc.returncode == 1
    assert len(fake.requests) == 2
    assert proc.stderr.strip() == "sagemagic-aws call: ListModels failed: 502: Bad Gateway"


def test_slow_answer_times_out_in_bounded_time(fake, home):
    def stall(req):
        fake.release.wait(30)
        return 200, {}, "{}"

    fake.route = stall
    env = clean_env(
        home, AWS_ENDPOINT_URL=fake.url, SAGEMAGIC_READ_TIMEOUT_MS="1000", AWS_MAX_ATTEMPTS="2", **static_keys()
    )
    proc = run_cli(env, "call", "sagemaker", "ListEndpoints", timeout=30)
    assert proc.returncode == 1
    assert "read timeout" in proc.stderr
    assert proc.stderr.startswith("sagemagic-aws call: ListEndpoints failed: ")
    assert len(fake.requests) == 2  # a timeout is retried, like any transient failure
    assert proc.elapsed < 10


def test_connection_refused_is_one_line(home):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = clean_env(home, AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}", AWS_MAX_ATTEMPTS="1", **static_keys())
    proc = run_cli(env, "call", "sagemaker", "ListModels")
    assert proc.returncode == 1
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "ListModels failed: POST http://127.0.0.1" in proc.stderr


def test_libcurl_that_cannot_be_loaded_is_one_clear_sentence(fake, home):
    fake.route = lambda req: (200, {}, "{}")
    env = clean_env(home, AWS_ENDPOINT_URL=fake.url, SAGEMAGIC_LIBCURL="/nonexistent/libcurl.so.4",
                    **static_keys())
    proc = run_cli(env, "call", "sagemaker", "ListModels")
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "sagemagic-aws call: ListModels failed: cannot load libcurl (libcurl4): "
        "/nonexistent/libcurl.so.4: cannot open shared object file: No such file or directory"
    ]
    assert fake.requests == []  # not retried either: it cannot get better


def test_libcurl_is_loaded_on_the_first_request_only(home, tmp_path):
    """A client is made and an upload begins without libcurl: the missing
    local file is what fails, not the library nobody needed yet."""
    env = clean_env(home, AWS_ENDPOINT_URL="http://127.0.0.1:1", SAGEMAGIC_LIBCURL="/nonexistent/libcurl.so.4",
                    **static_keys())
    missing = tmp_path / "no-such-file"
    proc = run_cli(env, "s3", "cp", str(missing), "s3://bucket/key")
    assert proc.returncode == 1
    assert f"cannot read {missing}" in proc.stderr
    assert "cannot load libcurl" not in proc.stderr


def test_validation_message_reaches_the_caller_verbatim(fake, home):
    message = (
        "1 validation error detected: Value 'ml.bogus' at 'resourceConfig.instanceType' failed to "
        "satisfy constraint: Member must satisfy enum value set: [ml.m5.large, ml.m5.xlarge] \u2014 ok"
    )
    fake.route = lambda req: json_error(400, "com.amazon.coral.validate#ValidationException", message)
    env = clean_env(home, AWS_ENDPOINT_URL=fake.url, **static_keys())
    proc = run_cli(env, "call", "sagemaker", "CreateTrainingJob", '{"TrainingJobName": "x"}')
    assert proc.returncode == 1
    assert len(fake.requests) == 1
    assert json.loads(fake.requests[0].body) == {"TrainingJobName": "x"}
    assert proc.stderr == f"sagemagic-aws call: CreateTrainingJob failed: ValidationException: {message}\n"


def test_clock_skew_is_corrected_and_resigned(fake, home):
    ahead = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)

    def route(req):
        if len(fake.requests) == 1:
            status, headers, body = json_error(
                403, "RequestTimeTooSkewed", "The difference between the request time and the current time is too large."
            )
            headers["Date"] = email.utils.format_datetime(ahead, usegmt=True)
            return status, headers, body
        return 200, {}, "{}"

    fake.route = route
    env = clean_env(home, AWS_ENDPOINT_URL=fake.url, AWS_MAX_ATTEMPTS="1", **static_keys())
    proc = run_cli(env, "call", "sagemaker", "ListModels")
    assert proc.returncode == 0, proc.stderr
    assert len(fake.requests) == 2
    first = datetime.datetime.strptime(fake.requests[0].headers["x-amz-date"], "%Y%m%dT%H%M%SZ")
    second = datetime.datetime.strptime(fake.requests[1].headers["x-amz-date"], "%Y%m%dT%H%M%SZ")
    first = first.replace(tzinfo=datetime.timezone.utc)
    second = second.replace(tzinfo=datetime.timezone.utc)
    assert abs((first - (ahead - datetime.timedelta(hours=1))).total_seconds()) < 60
    assert abs((second - ahead).total_seconds()) < 60
    assert fake.requests[0].headers["authorization"] != fake.requests[1].headers["authorization"]


# ---- (a) credentials from the machine and from roles ----------------------------------


def service_call_route(fake, creds_route):
    """Route credential fetches to `creds_route`, service calls to {}."""

    def route(req):
        answer = creds_route(req)
        return answer if answer else (200, {}, "{}")

    return route


def test_container_credentials_full_uri_with_token(fake, home):
    def creds(req):
        if req.path == "/creds":
            if req.headers.get("authorization") != CONTAINER_AUTH:
                return 401, {}, "no"
            return 200, {}, json.dumps(
                {
                    "AccessKeyId": "ASIACONTAINER",
                    "SecretAccessKey": CONTAINER_SECRET,
                    "Token": CONTAINER_TOKEN,
                    "Expiration": FAR_FUTURE,
                }
            )
        return None

    fake.route = service_call_route(fake, creds)
    env = clean_env(
        home,
        AWS_ENDPOINT_URL=fake.url,
        AWS_CONTAINER_CREDENTIALS_FULL_URI=f"{fake.url}/creds",
        AWS_CONTAINER_AUTHORIZATION_TOKEN=CONTAINER_AUTH,
    )
    proc = run_cli(env, "call", "sagemaker", "ListModels")
    assert proc.returncode == 0, proc.stderr
    assert [r.path for r in fake.requests] == ["/creds", "/"]
    call = fake.requests[1]
    assert "Credential=ASIACONTAINER/" in call.headers["authorization"]
    assert call.headers["x-amz-security-token"] == CONTAINER_TOKEN

    # The token from a file wins over the variable.
    (home / "token").write_text(CONTAINER_AUTH + "\n")
    env["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "wrong"
    env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = str(home / "token")
    proc = run_cli(env, "call", "sagemaker", "ListModels")
    assert proc.returncode == 0, proc.stderr


def test_container_full_uri_must_be_local_or_https(home):
    env = clean_env(home, AWS_CONTAINER_CREDENTIALS_FULL_URI="http://example.invalid/creds")
    proc = run_cli(env, "call", "sagemaker", "ListModels", timeout=20)
    assert proc.returncode == 1
    assert "AWS_CONTAINER_CREDENTIALS_FULL_URI must be https" in proc.stderr


def test_imdsv2_sequence(fake, home):
    def creds(req):
        base = "/latest/meta-data/iam/security-credentials/"
        if req.path == "/latest/api/token":
            assert req.method == "PUT"
            assert req.headers.get("x-aws-ec2-metadata-token-ttl-seconds") == "21600"
            return 200, {}, IMDS_API_TOKEN
        if req.path.startswith("/latest/"):
            if req.headers.get("x-aws-ec2-metadata-token") != IMDS_API_TOKEN:
                return 401, {}, ""
            if req.path == base:
                return 200, {}, "notebook-role\n"
            if req.path == base + "notebook-role":
                return 200, {}, json.dumps(
                    {
                        "Code": "Success",
                        "Type": "AWS-HMAC",
                        "AccessKeyId": "ASIAIMDS",
                        "SecretAccessKey": IMDS_SECRET,
                        "Token": IMDS_TOKEN,
                        "Expiration": FAR_FUTURE,
                    }
                )
            return 404, {}, ""
        return None

    fake.route = service_call_route(fake, creds)
    env = clean_env(
        home, AWS_ENDPOINT_URL=fake.url, AWS_EC2_METADATA_DISABLED=None, AWS_EC2_METADATA_SERVICE_ENDPOINT=fake.url
    )
    proc = run_cli(env, "call", "sagemaker", "ListModels")
    assert proc.returncode == 0, proc.stderr
    assert [(r.method, r.path) for r in fake.requests] == [
        ("PUT", "/latest/api/token"),
        ("GET", "/latest/meta-data/iam/security-credentials/"),
        ("GET", "/latest/meta-data/iam/security-credentials/notebook-role"),
        ("POST", "/"),
    ]
    call = fake.requests[3]
    assert "Credential=ASIAIMDS/" in call.headers["authorization"]
    assert call.headers["x-amz-security-token"] == IMDS_TOKEN


def write_role_profile(home, region="us-east-1"):
    (home / ".aws" / "config").write_text(
        f"[profile ml]\nregion = {region}\n"
        "role_arn = arn:aws:iam::123456789012:role/ML\n"
        "source_profile = base\n"
        "role_session_name = nb\n"
    )
    (home / ".aws" / "credentials").write_text(
        f"[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = {SECRET}\n"
    )


def test_assume_role_profile_against_fake_sts(fake, home):
    def route(req):
        if req.target:
            return 200, {}, "{}"
        assert req.form["Action"] == "AssumeRole"
        return 200, {"Content-Type": "text/xml"}, sts_assume_role_xml("ASIAROLE", ROLE_SECRET, ROLE_TOKEN)

    fake.route = route
    write_role_profile(home, region="eu-west-1")
    env = clean_env(home, AWS_ENDPOINT_URL=fake.url, AWS_REGION=None, AWS_PROFILE="ml")
    proc = run_cli(env, "call", "sagemaker", "ListModels")
    assert proc.returncode == 0, proc.stderr
    assume, call = fake.requests
    assert assume.form == {
        "Action": "AssumeRole",
        "Version": "2011-06-15",
        "RoleArn": "arn:aws:iam::123456789012:role/ML",
        "RoleSessionName": "nb",
    }
    assert "Credential=AKIDBASE/" in assume.headers["authorization"]
    assert "/eu-west-1/sts/aws4_request" in assume.headers["authorization"]
    assert "Credential=ASIAROLE/" in call.headers["authorization"]
    assert "/eu-west-1/sagemaker/aws4_request" in call.headers["authorization"]
    assert call.headers["x-amz-security-token"] == ROLE_TOKEN


def test_credential_process_from_profile(fake, home):
    helper = home / "helper.sh"
    helper.write_text(
        "#!/bin/sh\n"
        f'echo \'{{"Version": 1, "AccessKeyId": "ASIAPROC", "SecretAccessKey": "{SECRET}",'
        f' "SessionToken": "{TOKEN}", "Expiration": "{FAR_FUTURE}"}}\'\n'
    )
    helper.chmod(0o700)
    (home / ".aws" / "config").write_text(f"[default]\ncredential_process = {helper} --format process\n")
    env = clean_env(home, AWS_ENDPOINT_URL=fake.url)
    proc = run_cli(env, "call", "sagemaker", "ListModels")
    assert proc.returncode == 0, proc.stderr
    assert "Credential=ASIAPROC/" in fake.requests[0].headers["authorization"]


def test_cli_usage_errors(home):
    env = clean_env(home, **static_keys())
    assert run_cli(env, "call").returncode == 2
    proc = run_cli(env, "call", "s3", "ListBuckets")
    assert proc.returncode == 2 and "unknown service 's3'" in proc.stderr
    proc = run_cli(env, "call", "sagemaker", "ListModels", "[1]")
    assert proc.returncode == 1 and "not a JSON object" in proc.stderr
    proc = run_cli(env, "whoami", "--bogus")
    assert proc.returncode == 2
    proc = run_cli(env, "whoami", "--help")
    assert proc.returncode == 0 and "GetCallerIdentity" in proc.stdout
    proc = run_cli(clean_env(home, AWS_REGION=None, **static_keys()), "whoami")
    assert proc.returncode == 1
    assert proc.stderr == "sagemagic-aws whoami: configure failed: no region: set %config region=... or AWS_REGION\n"


# ---- (b) moto --------------------------------------------------------------------------


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def moto_url():
    server_mod = pytest.importorskip("moto.server")
    port = free_port()
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(0.1)
    else:
        server.stop()
        pytest.fail("moto did not start")
    yield url
    server.stop()


def test_moto_whoami(moto_url, home):
    env = clean_env(home, AWS_ENDPOINT_URL=moto_url, **static_keys())
    proc = run_cli(env, "whoami")
    assert proc.returncode == 0, proc.stderr
    ident = json.loads(proc.stdout)
    assert ident["Account"] == "123456789012"
    assert ident["Arn"].startswith("arn:aws:")
    assert ident["UserId"]


def test_moto_whoami_flags(moto_url, home):
    (home / ".aws" / "credentials").write_text(
        f"[other]\naws_access_key_id = AKIDOTHER\naws_secret_access_key = {SECRET}\n"
    )
    env = clean_env(home, AWS_REGION=None)
    proc = run_cli(env, "whoami", "--region", "eu-west-1", "--profile", "other", "--endpoint-url", moto_url)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["Account"] == "123456789012"


def test_moto_list_training_jobs(moto_url, home):
    env = clean_env(home, AWS_ENDPOINT_URL=moto_url, **static_keys())
    proc = run_cli(env, "call", "sagemaker", "ListTrainingJobs", "{}")
    assert proc.returncode == 0, proc.stderr
    assert "TrainingJobSummaries" in json.loads(proc.stdout)


def test_moto_describe_log_groups(moto_url, home):
    env = clean_env(home, AWS_ENDPOINT_URL=moto_url, **static_keys())
    proc = run_cli(env, "call", "logs", "CreateLogGroup", '{"logGroupName": "/aws/sagemaker/TrainingJobs"}')
    assert proc.returncode == 0, proc.stderr
    proc = run_cli(env, "call", "logs", "DescribeLogGroups", "-", input='{"limit": 50}')
    assert proc.returncode == 0, proc.stderr
    names = [g["logGroupName"] for g in json.loads(proc.stdout)["logGroups"]]
    assert "/aws/sagemaker/TrainingJobs" in names


def test_moto_not_found_is_validation_exception(moto_url, home):
    env = clean_env(home, AWS_ENDPOINT_URL=moto_url, **static_keys())
    proc = run_cli(env, "call", "sagemaker", "DescribeTrainingJob", '{"TrainingJobName": "nope"}')
    assert proc.returncode == 1
    assert proc.stderr.startswith("sagemagic-aws call: DescribeTrainingJob failed: ValidationException: ")


def test_moto_assume_role_profile(moto_url, home):
    write_role_profile(home)
    env = clean_env(home, AWS_ENDPOINT_URL=moto_url, AWS_PROFILE="ml")
    proc = run_cli(env, "whoami")
    assert proc.returncode == 0, proc.stderr
    assert ":assumed-role/ML/nb" in json.loads(proc.stdout)["Arn"]


# ---- (c) secrets ---------------------------------------------------------------------------


ALL_SECRETS = [SECRET, TOKEN, ROLE_SECRET, ROLE_TOKEN, CONTAINER_AUTH, CONTAINER_SECRET, CONTAINER_TOKEN]


def assert_no_secrets(proc):
    out = proc.stdout + proc.stderr
    for s in ALL_SECRETS:
        assert s not in out, f"a secret leaked: {s[:12]}..."
        assert s[8:24] not in out


def test_secrets_never_printed_at_debug_level(moto_url, fake, home):
    env = clean_env(home, AWS_ENDPOINT_URL=moto_url, SAGEMAGIC_LOG="debug", **static_keys())
    runs = [
        run_cli(env, "whoami"),
        run_cli(env, "call", "sagemaker", "ListTrainingJobs", "{}"),
        run_cli(env, "call", "sagemaker", "DescribeTrainingJob", '{"TrainingJobName": "nope"}'),
    ]
    assert runs[0].returncode == 0 and runs[1].returncode == 0 and runs[2].returncode == 1
    assert "debug" in runs[0].stderr  # the level took effect

    # A service that echoes the token back in its error message.
    fake.route = lambda req: json_error(
        403, "InvalidSignatureException", f"The canonical string was x-amz-security-token:{TOKEN} with {SECRET}"
    )
    env = clean_env(home, AWS_ENDPOINT_URL=fake.url, SAGEMAGIC_LOG="debug", **static_keys())
    runs.append(run_cli(env, "call", "sagemaker", "ListModels"))
    assert runs[-1].returncode == 1 and "x-amz-security-token:****" in runs[-1].stderr

    # A role and container credentials: their secrets stay hidden too.
    def route(req):
        if req.path == "/creds":
            return 200, {}, json.dumps(
                {"AccessKeyId": "ASIAC", "SecretAccessKey": CONTAINER_SECRET, "Token": CONTAINER_TOKEN}
            )
        if not req.target:
            return 200, {}, sts_assume_role_xml("ASIAROLE", ROLE_SECRET, ROLE_TOKEN)
        return json_error(400, "ValidationException", "nope")

    fake.route = route
    write_role_profile(home)
    env = clean_env(home, AWS_ENDPOINT_URL=fake.url, AWS_PROFILE="ml", SAGEMAGIC_LOG="debug")
    runs.append(run_cli(env, "call", "sagemaker", "ListModels"))
    env = clean_env(
        home,
        AWS_ENDPOINT_URL=fake.url,
        SAGEMAGIC_LOG="debug",
        AWS_CONTAINER_CREDENTIALS_FULL_URI=f"{fake.url}/creds",
        AWS_CONTAINER_AUTHORIZATION_TOKEN=CONTAINER_AUTH,
    )
    runs.append(run_cli(env, "call", "sagemaker", "ListModels"))
    assert all("debug" in r.stderr for r in runs)
    for proc in runs:
        assert_no_secrets(proc)
