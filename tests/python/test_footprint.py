"""What a kernel carries from the start: libc and libm, libsodium, jansson,
and nothing else. No libzmq (the kernel speaks ZMTP itself, kernel/zmtp.c), so
no libstdc++ and none of the Kerberos, PGM and NORM libraries a distribution's
libzmq pulls in; no libcurl (and the score of libraries it pulls in: TLS,
LDAP, SSH, RTMP...) and no OpenSSL libcrypto. The AWS client opens libcurl
with dlopen on its first request, and hashes with libsodium and its own
MD5, so a notebook that never calls AWS never maps them.
"""
import os
import pathlib
import subprocess

import pytest
from jupyter_client.manager import KernelManager

from conftest import KERNEL_BIN, ROOT

_KERNEL = os.environ.get("SAGEMAGIC_KERNEL")
AWS_BIN = os.environ.get(
    "SAGEMAGIC_AWS",
    str(pathlib.Path(_KERNEL).parent / "sagemagic-aws") if _KERNEL else str(ROOT / "build" / "sagemagic-aws"),
)
pytestmark = pytest.mark.timeout(60)

# Shared objects by the start of their file name.
HEAVY = ("libcurl", "libcrypto.so", "libssl.so", "libnghttp2", "librtmp", "libssh2", "libldap")
# All a kernel may load until its first AWS call (libdl and libpthread are
# part of libc since glibc 2.34 but may still be named).
ALLOWED = ("linux-vdso", "ld-linux", "libc.so", "libm.so", "libdl.so", "libpthread.so",
           "libsodium", "libjansson")


def heavy_in(paths):
    return sorted({p for p in paths if os.path.basename(p).startswith(HEAVY)})


def not_allowed(paths):
    return sorted({p for p in paths if not os.path.basename(p).startswith(ALLOWED)})


def needed(binary):
    """Every shared object `binary` loads at start, as ldd resolves them."""
    assert os.path.exists(binary), f"build it first: {binary}"
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


@pytest.mark.parametrize("binary", [KERNEL_BIN, AWS_BIN], ids=["sagemagic", "sagemagic-aws"])
def test_binaries_link_neither_libcurl_nor_libcrypto(binary):
    assert heavy_in(needed(binary)) == []


@pytest.mark.parametrize("binary", [KERNEL_BIN, AWS_BIN], ids=["sagemagic", "sagemagic-aws"])
def test_binaries_link_only_libc_libsodium_and_jansson(binary):
    assert not_allowed(needed(binary)) == []


def test_a_running_kernel_maps_neither(kernel_bin):
    km = KernelManager(kernel_name="sagemagic")
    km.start_kernel()
    kc = None
    try:
        kc = km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=10)
        kc.execute_interactive("%lsmagic", timeout=10)
        pid = km.provisioner.process.pid
        with open(f"/proc/{pid}/maps") as f:
            mapped = [line.split()[-1] for line in f if "/" in line]
    finally:
        if kc is not None:
            kc.stop_channels()
        km.shutdown_kernel(now=True)
    assert any("libsodium" in p for p in mapped)  # the check sees libraries
    assert heavy_in(mapped) == []
    assert not_allowed(p for p in mapped if ".so" in p) == []
