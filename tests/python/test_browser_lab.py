"""The notebooks in JupyterLab in a real browser: `jupyter lab` with the
built kernel (conftest.py's kernelspecs), Debian's chromium driven by
Playwright. Each case opens one notebook, runs Run All from the Run menu,
waits for the kernel to go idle and checks what the page shows: the text
each cell prints, errors only in the cells meant to fail, HTML cards and
SVG charts drawn, and the training card in the light and the dark theme.

A notebook is one entry of CASES: one of notebooks/ by its name (the
folder is copied into the server's root), or one the test writes (`make`).
Screenshots and the server's log go to tests/artifacts/browser/."""
import time

import pytest

from lab_helpers import (ARTIFACTS, Case, LabSession, chromium_path, training_notebook,
                         write_notebook)

pytestmark = [pytest.mark.timeout(240), pytest.mark.slow]

CASES = [
    Case(
        "00-basics.ipynb",
        shows={
            "%help": ["%config", "%train", "%upload"],
            "%config region=eu-west-1": ["eu-west-1", "tutorial"],
            "data = s3://": ["s3://my-bucket/tutorial/train.csv"],
            "%echo training data": ["training data: s3://my-bucket/tutorial/train.csv"],
            "%sleep 0.5": ["done waiting"],
        },
        html=["%help", "%config region=eu-west-1"]),
    Case(
        "01-quickstart.ipynb", timeout=240,
        shows={
            "%whoami": ["arn:aws:iam::000000000000:user/sagemagic-local"],
            "data = %prepare": ["train.csv", "398", "validation.csv", "test.csv"],
            "s3data = %upload": ["s3://sagemaker-us-east-1-000000000000/"],
            "%%train": ["validation-auc", "Saved the model (60 rounds)"],
            "job = $_": ["[59]#011train-auc:"],
            "ep = %deploy": ["InService"],
            "%predict": ["label", "prediction"],
            "test = %upload": ["transform job", "Completed", "first lines:"],
            "%cleanup -f": ["deleting endpoint sagemaker-xgboost-", "no endpoints"],
        },
        html=["%whoami", "data = %prepare", "%ls", "%%train", "ep = %deploy", "%predict",
              "test = %upload"],
        svg=["%%train"],
        card=("%%train", ["Completed", "final metrics", "validation:auc", "model.tar.gz"])),
    Case(
        "04-low-level.ipynb", timeout=240,
        shows={
            "%%api sagemaker CreateTrainingJob": ["training-job/lowlevel-breast-cancer-1"],
            "%logs lowlevel-breast-cancer-1 --follow": ["[59]#011train-auc:"],
            "%%api sagemaker DescribeTrainingJob": ['"TrainingJobStatus": "Completed"'],
            "job = $_": ["status Completed, model at s3://"],
            "%%api logs GetLogEvents": ['"message": "Arguments: train"'],
        },
        html=["data = %prepare", "%whoami"]),
    Case(
        "training.ipynb", make=training_notebook, timeout=150,
        shows={
            "train = %upload": ["s3://", "train.csv", "validation.csv"],
            "job = %train": ["validation-rmse", "Saved the model"],
            "job": ["browser-train"],
            "%stop no-such-job": ["no-such-job"],
        },
        html=["job = %train"], svg=["job = %train"],
        card=("job = %train", ["training job browser-train", "Completed",
                               "final metrics", "validation:rmse", "model.tar.gz"]),
        errors=["%stop no-such-job"]),
]


# run by hand: the stop button interrupts its first cell
INTERRUPT = Case(
    "interrupt.ipynb",
    make=lambda root: write_notebook(root / "interrupt.ipynb",
                                     ["%sleep 60", "%echo not reached"]),
    shows={"%sleep 60": ["KeyboardInterrupt"]}, errors=["%sleep 60"])


@pytest.fixture(scope="module")
def lab(tmp_path_factory, kernel_bin):
    if chromium_path() is None:
        pytest.fail("Debian's chromium is not installed: run `make deps`")
    session = LabSession(tmp_path_factory.mktemp("lab"), CASES + [INTERRUPT],
                         keep_log=ARTIFACTS / "jupyter-lab.log")
    with session:
        yield session


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_notebook_in_jupyterlab(lab, case):
    page = lab.open(case.name)
    try:
        check_page(page, case)
    except BaseException:
        page.screenshot(ARTIFACTS / f"{case.stem}-failed.png")
        raise
    finally:
        page.close()


def check_page(page, case):
    cells = page.run_all(timeout=case.timeout)
    case.check(cells)
    for i, key in enumerate(case.svg):
        page.screenshot_cell(key, ARTIFACTS / f"{case.stem}-chart-{i}.png", "image/svg+xml")
    if case.card:
        light = page.card_style(case.card, ARTIFACTS / f"{case.stem}-card-light.png")
        for text in case.card_texts:
            assert text in light["text"], f"the card does not show {text!r}: {light['text']}"
        page.set_theme("JupyterLab Dark")
        try:
            dark = page.card_style(case.card, ARTIFACTS / f"{case.stem}-card-dark.png")
        finally:
            page.set_theme("JupyterLab Light")
        # the card takes its colours from the theme's CSS variables
        assert light["color"] != dark["color"], (light, dark)
        assert light["background"] != dark["background"], (light, dark)
        for style in (light, dark):
            assert style["color"] != style["background"], style


def test_stop_button_interrupts_a_running_cell(lab):
    """The toolbar's stop button ends a long %sleep at once: the cell shows
    the interrupt as its error and Run All stops there."""
    page = lab.open("interrupt.ipynb")
    try:
        page.run_all(wait=False)
        # the first cell is running when the kernel says busy for it
        page.page.wait_for_function(
            "() => { const nb = window.jupyterapp.shell.currentWidget; "
            "return nb.sessionContext.session.kernel.status === 'busy' && "
            "nb.content.widgets[0].model.executionState === 'running'; }",
            timeout=30_000, polling=100)
        started = time.monotonic()
        page.interrupt()
        cells = page.wait_ran(timeout=20)
        assert time.monotonic() - started < 10, "the interrupt took its time"
        INTERRUPT.check(cells)
    finally:
        page.close()
