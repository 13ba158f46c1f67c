"""JupyterLab in headless Chromium, for the browser tests and the README
screenshot: a `jupyter lab` server on a free 127.0.0.1 port with a token and
a root dir of its own, Debian's chromium driven by Playwright (never a
browser Playwright downloads), and the page actions a person would take:
open a notebook, Run All, wait for the kernel, read what each cell shows.

The server's environment is the caller's: the kernelspecs come from
JUPYTER_PATH (conftest.py's private one in the tests) and the kernels it
starts inherit the rest (e.g. SAGEMAGIC_LOCAL_DATA_DIR for the local
backend). Every wait is bounded; stop() leaves no process behind."""
import json
import os
import pathlib
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import nbformat
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

from conftest import ROOT, copy_notebooks
from magics_helpers import clean_env, free_port, stop_local_service
from test_magics_train import linear_rows

CHROMIUM_CANDIDATES = ("/usr/lib/chromium/chromium", "/usr/bin/chromium")


def chromium_path():
    """Debian's chromium binary ($SAGEMAGIC_CHROMIUM overrides), or None."""
    forced = os.environ.get("SAGEMAGIC_CHROMIUM")
    if forced:
        return forced
    for path in CHROMIUM_CANDIDATES:
        if os.access(path, os.X_OK):
            return path
    return shutil.which("chromium")


class Lab:
    """One `jupyter lab` serving `root`, logging to `log_path`."""

    def __init__(self, root, env, log_path):
        self.root = pathlib.Path(root)
        self.env = dict(env)
        self.log_path = pathlib.Path(log_path)
        self.port = None
        self.token = secrets.token_hex(16)
        self.proc = None

    def _write_settings(self):
        """User settings in a dir of the server's own (never the user's): no
        news toast, and every cell in the page (windowing off, so each
        cell's output is there to read)."""
        base = self.log_path.parent / "lab-settings"
        self.env["JUPYTERLAB_SETTINGS_DIR"] = str(base)
        wanted = {
            "@jupyterlab/apputils-extension/notification": {"fetchNews": "false"},
            "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
        }
        for name, values in wanted.items():
            path = base / (name + ".jupyterlab-settings")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))

    def start(self, timeout=90):
        self._write_settings()
        self.port = free_port()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
             f"--port={self.port}", "--port-retries=0",
             f"--IdentityProvider.token={self.token}",
             f"--ServerApp.root_dir={self.root}",
             "--LabApp.news_url=None", "--LabApp.extension_manager=readonly",
             "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
             # window.jupyterapp: the page's own command registry and kernel state
             "--LabApp.expose_app_in_browser=True"]
            + (["--allow-root"] if os.geteuid() == 0 else []),
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=self.env, cwd=self.root, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited {self.proc.returncode}: "
                                   f"{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.api("status"), timeout=5) as r:
                    if r.status == 200:
                        return self
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.2)
        self.stop()
        raise TimeoutError(f"jupyter lab did not answer in {timeout} s: {self.log_tail()}")

    def api(self, path):
        return f"http://127.0.0.1:{self.port}/api/{path}?token={self.token}"

    def url(self, path):
        """The page of `path` (relative to the root) in JupyterLab."""
        return f"http://127.0.0.1:{self.port}/lab/tree/{path}?token={self.token}"

    def log_tail(self, chars=3000):
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self, timeout=20):
        """Ask the server to shut down (it stops its kernels), then make sure."""
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            req = urllib.request.Request(self.api("shutdown"), method="POST")
            urllib.request.urlopen(req, timeout=5).close()
        except (OSError, urllib.error.URLError):
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


# ---- notebooks, cases and the page ------------------------------------------

ARTIFACTS = ROOT / "tests" / "artifacts" / "browser"
KERNELSPEC = {"name": "sagemagic", "display_name": "SageMaker (sagemagic)",
              "language": "sagemagic"}


def write_notebook(path, sources):
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": KERNELSPEC})
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nbformat.write(nb, str(path))


def training_notebook(root, name="training.ipynb", rounds=20, job="browser-train",
                      fail_at_end=True):
    """A small notebook that uploads data made here (fixed seeds) and trains
    XGBoost on the local backend; with `fail_at_end`, its fourth cell fails
    on purpose and the fifth must then not run."""
    (root / "train.csv").write_text(linear_rows(400, 1))
    (root / "validation.csv").write_text(linear_rows(100, 2))
    name_flag = f" --name {job}" if job else ""
    cells = [
        "train = %upload train.csv\nval = %upload validation.csv",
        f"job = %train xgboost --train $train --validation $val{name_flag} \\\n"
        f"    objective=reg:squarederror num_round={rounds} max_depth=3",
        "job",
    ]
    if fail_at_end:
        cells += ["%stop no-such-job", "%echo not reached"]
    write_notebook(root / name, cells)


def _first_line(source):
    return source.split("\n", 1)[0]


def find_cell(cells, key):
    """The code cell whose first line is `key`, else the one it starts."""
    found = [c for c in cells if _first_line(c["source"]) == key] or \
            [c for c in cells if _first_line(c["source"]).startswith(key)]
    assert len(found) == 1, f"{len(found)} cells match {key!r}"
    return found[0]


class Case:
    """One notebook opened in JupyterLab and what its cells must show after
    Run All. Cells are named by (the start of) their first line.
      make    f(root) writing the notebook and the files it reads into the
              server's root; without it the notebook is the one in
              notebooks/ (the folder is copied into the root whole)
      shows   cell -> texts its outputs show
      html    cells with rendered HTML (a table or card) in their outputs
      svg     cells with an SVG chart drawn by the browser
      errors  cells that fail (Run All stops at the first)
      stderr  cells allowed to print to stderr
      card    (cell, texts): the HTML card the cell shows, its texts, and
              its colours checked in both themes"""

    def __init__(self, name, make=None, shows=None, html=(), svg=(), errors=(),
                 stderr=(), card=None, timeout=60):
        self.name = name
        self.stem = pathlib.Path(name).stem
        self.make = make
        self.shows = shows or {}
        self.html, self.svg, self.errors = list(html), list(svg), list(errors)
        self.stderr = list(stderr)
        self.card, self.card_texts = card or (None, [])
        self.timeout = timeout

    def prepare(self, root):
        if self.make:
            self.make(root)
        assert (root / self.name).is_file(), f"no notebook {self.name}"

    def check(self, cells):
        failing = [find_cell(cells, k)["index"] for k in self.errors]
        stop = min(failing) if failing else len(cells)
        # Run All ran every cell up to the first failure, in order, and no other
        for c in cells:
            want = f"[{c['index'] + 1}]:" if c["index"] <= stop else "[ ]:"
            assert c["prompt"] == want, f"cell {c['index']} ({_first_line(c['source'])!r}) " \
                f"shows {c['prompt']!r}, not {want!r}"
        for c in cells:
            label = _first_line(c["source"])
            errored = "error" in c["types"]
            assert errored == (c["index"] in failing), \
                f"{label!r}: error shown: {errored}\n{describe(c)}"
            visible = [o for o in c["outputs"] if o["height"] > 0]
            assert len(visible) == len(c["outputs"]), f"{label!r}: an output is not drawn"
            allowed_stderr = errored or any(label.startswith(k) for k in self.stderr)
            if not allowed_stderr:
                assert not [o for o in c["outputs"] if o["mime"].endswith("stderr")], \
                    f"{label!r} shows an error or stderr\n{describe(c)}"
            if errored:  # the error is on the page, as one red-named line
                assert any(o["mime"].endswith("stderr") and o["error_name"]
                           for o in c["outputs"]), describe(c)
        for key, texts in self.shows.items():
            c = find_cell(cells, key)
            shown = "\n".join(o["text"] for o in c["outputs"])
            for text in texts:
                assert text in shown, f"{key!r} does not show {text!r}\n{describe(c)}"
        for key in self.html:
            c = find_cell(cells, key)
            assert any(o["mime"] == "text/html" and o["elements"] >= 3
                       for o in c["outputs"]), f"{key!r}: no HTML drawn\n{describe(c)}"
        for key in self.svg:
            c = find_cell(cells, key)
            charts = [o["svg"] for o in c["outputs"] if o["svg"]]
            assert charts, f"{key!r}: no SVG chart\n{describe(c)}"
            for chart in charts:
                assert chart["root"] == "svg" and not chart["parse_error"], chart
                # a line chart (metrics per round) or a bar chart (the
                # objective by tuning job; its frame is no rect)
                assert chart["drawn"] and (chart["polylines"] >= 1 or chart["bars"] >= 1), chart


def describe(cell):
    return "\n".join(f"  [{o['mime']}] {o['text'][:300]!r}" for o in cell["outputs"])


# The code cells as the page shows them: prompt, output types from the
# notebook's model, and each output's rendering (mime type, visible text,
# size, SVG decoded from the <img> JupyterLab draws it with).
CELLS_JS = """() => {
  const nb = window.jupyterapp.shell.currentWidget;
  const code = nb.content.widgets.filter(c => c.model.type === 'code');
  return code.map((c, index) => ({
    index,
    source: c.model.sharedModel.getSource(),
    prompt: c.node.querySelector('.jp-InputPrompt').textContent.trim(),
    types: c.model.outputs.toJSON().map(o => o.output_type),
    outputs: Array.from(c.node.querySelectorAll('.jp-OutputArea-output')).map(o => {
      let svg = null;
      const img = o.querySelector('img');
      if (o.dataset.mimeType === 'image/svg+xml' && img) {
        const src = img.getAttribute('src') || '', prefix = 'data:image/svg+xml,';
        const doc = src.startsWith(prefix) ? new DOMParser().parseFromString(
          decodeURIComponent(src.slice(prefix.length)), 'image/svg+xml') : null;
        svg = {drawn: img.complete && img.naturalWidth > 0,
               root: doc ? doc.documentElement.localName : null,
               parse_error: !doc || doc.getElementsByTagName('parsererror').length > 0,
               polylines: doc ? doc.getElementsByTagName('polyline').length : 0,
               bars: doc ? doc.getElementsByTagName('rect').length : 0};
      }
      return {mime: o.dataset.mimeType || '', text: o.innerText,
              elements: o.querySelectorAll('*').length,
              height: o.getBoundingClientRect().height,
              error_name: !!o.querySelector('.ansi-red-fg'), svg};
    }),
  }));
}"""

# True once the notebook at `path` is current and its kernel is idle;
# with `ran`, also once Run All is over: the first cell has its number,
# no cell waits (`[*]`) and every image is decoded.
READY_JS = """([path, ran]) => {
  const app = window.jupyterapp;
  const nb = app && app.shell.currentWidget;
  if (!nb || !nb.context || nb.context.path !== path || !nb.sessionContext) return false;
  const session = nb.sessionContext.session;
  if (!session || !session.kernel || session.kernel.status !== 'idle') return false;
  if (!ran) return true;
  const prompts = Array.from(nb.content.node.querySelectorAll('.jp-CodeCell .jp-InputPrompt'))
    .map(p => p.textContent);
  if (!prompts.length || !/\\d/.test(prompts[0]) || prompts.some(p => p.includes('*')))
    return false;
  return Array.from(nb.content.node.querySelectorAll('.jp-OutputArea-output img'))
    .every(img => img.complete);
}"""


class NotebookPage:
    """One notebook open in its own browser page."""

    def __init__(self, session, name, viewport=(1280, 900)):
        self.name = name
        self.page = session.browser.new_page(
            viewport={"width": viewport[0], "height": viewport[1]})
        self.page.set_default_timeout(30_000)
        # ?reset: a fresh workspace, so only this notebook opens
        self.page.goto(session.lab.url(name) + "&reset")
        self.page.wait_for_function(READY_JS, arg=[name, False], timeout=90_000,
                                    polling=200)

    def run_all(self, timeout=60, wait=True):
        """Run > Run All Cells, as a person would; the cells once it is over
        (with `wait`)."""
        self.page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        self.page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
        return self.wait_ran(timeout) if wait else None

    def wait_ran(self, timeout=60):
        """The cells, once the kernel is idle with no cell left to run and
        the images have had a bounded while to be decoded."""
        self.page.wait_for_function(READY_JS, arg=[self.name, True],
                                    timeout=timeout * 1000, polling=250)
        # the page settles: idle again after a moment, so a prompt caught
        # between a reply and its redraw is not read
        self.page.wait_for_timeout(500)
        self.page.wait_for_function(READY_JS, arg=[self.name, True],
                                    timeout=timeout * 1000, polling=250)
        try:
            self.page.wait_for_function(
                "() => Array.from(document.querySelectorAll('.jp-OutputArea-output img'))"
                ".every(img => img.complete && img.naturalWidth > 0)",
                timeout=10_000, polling=100)
        except PlaywrightTimeout:
            pass  # the cells then say which image was not drawn
        return self.cells()

    def interrupt(self):
        """The toolbar's stop button."""
        self.page.locator('.jp-NotebookPanel-toolbar [data-command="notebook:interrupt-kernel"]')\
            .first.click()

    def cells(self):
        return self.page.evaluate(CELLS_JS)

    def _cell(self, key):
        index = find_cell(self.cells(), key)["index"]
        return self.page.locator(".jp-Notebook .jp-CodeCell").nth(index)

    def card_style(self, key, shot=None):
        """The text and the computed text and background colours of the
        HTML card `key` shows; a screenshot of it to `shot`."""
        card = self._cell(key).locator(
            '.jp-OutputArea-output[data-mime-type="text/html"] > div').first
        card.scroll_into_view_if_needed()
        if shot:
            shot.parent.mkdir(parents=True, exist_ok=True)
            card.screenshot(path=str(shot))
        return card.evaluate("e => { const s = getComputedStyle(e); "
                             "return {color: s.color, background: s.backgroundColor, "
                             "text: e.innerText}; }")

    def screenshot_cell(self, key, shot, mime=None):
        """A screenshot of cell `key`, or of its first output of type `mime`
        (it must fit in the viewport: the notebook scrolls inside the page)."""
        shot.parent.mkdir(parents=True, exist_ok=True)
        target = self._cell(key)
        if mime:
            target = target.locator(f'.jp-OutputArea-output[data-mime-type="{mime}"]').first
        target.scroll_into_view_if_needed()
        target.screenshot(path=str(shot))

    def set_theme(self, theme):
        """Settings > Theme, through the command the menu runs; waits until
        the theme's own CSS variables apply."""
        var = "() => getComputedStyle(document.body).getPropertyValue('--jp-layout-color1')"
        before = self.page.evaluate(var)
        self.page.evaluate("t => window.jupyterapp.commands.execute("
                           "'apputils:change-theme', {theme: t})", theme)
        self.page.wait_for_function(
            "([t, before]) => document.body.dataset.jpThemeName === t && "
            "getComputedStyle(document.body).getPropertyValue('--jp-layout-color1') !== before"
            " && !document.getElementById('jupyterlab-splash')",
            arg=[theme, before], timeout=30_000, polling=100)

    def screenshot(self, shot):
        """The whole page, as it is now (e.g. when a check failed)."""
        shot.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(shot))

    def close(self):
        self.page.close()


class LabSession:
    """A root dir with the cases' notebooks, JupyterLab serving it with the
    local backend's data dir set for its kernels, and headless chromium.
    A context manager: everything it started is stopped on exit, and the
    server's log copied to `keep_log` when given."""

    def __init__(self, base, cases, keep_log=None):
        base = pathlib.Path(base)
        self.keep_log = keep_log
        root = base / "root"
        copy_notebooks(root)
        for case in cases:
            case.prepare(root)
        self.data_dir = base / "local-data"
        env = clean_env(base / "home", SAGEMAGIC_LOCAL_DATA_DIR=str(self.data_dir))
        self.lab = Lab(root, env, base / "lab.log")
        self._playwright = None
        self.browser = None

    def __enter__(self):
        try:
            self.lab.start()
            self._playwright = sync_playwright().start()
            self.browser = self._playwright.chromium.launch(
                executable_path=chromium_path(), headless=True)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def open(self, name, viewport=(1280, 900)):
        return NotebookPage(self, name, viewport)

    def __exit__(self, *exc):
        try:
            if self.browser is not None:
                self.browser.close()
            if self._playwright is not None:
                self._playwright.stop()
        finally:
            self.lab.stop()
            stop_local_service(self.data_dir)
            if self.keep_log and self.lab.log_path.exists():
                self.keep_log.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(self.lab.log_path, self.keep_log)
