"""sagemagic-local's S3 and STS against boto3, the independent client:
buckets, objects, ranges, listings, multipart uploads, and keys that must
round-trip unchanged without anything landing outside the data dir."""
import base64
import hashlib
import os
import pathlib
import subprocess
import urllib.error
import urllib.request
import uuid

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from local_service import LOCAL_BIN, LocalService

AWS_BIN = str(pathlib.Path(LOCAL_BIN).with_name("sagemagic-aws"))

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("local-s3")


@pytest.fixture(scope="module")
def svc(root):
    (root / "cwd").mkdir()
    with LocalService(root / "data").running(cwd=root / "cwd") as service:
        yield service


@pytest.fixture(scope="module")
def s3(svc):
    return svc.client("s3")


@pytest.fixture
def bucket(s3):
    name = f"test-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def error_code(excinfo):
    return excinfo.value.response["Error"]["Code"]


# ---- buckets -----------------------------------------------------------------

def test_create_head_list_delete_bucket(s3):
    s3.create_bucket(Bucket="lifecycle-bucket")
    head = s3.head_bucket(Bucket="lifecycle-bucket")
    assert head["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "us-east-1"
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert "lifecycle-bucket" in names
    s3.put_object(Bucket="lifecycle-bucket", Key="k", Body=b"v")
    with pytest.raises(ClientError) as e:
        s3.delete_bucket(Bucket="lifecycle-bucket")
    assert error_code(e) == "BucketNotEmpty"
    s3.delete_object(Bucket="lifecycle-bucket", Key="k")
    s3.delete_bucket(Bucket="lifecycle-bucket")
    with pytest.raises(ClientError) as e:
        s3.head_bucket(Bucket="lifecycle-bucket")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_create_bucket_with_location(s3):
    s3.create_bucket(Bucket="eu-bucket",
                     CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert s3.get_bucket_location(Bucket="eu-bucket")["LocationConstraint"] == "eu-west-1"
    assert s3.head_bucket(Bucket="eu-bucket")["ResponseMetadata"]["HTTPHeaders"][
        "x-amz-bucket-region"] == "eu-west-1"
    # An owner creating again: 200 in us-east-1 (S3's legacy), 409 elsewhere.
    s3.create_bucket(Bucket="eu-bucket")
    with pytest.raises(ClientError) as e:
        s3.create_bucket(Bucket="eu-bucket",
                         CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert error_code(e) == "BucketAlreadyOwnedByYou"


@pytest.mark.parametrize("name", [
    "UpperCase", "ab", "a" * 64, "192.168.5.4", "my..bucket", "-start", "end-",
    "under_score", "xn--punycode", "bucket-s3alias", "sp ace", "abc\x00def"])
def test_invalid_bucket_names(s3, svc, name):
    import http.client
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    from urllib.parse import quote
    # boto3 validates some names itself; a signed raw request reaches the
    # service with any of them.
    path = "/" + quote(name, safe="")
    req = AWSRequest(method="PUT", url=f"http://{svc.host}{path}", data=b"")
    S3SigV4Auth(Credentials(svc.creds["AccessKeyId"], svc.creds["SecretAccessKey"]),
                "s3", "us-east-1").add_auth(req)
    conn = http.client.HTTPConnection(svc.host, timeout=10)
    conn.request("PUT", path, body=b"", headers=dict(req.prepare().headers))
    resp = conn.getresponse()
    body = resp.read().decode()
    conn.close()
    assert resp.status == 400
    assert "<Code>InvalidBucketName</Code>" in body


def test_no_such_bucket(s3):
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket="does-not-exist", Key="k", Body=b"x")
    assert error_code(e) == "NoSuchBucket"
    with pytest.raises(ClientError) as e:
        s3.list_objects_v2(Bucket="does-not-exist")
    assert error_code(e) == "NoSuchBucket"


# ---- objects -----------------------------------------------------------------

def test_put_get_head_delete(s3, bucket):
    body = b"hello, local world\n"
    put = s3.put_object(Bucket=bucket, Key="dir/file.txt", Body=body,
                        ContentType="text/plain", Metadata={"owner": "me", "n": "1"},
                        ContentDisposition="attachment")
    etag = '"%s"' % hashlib.md5(body).hexdigest()
    assert put["ETag"] == etag
    got = s3.get_object(Bucket=bucket, Key="dir/file.txt")
    assert got["Body"].read() == body
    assert got["ETag"] == etag
    assert got["ContentType"] == "text/plain"
    assert got["ContentLength"] == len(body)
    assert got["Metadata"] == {"owner": "me", "n": "1"}
    assert got["ContentDisposition"] == "attachment"
    head = s3.head_object(Bucket=bucket, Key="dir/file.txt")
    assert head["ContentLength"] == len(body)
    assert head["ETag"] == etag
    assert head["LastModified"] == got["LastModified"]
    s3.delete_object(Bucket=bucket, Key="dir/file.txt")
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="dir/file.txt")
    assert error_code(e) == "NoSuchKey"
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key="dir/file.txt")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    s3.delete_object(Bucket=bucket, Key="dir/file.txt")  # deleting again is fine


def test_empty_object_and_overwrite(s3, bucket):
    s3.put_object(Bucket=bucket, Key="empty", Body=b"")
    got = s3.get_object(Bucket=bucket, Key="empty")
    assert got["Body"].read() == b""
    assert got["ETag"] == '"d41d8cd98f00b204e9800998ecf8427e"'
    s3.put_object(Bucket=bucket, Key="empty", Body=b"now full")
    assert s3.get_object(Bucket=bucket, Key="empty")["Body"].read() == b"now full"


def test_get_with_range(s3, bucket):
    body = bytes(range(256)) * 40
    s3.put_object(Bucket=bucket, Key="ranged", Body=body)
    r = s3.get_object(Bucket=bucket, Key="ranged", Range="bytes=10-19")
    assert r["Body"].read() == body[10:20]
    assert r["ContentRange"] == f"bytes 10-19/{len(body)}"
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert s3.get_object(Bucket=bucket, Key="ranged", Range="bytes=10000-")[
        "Body"].read() == body[10000:]
    assert s3.get_object(Bucket=bucket, Key="ranged", Range="bytes=-7")[
        "Body"].read() == body[-7:]
    assert s3.get_object(Bucket=bucket, Key="ranged", Range="bytes=10230-99999")[
        "Body"].read() == body[10230:]
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="ranged", Range=f"bytes={len(body)}-")
    assert error_code(e) == "InvalidRange"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 416


def test_conditional_get(s3, bucket):
    put = s3.put_object(Bucket=bucket, Key="cond", Body=b"abc")
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="cond", IfNoneMatch=put["ETag"])
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="cond", IfMatch='"0000"')
    assert error_code(e) == "PreconditionFailed"
    assert s3.get_object(Bucket=bucket, Key="cond", IfMatch=put["ETag"])[
        "Body"].read() == b"abc"


def test_checksums(s3, bucket):
    # boto3 sends x-amz-checksum-crc32 with every PutObject; ask for others.
    # CRC32C needs botocore[crt]; the C unit tests cover it.
    for algorithm in ["CRC32", "SHA1", "SHA256"]:
        put = s3.put_object(Bucket=bucket, Key=f"sum-{algorithm}", Body=b"data" * 999,
                            ChecksumAlgorithm=algorithm)
        assert put[f"Checksum{algorithm}"]
        got = s3.get_object(Bucket=bucket, Key=f"sum-{algorithm}", ChecksumMode="ENABLED")
        assert got[f"Checksum{algorithm}"] == put[f"Checksum{algorithm}"]
        assert got["Body"].read() == b"data" * 999  # botocore validates it


def test_wrong_checksum_is_bad_digest(s3, bucket):
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="bad", Body=b"data", ChecksumCRC32="AAAAAA==")
    assert error_code(e) == "BadDigest"
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="bad", Body=b"data",
                      ContentMD5="1B2M2Y8AsgTpgAmY7PhCfg==")
    assert error_code(e) == "BadDigest"
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="bad")


# ---- listings ----------------------------------------------------------------

def test_list_objects_v2_prefix_delimiter_pages(s3, bucket):
    keys = ["a.txt", "b/1", "b/2", "b/c/3", "b/c/4", "d/5", "e.txt", "f/g/h"]
    for k in keys:
        s3.put_object(Bucket=bucket, Key=k, Body=k.encode())
    r = s3.list_objects_v2(Bucket=bucket)
    assert [o["Key"] for o in r["Contents"]] == sorted(keys)
    assert r["KeyCount"] == len(keys) and not r["IsTruncated"]
    assert r["Contents"][0]["Size"] == len("a.txt")
    assert r["Contents"][0]["ETag"] == '"%s"' % hashlib.md5(b"a.txt").hexdigest()
    r = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [o["Key"] for o in r["Contents"]] == ["a.txt", "e.txt"]
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["b/", "d/", "f/"]
    assert r["KeyCount"] == 5
    r = s3.list_objects_v2(Bucket=bucket, Prefix="b/", Delimiter="/")
    assert [o["Key"] for o in r["Contents"]] == ["b/1", "b/2"]
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["b/c/"]
    r = s3.list_objects_v2(Bucket=bucket, Prefix="b/c")
    assert [o["Key"] for o in r["Contents"]] == ["b/c/3", "b/c/4"]
    r = s3.list_objects_v2(Bucket=bucket, StartAfter="b/c/3")
    assert [o["Key"] for o in r["Contents"]] == ["b/c/4", "d/5", "e.txt", "f/g/h"]
    # Pages of two, with and without a delimiter, via the paginator.
    for delimiter, want in [("", sorted(keys)), ("/", ["a.txt", "b/", "d/", "e.txt", "f/"])]:
        seen, pages = [], 0
        kwargs = {"Bucket": bucket, "PaginationConfig": {"PageSize": 2}}
        if delimiter:
            kwargs["Delimiter"] = delimiter
        for page in s3.get_paginator("list_objects_v2").paginate(**kwargs):
            pages += 1
            assert page["KeyCount"] <= 2
            seen += [o["Key"] for o in page.get("Contents", [])]
            seen += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        assert sorted(seen) == sorted(want)
        assert pages == (len(want) + 1) // 2
    r = s3.list_objects_v2(Bucket=bucket, MaxKeys=3)
    assert r["IsTruncated"] and r["KeyCount"] == 3 and r["NextContinuationToken"]
    r2 = s3.list_objects_v2(Bucket=bucket, MaxKeys=3,
                            ContinuationToken=r["NextContinuationToken"])
    assert r2["Contents"][0]["Key"] == "b/c/3"
    with pytest.raises(ClientError) as e:
        s3.list_objects_v2(Bucket=bucket, ContinuationToken="bogus")
    assert error_code(e) == "InvalidArgument"


def test_list_objects_v1(s3, bucket):
    for k in ["x/1", "x/2", "y"]:
        s3.put_object(Bucket=bucket, Key=k, Body=b"")
    r = s3.list_objects(Bucket=bucket, Delimiter="/", MaxKeys=1)
    assert r["IsTruncated"] and r["CommonPrefixes"] == [{"Prefix": "x/"}]
    r = s3.list_objects(Bucket=bucket, Delimiter="/", Marker=r["NextMarker"])
    assert [o["Key"] for o in r["Contents"]] == ["y"]


def test_delete_objects(s3, bucket):
    for k in ["del/1", "del/2", "del/3"]:
        s3.put_object(Bucket=bucket, Key=k, Body=b"x")
    r = s3.delete_objects(Bucket=bucket, Delete={"Objects": [
        {"Key": "del/1"}, {"Key": "del/2"}, {"Key": "never-existed"}]})
    assert sorted(d["Key"] for d in r["Deleted"]) == ["del/1", "del/2", "never-existed"]
    assert "Errors" not in r
    r = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "del/3"}], "Quiet": True})
    assert "Deleted" not in r
    assert s3.list_objects_v2(Bucket=bucket, Prefix="del/")["KeyCount"] == 0


# ---- multipart ---------------------------------------------------------------

def test_upload_file_multipart_and_download(s3, bucket, tmp_path):
    data = os.urandom(17 * MiB + 12345)
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    config = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB,
                            max_concurrency=4)
    s3.upload_file(str(src), bucket, "big/blob.bin", Config=config)
    head = s3.head_object(Bucket=bucket, Key="big/blob.bin")
    assert head["ContentLength"] == len(data)
    parts = [data[i:i + 5 * MiB] for i in range(0, len(data), 5 * MiB)]
    digest = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest()
    assert head["ETag"] == f'"{digest}-{len(parts)}"'
    dst = tmp_path / "dst.bin"
    s3.download_file(bucket, "big/blob.bin", str(dst), Config=config)
    assert dst.read_bytes() == data
    r = s3.get_object(Bucket=bucket, Key="big/blob.bin",
                      Range=f"bytes={5 * MiB - 10}-{5 * MiB + 9}")
    assert r["Body"].read() == data[5 * MiB - 10:5 * MiB + 10]


def test_c_client_multipart_keeps_the_etag_rule(svc, s3, bucket, tmp_path):
    """sagemagic-aws sends parts to this machine unsigned with a CRC32C;
    the service still gives the object S3's multipart ETag."""
    data = os.urandom(12 * MiB + 777)
    src = tmp_path / "c.bin"
    src.write_bytes(data)
    env = dict(os.environ, AWS_ACCESS_KEY_ID=svc.creds["AccessKeyId"],
               AWS_SECRET_ACCESS_KEY=svc.creds["SecretAccessKey"], AWS_REGION="us-east-1")
    subprocess.run([AWS_BIN, "s3", "cp", str(src), f"s3://{bucket}/c.bin", "--endpoint-url",
                    svc.endpoint, "--multipart-threshold", "5MiB", "--part-size", "5MiB",
                    "--quiet"], env=env, check=True, timeout=120)
    head = s3.head_object(Bucket=bucket, Key="c.bin")
    parts = [data[i:i + 5 * MiB] for i in range(0, len(data), 5 * MiB)]
    digest = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest()
    assert head["ETag"] == f'"{digest}-3"'
    assert s3.get_object(Bucket=bucket, Key="c.bin")["Body"].read() == data


class _UnsignedPayload(S3SigV4Auth):
    def payload(self, request):
        return "UNSIGNED-PAYLOAD"


def test_unsigned_part_with_a_wrong_crc32c_is_refused(svc, s3, bucket):
    up = s3.create_multipart_upload(Bucket=bucket, Key="u", ChecksumAlgorithm="CRC32C")
    body = b"part" * 1000
    good = base64.b64encode(bytes.fromhex("%08x" % _crc32c(body))).decode()
    creds = Credentials(svc.creds["AccessKeyId"], svc.creds["SecretAccessKey"])

    def send(crc):
        url = f"{svc.endpoint}/{bucket}/u?partNumber=1&uploadId={up['UploadId']}"
        req = AWSRequest("PUT", url, data=body, headers={"x-amz-checksum-crc32c": crc})
        _UnsignedPayload(creds, "s3", "us-east-1").add_auth(req)
        prepared = req.prepare()
        raw = urllib.request.Request(url, data=body, method="PUT",
                                     headers=dict(prepared.headers))
        try:
            with urllib.request.urlopen(raw, timeout=30) as r:
                return r.status, r.headers.get("x-amz-checksum-crc32c"), b""
        except urllib.error.HTTPError as e:
            return e.code, None, e.read()

    status, _, err = send("AAAAAA==" if good != "AAAAAA==" else "AAAAAQ==")
    assert status == 400 and b"BadDigest" in err
    assert s3.list_parts(Bucket=bucket, Key="u", UploadId=up["UploadId"]).get("Parts", []) == []
    status, echo, _ = send(good)
    assert status == 200 and echo == good
    s3.abort_multipart_upload(Bucket=bucket, Key="u", UploadId=up["UploadId"])


def _crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def test_multipart_by_hand_list_parts_and_abort(s3, bucket):
    up = s3.create_multipart_upload(Bucket=bucket, Key="mp", ContentType="text/csv",
                                    Metadata={"m": "1"})
    uid = up["UploadId"]
    p1 = s3.upload_part(Bucket=bucket, Key="mp", UploadId=uid, PartNumber=1,
                        Body=b"a" * (5 * MiB))
    p2 = s3.upload_part(Bucket=bucket, Key="mp", UploadId=uid, PartNumber=2, Body=b"tail")
    parts = s3.list_parts(Bucket=bucket, Key="mp", UploadId=uid)["Parts"]
    assert [(p["PartNumber"], p["Size"], p["ETag"]) for p in parts] == [
        (1, 5 * MiB, p1["ETag"]), (2, 4, p2["ETag"])]
    page = s3.list_parts(Bucket=bucket, Key="mp", UploadId=uid, MaxParts=1)
    assert page["IsTruncated"] and page["NextPartNumberMarker"] == 1
    uploads = s3.list_multipart_uploads(Bucket=bucket)["Uploads"]
    assert [u["UploadId"] for u in uploads if u["Key"] == "mp"] == [uid]
    # Parts out of order, an ETag that is not the part's: refused.
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=uid, MultipartUpload={
            "Parts": [{"PartNumber": 2, "ETag": p2["ETag"]}, {"PartNumber": 1, "ETag": p1["ETag"]}]})
    assert error_code(e) == "InvalidPartOrder"
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=uid, MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": '"00000000000000000000000000000000"'}]})
    assert error_code(e) == "InvalidPart"
    done = s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=uid, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": p1["ETag"]}, {"PartNumber": 2, "ETag": p2["ETag"]}]})
    assert done["ETag"].endswith('-2"')
    got = s3.get_object(Bucket=bucket, Key="mp")
    assert got["ContentType"] == "text/csv" and got["Metadata"] == {"m": "1"}
    assert got["Body"].read() == b"a" * (5 * MiB) + b"tail"
    # Abort another one: its parts go, the upload is gone.
    up2 = s3.create_multipart_upload(Bucket=bucket, Key="mp2")
    s3.upload_part(Bucket=bucket, Key="mp2", UploadId=up2["UploadId"], PartNumber=1, Body=b"x")
    s3.abort_multipart_upload(Bucket=bucket, Key="mp2", UploadId=up2["UploadId"])
    with pytest.raises(ClientError) as e:
        s3.list_parts(Bucket=bucket, Key="mp2", UploadId=up2["UploadId"])
    assert error_code(e) == "NoSuchUpload"
    with pytest.raises(ClientError) as e:
        s3.upload_part(Bucket=bucket, Key="mp2", UploadId=up2["UploadId"], PartNumber=1, Body=b"x")
    assert error_code(e) == "NoSuchUpload"
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key="mp2")


def test_small_middle_part_is_entity_too_small(s3, bucket):
    uid = s3.create_multipart_upload(Bucket=bucket, Key="small")["UploadId"]
    p1 = s3.upload_part(Bucket=bucket, Key="small", UploadId=uid, PartNumber=1, Body=b"1")
    p2 = s3.upload_part(Bucket=bucket, Key="small", UploadId=uid, PartNumber=2, Body=b"2")
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="small", UploadId=uid, MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": p1["ETag"]}, {"PartNumber": 2, "ETag": p2["ETag"]}]})
    assert error_code(e) == "EntityTooSmall"
    with pytest.raises(ClientError) as e:
        s3.upload_part(Bucket=bucket, Key="small", UploadId=uid, PartNumber=10001, Body=b"x")
    assert error_code(e) == "InvalidArgument"


# ---- keys --------------------------------------------------------------------

TRICKY_KEYS = [
    "../escape.txt", "../../../../../../tmp/sagemagic-escape", "a/../../b", "./dot",
    "a/./b", "..", ".", "/", "//leading//double", "trailing/", "a//b///c",
    "sp ace s.txt", " leading and trailing ", "unicode/d\u00e9j\u00e0 vu/\u6f22\u5b57\U0001f600",
    "percent%20not%2Fdecoded%", "plus+sign+", "q?mark#hash&amp=eq", "tilde~star*",
    "back\\slash", "semi;colon,comma", "quote\"'", "<xml>&amp;", "k" * 1024,
    "\u00e9" * 512,
]


def test_tricky_keys_round_trip(s3, svc, root):
    bucket = "tricky-keys"
    s3.create_bucket(Bucket=bucket)
    for key in TRICKY_KEYS:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    for key in TRICKY_KEYS:
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == key.encode(), key
        assert s3.head_object(Bucket=bucket, Key=key)["ContentLength"] == len(key.encode())
    listed = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, PaginationConfig={"PageSize": 7}) for o in page["Contents"]]
    assert listed == sorted(TRICKY_KEYS, key=lambda k: k.encode())
    # V1 listing without URL encoding carries them through XML unchanged.
    v1 = [o["Key"] for o in s3.list_objects(Bucket=bucket)["Contents"]]
    assert sorted(v1) == sorted(TRICKY_KEYS)
    # Nothing outside the data dir; no file named after a key.
    data = (root / "data").resolve()
    assert sorted(p.name for p in root.iterdir()) == ["cwd", "data", "data.log"]
    for dirpath, dirnames, filenames in os.walk(data):
        for name in filenames + dirnames:
            path = pathlib.Path(dirpath, name)
            assert not path.is_symlink(), path
            assert data in path.resolve().parents, path
    assert not any((root / "cwd").iterdir())
    assert not os.path.exists("/tmp/sagemagic-escape")
    key_names = {pathlib.PurePosixPath(k).name for k in TRICKY_KEYS} - {"", ".", ".."}
    for dirpath, _, filenames in os.walk(data):
        assert not key_names & set(filenames), dirpath
    objects = data / "objects"
    for dirpath, _, filenames in os.walk(objects):
        for name in filenames:
            assert len(name) == 32 and all(c in "0123456789abcdef" for c in name)


def test_metadata_too_large(s3, bucket):
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="meta", Body=b"x", Metadata={"big": "v" * 2100})
    assert error_code(e) == "MetadataTooLarge"


def test_key_too_long(s3, bucket):
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="k" * 1025, Body=b"x")
    assert error_code(e) == "KeyTooLongError"


def test_virtual_hosted_style(s3, svc, bucket):
    """A Host of <bucket>.localhost names the bucket, as clients configured
    with http://localhost:PORT address it."""
    import http.client
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    creds = Credentials(svc.creds["AccessKeyId"], svc.creds["SecretAccessKey"])
    host = f"{bucket}.localhost:{svc.info['port']}"
    req = AWSRequest(method="PUT", url=f"http://{host}/vhost/key.txt", data=b"by host")
    S3SigV4Auth(creds, "s3", "us-east-1").add_auth(req)
    conn = http.client.HTTPConnection(svc.host, timeout=10)
    headers = dict(req.prepare().headers, Host=host)
    conn.request("PUT", "/vhost/key.txt", body=b"by host", headers=headers)
    resp = conn.getresponse()
    assert resp.status == 200, resp.read()
    conn.close()
    assert s3.get_object(Bucket=bucket, Key="vhost/key.txt")["Body"].read() == b"by host"


# ---- STS ---------------------------------------------------------------------

def test_sts_get_caller_identity(svc):
    ident = svc.client("sts").get_caller_identity()
    assert ident["Account"] == svc.creds["AccountId"] == "000000000000"
    assert ident["Arn"] == "arn:aws:iam::000000000000:user/sagemagic-local"
    assert ident["UserId"]
