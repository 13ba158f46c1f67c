#!/usr/bin/env python3
"""Run a notebook headless with the installed sagemagic kernel, write the
executed notebook and an HTML export under build/demo/, print a summary."""
import pathlib
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbconvert import HTMLExporter


def summary_of(cell):
    lines = []
    for out in cell.get("outputs", []):
        kind = out["output_type"]
        if kind == "stream":
            lines.append(out["text"].rstrip())
        elif kind in ("execute_result", "display_data"):
            text = out.get("data", {}).get("text/plain", "")
            lines.append(text.rstrip())
        elif kind == "error":
            lines.append(f"ERROR {out['ename']}: {out['evalue']}")
    return "\n".join(lines)


def last_card(cell, title):
    """The final text of a card (display_data updated in place) in `cell`."""
    found = [o["data"]["text/plain"] for o in cell.get("outputs", [])
             if o["output_type"] in ("display_data", "update_display_data")
             and o.get("data", {}).get("text/plain", "").startswith(title)]
    return found[-1] if found else ""


def summary(nb):
    """The job, its final metrics, a prediction and what is left running,
    read from the quickstart's cells (empty for other notebooks)."""
    lines = []
    for cell in nb.cells:
        src = cell.source if cell.cell_type == "code" else ""
        if src.startswith("%%train"):
            card = last_card(cell, "training job").splitlines()
            lines += [card[0]] if card else []
            lines += ["metric " + l.split()[-3] + " = " + l.split()[-1]
                      for l in card if " = " in l and ":" in l]
        elif src.startswith("%predict"):
            table = summary_of(cell).splitlines()
            lines += ["prediction: " + " | ".join(" ".join(r.split()) for r in table[:2])]
    if lines:
        last = summary_of(nb.cells[-1]).splitlines()
        lines.append("at the end: " + (last[-1] if last else "?"))
        lines.append("the local service keeps running for the next notebook; "
                     "~/.local/bin/sagemagic-local stop stops it")
    return lines


def main(path):
    src = pathlib.Path(path)
    out_dir = pathlib.Path("build/demo")
    out_dir.mkdir(parents=True, exist_ok=True)
    nb = nbformat.read(src, as_version=4)
    client = NotebookClient(nb, kernel_name="sagemagic", timeout=600,
                            resources={"metadata": {"path": str(src.parent)}})
    start = time.monotonic()
    failed = None
    try:
        client.execute()
    except CellExecutionError as e:
        failed = e
    elapsed = time.monotonic() - start
    executed = out_dir / src.name
    nbformat.write(nb, executed)
    html, _ = HTMLExporter().from_notebook_node(nb)
    (out_dir / (src.stem + ".html")).write_text(html, encoding="utf-8")
    print(f"ran {src} in {elapsed:.1f} s with the sagemagic kernel")
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        first = cell.source.splitlines()[0] if cell.source else ""
        print(f"\n[{cell.get('execution_count')}] {first}")
        text = summary_of(cell)
        if text:
            print("    " + text.replace("\n", "\n    ")[:800])
    headline = summary(nb)
    if headline:
        print("\nsummary")
        print("    " + "\n    ".join(headline))
    print(f"\nexecuted notebook: {executed}")
    print(f"HTML export:       {out_dir / (src.stem + '.html')}")
    if failed:
        print("\nthe notebook stopped at an error:", str(failed).splitlines()[-1])
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "notebooks/01-quickstart.ipynb"))
