"""Helpers for the magics' kernel tests: a kernel started with extra
environment (a data dir for sagemagic-local, fake AWS keys), one call that
runs a cell and gathers everything it published, and moto on a free port.

conftest.py's kernelspec is used as it is; only the environment the kernel
starts with differs, through KernelManager.start_kernel(env=...)."""
import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time

import tempfile

import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

from conftest import KERNEL_BIN, ROOT

LOCAL_BIN = os.environ.get("SAGEMAGIC_LOCAL", str(ROOT / "build" / "sagemagic-local"))
OUTPUT_TYPES = ("stream", "display_data", "update_display_data", "execute_result", "error")


class Cell:
    """What one execute_request produced."""

    def __init__(self, reply, messages):
        self.reply = reply
        self.messages = messages  # every iopub message of the request, in order

    @property
    def status(self):
        return self.reply["content"]["status"]

    @property
    def outputs(self):
        return [(m["msg_type"], m["content"]) for m in self.messages
                if m["msg_type"] in OUTPUT_TYPES]

    def of(self, msg_type):
        return [c for t, c in self.outputs if t == msg_type]

    @property
    def result(self):
        """The execute_result's text/plain, or None."""
        found = self.of("execute_result")
        return found[-1]["data"]["text/plain"] if found else None

    @property
    def stdout(self):
        return "".join(c["text"] for c in self.of("stream") if c["name"] == "stdout")

    @property
    def error(self):
        found = self.of("error")
        return found[0] if found else None

    def text(self):
        """Every text/plain the cell showed, joined."""
        parts = []
        for t, c in self.outputs:
            if t == "stream":
                parts.append(c["text"])
            elif t == "error":
                parts.append(c["evalue"])
            else:
                parts.append(c["data"].get("text/plain", ""))
        return "\n".join(parts)


class Kernel:
    """A sagemagic kernel with its own environment; every iopub message it
    sends is kept (in `published`) so tests can search all of it."""

    def __init__(self, env, cwd, stderr_path=None, log_level=None):
        if log_level:  # a kernelspec of its own: conftest's sets the level
            specs = pathlib.Path(tempfile.mkdtemp(prefix="sagemagic-spec-"))
            (specs / "sagemagic").mkdir()
            (specs / "sagemagic" / "kernel.json").write_text(json.dumps({
                "argv": [KERNEL_BIN, "{connection_file}"],
                "display_name": "sagemagic", "language": "sagemagic",
                "interrupt_mode": "signal", "env": {"SAGEMAGIC_LOG": log_level}}))
            self.km = KernelManager(kernel_name="sagemagic", kernel_spec_manager=
                                    KernelSpecManager(kernel_dirs=[str(specs)]))
        else:
            self.km = KernelManager(kernel_name="sagemagic")
        self.cwd = str(cwd)
        self.env = env
        self.stderr_path = stderr_path
        self.published = []
        self.kc = None
        self._stderr = None

    def start(self):
        kwargs = {"env": self.env, "cwd": self.cwd}
        if self.stderr_path:
            self._stderr = open(self.stderr_path, "ab")
            kwargs["stderr"] = self._stderr
        self.km.start_kernel(**kwargs)
        self._connect()
        return self

    def _connect(self):
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=30)

    @property
    def pid(self):
        return self.km.provisioner.process.pid

    def restart(self):
        self.kc.stop_channels()
        self.km.restart_kernel(now=False)
        self._connect()

    def run(self, code, timeout=60, on_message=None):
        """Execute `code`; `on_message(msg)` sees each of its iopub messages
        as it arrives. Returns a Cell."""
        msg_id = self.kc.execute(code)
        messages = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"no idle after {timeout} s: {code!r}"
            msg = self.kc.get_iopub_msg(timeout=left)
            self.published.append(msg)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            messages.append(msg)
            if on_message:
                on_message(msg)
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
        while True:
            reply = self.kc.get_shell_msg(timeout=max(1, deadline - time.monotonic()))
            if reply["parent_header"].get("msg_id") == msg_id:
                return Cell(reply, messages)

    def ok(self, code, timeout=60):
        cell = self.run(code, timeout)
        assert cell.status == "ok", (code, cell.error)
        return cell

    def fails(self, code, timeout=60):
        cell = self.run(code, timeout)
        assert cell.status == "error", (code, cell.outputs)
        error = cell.error
        assert error is not None, cell.outputs
        assert "\n" not in error["evalue"], error["evalue"]  # one sentence
        assert cell.reply["content"]["ename"] == error["ename"]
        return error

    def complete(self, code, cursor=None):
        msg_id = self.kc.complete(code, len(code) if cursor is None else cursor)
        while True:
            reply = self.kc.get_shell_msg(timeout=30)
            if reply["parent_header"].get("msg_id") == msg_id:
                return reply["content"]

    def all_published_text(self):
        return "\n".join(json.dumps(m["content"]) for m in self.published)

    def stop(self):
        try:
            if self.kc is not None:
                self.kc.stop_channels()
            if self.km.has_kernel:
                self.km.shutdown_kernel(now=False)
        finally:
            if self.km.has_kernel:
                self.km.shutdown_kernel(now=True)
            if self._stderr:
                self._stderr.close()


def clean_env(home, **extra):
    """The test process's environment without AWS settings, with an empty
    HOME and AWS config (so no real profile or credentials are read), the
    local service binary under test (when it is not the one next to the
    kernel), and `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    home = pathlib.Path(home)
    home.mkdir(parents=True, exist_ok=True)
    (home / "aws-config").write_text("")
    (home / "aws-credentials").write_text("")
    env.update({
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "xdg"),
        "AWS_CONFIG_FILE": str(home / "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    })
    env.pop("SAGEMAGIC_LOCAL_BIN", None)
    # the kernel looks next to itself first; say where only when elsewhere
    if os.path.abspath(LOCAL_BIN) != os.path.join(os.path.dirname(
            os.path.abspath(KERNEL_BIN)), "sagemagic-local"):
        env["SAGEMAGIC_LOCAL_BIN"] = LOCAL_BIN
    env.update(extra)
    return env


def local_client(data_dir, service):
    """A boto3 client of `service` for the sagemagic-local serving
    `data_dir`, signing with its credentials, without retries."""
    import boto3
    from botocore.config import Config
    info = json.loads((pathlib.Path(data_dir) / "service.json").read_text())
    c = json.loads((pathlib.Path(data_dir) / "credentials.json").read_text())
    return boto3.client(
        service, endpoint_url=info["endpoint_url"], region_name=c["Region"],
        aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"],
        config=Config(retries={"max_attempts": 1}))


def stop_local_service(data_dir, timeout=15):
    """SIGTERM the sagemagic-local serving `data_dir` (if any) and wait."""
    try:
        pid = json.loads((pathlib.Path(data_dir) / "service.json").read_text())["pid"]
    except (OSError, ValueError, KeyError):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)


@pytest.fixture
def kernel_with_env(tmp_path):
    """Start kernels with extra environment: kernel_with_env(env, cwd)."""
    started = []

    def start(env, cwd=None, stderr_path=None, log_level=None):
        k = Kernel(env, cwd or tmp_path, stderr_path, log_level).start()
        started.append(k)
        return k

    yield start
    for k in started:
        k.stop()


# ---- moto ----------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_moto(log_path, seconds=30):
    """moto in server mode on a free port of 127.0.0.1: (process, url)."""
    port = free_port()
    log = open(log_path, "wb")
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1",
                             "-p", str(port)], stdout=log, stderr=subprocess.STDOUT)
    log.close()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"moto exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    stop_process(proc)
    raise TimeoutError(f"moto did not listen on {port} in {seconds} s")


def stop_process(proc, timeout=10):
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)


# ---- a kernel on the local backend ------------------------------------------

class LocalKernel:
    """A kernel whose sagemagic-local serves a private data dir, with boto3
    clients that use the service's own credentials."""

    def __init__(self, base):
        self.data_dir = base / "local-data"
        self.work = base / "work"
        self.work.mkdir()
        self.env = clean_env(base / "home", SAGEMAGIC_LOCAL_DATA_DIR=str(self.data_dir))
        self.kernel = Kernel(self.env, self.work, stderr_path=base / "kernel.stderr")

    def client(self, service):
        from botocore.config import Config
        import boto3
        info = json.loads((self.data_dir / "service.json").read_text())
        c = json.loads((self.data_dir / "credentials.json").read_text())
        return boto3.client(
            service, endpoint_url=info["endpoint_url"], region_name=c["Region"],
            aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"],
            config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}))

    def sagemaker(self):
        return self.client("sagemaker")


def local_kernel(tmp_path_factory, name):
    """A started LocalKernel for a module fixture to yield from; stopped,
    with its service, when the generator closes."""
    assert os.path.exists(LOCAL_BIN), f"build it first: {LOCAL_BIN}"
    loc = LocalKernel(tmp_path_factory.mktemp(name))
    loc.kernel.start()
    try:
        yield loc
    finally:
        loc.kernel.stop()
        stop_local_service(loc.data_dir)


# ---- jobs ------------------------------------------------------------------

def wait_while_in_progress(status, seconds, pause=0.2):
    """Call `status()` until it says something other than InProgress (or
    Stopping) and return that; fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        now = status()
        if now not in ("InProgress", "Stopping"):
            return now
        assert time.monotonic() < deadline, f"still {now} after {seconds} s"
        time.sleep(pause)


class InterruptOn:
    """An on_message for Kernel.run that interrupts the kernel at the first
    message of `msg_type`; `at` is when (time.monotonic()), or None."""

    def __init__(self, kernel, msg_type):
        self.kernel, self.msg_type, self.at = kernel, msg_type, None

    def __call__(self, msg):
        if self.at is None and msg["msg_type"] == self.msg_type:
            self.kernel.km.interrupt_kernel()
            self.at = time.monotonic()


def moto_kernel(tmp_path_factory, name):
    """A kernel on the aws backend against moto on a free port, with fake
    keys (k.url and k.env set), for a module fixture to yield from; moto
    and the kernel are stopped when the generator closes."""
    import uuid
    base = tmp_path_factory.mktemp(name)
    proc, url = start_moto(base / "moto.log")
    work = base / "work"
    work.mkdir()
    env = clean_env(base / "home", AWS_ACCESS_KEY_ID="testing",
                    AWS_SECRET_ACCESS_KEY="moto-" + uuid.uuid4().hex,
                    SAGEMAGIC_LOCAL_DATA_DIR=str(base / "never-used"))
    k = Kernel(env, work, stderr_path=base / "kernel.stderr")
    try:
        k.start()
        k.ok(f"%config backend=aws endpoint_url={url} region=us-east-1 poll=0.2")
        k.url = url
        k.env = env
        k.work = work
        yield k
    finally:
        k.stop()
        stop_process(proc)
        stop_local_service(base / "never-used")
