"""`sagemagic-aws s3` against moto in server mode, boto3 as the checker.

moto runs as a subprocess on a free port of 127.0.0.1; the CLI reaches it
through AWS_ENDPOINT_URL with fake keys and an empty config, so nothing
here can reach AWS. The fault tests put a small HTTP proxy between the CLI
and moto that resets the connection in the middle of chosen UploadPart
requests, or holds them back, and records what it saw.
"""
import hashlib
import http.client
import http.server
import os
import pathlib
import random
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import ROOT

AWS_BIN = os.environ.get("SAGEMAGIC_AWS", str(ROOT / "build" / "sagemagic-aws"))
MIB = 1 << 20
pytestmark = pytest.mark.timeout(600)
REGION = "us-east-1"
CLI_TIMEOUT = 180  # seconds for one CLI run, the 100 MiB ones included


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"moto exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"moto did not listen on {port} in {seconds} s")


@pytest.fixture(scope="module")
def moto_url(tmp_path_factory):
    port = free_port()
    log = open(tmp_path_factory.mktemp("moto") / "moto.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, proc, 30)
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
def home(tmp_path_factory):
    """An empty HOME and AWS config, so no real profile is ever read."""
    d = tmp_path_factory.mktemp("home")
    (d / "config").write_text("")
    (d / "credentials").write_text("")
    return d


def cli_env(home: pathlib.Path, endpoint: str, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "HOME": str(home),
        "AWS_CONFIG_FILE": str(home / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
    })
    env.update(extra)
    return env


def run_cli(env: dict, *args: str, timeout: float = CLI_TIMEOUT):
    assert os.path.exists(AWS_BIN), f"build it first: {AWS_BIN}"
    return subprocess.run([AWS_BIN, "s3", *args], env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module")
def s3(moto_url):
    return boto3.client(
        "s3", endpoint_url=moto_url, region_name=REGION,
        aws_access_key_id="testing", aws_secret_access_key="testing",
        config=Config(s3={"addressing_style": "path"},
                      retries={"max_attempts": 2, "mode": "standard"}))


@pytest.fixture
def bucket(s3):
    name = "sagemagic-test-" + uuid.uuid4().hex[:12]
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture
def env(home, moto_url):
    return cli_env(home, moto_url)


def make_file(path: pathlib.Path, size: int, seed: int) -> str:
    """Write `size` bytes drawn from a fixed seed; return their MD5."""
    rng = random.Random(seed)
    md5 = hashlib.md5()
    with open(path, "wb") as f:
        left = size
        while left:
            chunk = rng.randbytes(min(left, 4 * MIB))
            f.write(chunk)
            md5.update(chunk)
            left -= len(chunk)
    return md5.hexdigest()


def multipart_etag(path: pathlib.Path, part_size: int) -> str:
    digests = []
    with open(path, "rb") as f:
        while chunk := f.read(part_size):
            digests.append(hashlib.md5(chunk).digest())
    return f'"{hashlib.md5(b"".join(digests)).hexdigest()}-{len(digests)}"'


def file_md5(path: pathlib.Path) -> str:
    md5 = hashlib.md5()
    with open(path, "rb") as f:
        while chunk := f.read(4 * MIB):
            md5.update(chunk)
    return md5.hexdigest()


def no_uploads_left(s3, bucket: str) -> bool:
    return not s3.list_multipart_uploads(Bucket=bucket).get("Uploads")


# ---- transfers -----------------------------------------------------------

def test_multipart_upload_and_download_100_mib(s3, bucket, env, tmp_path):
    size = 100 * MIB
    src, back = tmp_path / "big.bin", tmp_path / "back.bin"
    md5 = make_file(src, size, seed=20240501)

    t0 = time.monotonic()
    r = run_cli(env, "cp", str(src), f"s3://{bucket}/data/big.bin")
    up = time.monotonic() - t0
    assert r.returncode == 0, r.stderr
    assert f"upload: {src} to s3://{bucket}/data/big.bin" in r.stdout
    assert r.stderr == ""  # no progress when stderr is not a terminal

    head = s3.head_object(Bucket=bucket, Key="data/big.bin")
    assert head["ContentLength"] == size
    assert head["ETag"] == multipart_etag(src, 8 * MIB)  # 13 parts of 8 MiB
    assert head["ETag"].endswith('-13"')
    listed = s3.list_objects_v2(Bucket=bucket)["Contents"]
    assert [(o["Key"], o["Size"]) for o in listed] == [("data/big.bin", size)]
    assert no_uploads_left(s3, bucket)

    t0 = time.monotonic()
    r = run_cli(env, "cp", f"s3://{bucket}/data/big.bin", str(back))
    down = time.monotonic() - t0
    assert r.returncode == 0, r.stderr
    assert f"download: s3://{bucket}/data/big.bin to {back}" in r.stdout
    assert back.stat().st_size == size
    assert file_md5(back) == md5
    assert not [p for p in tmp_path.iterdir() if "sagemagic-" in p.name]
    print(f"\n100 MiB via moto: upload {size / MIB / up:.1f} MiB/s ({up:.2f} s), "
          f"download {size / MIB / down:.1f} MiB/s ({down:.2f} s)")


def test_small_file_is_one_put_with_its_md5(s3, bucket, env, tmp_path):
    src = tmp_path / "small.csv"
    src.write_bytes(b"1,2,3\n4,5,6\n")
    r = run_cli(env, "cp", str(src), f"s3://{bucket}/in/",
                "--content-type", "text/csv")
    assert r.returncode == 0, r.stderr
    head = s3.head_object(Bucket=bucket, Key="in/small.csv")
    assert head["ETag"] == '"%s"' % hashlib.md5(src.read_bytes()).hexdigest()
    assert head["ContentType"] == "text/csv"
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    r = run_cli(env, "cp", f"s3://{bucket}/in/small.csv", str(out_dir))
    assert r.returncode == 0, r.stderr
    assert (out_dir / "small.csv").read_bytes() == src.read_bytes()


def test_empty_file_and_threshold_edge(s3, bucket, env, tmp_path):
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert run_cli(env, "cp", str(empty), f"s3://{bucket}/empty").returncode == 0
    assert s3.head_object(Bucket=bucket, Key="empty")["ContentLength"] == 0
    edge = tmp_path / "edge"
    make_file(edge, 5 * MIB, seed=7)
    r = run_cli(env, "cp", str(edge), f"s3://{bucket}/edge",
                "--multipart-threshold", "5MiB", "--part-size", "5MiB")
    assert r.returncode == 0, r.stderr
    assert s3.head_object(Bucket=bucket, Key="edge")["ETag"].endswith('-1"')
    back = tmp_path / "edge.back"
    r = run_cli(env, "cp", f"s3://{bucket}/edge", str(back),
                "--multipart-threshold", "1MiB", "--part-size", "5MiB")
    assert r.returncode == 0, r.stderr
    assert back.read_bytes() == edge.read_bytes()
    back0 = tmp_path / "empty.back"
    assert run_cli(env, "cp", f"s3://{bucket}/empty", str(back0)).returncode == 0
    assert back0.read_bytes() == b""


def test_keys_that_need_encoding(s3, bucket, env, tmp_path):
    key = "odd dir/a b+c&d=e%f\u00e9~(1).txt"
    src = tmp_path / "odd.txt"
    src.write_bytes(b"odd\n")
    r = run_cli(env, "cp", str(src), f"s3://{bucket}/{key}")
    assert r.returncode == 0, r.stderr
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"odd\n"
    r = run_cli(env, "ls", f"s3://{bucket}/odd dir/")
    assert r.returncode == 0, r.stderr
    assert r.stdout.rstrip("\n").endswith(" 4 a b+c&d=e%f\u00e9~(1).txt")
    back = tmp_path / "odd.back"
    assert run_cli(env, "cp", f"s3://{bucket}/{key}", str(back)).returncode == 0
    assert back.read_bytes() == b"odd\n"


@pytest.mark.parametrize("key", ["a/./b", "a/../b", "x//y"])
def test_keys_with_dot_segments_and_empty_ones_stay_as_they_are(
        s3, bucket, env, tmp_path, key):
    """The path is signed as it is, so it must go out as it is: no "/./",
    "/../" or "//" tidied away on the way (CURLOPT_PATH_AS_IS)."""
    src = tmp_path / "dots.txt"
    body = f"the key is {key}\n".encode()
    src.write_bytes(body)
    r = run_cli(env, "cp", str(src), f"s3://{bucket}/{key}")
    assert r.returncode == 0, r.stderr
    listed = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    assert [o["Key"] for o in listed] == [key]
    back = tmp_path / "dots.back"
    r = run_cli(env, "cp", f"s3://{bucket}/{key}", str(back))
    assert r.returncode == 0, r.stderr
    assert back.read_bytes() == body


# ---- listings and deletes ------------------------------------------------

def test_ls_buckets_prefixes_and_recursive(s3, bucket, env):
    for key in ["a/1.txt", "a/b/2.txt", "a/b/3.txt", "c.txt", "ab.txt"]:
        s3.put_object(Bucket=bucket, Key=key, Body=b"x" * 3)

    r = run_cli(env, "ls")
    assert r.returncode == 0, r.stderr
    assert any(line.split()[-1] == bucket for line in r.stdout.splitlines())

    r = run_cli(env, "ls", f"s3://{bucket}")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "PRE a/" in [" ".join(l.split()) for l in lines]
    assert sorted(l.split()[-1] for l in lines if "PRE" not in l) == ["ab.txt", "c.txt"]

    r = run_cli(env, "ls", f"s3://{bucket}/a/")
    lines = [" ".join(l.split()) for l in r.stdout.splitlines()]
    assert "PRE b/" in lines
    assert any(l.endswith(" 3 1.txt") for l in lines)
    assert len(lines) == 2

    r = run_cli(env, "ls", f"s3://{bucket}/a")  # a prefix, not a folder
    lines = [" ".join(l.split()) for l in r.stdout.splitlines()]
    assert "PRE a/" in lines and any(l.endswith(" ab.txt") for l in lines)

    r = run_cli(env, "ls", f"s3://{bucket}/a/", "--recursive")
    keys = [l.split()[-1] for l in r.stdout.splitlines()]
    assert keys == ["a/1.txt", "a/b/2.txt", "a/b/3.txt"]


def test_ls_pages_and_rm_recursive_batches(s3, bucket, env):
    """1,050 keys: two ListObjectsV2 pages, two DeleteObjects batches."""
    keys = [f"many/{i:05d}" for i in range(1050)]
    for k in keys:
        s3.put_object(Bucket=bucket, Key=k, Body=b"")
    s3.put_object(Bucket=bucket, Key="keep/me", Body=b"1")

    r = run_cli(env, "ls", f"s3://{bucket}/many/", "--recursive")
    assert r.returncode == 0, r.stderr
    assert [l.split()[-1] for l in r.stdout.splitlines()] == keys

    r = run_cli(env, "rm", f"s3://{bucket}/many/", "--recursive")
    assert r.returncode == 0, r.stderr
    assert "delete: 1050 objects" in r.stdout
    left = s3.list_objects_v2(Bucket=bucket)["Contents"]
    assert [o["Key"] for o in left] == ["keep/me"]


def test_rm_one_object(s3, bucket, env):
    s3.put_object(Bucket=bucket, Key="x/y", Body=b"1")
    r = run_cli(env, "rm", f"s3://{bucket}/x/y")
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"delete: s3://{bucket}/x/y\n"
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_errors_are_one_sentence(s3, bucket, env, tmp_path):
    r = run_cli(env, "cp", f"s3://{bucket}/missing", str(tmp_path / "m"))
    assert r.returncode == 1
    assert r.stderr == (f"sagemagic-aws s3 cp: HeadObject failed: NotFound: "
                        f"there is no object s3://{bucket}/missing\n")
    assert not (tmp_path / "m").exists()

    src = tmp_path / "f"
    src.write_bytes(b"1")
    r = run_cli(env, "cp", str(src), "s3://no-such-bucket-sagemagic/k")
    assert r.returncode == 1 and "NoSuchBucket" in r.stderr

    r = run_cli(env, "cp", str(src), "s3://Bad_Bucket/k")
    assert r.returncode == 2 and "lower-case" in r.stderr
    r = run_cli(env, "cp", str(tmp_path / "absent"), f"s3://{bucket}/k")
    assert r.returncode == 1 and "cannot read" in r.stderr
    r = run_cli(env, "cp", str(src), str(tmp_path / "g"))
    assert r.returncode == 2
    r = run_cli(env, "rm", f"s3://{bucket}")
    assert r.returncode == 2 and "--recursive" in r.stderr
    r = run_cli(env, "frobnicate")
    assert r.returncode == 2
    r = run_cli(env, "cp", str(src), f"s3://{bucket}/k", "--part-size", "lots")
    assert r.returncode == 2
    assert r.stderr == "sagemagic-aws s3: --part-size takes a size, not 'lots'\n"


# ---- buckets ---------------------------------------------------------------

def test_mb_creates_with_location_constraint(s3, home, moto_url):
    name = "sagemagic-eu-" + uuid.uuid4().hex[:12]
    env = cli_env(home, moto_url, AWS_REGION="eu-west-1")
    r = run_cli(env, "mb", f"s3://{name}")
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"make_bucket: {name}\n"
    assert s3.get_bucket_location(Bucket=name)["LocationConstraint"] == "eu-west-1"
    r = run_cli(env, "mb", f"s3://{name}")  # it exists: nothing to do
    assert r.returncode == 0, r.stderr


def test_mb_default_bucket(s3, env):
    r = run_cli(env, "mb")
    assert r.returncode == 0, r.stderr
    account = boto3.client(
        "sts", endpoint_url=env["AWS_ENDPOINT_URL"], region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing").get_caller_identity()["Account"]
    name = f"sagemaker-{REGION}-{account}"
    assert r.stdout == f"make_bucket: {name}\n"
    s3.head_bucket(Bucket=name)
    assert run_cli(env, "mb").returncode == 0


def test_mb_accepts_bucket_already_owned_by_you(s3, home, moto_url, make_proxy):
    """HeadBucket says 404 (a race with another creator): CreateBucket then
    answers BucketAlreadyOwnedByYou, which counts as success."""
    name = "sagemagic-race-" + uuid.uuid4().hex[:12]
    s3_eu = boto3.client("s3", endpoint_url=moto_url, region_name="eu-west-1",
                         aws_access_key_id="testing", aws_secret_access_key="testing")
    s3_eu.create_bucket(Bucket=name, CreateBucketConfiguration={
        "LocationConstraint": "eu-west-1"})
    proxy = make_proxy(fake=lambda m, p: (404, b"") if m == "HEAD" else None)
    env = cli_env(home, proxy.url, AWS_REGION="eu-west-1")
    r = run_cli(env, "mb", f"s3://{name}")
    assert r.returncode == 0, r.stderr
    assert [m for m, q in proxy.requests] == ["HEAD", "PUT"]


def test_mb_reports_other_errors(home, moto_url, make_proxy):
    proxy = make_proxy(fake=lambda m, p: (403, b"") if m == "HEAD" else None)
    env = cli_env(home, proxy.url)
    r = run_cli(env, "mb", "s3://someone-elses-bucket")
    assert r.returncode == 1
    assert r.stderr == ("sagemagic-aws s3 mb: HeadBucket failed: Forbidden: "
                        "access to s3://someone-elses-bucket is denied (no "
                        "permission, or the bucket belongs to another "
                        "account)\n")


# ---- faults ----------------------------------------------------------------

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "expect",
              "proxy-connection", "te", "upgrade", "content-length"}


class FaultProxy:
    """An HTTP proxy to moto that can break or hold back UploadPart calls.

    `resets[n]` is how many times part n's request is cut off half-way
    (a TCP reset) before the proxy lets one through; -1 means always.
    `delay` holds every UploadPart back that many seconds. `throttle`
    (bytes a second) reads request bodies and writes response bodies that
    slowly, so that a transfer is still in flight when a test interrupts
    it; `throttled` counts the bytes moved so. Every response closes its
    connection: libcurl silently sends a request again when a reused
    connection dies, which would blur the counts of attempts.
    """

    CHUNK = 64 * 1024

    def __init__(self, upstream: str, resets=None, delay: float = 0.0,
                 fake=None, throttle: float = 0.0):
        u = urllib.parse.urlsplit(upstream)
        self.upstream = (u.hostname, u.port)
        self.resets = dict(resets or {})
        self.delay = delay
        self.throttle = throttle
        self.throttled = 0
        self.fake = fake  # (method, path) -> (status, body) or None
        self.lock = threading.Lock()
        self.part_attempts = {}
        self.requests = []
        self.upload_ids = set()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def handle_any(self):
                proxy.handle(self)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)

    def decide(self, method, query):
        """None (forward), or "reset"."""
        part = query.get("partNumber", [None])[0]
        with self.lock:
            self.requests.append((method, query))
            if method != "PUT" or part is None or "uploadId" not in query:
                return None
            n = int(part)
            tries = self.part_attempts.get(n, 0)
            self.part_attempts[n] = tries + 1
            left = self.resets.get(n, 0)
            if left == -1 or tries < left:
                return "reset"
        return None

    def read_slowly(self, rfile, length):
        """The request body at `throttle` bytes a second; None when the
        client went away first."""
        parts, left = [], length
        while left:
            chunk = rfile.read(min(left, self.CHUNK))
            if not chunk:
                return None
            parts.append(chunk)
            left -= len(chunk)
            with self.lock:
                self.throttled += len(chunk)
            time.sleep(len(chunk) / self.throttle)
        return b"".join(parts)

    def write_slowly(self, wfile, data):
        try:
            for at in range(0, len(data), self.CHUNK):
                wfile.write(data[at:at + self.CHUNK])
                wfile.flush()
                with self.lock:
                    self.throttled += min(self.CHUNK, len(data) - at)
                time.sleep(min(self.CHUNK, len(data) - at) / self.throttle)
        except OSError:
            pass  # the client stopped reading: that is the point

    def handle(self, h):
        url = urllib.parse.urlsplit(h.path)
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        length = int(h.headers.get("Content-Length") or 0)
        if self.decide(h.command, query) == "reset":
            h.rfile.read(length // 2)
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                    struct.pack("ii", 1, 0))
            h.close_connection = True
            h.connection.close()
            return
        if self.throttle and length:
            body = self.read_slowly(h.rfile, length)
            if body is None:
                h.close_connection = True
                return
        else:
            body = h.rfile.read(length) if length else b""
        faked = self.fake(h.command, url.path) if self.fake else None
        if faked:
            h.send_response(faked[0])
            h.send_header("Content-Length", str(len(faked[1])))
            h.end_headers()
            if h.command != "HEAD":
                h.wfile.write(faked[1])
            return
        if self.delay and "partNumber" in query:
            time.sleep(self.delay)
        conn = http.client.HTTPConnection(*self.upstream, timeout=60)
        headers = {k: v for k, v in h.headers.items() if k.lower() not in HOP_BY_HOP}
        conn.request(h.command, h.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        if h.command == "POST" and "uploads" in query:
            start = data.find(b"<UploadId>")
            end = data.find(b"</UploadId>")
            if start >= 0 and end > start:
                with self.lock:
                    self.upload_ids.add(data[start + 10:end].decode())
        h.send_response(resp.status)
        h.send_header("Connection", "close")
        h.close_connection = True
        for k, v in resp.getheaders():
            if k.lower() not in HOP_BY_HOP:
                h.send_header(k, v)
        if h.command == "HEAD":
            h.send_header("Content-Length", resp.getheader("Content-Length", "0"))
        else:
            h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        if h.command != "HEAD" and self.throttle:
            self.write_slowly(h.wfile, data)
        elif h.command != "HEAD":
            h.wfile.write(data)

    def count(self, method, name):
        with self.lock:
            return sum(1 for m, q in self.requests if m == method and name in q)


@pytest.fixture
def make_proxy(moto_url):
    made = []

    def make(**kw):
        p = FaultProxy(moto_url, **kw)
        made.append(p)
        return p

    yield make
    for p in made:
        p.close()


PARTS = ["--multipart-threshold", "5MiB", "--part-size", "5MiB"]


def assert_aborted(s3, bucket, proxy, key):
    assert no_uploads_left(s3, bucket)
    assert proxy.upload_ids, "no multipart upload was started"
    for upload_id in proxy.upload_ids:
        with pytest.raises(ClientError) as e:
            s3.list_parts(Bucket=bucket, Key=key, UploadId=upload_id)
        assert e.value.response["Error"]["Code"] == "NoSuchUpload"
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key=key)


def test_reset_in_one_part_is_retried(s3, bucket, home, tmp_path, make_proxy):
    """One reset: the client's own retry sends the part again."""
    proxy = make_proxy(resets={2: 1})
    src = tmp_path / "f.bin"
    make_file(src, 15 * MIB + 3, seed=11)
    env = cli_env(home, proxy.url, AWS_MAX_ATTEMPTS="3")
    r = run_cli(env, "cp", str(src), f"s3://{bucket}/f.bin", *PARTS)
    assert r.returncode == 0, r.stderr
    assert proxy.part_attempts[2] == 2
    assert proxy.part_attempts[1] == 1 and proxy.part_attempts[4] == 1
    assert s3.head_object(Bucket=bucket, Key="f.bin")["ETag"] == \
        multipart_etag(src, 5 * MIB)
    assert no_uploads_left(s3, bucket)


def test_part_failing_past_the_retries_gets_one_more_try(s3, bucket, home,
                                                          tmp_path, make_proxy):
    """Resets use up every attempt of the request; the part-level try wins."""
    proxy = make_proxy(resets={3: 2})
    src = tmp_path / "f.bin"
    make_file(src, 16 * MIB, seed=12)
    env = cli_env(home, proxy.url, AWS_MAX_ATTEMPTS="2")
    r = run_cli(env, "cp", str(src), f"s3://{bucket}/f.bin", *PARTS)
    assert r.returncode == 0, r.stderr
    assert proxy.part_attempts[3] == 3
    assert "part 3 of f.bin: UploadPart failed" in r.stderr
    assert "trying it once more" in r.stderr
    obj = s3.get_object(Bucket=bucket, Key="f.bin")["Body"].read()
    assert hashlib.md5(obj).hexdigest() == file_md5(src)
    assert no_uploads_left(s3, bucket)


def test_part_that_always_fails_aborts_the_upload(s3, bucket, home, tmp_path,
                                                  make_proxy):
    proxy = make_proxy(resets={2: -1})
    src = tmp_path / "f.bin"
    make_file(src, 15 * MIB, seed=13)
    env = cli_env(home, proxy.url, AWS_MAX_ATTEMPTS="2")
    r = run_cli(env, "cp", str(src), f"s3://{bucket}/f.bin", *PARTS)
    assert r.returncode == 1
    assert "UploadPart" in r.stderr
    # Bounded: the client's two attempts, and one part-level try more.
    assert proxy.part_attempts[2] == 4
    assert proxy.count("POST", "uploads") == 1
    assert proxy.count("DELETE", "uploadId") == 1
    assert_aborted(s3, bucket, proxy, "f.bin")


def test_interrupt_aborts_the_upload(s3, bucket, home, tmp_path, make_proxy):
    proxy = make_proxy(delay=0.5)
    src = tmp_path / "f.bin"
    make_file(src, 40 * MIB, seed=14)
    env = cli_env(home, proxy.url)
    proc = subprocess.Popen(
        [AWS_BIN, "s3", "cp", str(src), f"s3://{bucket}/f.bin", *PARTS,
         "--max-connections", "2"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while proxy.count("PUT", "partNumber") == 0:
            assert time.monotonic() < deadline, "no part was sent"
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert proc.returncode == 130, err
    assert "Interrupted" in err
    assert proxy.count("PUT", "partNumber") < 8  # it stopped early
    assert_aborted(s3, bucket, proxy, "f.bin")


def interrupt_when_bytes_move(proc, proxy):
    """SIGINT `proc` once the proxy has moved some body bytes; return how
    long it took to exit after that, and its stderr."""
    deadline = time.monotonic() + 30
    while True:
        with proxy.lock:
            moved = proxy.throttled
        if moved:
            break
        assert time.monotonic() < deadline, "no body bytes moved"
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    return time.monotonic() - t0, err


# 1 MiB/s per connection: every transfer below needs 6 s or more whole, so
# an exit within 3 s of the interrupt means the requests in flight stopped.
THROTTLE = 1 * MIB
TRANSFERS = [pytest.param(6 * MIB, [], id="single-request"),
             pytest.param(15 * MIB, PARTS, id="in-parts")]


@pytest.mark.parametrize("size,flags", TRANSFERS)
def test_interrupt_stops_an_upload_in_flight(s3, bucket, home, tmp_path,
                                             make_proxy, size, flags):
    proxy = make_proxy(throttle=THROTTLE)
    src = tmp_path / "f.bin"
    make_file(src, size, seed=15)
    proc = subprocess.Popen(
        [AWS_BIN, "s3", "cp", str(src), f"s3://{bucket}/f.bin", *flags],
        env=cli_env(home, proxy.url), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    took, err = interrupt_when_bytes_move(proc, proxy)
    assert proc.returncode == 130, err
    assert "Interrupted" in err
    assert took < 3, f"{took:.1f} s from the interrupt to the exit"
    if flags:
        assert_aborted(s3, bucket, proxy, "f.bin")
    else:
        with pytest.raises(ClientError):
            s3.head_object(Bucket=bucket, Key="f.bin")


@pytest.mark.parametrize("size,flags", TRANSFERS)
def test_interrupt_stops_a_download_in_flight(s3, bucket, home, tmp_path,
                                              make_proxy, size, flags):
    src = tmp_path / "f.bin"
    make_file(src, size, seed=16)
    s3.upload_file(str(src), bucket, "f.bin")
    proxy = make_proxy(throttle=THROTTLE)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    proc = subprocess.Popen(
        [AWS_BIN, "s3", "cp", f"s3://{bucket}/f.bin", str(out_dir / "f.bin"),
         *flags],
        env=cli_env(home, proxy.url), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    took, err = interrupt_when_bytes_move(proc, proxy)
    assert proc.returncode == 130, err
    assert "Interrupted" in err
    assert took < 3, f"{took:.1f} s from the interrupt to the exit"
    assert list(out_dir.iterdir()) == []  # nothing kept, no temporary file
