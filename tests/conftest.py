"""Shared test setup: single-threaded BLAS, no figure left open, and the two book builds.

nblib multiplies small matrices, for which OpenBLAS's worker threads only add
contention: on the 2-core machine under load, a 5-epoch run of the source
recipe took 13 s with them and 0.7 s without.  The variables must be set
before NumPy is first imported, which is why they live here.

The book is built once per edition per session, exactly as ``python3 tasks.py book`` builds
it: ``tasks.py execute`` executes the notebooks one per core into the build's cache, then
``jupyter-book build SOURCE -W -n --keep-going --path-output OUT`` renders the book from it,
into an empty OUT (``build_books``). Every test that needs a build uses one of:

- ``teacher_build``: the book from this repository;
- ``student_build``: the student edition, written by ``teacher/student_edition.py OUT/src``
  and built the same way (``.source`` is that student source root).

Both are ``BookBuild`` objects: ``.root`` (the source root that was built), ``.html``,
``.returncode``, ``.log``, ``.status`` (each notebook: ok or failed, seconds: the JSON record
``tasks.py execute`` writes), ``.executed(docname)`` (the notebook as it was executed).
The two editions are built together: their notebooks are executed in one pool, and a notebook
that is the same in both, cells and metadata (04, the claim page, ...), is executed once, for
both. So each notebook is executed once per edition at most: the other tests read the executed
copies and the HTML. The builds start in the background as soon as the session starts (only if a
selected test needs them), and the tests that use them run last, so the builds overlap the
unit tests. The pytest summary prints each notebook's execution time per edition.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import tasks  # noqa: E402  (the repository's runner, standard library only)

ROOT = tasks.ROOT
BUILD_TIMEOUT_S = 1500       # one edition, every notebook executed (each has a 300 s limit)
BUILD_FIXTURES = ("teacher_build", "student_build")
ANSI = re.compile(r"\x1b\[[0-9;]*m")      # colours in a log


@pytest.fixture(autouse=True)
def close_figures():
    """Close every matplotlib figure a test opened, so none leaks into the next test."""
    yield
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


# ----------------------------------------------------------------------------- book builds
@dataclass
class BookBuild:
    """One ``jupyter-book build`` of a source tree, and what it left behind."""

    edition: str              # "teacher", "student", or a test's own name
    root: Path                # the source root that was built
    out: Path                 # --path-output: the build is in out/_build
    returncode: int
    log: str
    seconds: float
    source: Path | None = None   # the student edition's source root (== root)

    @property
    def build_dir(self) -> Path:
        return self.out / "_build"

    @property
    def html(self) -> Path:
        return self.build_dir / "html"

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and (self.html / "index.html").is_file()

    @property
    def status(self) -> list[dict]:
        """``tasks.py execute``'s record of each notebook (``tasks.read_status``)."""
        return tasks.read_status(self.out)

    def executed_path(self, docname: str) -> Path:
        """The notebook as ``tasks.py execute`` executed it (myst-nb's own copies in
        jupyter_execute/ have no outputs when it takes them from the cache); for a notebook
        that failed there, myst-nb's copy: it executes a notebook the cache does not have."""
        path = self.build_dir / tasks.EXECUTED_DIR / f"{docname}.ipynb"
        fallback = self.build_dir / "jupyter_execute" / f"{docname}.ipynb"
        return path if path.is_file() or not fallback.is_file() else fallback

    def executed(self, docname: str):
        """The executed notebook of e.g. ``"book/02_network"`` (an nbformat node)."""
        import nbformat

        return nbformat.read(self.executed_path(docname), as_version=4)

    def notebook_runs(self) -> list[tuple[str, float | None]]:
        """(docname, execution seconds or None if it failed) per notebook, from ``status``."""
        return [(r["docname"], r["seconds"] if r["ok"] else None) for r in self.status]

    def error_log(self, docname: str) -> str | None:
        """myst-nb's traceback report of a notebook that failed to execute, if any."""
        path = self.html / "reports" / f"{docname}.err.log"
        return ANSI.sub("", path.read_text()) if path.is_file() else None

    def failure_report(self) -> str:
        """Why the build failed: its warnings, the end of its log, the notebook tracebacks."""
        lines = [ANSI.sub("", line) for line in self.log.splitlines()
                 if "[IPKernelApp]" not in line]
        warnings = [line for line in lines if re.search(r"\bWARNING\b|\bERROR\b", line)]
        report = [f"{self.edition} book build FAILED (exit code {self.returncode}) in "
                  f"{self.seconds:.0f} s: {self.root}",
                  f"--- warnings/errors ({len(warnings)}) ---", *warnings[:40],
                  "--- last lines of the build log ---", *lines[-15:]]
        reports = self.html / "reports"
        for err_log in sorted(reports.rglob("*.err.log"))[:5] if reports.is_dir() else []:
            report += [f"--- {err_log.relative_to(reports)} (last 40 lines) ---",
                       *ANSI.sub("", err_log.read_text()).splitlines()[-40:]]
        return "\n".join(report)


_RUNNING: set[subprocess.Popen] = set()     # build commands running now (pytest_unconfigure)


def _stop(proc: subprocess.Popen) -> None:
    """Stop a build command and everything it started (``tasks.py execute`` stops its
    kernels on SIGTERM)."""
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
            proc.wait(timeout=wait)
            return
        except (OSError, subprocess.TimeoutExpired):
            continue


def _run(cmd: list[str], timeout: float) -> tuple[int, str]:
    """Run a build command in a process group of its own, stopped (with its kernels) on a
    timeout or when pytest ends."""
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, errors="replace", start_new_session=True)
    _RUNNING.add(proc)
    try:
        out = proc.communicate(timeout=timeout)[0]
        return proc.returncode, out
    except subprocess.TimeoutExpired:
        _stop(proc)
        return -1, (proc.communicate()[0] or "") + f"\nTIMEOUT after {timeout:.0f} s: {' '.join(cmd)}"
    finally:
        _RUNNING.discard(proc)


def pytest_unconfigure(config):
    """A session that ends early (Ctrl+C, -x) stops the builds still running."""
    for proc in list(_RUNNING):
        _stop(proc)


def build_books(books: dict[str, tuple[Path, Path]]) -> dict[str, BookBuild]:
    """Build each book {edition: (source, empty out)} as ``python3 tasks.py book`` builds one:
    first ``tasks.py execute`` executes the notebooks of all of them, two at a time (a notebook
    that is the same in several books once, for all), then each book's ``jupyter-book build``
    renders it from its cache, the books side by side."""
    python = Path(sys.executable)
    t0 = time.monotonic()
    execute = tasks.execute_command(list(books.values()), python=python)
    _, exec_log = _run(execute, BUILD_TIMEOUT_S)
    exec_log = f"$ {' '.join(execute)}\n{exec_log}"
    jb = python.with_name("jupyter-book")
    builds: dict[str, BookBuild] = {}

    def render(edition, source, out):
        cmd = tasks.book_build_command(source, out, jupyter_book=jb if jb.exists() else None)
        rc, log = _run(cmd, BUILD_TIMEOUT_S)
        if rc == 0:                     # the plain notebooks, behind the download buttons
            plain = tasks.plain_notebooks_command(source, out, python=python)
            rc, more = _run(plain, BUILD_TIMEOUT_S)
            log += f"$ {' '.join(plain)}\n{more}"
            if rc == 0:
                tasks.publish_plain_notebooks(out)
        # this edition's own notebooks only: the other edition's failure is not its own
        status = tasks.read_status(out)
        failed = not status or not all(r["ok"] for r in status)
        builds[edition] = BookBuild(edition, source, out, rc or int(failed),
                                    f"{exec_log}$ {' '.join(cmd)}\n{log}",
                                    time.monotonic() - t0)

    threads = [threading.Thread(target=render, args=(edition, *book))
               for edition, book in books.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return builds


def build_book(source: Path, out: Path, edition: str = "book") -> BookBuild:
    """Build ``source`` into the empty folder ``out`` as ``python3 tasks.py book`` does."""
    return build_books({edition: (source, out)})[edition]


def write_student_source(out: Path) -> tuple[Path, int, str]:
    """The student edition's sources, written into out/src: (source, exit code, log)."""
    source = out / "src"
    rc, log = _run(tasks.student_edition_command(source, python=Path(sys.executable)), 300)
    return source, rc, log


def build_editions(outs: dict[str, Path]) -> dict[str, BookBuild]:
    """The editions {"teacher"/"student": empty out folder} built together (``build_books``)."""
    t0 = time.monotonic()
    books, failed = {}, {}
    if "teacher" in outs:
        books["teacher"] = (ROOT, outs["teacher"])
    if "student" in outs:
        source, rc, log = write_student_source(outs["student"])
        if rc == 0:
            books["student"] = (source, outs["student"])
        else:
            failed["student"] = BookBuild("student", source, outs["student"], rc, log,
                                          time.monotonic() - t0, source)
    builds = build_books(books) if books else {}
    if "student" in builds:
        builds["student"].source = builds["student"].root
    return {**builds, **failed}


class _Background(threading.Thread):
    """Builds running while other tests run; ``result(edition)`` waits for them."""

    def __init__(self, build):
        super().__init__(daemon=True)
        self._build, self._result, self._error = build, None, None
        self.start()

    def run(self):
        try:
            self._result = self._build()
        except BaseException as exc:  # noqa: BLE001 - handed to the test that waits
            self._error = exc

    def result(self, edition: str) -> BookBuild:
        self.join()
        if self._error is not None:
            raise self._error
        return self._result[edition]


_BUILDS: dict[str, _Background] = {}      # edition -> the background job that builds it


def pytest_collection_modifyitems(items):
    """Tests that need a book build run last, and those that need an ``early`` fixture just
    before them: the jobs started with the session overlap everything before."""
    def stage(item):
        if any(f in _AFTER_BUILD for f in item.fixturenames):
            return 3          # last: their job runs beside the tests that read the build
        if any(f in item.fixturenames for f in BUILD_FIXTURES):
            return 2
        return 1 if any(f in _EARLY for f in item.fixturenames) else 0
    items.sort(key=stage)


def _start(editions: list[str], tmp_path_factory) -> None:
    """Start one background job that builds the editions not started yet, together."""
    editions = [e for e in editions if e not in _BUILDS]
    if not editions:
        return
    outs = {e: tmp_path_factory.mktemp(f"book-{e}", numbered=False) for e in editions}
    job = _Background(lambda: build_editions(outs))
    for edition in editions:
        _BUILDS[edition] = job


# ------------------------------------------------------------- other jobs started early
_EARLY: dict = {}        # fixture name -> fn(tmp_path_factory), registered by ``early``
_EARLY_JOBS: dict[str, _Background] = {}


def early(fn):
    """Make ``fn(tmp_path_factory)`` a session fixture of the same name that starts in the
    background when the session starts (if a selected test uses it), like the builds.

    For slow set-ups that mostly wait on subprocesses (an nbgrader course, a canary book):
    they overlap the unit tests instead of holding up the tests that come after them.
    """
    _EARLY[fn.__name__] = fn

    @pytest.fixture(scope="session", name=fn.__name__)
    def fixture(tmp_path_factory):
        _start_early(fn.__name__, tmp_path_factory)
        return _EARLY_JOBS[fn.__name__].result(fn.__name__)

    return fixture


_AFTER_BUILD: set = set()   # the ``after_build`` fixtures: the tests that use them run last


def after_build(*editions: str):
    """Like ``early``, for a job that needs book builds: ``fn(*builds, tmp_path_factory)``,
    one build per edition named, starts in the background as soon as they are done (a
    failed build is handed to it: check ``.ok``), and runs beside the other jobs and the
    tests still running; the tests that use it run last."""
    def wrap(fn):
        def job(tmp_path_factory):
            _start(list(editions), tmp_path_factory)
            return fn(*(_BUILDS[e].result(e) for e in editions), tmp_path_factory)

        job.__name__ = fn.__name__
        _AFTER_BUILD.add(fn.__name__)
        return early(job)
    return wrap


def _start_early(name: str, tmp_path_factory) -> None:
    if name not in _EARLY_JOBS:
        fn = _EARLY[name]
        _EARLY_JOBS[name] = _Background(lambda: {name: fn(tmp_path_factory)})


@pytest.fixture(scope="session", autouse=True)
def _start_book_builds(request, tmp_path_factory):
    """Start the builds the selected tests need, together, when the session starts, and the
    ``early`` fixtures they use."""
    used = {f for item in request.session.items for f in item.fixturenames}
    tmp_path_factory.getbasetemp()     # made here, once: the jobs' threads then only add to it
    _start([f.removesuffix("_build") for f in BUILD_FIXTURES if f in used], tmp_path_factory)
    for name in _EARLY:
        if name in used:
            _start_early(name, tmp_path_factory)


@pytest.fixture(scope="session")
def teacher_build(tmp_path_factory) -> BookBuild:
    """The teacher's book, built once per session (it may have failed: check ``.ok``)."""
    _start(["teacher"], tmp_path_factory)
    return _BUILDS["teacher"].result("teacher")


@pytest.fixture(scope="session")
def student_build(tmp_path_factory) -> BookBuild:
    """The student edition, written and built once per session (check ``.ok``)."""
    _start(["student"], tmp_path_factory)
    return _BUILDS["student"].result("student")


def pytest_terminal_summary(terminalreporter):
    """The CI log: each edition's notebooks, executed once each, with their times."""
    done = {e: job._result[e] for e, job in _BUILDS.items()
            if not job.is_alive() and job._result and e in job._result}
    if not done:
        return
    terminalreporter.section("book builds: notebook execution times")
    for edition, build in done.items():
        terminalreporter.write_line(tasks.notebook_summary(build.status, edition))
        terminalreporter.write_line(f"[{edition}] build {'ok' if build.ok else 'FAILED'} in "
                                    f"{build.seconds:.0f} s: {build.html}")


# ----------------------------------------------------------------------------- stand-in values
def stand_in_executed(folder: Path) -> Path:
    """``folder``, filled as a build's executed notebooks would be for teacher/course.py and
    teacher/plain_notebooks.py, but without running anything: each notebook of the book with
    every value its prose (or another page's) quotes glued as 0. For tests of grading, which
    never read the prose; the real numbers are tested on the real builds."""
    import nbformat
    from IPython.core.formatters import format_display_data
    from myst_nb.ext.glue import GLUE_PREFIX

    role = re.compile(r"\{glue(?::\w+)?\}`(?:(?P<doc>[\w.-]+)::)?(?P<key>[\w-]+)")
    notebooks = {p.stem: nbformat.read(p, as_version=4) for p in (ROOT / "book").glob("*.ipynb")}
    keys: dict[str, set] = {stem: set() for stem in notebooks}
    for stem, nb in notebooks.items():
        for cell in nb.cells:
            for found in role.finditer(cell.source):
                keys[Path(found["doc"]).stem if found["doc"] else stem].add(found["key"])
    bundle, metadata = format_display_data(0)
    bundle["text/markdown"] = "0"
    for stem, nb in notebooks.items():
        nb.cells.append(nbformat.v4.new_code_cell("# stand-in values", outputs=[
            nbformat.v4.new_output("display_data", data={GLUE_PREFIX + k: v
                                                         for k, v in bundle.items()},
                                   metadata={**metadata, "scrapbook": {
                                       "name": key, "mime_prefix": GLUE_PREFIX}})
            for key in sorted(keys[stem])]))
        (folder / "book").mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, folder / "book" / f"{stem}.ipynb")
    return folder
