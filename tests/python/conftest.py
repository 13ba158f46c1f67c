"""Shared fixtures: a kernelspec for the built kernel in a private JUPYTER_PATH."""
import json
import os
import pathlib
import tempfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
KERNEL_BIN = os.environ.get("SAGEMAGIC_KERNEL", str(ROOT / "build" / "sagemagic"))


def write_kernelspec(base: pathlib.Path, name: str, interrupt_mode: str) -> None:
    spec_dir = base / "kernels" / name
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [KERNEL_BIN, "{connection_file}"],
        "display_name": f"sagemagic ({name})",
        "language": "sagemagic",
        "interrupt_mode": interrupt_mode,
        "env": {"SAGEMAGIC_LOG": os.environ.get("SAGEMAGIC_LOG", "warn")},
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))


# Set up before any test module imports jupyter_client's kernelspec search.
_SPEC_ROOT = pathlib.Path(tempfile.mkdtemp(prefix="sagemagic-specs-"))
write_kernelspec(_SPEC_ROOT, "sagemagic", "signal")
write_kernelspec(_SPEC_ROOT, "sagemagic-message", "message")
os.environ["JUPYTER_PATH"] = str(_SPEC_ROOT) + os.pathsep + os.environ.get("JUPYTER_PATH", "")
os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")


@pytest.fixture(scope="session")
def kernel_bin() -> str:
    assert os.path.exists(KERNEL_BIN), f"build the kernel first: {KERNEL_BIN}"
    return KERNEL_BIN


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "slow: takes more than 20 s; `make asan` leaves these out (-m 'not slow')"
    )


def copy_notebooks(dest, notebooks=True):
    """notebooks/ as committed into `dest`: without the text sources and
    without what running the tutorials leaves there (the journal, prepared
    data, downloads, checkpoints; all in .gitignore), so a test never sees
    a user's earlier run. `notebooks`: the .ipynb files too."""
    import shutil
    skip = ["src", "sagemagic-journal.jsonl", "*-prepared", "predictions.csv",
            ".ipynb_checkpoints"]
    if not notebooks:
        skip.append("*.ipynb")
    shutil.copytree(ROOT / "notebooks", dest, ignore=shutil.ignore_patterns(*skip))
