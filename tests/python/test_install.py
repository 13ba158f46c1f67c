"""`make install` (tools/install-kernel.sh) lays out the kernel, the local
service and the CLI with a kernelspec as `jupyter kernelspec install`
would, under PREFIX or for the user, and Jupyter finds and starts it."""
import json
import os
import subprocess

from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

from conftest import ROOT


def test_install_under_a_prefix(kernel_bin, tmp_path):
    prefix = tmp_path / "prefix"
    done = subprocess.run(["make", "-s", "install", f"PREFIX={prefix}"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    for tool in ("sagemagic", "sagemagic-local", "sagemagic-aws"):
        path = prefix / "bin" / tool
        assert path.is_file() and os.access(path, os.X_OK), tool
    spec_dir = prefix / "share" / "jupyter" / "kernels" / "sagemagic"
    names = sorted(p.name for p in spec_dir.iterdir())
    assert names == ["kernel.json", "logo-32x32.png", "logo-64x64.png", "logo-svg.svg"]
    spec = json.loads((spec_dir / "kernel.json").read_text())
    assert spec["argv"] == [str(prefix / "bin" / "sagemagic"), "{connection_file}"]
    assert spec["language"] and spec["display_name"] and spec["interrupt_mode"] == "signal"

    # Jupyter finds it there and it answers
    found = KernelSpecManager(kernel_dirs=[str(spec_dir.parent)]).get_all_specs()
    assert found["sagemagic"]["resource_dir"] == str(spec_dir)
    km = KernelManager(kernel_name="sagemagic", kernel_spec_manager=KernelSpecManager(
        kernel_dirs=[str(spec_dir.parent)]))
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=30)
        reply = kc.execute_interactive("%echo installed", timeout=30)
        assert reply["content"]["status"] == "ok"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)

    # installing again replaces the spec whole
    (spec_dir / "stale.txt").write_text("x")
    subprocess.run(["make", "-s", "install", f"PREFIX={prefix}"], cwd=ROOT, check=True,
                   capture_output=True, timeout=120)
    assert not (spec_dir / "stale.txt").exists()


def test_install_for_the_user(kernel_bin, tmp_path):
    home = tmp_path / "home"
    env = dict(os.environ, HOME=str(home))
    env.pop("XDG_DATA_HOME", None)
    subprocess.run(["tools/install-kernel.sh", kernel_bin], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=60)
    assert (home / ".local" / "bin" / "sagemagic-local").is_file()
    spec = json.loads((home / ".local" / "share" / "jupyter" / "kernels" / "sagemagic" /
                       "kernel.json").read_text())
    assert spec["argv"][0] == str(home / ".local" / "bin" / "sagemagic")
