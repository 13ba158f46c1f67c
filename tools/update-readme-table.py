#!/usr/bin/env python3
"""Rewrite README.md's magics table (between its markers) from the table
the kernel prints with --magics-markdown, the one %help shows."""
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- magics:begin -->\n", "<!-- magics:end -->"


def main(kernel=str(ROOT / "build" / "sagemagic")):
    table = subprocess.run([kernel, "--magics-markdown"], check=True,
                           capture_output=True, text=True, timeout=10).stdout
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(head + BEGIN + table + END + tail, encoding="utf-8")


if __name__ == "__main__":
    main(*sys.argv[1:])
