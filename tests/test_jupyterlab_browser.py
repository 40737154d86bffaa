"""The notebooks as a student opens them: JupyterLab itself, driven by Debian's Chromium.

The notebooks a student or reader opens outside the HTML book are the builds' plain copies
(OUT/_build/notebooks, written by teacher/plain_notebooks.py; the download buttons, the Colab
buttons and ``python3 tasks.py notebooks`` all hand out these). This test starts a JupyterLab
server (the one requirements.txt installs, nothing added) on both editions' copies, opens
every notebook in Chromium as a student would, keeps a screenshot of the top of each
(``<basetemp>/jupyterlab/<edition>-<page>.png``, uploaded by CI), and fails on any of:

* **raw MyST** in a rendered Markdown cell: a role (``{glue:text}``, ``{doc}``...), a directive
  fence (```` ```{exercise} ````, ``:::{admonition}``), a target (``(label)=``);
* **a Markdown cell left unrendered** (JupyterLab shows its source instead);
* **visible bookkeeping**: a code cell whose source is on show and glues a number, checks the
  prose, or is marked as the page's bookkeeping;
* **a dialog** the student must answer before reading (JupyterLab asks "Select Kernel" of a
  notebook that names none);
* **a console error** in the page.

The CI log gets one ``[jupyterlab]`` line per edition with the counts.
``test_jupyterlab_checks_catch_problems`` proves each check can fail on a notebook built to
fail them (the book's own MyST source, opened as it is).
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import after_build
from test_book import BROWSER_TURN, CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parent.parent

# What raw MyST looks like once JupyterLab has rendered the Markdown (code excluded).
RAW_MYST = re.compile(r"\{[a-z][\w-]*(?::[\w-]+)?\}|`{3,}\{|:{3,}\{|^\([\w-]+\)=\s*$",
                      re.MULTILINE)
# A code cell that is the page's bookkeeping, not the reader's code.
BOOKKEEPING = re.compile(r"\bglue\(|^# @title|The page's bookkeeping|glue_reading_time",
                         re.MULTILINE)

# Per notebook: the rendered Markdown's text (maths and code left out), the Markdown cells
# not rendered, and the source of every code cell whose input is on show.
JS_INSPECT = """() => {
    const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
    if (!panel) return {error: 'no notebook panel'};
    const markdown = [], unrendered = [], visible = [];
    for (const cell of panel.querySelectorAll('.jp-Cell')) {
        if (cell.classList.contains('jp-MarkdownCell')) {
            const out = cell.querySelector('.jp-RenderedMarkdown');
            if (!out || cell.classList.contains('jp-mod-editing') ||
                !cell.classList.contains('jp-mod-rendered')) {
                unrendered.push((cell.innerText || '').slice(0, 120));
                continue;
            }
            // a directive's fence renders as a code block whose language is "{name}"
            for (const code of out.querySelectorAll('pre code'))
                for (const c of code.classList)
                    if (c.startsWith('language-{')) markdown.push('```' + c.slice(9));
            const copy = out.cloneNode(true);
            copy.querySelectorAll('mjx-container, .MathJax, script, code, pre')
                .forEach(e => e.remove());
            markdown.push(copy.textContent);
        } else if (cell.classList.contains('jp-CodeCell')) {
            const input = cell.querySelector('.jp-InputArea');
            const editor = cell.querySelector('.jp-InputArea .cm-content');
            const hidden = !input || input.offsetParent === null ||
                cell.querySelector('.jp-InputPlaceholder') !== null;
            if (!hidden && editor) visible.push(editor.innerText);
        }
    }
    return {markdown, unrendered, visible,
            cells: panel.querySelectorAll('.jp-Cell').length};
}"""


# The notebook's kernel is idle (the status bar says so), or a dialog waits for an answer.
JS_SETTLED = """() => !!document.querySelector('.jp-Dialog') ||
    /\\|\\s*Idle/.test((document.querySelector('.jp-StatusBar-Widget, #jp-main-statusbar')
                        || {}).innerText || '')"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _settings(folder: Path) -> Path:
    """JupyterLab user settings for the test: every cell rendered at once (no windowing, so
    the whole notebook is in the page to inspect), no news or update checks (offline)."""
    settings = folder / "user-settings"
    (settings / "@jupyterlab" / "notebook-extension").mkdir(parents=True)
    (settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings").write_text(
        json.dumps({"windowingMode": "none"}))
    (settings / "@jupyterlab" / "apputils-extension").mkdir(parents=True)
    (settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
     ).write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    return settings


class JupyterLab:
    """A JupyterLab server on ``root``, on 127.0.0.1, without a token."""

    def __init__(self, root: Path, folder: Path):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1",
                   JUPYTER_RUNTIME_DIR=str(folder / "runtime"))
        self.log_path = folder / "jupyterlab.log"
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={self.port}",
             "--ServerApp.ip=127.0.0.1", "--IdentityProvider.token=", "--ServerApp.password=",
             "--ServerApp.disable_check_xsrf=True",
             f"--ServerApp.root_dir={root}", f"--LabApp.user_settings_dir={_settings(folder)}",
             f"--LabApp.workspaces_dir={folder / 'workspaces'}",
             "--LabApp.news_url=None", "--ServerApp.open_browser=False",
             *(["--allow-root"] if os.geteuid() == 0 else [])],
            cwd=root, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with {self.proc.returncode}:\n"
                                   + self.log_path.read_text()[-3000:])
            try:
                urllib.request.urlopen(f"{self.url}/api/status", timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("jupyter lab did not start within 60 s:\n"
                                       + self.log_path.read_text()[-3000:]) from None
                time.sleep(0.5)

    def stop_kernels(self) -> None:
        """Every session this test's page opened (a kernel per notebook) is shut down."""
        sessions = json.loads(urllib.request.urlopen(f"{self.url}/api/sessions").read())
        for session in sessions:
            urllib.request.urlopen(urllib.request.Request(
                f"{self.url}/api/sessions/{session['id']}", method="DELETE")).read()

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self._log.close()


def _need_browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: install Debian's Chromium (apt-get install -y "
                    "chromium, done by `python3 tasks.py test` as root) or set BOOK_CHROMIUM")
    for module in ("playwright", "jupyterlab"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed (pip install -r requirements.txt)")


def inspect_notebooks(lab: JupyterLab, paths: list[str], shots: Path, profile: Path) -> dict:
    """Open each notebook (a path under the server's root) in JupyterLab as a student does:
    JupyterLab loaded once per folder, then a double click in its file browser per notebook,
    and its tab closed after. Returns {path: findings}."""
    from playwright.sync_api import sync_playwright

    found, folders = {}, {}
    for path in paths:
        folders.setdefault(path.rpartition("/")[0], []).append(path)
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900})
        # nothing leaves the machine
        ctx.route(re.compile(r"^(?!https?://127\.0\.0\.1[:/]).*"), lambda route: route.abort())
        ctx.set_default_timeout(60_000)
        try:
            for folder, inside in folders.items():
                errors: list[str] = []
                page = ctx.new_page()
                page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
                where = f"tree/{folder}" if folder else ""
                page.goto(f"{lab.url}/lab/{where}?reset", wait_until="domcontentloaded")
                page.wait_for_selector(".jp-DirListing-item")
                for path in inside:
                    errors.clear()
                    name = path.rpartition("/")[2]
                    page.locator(f".jp-DirListing-item[title^='Name: {name}']").dblclick()
                    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
                    panel.locator(".jp-Cell").first.wait_for()
                    # every Markdown cell rendered
                    page.wait_for_function(
                        "() => { const p = document.querySelector("
                        "'.jp-NotebookPanel:not(.lm-mod-hidden)'); return p && "
                        "p.querySelectorAll('.jp-MarkdownCell').length === "
                        "p.querySelectorAll('.jp-MarkdownCell .jp-RenderedMarkdown').length; }")
                    # the kernel is up, or JupyterLab asks something first
                    page.wait_for_function(JS_SETTLED, timeout=30_000)
                    page.wait_for_timeout(300)       # MathJax typesets
                    result = page.evaluate(JS_INSPECT)
                    # a dialog a student must answer before reading (e.g. "Select Kernel")
                    result["dialogs"] = [d.inner_text().split("\n")[0] for d in
                                         page.locator(".jp-Dialog").all() if d.is_visible()]
                    shot = path.replace("/book/", "-").replace("/", "-").removesuffix(".ipynb")
                    page.screenshot(path=str(shots / f"{shot}.png"))
                    result["errors"] = list(errors)
                    found[path] = result
                    while page.locator(".jp-Dialog").count():          # reported: now go
                        page.keyboard.press("Escape")
                        page.wait_for_timeout(200)
                    page.locator(".jp-mod-current .lm-TabBar-tabCloseIcon").first.click()
                    discard = page.locator(".jp-Dialog button", has_text="Discard")
                    try:                      # "Save your work?": nothing was typed
                        discard.click(timeout=1500)
                    except Exception:         # noqa: BLE001 - no dialog: closed at once
                        pass
                    page.wait_for_function("() => !document.querySelector("
                                           "'.jp-NotebookPanel:not(.lm-mod-hidden)')")
                page.close()
        finally:
            ctx.close()
    return found


def problems(result: dict) -> dict[str, list[str]]:
    raw = [m.group(0) for text in result.get("markdown", []) for m in RAW_MYST.finditer(text)]
    shown = [src.splitlines()[0][:80] if src.strip() else "(empty)"
             for src in result.get("visible", []) if BOOKKEEPING.search(src)]
    return {"raw MyST": raw, "unrendered Markdown": result.get("unrendered", []),
            "visible bookkeeping": shown, "console errors": result.get("errors", []),
            "dialogs": result.get("dialogs", []),
            "page": [result["error"]] if "error" in result else []}


@after_build("teacher", "student")
def jupyterlab_inspection(teacher_build, student_build, tmp_path_factory):
    """Both editions' plain notebooks under one folder (reader/book/..., student/book/...),
    each opened in JupyterLab: in the background as soon as the builds are done, beside the
    other jobs. Returns ({path: findings}, seconds, the screenshots' folder)."""
    from test_book import require_ok
    _need_browser()
    root = tmp_path_factory.mktemp("lab-root")
    for edition, build in (("reader", teacher_build), ("student", student_build)):
        require_ok(build)
        shutil.copytree(build.build_dir / "notebooks", root / edition)
    folder = tmp_path_factory.mktemp("jupyterlab")
    shots = Path(tmp_path_factory.getbasetemp()) / "jupyterlab"
    paths = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.ipynb")
                   if ".ipynb_checkpoints" not in p.parts)
    with BROWSER_TURN:
        lab = JupyterLab(root, folder)
        try:
            t0 = time.monotonic()
            found = inspect_notebooks(lab, paths, shots, folder / "profile")
            seconds = time.monotonic() - t0
            lab.stop_kernels()
        finally:
            lab.close()
    return found, seconds, shots


def test_every_notebook_reads_like_its_page_in_jupyterlab(jupyterlab_inspection, capsys):
    found, seconds, shots = jupyterlab_inspection
    assert len(found) >= 16, sorted(found)
    report, failures = [], []
    for edition in ("reader", "student"):
        counts = {}
        for path, result in found.items():
            if not path.startswith(f"{edition}/"):
                continue
            for kind, items in problems(result).items():
                counts[kind] = counts.get(kind, 0) + len(items)
                failures += [f"{path}: {kind}: {item}" for item in items[:5]]
        notebooks = sum(p.startswith(f"{edition}/") for p in found)
        assert notebooks >= 8, f"{edition}: {notebooks} notebooks opened"
        report.append(f"[jupyterlab] {edition}: {notebooks} notebooks, "
                      + ", ".join(f"{n} {kind}" for kind, n in counts.items()))
    with capsys.disabled():
        print("\n" + "\n".join(report) + f"\n[jupyterlab] {len(found)} notebooks opened in "
              f"{seconds:.0f} s; screenshots in {shots}")
    assert not failures, "\n".join(failures[:40])


def test_jupyterlab_checks_catch_problems(tmp_path_factory):
    """The book's MyST source, opened as it is, fails the checks for raw roles and fences and
    for visible bookkeeping; a notebook that names no kernel fails the dialog check."""
    _need_browser()
    import nbformat
    folder = tmp_path_factory.mktemp("jupyterlab-canary")
    root = folder / "root"
    root.mkdir()
    nb = nbformat.read(ROOT / "book" / "05_exercises.ipynb", as_version=4)
    nb.cells = nb.cells[:12]
    nbformat.write(nb, root / "raw.ipynb")
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# No kernel")]),
                   root / "nokernel.ipynb")             # JupyterLab asks which kernel
    lab = JupyterLab(root, folder)
    try:
        results = inspect_notebooks(lab, ["nokernel.ipynb", "raw.ipynb"], folder / "shots",
                                    folder / "profile")
        lab.stop_kernels()
    finally:
        lab.close()
    assert any("Kernel" in d for d in problems(results["nokernel.ipynb"])["dialogs"]), results
    found = problems(results["raw.ipynb"])
    assert any("{glue:text}" in r for r in found["raw MyST"]), found
    assert any(r.startswith("````{") or r.startswith("```{") for r in found["raw MyST"]), found
    assert found["visible bookkeeping"], found
    assert not found["page"], found
