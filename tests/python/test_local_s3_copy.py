"""sagemagic-local's CopyObject and UploadPartCopy against boto3 and the AWS
CLI, the independent clients: copies between buckets and keys, metadata
per directive, ETags, the copy-source conditions and ranges, S3's errors,
boto3's managed copy and `aws s3 cp`/`mv` between S3 URLs (multipart
copies above their thresholds)."""
import base64
import datetime
import hashlib
import os
import subprocess
import threading
import time
import uuid
import zlib

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from local_service import LocalService, ROOT
# the same fixtures as test_local_s3: a service of this module's own, run
# in a working directory that must stay empty, and a boto3 client of it
from test_local_s3 import root, s3, svc  # noqa: F401

AWS = str(ROOT / ".venv" / "bin" / "aws")
MiB = 1024 * 1024


def new_bucket(s3):
    name = f"copy-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture
def bucket(s3):
    return new_bucket(s3)


def seeded(size, seed):
    """`size` bytes that depend on `seed` only."""
    out = bytearray()
    block = hashlib.sha256(str(seed).encode()).digest()
    while len(out) < size:
        block = hashlib.sha256(block).digest()
        out += block * 64
    return bytes(out[:size])


def md5_etag(data):
    return '"' + hashlib.md5(data).hexdigest() + '"'


def multipart_etag(parts):
    digests = b"".join(hashlib.md5(p).digest() for p in parts)
    return f'"{hashlib.md5(digests).hexdigest()}-{len(parts)}"'


def error_of(excinfo):
    """(status, code, message) of a ClientError."""
    response = excinfo.value.response
    return (response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"],
            response["Error"].get("Message", ""))


def put_multipart(s3, bucket, key, parts, **extra):
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key, **extra)["UploadId"]
    done = []
    for number, body in enumerate(parts, 1):
        etag = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=number,
                              Body=body)["ETag"]
        done.append({"PartNumber": number, "ETag": etag})
    return s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload,
                                        MultipartUpload={"Parts": done})


# ---- CopyObject ---------------------------------------------------------------

KEYS = ["plain.txt", "données/été ü 日本語.csv", "a/../b/./c", "../escape", "with space/and+plus",
        "?query&x=y%20z", "trailing/"]


@pytest.mark.parametrize("key", KEYS)
def test_copy_between_buckets_and_keys(s3, key):
    src, dst = new_bucket(s3), new_bucket(s3)
    data = seeded(10_000, key)
    s3.put_object(Bucket=src, Key=key, Body=data)
    # to another bucket under the same key, and within the bucket under another
    for bucket, target in [(dst, key), (src, key + ".copy"), (dst, "copied/" + key)]:
        got = s3.copy_object(Bucket=bucket, Key=target, CopySource={"Bucket": src, "Key": key})
        result = got["CopyObjectResult"]
        assert result["ETag"] == md5_etag(data)
        back = s3.get_object(Bucket=bucket, Key=target)
        assert back["Body"].read() == data
        assert back["ETag"] == md5_etag(data)
        modified = result["LastModified"]
        assert abs((modified - back["LastModified"]).total_seconds()) < 1
        age = datetime.datetime.now(datetime.timezone.utc) - modified
        assert datetime.timedelta(seconds=-5) < age < datetime.timedelta(seconds=60)
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=dst)["Contents"]]
    assert sorted(listed) == sorted([key, "copied/" + key])


def test_copy_source_as_a_string_with_leading_slash(s3, bucket):
    s3.put_object(Bucket=bucket, Key="dir/é x.bin", Body=b"abc")
    # botocore %-encodes a string CopySource itself, leading slash and all
    s3.copy_object(Bucket=bucket, Key="to", CopySource=f"/{bucket}/dir/é x.bin")
    assert s3.get_object(Bucket=bucket, Key="to")["Body"].read() == b"abc"
    s3.copy_object(Bucket=bucket, Key="to2", CopySource={"Bucket": bucket, "Key": "dir/é x.bin",
                                                         "VersionId": "null"})
    assert s3.get_object(Bucket=bucket, Key="to2")["Body"].read() == b"abc"


def test_empty_object_copies(s3, bucket):
    s3.put_object(Bucket=bucket, Key="empty", Body=b"")
    got = s3.copy_object(Bucket=bucket, Key="empty2", CopySource={"Bucket": bucket, "Key": "empty"})
    assert got["CopyObjectResult"]["ETag"] == md5_etag(b"")
    assert s3.get_object(Bucket=bucket, Key="empty2")["ContentLength"] == 0


def put_described(s3, bucket, key, body):
    s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="text/csv",
                  Metadata={"origin": "sensor 7", "note": "a=b; c"}, CacheControl="max-age=60",
                  ContentDisposition="attachment")


def test_copy_directive_keeps_the_source_metadata(s3, bucket):
    put_described(s3, bucket, "src", b"1,2\n")
    # COPY is the default; the request's own metadata is ignored then
    s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"},
                   Metadata={"ignored": "yes"}, ContentType="image/png")
    s3.copy_object(Bucket=bucket, Key="dst2", CopySource={"Bucket": bucket, "Key": "src"},
                   MetadataDirective="COPY")
    for key in ["dst", "dst2"]:
        head = s3.head_object(Bucket=bucket, Key=key)
        assert head["ContentType"] == "text/csv"
        assert head["Metadata"] == {"origin": "sensor 7", "note": "a=b; c"}
        assert head["CacheControl"] == "max-age=60"
        assert head["ContentDisposition"] == "attachment"


def test_replace_directive_takes_the_request_metadata(s3, bucket):
    put_described(s3, bucket, "src", b"1,2\n")
    s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"},
                   MetadataDirective="REPLACE", ContentType="application/json",
                   Metadata={"fresh": "1"})
    head = s3.head_object(Bucket=bucket, Key="dst")
    assert head["ContentType"] == "application/json"
    assert head["Metadata"] == {"fresh": "1"}
    assert "CacheControl" not in head and "ContentDisposition" not in head
    s3.copy_object(Bucket=bucket, Key="bare", CopySource={"Bucket": bucket, "Key": "src"},
                   MetadataDirective="REPLACE")
    head = s3.head_object(Bucket=bucket, Key="bare")
    assert head["ContentType"] == "binary/octet-stream" and head["Metadata"] == {}
    assert s3.get_object(Bucket=bucket, Key="bare")["Body"].read() == b"1,2\n"


def b64(raw):
    return base64.b64encode(raw).decode()


def test_copy_checksums(s3, bucket):
    data = seeded(70_000, "sum")
    s3.put_object(Bucket=bucket, Key="src", Body=data, ChecksumAlgorithm="CRC32")
    crc32 = b64(zlib.crc32(data).to_bytes(4, "big"))
    # computed on the way when the copy asks for one
    got = s3.copy_object(Bucket=bucket, Key="sha", CopySource={"Bucket": bucket, "Key": "src"},
                         ChecksumAlgorithm="SHA256")
    sha256 = b64(hashlib.sha256(data).digest())
    assert got["CopyObjectResult"]["ChecksumSHA256"] == sha256
    head = s3.head_object(Bucket=bucket, Key="sha", ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == sha256
    # else the source's: the bytes are the same
    got = s3.copy_object(Bucket=bucket, Key="crc", CopySource={"Bucket": bucket, "Key": "src"})
    assert got["CopyObjectResult"]["ChecksumCRC32"] == crc32
    assert s3.head_object(Bucket=bucket, Key="crc", ChecksumMode="ENABLED")["ChecksumCRC32"] == crc32
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="bad", CopySource={"Bucket": bucket, "Key": "src"},
                       ChecksumAlgorithm="MD5")
    assert error_of(e) == (400, "InvalidRequest", "Checksum algorithm MD5 is not supported")
    # a part copy into an upload that keeps SHA-1 gets one of its bytes
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp",
                                        ChecksumAlgorithm="SHA1")["UploadId"]
    got = s3.upload_part_copy(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=1,
                              CopySource={"Bucket": bucket, "Key": "src"},
                              CopySourceRange="bytes=100-60099")
    assert got["CopyPartResult"]["ChecksumSHA1"] == b64(hashlib.sha1(data[100:60100]).digest())
    listed = s3.list_parts(Bucket=bucket, Key="mp", UploadId=upload)["Parts"]
    assert listed[0]["Size"] == 60000


def test_unknown_directive_is_refused(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"x")
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"},
                       MetadataDirective="MERGE")
    assert error_of(e)[:2] == (400, "InvalidArgument")
    assert "metadata directive" in error_of(e)[2]
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="dst")


def test_copy_of_a_multipart_object_is_single_part(s3, bucket):
    parts = [seeded(5 * MiB, 1), seeded(5 * MiB, 2), seeded(12345, 3)]
    done = put_multipart(s3, bucket, "multi", parts)
    assert done["ETag"] == multipart_etag(parts)
    whole = b"".join(parts)
    got = s3.copy_object(Bucket=bucket, Key="flat", CopySource={"Bucket": bucket, "Key": "multi"})
    assert got["CopyObjectResult"]["ETag"] == md5_etag(whole)
    back = s3.get_object(Bucket=bucket, Key="flat")
    assert back["ETag"] == md5_etag(whole)
    assert hashlib.sha256(back["Body"].read()).digest() == hashlib.sha256(whole).digest()


def test_copy_onto_itself(s3, bucket):
    put_described(s3, bucket, "self", b"same bytes")
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="self", CopySource={"Bucket": bucket, "Key": "self"})
    assert error_of(e) == (400, "InvalidRequest",
                           "This copy request is illegal because it is trying to copy an object "
                           "to itself without changing the object's metadata, storage class, "
                           "website redirect location or encryption attributes.")
    # with REPLACE it is a metadata update; the bytes and ETag stay
    got = s3.copy_object(Bucket=bucket, Key="self", CopySource={"Bucket": bucket, "Key": "self"},
                         MetadataDirective="REPLACE", Metadata={"v": "2"})
    assert got["CopyObjectResult"]["ETag"] == md5_etag(b"same bytes")
    head = s3.head_object(Bucket=bucket, Key="self")
    assert head["Metadata"] == {"v": "2"}
    assert s3.get_object(Bucket=bucket, Key="self")["Body"].read() == b"same bytes"
    # a storage class counts as a change too (the service keeps just one)
    s3.copy_object(Bucket=bucket, Key="self", CopySource={"Bucket": bucket, "Key": "self"},
                   StorageClass="STANDARD")
    assert s3.head_object(Bucket=bucket, Key="self")["Metadata"] == {"v": "2"}


def test_results_are_s3_xml(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"xml")
    bodies = []

    def keep(http_response, **_):
        bodies.append(http_response.content)
    s3.meta.events.register("after-call.s3.CopyObject", keep)
    s3.meta.events.register("after-call.s3.UploadPartCopy", keep)
    try:
        s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
        upload = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
        s3.upload_part_copy(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=1,
                            CopySource={"Bucket": bucket, "Key": "src"})
    finally:
        s3.meta.events.unregister("after-call.s3.CopyObject", keep)
        s3.meta.events.unregister("after-call.s3.UploadPartCopy", keep)
    assert len(bodies) == 2
    for body, root in zip(bodies, ["CopyObjectResult", "CopyPartResult"]):
        assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>'), body
        assert f'<{root} xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'.encode() in body
        assert b"<LastModified>" in body and b"<ETag>&quot;" in body


def copy_with(s3, bucket, **conditions):
    return s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"},
                          **conditions)


def test_copy_source_conditions(s3, bucket):
    etag = s3.put_object(Bucket=bucket, Key="src", Body=b"conditional")["ETag"]
    modified = s3.head_object(Bucket=bucket, Key="src")["LastModified"]
    before = modified - datetime.timedelta(hours=1)
    after = modified + datetime.timedelta(hours=1)
    passes = [dict(CopySourceIfMatch=etag), dict(CopySourceIfMatch=etag.strip('"')),
              dict(CopySourceIfNoneMatch='"0123"'), dict(CopySourceIfModifiedSince=before),
              dict(CopySourceIfUnmodifiedSince=after),
              # If-Match true wins over If-Unmodified-Since false, as S3 says
              dict(CopySourceIfMatch=etag, CopySourceIfUnmodifiedSince=before)]
    for conditions in passes:
        assert copy_with(s3, bucket, **conditions)["CopyObjectResult"]["ETag"] == etag
    fails = [dict(CopySourceIfMatch='"0123"'), dict(CopySourceIfNoneMatch=etag),
             dict(CopySourceIfModifiedSince=after), dict(CopySourceIfUnmodifiedSince=before),
             dict(CopySourceIfNoneMatch=etag, CopySourceIfModifiedSince=before)]
    s3.delete_object(Bucket=bucket, Key="dst")
    for conditions in fails:
        with pytest.raises(ClientError) as e:
            copy_with(s3, bucket, **conditions)
        assert error_of(e)[:2] == (412, "PreconditionFailed"), conditions
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="dst")


def test_missing_source_and_target(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"x")
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": "no-such-bucket-x",
                                                             "Key": "src"})
    assert error_of(e)[:2] == (404, "NoSuchBucket")
    assert e.value.response["Error"]["BucketName"] == "no-such-bucket-x"
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "nope é"})
    assert error_of(e)[:2] == (404, "NoSuchKey")
    assert e.value.response["Error"]["Key"] == "nope é"
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket="no-such-target-x", Key="dst",
                       CopySource={"Bucket": bucket, "Key": "src"})
    assert error_of(e)[:2] == (404, "NoSuchBucket")


@pytest.mark.parametrize("source,message", [
    ("just-a-bucket", "Invalid copy source object key"),
    ("/", "Invalid copy source bucket name"),
    ("Bad_Bucket/key", "Invalid copy source bucket name"),
    ("bucket/%E9t%E9", "Invalid copy source object key"),  # Latin-1, not UTF-8
    ("bucket/a%2", "Invalid copy source encoding"),
])
def test_malformed_copy_source(svc, s3, bucket, source, message):
    # sent as is: botocore would %-encode a string CopySource itself
    def raw_source(request, **_):
        del request.headers["x-amz-copy-source"]  # (setting one adds another)
        request.headers["x-amz-copy-source"] = source
    s3.meta.events.register("before-sign.s3.CopyObject", raw_source)
    try:
        with pytest.raises(ClientError) as e:
            s3.copy_object(Bucket=bucket, Key="dst", CopySource="placeholder/key")
    finally:
        s3.meta.events.unregister("before-sign.s3.CopyObject", raw_source)
    assert error_of(e) == (400, "InvalidArgument", message)
    assert e.value.response["Error"]["ArgumentName"] == "x-amz-copy-source"


def test_versions_are_refused(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"x")
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="dst",
                       CopySource={"Bucket": bucket, "Key": "src", "VersionId": "3HL4kqtJlcpX"})
    status, code, message = error_of(e)
    assert (status, code) == (501, "NotImplemented") and "versions" in message


def test_a_large_copy_streams(svc, s3, bucket):
    """A 96 MiB copy raises the service's peak memory by far less than the
    object: the bytes go through a few buffers, never all at once."""
    data = seeded(96 * MiB, 96)
    s3.put_object(Bucket=bucket, Key="big", Body=data)

    def peak_kib():
        status = open(f"/proc/{svc.proc.pid}/status").read()
        return int(status.split("VmHWM:")[1].split()[0])

    before = peak_kib()
    got = s3.copy_object(Bucket=bucket, Key="big-copy", CopySource={"Bucket": bucket, "Key": "big"})
    grown = peak_kib() - before
    assert got["CopyObjectResult"]["ETag"] == md5_etag(data)
    assert grown < 24 * 1024, f"peak memory grew by {grown} KiB"
    back = s3.get_object(Bucket=bucket, Key="big-copy")["Body"].read()
    assert hashlib.sha256(back).digest() == hashlib.sha256(data).digest()
    s3.delete_object(Bucket=bucket, Key="big")
    s3.delete_object(Bucket=bucket, Key="big-copy")


def test_a_copy_cut_short_leaves_no_object(tmp_path):
    """The service killed while a copy's bytes are being written: after a
    restart the target is absent (or, had the copy just ended, whole) and
    the temporary file is gone."""
    service = LocalService(tmp_path / "data")
    size = 192 * MiB
    with service.running():
        s3 = service.client("s3", read_timeout=30)
        s3.create_bucket(Bucket="crash")
        s3.put_object(Bucket="crash", Key="big", Body=bytes(size))
        errors = []

        def copy():
            try:
                s3.copy_object(Bucket="crash", Key="copy", CopySource={"Bucket": "crash",
                                                                         "Key": "big"})
            except Exception as e:  # the connection dies with the service
                errors.append(e)
        thread = threading.Thread(target=copy)
        thread.start()
        tmp, deadline = tmp_path / "data" / "tmp", time.monotonic() + 20

        def writing():
            for f in tmp.iterdir():
                try:
                    if f.stat().st_size > 0:
                        return True
                except FileNotFoundError:  # renamed into place meanwhile
                    pass
            return False
        # a copy that ended before it was seen is judged whole below
        while thread.is_alive() and not writing():
            assert time.monotonic() < deadline, "no copy under way"
            time.sleep(0.005)
        service.kill()
        thread.join(30)
    with service.running():
        s3 = service.client("s3")
        try:
            head = s3.head_object(Bucket="crash", Key="copy")
            assert head["ContentLength"] == size and head["ETag"] == md5_etag(bytes(size))
        except ClientError as e:
            assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 404
            assert "left behind" in service.log_path.read_text()
        assert os.listdir(tmp_path / "data" / "tmp") == []
        assert s3.head_object(Bucket="crash", Key="big")["ContentLength"] == size


# ---- UploadPartCopy ------------------------------------------------------------

def test_managed_copy_uses_part_copies(s3, bucket):
    data = seeded(12 * MiB + 4321, 12)
    s3.put_object(Bucket=bucket, Key="source", Body=data, ContentType="text/plain",
                  Metadata={"k": "v"})
    config = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
    dst = new_bucket(s3)
    s3.copy({"Bucket": bucket, "Key": "source"}, dst, "managed é/copy", Config=config)
    back = s3.get_object(Bucket=dst, Key="managed é/copy")
    assert hashlib.sha256(back["Body"].read()).digest() == hashlib.sha256(data).digest()
    parts = [data[:5 * MiB], data[5 * MiB:10 * MiB], data[10 * MiB:]]
    assert back["ETag"] == multipart_etag(parts)  # three part copies made it
    # the managed copy carries the source's metadata onto the upload
    assert back["ContentType"] == "text/plain" and back["Metadata"] == {"k": "v"}


def test_upload_part_copy_with_ranges(s3, bucket):
    data = seeded(11 * MiB + 7, 11)
    s3.put_object(Bucket=bucket, Key="source", Body=data)
    upload = s3.create_multipart_upload(Bucket=bucket, Key="assembled")["UploadId"]
    ranges = [(6 * MiB, 11 * MiB + 6), (0, 5 * MiB), (5 * MiB + 1, 5 * MiB + 1)]
    parts = []
    for number, (first, last) in enumerate(ranges, 1):
        got = s3.upload_part_copy(Bucket=bucket, Key="assembled", UploadId=upload,
                                  PartNumber=number, CopySource={"Bucket": bucket, "Key": "source"},
                                  CopySourceRange=f"bytes={first}-{last}")
        chunk = data[first:last + 1]
        assert got["CopyPartResult"]["ETag"] == md5_etag(chunk)
        assert isinstance(got["CopyPartResult"]["LastModified"], datetime.datetime)
        parts.append(chunk)
    listed = s3.list_parts(Bucket=bucket, Key="assembled", UploadId=upload)["Parts"]
    assert [p["Size"] for p in listed] == [len(p) for p in parts]
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="assembled", UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": p["PartNumber"], "ETag": p["ETag"]}
                                   for p in listed]})
    assert done["ETag"] == multipart_etag(parts)
    back = s3.get_object(Bucket=bucket, Key="assembled")["Body"].read()
    assert back == b"".join(parts)


def test_upload_part_copy_mixes_with_uploaded_parts(s3, bucket):
    parts = [seeded(5 * MiB, 21), seeded(5 * MiB, 22), seeded(100, 23)]
    put_multipart(s3, bucket, "source", parts[:2])
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mixed")["UploadId"]
    # the whole of a multipart source (no range) as part 1 would be 10 MiB;
    # here part 1 is the second half of it, part 2 uploaded, part 3 a copy
    e1 = s3.upload_part_copy(Bucket=bucket, Key="mixed", UploadId=upload, PartNumber=1,
                             CopySource={"Bucket": bucket, "Key": "source"},
                             CopySourceRange=f"bytes={5 * MiB}-{10 * MiB - 1}")
    e2 = s3.upload_part(Bucket=bucket, Key="mixed", UploadId=upload, PartNumber=2, Body=parts[0])
    s3.put_object(Bucket=bucket, Key="small", Body=parts[2])
    e3 = s3.upload_part_copy(Bucket=bucket, Key="mixed", UploadId=upload, PartNumber=3,
                             CopySource={"Bucket": bucket, "Key": "small"})
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="mixed", UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1["CopyPartResult"]["ETag"]},
                                   {"PartNumber": 2, "ETag": e2["ETag"]},
                                   {"PartNumber": 3, "ETag": e3["CopyPartResult"]["ETag"]}]})
    expected = [parts[1], parts[0], parts[2]]
    assert done["ETag"] == multipart_etag(expected)
    assert s3.get_object(Bucket=bucket, Key="mixed")["Body"].read() == b"".join(expected)


def part_copy(s3, bucket, upload, **extra):
    return s3.upload_part_copy(Bucket=bucket, Key="target", UploadId=upload, PartNumber=1,
                               CopySource={"Bucket": bucket, "Key": "source"}, **extra)


def test_upload_part_copy_errors(s3, bucket):
    s3.put_object(Bucket=bucket, Key="source", Body=b"0123456789")
    upload = s3.create_multipart_upload(Bucket=bucket, Key="target")["UploadId"]
    for bad in ["bytes=5-", "bytes=-3", "bytes=0-1,3-4", "0-3", "bytes=a-b"]:
        with pytest.raises(ClientError) as e:
            part_copy(s3, bucket, upload, CopySourceRange=bad)
        assert error_of(e) == (
            400, "InvalidArgument",
            "The x-amz-copy-source-range value must be of the form bytes=first-last where "
            "first and last are the zero-based offsets of the first and last bytes to copy"), bad
        assert e.value.response["Error"]["ArgumentName"] == "x-amz-copy-source-range"
    for outside in ["bytes=0-10", "bytes=10-12", "bytes=5-4"]:
        with pytest.raises(ClientError) as e:
            part_copy(s3, bucket, upload, CopySourceRange=outside)
        assert error_of(e) == (400, "InvalidArgument",
                               "Range specified is not valid for source object of size: 10")
    with pytest.raises(ClientError) as e:
        part_copy(s3, bucket, upload, CopySourceIfMatch='"0123"')
    assert error_of(e)[:2] == (412, "PreconditionFailed")
    with pytest.raises(ClientError) as e:
        s3.upload_part_copy(Bucket=bucket, Key="target", UploadId=upload, PartNumber=1,
                            CopySource={"Bucket": bucket, "Key": "missing"})
    assert error_of(e)[:2] == (404, "NoSuchKey")
    with pytest.raises(ClientError) as e:
        s3.upload_part_copy(Bucket=bucket, Key="target", UploadId="not-an-upload", PartNumber=1,
                            CopySource={"Bucket": bucket, "Key": "source"})
    assert error_of(e)[:2] == (404, "NoSuchUpload")
    with pytest.raises(ClientError) as e:
        s3.upload_part_copy(Bucket=bucket, Key="target", UploadId=upload, PartNumber=10001,
                            CopySource={"Bucket": bucket, "Key": "source"})
    assert error_of(e)[:2] == (400, "InvalidArgument")
    assert s3.list_parts(Bucket=bucket, Key="target", UploadId=upload).get("Parts", []) == []
    got = part_copy(s3, bucket, upload, CopySourceRange="bytes=2-4")
    assert got["CopyPartResult"]["ETag"] == md5_etag(b"234")


# ---- the AWS CLI ---------------------------------------------------------------

@pytest.fixture(scope="module")
def aws(svc, tmp_path_factory):
    work = tmp_path_factory.mktemp("awscli-copy")
    env = dict(svc.client_env(), HOME=str(work), AWS_PAGER="")

    def run(*args):
        p = subprocess.run([AWS, *args], env=env, cwd=work, capture_output=True, text=True,
                           timeout=120)
        assert p.returncode == 0, f"aws {' '.join(args)}: {p.stderr}"
        return p.stdout
    return run


def test_aws_cli_cp_between_s3_urls(s3, aws):
    src, dst = new_bucket(s3), new_bucket(s3)
    small = seeded(1000, "small")
    big = seeded(9 * MiB + 99, "big")  # over the CLI's 8 MiB threshold
    s3.put_object(Bucket=src, Key="in/small.txt", Body=small)
    s3.put_object(Bucket=src, Key="in/big file.bin", Body=big)
    aws("s3", "cp", f"s3://{src}/in/small.txt", f"s3://{dst}/out/small.txt")
    aws("s3", "cp", f"s3://{src}/in/big file.bin", f"s3://{dst}/out/big é.bin")
    got = s3.get_object(Bucket=dst, Key="out/small.txt")
    assert got["Body"].read() == small and got["ETag"] == md5_etag(small)
    got = s3.get_object(Bucket=dst, Key="out/big é.bin")
    assert hashlib.sha256(got["Body"].read()).digest() == hashlib.sha256(big).digest()
    assert got["ETag"] == multipart_etag([big[:8 * MiB], big[8 * MiB:]])  # two part copies


def test_aws_cli_mv_between_s3_urls(s3, aws):
    src, dst = new_bucket(s3), new_bucket(s3)
    data = seeded(2000, "mv")
    s3.put_object(Bucket=src, Key="moving.csv", Body=data)
    aws("s3", "mv", f"s3://{src}/moving.csv", f"s3://{dst}/moved/here.csv")
    assert s3.get_object(Bucket=dst, Key="moved/here.csv")["Body"].read() == data
    assert s3.list_objects_v2(Bucket=src)["KeyCount"] == 0
    aws("s3", "cp", "--recursive", f"s3://{dst}/moved/", f"s3://{src}/back/")
    assert s3.get_object(Bucket=src, Key="back/here.csv")["Body"].read() == data


def test_nothing_left_outside_the_objects(svc, root):
    """Last: copies leave no temporary file, and nothing lands in the
    service's working directory."""
    assert os.listdir(svc.data_dir / "tmp") == []
    assert os.listdir(root / "cwd") == []
