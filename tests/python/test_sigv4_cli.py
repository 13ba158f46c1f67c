"""`sagemagic-aws sign` against the public SigV4 suite, and against
botocore's own signers on generated requests.

The differential test builds requests from a fixed seed, signs each with
botocore (SigV4Auth, S3SigV4Auth, SigV4QueryAuth, S3SigV4QueryAuth) and with
one `sagemagic-aws sign --batch` process, and compares the canonical
request, the string to sign, the signature and the Authorization header or
presigned query.

Where botocore and the public suite (or plain SigV4) part ways, the
generator stays on ground where both are right, as the AWS SDKs and our
client send requests. Each restriction, and why:

1. Query strings are generated as the SDKs put them on the wire: every name
   and value percent-encoded with the strict unreserved set and upper-case
   hex. botocore signs the wire query verbatim; we decode each name and
   value and encode it again, which the suite demands (get-vanilla-utf8-query
   sends raw UTF-8 and expects %E1%88%B4). Both agree on strictly encoded
   queries; they differ on raw or lower-case-hex queries.
2. No empty query pieces ("a=1&&b=2"): botocore signs an empty "=" pair
   for them, we sign nothing (no SDK sends them).
3. Presigning: botocore's SigV4QueryAuth re-parses the query with parse_qs,
   keeping one value per name, and moves a body into the query. So presigned
   requests have unique query names and no body. It also drops the exact
   content type "application/x-www-form-urlencoded; charset=utf-8", and it
   would sign an Authorization header (we never do): neither is generated.
4. No Date header: botocore rewrites it and then leaves out X-Amz-Date.
5. Header values are printable ASCII with spaces, tabs and folded lines.
   botocore collapses whitespace with Python's str.split(), which also
   splits on Unicode spaces and on \\x1c-\\x1f; we collapse only ASCII space,
   tab, CR, LF, VT and FF, as the SigV4 spec's Trimall does.
6. An X-Amz-Content-SHA256 header sent to a non-S3 service is only generated
   holding the body's true hash (or UNSIGNED-PAYLOAD), which is what
   --sign-body signs: botocore copies whatever the header says into the
   canonical request, we compute it.
7. Paths for services other than S3 may hold raw characters (space, Unicode,
   reserved), dot segments and empty segments: both sides normalise and
   encode the same way. They carry no '?', '#' or control characters,
   which cannot be part of a URL's path. S3 paths are keys encoded the way
   S3 clients encode them, and both sides sign them as sent.
"""
import base64
import datetime
import hashlib
import json
import os
import pathlib
import random
import subprocess
import types
from unittest import mock
from urllib.parse import parse_qsl, quote, urlsplit

import botocore.auth
import pytest
from botocore.auth import (
    S3SigV4Auth,
    S3SigV4QueryAuth,
    SigV4Auth,
    SigV4QueryAuth,
)
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

ROOT = pathlib.Path(__file__).resolve().parents[2]
AWS_BIN = pathlib.Path(
    os.environ.get("SAGEMAGIC_AWS", str(ROOT / "build" / "sagemagic-aws"))
)
SHARED = pathlib.Path(os.environ.get("SAGEMAGIC_SHARED") or ROOT.parent / "shared")
SUITE = SHARED / "testdata" / "sigv4-suite" / "v4"
SUITE_CASES = sorted(p.name for p in SUITE.iterdir()) if SUITE.is_dir() else []

SEED = 20150830
DIFFERENTIAL_COUNT = 1200


@pytest.fixture(scope="module")
def aws_bin() -> str:
    assert AWS_BIN.exists(), f"build it first (make all): {AWS_BIN}"
    return str(AWS_BIN)


def run(aws_bin, *args, stdin=None):
    return subprocess.run(
        [aws_bin, *args], input=stdin, capture_output=True, text=True, timeout=120
    )


# ---- the public suite, through the CLI --------------------------------------


def test_suite_is_there():
    assert len(SUITE_CASES) >= 38, f"no SigV4 suite at {SUITE}"


def suite_flags(case: pathlib.Path) -> list:
    ctx = json.loads((case / "context.json").read_text())
    creds = ctx["credentials"]
    flags = [
        "--request", str(case / "request.txt"),
        "--region", ctx["region"],
        "--service", ctx["service"],
        "--access-key", creds["access_key_id"],
        "--secret-key", creds["secret_access_key"],
        "--time", ctx["timestamp"],
        "--expires", str(ctx["expiration_in_seconds"]),
    ]
    if creds.get("token"):
        flags += ["--session-token", creds["token"]]
    if not ctx["normalize"]:
        flags.append("--no-normalize")
    if ctx["sign_body"]:
        flags.append("--sign-body")
    if ctx.get("omit_session_token"):
        flags.append("--omit-session-token")
    return flags


def suite_expected(case: pathlib.Path, form: str) -> str:
    cr = (case / f"{form}-canonical-request.txt").read_text()
    sts = (case / f"{form}-string-to-sign.txt").read_text()
    signed = (case / f"{form}-signed-request.txt").read_text(encoding="utf-8")
    if form == "header":
        auth = [l for l in signed.split("\n") if l.startswith("Authorization:")]
        last = "Authorization: " + auth[0][len("Authorization:"):]
    else:
        target = signed.split("\n", 1)[0].rsplit(" ", 1)[0].split(" ", 1)[1]
        last = target.split("?", 1)[1]
    return f"{cr}\n\n{sts}\n\n{last}\n"


@pytest.mark.parametrize("form", ["header", "query"])
@pytest.mark.parametrize("name", SUITE_CASES)
def test_cli_signs_suite_case(aws_bin, name, form):
    case = SUITE / name
    flags = suite_flags(case) + (["--query"] if form == "query" else [])
    out = run(aws_bin, "sign", *flags)
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    assert out.stdout == suite_expected(case, form)


# ---- the command line itself -------------------------------------------------

SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


def vanilla_flags():
    case = SUITE / "get-vanilla"
    return suite_flags(case)


def test_help_lists_the_commands(aws_bin):
    out = run(aws_bin, "--help")
    assert out.returncode == 0
    commands = out.stdout.split("commands:\n", 1)[1].split("\n\n", 1)[0]
    assert [l.split()[0] for l in commands.splitlines()] == [
        "sign", "s3", "whoami", "call", "sagemaker", "logs"]
    out = run(aws_bin, "sign", "--help")
    assert out.returncode == 0 and "--request" in out.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "usage: sagemagic-aws"),
        (["whoareyou"], "unknown command 'whoareyou'"),
        (["sign", "--bogus"], "unknown flag '--bogus'"),
        (["sign", "stray"], "unknown argument 'stray'"),
        (["sign", "--region"], "--region needs a value"),
        (["sign", "--query=yes"], "--query takes no value"),
        (["sign", "--region", "us-east-1"], "missing --request"),
    ],
)
def test_usage_errors_exit_2(aws_bin, args, message):
    out = run(aws_bin, *args)
    assert out.returncode == 2
    assert message in out.stderr
    assert out.stdout == ""
    if args:
        assert len(out.stderr.splitlines()) == 1


def test_errors_name_the_problem(aws_bin):
    flags = vanilla_flags()
    bad_time = flags[: flags.index("--time") + 1] + ["yesterday"]
    out = run(aws_bin, "sign", *bad_time)
    assert out.returncode == 1
    assert "'yesterday' is not a UTC time" in out.stderr
    out = run(aws_bin, "sign", *flags, "--request", "/nonexistent/request.txt")
    assert out.returncode == 1
    assert "cannot open /nonexistent/request.txt" in out.stderr


def test_secret_key_is_never_printed(aws_bin):
    for extra in ([], ["--query"], ["--s3"], ["--time", "bad"]):
        out = run(aws_bin, "sign", *vanilla_flags(), *extra)
        assert SECRET not in out.stdout + out.stderr
    line = json.dumps(
        {"method": "GET", "path": "/", "headers": [["Host", "h"]],
         "region": "r", "service": "s", "time": "20150830T123600Z",
         "credentials": {"access_key": "A", "secret_key": SECRET}}
    )
    out = run(aws_bin, "sign", "--batch", stdin=line + "\n" + "{}\n")
    assert SECRET not in out.stdout + out.stderr


def test_request_from_stdin_and_equals_form(aws_bin):
    case = SUITE / "get-vanilla"
    flags = suite_flags(case)
    flags[flags.index("--request") + 1] = "-"
    joined = [f"{flags[i]}={flags[i + 1]}" for i in range(0, len(flags), 2)]
    out = run(aws_bin, "sign", *joined, stdin=(case / "request.txt").read_text())
    assert out.returncode == 0, out.stderr
    assert out.stdout == suite_expected(case, "header")


def test_batch_bench_times_the_lines_in_process(aws_bin):
    good = {"id": 1, "method": "POST", "path": "/", "headers": [["Host", "h"]],
            "body_base64": base64.b64encode(b"{}").decode(), "region": "us-east-1",
            "service": "sagemaker", "time": "20150830T123600Z",
            "credentials": {"access_key": "A", "secret_key": SECRET}}
    presigned = dict(good, id=2, presign=True, s3=True, service="s3")
    stdin = json.dumps(good) + "\n" + json.dumps(presigned) + "\n"
    out = run(aws_bin, "sign", "--batch", "--bench", "50", stdin=stdin)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["requests"] == 2 and report["rounds"] == 50
    assert report["signatures"] == 100
    assert report["seconds"] > 0 and report["per_second"] > 0
    assert SECRET not in out.stdout + out.stderr
    out = run(aws_bin, "sign", "--batch", "--bench", "1", stdin=stdin + "{}\n")
    assert out.returncode == 1
    assert "line 3: '' is not a UTC time" in out.stderr
    for bad in (["--batch", "--bench", "0"], ["--bench", "5"]):
        out = run(aws_bin, "sign", *bad, stdin="")
        assert out.returncode == 2 and "--bench" in out.stderr


def test_batch_reports_bad_lines_and_goes_on(aws_bin):
    good = {"id": 2, "method": "GET", "path": "/", "headers": [["Host", "h"]],
            "region": "r", "service": "s", "time": "20150830T123600Z",
            "credentials": {"access_key": "A", "secret_key": "S"}}
    lines = ["not json", json.dumps({"id": 1}), json.dumps(good)]
    out = run(aws_bin, "sign", "--batch", stdin="\n".join(lines) + "\n")
    assert out.returncode == 1
    replies = [json.loads(l) for l in out.stdout.splitlines()]
    assert len(replies) == 3
    assert "not JSON" in replies[0]["error"]
    assert replies[1]["id"] == 1 and "not a UTC time" in replies[1]["error"]
    assert replies[2]["id"] == 2 and "authorization" in replies[2]


# ---- differential test against botocore --------------------------------------

REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "us-gov-west-1", "cn-north-1"]
SERVICES = ["sagemaker", "logs", "sts", "execute-api", "service"]
UNSIGNED_NAMES = ["User-Agent", "Expect", "Transfer-Encoding", "X-Amzn-Trace-Id",
                  "Connection", "traceparent", "Keep-Alive"]
HEADER_NAMES = ["Content-Type", "X-Amz-Target", "Accept", "My-Header1",
                "x-amz-meta-author", "Cache-Control", "X-Amz-Security-Token",
                "Content-Encoding", "X-Custom"]
# Unicode (accented, CJK, emoji), spaces and every reserved character.
TEXT_CHARS = (
    "abcXYZ019-._~ !\"$&'()*+,/:;=@[]^`{|}<>%\\"
    + "\u00e9\u00df\u4e2d\u6587\u1234\U0001F600"
)


def rand_text(rng, lo, hi, chars=TEXT_CHARS):
    return "".join(rng.choice(chars) for _ in range(rng.randint(lo, hi)))


def strict(s):
    return quote(s, safe="-_.~")


def gen_query(rng, unique):
    """A wire query: strictly encoded names and values (restriction 1)."""
    pairs, names = [], set()
    for _ in range(rng.choice([0, 0, 1, 2, 3, 5])):
        name = rng.choice(["prefix", "list-type", "uploads", "a", "A", "Param-3",
                           "Param", rand_text(rng, 1, 6)])
        if unique and name in names:
            continue
        names.add(name)
        if rng.random() < 0.15:
            pairs.append(strict(name))  # "uploads": a name without '='
        else:
            pairs.append(f"{strict(name)}={strict(rand_text(rng, 0, 8))}")
        if not unique and rng.random() < 0.25:  # a repeated name
            pairs.append(f"{strict(name)}={strict(rand_text(rng, 0, 4))}")
    return "&".join(pairs)


def gen_segment(rng):
    """A path segment as it may appear on the wire (restriction 7)."""
    kind = rng.random()
    if kind < 0.1:
        return rng.choice([".", "..", ""])
    text = rand_text(rng, 1, 8, TEXT_CHARS.replace("%", ""))
    if kind < 0.5:
        return quote(text, safe="")  # percent-encoded: encoded again
    return text.replace("?", "").replace("#", "") or "x"


def gen_path(rng, s3):
    if s3:  # a bucket and a key, encoded as S3 clients encode keys
        key = "/".join(rand_text(rng, 0, 8) for _ in range(rng.randint(1, 4)))
        if rng.random() < 0.2:
            key = rng.choice(["a/./b/../c", "dir//file", "./x", "..", "tail/"])
        return "/" + (rng.choice(["my-bucket/", ""])) + quote(key, safe="/~")
    segments = [gen_segment(rng) for _ in range(rng.randint(0, 5))]
    return "/" + "/".join(segments) + rng.choice(["", "", "/"])


def gen_value(rng):
    """Printable ASCII with runs of whitespace and folds (restriction 5)."""
    words = [rand_text(rng, 0, 6, "abcXYZ019-_.;:,=/\"'()") for _ in
             range(rng.randint(0, 4))]
    gaps = [" ", "  ", "\t", " \t  ", "\r\n  ", "\n\t"]
    value = "".join(w + rng.choice(gaps) for w in words)
    return rng.choice(["", " ", "\t"]) + value


def gen_headers(rng, host, presign):
    headers = [(rng.choice(["Host", "host", "HOST"]), host)]
    for _ in range(rng.randint(0, 6)):
        name = rng.choice(HEADER_NAMES + UNSIGNED_NAMES)
        name = rng.choice([name, name.lower(), name.upper()])
        value = gen_value(rng)
        if presign and name.lower() == "content-type":
            value = value or "text/csv"  # never botocore's dropped one
        headers.append((name, value))
        if rng.random() < 0.2:  # the same header again, other case
            headers.append((name.swapcase(), gen_value(rng)))
    if not presign and rng.random() < 0.1:
        headers.append(("X-Amz-Date", "19990101T000000Z"))  # replaced
        headers.append(("Authorization", "stale"))  # replaced
    return headers


def gen_body(rng):
    kind = rng.random()
    if kind < 0.3:
        return b""
    if kind < 0.6:
        return bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 300)))
    return rand_text(rng, 1, 200).encode("utf-8")


def gen_credentials(rng):
    alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    b64 = alnum + "abcdefghijklmnopqrstuvwxyz+/"
    token = None
    if rng.random() < 0.4:
        token = rand_text(rng, 40, 300, b64) + rng.choice(["", "=", "=="])
    return {
        "access_key": rng.choice(["AKIA", "ASIA"]) + rand_text(rng, 16, 16, alnum),
        "secret_key": rand_text(rng, 40, 40, b64),
        "session_token": token,
    }


def gen_time(rng):
    start = datetime.datetime(2000, 1, 1)
    return start + datetime.timedelta(seconds=rng.randrange(40 * 365 * 86400))


def gen_request(rng, i):
    s3 = rng.random() < 0.35
    presign = rng.random() < 0.3
    host = rng.choice(["example.amazonaws.com", "api.sagemaker.us-east-1.amazonaws.com",
                       "my-bucket.s3.eu-west-1.amazonaws.com", "127.0.0.1:9000"])
    method = rng.choice(["GET", "PUT", "POST", "DELETE", "HEAD", "PATCH"])
    if rng.random() < 0.05:
        method = method.lower()
    req = {
        "id": i,
        "method": method,
        "host": host,
        "path": gen_path(rng, s3),
        "query": gen_query(rng, unique=presign),
        "headers": gen_headers(rng, host, presign),
        "body": b"" if presign else gen_body(rng),
        "region": rng.choice(REGIONS),
        "service": "s3" if s3 else rng.choice(SERVICES),
        "credentials": gen_credentials(rng),
        "time": gen_time(rng),
        "presign": presign,
        "s3": s3,
        "unsigned": rng.random() < 0.2,
        "sign_body": False,
        "expires": rng.choice([1, 60, 3600, 86400, 604800, rng.randint(1, 604800)]),
    }
    if not s3 and not presign and not req["unsigned"] and rng.random() < 0.1:
        # Restriction 6: the header holds the body's true hash.
        req["sign_body"] = True
        req["headers"].append(("X-Amz-Content-SHA256",
                               hashlib.sha256(req["body"]).hexdigest()))
    return req


def botocore_sign(req):
    """Sign with botocore's own classes; what they computed, recorded."""
    if req["presign"]:
        base = S3SigV4QueryAuth if req["s3"] else SigV4QueryAuth
    else:
        base = S3SigV4Auth if req["s3"] else SigV4Auth
    seen = {}

    class Recording(base):
        def canonical_request(self, request):
            seen["canonical_request"] = super().canonical_request(request)
            return seen["canonical_request"]

        def string_to_sign(self, request, canonical_request):
            seen["string_to_sign"] = super().string_to_sign(request, canonical_request)
            return seen["string_to_sign"]

        def signature(self, string_to_sign, request):
            seen["signature"] = super().signature(string_to_sign, request)
            return seen["signature"]

    c = req["credentials"]
    creds = Credentials(c["access_key"], c["secret_key"], c["session_token"])
    if req["presign"]:
        signer = Recording(creds, req["service"], req["region"], expires=req["expires"])
    else:
        signer = Recording(creds, req["service"], req["region"])
    headers = HTTPHeaders()
    for name, value in req["headers"]:
        headers[name] = value  # appends: repeated names stay repeated
    url = f"https://{req['host']}{req['path']}"
    if req["query"]:
        url += "?" + req["query"]
    request = AWSRequest(method=req["method"], url=url, headers=headers,
                         data=req["body"])
    if req["unsigned"] and req["s3"]:
        request.context["client_config"] = types.SimpleNamespace(
            s3={"payload_signing_enabled": False})
    elif req["unsigned"]:
        request.context["payload_signing_enabled"] = False
    with mock.patch.object(botocore.auth, "get_current_datetime",
                           return_value=req["time"]):
        signer.add_auth(request)
    if req["presign"]:
        seen["query"] = urlsplit(request.url).query
    else:
        seen["authorization"] = request.headers["Authorization"]
    return seen


def batch_line(req):
    """The same request as a `sign --batch` line."""
    line = {
        "id": req["id"],
        "method": req["method"],
        "path": req["path"],
        "query": req["query"],
        "headers": [list(h) for h in req["headers"]],
        "body_base64": base64.b64encode(req["body"]).decode(),
        "region": req["region"],
        "service": req["service"],
        "credentials": req["credentials"],
        "time": req["time"].strftime("%Y%m%dT%H%M%SZ"),
        "presign": req["presign"],
        "s3": req["s3"],
        "expires": req["expires"],
    }
    if req["unsigned"] and not req["presign"]:
        # botocore sends and signs x-amz-content-sha256: UNSIGNED-PAYLOAD.
        line["payload"] = "UNSIGNED-PAYLOAD"
        line["sign_body"] = True
    elif req["unsigned"] or (req["presign"] and req["s3"]):
        line["payload"] = "UNSIGNED-PAYLOAD"
    if req["sign_body"]:
        line["sign_body"] = True
    return json.dumps(line)


def coverage(requests):
    """How much of each feature the generator produced."""
    def count(pred):
        return sum(1 for r in requests if pred(r))

    def has_repeat(q):
        names = [p.split("=")[0] for p in q.split("&") if p]
        return len(names) != len(set(names))

    return {
        "presign": count(lambda r: r["presign"]),
        "s3": count(lambda r: r["s3"]),
        "s3 presign": count(lambda r: r["s3"] and r["presign"]),
        "session token": count(lambda r: r["credentials"]["session_token"]),
        "unsigned payload": count(lambda r: r["unsigned"]),
        "binary body": count(lambda r: any(b > 127 for b in r["body"])),
        "empty body": count(lambda r: not r["body"]),
        "unicode path": count(lambda r: any(ord(ch) > 127 for ch in r["path"])
                              or "%E" in r["path"] or "%F0" in r["path"]),
        "dot segments": count(lambda r: "/." in r["path"]),
        "reserved in query": count(lambda r: "%2F" in r["query"] or "%3D" in r["query"]),
        "repeated query names": count(lambda r: has_repeat(r["query"])),
        "folded headers": count(lambda r: any("\n" in v for _, v in r["headers"])),
        "repeated headers": count(lambda r: len({n.lower() for n, _ in r["headers"]})
                                  < len(r["headers"])),
    }


def test_differential_against_botocore(aws_bin):
    rng = random.Random(SEED)
    requests = [gen_request(rng, i) for i in range(DIFFERENTIAL_COUNT)]
    for feature, n in coverage(requests).items():
        assert n >= 40, f"the generator made only {n} requests with {feature}"
    expected = [botocore_sign(r) for r in requests]
    stdin = "".join(batch_line(r) + "\n" for r in requests)
    out = run(aws_bin, "sign", "--batch", stdin=stdin)
    replies = [json.loads(l) for l in out.stdout.splitlines()]
    assert len(replies) == len(requests), out.stderr
    failures = []
    for req, want, got in zip(requests, expected, replies):
        assert got["id"] == req["id"]
        if "error" in got:
            failures.append(f"request {req['id']}: {got['error']}")
            continue
        for key in ("canonical_request", "string_to_sign", "signature", "authorization"):
            if key in want and got.get(key) != want[key]:
                failures.append(f"request {req['id']} {key}:\n  ours:     {got.get(key)!r}"
                                f"\n  botocore: {want[key]!r}\n  input: {batch_line(req)}")
                break
        if "query" in want:
            # botocore orders the parameters its own way; compare the sets.
            ours = sorted(parse_qsl(got.get("query", ""), keep_blank_values=True))
            theirs = sorted(parse_qsl(want["query"], keep_blank_values=True))
            if ours != theirs:
                failures.append(f"request {req['id']} query: {ours} != {theirs}")
    print(f"differential: {len(requests)} requests, {len(failures)} differ")
    assert not failures, f"{len(failures)} of {len(requests)} differ:\n" + "\n".join(failures[:5])
    assert out.returncode == 0
