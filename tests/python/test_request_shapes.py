"""Every SageMaker, Logs and Runtime request body the C client builds,
validated against botocore's service models.

`build/test-runner sagemaker_request_dump` writes one JSON line per request
(every operation of the reference's section 2, with minimal and with full
arguments and tricky values) to the file SAGEMAGIC_DUMP_REQUESTS names.
Each body must pass botocore's own ParamValidator (required members, types,
unknown members, minimums) and a checker of what ParamValidator leaves out:
string patterns, enums, maximum lengths, list and map sizes, and integer
and float ranges.

The models' patterns are Java regexes without anchors, matched against the
whole value. `java_to_python` turns the constructs they use into Python's:
Java's \\w \\d \\s are ASCII, its '.' stops at any line terminator, \\z is
\\Z, and \\p{L}, \\p{N} (Unicode) and \\p{Z}, \\p{ASCII}, \\p{Print},
\\p{Alnum} (spelled out) are classes. The `regex` module (here through
moto's dependencies) gives \\p{L} and \\p{N} exactly; without it they
are approximated by \\w and \\d, which only makes the check looser.
"""
import json
import os
import pathlib
import re
import subprocess

import botocore.session
import pytest
from botocore.validate import ParamValidator

try:
    import regex as regex_module
except ImportError:  # pragma: no cover - depends on the environment
    regex_module = None

ROOT = pathlib.Path(__file__).resolve().parents[2]
RUNNER = os.environ.get("SAGEMAGIC_TEST_RUNNER", str(ROOT / "build" / "test-runner"))

# Section 2 of the reference: every operation the client must build.
OPERATIONS = {
    "sagemaker": [
        "CreateTrainingJob", "DescribeTrainingJob", "StopTrainingJob", "ListTrainingJobs",
        "CreateModel", "DescribeModel", "DeleteModel", "ListModels",
        "CreateEndpointConfig", "DescribeEndpointConfig", "DeleteEndpointConfig",
        "ListEndpointConfigs",
        "CreateEndpoint", "DescribeEndpoint", "UpdateEndpoint", "DeleteEndpoint",
        "ListEndpoints",
        "CreateTransformJob", "DescribeTransformJob", "StopTransformJob", "ListTransformJobs",
        "CreateHyperParameterTuningJob", "DescribeHyperParameterTuningJob",
        "StopHyperParameterTuningJob", "ListHyperParameterTuningJobs",
        "ListTrainingJobsForHyperParameterTuningJob",
    ],
    "logs": ["DescribeLogStreams", "GetLogEvents", "FilterLogEvents"],
    "sagemaker-runtime": ["InvokeEndpoint"],
}

# Operations built from arguments rather than a name: each must come with
# its fewest and its most arguments.
WITH_ARGUMENTS = {
    op for ops in OPERATIONS.values() for op in ops
    if not op.startswith(("Describe", "Stop", "Delete")) or op == "DescribeLogStreams"
}

_SESSION = botocore.session.get_session()
_MODELS = {service: _SESSION.get_service_model(service) for service in OPERATIONS}


# ---- Java patterns as Python ones -------------------------------------------

_ASCII_SPACE = " \\t\\n\\x0b\\f\\r"
_LINE_TERMINATORS = "\\n\\r\\u0085\\u2028\\u2029"
# Class contents (without brackets) for Java's escapes and \p{...} classes.
_CLASS_BODIES = {
    "w": "a-zA-Z0-9_",
    "d": "0-9",
    "s": _ASCII_SPACE,
    "p{Z}": " \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000",
    "p{ASCII}": "\\x00-\\x7f",
    "p{Print}": "\\x20-\\x7e",
    "p{Alnum}": "a-zA-Z0-9",
    "p{L}": "\\p{L}" if regex_module else "\\w",
    "p{N}": "\\p{N}" if regex_module else "\\d",
}


def java_to_python(pattern: str) -> str:
    out, i, in_class = [], 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            name = pattern[i + 1]
            if name == "p" and pattern[i + 2] == "{":
                end = pattern.index("}", i)
                name = pattern[i + 1:end + 1]
            i += len(name) + 1
            body = _CLASS_BODIES.get(name)
            if body is None:
                out.append("\\Z" if name == "z" else "\\" + name)
            elif in_class:
                out.append(body)
            else:
                out.append("[" + body + "]")
            continue
        if c == "[" and not in_class:
            in_class = True
        elif c == "]" and in_class:
            in_class = False
        elif c == "." and not in_class:
            c = "[^" + _LINE_TERMINATORS + "]"
        out.append(c)
        i += 1
    return "".join(out)


_COMPILED = {}


def full_match(pattern: str, value: str) -> bool:
    if pattern not in _COMPILED:
        engine = regex_module if regex_module else re
        _COMPILED[pattern] = engine.compile(java_to_python(pattern))
    return _COMPILED[pattern].fullmatch(value) is not None


# ---- what ParamValidator does not check -------------------------------------

def check_shape(shape, value, path, errors):
    """Append to `errors` what `value` breaks of `shape`'s constraints."""
    meta, kind = shape.metadata, shape.type_name
    if kind == "structure" and isinstance(value, dict):
        for name, member in value.items():
            if name in shape.members:
                check_shape(shape.members[name], member, f"{path}.{name}", errors)
    elif kind == "list" and isinstance(value, list):
        check_size(meta, len(value), path, "items", errors)
        for i, item in enumerate(value):
            check_shape(shape.member, item, f"{path}[{i}]", errors)
    elif kind == "map" and isinstance(value, dict):
        check_size(meta, len(value), path, "entries", errors)
        for key, item in value.items():
            check_shape(shape.key, key, f"{path} key {key!r}", errors)
            check_shape(shape.value, item, f"{path}[{key!r}]", errors)
    elif kind == "string" and isinstance(value, str):
        check_size(meta, len(value), path, "characters", errors)
        if shape.enum and value not in shape.enum:
            errors.append(f"{path}: {value!r} is not one of {shape.enum}")
        if "pattern" in meta and not full_match(meta["pattern"], value):
            errors.append(f"{path}: {value!r:.80} does not match {meta['pattern']}")
    elif kind == "blob" and isinstance(value, (str, bytes)):
        size = len(value.encode() if isinstance(value, str) else value)
        check_size(meta, size, path, "bytes", errors)
    elif kind in ("integer", "long", "float", "double") and isinstance(value, (int, float)):
        if "min" in meta and value < meta["min"]:
            errors.append(f"{path}: {value} is below the minimum {meta['min']}")
        if "max" in meta and value > meta["max"]:
            errors.append(f"{path}: {value} is above the maximum {meta['max']}")


def check_size(meta, size, path, unit, errors):
    if "min" in meta and size < meta["min"]:
        errors.append(f"{path}: {size} {unit}, fewer than {meta['min']}")
    if "max" in meta and size > meta["max"]:
        errors.append(f"{path}: {size} {unit}, more than {meta['max']}")


def problems(service: str, operation: str, body) -> list:
    """Every problem botocore and the checker find with `body`."""
    shape = _MODELS[service].operation_model(operation).input_shape
    report = ParamValidator().validate(body, shape)
    found = [report.generate_report()] if report.has_errors() else []
    check_shape(shape, body, operation, found)
    return found


# ---- the dump ---------------------------------------------------------------

@pytest.fixture(scope="module")
def requests_built(tmp_path_factory):
    assert os.path.exists(RUNNER), f"build the tests first: {RUNNER}"
    path = tmp_path_factory.mktemp("requests") / "requests.jsonl"
    env = dict(os.environ, SAGEMAGIC_DUMP_REQUESTS=str(path))
    run = subprocess.run([RUNNER, "sagemaker_request_dump"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed, 0 failed" in run.stdout, run.stdout
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines, "the dump is empty"
    return [json.loads(line) for line in lines]


def test_every_operation_is_built(requests_built):
    seen = {(r["service"], r["operation"]) for r in requests_built}
    missing = [(s, op) for s, ops in OPERATIONS.items() for op in ops if (s, op) not in seen]
    assert not missing, f"no request built for {missing}"
    unknown = seen - {(s, op) for s, ops in OPERATIONS.items() for op in ops}
    assert not unknown, f"operations outside the list: {unknown}"
    cases = {(r["operation"], r["case"]) for r in requests_built}
    thin = [op for op in sorted(WITH_ARGUMENTS)
            if (op, "minimal") not in cases or (op, "full") not in cases]
    assert not thin, f"operations without both a minimal and a full case: {thin}"


def test_every_request_matches_botocore(requests_built):
    failures = []
    for r in requests_built:
        for problem in problems(r["service"], r["operation"], r["body"]):
            failures.append(f"{r['operation']} ({r['case']}): {problem}")
    assert not failures, "\n".join(failures)


def test_tricky_values_arrive_intact(requests_built):
    by_case = {(r["operation"], r["case"]): r["body"] for r in requests_built}
    full = by_case[("CreateTrainingJob", "full")]
    hp = full["HyperParameters"]
    assert hp["unicode"] == "é数据" and hp["tab"] == "a\tb" and hp["empty"] == ""
    assert all(isinstance(v, str) for v in hp.values())
    assert len(hp["long"]) == 2500 and len(max(hp, key=len)) == 256
    assert full["Environment"]["MULTI_LINE"] == "a\nb"
    assert {"Key": "数据 set", "Value": ""} in full["Tags"]
    assert len(full["TrainingJobName"]) == 63
    listing = by_case[("ListTrainingJobs", "full")]
    assert listing["CreationTimeAfter"] == 1700000000.25 and len(listing["NextToken"]) == 8192
    tuning = by_case[("CreateHyperParameterTuningJob", "full")]
    assert len(tuning["HyperParameterTuningJobName"]) == 32
    assert tuning["HyperParameterTuningJobConfig"]["Strategy"] == "Hyperband"
    invoke = by_case[("InvokeEndpoint", "full")]
    assert invoke["Body"] == "1,2,3\n4,5,6" and invoke["SessionId"] == "NEW_SESSION"


# ---- the checker catches what it should --------------------------------------

ROLE = "arn:aws:iam::123456789012:role/R"
TRAINING = {
    "TrainingJobName": "j", "RoleArn": ROLE,
    "AlgorithmSpecification": {"TrainingImage": "i", "TrainingInputMode": "File"},
    "OutputDataConfig": {"S3OutputPath": "s3://b/o"},
    "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 30},
    "StoppingCondition": {"MaxRuntimeInSeconds": 60},
}


def changed(base, **members):
    body = json.loads(json.dumps(base))
    body.update(members)
    return body


@pytest.mark.parametrize("service,operation,body,expect", [
    ("sagemaker", "CreateTrainingJob", changed(TRAINING, TrainingJobName="bad_name"), "match"),
    ("sagemaker", "CreateTrainingJob", changed(TRAINING, HyperParameters={"eta": 0.1}), "type"),
    ("sagemaker", "CreateTrainingJob", changed(TRAINING, HyperParameters={"eta": "1\n2"}), "match"),
    ("sagemaker", "CreateTrainingJob", changed(TRAINING, Tags=[{"Key": "a*b", "Value": ""}]),
     "match"),
    ("sagemaker", "CreateTrainingJob", changed(TRAINING, RoleArn="arn:aws:iam::1:role/R"),
     "match"),
    ("sagemaker", "CreateTrainingJob", changed(TRAINING, Unknown=1), "Unknown parameter"),
    ("sagemaker", "CreateTrainingJob", {"TrainingJobName": "j"}, "Missing required"),
    ("sagemaker", "CreateTrainingJob",
     changed(TRAINING, ResourceConfig={"InstanceType": "local", "InstanceCount": 1}), "one of"),
    ("sagemaker", "ListEndpoints", {"MaxResults": 101}, "above the maximum"),
    ("sagemaker", "ListEndpoints", {"NameContains": "x" * 64}, "more than 63"),
    ("sagemaker", "ListEndpoints", {"SortBy": "name"}, "one of"),
    ("sagemaker", "CreateHyperParameterTuningJob", {"HyperParameterTuningJobName": "x" * 33,
     "HyperParameterTuningJobConfig": {"Strategy": "Random", "ResourceLimits": {
         "MaxParallelTrainingJobs": 1}}}, "more than 32"),
    ("logs", "GetLogEvents", {"logGroupName": "a b", "logStreamName": "s"}, "match"),
    ("logs", "GetLogEvents", {"logGroupName": "g", "logStreamName": "s", "limit": 10001},
     "above the maximum"),
    ("sagemaker-runtime", "InvokeEndpoint",
     {"EndpointName": "e", "Body": "x", "ContentType": "tëxt"}, "match"),
])
def test_checker_rejects(service, operation, body, expect):
    found = problems(service, operation, body)
    assert any(expect in p for p in found), found


def test_checker_accepts_what_the_model_allows():
    assert not problems("sagemaker", "CreateTrainingJob",
                        changed(TRAINING, Environment={"A_1": "x\ny"},
                                Tags=[{"Key": "数据 é", "Value": "a:b/c=d+e-f@g"}]))
    assert full_match("[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", "a--b")
    assert not full_match("[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", "a-")
    assert full_match("\\A\\S[\\p{Print}]*\\z", "id 42")
    assert not full_match(".*", "a\rb")
