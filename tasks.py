#!/usr/bin/env python3
"""Build and test the book "Neural Net from Scratch (NumPy only)".

Standard library only: runs with any Python 3.11+ on a fresh machine.

    python3 tasks.py book             # set up .venv, build the HTML book into _build/html
    python3 tasks.py book --student   # the same without solutions, into _build_student/
    python3 tasks.py test [ARGS...]   # set up .venv + test extras, run pytest ARGS
    python3 tasks.py student OUTDIR   # write the student edition of the notebooks
    python3 tasks.py site T S OUT     # the Pages site from a teacher (T) and student (S) build
    python3 tasks.py execute [--jobs=N] SOURCE OUT ...   # step 1 of a build (below)

Every build, into a clean OUT, has two steps:
1. `tasks.py execute SOURCE OUT` (`execute_command`, run by .venv's Python) executes every
   notebook of the book, one per core (up to 4: two here), as myst-nb's cache mode executes one,
   into the build's cache OUT/_build/.jupyter_cache (and a copy in OUT/_build/executed/);
2. `jupyter-book build SOURCE -W -n --keep-going --path-output OUT` (`book_build_command`)
   renders the book from that cache (`execute_notebooks: cache`): no notebook runs twice.
It ends with one line per notebook and its execution time (`notebook_summary`). The tests
build both editions the same way, once per session (tests/conftest.py); a notebook whose code
is the same in both editions is executed once for both.

Environment setup (every command): create .venv if missing, then
`pip install -r requirements.txt` and `pip install -e .`. A stamp file in .venv records a
hash of requirements.txt, pyproject.toml and the Python version; while it matches, the
reinstall is skipped. `test` also installs torch==2.13.0 (a test-only reference) and
Debian's Chromium for the browser tests (when running as root).

Environment variables: BOOK_CHROMIUM (browser for the browser tests, default
/usr/bin/chromium), TORCH_INDEX_URL (extra index for the torch install only), CI (if set,
a browser that cannot be installed is an error instead of a skip).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import NoReturn

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
BUILD = ROOT / "_build"
BUILD_STUDENT = ROOT / "_build_student"

# Exactly this version: pip takes the CPU wheel from local disk on the build machines. A bare
# "torch" (or a newer version) would download a multi-GB CUDA build.
TORCH = "torch==2.13.0"
CHROMIUM = Path(os.environ.get("BOOK_CHROMIUM", "/usr/bin/chromium"))

MIN_PYTHON = (3, 11)


def say(msg: str) -> None:
    print(f"[tasks] {msg}", flush=True)


def die(msg: str, code: int = 1) -> NoReturn:
    print(f"[tasks] ERROR: {msg}", file=sys.stderr, flush=True)
    sys.exit(code)


def run(cmd: list[str | Path], **kw) -> int:
    """Run a command from the repository root, echoing it; return its exit code."""
    shown = " ".join(str(c) for c in cmd)
    say(f"$ {shown}")
    return subprocess.run([str(c) for c in cmd], cwd=ROOT, env=child_env(), **kw).returncode


def run_or_die(cmd: list[str | Path]) -> None:
    rc = run(cmd)
    if rc != 0:
        die(f"command failed with exit code {rc}: {' '.join(str(c) for c in cmd)}", rc)


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["VIRTUAL_ENV"] = str(VENV)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.pop("PYTHONHOME", None)
    # Playwright must never try to download a browser: the tests use Debian's Chromium.
    env["PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD"] = "1"
    # NumPy's OpenBLAS is no faster with 2 threads on this model's small products, and erratic.
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    # Do NOT set MPLBACKEND here: it would override the inline backend in the notebook
    # kernels and the book would lose its figures.
    return env


# ----------------------------------------------------------------------------- environment
def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(hashlib.sha256(p).digest())
    return h.hexdigest()


def _stamp_ok(stamp: Path, digest: str) -> bool:
    return stamp.is_file() and stamp.read_text().strip() == digest


def ensure_venv() -> None:
    if sys.version_info < MIN_PYTHON:
        die(f"Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]}+ is required (this is {sys.version.split()[0]})")
    if not PY.exists():
        say(f"creating {VENV.relative_to(ROOT)} with {sys.executable}")
        # `python -m venv` rather than the venv module: same result, and its errors are clearer
        rc = subprocess.run([sys.executable, "-m", "venv", str(VENV)]).returncode
        if rc != 0 or not PY.exists():
            die("could not create the virtual environment (on Debian/Ubuntu: apt-get install python3-venv)")

    req = ROOT / "requirements.txt"
    pyproject = ROOT / "pyproject.toml"
    pyver = subprocess.run([PY, "-c", "import sys; print(sys.version)"], capture_output=True,
                           text=True).stdout.encode()
    digest = _digest(req.read_bytes(), pyproject.read_bytes(), pyver)
    stamp = VENV / ".tasks-requirements.sha256"
    if _stamp_ok(stamp, digest):
        say("environment up to date (requirements.txt and pyproject.toml unchanged)")
        return
    t0 = time.monotonic()
    run_or_die([PY, "-m", "pip", "install", "--disable-pip-version-check", "-r", req])
    run_or_die([PY, "-m", "pip", "install", "--disable-pip-version-check", "-e", ROOT])
    stamp.write_text(digest + "\n")
    say(f"environment ready in {time.monotonic() - t0:.0f} s")


def ensure_test_extras() -> None:
    stamp = VENV / ".tasks-test-extras"
    if _stamp_ok(stamp, TORCH):
        say(f"{TORCH} already installed")
    else:
        # Elsewhere (e.g. GitHub Actions) set TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
        # so that pip takes the CPU build instead of PyPI's CUDA one.
        extra = ["--extra-index-url", os.environ["TORCH_INDEX_URL"]] if os.environ.get("TORCH_INDEX_URL") else []
        run_or_die([PY, "-m", "pip", "install", "--disable-pip-version-check", *extra, TORCH])
        stamp.write_text(TORCH + "\n")
    ensure_chromium()


def ensure_chromium() -> None:
    """Debian's Chromium for the browser tests (Playwright's own download cannot work here)."""
    if CHROMIUM.exists():
        say(f"browser for the browser tests: {CHROMIUM}")
        return
    in_ci = bool(os.environ.get("CI"))
    is_root = hasattr(os, "geteuid") and os.geteuid() == 0
    if not is_root or not shutil.which("apt-get"):
        msg = (f"{CHROMIUM} is missing and cannot be installed here (needs root and apt-get). "
               "The browser tests (marker 'browser') will SKIP. To run them: "
               "sudo apt-get install -y chromium, or set BOOK_CHROMIUM=/path/to/chromium.")
        if in_ci:
            die(msg)
        print("\n" + "!" * 78 + f"\n[tasks] WARNING: {msg}\n" + "!" * 78 + "\n", flush=True)
        return
    say(f"installing Debian's Chromium into {CHROMIUM}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    ok = subprocess.run(["apt-get", "update"], env=env).returncode == 0 and subprocess.run(
        ["apt-get", "install", "-y", "chromium"], env=env).returncode == 0
    if not ok or not CHROMIUM.exists():
        msg = "apt-get install chromium failed; the browser tests will skip"
        if in_ci:
            die(msg)
        say("WARNING: " + msg)


# ----------------------------------------------------------------------------- the build
def book_build_command(source: Path, out: Path, jupyter_book: Path | None = None) -> list[str]:
    """The one book build: every warning (a failing cell, a broken reference) is an error."""
    jb = jupyter_book or BIN / "jupyter-book"
    return [str(jb), "build", str(source), "-W", "-n", "--keep-going", "--path-output", str(out)]


def student_edition_command(source_dir: Path, python: Path | None = None) -> list[str]:
    """Write the student edition's sources (solutions removed) into ``source_dir``."""
    return [str(python or PY), str(ROOT / "teacher" / "student_edition.py"), str(source_dir)]


ANSI = re.compile(r"\x1b\[[0-9;]*m")
# One line per notebook execution: cmd_execute's "[tasks] <path>.ipynb: executed in 8.5 s" or
# "... execution FAILED", and myst-nb's own, should it execute one itself (it does when the
# cache has no outputs for it): "<path>.ipynb: Executed notebook in 8.55 seconds [mystnb]" or
# "<path>.ipynb: WARNING: Executing notebook failed: CellExecutionError".
EXECUTED = re.compile(r"^(?:\[tasks\] )?(?P<path>\S+)\.ipynb: (?:WARNING: )?(?:"
                      r"(?:executed in |Executed notebook in )(?P<seconds>[\d.]+) s"
                      r"(?P<shared> \(the same notebook as)?"
                      r"|(?P<failed>execution FAILED|Executing notebook failed))")


def notebook_runs(log: str, source: Path, shared: bool = True) -> list[tuple[str, float | None]]:
    """(docname, execution seconds or None if it failed) for each execution of a notebook
    under ``source`` in a build log, in order: a notebook executed twice appears twice.
    ``shared=False`` leaves out the notebooks executed once for several books."""
    runs = []
    source = source.resolve()
    for line in ANSI.sub("", log).splitlines():
        m = EXECUTED.match(line.strip())
        if m and Path(m["path"]).is_relative_to(source) and (shared or not m["shared"]):
            docname = Path(m["path"]).relative_to(source).as_posix()
            runs.append((docname, None if m["failed"] else float(m["seconds"])))
    return runs


def notebook_summary(log: str, source: Path, edition: str) -> str:
    """One line per notebook execution and the total: what the CI log shows."""
    runs, own = notebook_runs(log, source), notebook_runs(log, source, shared=False)
    lines = [f"[{edition}] executed {docname:<24} " + ("FAILED" if t is None else f"{t:6.1f} s")
             + ("" if (docname, t) in own else "  (same notebook in the other edition: run once)")
             for docname, t in runs]
    total = sum(t for _, t in own if t is not None)
    lines.append(f"[{edition}] {len(runs)} notebook executions "
                 f"({len({d for d, _ in runs})} notebooks), {total:.1f} s in total"
                 + (f" and {len(runs) - len(own)} shared with another edition"
                    if len(own) < len(runs) else ""))
    return "\n".join(lines)


def run_and_log(cmd: list[str]) -> tuple[int, str]:
    """Run a command from the repository root, showing its output as it comes; return
    (exit code, output)."""
    say("$ " + " ".join(cmd))
    proc = subprocess.Popen(cmd, cwd=ROOT, env=child_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, errors="replace")
    log = []
    for line in proc.stdout:
        print(line, end="", flush=True)
        log.append(line)
    return proc.wait(), "".join(log)


# ----------------------------------------------------------------------------- execution
# The notebooks are executed before Sphinx runs, JOBS at a time, each exactly as myst-nb's
# `cache` mode executes one (jupyter-cache's single_nb_execution: same kernel, cwd, timeout
# and error rule), and stored in the build's own cache, OUT/_build/.jupyter_cache. The build
# then finds every notebook there and executes nothing. A notebook that fails is not stored:
# myst-nb executes it again and reports it as usual (a warning, a traceback in reports/).
# The cache lives in OUT, which every build empties first, so it never holds outputs of an
# older nblib.
JOBS = max(1, min(os.cpu_count() or 1, 4))
EXECUTED_DIR = "executed"     # OUT/_build/executed/<docname>.ipynb: each notebook as executed


def toc_docnames(toc_file: Path) -> list[str]:
    """Every document of a book's _toc.yml, in reading order (needs PyYAML: .venv only)."""
    import yaml

    toc = yaml.safe_load(toc_file.read_text())
    names = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                names.append(node["file"])
            for key in ("parts", "chapters", "sections"):
                for child in node.get(key) or []:
                    walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk({k: v for k, v in toc.items() if k in ("parts", "chapters", "sections")})
    return names


def execute_command(pairs: list[tuple[Path, Path]], python: Path | None = None,
                    jobs: int = JOBS) -> list[str]:
    """Execute the notebooks of each (SOURCE, OUT) pair into OUT's cache (``cmd_execute``)."""
    return [str(python or PY), str(ROOT / "tasks.py"), "execute", f"--jobs={jobs}",
            *(str(p) for pair in pairs for p in pair)]


def _execute_one(path: str, timeout: int | None, allow_errors: bool):
    """Worker: execute one notebook as myst-nb's cache mode does; (notebook JSON, seconds,
    error report or None)."""
    import traceback

    import nbformat
    from jupyter_cache.executors.utils import single_nb_execution

    nb, t0 = nbformat.read(path, as_version=4), time.monotonic()
    try:
        result = single_nb_execution(nb, cwd=str(Path(path).parent), timeout=timeout,
                                     allow_errors=allow_errors, meta_override=True)
    except Exception:                 # a kernel that dies or never starts: a failure too
        return nbformat.writes(nb), time.monotonic() - t0, traceback.format_exc()
    error = None if result.err is None else f"{type(result.err).__name__}\n{result.exc_string}"
    return nbformat.writes(result.nb), result.time, error


def cmd_execute(args: list[str]) -> int:
    """`tasks.py execute [--jobs=N] SOURCE OUT [SOURCE OUT ...]`, run by .venv's Python.

    Executes every notebook of each SOURCE's _toc.yml, N at a time, into OUT/_build's cache and
    OUT/_build/executed/. A notebook that is the same in several books, cells and metadata
    (the two editions share four pages), is executed once, for all of them. Exit code 1 if
    one failed.
    """
    import json
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    import nbformat
    import yaml
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    jobs = JOBS
    if args and args[0].startswith("--jobs="):
        value = args.pop(0).removeprefix("--jobs=")
        if not value.isdigit() or int(value) < 1:
            die(f"--jobs must be a whole number >= 1, got {value!r}", 2)
        jobs = int(value)
    if not args or len(args) % 2:
        die("usage: tasks.py execute [--jobs=N] SOURCE OUT [SOURCE OUT ...]", 2)
    pairs = [(Path(s).resolve(), Path(o).resolve()) for s, o in zip(args[::2], args[1::2])]

    # (content hash, timeout, allow_errors) -> [(notebook, out, docname)]: run once per key
    groups: dict[tuple, list[tuple[Path, Path, str]]] = {}
    caches = {out: get_cache(str(out / "_build" / ".jupyter_cache")) for _, out in pairs}
    for source, out in pairs:
        execute = (yaml.safe_load((source / "_config.yml").read_text()) or {}).get("execute") or {}
        if execute.get("execute_notebooks") != "cache" or execute.get("cache"):
            die(f"{source}/_config.yml must set execute_notebooks: cache, and no cache path "
                "(the build's cache is OUT/_build/.jupyter_cache)", 2)
        settings = (execute.get("timeout"), bool(execute.get("allow_errors", False)))
        for docname in toc_docnames(source / "_toc.yml"):
            path = source / f"{docname}.ipynb"
            if path.is_file():
                # shared only when the whole notebook is the same, not just the code: a page's
                # outputs may depend on its text (its reading time is computed from it)
                nb = nbformat.read(path, as_version=4)
                content = {"metadata": nb.metadata, "cells": [
                    (c.cell_type, c.source, c.metadata) for c in nb.cells]}
                key = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
                groups.setdefault((key, *settings), []).append((path, out, docname))

    t0, failed = time.monotonic(), 0
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = {key: pool.submit(_execute_one, str(members[0][0]), *key[1:])
                   for key, members in groups.items()}
        for key, future in futures.items():
            text, seconds, error = future.result()
            failed += error is not None
            executed = nbformat.reads(text, as_version=4)
            first = groups[key][0][0]
            for path, out, docname in groups[key]:
                copy = out / "_build" / EXECUTED_DIR / f"{docname}.ipynb"
                copy.parent.mkdir(parents=True, exist_ok=True)
                copy.write_text(text, encoding="utf-8")
                shared = "" if path == first else f" (the same notebook as {first}: run once)"
                if error is None:
                    caches[out].cache_notebook_bundle(
                        CacheBundleIn(executed, str(path), data={"execution_seconds": seconds}),
                        check_validity=False, overwrite=True)
                    say(f"{path}: executed in {seconds:.1f} s{shared}")
                else:
                    say(f"{path}: execution FAILED after {seconds:.1f} s{shared}\n{error}")
    say(f"{len(groups)} notebooks executed, {jobs} at a time, in {time.monotonic() - t0:.1f} s"
        + (f"; {failed} FAILED" if failed else ""))
    return 1 if failed else 0


# ----------------------------------------------------------------------------- commands
def cmd_book(args: list[str]) -> int:
    student = "--student" in args
    unknown = [a for a in args if a != "--student"]
    if unknown:
        die(f"unknown arguments for 'book': {' '.join(unknown)}", 2)
    ensure_venv()
    # The HTML goes to <out>/_build/html: _build/html, or _build_student/_build/html.
    out = BUILD_STUDENT if student else ROOT
    clean = BUILD_STUDENT if student else BUILD
    # A clean build every time: force-execution is skipped on an unchanged rebuild.
    if clean.exists():
        say(f"removing {clean.relative_to(ROOT)}/")
        shutil.rmtree(clean)
    t0 = time.monotonic()
    source = ROOT
    if student:
        # The student edition is its own source tree (solutions removed, hide_solutions on),
        # written by teacher/student_edition.py and then built like the teacher's book.
        source = BUILD_STUDENT / "src"
        run_or_die(student_edition_command(source))
    rc, log = run_and_log(execute_command([(source, out)]))
    if rc == 0:
        say(f"notebooks executed in {time.monotonic() - t0:.0f} s; now the book (every "
            "notebook from the cache: none is executed again)")
    rc_build, build_log = run_and_log(book_build_command(source, out))
    rc, log = rc or rc_build, log + build_log
    index = out / "_build" / "html" / "index.html"
    took = time.monotonic() - t0
    print(notebook_summary(log, source, "student" if student else "teacher"), flush=True)
    if rc != 0 or not index.exists():
        reports = index.parent / "reports"
        hint = f" (notebook tracebacks: {reports.relative_to(ROOT)}/)" if reports.exists() else ""
        die(f"book build FAILED after {took:.0f} s (exit code {rc}){hint}", rc or 1)
    say(f"book built in {took:.0f} s. Open:")
    print(index)
    return 0


def assemble_site(teacher_html: Path, student_html: Path, site: Path, python: Path | None = None):
    """The site GitHub Pages publishes: the reader's edition at the root, the student's at student/.

    The reader's edition is the teacher build's HTML, whose pages show no autograder test (the
    grade cells are removed from the book), with its downloadable sources
    (``_sources/book/*.ipynb``) replaced by the reader's edition of the notebooks
    (``teacher/student_edition.py --reader``: nbgrader's grade cells, with their hidden tests,
    dropped). ``site`` must not exist yet.
    """
    if site.exists():
        die(f"{site} exists: assemble the site into a new folder", 2)
    shutil.copytree(teacher_html, site)
    shutil.copytree(student_html, site / "student")
    reader_src = site.parent / (site.name + "-reader-src")
    run_or_die([python or PY, ROOT / "teacher" / "student_edition.py", "--reader", reader_src])
    for notebook in (reader_src / "book").glob("*.ipynb"):
        published = site / "_sources" / "book" / notebook.name
        if published.exists():
            shutil.copyfile(notebook, published)
    return site


def cmd_site(args: list[str]) -> int:
    """`python3 tasks.py site TEACHER_HTML STUDENT_HTML OUT`: assemble what Pages publishes."""
    if len(args) != 3:
        die("usage: python3 tasks.py site TEACHER_HTML STUDENT_HTML OUT", 2)
    ensure_venv()
    assemble_site(*(Path(a) for a in args))
    say(f"site assembled in {args[2]}")
    return 0


def cmd_test(args: list[str]) -> int:
    ensure_venv()
    ensure_test_extras()
    t0 = time.monotonic()
    rc = run([PY, "-m", "pytest", *args])
    took = time.monotonic() - t0
    if rc == 5:
        say(f"pytest collected no tests (exit code 5) in {took:.0f} s: treated as a failure")
    elif rc != 0:
        say(f"tests FAILED (pytest exit code {rc}) after {took:.0f} s")
    else:
        say(f"tests passed in {took:.0f} s")
    return rc


def cmd_student(args: list[str]) -> int:
    """The student edition of the notebooks: `python teacher/student_edition.py OUTDIR [ARGS...]`."""
    if not args:
        die("usage: python3 tasks.py student OUTDIR", 2)
    ensure_venv()
    return run([*student_edition_command(Path(args[0])), *args[1:]])


COMMANDS = {"book": cmd_book, "test": cmd_test, "student": cmd_student, "site": cmd_site,
            "execute": cmd_execute}


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help", "help"} or argv[0] not in COMMANDS:
        print(__doc__)
        return 0 if argv and argv[0] in {"-h", "--help", "help"} else 2
    return COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
