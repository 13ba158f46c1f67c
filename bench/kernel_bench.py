#!/usr/bin/env python3
"""kernel_bench: sagemagic side by side with ipykernel in one run.

Cold start to the first kernel_info_reply, the round trip of a trivial
execute_request (sent until the status idle for it is back on iopub) next to
a raw ZeroMQ DEALER/ROUTER round trip, and resident memory after start and
after the executes. Prints a Markdown table and writes it to
bench/RESULTS.md. Figures are ratios measured in the same run, never timed
assertions.

    .venv/bin/python bench/kernel_bench.py          (what `make bench` runs)
    .venv/bin/python bench/kernel_bench.py --starts 5 --executes 500 --no-write
"""
import argparse
import contextlib
import datetime
import hmac
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psutil
import zmq
from jupyter_client.session import Session

ROOT = Path(__file__).resolve().parents[1]
KERNEL_BIN = Path(os.environ.get("SAGEMAGIC_KERNEL", ROOT / "build" / "sagemagic"))
RESULTS = ROOT / "bench" / "RESULTS.md"
OUT_DIR = ROOT / "bench" / "out"
ECHO_C = ROOT / "bench" / "zmq_echo.c"
HOST = "127.0.0.1"
DELIM = b"<IDS|MSG>"
RERUN = "make bench   (or: .venv/bin/python bench/kernel_bench.py)"

START_TIMEOUT = 60.0  # seconds for one kernel to answer kernel_info
REPLY_TIMEOUT = 10.0  # seconds for one execute round trip
RESEND_EVERY = 0.005  # seconds between kernel_info_requests while starting
BLOCK = 100  # executes per target before moving to the next one
WARMUP = 50  # untimed executes per target before the timed ones
PY_ECHO = "raw zmq, Python ROUTER echo"
C_ECHO = "raw zmq, C ROUTER echo"
C_PATTERN = "raw zmq, C echo, execute pattern"

TARGETS = {
    "start": 1 / 20,  # our median cold start / ipykernel's
    "exec": 1 / 10,  # our median execute round trip / ipykernel's
    "raw": 3.0,  # our median execute round trip / raw ZeroMQ round trip
    "rss": 1 / 10,  # our RSS / ipykernel's
    "growth_kib": 0,  # our RSS growth across the timed executes
}


# ---- statistics -------------------------------------------------------------


def pct(values, p):
    """The p-th percentile (0..100), linear between closest ranks."""
    s = sorted(values)
    if not s:
        return float("nan")
    k = (len(s) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def summary(values):
    return {"median": statistics.median(values), "p90": pct(values, 90),
            "p99": pct(values, 99), "min": min(values), "n": len(values)}


# ---- connection files and processes -----------------------------------------


def free_ports(n):
    """n distinct free TCP ports on 127.0.0.1 (held together while chosen)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind((HOST, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def write_connection_file(directory):
    shell, iopub, stdin, control, hb = free_ports(5)
    info = {"transport": "tcp", "ip": HOST, "shell_port": shell,
            "iopub_port": iopub, "stdin_port": stdin, "control_port": control,
            "hb_port": hb, "key": uuid.uuid4().hex + uuid.uuid4().hex,
            "signature_scheme": "hmac-sha256", "kernel_name": "bench"}
    path = Path(directory) / f"kernel-{uuid.uuid4().hex[:8]}.json"
    path.write_text(json.dumps(info))
    return path, info


class Peer:
    """One kind of kernel: how to start it and what a trivial cell is."""

    def __init__(self, name, argv, code, env=None):
        self.name, self.argv, self.code, self.env = name, argv, code, env

    def command(self, connection_file):
        return [a.replace("{cf}", str(connection_file)) for a in self.argv]


def spawn(argv, log_path, env=None):
    log = open(log_path, "ab")
    try:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, env=env, cwd=ROOT,
                                start_new_session=True)
    finally:
        log.close()


def stop(proc):
    """End `proc` and anything it started: SIGTERM, then SIGKILL."""
    if proc is None:
        return
    try:
        family = psutil.Process(proc.pid).children(recursive=True)
    except psutil.Error:
        family = []
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    for child in family:
        with contextlib.suppress(psutil.Error):
            child.kill()


def memory(proc):
    """{rss, pss, uss} in bytes of `proc` and its children. RSS counts every
    resident page of the shared libraries; PSS splits shared pages among the
    processes mapping them; USS is what this process alone holds."""
    total = {"rss": 0, "pss": 0, "uss": 0}
    p = psutil.Process(proc.pid)
    for q in [p] + p.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            m = q.memory_full_info()
            for key in total:
                total[key] += getattr(m, key)
    return total


def tail(path, lines=15):
    with contextlib.suppress(OSError):
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    return ""


# ---- the client: raw pyzmq sockets, Session only for the HMAC -----------------


class Wire:
    """Packs and unpacks signed Jupyter messages with as little work as the
    protocol allows, so the client adds the same small cost to every target."""

    def __init__(self, key):
        self.session = Session(key=key.encode(), signature_scheme="hmac-sha256",
                               username="bench")
        self.session_id = uuid.uuid4().hex

    def pack(self, msg_type, content):
        msg_id = uuid.uuid4().hex
        header = {"msg_id": msg_id, "session": self.session_id,
                  "username": "bench", "msg_type": msg_type, "version": "5.3",
                  "date": datetime.datetime.now(datetime.timezone.utc).isoformat()}
        parts = [json.dumps(header).encode(), b"{}", b"{}",
                 json.dumps(content).encode()]
        return msg_id, [DELIM, self.session.sign(parts)] + parts

    def unpack(self, frames):
        """(msg_type, msg_id, parent msg_id, content) of a verified message."""
        i = frames.index(DELIM)
        parts = frames[i + 2:i + 6]
        if not hmac.compare_digest(frames[i + 1], self.session.sign(parts)):
            raise RuntimeError("a message with a bad signature")
        header, parent = json.loads(parts[0]), json.loads(parts[1])
        return (header["msg_type"], header["msg_id"], parent.get("msg_id"),
                json.loads(parts[3]))


class Client:
    def __init__(self, ctx, info):
        self.wire = Wire(info["key"])
        self.shell = ctx.socket(zmq.DEALER)
        self.iopub = ctx.socket(zmq.SUB)
        for s in (self.shell, self.iopub):
            s.linger = 0
            s.setsockopt(zmq.RECONNECT_IVL, 1)  # not 100 ms: starts are short
        self.iopub.setsockopt(zmq.SUBSCRIBE, b"")
        self.shell.connect(f"tcp://{HOST}:{info['shell_port']}")
        self.iopub.connect(f"tcp://{HOST}:{info['iopub_port']}")
        self.poller = zmq.Poller()
        self.poller.register(self.shell, zmq.POLLIN)
        self.poller.register(self.iopub, zmq.POLLIN)

    def send(self, msg_type, content, flags=0):
        msg_id, frames = self.wire.pack(msg_type, content)
        self.shell.send_multipart(frames, flags=flags)
        return msg_id

    def poll(self, timeout_s):
        """[(socket, message)] of everything readable within timeout_s."""
        got = []
        for sock, _ in self.poller.poll(max(0, int(timeout_s * 1000))):
            while True:
                try:
                    frames = sock.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    break
                got.append((sock, self.wire.unpack(frames)))
        return got

    def close(self):
        self.shell.close(0)
        self.iopub.close(0)


def execute_content(code):
    return {"code": code, "silent": False, "store_history": True,
            "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}


# ---- cold start -------------------------------------------------------------


def cold_start(ctx, peer, workdir):
    """Seconds from Popen to the first kernel_info_reply."""
    path, info = write_connection_file(workdir)
    client = Client(ctx, info)
    proc = None
    try:
        t0 = time.perf_counter()
        proc = spawn(peer.command(path), Path(workdir) / f"{peer.name}.log", peer.env)
        last_send = 0.0
        while True:
            now = time.perf_counter()
            if now - t0 > START_TIMEOUT or proc.poll() is not None:
                raise RuntimeError(f"{peer.name} did not answer kernel_info "
                                   f"(exit {proc.poll()}):\n"
                                   + tail(Path(workdir) / f"{peer.name}.log"))
            if now - last_send >= RESEND_EVERY:
                with contextlib.suppress(zmq.Again):
                    client.send("kernel_info_request", {}, zmq.NOBLOCK)
                last_send = now
            for sock, (msg_type, *_rest) in client.poll(RESEND_EVERY / 2):
                if sock is client.shell and msg_type == "kernel_info_reply":
                    return time.perf_counter() - t0
    finally:
        client.close()
        stop(proc)


# ---- execute round trips ------------------------------------------------------


class Target:
    """Something a round trip can be timed against: a kernel or an echo."""

    def __init__(self, name):
        self.name = name
        self.proc = None
        self.samples = []
        self.reply_samples = []
        self.mem = {}  # "start", "before", "after" -> memory()


class KernelTarget(Target):
    def __init__(self, ctx, peer, workdir):
        super().__init__(peer.name)
        self.peer = peer
        path, info = write_connection_file(workdir)
        self.client = Client(ctx, info)
        self.log = Path(workdir) / f"{peer.name}-exec.log"
        self.proc = spawn(peer.command(path), self.log, peer.env)

    def ready(self):
        """Wait for kernel_info_reply on shell and any message on iopub."""
        deadline = time.perf_counter() + START_TIMEOUT
        shell_ok = iopub_ok = False
        while not (shell_ok and iopub_ok):
            if time.perf_counter() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} is not ready:\n{tail(self.log)}")
            with contextlib.suppress(zmq.Again):
                self.client.send("kernel_info_request", {}, zmq.NOBLOCK)
            for sock, (msg_type, *_rest) in self.client.poll(0.05):
                shell_ok |= sock is self.client.shell and msg_type == "kernel_info_reply"
                iopub_ok |= sock is self.client.iopub
        self.drain()

    def drain(self):
        while self.client.poll(0.05):
            pass

    def round_trip(self):
        """(ns to the status idle, ns to the execute_reply) of one cell."""
        c = self.client
        t0 = time.perf_counter_ns()
        msg_id = c.send("execute_request", execute_content(self.peer.code))
        idle = reply = None
        deadline = t0 + int(REPLY_TIMEOUT * 1e9)
        while idle is None or reply is None:
            left = (deadline - time.perf_counter_ns()) / 1e9
            if left <= 0:
                raise RuntimeError(f"{self.name}: no reply to an execute_request")
            for sock, (msg_type, _id, parent, content) in c.poll(left):
                if parent != msg_id:
                    continue
                if sock is c.shell and msg_type == "execute_reply":
                    if content.get("status") != "ok":
                        raise RuntimeError(f"{self.name}: {content}")
                    reply = time.perf_counter_ns() - t0
                elif (sock is c.iopub and msg_type == "status"
                      and content.get("execution_state") == "idle"):
                    idle = time.perf_counter_ns() - t0
        return idle, reply

    def close(self):
        self.client.close()
        stop(self.proc)


class EchoTarget(Target):
    """A ROUTER that sends each message back, in a process of its own; the
    client sends the same signed execute_request and unpacks the echo."""

    def __init__(self, ctx, name, argv, workdir):
        super().__init__(name)
        port = free_ports(1)[0]
        self.log = Path(workdir) / f"{name}.log"
        self.wire = Wire(uuid.uuid4().hex)
        self.sock = ctx.socket(zmq.DEALER)
        self.sock.linger = 0
        self.sock.setsockopt(zmq.RECONNECT_IVL, 1)
        self.sock.connect(f"tcp://{HOST}:{port}")
        self.proc = spawn(argv + [f"tcp://{HOST}:{port}"], self.log)

    def ready(self):
        deadline = time.perf_counter() + START_TIMEOUT
        while True:
            if time.perf_counter() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} is not ready:\n{tail(self.log)}")
            with contextlib.suppress(zmq.Again):
                self.sock.send_multipart(self.wire.pack("ping", {})[1], zmq.NOBLOCK)
            if self.sock.poll(50):
                break
        while self.sock.poll(50):
            self.sock.recv_multipart()

    def round_trip(self):
        t0 = time.perf_counter_ns()
        msg_id, frames = self.wire.pack("execute_request", execute_content("x = 1"))
        self.sock.send_multipart(frames)
        deadline = t0 + int(REPLY_TIMEOUT * 1e9)
        while True:
            left = (deadline - time.perf_counter_ns()) / 1e6
            if left <= 0 or not self.sock.poll(max(1, int(left))):
                raise RuntimeError(f"{self.name}: no echo")
            _type, echoed_id, _parent, _content = self.wire.unpack(
                self.sock.recv_multipart())
            if echoed_id == msg_id:
                rt = time.perf_counter_ns() - t0
                return rt, rt

    def close(self):
        self.sock.close(0)
        stop(self.proc)


class PatternTarget(Target):
    """The C echo with a PUB as well: per request, one reply on the DEALER
    and three copies on the SUB, on two TCP connections, all four verified
    and parsed by the same client as a kernel's. What is left between this
    and a kernel is the kernel's own work."""

    def __init__(self, ctx, name, exe, workdir):
        super().__init__(name)
        shell, iopub = free_ports(2)
        info = {"key": uuid.uuid4().hex, "shell_port": shell, "iopub_port": iopub}
        self.client = Client(ctx, info)
        self.log = Path(workdir) / "pattern-echo.log"
        self.proc = spawn([str(exe), f"tcp://{HOST}:{shell}",
                           f"tcp://{HOST}:{iopub}"], self.log)

    def ready(self):
        """Wait until a request comes back on both sockets."""
        deadline = time.perf_counter() + START_TIMEOUT
        seen = set()
        while len(seen) < 2:
            if time.perf_counter() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} is not ready:\n{tail(self.log)}")
            with contextlib.suppress(zmq.Again):
                self.client.send("ping", {}, zmq.NOBLOCK)
            seen |= {sock for sock, _ in self.client.poll(0.05)}
        while self.client.poll(0.05):
            pass

    def round_trip(self):
        c = self.client
        t0 = time.perf_counter_ns()
        msg_id = c.send("execute_request", execute_content("x = 1"))
        deadline = t0 + int(REPLY_TIMEOUT * 1e9)
        published = 0
        reply = last = None
        while published < 3 or reply is None:
            left = (deadline - time.perf_counter_ns()) / 1e9
            if left <= 0:
                raise RuntimeError(f"{self.name}: no echo")
            for sock, (_type, echoed_id, _parent, _content) in c.poll(left):
                if echoed_id != msg_id:
                    continue
                if sock is c.shell:
                    reply = time.perf_counter_ns() - t0
                else:
                    published += 1
                    last = time.perf_counter_ns() - t0
        return last, reply

    def close(self):
        self.client.close()
        stop(self.proc)


def python_echo_server(endpoint):
    ctx = zmq.Context()
    s = ctx.socket(zmq.ROUTER)
    s.bind(endpoint)
    while True:
        s.send_multipart(s.recv_multipart(copy=False), copy=False)


def build_c_echo():
    """Path of bench/zmq_echo.c built into bench/out, or None without a
    compiler or libzmq's development files (libzmq3-dev: the kernel no longer
    needs them, so tools/deps.sh does not install them; without them the C
    echo rows are left out)."""
    exe = OUT_DIR / "zmq_echo"
    cc = shutil.which(os.environ.get("CC", "cc"))
    if not cc:
        return None
    if exe.exists() and exe.stat().st_mtime >= ECHO_C.stat().st_mtime:
        return exe
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    try:
        flags = subprocess.run(["pkg-config", "--cflags", "--libs", "libzmq"],
                               capture_output=True, text=True, check=True,
                               timeout=30).stdout.split()
        subprocess.run([cc, "-O2", "-o", str(exe), str(ECHO_C)] + flags,
                       check=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    return exe


def execute_bench(ctx, peers, executes, workdir):
    targets = []
    try:
        targets.append(EchoTarget(ctx, PY_ECHO,
                                  [sys.executable, __file__, "--echo-server"], workdir))
        c_echo = build_c_echo()
        if c_echo:
            targets.append(EchoTarget(ctx, C_ECHO, [str(c_echo)], workdir))
            targets.append(PatternTarget(ctx, C_PATTERN, c_echo, workdir))
        for peer in peers:
            targets.append(KernelTarget(ctx, peer, workdir))
        for t in targets:
            t.ready()
            t.mem["start"] = memory(t.proc)
        for t in targets:
            for _ in range(WARMUP):
                t.round_trip()
            if isinstance(t, KernelTarget):
                t.drain()
            t.mem["before"] = memory(t.proc)
        # Blocks in turn, so drift in the machine touches every target alike.
        done = 0
        while done < executes:
            n = min(BLOCK, executes - done)
            for t in targets:
                for _ in range(n):
                    idle, reply = t.round_trip()
                    t.samples.append(idle)
                    t.reply_samples.append(reply)
            done += n
        for t in targets:
            t.mem["after"] = memory(t.proc)
        return targets
    finally:
        for t in targets:
            t.close()


def client_cost(executes):
    """ns the client itself spends to pack one request and unpack four
    messages, which every kernel round trip includes."""
    wire = Wire(uuid.uuid4().hex)
    _id, frames = wire.pack("status", {"execution_state": "idle"})
    frames = [b"kernel.x.status"] + frames
    times = []
    for _ in range(executes):
        t0 = time.perf_counter_ns()
        wire.pack("execute_request", execute_content("x = 1"))
        for _ in range(4):
            wire.unpack(frames)
        times.append(time.perf_counter_ns() - t0)
    return statistics.median(times)


# ---- report -----------------------------------------------------------------


def machine():
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"nproc": os.cpu_count(), "cpu": model, "os": platform.platform()}


def versions():
    import ipykernel
    import jupyter_client
    try:
        sm = subprocess.run([str(KERNEL_BIN), "--version"], capture_output=True,
                            text=True, timeout=10)
        ours = (sm.stdout + sm.stderr).strip()
    except (OSError, subprocess.SubprocessError):
        ours = "sagemagic ?"
    try:
        rev = subprocess.run(["git", "-C", str(ROOT), "describe", "--always",
                              "--dirty"], capture_output=True, text=True,
                             timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        rev = "?"
    # A kernel named by SAGEMAGIC_KERNEL may come from another tree.
    where = KERNEL_BIN if "SAGEMAGIC_KERNEL" in os.environ else f"tree {rev}"
    ours += f" ({where})"
    return (f"{ours}; ipykernel {ipykernel.__version__}; jupyter_client "
            f"{jupyter_client.__version__}; pyzmq {zmq.__version__}; libzmq "
            f"{zmq.zmq_version()}; Python {platform.python_version()}")


def met(ok):
    return "yes" if ok else "**no**"


def ms(seconds):
    return f"{seconds * 1e3:.1f} ms"


def us(ns):
    return f"{ns / 1e3:.0f} µs"


def mib(nbytes):
    return f"{nbytes / 2**20:.1f} MiB"


def ratio_text(r):
    return f"{r:.3f}" if r < 1 else f"{r:.2f}"


def row(metric, ours, peer, show, target="", limit=None):
    """One table row comparing `ours` with `peer` (numbers) shown by `show`;
    with a `limit`, the row is a target: met when ours / peer <= limit."""
    r = ours / peer
    ok = met(r <= limit) if limit is not None else ""
    return (metric, show(ours), show(peer), ratio_text(r), target, ok)


def start_rows(starts):
    o, p = starts["sagemagic"], starts["ipykernel"]
    return [row(f"cold start to kernel_info_reply, median of {o['n']}",
                o["median"], p["median"], ms, "≤ 0.05 (1/20)", TARGETS["start"]),
            row("cold start, p90", o["p90"], p["p90"], ms)]


def execute_rows(by):
    ours, peer = by["sagemagic"], by["ipykernel"]
    o, p = summary(ours.samples), summary(peer.samples)
    rows = [row(f"execute round trip to status idle, median of {o['n']}",
                o["median"], p["median"], us, "≤ 0.10 (1/10)", TARGETS["exec"]),
            row("execute round trip, p90", o["p90"], p["p90"], us),
            row("execute round trip, p99", o["p99"], p["p99"], us),
            row("round trip to execute_reply (shell), median",
                statistics.median(ours.reply_samples),
                statistics.median(peer.reply_samples), us)]
    for name, label in ((PY_ECHO, "Python"), (C_ECHO, "C")):
        if name in by:
            raw = summary(by[name].samples)["median"]
            rows.append(row(f"execute round trip / raw DEALER-ROUTER round trip "
                            f"({label} echo), median; ipykernel column: raw",
                            o["median"], raw, us, "≤ 3", TARGETS["raw"]))
    if C_PATTERN in by:
        raw = summary(by[C_PATTERN].samples)["median"]
        rows.append(row("execute round trip / raw round trip with the same four "
                        "messages back (C echo + PUB), median; ipykernel "
                        "column: raw", o["median"], raw, us))
    raw = summary(by[PY_ECHO].samples)["median"]
    rows.append(("ipykernel's execute round trip / raw (Python echo), for scale",
                 us(p["median"]), us(raw), ratio_text(p["median"] / raw), "", ""))
    return rows


def memory_rows(by, executes):
    ours, peer = by["sagemagic"].mem, by["ipykernel"].mem
    rows = [row("RSS after start (ready, before any execute)",
                ours["start"]["rss"], peer["start"]["rss"], mib, "≤ 0.10 (1/10)",
                TARGETS["rss"]),
            row(f"RSS after the {executes} executes", ours["after"]["rss"],
                peer["after"]["rss"], mib, "≤ 0.10 (1/10)", TARGETS["rss"])]
    growth = {k: (m["after"]["rss"] - m["before"]["rss"]) / 1024
              for k, m in (("ours", ours), ("peer", peer))}
    rows.append((f"RSS growth across the {executes} timed executes",
                 f"{growth['ours']:+.0f} KiB", f"{growth['peer']:+.0f} KiB", "",
                 "no growth (0 KiB)", met(growth["ours"] <= TARGETS["growth_kib"])))
    for key, what in (("pss", "PSS (shared pages split)"),
                      ("uss", "USS (pages no other process has)")):
        rows.append(row(f"{what} after start", ours["start"][key],
                        peer["start"][key], mib))
    return rows


def table(rows):
    head = ["metric", "sagemagic", "ipykernel", "ratio", "target", "met"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def write_results(text):
    """Replace the generated part of RESULTS.md, keeping hand-written notes
    (everything from the line '## Findings' on)."""
    keep = ""
    if RESULTS.exists():
        old = RESULTS.read_text()
        at = old.find("\n## Findings")
        if at >= 0:
            keep = old[at:]
    RESULTS.write_text(text + keep)


def method(extra, by):
    floor = by.get(C_ECHO)
    floor_text = (f" For scale, the C echo (libzmq and one socket, nothing "
                  f"else) has RSS {mib(floor.mem['start']['rss'])}." if floor else "")
    return [
        "## Method",
        "",
        "- Each kernel gets a fresh connection file: free ports on 127.0.0.1, a "
        "random key, hmac-sha256. sagemagic runs as `build/sagemagic CF`, "
        "ipykernel as `python -m ipykernel_launcher -f CF` with this venv's "
        "Python and a fresh IPYTHONDIR.",
        "- Cold start: the client's sockets connect (reconnect interval 1 ms) "
        "before `Popen`; the clock runs from `Popen` until the first "
        "kernel_info_reply, with a kernel_info_request sent every "
        f"{RESEND_EVERY * 1e3:.0f} ms.",
        "- Execute round trip: one execute_request on a DEALER (shell), timed "
        "until the status idle whose parent is that request arrives on a SUB "
        "(iopub); the execute_reply must also have arrived before the next "
        "request. The client is raw pyzmq with `Session.sign` for the HMAC "
        "and the same code for every target.",
        "- Raw round trip: the same client sends the same kind of signed "
        "execute_request to a ROUTER in another process that sends every "
        "message back, and verifies and parses the echo. That is one message "
        "each way; a kernel's round trip is one request and four messages back "
        "(execute_reply, status busy, execute_input, status idle) on two TCP "
        "connections, all four verified and parsed by the client. The "
        "\"same four messages\" row gives the floor for that pattern: the C "
        "echo also publishes each request three times on a PUB (two copies "
        "before the reply, one after), timed to the last copy. The client "
        f"alone spends about {extra['client_ns'] / 1e3:.0f} µs of CPU per cell "
        "packing and unpacking a kernel's messages (measured in-process, no "
        "sockets).",
        "- Memory: psutil, the kernel process and its children. \"After "
        "start\" is once the kernel answered kernel_info and iopub delivered; "
        f"growth is from after the {WARMUP} untimed executes to after the "
        "timed ones. RSS counts every resident page of the shared libraries "
        "a process maps." + floor_text,
        "- Other processes on the machine are not stopped; the load average "
        "above says how busy it was. Ratios come from blocks run in turn in "
        "the same run, so load touches every target alike.",
        "",
    ]


def header(extra, args):
    m = machine()
    date = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    load = ", ".join(f"{x:.2f}" for x in extra["load"])
    return [
        "# Kernel benchmark: sagemagic beside ipykernel",
        "",
        "Generated by `bench/kernel_bench.py`; do not edit above \"Findings\".",
        "",
        f"- date: {date}",
        f"- machine: nproc {m['nproc']}, CPU {m['cpu']}, {m['os']}; load "
        f"average at start {load}",
        f"- versions: {extra['versions']}",
        f"- rerun: `{RERUN}`",
        f"- run: {args.starts} cold starts of each kernel (alternating, after one "
        f"untimed start each); {args.executes} timed executes per target in "
        f"blocks of {BLOCK}, in turn, after {WARMUP} untimed ones; the cell is "
        "`x = 1` in both kernels",
        "",
    ]


def print_details(starts, targets):
    for t in targets:
        s = summary(t.samples)
        print(f"{t.name:30s} median {s['median'] / 1e3:7.1f} µs  p90 "
              f"{s['p90'] / 1e3:7.1f}  p99 {s['p99'] / 1e3:7.1f}  min "
              f"{s['min'] / 1e3:7.1f} µs  rss start/before/after "
              + "/".join(f"{t.mem[k]['rss'] // 1024}" for k in
                         ("start", "before", "after")) + " KiB")
    for name, s in starts.items():
        print(f"cold start {name:19s} median {s['median'] * 1e3:7.1f} ms  p90 "
              f"{s['p90'] * 1e3:7.1f}  min {s['min'] * 1e3:7.1f} ms")


def report(starts, targets, extra, args):
    by = {t.name: t for t in targets}
    rows = start_rows(starts) + execute_rows(by) + memory_rows(by, args.executes)
    lines = header(extra, args) + [
        table(rows),
        "",
        "Ratios are sagemagic / ipykernel, or sagemagic / raw round trip; "
        "lower is better. Rows without a target are for context.",
        "",
    ] + method(extra, by)
    print(table(rows))
    print()
    print_details(starts, targets)
    if not args.no_write:
        write_results("\n".join(lines))
        print(f"\nwrote {RESULTS.relative_to(ROOT)}")


# ---- main -------------------------------------------------------------------


def peers(workdir):
    env = dict(os.environ)
    env["IPYTHONDIR"] = str(Path(workdir) / "ipython")  # no user profile, no old history
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    return [Peer("sagemagic", [str(KERNEL_BIN), "{cf}"], "x = 1"),
            Peer("ipykernel", [sys.executable, "-m", "ipykernel_launcher", "-f",
                               "{cf}"], "x = 1", env)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--starts", type=int, default=15, help="cold starts per kernel")
    ap.add_argument("--executes", type=int, default=2000,
                    help="timed executes per target")
    ap.add_argument("--no-write", action="store_true", help="only print the table")
    ap.add_argument("--echo-server", metavar="ENDPOINT", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.echo_server:
        python_echo_server(args.echo_server)
        return 0
    if not KERNEL_BIN.exists():
        print(f"build the kernel first (make all): {KERNEL_BIN}", file=sys.stderr)
        return 1
    extra = {"load": os.getloadavg()}
    ctx = zmq.Context()
    workdir = tempfile.mkdtemp(prefix="sagemagic-bench-")
    try:
        ps = peers(workdir)
        starts = {p.name: [] for p in ps}
        for p in ps:  # untimed: page cache, IPython profile directory
            cold_start(ctx, p, workdir)
        for _ in range(args.starts):
            for p in ps:
                starts[p.name].append(cold_start(ctx, p, workdir))
        starts = {k: summary(v) for k, v in starts.items()}
        targets = execute_bench(ctx, ps, args.executes, workdir)
        extra["versions"] = versions()
        extra["client_ns"] = client_cost(2000)
        report(starts, targets, extra, args)
        return 0
    finally:
        ctx.destroy(linger=0)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
