"""Notebooks run headless through nbclient with the "sagemagic" kernel, as
`jupyter nbconvert --execute` and papermill would run them."""
import os

import nbformat
import psutil
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbformat.v4 import new_code_cell, new_notebook

from conftest import ROOT

pytestmark = pytest.mark.timeout(120)

BASICS = ROOT / "tests" / "data" / "magics-basics.ipynb"


def kernel_children():
    """Running sagemagic kernels started by this test process."""
    found = []
    for p in psutil.Process().children(recursive=True):
        try:
            running = p.status() != psutil.STATUS_ZOMBIE
            if running and os.path.basename(p.cmdline()[0]) == "sagemagic":
                found.append(p.pid)
        except (psutil.NoSuchProcess, IndexError):
            pass
    return found


def execute(nb, tmp_path):
    """Run `nb` in place; nbclient starts and shuts down its own kernel."""
    before = kernel_children()
    client = NotebookClient(
        nb,
        kernel_name="sagemagic",
        timeout=30,
        startup_timeout=30,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    try:
        client.execute()
    finally:
        assert kernel_children() == before, "the notebook's kernel outlived it"
    return nb


def only(outputs, output_type):
    """The single output of `output_type`, checking there is no other."""
    assert [o["output_type"] for o in outputs] == [output_type], outputs
    return outputs[0]


def test_basics_notebook(kernel_bin, tmp_path):
    nb = execute(nbformat.read(BASICS, as_version=4), tmp_path)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1))
    out = [c.outputs for c in code]

    # %config key=value: the settings as a table, in text and HTML
    result = only(out[0], "execute_result")
    text = result["data"]["text/plain"]
    assert "region" in text and "eu-west-1" in text and "local" in text
    assert "<table" in result["data"]["text/html"]
    assert result["execution_count"] == 1

    # NAME = %magic binds its result; ${NAME.field} reads into it
    assert only(out[1], "execute_result")["data"]["text/plain"] == "eu-west-1"

    # $NAME and ${NAME.field} expand in a magic's arguments
    stream = only(out[2], "stream")
    assert (stream["name"], stream["text"]) == ("stdout", "training xgboost in eu-west-1\n")

    stream = only(out[3], "stream")
    assert (stream["name"], stream["text"]) == ("stderr", "just a warning\n")

    # %help: the magics as a table
    data = only(out[4], "display_data")["data"]
    for magic in ("%help", "%config", "%vars", "%echo", "%sleep", "%clear"):
        assert magic in data["text/plain"]
    assert "<table" in data["text/html"]

    # %help echo: one magic's usage, flags and example
    text = only(out[5], "display_data")["data"]["text/plain"]
    assert text.startswith("%echo [-e] [-n] WORDS...")
    assert "--stderr" in text and "Example:" in text

    # %vars lists the variables bound so far
    data = only(out[6], "display_data")["data"]
    rows = {line.split()[0]: line.split(None, 1)[1] for line in data["text/plain"].splitlines()[1:]
            if len(line.split()) > 1}
    assert rows["model"] == "xgboost"
    assert "settings" in rows
    assert "<td" in data["text/html"] and "xgboost" in data["text/html"]

    # a bare NAME is the cell's result
    assert only(out[7], "execute_result")["data"]["text/plain"] == "xgboost"

    # $$ is a literal dollar
    assert only(out[8], "execute_result")["data"]["text/plain"] == "$5"


def test_failing_cell_stops_the_notebook(kernel_bin, tmp_path):
    nb = new_notebook(
        cells=[
            new_code_cell("%echo before"),
            new_code_cell("%config region=eu-west-1\n%nosuchmagic --flag\n%echo not this line"),
            new_code_cell("%echo never"),
        ],
        metadata={"kernelspec": {"name": "sagemagic", "display_name": "sagemagic",
                                 "language": "sagemagic"}},
    )
    with pytest.raises(CellExecutionError) as failure:
        execute(nb, tmp_path)
    error = failure.value
    assert error.ename == "UsageError"
    assert "unknown magic %nosuchmagic" in error.evalue
    assert "nosuchmagic" in str(error)

    first, failed, after = nb.cells
    assert only(first.outputs, "stream")["text"] == "before\n"
    err = only(failed.outputs, "error")
    assert err["ename"] == "UsageError"
    assert err["evalue"].startswith("unknown magic %nosuchmagic")
    assert after.execution_count is None and after.outputs == []


def test_basics_notebook_source_is_unexecuted():
    """The checked-in notebook carries no outputs, so the test sees only
    what the kernel produced."""
    nb = nbformat.read(BASICS, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "sagemagic"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
