"""sagemagic-local checks every request's signature: raw HTTP requests
signed by botocore's signers (or not at all), then broken on purpose; and
the aws-chunked bodies S3 clients stream, with trailing checksums and with
signed chunks."""
import base64
import datetime
import hashlib
import hmac
import http.client
import types
import uuid
import zlib
from unittest import mock

import pytest
import requests
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from local_service import LocalService


@pytest.fixture(scope="module")
def svc(tmp_path_factory):
    with LocalService(tmp_path_factory.mktemp("local-auth") / "data").running() as service:
        yield service


@pytest.fixture(scope="module")
def bucket(svc):
    name = f"auth-{uuid.uuid4().hex[:8]}"
    svc.client("s3").create_bucket(Bucket=name)
    return name


def creds_of(svc, secret=None, key=None):
    return Credentials(key or svc.creds["AccessKeyId"], secret or svc.creds["SecretAccessKey"])


class FixedPayload(S3SigV4Auth):
    """S3's signer with a payload hash we choose (STREAMING-*)."""

    def __init__(self, credentials, payload):
        super().__init__(credentials, "s3", "us-east-1")
        self._payload = payload

    def payload(self, request):
        return self._payload


def sign(svc, method, path, body=b"", headers=None, service="s3", creds=None, signer=None):
    req = AWSRequest(method=method, url=f"http://{svc.host}{path}", data=body,
                     headers=headers or {})
    creds = creds or creds_of(svc)
    if signer is None:
        signer = (S3SigV4Auth if service == "s3" else SigV4Auth)(creds, service, "us-east-1")
    signer.add_auth(req)
    return dict(req.prepare().headers)


def send(svc, method, path, body=b"", headers=None):
    conn = http.client.HTTPConnection(svc.host, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read().decode(errors="replace")
    finally:
        conn.close()


def code_of(body):
    if body.startswith("{"):
        import json
        return json.loads(body)["__type"]
    start = body.find("<Code>") + len("<Code>")
    return body[start:body.find("</Code>")]


# ---- header signatures ---------------------------------------------------------

def test_signed_request_passes(svc, bucket):
    status, headers, body = send(svc, "GET", f"/{bucket}?list-type=2", headers=sign(
        svc, "GET", f"/{bucket}?list-type=2"))
    assert status == 200, body
    assert headers["x-amz-request-id"]


@pytest.mark.parametrize("service,path,extra,status,code", [
    ("s3", "/", {}, 403, "AccessDenied"),
    ("sts", "/", {"Content-Type": "application/x-www-form-urlencoded"}, 403,
     "MissingAuthenticationToken"),
    ("sagemaker", "/", {"X-Amz-Target": "SageMaker.ListModels"}, 400,
     "MissingAuthenticationTokenException"),
])
def test_unsigned_is_refused(svc, service, path, extra, status, code):
    body = b"Action=GetCallerIdentity&Version=2011-06-15" if service == "sts" else b""
    got_status, _, got = send(svc, "POST" if service != "s3" else "GET", path, body, extra)
    assert (got_status, code_of(got)) == (status, code), got


def test_wrong_secret_is_signature_does_not_match(svc, bucket):
    headers = sign(svc, "GET", f"/{bucket}", creds=creds_of(svc, secret="not-the-secret"))
    status, _, body = send(svc, "GET", f"/{bucket}", headers=headers)
    assert (status, code_of(body)) == (403, "SignatureDoesNotMatch")
    assert "<CanonicalRequest>" in body and "<StringToSign>" in body
    assert svc.creds["SecretAccessKey"] not in body


def test_unknown_key_is_invalid_access_key_id(svc, bucket):
    headers = sign(svc, "GET", f"/{bucket}", creds=creds_of(svc, key="AKIAUNKNOWN"))
    status, _, body = send(svc, "GET", f"/{bucket}", headers=headers)
    assert (status, code_of(body)) == (403, "InvalidAccessKeyId")


def test_tampered_body_is_content_sha256_mismatch(svc, bucket):
    headers = sign(svc, "PUT", f"/{bucket}/tampered", body=b"signed body")
    status, _, body = send(svc, "PUT", f"/{bucket}/tampered", b"SIGNED BODY", headers)
    assert (status, code_of(body)) == (400, "XAmzContentSHA256Mismatch")
    status, _, _ = send(svc, "HEAD", f"/{bucket}/tampered",
                        headers=sign(svc, "HEAD", f"/{bucket}/tampered"))
    assert status == 404


def test_tampered_header_or_path_is_signature_does_not_match(svc, bucket):
    headers = sign(svc, "PUT", f"/{bucket}/k", body=b"x", headers={"x-amz-meta-a": "1"})
    headers["x-amz-meta-a"] = "2"
    status, _, body = send(svc, "PUT", f"/{bucket}/k", b"x", headers)
    assert (status, code_of(body)) == (403, "SignatureDoesNotMatch")
    headers = sign(svc, "PUT", f"/{bucket}/k", body=b"x")
    status, _, body = send(svc, "PUT", f"/{bucket}/other", b"x", headers)
    assert (status, code_of(body)) == (403, "SignatureDoesNotMatch")


def test_sts_tampered_form_is_signature_does_not_match(svc):
    form = b"Action=GetCallerIdentity&Version=2011-06-15"
    headers = sign(svc, "POST", "/", form, {"Content-Type": "application/x-www-form-urlencoded"},
                   service="sts")
    status, _, body = send(svc, "POST", "/", form.replace(b"2011", b"2012"), headers)
    assert (status, code_of(body)) == (403, "SignatureDoesNotMatch")
    assert "<ErrorResponse" in body and "<Type>Sender</Type>" in body
    status, _, body = send(svc, "POST", "/", form, sign(
        svc, "POST", "/", form, {"Content-Type": "application/x-www-form-urlencoded"},
        service="sts", creds=creds_of(svc, key="AKIAUNKNOWN")))
    assert (status, code_of(body)) == (403, "InvalidClientTokenId")


def skewed(minutes):
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    return mock.patch("botocore.auth.get_current_datetime",
                      return_value=now + datetime.timedelta(minutes=minutes))


@pytest.mark.parametrize("minutes", [-20, 20])
def test_skewed_clock_is_refused(svc, bucket, minutes):
    with skewed(minutes):
        headers = sign(svc, "GET", f"/{bucket}")
    status, _, body = send(svc, "GET", f"/{bucket}", headers=headers)
    assert (status, code_of(body)) == (403, "RequestTimeTooSkewed")
    assert "<MaxAllowedSkewMilliseconds>900000</MaxAllowedSkewMilliseconds>" in body
    with skewed(minutes):
        sts_headers = sign(svc, "POST", "/", b"Action=GetCallerIdentity&Version=2011-06-15",
                           {"Content-Type": "application/x-www-form-urlencoded"}, service="sts")
    status, _, body = send(svc, "POST", "/", b"Action=GetCallerIdentity&Version=2011-06-15",
                           sts_headers)
    assert (status, code_of(body)) == (403, "SignatureDoesNotMatch")
    assert "Signature" in body and ("expired" in body or "not yet current" in body)


def test_small_skew_is_fine(svc, bucket):
    with skewed(-10):
        headers = sign(svc, "GET", f"/{bucket}")
    assert send(svc, "GET", f"/{bucket}", headers=headers)[0] == 200


def test_boto3_sees_the_codes(svc, bucket):
    bad = svc.client("s3")
    bad._request_signer._credentials = creds_of(svc, secret="wrong")
    with pytest.raises(ClientError) as e:
        bad.list_objects_v2(Bucket=bucket)
    assert e.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


# ---- presigned URLs --------------------------------------------------------------

def test_presigned_get_and_put(svc, bucket):
    s3 = svc.client("s3", signature_version="s3v4")
    s3.put_object(Bucket=bucket, Key="shared file.txt", Body=b"presigned!")
    url = s3.generate_presigned_url("get_object", Params={
        "Bucket": bucket, "Key": "shared file.txt",
        "ResponseContentDisposition": "attachment; filename=x.txt"}, ExpiresIn=300)
    r = requests.get(url, timeout=10)
    assert r.status_code == 200 and r.content == b"presigned!"
    assert r.headers["Content-Disposition"] == "attachment; filename=x.txt"
    put_url = s3.generate_presigned_url("put_object", Params={
        "Bucket": bucket, "Key": "uploaded"}, ExpiresIn=300)
    assert requests.put(put_url, data=b"via url", timeout=10).status_code == 200
    assert s3.get_object(Bucket=bucket, Key="uploaded")["Body"].read() == b"via url"
    # The signature covers the key: another key is refused.
    other = url.replace("shared%20file.txt", "uploaded")
    r = requests.get(other, timeout=10)
    assert r.status_code == 403 and "SignatureDoesNotMatch" in r.text


def test_presigned_expired_is_refused(svc, bucket):
    s3 = svc.client("s3", signature_version="s3v4")
    s3.put_object(Bucket=bucket, Key="old", Body=b"x")
    with skewed(-120):
        url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "old"},
                                        ExpiresIn=3600)
    r = requests.get(url, timeout=10)
    assert r.status_code == 403
    assert "<Code>AccessDenied</Code>" in r.text and "Request has expired" in r.text


def test_presigned_v2_urls(svc, bucket):
    """boto3's default for generate_presigned_url here is Signature Version
    2 (AWSAccessKeyId, Expires, Signature); S3 takes it, so do we."""
    s3 = svc.client("s3")
    s3.put_object(Bucket=bucket, Key="v2 d\u00e9j\u00e0+x", Body=b"v2")
    url = s3.generate_presigned_url("get_object", Params={
        "Bucket": bucket, "Key": "v2 d\u00e9j\u00e0+x",
        "ResponseContentType": "text/plain"}, ExpiresIn=300)
    assert "AWSAccessKeyId=" in url and "X-Amz-Signature" not in url
    r = requests.get(url, timeout=10)
    assert r.status_code == 200 and r.content == b"v2"
    assert r.headers["Content-Type"] == "text/plain"
    put_url = s3.generate_presigned_url("put_object", Params={
        "Bucket": bucket, "Key": "v2-put"}, ExpiresIn=300)
    assert requests.put(put_url, data=b"put v2", timeout=10).status_code == 200
    assert s3.get_object(Bucket=bucket, Key="v2-put")["Body"].read() == b"put v2"
    r = requests.get(url.replace("ResponseContentType", "x").replace(
        "text%2Fplain", "text%2Fhtml"), timeout=10)
    assert r.status_code == 403 and "SignatureDoesNotMatch" in r.text
    expired = s3.generate_presigned_url("get_object", Params={
        "Bucket": bucket, "Key": "v2-put"}, ExpiresIn=-5)
    r = requests.get(expired, timeout=10)
    assert r.status_code == 403 and "Request has expired" in r.text


# ---- aws-chunked bodies ----------------------------------------------------------

def crc32_b64(data):
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def chunked_unsigned(data, sizes, trailer):
    out, at = b"", 0
    for size in sizes:
        out += b"%x\r\n%s\r\n" % (size, data[at:at + size])
        at += size
    return out + b"0\r\n" + trailer + b"\r\n"


def test_boto3_trailing_checksum_upload(svc, bucket):
    """boto3 sends aws-chunked with a trailing CRC32 over TLS only; make it
    believe the endpoint is https so it sends that body here."""
    s3 = svc.client("s3")
    data = bytes(range(256)) * 1000
    with mock.patch("botocore.httpchecksum.urlparse",
                    lambda url: types.SimpleNamespace(scheme="https")):
        put = s3.put_object(Bucket=bucket, Key="trailer-boto3", Body=data)
    assert put["ChecksumCRC32"] == crc32_b64(data)
    assert s3.get_object(Bucket=bucket, Key="trailer-boto3")["Body"].read() == data


def streaming_headers(svc, path, payload, decoded_len, body, extra=None):
    headers = {"Content-Encoding": "aws-chunked",
               "X-Amz-Decoded-Content-Length": str(decoded_len),
               "Content-Length": str(len(body))}
    headers.update(extra or {})
    return sign(svc, "PUT", path, body, headers, signer=FixedPayload(creds_of(svc), payload))


def test_unsigned_trailer_upload(svc, bucket):
    data = b"chunk one|chunk two|the end"
    body = chunked_unsigned(data, [10, 10, len(data) - 20],
                            b"x-amz-checksum-crc32:%s\r\n" % crc32_b64(data).encode())
    path = f"/{bucket}/trailer"
    headers = streaming_headers(svc, path, "STREAMING-UNSIGNED-PAYLOAD-TRAILER", len(data),
                                body, {"x-amz-trailer": "x-amz-checksum-crc32"})
    status, resp_headers, text = send(svc, "PUT", path, body, headers)
    assert status == 200, text
    assert resp_headers["ETag"] == '"%s"' % hashlib.md5(data).hexdigest()
    got = svc.client("s3").get_object(Bucket=bucket, Key="trailer")
    assert got["Body"].read() == data
    assert got["ContentEncoding"] if "ContentEncoding" in got else True
    assert "aws-chunked" not in got.get("ContentEncoding", "")


def test_unsigned_trailer_wrong_checksum(svc, bucket):
    data = b"some data"
    body = chunked_unsigned(data, [len(data)], b"x-amz-checksum-crc32:AAAAAA==\r\n")
    path = f"/{bucket}/trailer-bad"
    headers = streaming_headers(svc, path, "STREAMING-UNSIGNED-PAYLOAD-TRAILER", len(data),
                                body, {"x-amz-trailer": "x-amz-checksum-crc32"})
    status, _, text = send(svc, "PUT", path, body, headers)
    assert (status, code_of(text)) == (400, "BadDigest")


def signing_key(secret, date, region="us-east-1", service="s3"):
    key = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def chunked_signed(svc, headers, data, sizes, tamper=None, trailer=None):
    """aws-chunked with chunk signatures chained from the request's, and a
    signed trailer line when `trailer` is given."""
    seed = headers["Authorization"].rsplit("Signature=", 1)[1]
    amz_date = headers["X-Amz-Date"]
    scope = f"{amz_date[:8]}/us-east-1/s3/aws4_request"
    key = signing_key(svc.creds["SecretAccessKey"], amz_date[:8])
    empty = hashlib.sha256(b"").hexdigest()
    out, prev, at = b"", seed, 0
    for size in list(sizes) + [0]:
        chunk = data[at:at + size]
        at += size
        sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, prev, empty,
                         hashlib.sha256(chunk).hexdigest()])
        prev = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
        sent = tamper(chunk) if tamper and size else chunk
        out += b"%x;chunk-signature=%s\r\n" % (size, prev.encode())
        out += b"%s\r\n" % sent if size else b""
    if trailer is None:
        return out + b"\r\n"
    sts = "\n".join(["AWS4-HMAC-SHA256-TRAILER", amz_date, scope, prev,
                     hashlib.sha256(trailer + b"\n").hexdigest()])
    signature = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
    return out + trailer + b"\r\nx-amz-trailer-signature:%s\r\n\r\n" % signature.encode()


@pytest.mark.parametrize("tampered", [False, True])
@pytest.mark.parametrize("with_trailer", [False, True])
def test_signed_chunks(svc, bucket, tampered, with_trailer):
    data = b"A" * 70000 + b"B" * 1000
    sizes = [65536, len(data) - 65536]
    path = f"/{bucket}/signed-chunks-{tampered}-{with_trailer}"
    trailer = b"x-amz-checksum-crc32:" + crc32_b64(data).encode() if with_trailer else None
    payload = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" + ("-TRAILER" if with_trailer else "")
    headers = {"Content-Encoding": "aws-chunked",
               "X-Amz-Decoded-Content-Length": str(len(data))}
    if with_trailer:
        headers["X-Amz-Trailer"] = "x-amz-checksum-crc32"
    # The body's length is signed; make it with a placeholder signature first.
    probe = chunked_signed(svc, {"Authorization": "Signature=" + "0" * 64,
                                 "X-Amz-Date": "20000101T000000Z"}, data, sizes,
                           trailer=trailer)
    headers["Content-Length"] = str(len(probe))
    headers = sign(svc, "PUT", path, b"", headers, signer=FixedPayload(creds_of(svc), payload))
    tamper = (lambda c: c[:-1] + b"Z") if tampered else None
    body = chunked_signed(svc, headers, data, sizes, tamper, trailer)
    assert len(body) == len(probe)
    status, _, text = send(svc, "PUT", path, body, headers)
    if tampered:
        assert (status, code_of(text)) == (403, "SignatureDoesNotMatch")
        status, _, _ = send(svc, "HEAD", path, headers=sign(svc, "HEAD", path))
        assert status == 404
    else:
        assert status == 200, text
        got = svc.client("s3").get_object(Bucket=bucket, Key=path.split("/", 2)[2],
                                          ChecksumMode="ENABLED")
        assert got["Body"].read() == data
        if with_trailer:
            assert got["ChecksumCRC32"] == crc32_b64(data)


def test_signed_trailer_with_wrong_signature(svc, bucket):
    data = b"trailer data"
    trailer = b"x-amz-checksum-crc32:" + crc32_b64(data).encode()
    path = f"/{bucket}/bad-trailer-signature"
    headers = {"Content-Encoding": "aws-chunked", "X-Amz-Trailer": "x-amz-checksum-crc32",
               "X-Amz-Decoded-Content-Length": str(len(data))}
    probe = chunked_signed(svc, {"Authorization": "Signature=" + "0" * 64,
                                 "X-Amz-Date": "20000101T000000Z"}, data, [len(data)],
                           trailer=trailer)
    headers["Content-Length"] = str(len(probe))
    headers = sign(svc, "PUT", path, b"", headers, signer=FixedPayload(
        creds_of(svc), "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"))
    body = bytearray(chunked_signed(svc, headers, data, [len(data)], trailer=trailer))
    at = body.index(b"x-amz-trailer-signature:") + len(b"x-amz-trailer-signature:")
    body[at] = ord("0") if body[at] != ord("0") else ord("1")  # same length
    status, _, text = send(svc, "PUT", path, bytes(body), headers)
    assert (status, code_of(text)) == (403, "SignatureDoesNotMatch")
    assert "trailer" in text
