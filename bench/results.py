"""results: one generated section of bench/RESULTS.md, between its own
markers, rewritten in place (or appended when the markers are not there
yet), leaving every other section as it is."""
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def write_section(text, begin, end, path=RESULTS):
    """Put `text` (which starts with `begin` and ends with `end`) in place
    of the section between those markers in `path`."""
    old = path.read_text() if path.exists() else ""
    if begin in old and end in old:
        head, rest = old.split(begin, 1)
        tail = rest.split(end, 1)[1].lstrip("\n")
        new = head + text + ("\n" + tail if tail else "")
    else:
        new = old.rstrip("\n") + ("\n\n" if old else "") + text
    path.write_text(new)
