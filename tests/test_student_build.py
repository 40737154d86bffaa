"""The student build of nblib (``teacher/student_build.py``) and the stored expectations.

* ``nblib/teaching/expectations.json`` is what ``python -m nblib.teaching.expectations
  --write`` records now (a stale file fails here), and the stale-file probe can fail.
* The student build holds no answer: no line of the body of any reference function or
  method of a task or exercise, no wrong piece of the mistakes catalogue, no autograder.
* Against the student build, in a fresh process whose nblib is the student build (the
  reference absent: each answer there raises NotImplementedError), every self-check
  passes each correct solution (the notebooks' worked answers) and names each catalogued
  mistake with its words.
"""
from __future__ import annotations

import ast
import inspect
import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

from nblib.teaching import expectations, registry
from teacher import student_build

from conftest import early

ROOT = Path(__file__).resolve().parents[1]


# ----------------------------------------------------------------------------- expectations
def test_the_stored_expectations_are_what_the_reference_gives_now():
    """Within rounding (another CPU's BLAS may differ in the last bits)."""
    fresh = json.loads(expectations.dumps(expectations.record()))
    stale = expectations.differences(json.loads(expectations.STORE.read_text(encoding="utf-8")),
                                     fresh)
    assert not stale, ("nblib/teaching/expectations.json is stale (python -m "
                       f"nblib.teaching.expectations --write): {stale[:10]}")


def test_the_comparison_of_recordings_sees_a_value_a_key_and_a_mistakes_words():
    table = json.loads(expectations.STORE.read_text(encoding="utf-8"))
    assert expectations.differences(table, json.loads(json.dumps(table))) == []
    changed = json.loads(json.dumps(table))
    changed["relu"]["want"]["forward"]["array"][0][0] += 1e-6
    changed["linear"]["mistakes"]["forward"][0][0] = "other words"
    del changed["sgd"]["want"]["0/trajectory"]
    assert len(expectations.differences(table, changed)) == 3


def test_the_staleness_probe_can_fail(tmp_path, monkeypatch):
    table = json.loads(expectations.STORE.read_text(encoding="utf-8"))
    table["adam"]["want"]["0/trajectory"]["arrays"][0][0] += 1e-3
    stale = tmp_path / "expectations.json"
    stale.write_text(expectations.dumps(table), encoding="utf-8")
    monkeypatch.setattr(expectations, "STORE", stale)
    assert expectations.main(["--check"]) == 1


def test_two_runs_that_record_different_values_under_one_key_are_refused():
    """A rubric item whose inputs differ from the whole check's needs keys of its own."""
    with expectations.recording():
        probe = expectations.Probe("relu", None)
        probe.want("k", lambda: np.zeros(3))
        probe.want("k", lambda: np.zeros(3))            # the same value again: fine
        with pytest.raises(RuntimeError, match="keys? of their own"):
            expectations.Probe("relu", None).want("k", lambda: np.ones(3))


def test_every_task_has_stored_expectations():
    stored = json.loads(expectations.STORE.read_text(encoding="utf-8"))
    needs = set(registry.ALL) - {"dropout", "ex_dropout", "ex_hidden_size"}   # property checks
    assert needs <= set(stored)


# ----------------------------------------------------------------------------- no answers
@pytest.fixture(scope="module")
def library(tmp_path_factory):
    out = tmp_path_factory.mktemp("student-build")
    student_build.write_student_library(out)
    return out


def _body_lines(obj):
    """The lines of a function's body (its docstring left out), stripped, that say something."""
    source = textwrap.dedent(inspect.getsource(obj))
    node = ast.parse(source).body[0]
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    lines = source.splitlines()
    out = set()
    for stmt in body:
        for line in lines[stmt.lineno - 1:stmt.end_lineno]:
            line = line.split("#")[0].strip()
            if len(line) >= 12 and line not in {"return out", "return dx"}:
                out.add(line)
    return out


def _answer_lines():
    """Every answer's body lines, from the teacher's nblib."""
    import importlib

    lines = {}
    for task_id, _, module, name, methods in student_build.answers():
        obj = getattr(importlib.import_module(module), name)
        for fn in ([obj] if methods is None else [vars(obj)[m] for m in methods]):
            for line in _body_lines(fn):
                lines[line] = f"{task_id}: {name}"
    return lines


def test_the_answer_probe_sees_the_answers_in_nblib():
    lines = _answer_lines()
    assert len(lines) > 60
    text = "\n".join(p.read_text() for p in (ROOT / "nblib").rglob("*.py"))
    assert sum(line in text for line in lines) == len(lines)


def _code_lines(text):
    """The stripped lines of Python source with its strings and comments left out."""
    import io
    import tokenize

    kept = []
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type not in (tokenize.STRING, tokenize.COMMENT):
            kept.append(tok)
    lines = {}
    for tok in kept:
        lines.setdefault(tok.start[0], []).append(tok.string)
    return {_normal(" ".join(parts)) for parts in lines.values()}


def _normal(line):
    """A line as its words and symbols, one space apart (spacing does not hide a line)."""
    import re
    return " ".join(re.findall(r"\w+|[^\w\s]", line))


GENERIC = {
    # the shared input checks and loops every layer and optimizer has, not an answer
    "self.check_input(x)", "self.check_dout(dout)", "for group in self.param_groups:",
    "rng = np.random.default_rng(rng)", "rng = np.random.default_rng(seed)",
    "model.backward(dlogits)", "if schedule is not None:", "return self.out",
    # the stable sigmoid (nblib.core.activations.sigmoid, which predict_proba uses): the
    # loss's self-check names the trick itself, log(1 + exp(-|z|))
    "e = np.exp(-np.abs(z))",
    # nblib.make_source_spirals, the source chapter's generator that 01_data shows as the
    # bug, shuffles as make_spirals does (the task's text says how: rng.permutation)
    "order = rng.permutation(2 * n)", "return X[order], y[order]",
}


def test_the_student_build_holds_no_answer_line(library):
    """No line of an answer's body is code in the student build (its messages, the words
    of the self-checks, are not looked at: they say what today's self-checks say)."""
    lines = {_normal(line): where for line, where in _answer_lines().items()
             if line not in GENERIC and _normal(line).count(" ") >= 3}
    found = []
    for path in (library / "nblib").rglob("*.py"):
        code = _code_lines(path.read_text(encoding="utf-8"))
        found += [f"{path.relative_to(library)}: {line!r} ({where})"
                  for line, where in lines.items() if line in code]
    assert not found, "\n".join(found)


def _strings(value):
    """Every string in a JSON value, keys too."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _data_lines(path):
    """The normalised lines of a data file of the build (a JSON file's strings, split)."""
    text = path.read_text(encoding="utf-8")
    texts = list(_strings(json.loads(text))) if path.suffix == ".json" else [text]
    return {_normal(line) for t in texts for line in t.splitlines()}


def test_the_student_builds_data_files_hold_no_answer_line(library):
    """The files of the build that are not Python (the stored expectations, pyproject):
    no answer line in any of their strings. The probe sees one planted in a JSON string."""
    lines = {_normal(line) for line in _answer_lines()
             if line not in GENERIC and _normal(line).count(" ") >= 3}
    data = [p for p in library.rglob("*") if p.is_file() and p.suffix != ".py"]
    assert {p.name for p in data} >= {"expectations.json", "pyproject.toml"}
    found = [f"{p.relative_to(library)}: {line!r}" for p in data
             for line in lines & _data_lines(p)]
    assert not found, "\n".join(found)
    planted = library.parent / "planted.json"
    planted.write_text(json.dumps({"k": ["x", "a\n" + sorted(lines)[0] + "\n"]}))
    assert lines & _data_lines(planted)


def test_the_student_build_has_no_wrong_pieces_and_no_autograder(library):
    assert not (library / "nblib/teaching/isolated.py").exists()
    mistakes = (library / "nblib/teaching/mistakes.py").read_text()
    assert "def " not in mistakes and "class Mistake" in mistakes
    assert "hidden" in (library / "nblib/teaching/grading.py").read_text()
    assert (library / "nblib/teaching/expectations.json").exists()


def test_the_student_build_as_a_package_beside_the_notebooks_is_what_they_import(tmp_path):
    """``--package``: the nblib folder itself (``tasks.py notebooks --student`` writes it
    beside the notebooks), which code run from their folder imports before the nblib
    installed with every answer; a second run rewrites its own files."""
    book = tmp_path / "my-work" / "book"
    book.mkdir(parents=True)
    (book / "01_data.ipynb").write_text("{}")                 # the folder is not empty
    for _ in range(2):
        assert student_build.main(["--package", str(book / "nblib")]) == 0
    assert not (book / "nblib" / "pyproject.toml").exists()
    probe = subprocess.run([sys.executable, "-c", "import nblib, nblib.teaching; "
                            "print(nblib.__file__, nblib.teaching.STUDENT_BUILD)"],
                           cwd=book, capture_output=True, text=True, timeout=60,
                           env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert probe.stdout.split() == [str(book / "nblib" / "__init__.py"), "True"], probe


def test_the_course_releases_the_student_build_beside_each_notebook(tmp_path, library):
    from teacher import course

    from conftest import stand_in_executed

    files = course.course_files(tmp_path / "c", course_id="c", exchange=tmp_path / "x",
                                executed=stand_in_executed(tmp_path / "ran"))
    built = {rel: data for rel, data in student_build.student_library().items()
             if rel.startswith("nblib/")}
    for folder in {rel.split("/")[1] for rel in files if rel.startswith("source/")}:
        mine = {rel.partition(f"source/{folder}/")[2]: data for rel, data in files.items()
                if rel.startswith(f"source/{folder}/nblib/")}
        assert mine == built, folder


def test_every_answer_is_a_stub_that_names_its_task_and_page(library):
    stubbed = {}
    for rel in {p.relative_to(library).as_posix() for p in (library / "nblib").rglob("*.py")}:
        text = (library / rel).read_text()
        for task_id, task in registry.ALL.items():
            if f"task {task_id!r} in {task.notebook}" in text:
                stubbed[task_id] = rel
    wanted = {t for t, task in registry.ALL.items() if task.reference is not None}
    # an exercise whose reference is a your-turn task's piece is named by that task
    shared = {t for t, task in registry.EXERCISES.items()
              if any(task.reference is y.reference for y in registry.YOUR_TURN.values())}
    assert wanted - shared <= set(stubbed)


# ----------------------------------------------------------------------------- self-checks
_RUN = r'''
import importlib.util, json, sys
from pathlib import Path
import numpy as np
import nblib
root, build = Path(sys.argv[1]), Path(sys.argv[2])
assert Path(nblib.__file__).resolve().is_relative_to(build.resolve()), nblib.__file__
from nblib.core.module import Module, Param
from nblib.teaching import checks, registry, yourturn
from nblib.core.linear import Linear
try:
    Linear(2, 3)
    raise SystemExit("the student build's Linear works: the reference is there")
except NotImplementedError:
    pass
spec = importlib.util.spec_from_file_location("teachers_mistakes",
                                              root / "nblib/teaching/mistakes.py")
catalogue = importlib.util.module_from_spec(spec)
sys.modules["teachers_mistakes"] = catalogue
spec.loader.exec_module(catalogue)
solved, pages = {}, {}
for nb in sorted({t.notebook for t in registry.YOUR_TURN.values()}):
    pages[nb] = yourturn.pieces_from_notebook(root / "book" / nb)
    assert not pages[nb]["__errors__"], pages[nb]["__errors__"]
    solved.update(pages[nb])
# each piece from the page that writes it (a later page may import nblib's, a stub here)
solved.update({t.name: pages[t.notebook][t.name] for t in registry.YOUR_TURN.values()})
cells = json.loads((root / "book/05_exercises.ipynb").read_text())["cells"]
ex = {"np": np, "nblib": nblib, "Module": Module, "Param": Param, "checks": checks}
for cell in cells:
    if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") in registry.EXERCISES:
        exec("".join(cell["source"]), ex)
solved.update({t.name: ex[t.name] for t in registry.EXERCISES.values()})
from nblib.teaching import mistakes as words_only       # the student build's: no wrong pieces


def catalogue_list(task):
    """The name of the catalogue's list that the task's registry entry is made of."""
    names = [name for name, value in vars(words_only).items()
             if isinstance(value, list) and value and len(value) == len(task.mistakes)
             and all(a is b for a, b in zip(value, task.mistakes))]
    assert len(names) == 1, (task.name, names)
    return names[0]


out = {}
for task_id, task in registry.ALL.items():
    result = task.check(solved[task.name], verbose=False)
    wrong = []
    teachers = getattr(catalogue, catalogue_list(task))
    assert [m.title for m in teachers] == [m.title for m in task.mistakes], task_id
    for mistake in teachers:
        r = task.check(mistake.build(solved), verbose=False)
        items = {p.name: task.check(mistake.build(solved), verbose=False,
                                    **dict(p.options)).passed
                 for p in task.parts if p.options}
        wrong.append([mistake.title, mistake.words, mistake.says, r.passed, r.message, items])
    parts = {}
    for p in task.parts:
        if p.options:        # each rubric item's hidden test, as the visible check runs it
            r = task.check(solved[task.name], verbose=False, **dict(p.options))
            parts[p.name] = [r.passed, r.message]
    out[task_id] = {"passed": result.passed, "message": result.message, "mistakes": wrong,
                    "parts": parts}
# 03's own network, in a folder holding 01 and 02 as the student left them (no pieces):
# every piece of 01 and 02 is missing, 03's are the student's
import shutil, tempfile
from nblib.teaching import STUDENT_BUILD
folder = Path(tempfile.mkdtemp())
here = {t.name: pages["03_training.ipynb"][t.name] for t in registry.YOUR_TURN.values()
        if t.notebook == "03_training.ipynb"}
pieces, table = yourturn.collect_pieces(here, "03_training.ipynb", folder, verbose=False)
try:
    pieces["linear"](2, 3)
    said = ""
except NotImplementedError as err:
    said = str(err)
out["__collect__"] = {"student_build": STUDENT_BUILD, "table": table, "linear": said}
# nblib's own code (the recipe, fit, ...) on the student's pieces
config = nblib.SpiralConfig(epochs=3)
try:
    nblib.train_spirals(config)
    before = ""
except NotImplementedError as err:
    before = str(err)
restore = yourturn.install_pieces(pieces)          # 01 and 02 missing: they say so
try:
    nblib.train_spirals(config)
    missing = ""
except NotImplementedError as err:
    missing = str(err)
restore()
mine = {t: solved[task.name] for t, task in registry.YOUR_TURN.items()}
restore = yourturn.install_pieces(mine)
result = nblib.train_spirals(nblib.SpiralConfig())
kinds = sorted({type(m).__name__ + ("/yours" if type(m) in mine.values() else "/nblib")
                for m in result.model.modules() if type(m) is not nblib.Sequential})
out["__own__"] = {"before": before, "missing": missing, "kinds": kinds,
                  "optimizer": type(nblib.make_optimizer(nblib.SpiralConfig(),
                                                          result.model.parameters())) is mine["adam"],
                  "accuracy": float(result.history.test_acc[-1])}
restore()
print(json.dumps(out))
'''


@pytest.fixture(scope="module")
def verdicts(library):
    env = {**os.environ, "PYTHONPATH": str(library), "OPENBLAS_NUM_THREADS": "1"}
    run = subprocess.run([sys.executable, "-c", _RUN, str(ROOT), str(library)], env=env,
                         capture_output=True, text=True, timeout=600, cwd=library)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_collect_pieces_says_which_piece_is_missing_in_the_student_build(verdicts):
    """No nblib piece stands in there: a piece not written yet is 'missing', and using it
    says which piece, on which page."""
    seen = verdicts["__collect__"]
    assert seen["student_build"] is True
    whose = {task_id: who for task_id, who, _ in seen["table"]}
    assert whose == {t: "yours" if task.notebook == "03_training.ipynb" else "missing"
                     for t, task in registry.YOUR_TURN.items()}
    assert "your Linear is missing: write it in 02_network.ipynb" in seen["linear"]


def test_nblibs_own_code_runs_on_the_students_pieces_in_the_student_build(verdicts):
    """``install_pieces``: nblib.train_spirals (the recipe: data, model, Adam, the schedule,
    fit and train_epoch) on the pieces the notebooks' solutions define; the student
    build's answers are stubs that raise, so any call of nblib's would fail the run."""
    own = verdicts["__own__"]
    assert "is yours to write" in own["before"]                      # nothing installed
    assert "is missing: write it in 0" in own["missing"]             # 01 and 02 not written
    assert own["kinds"] and all(k.endswith("/yours") for k in own["kinds"]), own["kinds"]
    assert own["optimizer"]
    assert own["accuracy"] > 0.95


def test_the_catalogue_the_subprocess_reads_is_the_registrys(verdicts):
    verdicts = {t: v for t, v in verdicts.items() if not t.startswith("__")}
    assert {t: len(v["mistakes"]) for t, v in verdicts.items()} == {
        t: len(task.mistakes) for t, task in registry.ALL.items()}


@pytest.mark.parametrize("task_id", list(registry.ALL))
def test_each_solution_passes_against_the_student_build(task_id, verdicts):
    assert verdicts[task_id]["passed"], verdicts[task_id]["message"]


@pytest.mark.parametrize("task_id", list(registry.ALL))
def test_each_mistake_is_named_against_the_student_build(task_id, verdicts):
    for title, words, says, passed, message, _ in verdicts[task_id]["mistakes"]:
        assert not passed, title
        assert words in message, (title, message)
        assert says in message, (title, message)


def test_each_rubric_item_passes_each_solution_against_the_student_build(verdicts):
    """An item's check (``upto=<item>``) reads its values from the stored expectations too."""
    items = {t: [p.name for p in task.parts if p.options] for t, task in registry.ALL.items()}
    assert sum(map(len, items.values())) >= 12
    for task_id, names in items.items():
        parts = verdicts[task_id]["parts"]
        assert sorted(parts) == sorted(names), task_id
        for name, (passed, message) in parts.items():
            assert passed, (task_id, name, message)


def test_an_item_that_does_not_cover_a_mistake_passes_it_against_the_student_build(verdicts):
    """Adam's first item (moving averages and update) accepts a missing or late bias
    correction, read from the stored expectations; its second item does not; SGD's plain
    item does not look at momentum."""
    items = {title: parts for title, *_, parts in verdicts["adam"]["mistakes"]}
    for title in ("leaves out the bias correction", "counts the first step as t = 2"):
        assert items[title] == {"moments": True, "bias_correction": False}, title
    assert {title for title, parts in items.items()
            if parts["moments"] and not parts["bias_correction"]} == {
        "leaves out the bias correction", "counts the first step as t = 2"}
    sgd = {title: parts["plain"] for title, *_, parts in verdicts["sgd"]["mistakes"]}
    assert any(sgd.values()) and not all(sgd.values()), sgd


def test_nblibs_adamw_runs_on_the_students_adam_once_it_is_installed():
    """AdamW derives from Adam: with the student's Adam installed, nblib's AdamW (in every
    module and in config.OPTIMIZERS) is AdamW on the student's Adam, its decay outside
    Adam's step, and the same numbers as nblib's AdamW; restore() puts nblib's back."""
    import nblib
    from nblib.core import config, optim
    from nblib.teaching import yourturn

    class Adam(optim.Adam):                       # a student's Adam (here: nblib's + a spy)
        decays = []

        def step(self):
            type(self).decays.append([g["weight_decay"] for g in self.param_groups])
            super().step()

    def trained(make):
        w = nblib.Param(np.linspace(-1.0, 1.0, 6))
        opt = make([w])
        for g in (np.ones(6), -0.5 * np.ones(6)):
            w.grad = g.copy()
            opt.step()
        return w.value, opt

    expected, _ = trained(lambda ps: optim.AdamW(ps, lr=0.1, weight_decay=0.5))
    restore = yourturn.install_pieces({"adam": Adam})
    try:
        for where in (nblib, config, optim):
            assert issubclass(where.AdamW, Adam), where
        mine, opt = trained(lambda ps: nblib.AdamW(ps, lr=0.1, weight_decay=0.5))
        assert Adam.decays == [[0.0], [0.0]]         # the decay is AdamW's, not in Adam's step
        assert opt.param_groups[0]["weight_decay"] == 0.5
        np.testing.assert_allclose(mine, expected, rtol=0, atol=1e-15)
        built = config.OPTIMIZERS["adamw"]([nblib.Param(np.ones(2))],
                                           nblib.SpiralConfig(optimizer="adamw"))
        assert isinstance(built, Adam)
    finally:
        restore()
    assert nblib.AdamW is optim.AdamW and not issubclass(optim.AdamW, Adam)


# ----------------------------------------------------------------------------- later pages
LATER_PAGES = ("01_data", "02_network", "03_training", "04_visualisation", "claim",
               "cmu_benchmark", "playground", "05_exercises")
"""Every page of the student edition that runs code (teacher_guide is the teacher's)."""
TYPED_PAGES = ("01_data", "02_network", "03_training", "05_exercises")
"""The pages the student writes in; the others are the reader's pages, code for code, and
nbval runs them on the student's pieces (tests/test_nbval.py, ``ON_STUDENTS_PIECES``)."""

_EXECUTE = r'''
import json, sys, nbformat, nbclient
from pathlib import Path
mode, paths = sys.argv[1], sys.argv[2:]      # "every-error": run every cell; "run-all": stop
out = {}                                     # at the first that raises, as Run All does
for path in paths:
    nb = nbformat.read(path, 4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(STUDENT_BUILD_PROBE, id="probe"))
    try:
        nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                allow_errors=mode == "every-error",
                                resources={"metadata": {"path": str(Path(path).parent)}}).execute()
    except nbclient.exceptions.CellExecutionError:
        pass                                 # run-all: its error is in the cell's outputs
    out[Path(path).stem] = [[c.get("id"), o["ename"], o["evalue"][:300]]
                            for c in nb.cells for o in c.get("outputs", [])
                            if o.get("output_type") == "error"]
print(json.dumps(out))
'''
STUDENT_BUILD_PROBE = "import nblib.teaching\nassert nblib.teaching.STUDENT_BUILD, nblib.__file__"
"""A first cell that fails unless the kernel's nblib is the student build."""


def _run_student_pages(edition: Path, mode: str, pages=LATER_PAGES) -> subprocess.CompletedProcess:
    """``pages`` of the student edition written in ``edition`` (with its library), executed
    in a fresh process with nblib = the student build (``_EXECUTE``)."""
    env = {**os.environ, "PYTHONPATH": str(edition), "OPENBLAS_NUM_THREADS": "1"}
    script = _EXECUTE.replace("STUDENT_BUILD_PROBE", repr(STUDENT_BUILD_PROBE))
    return subprocess.run([sys.executable, "-c", script, mode,
                           *(str(edition / "book" / f"{p}.ipynb") for p in pages)],
                          env=env, capture_output=True, text=True, timeout=1200,
                          cwd=edition / "book")


_TYPED_EDITION: dict = {}
_TYPED_EDITION_LOCK = threading.Lock()


def typed_edition(tmp_path_factory) -> Path:
    """The student edition with its library (``student_edition.py --library``), the
    solutions typed into the pages of TYPED_PAGES: a student who has written every piece.
    Written once per session (two background jobs use it: ``students_pages_run`` and
    tests/test_nbval.py's ``nbval_run``)."""
    import nbformat

    from teacher import student_edition

    with _TYPED_EDITION_LOCK:
        if "out" in _TYPED_EDITION:
            return _TYPED_EDITION["out"]
        out = tmp_path_factory.mktemp("student-pieces")
        student_edition.write_student_edition(out, ROOT, library=True)
        for page in TYPED_PAGES:
            source = nbformat.read(ROOT / "book" / f"{page}.ipynb", as_version=4)
            typed = {c.id: c.source for c in source.cells
                     if c.metadata.get("nbgrader", {}).get("solution")}
            path = out / "book" / f"{page}.ipynb"
            nb = nbformat.read(path, as_version=4)
            for cell in nb.cells:
                cell.source = typed.get(cell.get("id"), cell.source)
            nbformat.write(nb, path)
        _TYPED_EDITION["out"] = out
        return out


@early
def students_pages_run(tmp_path_factory):
    """The student edition with its library, the solutions typed in (``typed_edition``),
    each page of TYPED_PAGES executed with nblib = the student build (started when the
    session starts: it runs while the other tests do). The other pages run on the same
    pieces under nbval (tests/test_nbval.py). Returns (the pages of the edition that run
    code, {page: [its errors]}, the run's return code and stderr)."""
    out = typed_edition(tmp_path_factory)
    pages = {p.stem for p in (out / "book").glob("*.ipynb") if p.stem != "teacher_guide"}
    run = _run_student_pages(out, "every-error", TYPED_PAGES)
    errors = json.loads(run.stdout.strip().splitlines()[-1]) if run.returncode == 0 else None
    return pages, errors, run.returncode, run.stderr[-3000:]


@early
def students_first_run_all(tmp_path_factory):
    """The student edition with its library, as a student first opens it: nothing written
    yet. Each page run as Run All runs it, to its first error. Returns {page: None, or
    [cell id, exception name, message]}."""
    from teacher import student_edition

    out = tmp_path_factory.mktemp("student-first")
    student_edition.write_student_edition(out, ROOT, library=True)
    run = _run_student_pages(out, "run-all")
    assert run.returncode == 0, run.stderr[-3000:]
    return {page: errors[0] if errors else None        # Run All stops at its first error
            for page, errors in json.loads(run.stdout.strip().splitlines()[-1]).items()}


@pytest.mark.slow
def test_a_students_first_run_all_stops_where_a_piece_is_missing(students_first_run_all):
    """Nothing written yet: every page's Run All goes on until a cell needs a piece the
    student has not written, and stops there with NotImplementedError, saying which piece
    and where to write it (or the student's own stub's); never in the page's hidden set-up
    (it once stopped every page at its top, on a TypeError from nblib's AdamW rebuilt on
    the stand-in of the missing Adam)."""
    assert set(students_first_run_all) == set(LATER_PAGES)
    for page, first in students_first_run_all.items():
        if first is None:
            continue
        cell_id, name, message = first
        assert name == "NotImplementedError", (page, first)
        assert not cell_id.startswith(("mine-", "probe")), (page, first)
        assert message == "" or "is missing: write it in" in message, (page, first)


@pytest.mark.slow
def test_the_student_edition_runs_on_the_students_pieces(students_pages_run):
    """The student edition with its library, the solutions typed into 01 to 03 and 05: these
    pages run with nblib = the student build, whose answers raise if called (the spy), so
    every piece they use is the student's (05's LayerNorm runs on the student's
    MyLayerNorm, AdamW on the student's Adam). The other pages run on the same pieces, and
    reproduce the book's outputs, under nbval (tests/test_nbval.py)."""
    pages, errors, returncode, stderr = students_pages_run
    assert set(LATER_PAGES) == pages
    assert returncode == 0, stderr
    assert errors == {p: [] for p in TYPED_PAGES}
