"""The kernel's own ZMTP transport against libzmq peers (pyzmq): ROUTER
routing with several clients at once, REP heartbeats, XPUB prefix filtering
and unsubscription, ipc, big messages, ZMTP heartbeats, and peers that send
garbage, the wrong socket type or an impossible frame being dropped while
the kernel goes on serving everyone else.
"""
import json
import os
import resource
import signal
import socket
import struct
import subprocess
import tempfile
import time
import uuid

import psutil
import pytest
import zmq
from jupyter_client.session import Session

from conftest import KERNEL_BIN

pytestmark = pytest.mark.timeout(60)

TIMEOUT = 10  # seconds; the bound of any single wait below
PORTS = ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")


def sanitized(path):
    """A sanitizer build (make asan) has shadow memory: RSS bounds do not hold."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return False
    return b"__asan_init" in data or b"__tsan_init" in data


SANITIZED = sanitized(KERNEL_BIN)


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


class Kernel:
    """The kernel started straight from a connection file we write."""

    def __init__(self, transport="tcp", max_files=None):
        self.dir = tempfile.mkdtemp(prefix="sagemagic-zmtp-")
        self.key = uuid.uuid4().hex
        if transport == "tcp":
            ip = "127.0.0.1"
            ports = free_ports(5)
        else:  # relative, as Jupyter writes it: the kernel runs in self.dir
            ip = "kernel-ipc"
            ports = [1, 2, 3, 4, 5]
        self.info = dict(zip(PORTS, ports), ip=ip, transport=transport, key=self.key,
                         signature_scheme="hmac-sha256")
        self.cf = os.path.join(self.dir, "kernel.json")
        with open(self.cf, "w") as f:
            json.dump(self.info, f)
        limit = None
        if max_files:
            def limit():
                resource.setrlimit(resource.RLIMIT_NOFILE, (max_files, max_files))
        self.proc = subprocess.Popen([KERNEL_BIN, self.cf], stderr=subprocess.PIPE,
                                     cwd=self.dir, preexec_fn=limit)
        self.session = Session(key=self.key.encode(), signature_scheme="hmac-sha256")
        self.ctx = zmq.Context()
        self.socks = []
        self.readers = {}

    def endpoint(self, name):
        port = self.info[name + "_port"]
        if self.info["transport"] == "ipc":
            return f"ipc://{self.dir}/{self.info['ip']}-{port}"
        return f"tcp://127.0.0.1:{port}"

    def socket(self, kind, name, identity=None, opts=None):
        s = self.ctx.socket(kind)
        s.linger = 0
        if identity is not None:
            s.identity = identity
        for k, v in (opts or {}).items():
            s.setsockopt(k, v)
        s.connect(self.endpoint(name))
        self.socks.append(s)
        return s

    def request(self, s, msg_type, content=None, metadata=None):
        msg = self.session.msg(msg_type, content or {}, metadata=metadata)
        self.session.send(s, msg)
        return msg["header"]["msg_id"]

    def recv(self, s, timeout=TIMEOUT):
        if not s.poll(int(timeout * 1000)):
            return None
        # one replay guard per socket: XPUB gives each subscriber its copy
        reader = self.readers.setdefault(
            s, Session(key=self.key.encode(), signature_scheme="hmac-sha256")
        )
        _, frames = reader.feed_identities(s.recv_multipart())
        return reader.deserialize(frames)

    def reply_to(self, s, msg_id, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = self.recv(s, deadline - time.monotonic())
            if msg and msg["parent_header"].get("msg_id") == msg_id:
                return msg
        raise AssertionError(f"no reply to {msg_id} within {timeout} s")

    def alive(self):
        """A fresh DEALER gets a kernel_info_reply."""
        s = self.socket(zmq.DEALER, "shell")
        msg_id = self.request(s, "kernel_info_request")
        return self.reply_to(s, msg_id)["content"]["status"] == "ok"

    def stop(self):
        if self.ctx.closed:
            return
        for s in self.socks:
            s.close(linger=0)
        self.ctx.term()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.stderr = self.proc.stderr.read().decode(errors="replace")


@pytest.fixture
def kernel(kernel_bin):
    k = Kernel()
    try:
        assert k.alive()  # bound and serving before a test connects raw sockets
        yield k
    finally:
        k.stop()
    # a sanitizer build (make asan) reports here
    assert "Sanitizer" not in k.stderr and "runtime error" not in k.stderr, k.stderr
    assert k.proc.returncode == 0, k.stderr


def test_replies_are_routed_to_the_client_that_asked(kernel):
    named = kernel.socket(zmq.DEALER, "shell", identity=b"client-a")
    anonymous = kernel.socket(zmq.DEALER, "shell")
    other = kernel.socket(zmq.DEALER, "shell", identity=b"client-b")
    ids = {s: kernel.request(s, "kernel_info_request") for s in (named, anonymous, other)}
    for s, msg_id in ids.items():
        msg = kernel.recv(s)
        assert msg["parent_header"]["msg_id"] == msg_id
        assert msg["msg_type"] == "kernel_info_reply"
        assert not s.poll(200), "a reply meant for another client arrived"


def test_a_reconnecting_client_takes_its_identity_over(kernel):
    """As libzmq's ROUTER_HANDOVER: replies for an identity go to the newest
    connection that claims it; the older one is still served under a new id."""
    old = kernel.socket(zmq.DEALER, "shell", identity=b"same-client")
    assert kernel.reply_to(old, kernel.request(old, "kernel_info_request"))
    new = kernel.socket(zmq.DEALER, "shell", identity=b"same-client")
    msg_id = kernel.request(new, "kernel_info_request")
    assert kernel.reply_to(new, msg_id)["msg_type"] == "kernel_info_reply"
    assert not old.poll(200), "the old connection got the new one's reply"
    msg_id = kernel.request(old, "kernel_info_request")
    assert kernel.reply_to(old, msg_id)["msg_type"] == "kernel_info_reply"


def test_heartbeat_is_a_rep_echo(kernel):
    req = kernel.socket(zmq.REQ, "hb")
    for payload in (b"ping", b"", os.urandom(3000)):
        req.send(payload)
        assert req.poll(TIMEOUT * 1000)
        assert req.recv() == payload
    dealer = kernel.socket(zmq.DEALER, "hb")
    dealer.send_multipart([b"no envelope"])  # not a request REP answers
    dealer.send_multipart([b"", b"a", b"b"])
    assert dealer.poll(TIMEOUT * 1000)
    assert dealer.recv_multipart() == [b"", b"a", b"b"]
    assert not dealer.poll(200)


def welcome(kernel, sub):
    msg = kernel.recv(sub)
    assert msg is not None and msg["msg_type"] == "iopub_welcome"
    return msg["content"]["subscription"]


def statuses(kernel, sub):
    """The execution states of the next two status messages (welcomes
    before them are skipped)."""
    got = []
    while len(got) < 2:
        msg = kernel.recv(sub)
        assert msg is not None, f"only {got} arrived"
        if msg["msg_type"] == "status":
            got.append(msg["content"]["execution_state"])
    return got


def test_iopub_filters_by_prefix_and_unsubscribes(kernel):
    everything = kernel.socket(zmq.SUB, "iopub", opts={zmq.SUBSCRIBE: b""})
    status_only = kernel.socket(zmq.SUB, "iopub", opts={zmq.SUBSCRIBE: b"kernel."})
    nothing = kernel.socket(zmq.SUB, "iopub", opts={zmq.SUBSCRIBE: b"other-topic"})
    # each welcome reaches every subscriber whose prefix it matches, as XPUB
    assert welcome(kernel, everything) == ""
    assert welcome(kernel, status_only) == "kernel."
    assert welcome(kernel, nothing) == "other-topic"
    shell = kernel.socket(zmq.DEALER, "shell")
    msg_id = kernel.request(shell, "kernel_info_request")
    kernel.reply_to(shell, msg_id)
    for sub in (everything, status_only):
        assert statuses(kernel, sub) == ["busy", "idle"]
    assert not nothing.poll(300), "a message reached a subscriber it does not match"
    status_only.setsockopt(zmq.UNSUBSCRIBE, b"kernel.")
    time.sleep(0.3)  # the unsubscription travels on its own
    msg_id = kernel.request(shell, "kernel_info_request")
    kernel.reply_to(shell, msg_id)
    assert statuses(kernel, everything) == ["busy", "idle"]
    assert not status_only.poll(300), "an unsubscribed peer still got messages"


def test_big_messages_both_ways(kernel):
    shell = kernel.socket(zmq.DEALER, "shell")
    blob = "x" * (30 << 20)
    msg_id = kernel.request(shell, "kernel_info_request", metadata={"blob": blob})
    assert kernel.reply_to(shell, msg_id, timeout=30)["content"]["status"] == "ok"


def raw_peer(kernel, name="shell"):
    s = socket.create_connection(("127.0.0.1", kernel.info[name + "_port"]), timeout=TIMEOUT)
    return s


def closed_by_kernel(s):
    """True when the kernel closes the connection (after its greeting)."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        try:
            if s.recv(65536) == b"":
                return True
        except ConnectionResetError:
            return True
    return False


GREETING = b"\xff" + b"\0" * 7 + b"\x01\x7f\x03\x00" + b"NULL".ljust(20, b"\0") + b"\0" * 32


def ready(socket_type):
    body = b"\x05READY\x0bSocket-Type" + struct.pack(">I", len(socket_type)) + socket_type
    return bytes([0x04, len(body)]) + body


@pytest.mark.parametrize(
    "stream",
    [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",  # not ZMTP
        GREETING[:10] + b"\x02",  # ZMTP 2
        GREETING[:12] + b"PLAIN".ljust(20, b"\0") + GREETING[32:],  # another mechanism
        GREETING + ready(b"PUB"),  # a socket type a ROUTER cannot talk to
        GREETING + bytes([0x01, 2]) + b"hi",  # a message before READY
        GREETING + ready(b"DEALER") + bytes([0x02]) + b"\xff" * 8,  # a frame of 2^64 bytes
    ],
    ids=["http", "zmtp2", "plain", "pub", "no-ready", "huge-frame"],
)
def test_bad_peers_are_dropped_and_others_served(kernel, stream):
    s = raw_peer(kernel)
    s.sendall(stream)
    assert closed_by_kernel(s)
    s.close()
    assert kernel.alive()
    assert kernel.proc.poll() is None


class RawZmtp:
    """ZMTP frames over a plain socket, for what pyzmq never sends."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            assert chunk, "the kernel closed the connection"
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def frame(self):
        """(flags, body) of the next frame."""
        flags = self.read(1)[0]
        size = struct.unpack(">Q", self.read(8))[0] if flags & 2 else self.read(1)[0]
        return flags, self.read(size)

    def message(self):
        """The next message's frames, commands skipped."""
        frames = []
        while True:
            flags, body = self.frame()
            if flags & 4:
                continue
            frames.append(body)
            if not flags & 1:
                return frames

    def command(self, name, body=b""):
        data = bytes([len(name)]) + name + body
        self.sock.sendall(bytes([0x04, len(data)]) + data)


def test_zmtp_3_1_subscribe_and_ping_commands(kernel):
    """A ZMTP 3.1 subscriber may send SUBSCRIBE and CANCEL as commands and
    PING for heartbeats: it gets its iopub_welcome, its PONG with the
    context echoed, and nothing after CANCEL."""
    s = raw_peer(kernel, "iopub")
    peer = RawZmtp(s)
    s.sendall(GREETING[:11] + b"\x01" + GREETING[12:] + ready(b"SUB"))
    greeting = peer.read(64)
    assert greeting[0] == 0xFF and greeting[10:12] == b"\x03\x00"
    flags, body = peer.frame()
    assert flags & 4 and body.startswith(b"\x05READY") and b"XPUB" in body
    peer.command(b"SUBSCRIBE", b"")
    frames = peer.message()
    msg = kernel.session.deserialize(frames[frames.index(b"<IDS|MSG>") + 1:])
    assert msg["msg_type"] == "iopub_welcome"
    peer.command(b"PING", b"\x00\x0a" + b"ctx-42")
    flags, body = peer.frame()
    assert flags & 4 and body == b"\x04PONGctx-42"
    peer.command(b"CANCEL", b"")
    time.sleep(0.3)
    assert kernel.alive()  # publishes busy and idle: none may reach us now
    s.settimeout(0.5)
    with pytest.raises(socket.timeout):
        peer.frame()
    s.close()


def test_a_half_open_peer_does_not_stall_the_kernel(kernel):
    stalled = raw_peer(kernel)
    stalled.sendall(GREETING[:20])  # and nothing more
    half = raw_peer(kernel)
    half.sendall(GREETING + ready(b"DEALER") + bytes([0x01, 200]) + b"partial")
    assert kernel.alive()
    stalled.close()
    half.close()
    assert kernel.alive()


def test_zmtp_heartbeats_are_answered(kernel):
    """A libzmq peer with ZMTP heartbeats on gets its PONGs: it never
    declares the connection dead."""
    shell = kernel.ctx.socket(zmq.DEALER)
    shell.linger = 0
    shell.setsockopt(zmq.HEARTBEAT_IVL, 50)
    shell.setsockopt(zmq.HEARTBEAT_TIMEOUT, 300)
    kernel.socks.append(shell)
    # the monitor first, so the handshake's event cannot come before it
    monitor = shell.get_monitor_socket(zmq.EVENT_DISCONNECTED | zmq.EVENT_HANDSHAKE_SUCCEEDED)
    shell.connect(kernel.endpoint("shell"))
    events = []
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        if monitor.poll(50):
            events.append(monitor.recv_multipart())
    shell.disable_monitor()
    monitor.close(linger=0)
    kinds = [struct.unpack("=hi", e[0][:6])[0] for e in events]
    assert zmq.EVENT_HANDSHAKE_SUCCEEDED in kinds
    assert zmq.EVENT_DISCONNECTED not in kinds
    msg_id = kernel.request(shell, "kernel_info_request")
    assert kernel.reply_to(shell, msg_id)["content"]["status"] == "ok"


def test_ipc_transport(kernel_bin):
    k = Kernel(transport="ipc")
    try:
        assert k.alive()
        req = k.socket(zmq.REQ, "hb")
        req.send(b"ping")
        assert req.poll(TIMEOUT * 1000) and req.recv() == b"ping"
        paths = [os.path.join(k.dir, f"{k.info['ip']}-{k.info[p]}") for p in PORTS]
        assert all(os.path.exists(p) for p in paths)
    finally:
        k.stop()
    assert k.proc.returncode == 0, k.stderr
    assert not any(os.path.exists(p) for p in paths), "socket files left behind"


def test_a_subscriber_that_never_reads_does_not_block_the_kernel(kernel):
    """Its queue stops at the high-water mark (64 MiB) and what is beyond is
    dropped, as libzmq's PUB does; the kernel keeps answering, and the queue
    is given back when that subscriber goes."""
    stuck = kernel.socket(zmq.SUB, "iopub", opts={zmq.SUBSCRIBE: b"", zmq.RCVHWM: 1,
                                                  zmq.RCVBUF: 4096})
    reader = kernel.socket(zmq.SUB, "iopub", opts={zmq.SUBSCRIBE: b""})
    welcome(kernel, reader)
    time.sleep(0.2)
    shell = kernel.socket(zmq.DEALER, "shell")
    code = "# " + "x" * (1 << 20)  # each cell's execute_input carries 1 MiB
    for _ in range(72):
        msg_id = kernel.request(shell, "execute_request", {
            "code": code, "silent": False, "store_history": False,
            "user_expressions": {}, "allow_stdin": False})
        assert kernel.reply_to(shell, msg_id)["content"]["status"] == "ok"
        while reader.poll(0):
            reader.recv_multipart()
    proc = psutil.Process(kernel.proc.pid)
    if not SANITIZED:
        assert proc.memory_info().rss < 100 << 20, "the queue of the stuck peer is unbounded"
    stuck.close(linger=0)
    kernel.socks.remove(stuck)
    deadline = time.monotonic() + TIMEOUT
    while not SANITIZED and proc.memory_info().rss > 32 << 20 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert SANITIZED or proc.memory_info().rss < 32 << 20, "the queue was not given back"
    assert kernel.alive()
    kernel.stop()
    assert "not reading; dropped" in kernel.stderr


def test_a_flood_while_busy_is_held_back_not_buffered(kernel):
    """6,000 requests sent while a cell sleeps: the kernel stops reading at
    1,000 waiting (TCP holds the rest back, as libzmq's receive high-water
    mark does), so its memory stays bounded, and every request is answered
    once the cell ends."""
    proc = psutil.Process(kernel.proc.pid)
    shell = kernel.socket(zmq.DEALER, "shell", opts={zmq.SNDHWM: 0})
    base = proc.memory_info().rss
    kernel.request(shell, "execute_request", {
        "code": "%sleep 3", "silent": False, "store_history": False,
        "user_expressions": {}, "allow_stdin": False})
    time.sleep(0.2)
    ids = {kernel.request(shell, "kernel_info_request", metadata={"pad": "y" * 2000})
           for _ in range(6000)}
    time.sleep(1.5)
    # decoded, 6,000 of these take about 26 MiB; 1,000 about 5
    if not SANITIZED:
        assert proc.memory_info().rss - base < 15 << 20, "the kernel buffered the flood"
    answered = set()
    deadline = time.monotonic() + 30
    while answered != ids and time.monotonic() < deadline:
        msg = kernel.recv(shell, 5)
        assert msg is not None, f"{len(ids - answered)} requests were never answered"
        answered.add(msg["parent_header"].get("msg_id"))
        answered &= ids
    assert answered == ids


def test_out_of_file_descriptors_the_kernel_waits_and_recovers(kernel_bin):
    """More connections than the kernel may open files: it neither spins nor
    stops, and serves again once they are gone."""
    k = Kernel(max_files=48)
    raw = []
    try:
        assert k.alive()
        raw = [raw_peer(k) for _ in range(60)]
        time.sleep(0.5)
        proc = psutil.Process(k.proc.pid)
        before = sum(proc.cpu_times()[:2])
        time.sleep(1.0)
        assert sum(proc.cpu_times()[:2]) - before < 0.3, "the kernel spins"
        for s in raw:
            s.close()
        raw = []
        assert k.alive()
    finally:
        for s in raw:
            s.close()
        k.stop()
    assert "cannot accept" in k.stderr
    assert k.proc.returncode == 0, k.stderr
