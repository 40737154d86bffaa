"""tasks.py and the teacher tools under faults: each test reproduces one fault of issue 18.

- a relative OUTDIR is the current folder's, not the repository's (``student``, ``site``);
- ``book --student`` deletes nothing it did not write in _build_student/;
- Ctrl+C or SIGTERM stops a build and every process it started, kernels included;
- a .venv left without pip by a cut-off first run is repaired;
- a write killed part-way (teacher/safe_write.py) can be run again;
- teacher/course.py keeps an edited nbgrader_config.py and updates the rest.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbformat
import pytest

import tasks
from conftest import stand_in_executed
from teacher import course
from teacher.safe_write import UnsafeWrite, write_files

ROOT = tasks.ROOT
PYTHON = Path(sys.executable)


def _tasks(*args, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "tasks.py"), *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def _grade_cells(path: Path) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    return [c.get("id") for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")
            and not c.metadata["nbgrader"].get("solution")]


# ----------------------------------------------------------------------------- relative paths
def test_student_outdir_is_relative_to_the_current_folder(tmp_path):
    repo_ed = ROOT / "ed-from-test"
    assert not repo_ed.exists()
    proc = _tasks("student", "ed-from-test", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not repo_ed.exists(), "written into the repository"
    assert (tmp_path / "ed-from-test" / "book" / "01_data.ipynb").is_file()
    assert f"to {tmp_path / 'ed-from-test'}" in proc.stdout


def _fake_build(out: Path, name: str) -> Path:
    """OUT/_build/html with the teacher's notebooks as its _sources (as jupyter-book leaves
    them), and OUT/_build/notebooks with grade-free copies (as plain_notebooks.py writes them)."""
    from teacher.student_edition import student_notebook

    html = out / "_build" / "html"
    (html / "_sources" / "book").mkdir(parents=True)
    (out / "_build" / "notebooks" / "book").mkdir(parents=True)
    for nb_name in ("05_exercises.ipynb", "02_network.ipynb"):
        shutil.copy(ROOT / "book" / nb_name, html / "_sources" / "book" / nb_name)
        nbformat.write(student_notebook(nbformat.read(ROOT / "book" / nb_name, as_version=4),
                                        reader=True),
                       out / "_build" / "notebooks" / "book" / nb_name)
    (html / "index.html").write_text(name)
    return html


def test_site_paths_are_relative_to_the_current_folder(tmp_path):
    """The published notebooks are the plain copies (no grade cell), from any folder; a build
    whose downloads are still the teacher's sources is refused."""
    sys.path.insert(0, str(ROOT))
    import tasks
    teacher, student = _fake_build(tmp_path / "T", "teacher"), _fake_build(tmp_path / "S",
                                                                           "student")
    assert _grade_cells(teacher / "_sources" / "book" / "05_exercises.ipynb")  # the fault's input
    proc = _tasks("site", "T/_build/html", "S/_build/html", "site", cwd=tmp_path)
    assert proc.returncode == 1 and "is not the plain notebook" in proc.stderr, proc.stderr
    assert not (tmp_path / "site").exists()
    assert tasks.publish_plain_notebooks(tmp_path / "T") == 2
    assert tasks.publish_plain_notebooks(tmp_path / "S") == 2
    proc = _tasks("site", "T/_build/html", "S/_build/html", "site", "branch", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not (ROOT / "site").exists() and not (ROOT / "branch").exists()
    for name in ("05_exercises.ipynb", "02_network.ipynb"):
        assert _grade_cells(tmp_path / "site" / "_sources" / "book" / name) == [], name
        for edition in ("reader", "student"):
            assert _grade_cells(tmp_path / "branch" / edition / "book" / name) == [], name
    assert (tmp_path / "site" / "student" / "index.html").read_text() == "student"
    assert (tmp_path / "branch" / "student" / "pyproject.toml").is_file()
    # the student's library has no answers; the reader's is nblib as it is
    student_linear = (tmp_path / "branch" / "student" / "nblib" / "core" / "linear.py").read_text()
    reader_linear = (tmp_path / "branch" / "reader" / "nblib" / "core" / "linear.py").read_text()
    assert "is yours to write" in student_linear and "is yours to write" not in reader_linear
    # a folder that is not a build's HTML is refused, not published as it is
    shutil.rmtree(teacher / "_sources")
    proc = _tasks("site", "T/_build/html", "S/_build/html", "site2", cwd=tmp_path)
    assert proc.returncode == 2 and "_sources/book" in proc.stderr
    assert not (tmp_path / "site2").exists()


# ----------------------------------------------------------------------------- book --student
@pytest.fixture
def fake_book(tmp_path, monkeypatch):
    """tasks.cmd_book with _build_student in tmp_path and no real install or build: each
    command it runs is recorded (the build then fails: no index.html)."""
    commands = []
    monkeypatch.setattr(tasks, "BUILD_STUDENT", tmp_path / "_build_student")
    monkeypatch.setattr(tasks, "ensure_venv", lambda: None)
    monkeypatch.setattr(tasks, "run", lambda cmd, **kw: commands.append(cmd) or 0)
    return tmp_path / "_build_student", commands


def test_book_student_keeps_a_student_edition_written_into_build_student(fake_book):
    build_student, commands = fake_book
    mine = build_student / "book" / "01_data.ipynb"         # `tasks.py student _build_student`
    mine.parent.mkdir(parents=True)
    mine.write_text("my answers")
    with pytest.raises(SystemExit):                          # the fake build makes no HTML
        tasks.cmd_book(["--student"])
    assert mine.read_text() == "my answers"
    assert (build_student / "_build" / tasks.OUTPUT_MARK).is_file()
    assert len(commands) == 4              # edition, execute, jupyter-book, plain notebooks


def test_book_student_refuses_a_build_folder_it_did_not_write(fake_book, capsys):
    build_student, commands = fake_book
    theirs = build_student / "_build" / "notes.md"
    theirs.parent.mkdir(parents=True)
    theirs.write_text("someone's notes")
    with pytest.raises(SystemExit) as exit_:
        tasks.cmd_book(["--student"])
    assert exit_.value.code == 2 and commands == []
    assert theirs.read_text() == "someone's notes"
    assert "was not written by tasks.py" in capsys.readouterr().err
    (theirs.parent / tasks.OUTPUT_MARK).write_text("")       # one the tool made: emptied
    with pytest.raises(SystemExit):
        tasks.cmd_book(["--student"])
    assert not theirs.exists() and len(commands) == 4


# ----------------------------------------------------------------------------- signals
LOOPING_CELL = textwrap.dedent("""\
    import pathlib, time
    beat = pathlib.Path("heartbeat")
    for i in range(3000):
        beat.write_text(str(i))
        time.sleep(0.1)""")


def _survivors(folder: Path) -> list[str]:
    """Processes whose working folder or command line is inside ``folder``."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            cwd = os.readlink(entry / "cwd")
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if cwd.startswith(str(folder)) or str(folder) in cmdline:
            found.append(f"{entry.name}: {cmdline[:150]}")
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs Linux's /proc")
@pytest.mark.parametrize("how", ["ctrl-c on the build", "sigterm to the build",
                                 "sigterm to tasks.py execute"])
def test_a_stopped_build_leaves_no_process_behind(tmp_path, how):
    src = tmp_path / "src"
    (src / "book").mkdir(parents=True)
    shutil.copy(ROOT / "_config.yml", src / "_config.yml")
    (src / "_toc.yml").write_text("format: jb-book\nroot: book/intro\nchapters:\n"
                                  "  - file: book/loop\n")
    (src / "book" / "intro.md").write_text("# Intro\n")
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(LOOPING_CELL)],
                                            metadata={"kernelspec": {"name": "python3",
                                                                     "display_name": "Python 3",
                                                                     "language": "python"}}),
                   src / "book" / "loop.ipynb")
    execute = tasks.execute_command([(src, tmp_path / "out")], python=PYTHON)
    if how == "sigterm to tasks.py execute":
        cmd = execute
    else:       # what `tasks.py book` does: tasks.run, the build in a process group of its own
        cmd = [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r}); "
               f"import tasks; sys.exit(tasks.run({execute!r}))"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, start_new_session=True, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    beat = src / "book" / "heartbeat"
    try:
        deadline = time.monotonic() + 60
        while not beat.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        assert beat.exists(), "the kernel never started"
        if how == "ctrl-c on the build":           # the terminal signals the foreground group
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode in (130, 143), (proc.returncode, out, err)
        # it ends with its own word, not a traceback (a dying kernel's may come before)
        assert out.rstrip().endswith("stopped") or "stopped, with every notebook" in out, out
        assert "KeyboardInterrupt" not in err, err
        time.sleep(1.5)
        last = beat.read_text()
        time.sleep(1.0)
        assert beat.read_text() == last, "a kernel is still running"
        assert _survivors(tmp_path) == []
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        for line in _survivors(tmp_path):
            os.kill(int(line.split(":")[0]), signal.SIGKILL)


# ----------------------------------------------------------------------------- .venv
def test_a_venv_left_without_pip_is_repaired(tmp_path):
    """A first run cut off while creating .venv leaves a Python without pip."""
    venv = tmp_path / ".venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / tasks.PY.relative_to(tasks.VENV)
    (venv / "keep.txt").write_text("kept")
    assert subprocess.run([python, "-m", "pip", "--version"],
                          capture_output=True).returncode != 0        # the fault
    tasks.make_venv(venv)
    assert subprocess.run([python, "-m", "pip", "--version"],
                          capture_output=True).returncode == 0
    assert (venv / "keep.txt").read_text() == "kept"                 # repaired, not replaced


# ----------------------------------------------------------------------------- killed writes
KILL_AFTER = textwrap.dedent("""\
    import json, os, sys
    sys.path.insert(0, {root!r})
    from teacher.safe_write import write_files
    calls, real = [0], os.replace
    def replace(a, b):              # dies like a SIGKILL (no finally) after {n} replacements
        real(a, b)
        calls[0] += 1
        if calls[0] == {n}:
            os._exit(9)
    os.replace = replace
    files = {{k: v.encode() for k, v in json.loads(sys.argv[2]).items()}}
    write_files(sys.argv[1], files, ".manifest", "tool")
""")


def _killed_write(outdir: Path, files: dict[str, str], replacements: int) -> None:
    script = KILL_AFTER.format(root=str(ROOT), n=replacements)
    proc = subprocess.run([sys.executable, "-c", script, str(outdir), json.dumps(files)])
    assert proc.returncode == 9


@pytest.mark.parametrize("earlier", [None, "v1"])
def test_a_write_killed_part_way_can_be_run_again(tmp_path, earlier):
    out = tmp_path / "edition"
    if earlier:
        write_files(out, {n: f"{earlier} {n}".encode() for n in "abc"}, ".manifest", "tool")
    new = {n: f"v2 {n}" for n in "abc"}
    _killed_write(out, new, replacements=3)          # the manifest, a and b: not c
    assert (out / "b").read_text() == "v2 b"
    assert (out / "c").exists() == bool(earlier)
    written, _ = write_files(out, {n: f"v3 {n}".encode() for n in "abc"}, ".manifest", "tool")
    assert sorted(p.name for p in written) == ["a", "b", "c"]
    assert json.loads((out / ".manifest").read_text())["pending"] == {}
    # what is still refused: a file changed after the tool wrote it
    (out / "a").write_text("the student's answer")
    with pytest.raises(UnsafeWrite, match="changed since"):
        write_files(out, {n: b"v4" for n in "abc"}, ".manifest", "tool")


# ----------------------------------------------------------------------------- course.py
def test_course_keeps_an_edited_config_and_updates_the_rest(tmp_path, capsys):
    folder = tmp_path / "course"
    ran = stand_in_executed(tmp_path / "ran")
    files = course.course_files(folder, course_id="c", exchange=tmp_path / "x", executed=ran)
    notebook = next(rel for rel in files if rel.startswith("source/"))
    older = {**files, notebook: b'{"an": "older book"}'}
    write_files(folder, older, course.MANIFEST, "teacher/course.py")     # an earlier run
    config = folder / "nbgrader_config.py"
    config.write_text(config.read_text() + "\nc.Execute.timeout = 999   # the teacher's\n")
    assert course.main([str(folder), "--course-id", "c", "--task-timeout", "30",
                        "--exchange", str(tmp_path / "x"), "--executed", str(ran)]) == 0
    assert config.read_text().endswith("c.Execute.timeout = 999   # the teacher's\n")
    assert (folder / notebook).read_bytes() == files[notebook]           # updated
    assert "kept your edited" in capsys.readouterr().out
    # another file the teacher changed is still refused
    (folder / notebook).write_text("changed")
    assert course.main([str(folder), "--course-id", "c", "--executed", str(ran)]) == 2
    assert "changed since" in capsys.readouterr().err


def test_execute_turns_off_the_cache_truncation_that_races_between_workers(tmp_path, monkeypatch):
    """jupyter-cache deletes the records beyond its limit after caching each notebook, by two
    queries; a record the other worker commits between them is picked for deletion before its
    notebook is written, and caching fails with a KeyError (tasks.py execute then reports that
    notebook as failed). Here the race's outcome is forced: the pick is made for it."""
    from jupyter_cache import get_cache
    from jupyter_cache.cache.db import NbCacheRecord
    from jupyter_cache.cache.main import JupyterCacheBase

    cache = get_cache(str(tmp_path / "cache"))
    record = NbCacheRecord.create_record(uri="other.ipynb", hashkey="h", db=cache.db)
    monkeypatch.setattr(NbCacheRecord, "records_to_delete",
                        staticmethod(lambda keep, db: [record.pk]))
    with pytest.raises(KeyError, match="Notebook file does not exist"):
        cache.truncate_caches()
    monkeypatch.setattr(JupyterCacheBase, "truncate_caches", JupyterCacheBase.truncate_caches)
    tasks.keep_every_cached_notebook()          # what tasks.py execute does first
    cache.truncate_caches()
    assert [r.pk for r in cache.list_cache_records()] == [record.pk]


# ------------------------------------------------------------------ installs: uv, else pip
PIP_CONFIG = """\
:env:.cert='/etc/ssl/certs/ca.crt'
:env:.find-links='/opt/wheels'
global.constraint='/etc/pip/constraints.txt'
global.extra-index-url='file:///opt/a/simple file:///opt/b/simple'
global.find-links='/opt/wheels'
global.timeout='60'
"""


def test_pip_settings_become_uvs_options(monkeypatch):
    """uv reads neither pip's configuration files nor PIP_* variables: pip's indexes, wheel
    folders, constraints and certificate are handed to it (each once, in pip's order)."""
    monkeypatch.setattr(tasks.subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(
        a[0], 0, stdout=PIP_CONFIG, stderr=""))
    options, env = tasks.pip_settings()
    assert options == ["--find-links", "/opt/wheels", "--constraint", "/etc/pip/constraints.txt",
                       "--extra-index-url", "file:///opt/a/simple",
                       "--extra-index-url", "file:///opt/b/simple"]
    assert env == {"SSL_CERT_FILE": "/etc/ssl/certs/ca.crt"}


@pytest.mark.parametrize("uv_rc, expected", [(0, ["uv"]), (2, ["uv", "pip"]), (None, ["pip"])])
def test_install_uses_uv_and_falls_back_to_pip(monkeypatch, uv_rc, expected):
    """The same arguments go to uv (with pip's settings) and, if uv is missing or fails, to pip."""
    calls = []
    monkeypatch.setattr(tasks, "uv", lambda: None if uv_rc is None else Path("/venv/bin/uv"))
    monkeypatch.setattr(tasks, "pip_settings", lambda: (["--find-links", "/w"], {"X": "1"}))

    def fake_run(cmd, **kwargs):
        calls.append(("uv" if str(cmd[0]).endswith("uv") else "pip", cmd, kwargs))
        return uv_rc if calls[-1][0] == "uv" else 0

    monkeypatch.setattr(tasks, "run", fake_run)
    tasks.install("-r", "requirements.txt")
    assert [c[0] for c in calls] == expected
    for who, cmd, kwargs in calls:
        assert cmd[-2:] == ["-r", "requirements.txt"]
        if who == "uv":
            assert cmd[1:3] == ["pip", "install"] and "--find-links" in cmd
            assert kwargs["extra_env"] == {"X": "1"}
        else:
            assert cmd[1:4] == ["-m", "pip", "install"]


@pytest.mark.parametrize("uv_rc", [0, 2])
def test_torch_is_installed_without_compiling_its_bytecode(monkeypatch, uv_rc):
    """requirements.txt's packages are compiled as they install (as pip does); torch's 2,300
    files are not (the tests import a small part of them, compiled on first import), by uv
    and by pip's fallback alike."""
    calls = []
    monkeypatch.setattr(tasks, "uv", lambda: Path("/venv/bin/uv"))
    monkeypatch.setattr(tasks, "pip_settings", lambda: ([], {}))
    monkeypatch.setattr(tasks, "run", lambda cmd, **kw: calls.append(cmd) or uv_rc)
    monkeypatch.setattr(tasks, "run_or_die", lambda cmd, **kw: calls.append(cmd) or 0)
    monkeypatch.setattr(tasks, "ensure_chromium", lambda: None)
    monkeypatch.setattr(tasks, "VENV", Path("/nonexistent-venv"))
    monkeypatch.setattr(tasks, "_stamp_ok", lambda stamp, value: False)
    monkeypatch.setattr(Path, "write_text", lambda self, text: None)
    tasks.install("-r", "requirements.txt")
    assert "--compile-bytecode" in calls[0]
    calls.clear()
    tasks.ensure_test_extras()
    assert tasks.TORCH in calls[0] and "--compile-bytecode" not in calls[0]
    if uv_rc:                                               # uv failed: pip installs torch
        assert calls[1][1:4] == ["-m", "pip", "install"] and "--no-compile" in calls[1]


@pytest.mark.parametrize("student", [True, False])
def test_the_students_notebooks_get_the_student_build_beside_them(tmp_path, monkeypatch,
                                                                   student):
    """``tasks.py notebooks --student OUT`` writes the student build of nblib into
    OUT/book/nblib (which the notebooks import, not .venv's nblib with every answer); the
    reader's notebooks get none."""
    ran = []
    monkeypatch.setattr(tasks, "run", lambda cmd, **kw: ran.append([str(c) for c in cmd]) or 0)
    monkeypatch.setattr(tasks, "ensure_venv", lambda: None)
    for build in (tmp_path / "S", tmp_path / "T"):
        (build / "_build" / "notebooks").mkdir(parents=True)
    monkeypatch.setattr(tasks, "BUILD_STUDENT", tmp_path / "S")
    monkeypatch.setattr(tasks, "ROOT", tmp_path / "T")
    out = tmp_path / "my-work"
    assert tasks.cmd_notebooks((["--student"] if student else []) + [str(out)]) == 0
    library = [cmd for cmd in ran if cmd[1].endswith("student_build.py")]
    assert library == ([[str(tasks.PY), str(tmp_path / "T" / "teacher" / "student_build.py"),
                         "--package", str(out / "book" / "nblib")]] if student else [])

