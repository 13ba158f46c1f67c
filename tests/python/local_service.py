"""Start and stop build/sagemagic-local for the tests: one process per data
dir, bounded waits, and every process killed in the end."""
import contextlib
import json
import os
import pathlib
import signal
import socket
import subprocess
import time

import boto3
from botocore.config import Config

ROOT = pathlib.Path(__file__).resolve().parents[2]
LOCAL_BIN = os.environ.get("SAGEMAGIC_LOCAL", str(ROOT / "build" / "sagemagic-local"))


class LocalService:
    """One `sagemagic-local serve` on 127.0.0.1 with its own data dir."""

    def __init__(self, data_dir, log_path=None, env=None):
        self.data_dir = pathlib.Path(data_dir)
        self.log_path = pathlib.Path(log_path or str(self.data_dir) + ".log")
        self.env = dict(os.environ, **(env or {}))
        self.proc = None
        self.info = None
        self.creds = None

    # -- lifecycle -------------------------------------------------------
    def start(self, timeout=15.0, cwd=None):
        assert os.path.exists(LOCAL_BIN), f"build it first: {LOCAL_BIN}"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [LOCAL_BIN, "serve", "--port", "0", "--data-dir", str(self.data_dir)],
            stdout=log, stderr=log, cwd=cwd, env=self.env,
            start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        service_file = self.data_dir / "service.json"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sagemagic-local exited {self.proc.returncode}: "
                                   f"{self.log_path.read_text(errors='replace')[-2000:]}")
            try:
                info = json.loads(service_file.read_text())
                if info.get("pid") == self.proc.pid:
                    self.info = info
                    self.creds = json.loads((self.data_dir / "credentials.json").read_text())
                    return self
            except (OSError, ValueError):
                pass
            time.sleep(0.02)
        self.kill()
        raise TimeoutError("sagemagic-local did not write service.json in time")

    @contextlib.contextmanager
    def running(self, **start_args):
        """Started for a with block (start's arguments), stopped after it
        however it ends: SIGTERM, then SIGKILL if it is still there."""
        try:
            yield self.start(**start_args)
        finally:
            self.stop()
            self.kill()

    def stop(self, timeout=15.0):
        """SIGTERM and wait; returns the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise

    def kill(self):
        """SIGKILL (a crash) and reap."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    # -- clients ---------------------------------------------------------
    @property
    def endpoint(self):
        return self.info["endpoint_url"]

    @property
    def host(self):
        return f"127.0.0.1:{self.info['port']}"

    def client_env(self, base=None):
        """The environment that points any AWS SDK or CLI in a child process
        at this service (AWS_ENDPOINT_URL and its key pair), and at no
        profile or config file of the machine's. Its HTTP(S) proxy is a
        loopback port nothing listens on, the service's address excepted,
        so a request meant for anywhere else fails at once on this machine."""
        env = dict(os.environ if base is None else base)
        for name in [k for k in env if k.startswith("AWS_") or k.lower().endswith("_proxy")]:
            del env[name]
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            proxy = f"http://127.0.0.1:{s.getsockname()[1]}"
        env.update(AWS_ENDPOINT_URL=self.endpoint, AWS_DEFAULT_REGION="us-east-1",
                   AWS_ACCESS_KEY_ID=self.creds["AccessKeyId"],
                   AWS_SECRET_ACCESS_KEY=self.creds["SecretAccessKey"],
                   AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull,
                   AWS_EC2_METADATA_DISABLED="true",
                   HTTP_PROXY=proxy, HTTPS_PROXY=proxy, http_proxy=proxy, https_proxy=proxy,
                   NO_PROXY="127.0.0.1", no_proxy="127.0.0.1")
        return env

    def client(self, service, **config):
        config.setdefault("retries", {"max_attempts": 1})
        return boto3.client(
            service, endpoint_url=self.endpoint, region_name="us-east-1",
            aws_access_key_id=self.creds["AccessKeyId"],
            aws_secret_access_key=self.creds["SecretAccessKey"],
            config=Config(**config))
