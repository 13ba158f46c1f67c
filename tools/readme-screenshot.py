#!/usr/bin/env python3
"""Write docs/screenshot-training.png, the README's picture: JupyterLab in
headless chromium runs a small training notebook on the local backend
(data made with fixed seeds) and the notebook, down to the end of the
training cell, is captured. The page is checked as the browser test checks
it before anything is written. Needs `make all` and the tools `make deps`
installs; run from the repository root:
  .venv/bin/python tools/readme-screenshot.py [OUT.png]"""
import pathlib
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "python"))

import conftest  # noqa: E402  (the private kernelspec in JUPYTER_PATH)
from lab_helpers import Case, LabSession, training_notebook  # noqa: E402

NAME = "training.ipynb"
TRAIN_CELL = "job = %train"


def main(out):
    case = Case(NAME, make=lambda root: training_notebook(
                    root, NAME, rounds=10, job=None, fail_at_end=False),
                shows={TRAIN_CELL: ["Completed", "validation-rmse"]},
                html=[TRAIN_CELL], svg=[TRAIN_CELL], timeout=150)
    with tempfile.TemporaryDirectory(prefix="sagemagic-shot-") as base:
        with LabSession(base, [case]) as session:
            page = session.open(NAME, viewport=(1180, 1400))
            case.check(page.run_all(timeout=case.timeout))
            p = page.page
            # the file browser closed: the notebook gets the width
            p.evaluate("() => window.jupyterapp.commands.execute('application:toggle-left-area')")
            p.wait_for_function("() => !document.querySelector('#jp-left-stack:not(.lm-mod-hidden)')"
                                " || document.querySelector('#jp-left-stack').offsetWidth === 0",
                                timeout=10_000)
            cell = p.locator(".jp-Notebook .jp-CodeCell").nth(1)
            cell.scroll_into_view_if_needed()
            box = cell.bounding_box()
            bottom = box["y"] + box["height"]
            assert bottom <= 1400, "the training cell does not fit the viewport"
            out.parent.mkdir(parents=True, exist_ok=True)
            p.screenshot(path=str(out), clip={"x": 0, "y": 0, "width": 1180,
                                              "height": bottom})
            page.close()
    print(f"wrote {out} ({out.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(pathlib.Path(sys.argv[1]) if len(sys.argv) > 1
                  else ROOT / "docs" / "screenshot-training.png"))
