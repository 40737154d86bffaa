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

NOT_RUN = {"teacher_guide"}

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


def run_nbval(paths: list[Path], folder: Path, seconds: dict[str, float]):
    """``pytest --nbval`` on the notebooks, in two processes side by side; (rc, log) each."""
    (folder / "sanitize.cfg").write_text(SANITIZE)
    startup = folder / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True, exist_ok=True)
    (startup / "00-semicolon.py").write_text(SEMICOLON)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1",
               IPYTHONDIR=str(folder / "ipython"))
    procs = []
    for k, group in enumerate(split_by_time(paths, seconds)):
        log = open(folder / f"nbval-{k}.log", "w")
        procs.append((subprocess.Popen(
            [sys.executable, "-m", "pytest", "--nbval", "--nbval-current-env",
             "--nbval-sanitize-with", str(folder / "sanitize.cfg"), "-p", "no:cacheprovider",
             "-q", "-rf", "--rootdir", str(folder), "-c", os.devnull,
             *(str(p) for p in group)],
            cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT), log, k))
    results = []
    for proc, log, k in procs:
        proc.wait(timeout=1800)
        log.close()
        results.append((proc.returncode, (folder / f"nbval-{k}.log").read_text()))
    return results


@after_build("teacher")
def nbval_run(teacher_build, tmp_path_factory):
    """nbval on the teacher build's plain notebooks, started as soon as the build is done:
    (the notebooks, [(return code, log)] of its two processes, seconds)."""
    require_ok(teacher_build)
    folder = tmp_path_factory.mktemp("nbval")
    seconds = {Path(r["docname"]).name: r["seconds"] or 30.0 for r in teacher_build.status}
    paths = prepare(teacher_build.build_dir, folder)
    t0 = time.monotonic()
    results = run_nbval(paths, folder, seconds)
    return paths, results, time.monotonic() - t0


def test_a_students_run_all_reproduces_every_output_of_the_page(nbval_run, capsys):
    paths, results, took = nbval_run
    assert len(paths) >= 8, paths
    passed = sum(int(m) for _, log in results for m in re.findall(r"(\d+) passed", log))
    failed = sum(int(m) for _, log in results for m in re.findall(r"(\d+) failed", log))
    with capsys.disabled():
        print(f"\n[nbval] --nbval (strict) on {len(paths)} notebooks, {passed + failed} cells "
              f"collected: {passed} passed, {failed} failed, in {took:.0f} s (two processes)")
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
