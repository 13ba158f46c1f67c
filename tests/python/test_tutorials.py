"""The tutorials in notebooks/ run top to bottom through nbclient, as
`make demo` runs the quickstart, each in a copy of the notebooks folder
with a kernel of its own on a fresh local backend, and the outputs that
matter are checked: no error output, the jobs Completed, metrics that make
sense for the data, predictions close to the true labels, nothing left
running at the end."""
import json
import re
import shutil

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import ROOT
from magics_helpers import clean_env, stop_local_service

pytestmark = [pytest.mark.timeout(600), pytest.mark.slow]

NOTEBOOKS = ROOT / "notebooks"


def run_notebook(name, tmp_path, **env):
    """Execute notebooks/NAME.ipynb in a copy of the folder; returns the
    executed notebook and the local service's data dir."""
    work = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS, work, ignore=shutil.ignore_patterns("src", "*.ipynb"))
    data_dir = tmp_path / "local"
    environment = clean_env(tmp_path / "home", SAGEMAGIC_LOCAL_DATA_DIR=str(data_dir), **env)
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    client = NotebookClient(nb, kernel_name="sagemagic", timeout=300, startup_timeout=60,
                            allow_errors=True)
    try:
        client.execute(env=environment, cwd=str(work))
    finally:
        stop_local_service(data_dir)
    return nb, data_dir


def outputs(nb):
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]


def cell_text(cell):
    """Every text/plain and stream text of a code cell, joined."""
    parts = []
    for o in cell.outputs:
        if o.output_type == "stream":
            parts.append(o.text)
        elif o.output_type == "error":
            parts.append(f"{o.ename}: {o.evalue}")
        else:
            parts.append(o.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def code_cell(nb, starts):
    """The code cell whose source starts with `starts`."""
    found = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith(starts)]
    assert len(found) == 1, starts
    return found[0]


def no_errors(nb):
    errors = [f"{o.ename}: {o.evalue}" for o in outputs(nb) if o.output_type == "error"]
    assert errors == []
    counts = [c.execution_count for c in nb.cells if c.cell_type == "code"]
    assert counts == list(range(1, len(counts) + 1))


def last_card(cell, title):
    """The final text of the card whose text starts with `title`."""
    cards = [o["data"]["text/plain"] for o in cell.outputs
             if o.output_type in ("display_data", "update_display_data")
             and o.get("data", {}).get("text/plain", "").startswith(title)]
    assert cards, f"no card {title!r} in {cell_text(cell)[:500]}"
    return cards[-1]


def test_quickstart(kernel_bin, tmp_path):
    nb, _ = run_notebook("01-quickstart", tmp_path)
    no_errors(nb)

    prepared = cell_text(code_cell(nb, "data = %prepare"))
    assert re.search(r"train\.csv\s+398", prepared), prepared
    # training: the card ends Completed, with sensible metrics and a chart
    train = code_cell(nb, "%%train")
    card = last_card(train, "training job")
    assert "Completed" in card
    auc = float(re.search(r"validation:auc = ([0-9.]+)", card).group(1))
    assert auc > 0.95, card
    assert any("image/svg+xml" in o.get("data", {}) for o in train.outputs)
    assert "[59]#011train-auc:" in cell_text(train)  # the log streamed in

    # predictions beside the true labels: nearly all on the right side of 0.5
    table = cell_text(code_cell(nb, "%predict"))
    pairs = [line.split() for line in table.splitlines()[1:]]
    assert len(pairs) == 8
    right = sum((float(p) > 0.5) == (float(label) == 1) for label, p in pairs)
    assert right >= 7, table

    # the transform's output: the label and the prediction, one line a row
    transform = code_cell(nb, "test = %upload")
    assert "Completed" in last_card(transform, "transform job")
    preview = cell_text(transform).split("first lines:\n", 1)[1].splitlines()[:5]
    assert all(re.fullmatch(r"[01],[0-9.e-]+", line) for line in preview), preview

    # nothing of ours left running
    closing = cell_text(nb.cells[-1])
    assert "deleting endpoint sagemaker-xgboost-" in closing
    assert closing.rstrip().endswith("no endpoints")


def test_low_level(kernel_bin, tmp_path):
    nb, _ = run_notebook("04-low-level", tmp_path)
    no_errors(nb)
    created = json.loads(cell_text(code_cell(nb, "%%api sagemaker CreateTrainingJob")))
    assert created["TrainingJobArn"].endswith(":training-job/lowlevel-breast-cancer-1")
    follow = cell_text(code_cell(nb, "%logs lowlevel-breast-cancer-1 --follow"))
    assert "[59]#011train-auc:" in follow
    described = json.loads(cell_text(code_cell(nb, "%%api sagemaker DescribeTrainingJob")))
    assert described["TrainingJobStatus"] == "Completed"
    assert described["HyperParameters"]["num_round"] == "60"
    metrics = {m["MetricName"]: m["Value"] for m in described["FinalMetricDataList"]}
    assert metrics["validation:auc"] > 0.95
    summary = cell_text(code_cell(nb, "job = $_"))
    assert summary.startswith("status Completed, model at s3://")
    events = json.loads(cell_text(code_cell(nb, "%%api logs GetLogEvents")))["events"]
    assert len(events) == 5 and events[0]["message"] == "Arguments: train"


def test_batch_transform(kernel_bin, tmp_path):
    nb, _ = run_notebook("03-batch-transform", tmp_path)
    no_errors(nb)
    multi = code_cell(nb, "%transform $job --input $s3data --output ${out}/multi/")
    single = code_cell(nb, "%transform $job --input $s3data --output ${out}/single/")
    for cell in (multi, single):
        assert "Completed" in last_card(cell, "transform job")
        assert "(3 objects)" in cell_text(cell)
    # both strategies wrote the same bytes: the listings agree on sizes
    sizes = [re.findall(r"(\w+\.csv\.out)\s+([0-9.]+ \w+)", cell_text(code_cell(nb, f"%ls ${{out}}/{s}/")))
             for s in ("multi", "single")]
    assert sizes[0] == sizes[1] and len(sizes[0]) == 3
    joined = cell_text(code_cell(nb, "%transform $job --input ${s3data}test.csv --output ${out}/joined/"))
    rows = joined.split("first lines:\n", 1)[1].splitlines()[:5]
    assert all(len(r.split(",")) == 32 for r in rows), rows  # label, 30 features, prediction
    labelled = cell_text(code_cell(nb, "%transform $job --input ${s3data}test.csv --output ${out}/labelled/"))
    pairs = [r.split(",") for r in labelled.split("first lines:\n", 1)[1].splitlines()[:5]]
    assert all(len(p) == 2 and p[0] in ("0", "1") for p in pairs), pairs
    assert sum((float(p) > 0.5) == (lab == "1") for lab, p in pairs) >= 4
    assert "predictions.csv" in cell_text(nb.cells[-1])
