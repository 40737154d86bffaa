"""The book as CI builds it: each edition built once, every notebook executed once.

* ``teacher_build`` / ``student_build`` (tests/conftest.py) build each edition once per session
  with ``jupyter-book build SOURCE -W -n --keep-going`` from scratch, exactly as
  ``python3 tasks.py book`` does. ``test_*_book_builds_without_warnings`` fails on any warning
  (a failing cell, a broken reference, a missing glue key) and checks that every notebook of
  ``_toc.yml`` was executed exactly once.
* ``test_*_notebook_runs_clean`` (one per notebook and edition) reads the executed copy of the
  notebook and fails on every cell that raised without a ``raises-exception`` tag, showing the
  cell's source and traceback, and on cells the execution never reached.
* The browser tests (marker ``browser``) serve the teacher's HTML with ``python -m http.server``
  on 127.0.0.1 and drive Debian's Chromium through Playwright. Each page in ``_toc.yml`` is
  visited once; the visit records the HTTP status, every request, every console error,
  the images, the glued values, the matplotlib animations and the widget views, and one test
  per property asserts on the record.
* What a page is expected to contain is detected, not hard-coded, so the checks follow the
  content as it is written:
    - glue: the page source uses the ``{glue:text}`` role -> myst-nb renders
      ``<span class="pasted-text">`` which must be present and non-empty;
    - animation: the built page contains the markup of
      ``matplotlib.animation.Animation.to_jshtml()`` (``<div class="animation">`` with an
      ``<img id="_anim_img...">``, a ``input.anim-slider`` and buttons titled "First frame" /
      "Next frame") -> stepping it must change the displayed frame;
    - widgets: the executed notebook displayed a widget (output mimetype
      ``application/vnd.jupyter.widget-view+json``) or the page carries a widget view script ->
      the html-manager must render a ``.widget-subarea`` holding a ``.jupyter-widgets``
      element for every view whose model is in the saved widget state.
* The canary book (a two-page book in a temporary folder, with the real ``_config.yml`` and
  widget JavaScript) proves the checks can fail: its good page has a widget, a tqdm bar, glue
  and an animation and must pass every check; its bad page has an external stylesheet, a
  missing image, a console error and, last, a cell that raises, and must fail the
  corresponding checks, the notebook check included.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import pytest

import tasks
from conftest import ANSI, BookBuild, after_build, build_book, early

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path(os.environ.get("BOOK_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
LOCAL_HOST = "127.0.0.1"

# No console error is allowed: sphinx-thebe's double THEBE_JS_URL, the theme-mode warning and
# the favicon's 404 were fixed in the book's configuration (issue 23).
ALLOWED_CONSOLE_ERRORS: list = []
ALLOWED_MISSING_PATHS: set = set()

WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"
GLUE_TEXT_ROLE = re.compile(r"\{glue:text\}`[^`]+`")


# ----------------------------------------------------------------------------- the book
def toc_docnames(toc_file: Path = ROOT / "_toc.yml") -> list[str]:
    """Every document of the book, in reading order: root, then parts/chapters/sections."""
    from sphinx_external_toc.parsing import parse_toc_yaml

    return list(parse_toc_yaml(toc_file))


def source_of(docname: str, root: Path = ROOT) -> Path:
    for suffix in (".ipynb", ".md"):
        path = root / f"{docname}{suffix}"
        if path.exists():
            return path
    raise FileNotFoundError(f"no source for toc entry {docname!r} under {root}")


def markdown_text(path: Path) -> str:
    """The prose of a page: markdown cells of a notebook, or a markdown file, without code."""
    if path.suffix == ".ipynb":
        nb = json.loads(path.read_text())
        text = "\n\n".join("".join(c["source"]) if isinstance(c["source"], list) else c["source"]
                           for c in nb["cells"] if c["cell_type"] == "markdown")
    else:
        text = path.read_text()
    return strip_literal_code(text)


FENCE = re.compile(r"^\s*(`{3,}|~{3,})\s*(.*?)\s*$")


def strip_literal_code(text: str) -> str:
    """Drop literal code, where a role is only shown, not used: fenced code blocks (```python,
    ~~~, ...) but not MyST directives (```{exercise} ... keeps its markup), and
    double-backtick inline code."""
    out, directives, literal = [], [], None
    for line in text.splitlines():
        m = FENCE.match(line)
        if literal is not None:
            if m and m.group(1)[0] == literal[0] and len(m.group(1)) >= len(literal) \
                    and not m.group(2):
                literal = None
            continue
        if m:
            fence, info = m.groups()
            if not info and directives and fence[0] == directives[-1][0] \
                    and len(fence) >= len(directives[-1]):
                directives.pop()          # closes a directive
            elif info.startswith("{"):
                directives.append(fence)  # opens a directive: its body is markup
            else:
                literal = fence           # opens literal code
                continue
        out.append(line)
    return re.sub(r"``.+?``", "", "\n".join(out))


def expected_glue_count(docname: str, root: Path = ROOT) -> int:
    """The {glue:text} roles the page renders: none inside an HTML comment (the reader's
    edition's ``<!-- student-edition ... -->`` blocks, which only the student edition shows)."""
    shown = re.sub(r"<!--.*?-->", "", markdown_text(source_of(docname, root)), flags=re.DOTALL)
    return len(GLUE_TEXT_ROLE.findall(shown))


def executed_widget_views(build_dir: Path, docname: str) -> int:
    """Widget views displayed by the executed copy of a notebook (0 for markdown pages)."""
    nb_path = build_dir / tasks.EXECUTED_DIR / f"{docname}.ipynb"
    if not nb_path.exists():
        return 0
    nb = json.loads(nb_path.read_text())
    return sum(1 for cell in nb["cells"] if cell["cell_type"] == "code"
               for out in cell.get("outputs", []) if WIDGET_VIEW_MIME in out.get("data", {}))


def page(build: BookBuild, docname: str) -> Path:
    return build.html / f"{docname}.html"


def require_ok(build: BookBuild, full: bool = False) -> BookBuild:
    """Fail (do not skip) when the build failed; the full report only once."""
    if not build.ok:
        pytest.fail(build.failure_report() if full else
                    f"the {build.edition} book did not build: see "
                    f"test_{build.edition}_book_builds_without_warnings", pytrace=False)
    return build


BOOK_DOCNAMES = toc_docnames()
NOTEBOOKS = [d for d in BOOK_DOCNAMES if source_of(d).suffix == ".ipynb"]


def check_build(build: BookBuild) -> None:
    print(f"\n{build.edition} book build time: {build.seconds:.1f} s (-W -n --keep-going, "
          f"from scratch)\n" + tasks.notebook_summary(build.status, build.edition))
    require_ok(build, full=True)
    docnames = toc_docnames(build.root / "_toc.yml")
    missing = [d for d in docnames if not page(build, d).is_file()]
    assert not missing, f"toc pages without HTML output: {missing}"
    warnings = [line for line in build.log.splitlines()
                if re.search(r"\bWARNING\b", line) and "[IPKernelApp]" not in line]
    assert not warnings, "build log has warnings:\n" + "\n".join(warnings[:30])
    # tasks.py execute must have executed every notebook of the book (its status record), and
    # the build took each from the cache: one cache record per notebook (myst-nb adds one for
    # each notebook it executes itself)
    from jupyter_cache import get_cache

    notebooks = [d for d in docnames if source_of(d, build.root).suffix == ".ipynb"]
    assert [(r["docname"], r["ok"]) for r in build.status] == [(d, True) for d in notebooks]
    records = get_cache(str(build.build_dir / ".jupyter_cache")).list_cache_records()
    assert sorted(r.uri for r in records) == sorted(r["path"] for r in build.status)


@pytest.mark.slow
def test_teacher_book_builds_without_warnings(teacher_build):
    check_build(teacher_build)


@pytest.mark.slow
def test_student_book_builds_without_warnings(student_build):
    check_build(student_build)


# ----------------------------------------------------------------------------- notebooks
def notebook_errors(nb) -> list[str]:
    """What went wrong in an executed notebook: each error a cell raised without a
    ``raises-exception`` tag (with the cell's source and traceback), and the code cells
    the execution never reached."""
    problems, not_run = [], []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        tags = cell.metadata.get("tags", [])
        if cell.get("execution_count") is None and "skip-execution" not in tags:
            not_run.append(i)
        for out in cell.get("outputs", []):
            if out.output_type == "error" and "raises-exception" not in tags:
                traceback = ANSI.sub("", "\n".join(out.get("traceback", [])))
                problems.append(f"cell {i} (id {cell.get('id')}) raised {out.ename}: "
                                f"{out.evalue}\n--- source ---\n{cell.source}\n"
                                f"--- traceback ---\n{traceback}")
    if not_run:
        problems.append(f"code cells never executed (execution stopped before them): {not_run}")
    return problems


def check_notebook(build: BookBuild, docname: str) -> None:
    if not build.executed_path(docname).is_file():
        pytest.fail(f"{docname} has no executed copy in the {build.edition} build\n"
                    + (build.error_log(docname) or build.failure_report()), pytrace=False)
    problems = notebook_errors(build.executed(docname))
    if problems:
        pytest.fail(f"{build.edition} edition, {docname}:\n\n" + "\n\n".join(problems),
                    pytrace=False)


@pytest.mark.parametrize("docname", NOTEBOOKS)
def test_teacher_notebook_runs_clean(teacher_build, docname):
    check_notebook(teacher_build, docname)


@pytest.mark.parametrize("docname", NOTEBOOKS)
def test_student_notebook_runs_clean(student_build, docname):
    check_notebook(student_build, docname)


# ----------------------------------------------------------------------------- serving
def _free_port() -> int:
    with socket.socket() as s:
        s.bind((LOCAL_HOST, 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(directory: Path, wait_s: float = 15.0):
    """python -m http.server on 127.0.0.1 and a free port; yields the base URL."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "http.server", "--bind", LOCAL_HOST, "--directory",
         str(directory), str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://{LOCAL_HOST}:{port}"
    try:
        deadline = time.monotonic() + wait_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"http.server exited with code {proc.returncode}")
            try:
                with urllib.request.urlopen(base + "/", timeout=1):
                    break
            except (urllib.error.URLError, ConnectionError, OSError):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"http.server did not answer on {base} in {wait_s} s")
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


# ----------------------------------------------------------------------------- browser
def need_chromium() -> None:
    """Skip (the caller's test) where the browser tests cannot run."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: install Debian's Chromium (apt-get install -y "
                    "chromium, done by `python3 tasks.py test` as root) or set BOOK_CHROMIUM")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("playwright is not installed (pip install -r requirements.txt)")


# The background jobs that drive a browser take turns: one Chromium at a time beside the
# notebooks that the other jobs execute, so no page waits past its time-outs on a busy machine.
BROWSER_TURN = threading.Semaphore(1)


@contextlib.contextmanager
def chromium(user_dir: Path, **options):
    """Debian's Chromium under Playwright, one persistent context: a Playwright of its own,
    so a background job's thread can hold one beside the main thread's."""
    from playwright.sync_api import sync_playwright
    need_chromium()
    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            str(user_dir), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
            **options)
        try:
            # Nothing may leave the machine: abort every request not addressed to our server
            # (each one is still recorded by the "request" listener and fails the page).
            ctx.route(re.compile(r"^(?!https?://127\.0\.0\.1[:/]).*"),
                      lambda route: route.abort())
            ctx.set_default_timeout(30_000)
            yield ctx
        finally:
            ctx.close()


@pytest.fixture(scope="module")  # closed before other modules start their own Playwright
def browser_context(tmp_path_factory):
    need_chromium()
    with chromium(tmp_path_factory.mktemp("chromium-profile")) as ctx:
        yield ctx


@dataclass
class Visit:
    url: str
    status: int | None = None
    requests: list[str] = field(default_factory=list)
    http_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    images: list[dict] = field(default_factory=list)
    glue: list[str] = field(default_factory=list)
    animations: list[dict] = field(default_factory=list)
    widget_views: list[dict] = field(default_factory=list)
    math: dict = field(default_factory=dict)

    @property
    def external_requests(self) -> list[str]:
        out = []
        for url in self.requests:
            parsed = urlparse(url)
            if parsed.scheme in ("data", "blob", "about", "javascript"):
                continue
            if parsed.hostname != LOCAL_HOST:
                out.append(url)
        return out

    @property
    def broken_images(self) -> list[dict]:
        return [img for img in self.images if not img["naturalWidth"]]


JS_IMAGES = """() => Array.from(document.images).map(i => ({
    src: (i.currentSrc || i.src || '').slice(0, 120), naturalWidth: i.naturalWidth,
    complete: i.complete}))"""

JS_MATH = """async () => {
    const sources = document.querySelectorAll('.math').length;
    if (!sources) return {sources: 0, rendered: 0, errors: []};
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
        try { await MathJax.startup.promise; } catch (e) {}
    }
    return {sources: sources, rendered: document.querySelectorAll('mjx-container').length,
            errors: Array.from(document.querySelectorAll('mjx-merror, [data-mjx-error]'))
                         .map(e => e.getAttribute('data-mjx-error') || e.textContent)};
}"""

JS_WIDGET_VIEWS = """() => {
    const stateTag = document.querySelector('script[type="application/vnd.jupyter.widget-state+json"]');
    let state = {};
    try { state = stateTag ? (JSON.parse(stateTag.textContent).state || {}) : {}; } catch (e) {}
    return Array.from(document.querySelectorAll(
        'script[type="application/vnd.jupyter.widget-view+json"]')).map(tag => {
        let id = null;
        try { id = JSON.parse(tag.textContent).model_id; } catch (e) {}
        const prev = tag.previousElementSibling;
        const rendered = !!(prev && prev.classList.contains('widget-subarea') &&
                            prev.querySelector('.jupyter-widgets'));
        return {model_id: id, in_state: id !== null && id in state, rendered: rendered};
    });
}"""

# Ready when every view whose model is in the saved state has rendered.
JS_ALL_VIEWS_RENDERED = (f"() => ({JS_WIDGET_VIEWS})()"
                         ".filter(v => v.in_state).every(v => v.rendered)")


def _step_animations(page) -> list[dict]:
    """Step every to_jshtml animation from its first frame to the next one."""
    results = []
    anims = page.locator("div.animation:has(img[id^='_anim_img'])")
    for i in range(anims.count()):
        anim = anims.nth(i)
        img = anim.locator("img[id^='_anim_img']").first
        slider = anim.locator("input.anim-slider").first
        record = {"index": i, "frames": None, "changed": False, "error": None}
        try:
            # the Animation object is created in a setTimeout(0) that sets the first frame
            page.wait_for_function("el => !!el.getAttribute('src')", arg=img.element_handle(),
                                   timeout=10_000)
            record["frames"] = int(slider.evaluate("el => Number(el.max)")) + 1
            anim.locator("button[title='First frame']").click()
            first_src = img.get_attribute("src")
            first_pos = slider.evaluate("el => Number(el.value)")
            anim.locator("button[title='Next frame']").click()
            next_src = img.get_attribute("src")
            next_pos = slider.evaluate("el => Number(el.value)")
            record["changed"] = bool(first_src and next_src and first_src != next_src
                                     and next_pos == first_pos + 1)
        except Exception as exc:  # noqa: BLE001 - reported by the test
            record["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
        results.append(record)
    return results


def visit_page(ctx, url: str) -> Visit:
    visit = Visit(url=url)
    page = ctx.new_page()

    def on_console(msg):
        if msg.type != "error":
            return
        loc = (msg.location or {}).get("url", "")
        if urlparse(loc).path in ALLOWED_MISSING_PATHS and "404" in msg.text:
            return
        if any(p.search(msg.text) for p in ALLOWED_CONSOLE_ERRORS):
            return
        visit.console_errors.append(f"{msg.text} [{loc}]")

    def on_pageerror(err):
        text = str(err)
        if not any(p.search(text) for p in ALLOWED_CONSOLE_ERRORS):
            visit.console_errors.append(f"uncaught: {text}")

    def on_response(resp):
        if resp.status >= 400 and urlparse(resp.url).path not in ALLOWED_MISSING_PATHS:
            visit.http_errors.append(f"HTTP {resp.status} {resp.url}")

    def on_requestfailed(req):
        if urlparse(req.url).hostname == LOCAL_HOST:
            visit.http_errors.append(f"failed ({req.failure}) {req.url}")

    page.on("request", lambda req: visit.requests.append(req.url))
    page.on("console", on_console)
    page.on("pageerror", on_pageerror)
    page.on("response", on_response)
    page.on("requestfailed", on_requestfailed)
    try:
        response = page.goto(url, wait_until="load")
        visit.status = response.status if response else None
        page.evaluate("() => document.querySelectorAll('img[loading=lazy]')"
                      ".forEach(i => { i.loading = 'eager'; })")
        with contextlib.suppress(Exception):
            page.wait_for_function(
                "() => Array.from(document.images).every(i => i.complete)",
                timeout=10_000)
        if page.locator("script[type='application/vnd.jupyter.widget-view+json']").count():
            with contextlib.suppress(Exception):
                page.wait_for_function(JS_ALL_VIEWS_RENDERED, timeout=20_000)
        visit.widget_views = page.evaluate(JS_WIDGET_VIEWS)
        if page.locator(".math").count():
            with contextlib.suppress(Exception):  # MathJax is loaded with defer/async
                page.wait_for_function("() => window.MathJax && MathJax.startup", timeout=10_000)
        visit.math = page.evaluate(JS_MATH)
        visit.animations = _step_animations(page)
        visit.images = page.evaluate(JS_IMAGES)
        visit.glue = page.evaluate(
            "() => Array.from(document.querySelectorAll('span.pasted-text'))"
            ".map(s => s.textContent)")
        page.wait_for_timeout(300)  # late console messages (fonts, deferred scripts)
    finally:
        page.close()
    return visit


@after_build("teacher")
def book_visits(teacher_build, tmp_path_factory):
    """One visit per toc page, shared by the checks below: made in the background as soon
    as the build is done (a Chromium and a server of its own), beside the other jobs."""
    need_chromium()
    require_ok(teacher_build)
    with BROWSER_TURN, serve(teacher_build.html) as base, \
            chromium(tmp_path_factory.mktemp("chromium-visits")) as ctx:
        return {d: visit_page(ctx, f"{base}/{d}.html") for d in BOOK_DOCNAMES}


# ---- checks, one function per property; each returns a list of problems (empty = fine)
def problems_loading(visit: Visit) -> list[str]:
    out = []
    if visit.status != 200:
        out.append(f"page answered HTTP {visit.status}")
    out += visit.http_errors
    return out


def problems_images(visit: Visit) -> list[str]:
    return [f"image not displayed (naturalWidth 0): {img['src']}" for img in visit.broken_images]


def problems_requests(visit: Visit) -> list[str]:
    return [f"request leaves 127.0.0.1: {u}" for u in visit.external_requests]


def problems_console(visit: Visit) -> list[str]:
    return [f"console error: {e}" for e in visit.console_errors]


def problems_glue(visit: Visit, expected: int) -> list[str]:
    out = []
    if len(visit.glue) < expected:
        out.append(f"{expected} {{glue:text}} roles in the source but only {len(visit.glue)} "
                   "span.pasted-text on the page")
    for text in visit.glue:
        if not text.strip():
            out.append("a glued value (span.pasted-text) is empty")
        elif re.search(r" object at 0x[0-9a-f]+", text):
            out.append(f"a glued value is an object repr, not a number/text: {text!r}")
    return out


def problems_animations(visit: Visit) -> list[str]:
    out = []
    for a in visit.animations:
        if a["error"]:
            out.append(f"animation #{a['index']}: could not be stepped: {a['error']}")
        elif (a["frames"] or 0) < 2:
            out.append(f"animation #{a['index']}: has {a['frames']} frame(s)")
        elif not a["changed"]:
            out.append(f"animation #{a['index']}: the displayed frame did not change on 'Next frame'")
    return out


def problems_math(visit: Visit) -> list[str]:
    m = visit.math or {}
    out = []
    if m.get("sources") and m.get("rendered", 0) < m["sources"]:
        out.append(f"{m['sources']} math element(s) but only {m.get('rendered', 0)} typeset by "
                   "MathJax (is _static/mathjax/tex-mml-chtml.js served?)")
    out += [f"MathJax error: {e}" for e in m.get("errors", [])]
    return out


def problems_widgets(visit: Visit, executed_views: int) -> list[str]:
    views = visit.widget_views
    out = []
    if executed_views and len(views) < executed_views:
        out.append(f"the executed notebook displays {executed_views} widget(s) but the page "
                   f"has only {len(views)} widget view script(s)")
    if views and not any(v["rendered"] for v in views):
        out.append(f"none of the {len(views)} widget view(s) rendered (no .jupyter-widgets "
                   "element): is the widget JavaScript (_static/widgets/) served?")
    not_rendered = [v["model_id"] for v in views if v["in_state"] and not v["rendered"]]
    if not_rendered:
        out.append(f"widget views whose model is in the saved state but did not render: {not_rendered}")
    return out


def _assert_no_problems(problems: list[str], where: str) -> None:
    assert not problems, f"{where}:\n  " + "\n  ".join(problems)


browser = pytest.mark.browser


PAGE_CHECKS = {"loads": problems_loading, "images_display": problems_images,
               "requests_stay_local": problems_requests, "console_clean": problems_console}


@browser
@pytest.mark.parametrize("check", PAGE_CHECKS)
@pytest.mark.parametrize("docname", BOOK_DOCNAMES)
def test_page(book_visits, docname, check):
    """Every page: loads, shows its images, stays on 127.0.0.1, logs no console errors."""
    _assert_no_problems(PAGE_CHECKS[check](book_visits[docname]), docname)


@browser
def test_glued_values_render(book_visits):
    pages = {d: expected_glue_count(d) for d in BOOK_DOCNAMES}
    pages = {d: n for d, n in pages.items() if n}
    if not pages:
        pytest.skip("no page uses {glue:text} yet")
    problems = [f"{d}: {p}" for d, n in pages.items() for p in problems_glue(book_visits[d], n)]
    _assert_no_problems(problems, f"glued values on {sorted(pages)}")


@browser
def test_animations_step(book_visits):
    pages = [d for d, v in book_visits.items() if v.animations]
    if not pages:
        pytest.skip("no page has a to_jshtml animation yet")
    problems = [f"{d}: {p}" for d in pages for p in problems_animations(book_visits[d])]
    _assert_no_problems(problems, f"animations on {pages}")


@browser
def test_math_renders(book_visits):
    pages = [d for d, v in book_visits.items() if v.math.get("sources")]
    if not pages:
        pytest.skip("no page has math")
    problems = [f"{d}: {p}" for d in pages for p in problems_math(book_visits[d])]
    _assert_no_problems(problems, f"math on {pages}")


@browser
def test_widgets_render(book_visits, teacher_build):
    executed = {d: executed_widget_views(teacher_build.build_dir, d) for d in BOOK_DOCNAMES}
    pages = [d for d in BOOK_DOCNAMES if executed[d] or book_visits[d].widget_views]
    if not pages:
        pytest.skip("no page displays an ipywidget yet")
    problems = [f"{d}: {p}" for d in pages for p in problems_widgets(book_visits[d], executed[d])]
    _assert_no_problems(problems, f"widgets on {pages}")


# ----------------------------------------------------------------------------- canary book
CANARY_GOOD = [
    ("markdown", "# Canary: everything right\n\n"
                 "The answer is {glue:text}`answer`, and pi is about {glue:text}`pi:.2f`.\n\n"
                 "Math: $\\boldsymbol{W}^\\top x$ and\n\n"
                 "$$\n\\frac{\\partial L}{\\partial w} = \\cancel{0} + \\delta\n$$"),
    ("code", "from myst_nb import glue\nglue('answer', 42, display=False)\n"
             "glue('pi', 3.14159, display=False)"),
    ("code", "import ipywidgets as widgets\nwidgets.IntSlider(value=3, min=0, max=10)"),
    ("code", "from tqdm.auto import tqdm\nfor _ in tqdm(range(3)):\n    pass"),
    ("code", textwrap.dedent("""\
        import re
        import numpy as np
        import matplotlib.pyplot as plt
        from matplotlib.animation import FuncAnimation
        from IPython.display import HTML
        fig, ax = plt.subplots(figsize=(3, 2))
        x = np.linspace(0, 6.3, 50)
        line, = ax.plot(x, np.sin(x))
        def frame(i):
            line.set_ydata(np.sin(x + i))
            return line,
        anim = FuncAnimation(fig, frame, frames=3, interval=200)
        plt.close(fig)
        # to_jshtml() links Font Awesome 4 from a CDN; the theme already ships the icons
        HTML(re.sub(r'<link rel="stylesheet"\\s+href="https://[^"]*font-awesome[^>]*>', '',
                    anim.to_jshtml()))""")),
    ("code", "plt.plot([0, 1], [1, 0])\nplt.show()"),
]
CANARY_BAD = [
    ("markdown", "# Canary: everything wrong\n\n"
                 '<img src="no-such-image.png" alt="missing">\n\n'
                 '<script>console.error("canary console error");</script>\n\n'
                 "Broken math: $\\frac{1}{$"),
    ("code", textwrap.dedent("""\
        import matplotlib.pyplot as plt
        from matplotlib.animation import FuncAnimation
        from IPython.display import HTML
        fig, ax = plt.subplots(figsize=(3, 2))
        anim = FuncAnimation(fig, lambda i: [], frames=2, interval=200)
        plt.close(fig)
        HTML(anim.to_jshtml())  # unpatched: requests font-awesome from a CDN""")),
    ("code", "def ratio(a, b):\n    return a / b\n\nratio(1, 0)   # raises, and is not tagged"),
    ("code", "print('never reached')"),
]


def _write_notebook(path: Path, cells) -> None:
    nb = {"cells": [], "nbformat": 4, "nbformat_minor": 5,
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                      "language": "python"}}}
    for i, (kind, src) in enumerate(cells):
        cell = {"cell_type": kind, "id": f"c{i}", "metadata": {}, "source": src}
        if kind == "code":
            cell.update(outputs=[], execution_count=None)
        nb["cells"].append(cell)
    path.write_text(json.dumps(nb, indent=1))


@early
def canary_book(tmp_path_factory) -> BookBuild:
    """The canary book, built as the book is. The build fails (its bad page has a cell that
    raises), but --keep-going writes every page."""
    src = tmp_path_factory.mktemp("canary-src")
    shutil.copy(ROOT / "_config.yml", src / "_config.yml")
    shutil.copytree(ROOT / "book" / "vendor", src / "book" / "vendor")
    (src / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nchapters:\n  - file: book/good\n  - file: book/bad\n")
    (src / "book" / "intro.md").write_text("# Canary book\n\nBuilt by tests/test_book.py.\n")
    _write_notebook(src / "book" / "good.ipynb", CANARY_GOOD)
    _write_notebook(src / "book" / "bad.ipynb", CANARY_BAD)
    build = build_book(src, tmp_path_factory.mktemp("canary-build"), "canary")
    if not (page(build, "book/good").is_file() and page(build, "book/bad").is_file()):
        pytest.fail(build.failure_report(), pytrace=False)
    return build


@pytest.mark.slow
def test_notebook_checks_catch_a_failing_cell_on_canary_book(canary_book):
    assert canary_book.returncode != 0                 # -W: the failing cell fails the build
    runs = dict(canary_book.notebook_runs())
    assert set(runs) == {"book/good", "book/bad"} and runs["book/bad"] is None
    assert notebook_errors(canary_book.executed("book/good")) == []
    problems = notebook_errors(canary_book.executed("book/bad"))
    assert len(problems) == 2, problems
    raised, not_run = problems
    assert raised.startswith("cell 2 (id c2) raised ZeroDivisionError: division by zero")
    assert "ratio(1, 0)   # raises" in raised                       # the cell's source ...
    assert "return a / b" in raised.split("--- traceback ---")[1]    # ... and its traceback
    assert not_run == "code cells never executed (execution stopped before them): [3]"
    with pytest.raises(pytest.fail.Exception, match="ZeroDivisionError"):
        check_notebook(canary_book, "book/bad")


def test_notebook_summary_reads_the_build_status():
    """The CI log's lines come from the status records, shared runs counted once."""
    status = [
        {"docname": "book/a", "path": "/s/book/a.ipynb", "ok": True, "seconds": 3.5,
         "executed_as": "/t/book/a.ipynb"},
        {"docname": "book/b", "path": "/s/book/b.ipynb", "ok": False, "seconds": None,
         "executed_as": "/s/book/b.ipynb"},
        {"docname": "book/c", "path": "/s/book/c.ipynb", "ok": True, "seconds": 2.25,
         "executed_as": "/s/book/c.ipynb"},
    ]
    lines = tasks.notebook_summary(status, "student").splitlines()
    assert "run once" in lines[0] and "3.5 s" in lines[0]
    assert lines[1].endswith("FAILED") and "2.2 s" in lines[2]
    assert lines[3] == "[student] 3 notebooks, 2.2 s of execution, 1 shared with another edition"


def test_execute_shares_only_notebooks_whose_cells_and_metadata_are_the_same(tmp_path):
    """tasks.py execute runs a file that is the same in two books once, for both; a page
    whose code is the same but whose text differs runs once per book (its outputs may
    depend on its text). Its status record says so, and each book's cache holds each."""
    books = []
    for name, text in (("a", "# Page one"), ("b", "# Page one, reworded")):
        src = tmp_path / name / "src"
        (src / "book").mkdir(parents=True)
        shutil.copy(ROOT / "_config.yml", src / "_config.yml")
        (src / "_toc.yml").write_text("format: jb-book\nroot: book/intro\nchapters:\n"
                                      "  - file: book/same\n  - file: book/text\n")
        (src / "book" / "intro.md").write_text("# Intro\n")
        _write_notebook(src / "book" / "same.ipynb", [("code", "x = 1\nx")])
        _write_notebook(src / "book" / "text.ipynb", [("markdown", text), ("code", "y = 2\ny")])
        books.append((src, tmp_path / name / "out"))
    proc = subprocess.run(tasks.execute_command(books, python=Path(sys.executable)),
                          capture_output=True, text=True, timeout=300)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log
    (a_src, a_out), (b_src, b_out) = books
    executed_as = {(Path(r["path"]).parent.parent.parent.name, r["docname"]): r["executed_as"]
                   for out in (a_out, b_out) for r in tasks.read_status(out)}
    assert executed_as == {("a", "book/same"): str(a_src / "book" / "same.ipynb"),
                           ("a", "book/text"): str(a_src / "book" / "text.ipynb"),
                           ("b", "book/same"): str(a_src / "book" / "same.ipynb"),
                           ("b", "book/text"): str(b_src / "book" / "text.ipynb")}, log
    from jupyter_cache import get_cache

    for src, out in books:
        assert all(r["ok"] and r["seconds"] > 0 for r in tasks.read_status(out))
        cache = get_cache(str(out / "_build" / ".jupyter_cache"))
        for name in ("same", "text"):        # what myst-nb will find for each page
            cache.match_cache_notebook(nbformat_read(src / "book" / f"{name}.ipynb"))
        executed = json.loads((out / "_build" / tasks.EXECUTED_DIR / "book" / "same.ipynb")
                              .read_text())
        assert "".join(executed["cells"][0]["outputs"][0]["data"]["text/plain"]) == "1"


def nbformat_read(path: Path):
    import nbformat

    return nbformat.read(path, as_version=4)


def test_notebook_errors_allows_raises_exception_tags():
    import nbformat

    cell = nbformat.v4.new_code_cell("1 / 0", execution_count=1,
                                     metadata={"tags": ["raises-exception"]})
    cell.outputs = [nbformat.v4.new_output("error", ename="ZeroDivisionError",
                                           evalue="division by zero", traceback=["tb"])]
    nb = nbformat.v4.new_notebook(cells=[cell, nbformat.v4.new_code_cell("x = 1",
                                                                         execution_count=2)])
    assert notebook_errors(nb) == []
    cell.metadata["tags"] = []
    assert len(notebook_errors(nb)) == 1


@browser
@pytest.mark.slow
def test_browser_checks_catch_problems_on_canary_book(canary_book, browser_context):
    with serve(canary_book.html) as base:
        good = visit_page(browser_context, f"{base}/book/good.html")
        bad = visit_page(browser_context, f"{base}/book/bad.html")

    # the good page passes every check, and each feature was really there to be checked
    good_problems = (problems_loading(good) + problems_images(good) + problems_requests(good)
                     + problems_console(good)
                     + problems_glue(good, expected_glue_count("book/good", canary_book.root))
                     + problems_animations(good) + problems_math(good)
                     + problems_widgets(good, executed_widget_views(canary_book.build_dir, "book/good")))
    _assert_no_problems(good_problems, "canary good page")
    assert good.glue == ["42", "3.14"], good.glue
    assert len(good.animations) == 1 and good.animations[0]["frames"] == 3, good.animations
    assert len(good.widget_views) == 2 and all(v["rendered"] for v in good.widget_views), \
        good.widget_views
    assert executed_widget_views(canary_book.build_dir, "book/good") == 2
    assert len(good.images) >= 2 and not good.broken_images, good.images
    assert good.math["sources"] == 2 and good.math["rendered"] >= 2, good.math

    # the bad page is caught by the checks it breaks
    assert any("no-such-image.png" in p for p in problems_loading(bad)), "404 not reported"
    assert any("no-such-image.png" in p for p in problems_images(bad)), bad.images
    assert any("font-awesome" in p for p in problems_requests(bad)), bad.requests
    assert any("canary console error" in p for p in problems_console(bad)), bad.console_errors
    assert problems_math(bad), bad.math
