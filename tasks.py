#!/usr/bin/env python3
"""Build and test the book "Neural Net from Scratch (NumPy only)".

Standard library only: runs with any Python 3.11+ on a fresh machine.

    python3 tasks.py book             # set up .venv, build the HTML book into _build/html
    python3 tasks.py book --student   # the same without solutions, into _build_student/
    python3 tasks.py test [ARGS...]   # set up .venv + test extras, run pytest ARGS
    python3 tasks.py student OUTDIR   # write the student edition's sources (MyST)
    python3 tasks.py notebooks [--student] OUTDIR   # the notebooks to work in, in JupyterLab
    python3 tasks.py site T S OUT [BRANCH]   # the Pages site (and notebooks branch) from the
                                             # teacher (T) and student (S) builds
    python3 tasks.py execute SOURCE OUT [SOURCE OUT ...]   # step 1 of a build (below)

Paths are relative to the current folder. Every build, into a clean OUT, has three steps:
1. `tasks.py execute SOURCE OUT` (run by .venv's Python) executes the notebooks of SOURCE's
   _toc.yml with jupyter-cache's parallel executor (one per core) into the build's cache
   OUT/_build/.jupyter_cache, and writes OUT/_build/execution.json (each notebook: ok or
   failed, seconds) and the executed copies in OUT/_build/executed/;
2. `jupyter-book build SOURCE -W -n --keep-going --path-output OUT` renders the book from
   that cache (`execute_notebooks: cache`): no notebook runs twice;
3. `teacher/plain_notebooks.py SOURCE OUT/_build/executed OUT/_build/notebooks` writes the
   notebooks every other front end opens (numbers filled in, no MyST), and they replace the
   MyST sources behind the pages' download buttons (OUT/_build/html/_sources).
Ctrl+C or SIGTERM stops a build and every process it started (kernels included).

Environment setup (every command): create .venv (or repair one left without pip), then
`pip install -r requirements.txt -e .`, skipped while a stamp in .venv (a hash of
requirements.txt, pyproject.toml and the Python version) matches. `test` also installs
torch==2.13.0 (a test-only reference) and Debian's Chromium (when run as root). The installs
are uv's `uv pip install` with pip's own settings (uv comes from pip; pip itself if uv cannot
be had or fails): the same packages, in a seventh of the time.

Environment variables: BOOK_CHROMIUM (browser for the browser tests, default
/usr/bin/chromium), TORCH_INDEX_URL (extra index for the torch install only), CI (if set,
a browser that cannot be installed is an error instead of a skip).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import NoReturn

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
BUILD = ROOT / "_build"
BUILD_STUDENT = ROOT / "_build_student"
OUTPUT_MARK = ".written-by-tasks-py"   # in a _build/ this tool made (and so may empty)
EXECUTED_DIR = "executed"              # OUT/_build/executed/<docname>.ipynb
STATUS_FILE = "execution.json"         # OUT/_build/execution.json: the build status
GROUP_VAR = "TASKS_PY_GROUP"           # marks every process of one build (kernels included)

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


def child_env(group: str | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["VIRTUAL_ENV"] = str(VENV)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.pop("PYTHONHOME", None)
    if group:
        env[GROUP_VAR] = group
    # Playwright must never try to download a browser: the tests use Debian's Chromium.
    env["PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD"] = "1"
    # NumPy's OpenBLAS is no faster with 2 threads on this model's small products, and erratic.
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    # Do NOT set MPLBACKEND here: it would override the inline backend in the notebook
    # kernels and the book would lose its figures.
    return env


# ----------------------------------------------------------------------------- processes
class Stopped(Exception):
    """SIGINT or SIGTERM arrived while a command ran."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_stopped(signum, frame):
    raise Stopped(signum)


def _ancestors() -> set[int]:
    pids, pid = {os.getpid()}, os.getpid()
    while pid > 1:
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
        pids.add(pid)
    return pids


def stop_marked(group: str, parent: int | None = None, grace: float = 5.0) -> None:
    """End every process whose environment carries GROUP_VAR=group, or whose parent is
    ``parent`` (Linux: /proc), this process and its ancestors excepted: SIGTERM, then
    SIGKILL after ``grace`` seconds. Kernels start in a session of their own, so a
    process-group signal misses them."""
    needle, skip = f"{GROUP_VAR}={group}\0".encode(), _ancestors()

    def found():
        pids = []
        for entry in Path("/proc").glob("[0-9]*") if Path("/proc").is_dir() else []:
            try:
                pid = int(entry.name)
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                if pid not in skip and (ppid == parent
                                        or needle in (entry / "environ").read_bytes()):
                    pids.append(pid)
            except (OSError, ValueError, IndexError):
                continue
        return pids

    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 2.0)):
        pids = found()
        for pid in pids:
            try:
                os.kill(pid, sig)
            except OSError:
                pass
        deadline = time.monotonic() + wait
        while pids and time.monotonic() < deadline:
            time.sleep(0.1)
            pids = found()
        if not pids:
            return


def run(cmd: list, *, cwd: Path = ROOT, extra_env: dict[str, str] | None = None) -> int:
    """Run ``cmd`` (echoed) in a process group of its own; return its exit code. On SIGINT
    (Ctrl+C) or SIGTERM, stop the command and everything it started, then exit 130 / 143."""
    cmd = [str(c) for c in cmd]
    say("$ " + " ".join(cmd))
    group = uuid.uuid4().hex
    previous = {s: signal.signal(s, _raise_stopped) for s in (signal.SIGINT, signal.SIGTERM)}
    proc = None
    try:
        proc = subprocess.Popen(cmd, cwd=cwd, env={**child_env(group), **(extra_env or {})},
                                start_new_session=True)
        return proc.wait()
    except Stopped as stop:
        say(f"{stop}: stopping {cmd[0]} and every process it started")
        if proc is not None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)   # quieter than SIGINT's tracebacks
            except OSError:
                pass
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        stop_marked(group)
        say("stopped")
        sys.exit(128 + stop.signum)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_or_die(cmd: list) -> None:
    rc = run(cmd)
    if rc != 0:
        die(f"command failed with exit code {rc}: {' '.join(str(c) for c in cmd)}", rc)


# ----------------------------------------------------------------------------- environment
def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(hashlib.sha256(p).digest())
    return h.hexdigest()


def _stamp_ok(stamp: Path, digest: str) -> bool:
    return stamp.is_file() and stamp.read_text().strip() == digest


def _has_pip(python: Path) -> bool:
    return python.exists() and subprocess.run([python, "-m", "pip", "--version"],
                                              capture_output=True).returncode == 0


def make_venv(venv: Path = VENV) -> None:
    """Create ``venv``, or complete one a cut-off run left without pip: `python -m venv` on
    an existing folder keeps what is there and installs what is missing (ensurepip, offline)."""
    python = venv / PY.relative_to(VENV)
    if _has_pip(python):
        return
    say(("repairing" if venv.exists() else "creating") + f" {venv} with {sys.executable}")
    rc = subprocess.run([sys.executable, "-m", "venv", str(venv)]).returncode
    if rc != 0 or not _has_pip(python):
        die(f"could not create the virtual environment {venv} (on Debian/Ubuntu: apt-get "
            "install python3-venv); or remove it and run again")


def pip_settings() -> tuple[list[str], dict[str, str]]:
    """pip's own settings on this machine (its configuration files and PIP_* variables: the
    package indexes, local wheel folders, constraints and certificate) as uv's options and
    environment, since uv reads neither."""
    listed = subprocess.run([PY, "-m", "pip", "config", "list"], capture_output=True,
                            text=True).stdout
    options, env = [], {}
    flags = {"index-url": "--index-url", "extra-index-url": "--extra-index-url",
             "find-links": "--find-links", "constraint": "--constraint"}
    for line in listed.splitlines():
        key, _, value = line.partition("=")
        name, value = key.rpartition(".")[2], value.strip().strip("'\"")
        if name in flags:
            for item in value.split():
                if (flags[name], item) not in zip(options[::2], options[1::2]):
                    options += [flags[name], item]
        elif name == "cert" and value:
            env["SSL_CERT_FILE"] = value
    return options, env


def uv() -> Path | None:
    """uv, installed into .venv by pip (one small wheel); None if it cannot be had."""
    tool = BIN / ("uv.exe" if os.name == "nt" else "uv")
    if not tool.exists():
        subprocess.run([PY, "-m", "pip", "install", "--disable-pip-version-check", "--quiet",
                        "uv"], capture_output=True)
    return tool if tool.exists() else None


def install(*args, compile_bytecode: bool = True) -> None:
    """``pip install ARGS`` into .venv, done by uv where it can be had (it installs the same
    packages from the same indexes, in parallel: about 5 s for requirements.txt instead of
    pip's 35 s), else, or if uv fails, by pip itself. ``compile_bytecode=False``: uv leaves
    the bytecode to be compiled by the first import of each module (for torch, of which the
    tests import a small part: compiling its 2,300 files took 11 s of CPU)."""
    tool = uv()
    if tool is not None:
        options, env = pip_settings()
        # pip takes the best match from all its indexes (uv, by default, only the first
        # index that has the package), and compiles the bytecode as it installs
        compile_option = ["--compile-bytecode"] if compile_bytecode else []
        rc = run([tool, "pip", "install", "--python", PY, "--index-strategy",
                  "unsafe-best-match", *compile_option, *options, *args], extra_env=env)
        if rc == 0:
            return
        say(f"uv failed (exit code {rc}): pip installs instead")
    run_or_die([PY, "-m", "pip", "install", "--disable-pip-version-check",
                *([] if compile_bytecode else ["--no-compile"]), *args])


def ensure_venv() -> None:
    if sys.version_info < MIN_PYTHON:
        die(f"Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]}+ is required (this is {sys.version.split()[0]})")
    if not PY.exists():
        make_venv()
    req, pyproject = ROOT / "requirements.txt", ROOT / "pyproject.toml"
    pyver = subprocess.run([PY, "-c", "import sys; print(sys.version)"], capture_output=True,
                           text=True).stdout.encode()
    digest = _digest(req.read_bytes(), pyproject.read_bytes(), pyver)
    stamp = VENV / ".tasks-requirements.sha256"
    if _stamp_ok(stamp, digest):
        say("environment up to date (requirements.txt and pyproject.toml unchanged)")
        return
    make_venv()                       # a .venv left without pip is repaired before installing
    t0 = time.monotonic()
    install("-r", req, "-e", ROOT)
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
        install(*extra, TORCH, compile_bytecode=False)
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


def execute_command(pairs: list[tuple[Path, Path]], python: Path | None = None) -> list[str]:
    """Execute the notebooks of each (SOURCE, OUT) pair into OUT's cache (``cmd_execute``)."""
    return [str(python or PY), str(ROOT / "tasks.py"), "execute",
            *(str(Path(p).resolve()) for pair in pairs for p in pair)]


def plain_notebooks_command(source: Path, out: Path, python: Path | None = None) -> list[str]:
    """Write the plain copies of a built book's notebooks into OUT/_build/notebooks
    (teacher/plain_notebooks.py: numbers filled in, no MyST), what every front end but the
    HTML book opens."""
    return [str(python or PY), str(ROOT / "teacher" / "plain_notebooks.py"), str(source),
            str(Path(out) / "_build" / EXECUTED_DIR), str(Path(out) / "_build" / "notebooks")]


def publish_plain_notebooks(out: Path) -> int:
    """The book's download button serves the plain copies: each OUT/_build/html/_sources
    notebook (this tool's build) is replaced by its copy in OUT/_build/notebooks. Returns how
    many. A page without a copy raises FileNotFoundError: it would serve MyST (and, in the
    teacher's build, the autograder's hidden tests)."""
    build = Path(out) / "_build"
    sources = sorted((build / "html" / "_sources").rglob("*.ipynb"))
    missing = [str(p) for p in sources if not (build / "notebooks" / p.relative_to(
        build / "html" / "_sources")).is_file()]
    if missing:
        raise FileNotFoundError(f"no plain copy of {', '.join(missing)}")
    for path in sources:
        shutil.copyfile(build / "notebooks" / path.relative_to(build / "html" / "_sources"), path)
    return len(sources)


def read_status(out: Path) -> list[dict]:
    """The build status ``tasks.py execute`` wrote for OUT: one record per notebook, in the
    toc's order: {"docname", "path", "ok", "seconds", "executed_as"}. ``executed_as`` is the
    path that was executed: another book's copy when the notebook is the same in both."""
    path = Path(out) / "_build" / STATUS_FILE
    return json.loads(path.read_text())["notebooks"] if path.is_file() else []


def notebook_summary(status: list[dict], edition: str) -> str:
    """One line per notebook and its execution time, and the total: what the CI log shows."""
    lines, total, shared = [], 0.0, 0
    for rec in status:
        own = rec["executed_as"] == rec["path"]
        shared += not own
        total += (rec["seconds"] or 0) if own else 0
        lines.append(f"[{edition}] executed {rec['docname']:<24} "
                     + (f"{rec['seconds']:6.1f} s" if rec["ok"] else "FAILED")
                     + ("" if own else "  (same notebook in another edition: run once)"))
    lines.append(f"[{edition}] {len(status)} notebooks, {total:.1f} s of execution"
                 + (f", {shared} shared with another edition" if shared else ""))
    return "\n".join(lines)


# ----------------------------------------------------------------------------- execution
def keep_every_cached_notebook() -> None:
    """Turn off jupyter-cache's truncation of a cache (in this process and the pool's).

    After caching each notebook, jupyter-cache 1.0 deletes the records beyond its limit:
    it reads the records to keep, then those to delete, in two queries. With two workers, a
    record the other one commits between them is deleted before its notebook is written
    (``KeyError: 'Notebook file does not exist for cache record PK: 2'``), and that notebook
    is reported as failed (seen here twice, as "the kernel died?"). The build's cache is new
    each build and far below the limit (1000), so truncating never deletes anything else.
    """
    from jupyter_cache.cache.main import JupyterCacheBase

    JupyterCacheBase.truncate_caches = lambda self: None


def cmd_execute(args: list[str]) -> int:
    """`tasks.py execute SOURCE OUT [SOURCE OUT ...]`, run by .venv's Python.

    Executes every notebook of each SOURCE's _toc.yml with jupyter-cache's "local-parallel"
    executor (a pool of one process per core; each notebook executed as myst-nb's cache mode
    executes one: single_nb_execution, the notebook's folder as cwd) into OUT's cache, where
    the build then finds it. Exit code 1 if a notebook failed.

    Own code, and why: jupyter-cache executes the notebooks of one cache, and keys a cache by
    the code cells only. A notebook that is the same in several books (cells and metadata:
    the two editions share four pages) is executed once, in the first book's cache, and its
    record copied into the others: a notebook whose code is the same but whose text differs
    runs in each book (its outputs may depend on its text: its reading time is computed).
    """
    if not args or len(args) % 2:
        die("usage: tasks.py execute SOURCE OUT [SOURCE OUT ...]", 2)
    if Path(sys.prefix).resolve() != VENV.resolve() and PY.exists():   # python3 tasks.py ...
        return run([PY, ROOT / "tasks.py", "execute", *(str(Path(a).resolve()) for a in args)])
    os.environ[GROUP_VAR] = uuid.uuid4().hex     # its own: the kernels inherit it
    main_pid, stopping = os.getpid(), []
    # a worker the pool forks to replace a stopped one exits at once
    os.register_at_fork(after_in_child=lambda: stopping and os._exit(128 + stopping[0]))

    def on_stop(signum, frame):
        # Everything here, then os._exit: unwinding through multiprocessing's Pool while its
        # workers are being killed can deadlock it.
        if os.getpid() == main_pid:
            if stopping:               # a second signal while stopping: the first goes on
                return
            stopping.append(signum)
            stop_marked(os.environ[GROUP_VAR], parent=main_pid, grace=2.0)
            say(f"{signal.Signals(signum).name}: stopped, with every notebook process")
        os._exit(128 + signum)         # a pool worker (forked: it inherits the handler) too

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_stop)
    import logging
    import multiprocessing

    import nbformat
    import yaml
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn
    from jupyter_cache.executors import load_executor
    from sphinx_external_toc.parsing import parse_toc_yaml

    keep_every_cached_notebook()
    logging.basicConfig(level=logging.WARNING, format="[jupyter-cache] %(message)s")
    logger = logging.getLogger("tasks.execute")
    logger.setLevel(logging.WARNING)      # multiprocessing's own chatter stays quiet too
    pairs = [(Path(s).resolve(), Path(o).resolve()) for s, o in zip(args[::2], args[1::2])]
    first_of: dict[tuple, Path] = {}     # (content, settings) -> the notebook executed
    books = []                           # (cache, out, settings, [(docname, path, first)])
    for source, out in pairs:
        execute = (yaml.safe_load((source / "_config.yml").read_text()) or {}).get("execute") or {}
        if execute.get("execute_notebooks") != "cache" or execute.get("cache"):
            die(f"{source}/_config.yml must set execute_notebooks: cache, and no cache path "
                "(the build's cache is OUT/_build/.jupyter_cache)", 2)
        settings = (execute.get("timeout", 30), bool(execute.get("allow_errors", False)))
        cache = get_cache(str(out / "_build" / ".jupyter_cache"))
        notebooks = []
        for docname in parse_toc_yaml(source / "_toc.yml"):
            path = source / f"{docname}.ipynb"
            if path.is_file():
                nb = nbformat.read(path, as_version=4)
                content = json.dumps({"metadata": nb.metadata, "cells": [
                    (c.cell_type, c.source, c.metadata) for c in nb.cells]}, sort_keys=True)
                first = first_of.setdefault((content, settings), path)
                if first == path:
                    cache.add_nb_to_project(str(path))
                notebooks.append((docname, path, first))
        books.append((cache, out, settings, notebooks))

    t0, results = time.monotonic(), {}
    for cache, out, (timeout, allow_errors), notebooks in books:
        if any(first == path for _, path, first in notebooks):
            multiprocessing.get_logger().handlers.clear()   # the executor adds one per run
            outcome = load_executor("local-parallel", cache, logger=logger).run_and_cache(
                timeout=timeout, allow_errors=allow_errors)
            results.update({Path(uri): cache for uri in outcome.succeeded})
            results.update({Path(uri): None for uri in outcome.excepted + outcome.errored})

    failed = 0
    for cache, out, _, notebooks in books:
        status = []
        for docname, path, first in notebooks:
            done = results.get(first)
            record = done.get_cached_project_nb(str(first)) if done is not None else None
            if record is not None and done is not cache:          # executed for another book
                bundle = done.get_cache_bundle(record.pk)
                cache.cache_notebook_bundle(CacheBundleIn(bundle.nb, str(path), data=record.data),
                                            check_validity=False, overwrite=True)
            ok = False
            if record is not None:       # what myst-nb will do: match the source in the cache
                try:
                    executed = cache.merge_match_into_notebook(nbformat.read(path, as_version=4))[1]
                    ok = True
                except KeyError:
                    pass
            if ok:
                copy = out / "_build" / EXECUTED_DIR / f"{docname}.ipynb"
                copy.parent.mkdir(parents=True, exist_ok=True)
                nbformat.write(executed, copy)
            failed += not ok and first == path
            seconds = record.data.get("execution_seconds") if record is not None else None
            status.append({"docname": docname, "path": str(path), "ok": ok,
                           "seconds": seconds, "executed_as": str(first)})
            say(f"{path}: " + (f"executed in {seconds:.1f} s" if ok else "execution FAILED")
                + ("" if first == path else f" (the same notebook as {first}: run once)"))
            if not ok and first == path:
                traceback = (cache.get_project_record(str(path)).traceback or "").strip()
                print(traceback[-4000:] or "(no traceback: the kernel died?)", flush=True)
        (out / "_build" / STATUS_FILE).write_text(json.dumps({"notebooks": status}, indent=1))
    say(f"{len(results)} notebooks executed, {os.cpu_count()} at a time, in "
        f"{time.monotonic() - t0:.1f} s" + (f"; {failed} FAILED" if failed else ""))
    return 1 if failed else 0


# ----------------------------------------------------------------------------- commands
def empty_build_dir(build_dir: Path) -> None:
    """Empty ``build_dir`` (an OUT/_build) for a clean build, only if this tool made it: it
    holds OUTPUT_MARK (or, from before the mark, the executed/ folder only this tool writes).
    Anything else there is someone's: refuse, deleting nothing."""
    if build_dir.exists():
        if not ((build_dir / OUTPUT_MARK).is_file() or (build_dir / EXECUTED_DIR).is_dir()):
            die(f"{build_dir} was not written by tasks.py (no {OUTPUT_MARK} in it): it may hold "
                "someone's work, so it is left alone. Move it away and run again.", 2)
        say(f"removing {build_dir}/ (written by tasks.py)")
        shutil.rmtree(build_dir)
    build_dir.mkdir(parents=True)
    (build_dir / OUTPUT_MARK).write_text("Written by tasks.py, which empties this folder "
                                         "before each build.\n")


def cmd_book(args: list[str]) -> int:
    student = "--student" in args
    unknown = [a for a in args if a != "--student"]
    if unknown:
        die(f"unknown arguments for 'book': {' '.join(unknown)}", 2)
    ensure_venv()
    # The HTML goes to <out>/_build/html: _build/html, or _build_student/_build/html. Only
    # <out>/_build is emptied; the student edition's sources in _build_student/src are
    # updated by teacher/student_edition.py, which never touches a file it did not write.
    out = BUILD_STUDENT if student else ROOT
    empty_build_dir(out / "_build")
    t0 = time.monotonic()
    source = ROOT
    if student:
        source = BUILD_STUDENT / "src"
        run_or_die(student_edition_command(source))
    rc = run(execute_command([(source, out)]))
    if rc == 0:
        say(f"notebooks executed in {time.monotonic() - t0:.0f} s; now the book (every "
            "notebook from the cache: none is executed again)")
    rc = run(book_build_command(source, out)) or rc
    if rc == 0:
        rc = run(plain_notebooks_command(source, out))
    if rc == 0:
        try:
            published = publish_plain_notebooks(out)
        except FileNotFoundError as err:
            die(str(err))
        say(f"{published} plain notebooks (numbers filled in, no MyST) in "
            f"{out / '_build' / 'notebooks'}, and behind the download buttons")
    index, took = out / "_build" / "html" / "index.html", time.monotonic() - t0
    print(notebook_summary(read_status(out), "student" if student else "teacher"), flush=True)
    if rc != 0 or not index.exists():
        reports = index.parent / "reports"
        hint = f" (notebook tracebacks: {reports}/)" if reports.exists() else ""
        die(f"book build FAILED after {took:.0f} s (exit code {rc}){hint}", rc or 1)
    say(f"book built in {took:.0f} s. Open:")
    print(index)
    return 0


def assemble_site(teacher_html: Path, student_html: Path, site: Path, python: Path | None = None,
                  branch: Path | None = None):
    """What the Pages workflow publishes, from the two tested builds (their OUT/_build/html).

    ``site``: the reader's edition at the root, the student's under student/. Each page's
    download button serves the build's plain notebook (``publish_plain_notebooks``: numbers
    filled in, no MyST, no autograder cell). ``branch`` (optional): the tree of the notebooks
    branch that ``_config.yml``'s ``repository`` names, which the Colab buttons open:
    ``reader/`` and ``student/``, each with the edition's plain notebooks (``book/``) and the
    library its ``%pip install`` line installs (``pyproject.toml``, ``nblib/``).
    """
    outs = [Path(p).resolve() for p in (teacher_html, student_html, site)]
    teacher_html, student_html, site = outs
    branch = Path(branch).resolve() if branch is not None else None
    for html in (teacher_html, student_html):
        if not html.is_dir():
            die(f"{html} is not a folder (a build's _build/html)", 2)
    for out in (site, branch):
        if out is not None and out.exists():
            die(f"{out} exists: assemble the site into a new folder", 2)
    editions = {"reader": teacher_html, "student": student_html}
    for edition, html in editions.items():
        plain = html.parent / "notebooks" / "book"
        if not sorted((html / "_sources" / "book").glob("*.ipynb")) or not plain.is_dir():
            die(f"{html} has no _sources/book/*.ipynb and plain notebooks beside it "
                f"({plain}): is it the _build/html of a build by tasks.py?", 2)
        for path in (html / "_sources" / "book").glob("*.ipynb"):
            copy = plain / path.name
            if not copy.is_file() or copy.read_bytes() != path.read_bytes():
                die(f"{path} is not the plain notebook {copy}: the {edition} build did not "
                    "finish (its download would serve MyST and, for the teacher, hidden "
                    "tests)", 1)
    shutil.copytree(teacher_html, site)
    shutil.copytree(student_html, site / "student")
    if branch is not None:
        shutil.copytree(teacher_html.parent / "notebooks", branch / "reader")
        shutil.copytree(ROOT / "nblib", branch / "reader" / "nblib",
                        ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copyfile(ROOT / "pyproject.toml", branch / "reader" / "pyproject.toml")
        # the student's library: the student build of nblib, no answer in it
        run_or_die([python or PY, ROOT / "teacher" / "student_build.py", branch / "student"])
        shutil.copytree(student_html.parent / "notebooks", branch / "student",
                        dirs_exist_ok=True)
    return site


def cmd_site(args: list[str]) -> int:
    """`python3 tasks.py site TEACHER_HTML STUDENT_HTML OUT [BRANCH]`: assemble what the Pages
    workflow publishes (``assemble_site``)."""
    if len(args) not in (3, 4):
        die("usage: python3 tasks.py site TEACHER_HTML STUDENT_HTML OUT [BRANCH]", 2)
    ensure_venv()
    paths = [Path(a).resolve() for a in args]
    site = assemble_site(*paths[:3], branch=paths[3] if len(paths) == 4 else None)
    say(f"site assembled in {site}" + (f", the notebooks branch in {paths[3]}"
                                       if len(paths) == 4 else ""))
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
    return run([*student_edition_command(Path(args[0]).resolve()), *args[1:]], cwd=Path.cwd())


def cmd_notebooks(args: list[str]) -> int:
    """`tasks.py notebooks [--student] OUTDIR`: the notebooks to open in JupyterLab (numbers
    filled in, no MyST: teacher/plain_notebooks.py) of the last build of that edition, built
    first if there is none, written into OUTDIR, which never loses a file its owner changed;
    with --student, the student build of nblib beside them (teacher/student_build.py)."""
    student = "--student" in args
    rest = [a for a in args if a != "--student"]
    if len(rest) != 1:
        die("usage: python3 tasks.py notebooks [--student] OUTDIR", 2)
    outdir = Path(rest[0]).resolve()
    out = BUILD_STUDENT if student else ROOT
    if not (out / "_build" / "notebooks").is_dir():
        say(f"no {'student' if student else 'teacher'} build yet: building it first")
        cmd_book(["--student"] if student else [])
    ensure_venv()
    source = BUILD_STUDENT / "src" if student else ROOT
    rc = run(plain_notebooks_command(source, out)[:-1] + [str(outdir)], cwd=Path.cwd())
    if rc == 0 and student:
        # The student build of nblib beside the notebooks, as nbgrader's release has it:
        # their kernels import it (the notebook's folder comes first on sys.path), not the
        # nblib of .venv, which holds every answer.
        rc = run([str(PY), str(ROOT / "teacher" / "student_build.py"), "--package",
                  str(outdir / "book" / "nblib")], cwd=Path.cwd())
    return rc


COMMANDS = {"book": cmd_book, "test": cmd_test, "student": cmd_student, "site": cmd_site,
            "execute": cmd_execute, "notebooks": cmd_notebooks}


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help", "help"} or argv[0] not in COMMANDS:
        print(__doc__)
        return 0 if argv and argv[0] in {"-h", "--help", "help"} else 2
    return COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
