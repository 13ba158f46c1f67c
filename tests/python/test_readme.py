"""The README's magics table is the one the kernel's %help prints."""
import pathlib
import subprocess

from conftest import KERNEL_BIN, ROOT


def test_readme_magics_table_matches_kernel():
    generated = subprocess.run([KERNEL_BIN, "--magics-markdown"], check=True,
                               capture_output=True, text=True, timeout=10).stdout
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    begin, end = "<!-- magics:begin -->\n", "<!-- magics:end -->"
    assert begin in readme and end in readme
    table = readme.split(begin, 1)[1].split(end, 1)[0]
    assert table == generated, "regenerate the README table: tools/update-readme-table.py"


def test_every_notebook_source_is_built():
    """Each notebooks/src/*.txt has its notebook, up to date."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("make_notebook", ROOT / "tools" / "make-notebook.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    import json
    for src in sorted((ROOT / "notebooks" / "src").glob("*.txt")):
        nb_path = ROOT / "notebooks" / (src.stem + ".ipynb")
        assert nb_path.exists(), f"missing {nb_path}"
        want = mod.notebook(mod.parse(src.read_text(encoding="utf-8")))
        have = json.loads(nb_path.read_text(encoding="utf-8"))
        assert [c["source"] for c in have["cells"]] == [c["source"] for c in want["cells"]], \
            f"rebuild {nb_path} with tools/make-notebook.py"
