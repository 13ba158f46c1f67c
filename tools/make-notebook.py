#!/usr/bin/env python3
"""Write a notebook from a compact text form: cells separated by lines
'--- markdown' or '--- code'. Keeps the tutorials reviewable as plain text.

    tools/make-notebook.py notebooks/src/00-basics.txt notebooks/00-basics.ipynb
"""
import json
import sys


def parse(text):
    cells, kind, lines = [], None, []
    for line in text.splitlines():
        if line.startswith("--- "):
            if kind:
                cells.append((kind, "\n".join(lines).strip("\n")))
            kind, lines = line[4:].strip(), []
        else:
            lines.append(line)
    if kind:
        cells.append((kind, "\n".join(lines).strip("\n")))
    return cells


def notebook(cells):
    out = []
    for kind, source in cells:
        cell = {"cell_type": kind, "metadata": {}, "source": source}
        if kind == "code":
            cell.update(execution_count=None, outputs=[])
        out.append(cell)
    return {
        "cells": out,
        "metadata": {
            "kernelspec": {"name": "sagemagic", "display_name": "SageMaker (sagemagic)",
                           "language": "sagemagic"},
            "language_info": {"name": "sagemagic", "file_extension": ".sagemagic",
                              "mimetype": "text/x-sagemagic"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


if __name__ == "__main__":
    src, dst = sys.argv[1], sys.argv[2]
    nb = notebook(parse(open(src, encoding="utf-8").read()))
    for i, cell in enumerate(nb["cells"]):
        cell["id"] = f"cell-{i:02d}"
    with open(dst, "w", encoding="utf-8") as f:
        json.dump(nb, f, indent=1, ensure_ascii=False)
        f.write("\n")
