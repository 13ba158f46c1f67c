"""sagemagic-local as a service: its files, serve/status/stop, SIGTERM,
a restart after kill -9 in the middle of uploads, and bad input of every
kind, after which it still answers."""
import http.client
import json
import os
import signal
import socket
import stat
import subprocess
import time
import uuid

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from local_service import LOCAL_BIN, LocalService

MiB = 1024 * 1024


@pytest.fixture
def service(tmp_path):
    svc = LocalService(tmp_path / "data")
    try:
        yield svc
    finally:
        svc.kill()


def cli(*args, timeout=30):
    return subprocess.run([LOCAL_BIN, *args], capture_output=True, text=True, timeout=timeout)


def signed_headers(svc, method, path, body=b"", headers=None, payload=None):
    creds = Credentials(svc.creds["AccessKeyId"], svc.creds["SecretAccessKey"])
    req = AWSRequest(method=method, url=f"http://{svc.host}{path}", data=body,
                     headers=headers or {})
    if payload:
        class Fixed(S3SigV4Auth):
            def payload(self, request):
                return payload
        Fixed(creds, "s3", "us-east-1").add_auth(req)
    else:
        S3SigV4Auth(creds, "s3", "us-east-1").add_auth(req)
    return dict(req.prepare().headers)


def start_slow_put(svc, path, total, sent, payload="UNSIGNED-PAYLOAD"):
    """A PUT that declares `total` bytes and sends only `sent` of them."""
    headers = signed_headers(svc, "PUT", path, headers={"Content-Length": str(total)},
                             payload=payload)
    headers["Content-Length"] = str(total)
    conn = http.client.HTTPConnection(svc.host, timeout=30)
    conn.putrequest("PUT", path, skip_accept_encoding=True)
    for k, v in headers.items():
        conn.putheader(k, v)
    conn.endheaders()
    conn.send(b"p" * sent)
    return conn


# ---- files and commands ----------------------------------------------------------

def test_files_modes_and_commands(service):
    service.start()
    data = service.data_dir
    assert stat.S_IMODE(os.stat(data).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(data / "credentials.json").st_mode) == 0o600
    assert service.creds["AccessKeyId"].startswith("SMLOCAL")
    assert len(service.creds["SecretAccessKey"]) == 40
    info = json.loads((data / "service.json").read_text())
    assert info["pid"] == service.proc.pid and info["host"] == "127.0.0.1"
    assert info["endpoint_url"] == f"http://127.0.0.1:{info['port']}"
    status = cli("status", "--data-dir", str(data))
    assert status.returncode == 0 and info["endpoint_url"] in status.stdout
    second = cli("serve", "--port", "0", "--data-dir", str(data))
    assert second.returncode == 1 and "another sagemagic-local" in second.stderr
    stop = cli("stop", "--data-dir", str(data))
    assert stop.returncode == 0, stop.stderr
    assert service.proc.wait(10) == 0
    assert not (data / "service.json").exists()
    assert cli("status", "--data-dir", str(data)).returncode == 3
    assert cli("stop", "--data-dir", str(data)).returncode == 0
    assert cli("bogus").returncode == 2
    assert cli("serve", "--port", "99999").returncode == 2


def test_same_credentials_after_restart(service):
    service.start()
    first = dict(service.creds)
    s3 = service.client("s3")
    s3.create_bucket(Bucket="kept")
    s3.put_object(Bucket="kept", Key="k", Body=b"still here")
    assert service.stop() == 0
    service.start()
    assert service.creds == first
    assert service.client("s3").get_object(Bucket="kept", Key="k")["Body"].read() == b"still here"


def test_sigterm_finishes_the_request_in_flight(service):
    service.start()
    s3 = service.client("s3")
    s3.create_bucket(Bucket="graceful")
    conn = start_slow_put(service, "/graceful/inflight", 2 * MiB, MiB)
    time.sleep(0.3)
    service.proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    assert service.alive()  # waits for the upload
    conn.send(b"p" * MiB)
    resp = conn.getresponse()
    assert resp.status == 200, resp.read()
    conn.close()
    assert service.proc.wait(15) == 0
    assert not (service.data_dir / "service.json").exists()
    # New connections were refused meanwhile; after a restart it is there.
    service.start()
    assert service.client("s3").head_object(Bucket="graceful", Key="inflight")[
        "ContentLength"] == 2 * MiB


def finish_many_puts(service, bucket, count):
    """`count` PUTs of 1 MiB + 1 byte whose bodies end at the same moment
    (their finishes pending together); their connections."""
    conns = [start_slow_put(service, f"/{bucket}/k{i}", MiB + 1, MiB) for i in range(count)]
    deadline = time.monotonic() + 10
    while len(os.listdir(service.data_dir / "tmp")) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(os.listdir(service.data_dir / "tmp")) == count
    for conn in conns:
        conn.send(b"p")
    return conns


def test_sigterm_with_finishes_pending_commits_them_all(service):
    service.start()
    service.client("s3").create_bucket(Bucket="pending")
    conns = finish_many_puts(service, "pending", 12)
    service.proc.send_signal(signal.SIGTERM)
    for conn in conns:
        resp = conn.getresponse()
        assert resp.status == 200, resp.read()
        conn.close()
    assert service.proc.wait(15) == 0
    service.start()
    s3 = service.client("s3")
    for i in range(12):
        assert s3.get_object(Bucket="pending", Key=f"k{i}")["Body"].read() == b"p" * (MiB + 1)
    assert os.listdir(service.data_dir / "tmp") == []


# ---- a crash -------------------------------------------------------------------

def test_kill9_during_uploads(service):
    service.start()
    s3 = service.client("s3")
    s3.create_bucket(Bucket="crash")
    s3.put_object(Bucket="crash", Key="earlier", Body=b"written before the crash")
    uid = s3.create_multipart_upload(Bucket="crash", Key="multi")["UploadId"]
    p1 = s3.upload_part(Bucket="crash", Key="multi", UploadId=uid, PartNumber=1,
                        Body=b"1" * (5 * MiB))
    # Part 2 and a PutObject are on their way when the service dies.
    part = start_slow_put(service, f"/crash/multi?partNumber=2&uploadId={uid}", 8 * MiB, 3 * MiB)
    put = start_slow_put(service, "/crash/single", 8 * MiB, 5 * MiB)
    deadline = time.monotonic() + 10
    while len(os.listdir(service.data_dir / "tmp")) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(os.listdir(service.data_dir / "tmp")) == 2
    service.proc.send_signal(signal.SIGKILL)
    service.proc.wait(10)
    part.close()
    put.close()
    service.start()
    s3 = service.client("s3")
    assert os.listdir(service.data_dir / "tmp") == []
    for key in ("single", "multi"):
        with pytest.raises(ClientError) as e:
            s3.head_object(Bucket="crash", Key=key)
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert s3.get_object(Bucket="crash", Key="earlier")["Body"].read() == b"written before the crash"
    # The unfinished upload is still there with its finished part, as in S3.
    parts = s3.list_parts(Bucket="crash", Key="multi", UploadId=uid)["Parts"]
    assert [(p["PartNumber"], p["ETag"]) for p in parts] == [(1, p1["ETag"])]
    files = [f for _, _, fs in os.walk(service.data_dir / "objects") for f in fs]
    assert len(files) == 2  # "earlier" and part 1: no orphan
    p2 = s3.upload_part(Bucket="crash", Key="multi", UploadId=uid, PartNumber=2, Body=b"2")
    s3.complete_multipart_upload(Bucket="crash", Key="multi", UploadId=uid, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": p1["ETag"]}, {"PartNumber": 2, "ETag": p2["ETag"]}]})
    assert s3.head_object(Bucket="crash", Key="multi")["ContentLength"] == 5 * MiB + 1


def test_kill9_with_finishes_pending_keeps_whole_objects_only(service):
    service.start()
    service.client("s3").create_bucket(Bucket="crash")
    conns = finish_many_puts(service, "crash", 12)
    service.proc.send_signal(signal.SIGKILL)
    service.proc.wait(10)
    acked = set()
    for i, conn in enumerate(conns):
        try:
            if conn.getresponse().status == 200:
                acked.add(f"k{i}")
        except (OSError, http.client.HTTPException):
            pass
        conn.close()
    service.start()
    s3 = service.client("s3")
    assert os.listdir(service.data_dir / "tmp") == []
    listed = {o["Key"]: o["Size"] for o in
              s3.list_objects_v2(Bucket="crash").get("Contents", [])}
    assert acked <= set(listed)  # acknowledged: committed
    for key in listed:  # and what is there is whole
        assert s3.get_object(Bucket="crash", Key=key)["Body"].read() == b"p" * (MiB + 1)
    files = [f for _, _, fs in os.walk(service.data_dir / "objects") for f in fs]
    assert len(files) == len(listed)  # no orphan


# ---- bad input -----------------------------------------------------------------

def raw_exchange(svc, data, timeout=5):
    """Send raw bytes; return what came back (possibly nothing)."""
    with socket.create_connection(("127.0.0.1", svc.info["port"]), timeout=timeout) as s:
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server answered (or closed) before reading it all
        out = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
        except (socket.timeout, ConnectionResetError):
            pass
        return out


def signed_send(svc, method, path, body, headers=None):
    h = signed_headers(svc, method, path, body, headers)
    conn = http.client.HTTPConnection(svc.host, timeout=30)
    try:
        conn.request(method, path, body=body, headers=h)
        resp = conn.getresponse()
        return resp.status, resp.read().decode(errors="replace")
    finally:
        conn.close()


def test_bad_input_and_still_alive(service):
    service.start()
    s3 = service.client("s3")
    s3.create_bucket(Bucket="bad")
    uid = s3.create_multipart_upload(Bucket="bad", Key="k")["UploadId"]
    cases = [
        ("POST", f"/bad/k?uploadId={uid}", b"<CompleteMultipartUpload><Part>", 400, "MalformedXML"),
        ("POST", f"/bad/k?uploadId={uid}", b"not xml at all", 400, "MalformedXML"),
        ("POST", f"/bad/k?uploadId={uid}", b"<CompleteMultipartUpload/>", 400, "MalformedXML"),
        ("POST", f"/bad/k?uploadId={uid}", b"<Other><Part/></Other>", 400, "MalformedXML"),
        ("POST", f"/bad/k?uploadId={uid}",
         b"<CompleteMultipartUpload><Part><PartNumber>x</PartNumber><ETag>a</ETag></Part>"
         b"</CompleteMultipartUpload>", 400, "InvalidArgument"),
        ("POST", "/bad?delete", b"<Delete><Object><Key>a</Key></Object>", 400, "MalformedXML"),
        ("POST", "/bad?delete", b"<Delete></Delete>", 400, "MalformedXML"),
        ("POST", "/bad?delete", b"<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]>"
         b"<Delete><Object><Key>&e;</Key></Object></Delete>", 400, "MalformedXML"),
        ("POST", "/bad?delete", b"<Delete>" + b"<Object><Key>k</Key></Object>" * 1001
         + b"</Delete>", 400, "MalformedXML"),
        ("POST", "/bad?delete", b"<Delete>" + b"x" * (2 * MiB) + b"</Delete>", 400,
         "MaxMessageLengthExceeded"),
        ("PUT", "/bad-bucket-with-body", b"<CreateBucketConfiguration>", 400, "MalformedXML"),
        ("GET", "/bad?acl", b"", 501, "NotImplemented"),
        ("PATCH", "/bad/k", b"", 405, "MethodNotAllowed"),
        ("GET", "/bad/k?uploadId=nope", b"", 404, "NoSuchUpload"),
        ("PUT", "/bad/k?partNumber=0&uploadId=" + uid, b"x", 400, "InvalidArgument"),
    ]
    for method, path, body, status, code in cases:
        got_status, got = signed_send(service, method, path, body)
        assert (got_status, f"<Code>{code}</Code>" in got) == (status, True), (path, got)
    # Too large, refused before the body is sent.
    headers = signed_headers(service, "PUT", "/bad/huge", payload="UNSIGNED-PAYLOAD")
    headers.update({"Content-Length": str(6 * 1024 * MiB), "Expect": "100-continue"})
    conn = http.client.HTTPConnection(service.host, timeout=10)
    conn.putrequest("PUT", "/bad/huge", skip_accept_encoding=True)
    for k, v in headers.items():
        conn.putheader(k, v)
    conn.endheaders()
    resp = conn.getresponse()
    assert resp.status == 400 and b"<Code>EntityTooLarge</Code>" in resp.read()
    conn.close()
    # Garbage on the socket: an HTTP error or a closed connection, no crash.
    garbage = [
        b"\x00\x01\x02\xff" * 100 + b"\r\n\r\n",
        b"GET / HTTP/1.1\r\n\r\n",
        b"GET /" + b"a" * 100000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-Big: " + b"b" * 200000 + b"\r\n\r\n",
        b"PUT /bad/k HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n",
        b"PUT /bad/k HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nAuthorization: AWS4-HMAC-SHA256 garbage\r\n"
        b"Content-Length: 0\r\n\r\n",
        b"GET /bad/%zz%00 HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: SageMaker.ListModels\r\n"
        b"Content-Length: 2\r\n\r\n{}",
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nab",
    ]
    for data in garbage:
        reply = raw_exchange(service, data)
        assert reply == b"" or reply.startswith(b"HTTP/1."), reply[:200]
    assert service.alive()
    # Unsigned JSON: the JSON services' shape.
    reply = raw_exchange(service, garbage[8])
    assert b"MissingAuthenticationTokenException" in reply
    reply = raw_exchange(service, garbage[6])
    assert b"<Code>" in reply and b"403" not in reply.split(b"\r\n")[0]
    # Still answering properly.
    assert service.client("sts").get_caller_identity()["Account"] == "000000000000"
    s3.put_object(Bucket="bad", Key="after", Body=b"ok")
    assert s3.get_object(Bucket="bad", Key="after")["Body"].read() == b"ok"
    assert service.alive()
    assert service.stop() == 0
