#!/usr/bin/env python3
"""Build and test the book "Neural Net from Scratch (NumPy only)".

Standard library only: runs with any Python 3.11+ on a fresh machine.

    python3 tasks.py book             # set up .venv, build the HTML book into _build/html
    python3 tasks.py book --student   # the same without solutions, into _build_student/
    python3 tasks.py test [ARGS...]   # set up .venv + test extras, run pytest ARGS
    python3 tasks.py student OUTDIR   # write the student edition of the notebooks
    python3 tasks.py site T S OUT     # the Pages site from a teacher (T) and student (S) build

Every build runs `jupyter-book build SOURCE -W -n --keep-going --path-output OUT` from a
clean OUT (`book_build_command`), executes each notebook once and ends with one line per
notebook and its execution time (`notebook_times`). The tests build both editions the same
way, once per session (tests/conftest.py).

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
# myst-nb logs "<path>.ipynb: Executed notebook in 8.55 seconds [mystnb]" for each notebook,
# and "<path>.ipynb: WARNING: Executing notebook failed: CellExecutionError" on failure.
EXECUTED = re.compile(r"^(?P<path>\S+)\.ipynb: (?:WARNING: )?Execut(?:ed notebook in "
                      r"(?P<seconds>[\d.]+) seconds|ing notebook (?P<failed>failed))")


def notebook_runs(log: str, source: Path) -> list[tuple[str, float | None]]:
    """(docname, execution seconds or None if it failed) for each notebook execution in a
    build log, in order: a notebook executed twice appears twice."""
    runs = []
    source = source.resolve()
    for line in ANSI.sub("", log).splitlines():
        m = EXECUTED.match(line.strip())
        if m:
            path = Path(m["path"])
            docname = path.relative_to(source).as_posix() if path.is_relative_to(source) \
                else path.as_posix()
            runs.append((docname, None if m["failed"] else float(m["seconds"])))
    return runs


def notebook_summary(log: str, source: Path, edition: str) -> str:
    """One line per notebook execution and the total: what the CI log shows."""
    runs = notebook_runs(log, source)
    lines = [f"[{edition}] executed {docname:<24} " + ("FAILED" if t is None else f"{t:6.1f} s")
             for docname, t in runs]
    total = sum(t for _, t in runs if t is not None)
    lines.append(f"[{edition}] {len(runs)} notebook executions "
                 f"({len({d for d, _ in runs})} notebooks), {total:.1f} s in total")
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
    rc, log = run_and_log(book_build_command(source, out))
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


COMMANDS = {"book": cmd_book, "test": cmd_test, "student": cmd_student, "site": cmd_site}


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help", "help"} or argv[0] not in COMMANDS:
        print(__doc__)
        return 0 if argv and argv[0] in {"-h", "--help", "help"} else 2
    return COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
