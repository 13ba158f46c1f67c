"""Process hygiene beyond the protocol: a kernel orphaned by its parent stops."""
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time

import psutil

from conftest import KERNEL_BIN


def free_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def test_orphaned_kernel_stops_by_itself(tmp_path):
    ports = free_ports(5)
    cf = tmp_path / "kernel.json"
    cf.write_text(json.dumps({
        "transport": "tcp", "ip": "127.0.0.1", "shell_port": ports[0],
        "iopub_port": ports[1], "stdin_port": ports[2], "control_port": ports[3],
        "hb_port": ports[4], "signature_scheme": "hmac-sha256",
        "key": secrets.token_hex(16)}))
    # A parent shell starts the kernel in the background, prints its pid and
    # exits at once, leaving the kernel orphaned.
    script = f'JPY_PARENT_PID=$$ "{KERNEL_BIN}" "{cf}" </dev/null >/dev/null 2>&1 & echo $!'
    out = subprocess.run(["sh", "-c", script], capture_output=True, text=True,
                         timeout=10, check=True)
    pid = int(out.stdout.strip())
    try:
        proc = psutil.Process(pid)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and proc.is_running() \
                and proc.status() != psutil.STATUS_ZOMBIE:
            time.sleep(0.05)
        assert not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE, \
            "the orphaned kernel is still running after 5 s"
    finally:
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
