"""The "your turn" tasks: solutions pass, usual mistakes fail with their name, one copy of the code.

* Every task's solution cell, as the notebook holds it (run in a fresh namespace, so the
  pieces are the notebook's objects, not nblib's), passes its self-check.
* Every mistake of the registry (``nblib.teaching.registry``, from ``nblib.teaching.mistakes``; two or more
  per task) fails its self-check with a message that names it.
* The solution cells are nblib's real source (``teacher/task_cells.py`` finds none stale),
  and import nothing private.
* NaN and inf never pass a comparison (``nblib.teaching.selfcheck``): an optimizer that produces
  NaN weights FAILS its self-check and its hidden test.
* The pieces of the solution cells, put together as "your own network" is in 03_training,
  train to more than 95% held-out accuracy.
"""
from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import numpy as np
import pytest

import nblib
from nblib.teaching import registry, selfcheck, yourturn
from teacher import task_cells

MISTAKES = {task_id: task.mistakes for task_id, task in registry.YOUR_TURN.items()}

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"


@pytest.fixture(scope="module")
def solved():
    """Each task's piece from its notebook's your-turn cells, run: the teacher's solutions."""
    namespaces = {notebook: yourturn.pieces_from_notebook(BOOK / notebook)
                  for notebook in {t.notebook for t in yourturn.TASKS.values()}}
    merged = {k: v for ns in namespaces.values() for k, v in ns.items()}
    merged.update({t.name: namespaces[t.notebook][t.name] for t in yourturn.TASKS.values()})
    return merged


def test_every_task_has_a_solution_cell_self_check_and_grade_cell():
    cells = {}
    for path in BOOK.glob("*.ipynb"):
        for cell in json.loads(path.read_text())["cells"]:
            meta = cell.get("metadata", {})
            grade_id = meta.get("nbgrader", {}).get("grade_id")
            if grade_id:
                cells[grade_id] = (path.name, meta)
            if meta.get("task"):
                cells["check-" + meta["task"]] = (path.name, meta)
    for task_id, task in yourturn.TASKS.items():
        graded = [g for g, _, _ in registry.grade_cells(task_id)]   # one per rubric item
        for key in (task_id, "check-" + task_id, *graded):
            assert key in cells, f"{task_id}: no cell {key}"
            assert cells[key][0] == task.notebook, (key, cells[key][0])
        solution = cells[task_id][1]
        assert solution["nbgrader"]["solution"] and "your-turn" in solution["tags"]
        for grade_id, points, _ in registry.grade_cells(task_id):
            grade = cells[grade_id][1]
            assert grade["nbgrader"]["grade"] and grade["nbgrader"]["points"] == points
            assert "remove-cell" in grade["tags"]      # hidden tests never reach a book
        assert sum(cells[g][1]["nbgrader"]["points"] for g in graded) == task.points


def test_the_registry_lists_the_tasks_in_the_order_of_the_book():
    """The teacher guide's tables follow the registry: top to bottom is the pages' order."""
    in_book = []
    for page in sorted({task.notebook for task in registry.ALL.values()}):   # 01_, 02_, ...: the toc
        for cell in json.loads((BOOK / page).read_text())["cells"]:
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if grade_id in registry.ALL and grade_id not in in_book:
                in_book.append(grade_id)
    assert list(registry.ALL) == in_book


def test_solution_cells_are_nblibs_source():
    assert task_cells.stale_cells() == []


def test_every_function_a_student_writes_has_a_docstring_in_its_starter():
    """The intro and the teacher guide: a starter is the signature and a docstring."""
    missing = []
    for task_id, task in registry.YOUR_TURN.items():
        for dotted, methods in task.solution:
            obj = task_cells._resolve(dotted)
            for fn in ([obj] if methods is None else [vars(obj)[m] for m in methods]):
                if not (fn.__doc__ or "").strip():       # its own, not one inherited
                    missing.append(f"{task_id}: {fn.__qualname__}")
    assert missing == []


def _imports(source):
    """(module, name) of every import in ``source``; name None for ``import module``."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [(alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            out += [(node.module or "", alias.name) for alias in node.names]
    return out


def _private_imports(source):
    return [(module, name) for module, name in _imports(source)
            if any(part.startswith("_") for part in module.split("."))
            or (name or "").startswith("_")]


def test_no_students_cell_imports_anything_private():
    """Not the solution cells task_cells writes, nor any cell a student edits or runs."""
    for task_id in registry.YOUR_TURN:
        assert _private_imports(task_cells.solution_cell_source(task_id)) == [], task_id
    for path in BOOK.glob("*.ipynb"):
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] != "code":
                continue
            source = "".join(cell["source"])
            meta = cell.get("metadata", {})
            if "remove-cell" in meta.get("tags", []) or source.lstrip().startswith(("%", "!")):
                continue                         # the page's own bookkeeping, never edited
            try:
                found = _private_imports(source)
            except SyntaxError:                  # IPython magics inside a cell
                continue
            assert found == [], (path.name, found, source[:200])


def test_the_private_import_probe_can_fail():
    assert _private_imports("from nblib.core._memory import keep_freed_memory\n") == [
        ("nblib.core._memory", "keep_freed_memory")]
    assert _private_imports("from nblib.core.optim import Optimizer, _nesterov\n") == [
        ("nblib.core.optim", "_nesterov")]
    assert _private_imports("import numpy as np\nfrom nblib.core.optim import SGD\n") == []


def test_stale_cell_detection_can_fail(tmp_path):
    nb_path = BOOK / yourturn.TASKS["relu"].notebook
    nb = json.loads(nb_path.read_text())
    for cell in nb["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "relu":
            cell["source"] = "".join(cell["source"]).replace("np.maximum", "np.fmax")
    (tmp_path / nb_path.name).write_text(json.dumps(nb))
    assert [p.name for p, _ in task_cells.stale_cells(tmp_path)] == [nb_path.name]


def test_markers_wrap_exactly_the_bodies():
    marked = task_cells.with_markers("def f(x):\n    '''doc'''\n    y = x\n    return y\n", None)
    assert marked == ("def f(x):\n    '''doc'''\n    ### BEGIN SOLUTION\n    y = x\n"
                      "    return y\n    ### END SOLUTION\n")


@pytest.mark.parametrize("task_id", list(yourturn.TASKS))
def test_the_solution_passes_its_self_check(task_id, solved, capsys):
    task = yourturn.TASKS[task_id]
    piece = solved[task.name]
    assert piece is not task.reference                 # the notebook's own object
    result = task.check(piece)
    assert result.passed, result.message
    assert "PASS" in capsys.readouterr().out
    assert task.check(piece, verbose=False, seed=99).passed     # a grader's hidden inputs


@pytest.mark.parametrize("seed", [None, 2024], ids=["self-check", "hidden-inputs"])
@pytest.mark.parametrize("task_id,index", [(t, i) for t, ms in MISTAKES.items()
                                           for i in range(len(ms))])
def test_a_usual_mistake_fails_with_its_name(task_id, index, seed, solved):
    """Also on the other inputs a grader's hidden test uses (``seed``)."""
    mistake = MISTAKES[task_id][index]
    result = yourturn.TASKS[task_id].check(mistake.build(solved), verbose=False, seed=seed)
    assert not result.passed, mistake.title
    assert mistake.words in result.message, (mistake.title, result.message)
    # where the check names the mistake from the catalogue, it says the catalogue's words
    assert mistake.says in result.message and mistake.words in (mistake.says or mistake.words)


def test_every_task_has_at_least_two_mistakes():
    assert yourturn.TASKS is registry.YOUR_TURN
    assert min(len(task.mistakes) for task in registry.ALL.values()) >= 2
    from teacher.mistakes import MISTAKES as teachers_view
    assert teachers_view == {t: task.mistakes for t, task in registry.ALL.items()}


def test_a_stub_is_not_implemented_yet_and_nothing_raises(solved):
    class Linear(nblib.Module):
        def __init__(self, in_features, out_features, *, bias=True, rng=None):
            raise NotImplementedError()

    result = yourturn.check_linear(Linear, verbose=False)
    assert not result.passed and "not implemented yet" in result.message

    def make_spirals(n, noise, seed):
        return 1 / 0

    result = yourturn.check_make_spirals(make_spirals, verbose=False)
    assert not result.passed and "ZeroDivisionError" in result.message


def test_checks_reject_the_wrong_kind_of_argument():
    with pytest.raises(TypeError, match="cls must be a class"):
        yourturn.check_linear(nblib.Linear(2, 3))
    with pytest.raises(TypeError, match="fn must be a function"):
        yourturn.check_bce_with_logits(nblib.ReLU)


def test_collect_pieces_uses_yours_where_they_pass_and_nblibs_elsewhere(tmp_path, solved):
    class ReLU(nblib.Module):
        def forward(self, x):
            raise NotImplementedError()

    here = {"ReLU": ReLU}
    pieces, table = yourturn.collect_pieces(here, "02_network.ipynb", BOOK, verbose=False)
    whose = {task: w for task, w, _ in table}
    assert set(pieces) == set(yourturn.TASKS)
    # 02_network's pieces come from `here`, the other notebooks' from their files
    assert whose["relu"] == "nblib's" and pieces["relu"] is nblib.ReLU
    assert whose["linear"] == "nblib's"            # not in `here`, and 02 is this page
    assert whose["make_spirals"] == "yours" and pieces["make_spirals"] is not nblib.make_spirals
    assert whose["adam"] == "yours"


def test_own_network_from_the_solutions_trains_past_95_percent(solved):
    """The pieces of the solution cells, put together as 03_training does."""
    assert own_network_accuracy({t_id: solved[t.name] for t_id, t in yourturn.TASKS.items()}) \
        > 0.95


def own_network_accuracy(pieces):
    """Held-out accuracy of the recipe built and trained from ``pieces`` (task id -> piece)."""
    config = nblib.SpiralConfig()
    X, y = pieces["make_spirals"](config.n, config.noise, config.data_seed)
    X_tr, X_te, y_tr, y_te = nblib.train_test_split(X, y, config.test_fraction)
    rng = np.random.default_rng(config.seed)
    layers, width = [], 2
    for h in config.hidden:
        layers += [pieces["linear"](width, h, bias=False, rng=rng), pieces["batchnorm"](h),
                   pieces["relu"]()]
        if config.dropout:
            layers.append(pieces["dropout"](config.dropout, rng=rng))
        width = h
    model = nblib.Sequential(*layers, pieces["linear"](width, 1, rng=rng))
    total = config.epochs * config.steps_per_epoch
    optimizer = pieces["adam"](model.parameters(), lr=config.lr)
    schedule = pieces["warmup_cosine"](config.lr, total, warmup_steps=total // 10)
    shuffle = np.random.default_rng(config.seed)
    for epoch in range(config.epochs):
        pieces["train_epoch"](model, optimizer, X_tr, y_tr, batch_size=config.batch_size,
                              rng=shuffle, schedule=schedule,
                              step=epoch * config.steps_per_epoch)
    _, acc = nblib.evaluate(model, X_te, y_te)
    return acc


# ----------------------------------------------------------------------------- student edition
def _solution_lines():
    """Distinctive lines of every task's solution (inside the solution markers).

    A line that the teacher's book also shows outside every solution (in a starter's
    docstring, which states the maths, or in a task's instructions) is not a probe.
    """
    shown, lines = [], set()
    for path in BOOK.glob("*.ipynb"):
        for cell in json.loads(path.read_text())["cells"]:
            source = "".join(cell["source"])
            if cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
                source = re.sub(r"### BEGIN SOLUTION.*?### END SOLUTION", "", source, flags=re.S)
            shown.append(source)
    shown = "\n".join(shown)
    for task_id in yourturn.TASKS:
        inside = False
        for line in task_cells.solution_cell_source(task_id).splitlines():
            stripped = line.strip()
            if stripped == task_cells.BEGIN:
                inside = True
            elif stripped == task_cells.END:
                inside = False
            elif inside and len(stripped) > 20 and not stripped.startswith(("#", "return ")) \
                    and stripped not in shown:
                lines.add(stripped)
    return sorted(lines)


def test_the_leak_probe_sees_the_solutions_in_the_teacher_book(teacher_build):
    assert teacher_build.ok, teacher_build.failure_report()
    probes = _solution_lines()
    assert len(probes) > 60
    text = (teacher_build.html / "_sources" / "book" / "02_network.ipynb").read_text()
    assert any(p in text for p in probes)            # the probe can find a solution


def test_no_solution_text_in_the_student_edition(student_build):
    """Not in the notebooks, the HTML, _sources, searchindex.js or the downloads."""
    assert student_build.ok, student_build.failure_report()
    probes = _solution_lines()
    files = list((student_build.source / "book").rglob("*.ipynb"))
    files += [p for p in student_build.html.rglob("*")
              if p.is_file() and p.suffix in {".html", ".ipynb", ".js", ".txt", ".md", ".py"}]
    assert any(p.name == "searchindex.js" for p in files)
    assert any("_sources" in p.parts for p in files)
    leaks = {}
    for path in files:
        text = path.read_text(errors="replace")
        found = [p for p in probes if p in text]
        if found:
            leaks[str(path.relative_to(student_build.root.parent))] = found[:3]
    assert not leaks, leaks


def test_student_edition_self_checks_report_not_implemented(student_build):
    for docname in ("book/01_data", "book/02_network", "book/03_training"):
        nb = student_build.executed(docname)
        checks = [c for c in nb.cells if "self-check" in c.metadata.get("tags", [])
                  and c.metadata.get("task")]
        assert checks, docname
        for cell in checks:
            text = "".join(o.get("text", "") for o in cell.outputs)
            assert "FAIL" in text and "not implemented yet" in text, (docname, text)


def test_student_edition_filled_in_trains_the_students_own_network(student_build, tmp_path):
    """The student notebooks with every task's solution typed in: all pieces are the student's."""
    import nbformat

    folder = tmp_path / "book"
    folder.mkdir()
    for notebook in {t.notebook for t in yourturn.TASKS.values()}:
        nb = nbformat.read(student_build.source / "book" / notebook, as_version=4)
        filled = 0
        for cell in nb.cells:
            if "your-turn" not in cell.metadata.get("tags", []):
                continue
            defined = {node.name for node in ast.parse(cell.source).body
                       if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
            task_id = next(t for t, task in yourturn.TASKS.items() if task.name in defined)
            assert "NotImplementedError" in cell.source         # the student's starter
            cell.source = task_cells.solution_cell_source(task_id)   # ... typed in
            filled += 1
        assert filled == sum(t.notebook == notebook for t in yourturn.TASKS.values())
        nbformat.write(nb, folder / notebook)
    here = yourturn.pieces_from_notebook(folder / "03_training.ipynb")
    pieces, table = yourturn.collect_pieces(here, "03_training.ipynb", folder, verbose=False)
    assert [whose for _, whose, _ in table if whose != "yours"] == [], table
    assert all(pieces[t] is not yourturn.TASKS[t].reference for t in pieces)
    assert own_network_accuracy(pieces) > 0.95


# ----------------------------------------------------------------------------- NaN never passes
NAN_WEIGHTS = [np.full((2, 2), np.nan)]


def test_a_nan_never_matches_in_the_shared_comparisons():
    """Kills ``if not diff <= tol`` -> ``if diff > tol`` (a NaN difference would then match)."""
    zero = [np.zeros((2, 2))]
    assert selfcheck.first_difference(NAN_WEIGHTS, zero, 1e-10)[0] == 1
    assert selfcheck.first_difference(zero, NAN_WEIGHTS, 1e-10)[0] == 1
    assert selfcheck.first_difference(NAN_WEIGHTS, NAN_WEIGHTS, 1e-10)[0] == 1
    assert selfcheck.first_difference([np.full((2, 2), np.inf)] * 2, [np.full((2, 2), np.inf)] * 2,
                                      1.0)[0] == 1
    assert selfcheck.first_difference(zero, zero, 0.0) == (None, 0.0)
    assert selfcheck.first_difference(zero + zero, zero, 1.0)[0] == 2    # one step missing
    for bad in (np.nan, np.inf, -np.inf, None, "0"):
        assert not selfcheck.within(bad, 1.0), bad
    assert selfcheck.within(0.0, 0.0) and selfcheck.within(1e-12, 1e-10)
    assert not selfcheck.matches(np.full(3, np.nan), np.full(3, np.nan))
    assert not selfcheck.matches(np.array([1.0, np.inf]), np.array([1.0, np.inf]))
    assert selfcheck.matches(np.ones(3), np.ones(3))
    assert selfcheck.max_difference(np.ones(2), np.ones(3)) == np.inf
    assert np.isnan(selfcheck.max_difference(np.full(2, np.nan), np.zeros(2)))
    assert selfcheck.max_difference(np.zeros(2), np.array([0.0, np.inf])) == np.inf
    # a NaN at one step is not hidden by the steps around it (Python's max would skip it)
    steps = [np.zeros(2), np.full(2, np.nan), np.zeros(2)]
    assert np.isnan(selfcheck.largest_difference(steps, [np.zeros(2)] * 3))
    assert not selfcheck.within(selfcheck.largest_difference(steps, [np.zeros(2)] * 3), 1.0)
    assert selfcheck.first_difference(steps, [np.zeros(2)] * 3, 1e-10)[0] == 2
    # the functions the checks use are these shared ones
    assert yourturn._first_difference is selfcheck.first_difference
    assert yourturn._matches is selfcheck.matches


def _nan_adam(solved):
    class Adam(solved["Adam"]):
        def step(self):
            super().step()
            for p in self.params:
                p.value[...] = np.nan               # an overflow gone wrong
    return Adam


def test_an_adam_that_produces_nan_weights_fails_its_self_check_and_hidden_test(solved):
    result = yourturn.check_adam(_nan_adam(solved), verbose=False)
    assert not result.passed and "NaN or inf" in result.message, result.message
    assert not yourturn.check_adam(_nan_adam(solved), verbose=False, seed=3).passed
    from nblib.teaching.grading import GradingError, grade
    with pytest.raises(GradingError, match="NaN or inf"):
        grade("adam", _nan_adam(solved), seed=3)



def test_the_registry_says_what_each_task_takes(solved):
    """``Task.answer`` (class or function: the robustness tests build hostile answers from
    it) and the registry's self-check call, as the notebooks run it."""
    for task_id, task in registry.YOUR_TURN.items():
        assert isinstance(solved[task.name], type) == (task.answer == "class"), task_id
        assert task.self_check == f"yourturn.{task.check.__name__}({task.name})"


def test_task_cells_regroups_a_tasks_grade_cells_into_its_rubric_items(tmp_path):
    """A notebook whose task still has one grade cell where the registry lists rubric items
    (or the items' points changed) is stale, and --write gives it one cell per item."""
    nb_path = BOOK / yourturn.TASKS["linear"].notebook
    nb = json.loads(nb_path.read_text())
    linear = [i for i, c in enumerate(nb["cells"])
              if c.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")
              .startswith("test-linear--")]
    assert len(linear) == len(registry.YOUR_TURN["linear"].parts) == 3
    old = nb["cells"][linear[0]]
    old["metadata"]["nbgrader"].update(grade_id="test-linear", points=3)
    old["id"] = "test-linear"
    nb["cells"] = [c for i, c in enumerate(nb["cells"]) if i not in linear[1:]]
    nb["cells"][[i for i, c in enumerate(nb["cells"]) if c is old][0]]["source"] = ["x\n"]
    (tmp_path / nb_path.name).write_text(json.dumps(nb, indent=1))
    stale = task_cells.stale_cells(tmp_path)
    assert (tmp_path / nb_path.name, "grade cells of linear") in stale
    task_cells.write(tmp_path)
    assert task_cells.stale_cells(tmp_path) == []
    again = json.loads((tmp_path / nb_path.name).read_text())
    assert [c["id"] for c in again["cells"]] == [c["id"] for c in
                                                 json.loads(nb_path.read_text())["cells"]]
    graded = [c["metadata"]["nbgrader"] for c in again["cells"]
              if c.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")
              .startswith("test-linear")]
    assert [(g["grade_id"], g["points"]) for g in graded] == [
        ("test-linear--forward", 1), ("test-linear--backward", 1), ("test-linear--init", 1)]


def test_an_optimizers_fail_gives_the_size_of_the_param_it_names():
    """The first Param that differs is named, with its own difference: here Param 1 is off
    by 1e-3 and Param 3 by 1.0 at the first step, so the message must say Param 1 and 1e-3
    (it once gave the largest difference over all Params, 1.0, beside Param 1)."""
    class OffSGD(nblib.SGD):
        def step(self):
            first = not hasattr(self, "_stepped")
            super().step()
            self._stepped = True
            if first:
                params = [p for group in self.param_groups for p in group["params"]]
                params[0].value += 1e-3
                params[2].value += 1.0

    result = yourturn.check_sgd(OffSGD, verbose=False)
    assert not result.passed
    assert re.search(r"at step 1, in Param 1 of 3 \(shape \(3, 4\), parameter group 1\), "
                     r"by 1\.00e-03", result.message), result.message
    hidden = yourturn.check_sgd(OffSGD, verbose=False, seed=5)
    assert "in Param 1 of 3" in hidden.message and "by 1.00e-03" in hidden.message, hidden.message


def test_a_missing_adam_leaves_nblibs_adamw_missing_too():
    """In the student build a piece not written yet is a stand-in; nblib's AdamW derives
    from Adam, so with Adam missing it is missing too and says so (its rebasing on the
    stand-in once raised "metaclass conflict" at the top of every student page)."""
    undo = yourturn.install_pieces({"adam": yourturn.missing_piece("adam", "not implemented yet")})
    try:
        with pytest.raises(NotImplementedError, match="your Adam is missing: write it in "
                                                      "03_training.ipynb"):
            nblib.AdamW([nblib.Param(np.zeros(2))], lr=0.1)
        with pytest.raises(NotImplementedError, match="task 'adam'"):
            nblib.core.config.OPTIMIZERS["adamw"]([nblib.Param(np.zeros(2))],
                                                  nblib.SpiralConfig(optimizer="adamw"))
    finally:
        undo()
    assert nblib.AdamW is nblib.core.optim.AdamW


def test_pieces_are_read_from_the_assignment_folders_beside_this_one(tmp_path):
    """nbgrader fetches each assignment into a folder of its own (course/01_data/01_data.ipynb,
    course/05_exercises/...): a page finds the earlier pages' notebooks there too."""
    import shutil
    (tmp_path / "01_data").mkdir()
    (tmp_path / "05_exercises").mkdir()
    shutil.copy(ROOT / "book" / "01_data.ipynb", tmp_path / "01_data" / "01_data.ipynb")
    assert yourturn.page_notebook(tmp_path / "05_exercises", "01_data.ipynb") == \
        tmp_path / "01_data" / "01_data.ipynb"
    assert yourturn.page_notebook(tmp_path / "05_exercises", "02_network.ipynb") == \
        tmp_path / "05_exercises" / "02_network.ipynb"          # nowhere: named as asked
    _, table = yourturn.collect_pieces({}, "03_training.ipynb", tmp_path / "05_exercises",
                                       verbose=False, own_page=False)
    whose = {task_id: who for task_id, who, _ in table}
    assert whose["make_spirals"] == "yours" and whose["linear"] == "nblib's"
    shutil.copy(ROOT / "book" / "01_data.ipynb", tmp_path / "05_exercises" / "01_data.ipynb")
    assert yourturn.page_notebook(tmp_path / "05_exercises", "01_data.ipynb") == \
        tmp_path / "05_exercises" / "01_data.ipynb"             # beside it first


_ARMS_INLINE = '''
def make_spirals(n=300, noise=0.03, seed=42):
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 4 * np.pi, n)
    C0 = (t / (4 * np.pi))[:, None] * np.stack([np.cos(t), np.sin(t)], axis=1)
    X = np.concatenate([C0, -C0]) + rng.normal(0, noise, (2 * n, 2))
    y = np.repeat([0, 1], n)
    order = rng.permutation(2 * n)
    return X[order], y[order]
'''


@pytest.mark.parametrize("centres, says", [
    ("def spiral_centres(n):\n    raise NotImplementedError()\n",
     "not implemented yet: spiral_centres(60) raised NotImplementedError"),
    ("from nblib.core.data import source_spiral_centres as spiral_centres\n",
     "your spiral_centres(60) must return (arm 0, arm 1)"),
    ("def spiral_centres(n):\n    return np.zeros((n, 2))\n",
     "your spiral_centres(60) must return (arm 0, arm 1)"),
])
def test_make_spirals_check_checks_the_spiral_centres_beside_it(centres, says):
    """A make_spirals that works its arms out itself passes on its own; the notebook's
    spiral_centres beside it, which install_pieces puts in nblib's place too, must then be
    right as well (a stub left beside it once passed, and the page's next cells stopped
    on a bare NotImplementedError)."""
    alone = {"np": np}
    exec(_ARMS_INLINE, alone)
    assert yourturn.check_make_spirals(alone["make_spirals"], verbose=False).passed
    beside = {"np": np}
    exec(centres + _ARMS_INLINE, beside)
    result = yourturn.check_make_spirals(beside["make_spirals"], verbose=False)
    assert not result.passed and says in result.message, result.message
    assert not yourturn.check_make_spirals(beside["make_spirals"], verbose=False,
                                           upto="arms").passed


def test_undoing_install_pieces_puts_back_a_pieces_helpers_and_says_none_is_installed(solved):
    """The undo puts nblib's spiral_centres back in its record too (a second install once
    left the notebook's out), and tells nblib.sweep that no piece is installed any more: it
    then starts its workers the default way (tests/test_sweep.py)."""
    from nblib.core import data
    from nblib.experiments import sweep
    own = data.spiral_centres
    mine = solved["spiral_centres"]                   # beside make_spirals in 01_data
    assert mine is not own and not sweep.PIECES_INSTALLED
    for _ in range(2):
        undo = yourturn.install_pieces({"make_spirals": solved["make_spirals"]})
        try:
            assert data.spiral_centres is mine and sweep.PIECES_INSTALLED
        finally:
            undo()
        assert data.spiral_centres is own and not sweep.PIECES_INSTALLED


# ----------------------------------------------------------------------------- pieces written
# exactly to the task's bullets, that passed their self-check and then crashed a later cell
class _LinearToTheBullets(nblib.Module):
    """Linear as its bullets say: weight, bias, forward, backward; no self.in_features and
    self.out_features (which the given __repr__ and check_input read)."""

    def __init__(self, in_features, out_features, *, bias=True, rng=None, dtype=np.float64):
        rng = np.random.default_rng(rng)
        std = np.sqrt(2.0 / in_features)
        self.weight = nblib.Param(rng.normal(0.0, std, (out_features, in_features)).astype(dtype))
        self.bias = nblib.Param(np.zeros(out_features, dtype=dtype)) if bias else None

    def forward(self, x):
        self.x = x
        out = x @ self.weight.value.T
        return out if self.bias is None else out + self.bias.value

    def backward(self, dout):
        self.weight.grad = dout.T @ self.x
        if self.bias is not None:
            self.bias.grad = dout.sum(axis=0)
        return dout @ self.weight.value

    __repr__ = nblib.Linear.__repr__          # the starter's, given


def test_a_linear_that_does_not_keep_its_sizes_fails_its_forward_item():
    """It passed its self-check, then print(model) and check_input raised AttributeError."""
    with pytest.raises(AttributeError, match="in_features"):
        repr(_LinearToTheBullets(2, 3))
    for options in ({}, {"upto": "forward"}, {"seed": 7}):
        result = yourturn.check_linear(_LinearToTheBullets, verbose=False, **options)
        assert not result.passed, options
        assert "must keep in_features and out_features" in result.message, result.message
        assert "the given __repr__ and check_input use them" in result.message
        assert "self.in_features is missing" in result.message

    class Kept(_LinearToTheBullets):
        def __init__(self, in_features, out_features, **kwargs):
            super().__init__(in_features, out_features, **kwargs)
            self.in_features, self.out_features = in_features, out_features

    assert yourturn.check_linear(Kept, verbose=False).passed
    assert yourturn.check_linear(nblib.Linear, verbose=False).passed


def _batchnorm_without_check_input(running_var):
    """BatchNorm as its bullets say, without ``self.check_input(x)`` (nor ``check_dout``);
    ``running_var(x, var)``: the unbiased variance it moves running_var towards."""
    class BatchNorm(nblib.BatchNorm):
        def forward(self, x):
            if self.training:
                mean = x.mean(axis=0)
                x_centred = x - mean
                var = (x_centred**2).mean(axis=0)
                rho = self.momentum
                self.running_mean += rho * (mean - self.running_mean)
                self.running_var += rho * (running_var(x, var) - self.running_var)
            else:
                x_centred = x - self.running_mean
                var = self.running_var
            self.std = np.sqrt(var + self.eps)
            self.x_hat = x_centred / self.std
            return self.weight.value * self.x_hat + self.bias.value

        def backward(self, dout):
            self.bias.grad = dout.sum(axis=0)
            self.weight.grad = (dout * self.x_hat).sum(axis=0)
            gamma, n = self.weight.value, len(dout)
            if not self.training:
                return gamma * dout / self.std
            return gamma / (n * self.std) * (n * dout - self.bias.grad
                                             - self.x_hat * self.weight.grad)
    return BatchNorm


@pytest.mark.parametrize("running_var, did", [
    (lambda x, var: var * (len(x) / (len(x) - 1)), "raised ZeroDivisionError"),
    (lambda x, var: x.var(axis=0, ddof=1), "returned"),      # NaN, and a warning
])
def test_a_batchnorm_that_takes_one_row_in_training_fails_its_training_item(running_var, did):
    """It passed its self-check; then a one-row batch in training mode gave
    ZeroDivisionError (or NaN running statistics) where nblib's BatchNorm raises ValueError."""
    faulty = _batchnorm_without_check_input(running_var)
    for options in ({}, {"upto": "training"}, {"seed": 7}):
        result = yourturn.check_batchnorm(faulty, verbose=False, **options)
        assert not result.passed, options
        assert "in training mode a batch of one row must be refused with ValueError" \
            in result.message, result.message
        assert "call self.check_input(x) first in forward" in result.message
        assert did in result.message, result.message
    with pytest.raises(ValueError, match="at least 2 rows"):
        nblib.BatchNorm(4).forward(np.zeros((1, 4)))
    nblib.BatchNorm(4).eval().forward(np.zeros((1, 4)))       # evaluation takes one row


bce_with_logits = nblib.bce_with_logits       # the name the loop calls (the check swaps it)


def _train_epoch_without_check_epoch_arguments(model, optimizer, X, y, *, batch_size, rng,
                                               schedule=None, step=0):
    """train_epoch as its bullets say, without ``X, y = check_epoch_arguments(...)``."""
    model.train()
    order = rng.permutation(len(X))
    losses = []
    for start in range(0, len(X), batch_size):
        batch = order[start:start + batch_size]
        if schedule is not None:
            optimizer.lr = schedule(step)
        loss, dlogits = bce_with_logits(model.forward(X[batch]), y[batch])
        model.backward(dlogits)
        optimizer.step()
        losses.append(loss)
        step += 1
    return float(np.mean(losses))


def test_a_train_epoch_that_does_not_cast_x_fails_its_batches_item():
    """It passed its self-check; then on the book's float32 model it fed float64 batches,
    and 03's `assert history.test_loss == loop_test_loss  # bit for bit` against nblib.fit
    failed. The check runs the loop on a float32 model too and spies on forward's x."""
    faulty = _train_epoch_without_check_epoch_arguments
    for options in ({}, {"upto": "batches"}, {"seed": 7}):
        result = yourturn.check_train_epoch(faulty, verbose=False, **options)
        assert not result.passed, options
        assert "got batches of float64 X: cast X to the model's dtype" in result.message, \
            result.message
        assert "start with X, y = check_epoch_arguments(" in result.message
    # the difference it makes: one epoch on a float32 model, from the same start
    config = nblib.SpiralConfig(hidden=(8,), dtype="float32")
    X = np.random.default_rng(0).normal(size=(64, 2))
    y = (X[:, 0] > 0).astype(int)
    losses = []
    for loop in (nblib.train_epoch, faulty):
        model = nblib.build_model(config)
        losses.append(loop(model, nblib.make_optimizer(config, model.parameters()), X, y,
                           batch_size=16, rng=np.random.default_rng(1)))
    assert losses[0] != losses[1]


def test_a_missing_class_is_a_class_that_refuses_instances_and_subclasses():
    """The student build's stand-in of a class task: calling it and deriving from it both
    say which piece is missing and where (02's `class NoInputGradBatchNorm(nblib.BatchNorm)`
    once stopped on "TypeError: function() argument 'code' must be code, not str")."""
    for task_id, task in yourturn.piece_tasks().items():
        stand_in = yourturn.missing_piece(task_id, "not implemented yet")
        says = f"your {task.name} is missing: write it in {task.notebook}"
        assert isinstance(stand_in, type) == (task.answer == "class"), task_id
        assert stand_in.__name__ == task.name
        with pytest.raises(NotImplementedError, match=says):
            stand_in(4)
        if task.answer == "class":
            with pytest.raises(NotImplementedError, match=says):
                type("Derived", (stand_in,), {})
    undo = yourturn.install_pieces({"batchnorm": yourturn.missing_piece("batchnorm")})
    try:
        with pytest.raises(NotImplementedError, match="your BatchNorm is missing: write it in "
                                                      "02_network.ipynb"):
            class NoInputGradBatchNorm(nblib.BatchNorm):
                pass
        with pytest.raises(NotImplementedError, match="task 'batchnorm'"):
            nblib.build_model(nblib.SpiralConfig(norm="batch"))
    finally:
        undo()
    assert nblib.BatchNorm is nblib.core.norm.BatchNorm


def test_adamw_is_rebuilt_on_the_students_adam_once_it_is_written(solved):
    """Adam missing, then written (the student's check cell run again): nblib's AdamW
    derives from the student's Adam again, not from the stand-in, nor is it the student's
    Adam itself (the stand-in once took AdamW's place, and the next install swapped it
    for the student's Adam, without decoupled weight decay)."""
    mine = solved["Adam"]
    undo = [yourturn.install_pieces({"adam": yourturn.missing_piece("adam")})]
    try:
        with pytest.raises(NotImplementedError, match="your Adam is missing"):
            nblib.AdamW([nblib.Param(np.zeros(2))], lr=0.1)
        undo.append(yourturn.install_pieces({"adam": mine}))
        assert nblib.Adam is mine
        assert nblib.AdamW is not mine and nblib.AdamW.__bases__ == (mine,)
        p = nblib.Param(np.ones(2))
        p.grad = np.zeros(2)
        nblib.AdamW([p], lr=0.1, weight_decay=0.5).step()    # decoupled: w *= 1 - lr * wd
        assert np.allclose(p.value, 0.95)
    finally:
        for restore in reversed(undo):
            restore()
    assert nblib.AdamW is nblib.core.optim.AdamW and nblib.Adam is nblib.core.optim.Adam


def test_linear_and_dropout_checks_require_seeds_and_none_for_rng(solved):
    """A Linear or a Dropout that takes only a Generator (``rng.normal(...)`` on what it was
    given) passed its check, whose inputs are Generators, then the book's
    ``nblib.Linear(5, 3, rng=10)`` crashed on an int."""
    class GeneratorOnlyLinear(solved["Linear"]):
        def __init__(self, in_features, out_features, *, bias=True, rng=None):
            rng.normal(size=1)                         # an int or None has no .normal
            super().__init__(in_features, out_features, bias=bias, rng=rng)

    class GeneratorOnlyDropout(solved["Dropout"]):
        def __init__(self, p=0.5, *, rng=None):
            super().__init__(p, rng=rng)
            self.rng = rng                             # kept as given: a seed has no .random

    for check, piece in ((yourturn.check_linear, GeneratorOnlyLinear),
                         (yourturn.check_dropout, GeneratorOnlyDropout)):
        result = check(piece, verbose=False)
        assert not result.passed, result.message
        assert "rng may be a Generator, an int seed or None" in result.message, result.message
        assert not check(piece, verbose=False, seed=5).passed
    assert yourturn.check_linear(solved["Linear"], verbose=False).passed
    assert yourturn.check_dropout(solved["Dropout"], verbose=False).passed


def test_make_spirals_check_requires_integer_labels(solved):
    """Float labels passed, then 01's np.bincount(y) raised TypeError."""
    def float_labels(n=300, noise=0.03, seed=42):
        X, y = solved["make_spirals"](n, noise, seed)
        return X, y.astype(float)

    result = yourturn.check_make_spirals(float_labels, verbose=False)
    assert not result.passed and "y must hold integer labels" in result.message, result.message
