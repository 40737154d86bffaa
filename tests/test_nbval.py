"""nbval re-executes every notebook of the book, as the user's design asks, in its strict mode:
a student's Run All must reproduce every output of the published page.

The notebooks nbval runs are the ones a student gets (the reader's edition's plain notebooks,
OUT/_build/notebooks: teacher/plain_notebooks.py), each holding the outputs the book build
computed, cell by cell (matched by cell id). ``pytest --nbval`` executes each notebook in a
fresh kernel and compares every output but images and widget ids: printed text, tables, and
every value the page glues into its prose (myst-nb stores them as outputs), so every number
in the prose is recomputed and compared. A cell that raises fails too: the claim's asserts
(">95% held-out accuracy") run in it.

What may differ between two runs is sanitised (``SANITIZE``): wall-clock times (the pages glue
them as ``nblib.pages.glue.wall_clock`` values, whose text ends in ``# wall clock``; tables
print them with their unit), progress bars, memory addresses, the random ids of HTML
animations, and the reading time (the plain copy's Markdown is not word for word the MyST
source's). Anything else that differs fails the test and is shown. The notebooks run in two
nbval processes side by side (one per core).

The pages a student does not write in (``ON_STUDENTS_PIECES``: 04_visualisation, claim,
cmu_benchmark, playground) run as the student edition holds them, in the second process,
whose nblib is the student build (every answer a stub that raises) with the pieces of a
student who has written them all (test_student_build.typed_edition): so one run shows both
that they reproduce the page and that they run on the student's own pieces. Their code is
the book's page's, cell for cell, but for the hidden cell that installs the student's
pieces (its table of whose piece each task uses is not printed there) and a first cell that
fails unless nblib is the student build. The pages the student writes in run on the
student's pieces in tests/test_student_build.py.

Two things about nbval itself:
- it executes cells with ``store_history=False``, and IPython then cannot see a cell's
  closing ``;`` (``DisplayHook.quiet`` reads the history): every ``check(...);`` would show
  its return value, as it never does in Jupyter. An IPython startup file given to nbval's
  kernels (``SEMICOLON``) puts the running cell where ``quiet`` looks, as Jupyter has it;
- ``teacher_guide`` is left out: it is a teacher's page that runs the repository's own
  ``teacher/`` tools on the source notebooks' nbgrader cells, so it runs in the repository
  only, where the book build executes it and tests/test_book.py checks it cell by cell.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from conftest import after_build
from test_book import require_ok
from test_student_build import LATER_PAGES, STUDENT_BUILD_PROBE, TYPED_PAGES, typed_edition

ROOT = Path(__file__).resolve().parents[1]
NOT_RUN = {"teacher_guide"}
ON_STUDENTS_PIECES = tuple(p for p in LATER_PAGES if p not in TYPED_PAGES)
"""The pages nbval runs on a student's pieces: those whose code is the reader's."""

SEMICOLON = """\
# nbval runs cells with store_history=False; IPython's ';' check reads the history.
def _remember(info):
    if not info.store_history:
        get_ipython().history_manager.input_hist_parsed.append(info.raw_cell)

def _forget(result):
    if not result.info.store_history:
        get_ipython().history_manager.input_hist_parsed.pop()

get_ipython().events.register("pre_run_cell", _remember)
get_ipython().events.register("post_run_cell", _forget)
"""

SANITIZE = r"""
[wall-clock measurements glued by the pages (nblib.pages.glue.wall_clock)]
regex: -?\d+(\.\d+)?(e[+-]?\d+)?\s+# wall clock
replace: WALLCLOCK
[wall-clock seconds and rates]
regex: \d+(\.\d+)?\s?(s|ms|µs|seconds|it/s|s/it)\b
replace: TIME
[clock readings]
regex: \d\d:\d\d(:\d\d)?
replace: CLOCK
[progress bars]
regex: \d+%\|[^|\n]*\|
replace: PROGRESS
[memory addresses]
regex: 0x[0-9a-fA-F]+
replace: ADDRESS
[random ids of HTML animations and widgets]
regex: [0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}
replace: ID
[reading time: counted on the MyST source in the book, on the plain copy here]
regex: about \d+ minutes?|about [\d.]+ hours?|[\d,]+ (words of prose|lines of code|figures?|displayed equations?)
replace: READING
"""


def with_outputs(plain, executed):
    """The plain notebook with the executed notebook's outputs, cell by cell (by id)."""
    ran = {c.get("id"): c for c in executed.cells if c.cell_type == "code"}
    nb = nbformat.from_dict(plain)
    missing = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        source = ran.get(cell.get("id"))
        if source is None:
            missing.append(cell.get("id"))
            continue
        cell.outputs = source.outputs
        cell.execution_count = source.get("execution_count")
    return nb, missing


def prepare(build_dir: Path, folder: Path) -> list[Path]:
    """Each plain notebook of a build, with the build's outputs, written into ``folder``."""
    written = []
    for plain_path in sorted((build_dir / "notebooks" / "book").glob("*.ipynb")):
        if plain_path.stem in NOT_RUN:
            continue
        executed = build_dir / "executed" / "book" / plain_path.name
        nb, missing = with_outputs(nbformat.read(plain_path, as_version=4),
                                   nbformat.read(executed, as_version=4))
        assert not missing, f"{plain_path.name}: cells without a build output: {missing[:5]}"
        nbformat.write(nb, folder / plain_path.name)
        written.append(folder / plain_path.name)
    return written


def split_by_time(paths: list[Path], seconds: dict[str, float], workers: int = 2):
    """The notebooks in ``workers`` groups of about equal execution time (longest first)."""
    groups = [[] for _ in range(workers)]
    load = [0.0] * workers
    for path in sorted(paths, key=lambda p: -seconds.get(p.stem, 30.0)):
        k = load.index(min(load))
        groups[k].append(path)
        load[k] += seconds.get(path.stem, 30.0)
    return [g for g in groups if g]


def run_nbval(paths, folder: Path, seconds: dict[str, float]):
    """``pytest --nbval`` on the notebooks, in two processes side by side; (rc, log) each.
    ``paths``: a list of notebooks, split between the two by their ``seconds``; or
    {library folder: its notebooks}, one process each, whose kernels import nblib from that
    folder (PYTHONPATH), or as installed for the key None."""
    (folder / "sanitize.cfg").write_text(SANITIZE)
    startup = folder / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True, exist_ok=True)
    (startup / "00-semicolon.py").write_text(SEMICOLON)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1",
               IPYTHONDIR=str(folder / "ipython"))
    groups = ([(None, group) for group in split_by_time(paths, seconds)]
              if isinstance(paths, list) else list(paths.items()))
    procs = []
    for k, (library, group) in enumerate(groups):
        log = open(folder / f"nbval-{k}.log", "w")
        procs.append((subprocess.Popen(
            [sys.executable, "-m", "pytest", "--nbval", "--nbval-current-env",
             "--nbval-sanitize-with", str(folder / "sanitize.cfg"), "-p", "no:cacheprovider",
             "-q", "-rf", "--rootdir", str(folder), "-c", os.devnull,
             *(str(p) for p in group)],
            cwd=folder, env=env if library is None else dict(env, PYTHONPATH=str(library)),
            stdout=log, stderr=subprocess.STDOUT), log, k))
    results = []
    for proc, log, k in procs:
        proc.wait(timeout=1800)
        log.close()
        results.append((proc.returncode, (folder / f"nbval-{k}.log").read_text()))
    return results


def on_students_pieces(build_dir: Path, edition: Path) -> list[Path]:
    """The pages of ON_STUDENTS_PIECES as the student edition ``edition`` holds them (with
    its library, the solutions typed in: test_student_build.typed_edition), with the
    build's outputs, written over them in ``edition``/book, where their hidden cell reads
    the student's pieces from the notebooks of 01 to 03. Their code is the book's page's,
    cell for cell, but for that cell (``mine-all``, whose table of whose piece
    each task uses is not compared: it is told not to print it) and a first cell that fails
    unless nblib is the student build."""
    written = []
    for page in ON_STUDENTS_PIECES:
        path = edition / "book" / f"{page}.ipynb"
        nb = nbformat.read(path, as_version=4)
        page_source = nbformat.read(ROOT / "book" / f"{page}.ipynb", as_version=4)
        code = [(c.get("id"), c.source) for c in nb.cells
                if c.cell_type == "code" and c.get("id") != "mine-all"]
        assert code == [(c.get("id"), c.source) for c in page_source.cells
                        if c.cell_type == "code"], f"{page}: the student's code is not the book's"
        mine, = (c for c in nb.cells if c.get("id") == "mine-all")
        assert "use_my_pieces();" in mine.source, mine.source
        mine.source = mine.source.replace("use_my_pieces();", "use_my_pieces(verbose=False);")
        nb, missing = with_outputs(nb, nbformat.read(build_dir / "executed" / "book" / path.name,
                                                     as_version=4))
        assert missing == ["mine-all"], f"{page}: cells without a build output: {missing[:5]}"
        nb.cells.insert(0, nbformat.v4.new_code_cell(STUDENT_BUILD_PROBE, id="probe"))
        nbformat.write(nb, path)
        written.append(path)
    return written


@after_build("teacher")
def nbval_run(teacher_build, tmp_path_factory):
    """nbval on the teacher build's plain notebooks, started as soon as the build is done,
    in two processes: the pages of ON_STUDENTS_PIECES run on the student build of nblib
    with a student's pieces (``on_students_pieces``), the others on nblib.
    Returns (the notebooks, [(return code, log)] of the two processes, seconds)."""
    require_ok(teacher_build)
    folder = tmp_path_factory.mktemp("nbval")
    seconds = {Path(r["docname"]).name: r["seconds"] or 30.0 for r in teacher_build.status}
    paths = [p for p in prepare(teacher_build.build_dir, folder)
             if p.stem not in ON_STUDENTS_PIECES]
    theirs = on_students_pieces(teacher_build.build_dir, typed_edition(tmp_path_factory))
    t0 = time.monotonic()
    results = run_nbval({None: paths, theirs[0].parents[1]: theirs}, folder, seconds)
    return paths + theirs, results, time.monotonic() - t0


def test_a_students_run_all_reproduces_every_output_of_the_page(nbval_run, capsys):
    paths, results, took = nbval_run
    assert len(paths) >= 8, paths
    assert {p.stem for p in paths} >= set(LATER_PAGES), paths
    passed = sum(int(m) for _, log in results for m in re.findall(r"(\d+) passed", log))
    failed = sum(int(m) for _, log in results for m in re.findall(r"(\d+) failed", log))
    with capsys.disabled():
        print(f"\n[nbval] --nbval (strict) on {len(paths)} notebooks, {passed + failed} cells "
              f"collected: {passed} passed, {failed} failed, in {took:.0f} s (two processes; "
              f"{', '.join(ON_STUDENTS_PIECES)} on the student build with a student's pieces)")
    logs = "\n".join(log[-6000:] for rc, log in results if rc != 0)
    assert all(rc == 0 for rc, _ in results), logs
    assert passed > 200, passed        # every code cell of every notebook was collected


def test_nbval_fails_a_changed_number(tmp_path):
    """The comparison can fail: a glued number that differs from the stored one, and a claim
    cell that raises, each fail the strict run; a closing ';' and a wall-clock time that
    differs do not (a five-cell notebook, not the book)."""
    from IPython.core.formatters import format_display_data
    from myst_nb.ext.glue import GLUE_PREFIX

    from nblib.pages.glue import wall_clock

    def stored(name, value):
        bundle, metadata = format_display_data(value)
        return nbformat.v4.new_output("display_data", data={GLUE_PREFIX + k: v
                                                            for k, v in bundle.items()},
                                      metadata={**metadata, "scrapbook": {
                                          "name": name, "mime_prefix": GLUE_PREFIX}})

    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("from myst_nb import glue\nglue('acc', 0.95, display=False)",
                                  outputs=[stored("acc", 0.975)], execution_count=1),
        nbformat.v4.new_code_cell("assert 0.95 > 0.96, 'the claim'"),
        nbformat.v4.new_code_cell("glue_ok = 1"),
        nbformat.v4.new_code_cell("1 + 1;"),
        nbformat.v4.new_code_cell("from nblib.pages.glue import wall_clock\n"
                                  "glue('seconds', wall_clock(5.25), display=False)",
                                  outputs=[stored("seconds", wall_clock(3.5))],
                                  execution_count=5)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, tmp_path / "canary.ipynb")
    [(rc, log)] = run_nbval([tmp_path / "canary.ipynb"], tmp_path, {})
    assert rc != 0 and "2 failed" in log and "3 passed" in log, log[-3000:]
    assert "Cell 0" in log and "Cell 1" in log and "Cell 3" not in log.split("short test")[-1]
