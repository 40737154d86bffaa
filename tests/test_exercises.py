"""The exercises page as an nbgrader source notebook, and its self-checks.

- every exercise is an nbgrader task: an answer cell whose solution sits between
  ``### BEGIN SOLUTION`` / ``### END SOLUTION`` (folded in the book), a self-check, and a
  grade cell (removed from both books) whose hidden test calls ``nblib.teaching.grading.grade``; the
  worked answers are nbgrader solution cells, so nbgrader removes them from the release;
- every self-check PASSES on the notebook's solutions, FAILS with a message (never an
  exception) on nbgrader's starters and on every usual mistake of the registry
  (``nblib.teaching.registry.EXERCISES``, from ``nblib.teaching.mistakes``), stops a loop within its time
  limit, and runs on other inputs for a hidden seed;
- the reference of the RMSprop exercise, ``nblib.core.optim.RMSprop``, agrees with
  ``torch.optim.RMSprop`` step by step (torch is a test-only reference).

The student edition and the release are tested in test_student_edition.py and
test_grading.py.
"""
from __future__ import annotations

import re
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest

import nblib
from nblib import Module, Param
from nblib.teaching import checks, registry, selfcheck

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = ROOT / "book" / "05_exercises.ipynb"
CHECK_NAMES = list(registry.EXERCISES)
CHECK_FUNCTION = {task_id: task.check.__name__ for task_id, task in registry.EXERCISES.items()}


# ----------------------------------------------------------------------------- helpers
def _read(path):
    return nbformat.read(path, as_version=4)


def _tags(cell):
    return cell.get("metadata", {}).get("tags", [])


def _nbgrader(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def _answer_cells(nb):
    return {_nbgrader(c)["grade_id"]: c for c in nb.cells
            if _nbgrader(c).get("grade_id") in checks.EXERCISES}


def _exec(sources):
    ns = {"np": np, "nblib": nblib, "Module": Module, "Param": Param, "checks": checks}
    for source in sources:
        exec(compile(source, "<answer>", "exec"), ns)
    return {task_id: ns[task.name] for task_id, task in checks.EXERCISES.items()}


def _gated_cells(nb):
    """The cells of the worked answers (solution-start ... solution-end, both included)."""
    inside, out = False, []
    for cell in nb.cells:
        if cell.cell_type == "markdown" and "{solution-start}" in cell.source:
            inside = True
        if inside:
            out.append(cell)
        if cell.cell_type == "markdown" and "{solution-end}" in cell.source:
            inside = False
    return out


@pytest.fixture(scope="module")
def teacher():
    return _read(EXERCISES)


@pytest.fixture(scope="module")
def solutions(teacher):
    return _exec(c.source for c in _answer_cells(teacher).values())


@pytest.fixture(scope="module")
def stubs(teacher):
    """What the student starts from: the answer cells as nbgrader's ClearSolutions leaves them."""
    from nbgrader.preprocessors import ClearSolutions

    released, _ = ClearSolutions().preprocess(nbformat.from_dict(teacher), {})
    return _exec(c.source for c in _answer_cells(released).values())


# ----------------------------------------------------------------------------- the notebook
def test_notebook_is_committed_without_outputs(teacher):
    for cell in teacher.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.get("id")


def test_every_exercise_is_an_nbgrader_task(teacher):
    md = "\n".join(c.source for c in teacher.cells if c.cell_type == "markdown")
    labels = re.findall(r"````\{exercise\}[^\n]*\n:label: (\S+)", md)
    assert len(labels) == len(CHECK_NAMES) == 7
    for label in labels:
        assert re.search(r"```\{solution-start\} " + re.escape(label) + r"\n:class: dropdown", md)
    answers = _answer_cells(teacher)
    assert list(answers) == CHECK_NAMES                 # one answer cell each, in order
    cells = teacher.cells
    for task_id, task in checks.EXERCISES.items():
        answer = answers[task_id]
        meta = _nbgrader(answer)
        assert meta == {"grade": False, "solution": True, "locked": False,
                        "grade_id": task_id, "schema_version": 3}
        assert "hide-input" in _tags(answer)             # the reader's book folds the solution
        assert answer.source.count("### BEGIN SOLUTION") == answer.source.count(
            "### END SOLUTION") >= 1
        assert "TODO" in answer.source
        i = cells.index(answer)
        check = cells[i + 1]
        assert "self-check" in _tags(check) and check.metadata["task"] == task_id
        assert check.source.endswith(f"checks.{CHECK_FUNCTION[task_id]}({task.name})")
        # one grade cell per rubric item (registry.grade_cells), right after the self-check
        items = registry.grade_cells(task_id)
        assert sum(points for _, points, _ in items) == task.points
        for k, (grade_id, points, _) in enumerate(items):
            grade = cells[i + 2 + k]
            assert _nbgrader(grade) == {"grade": True, "solution": False, "locked": True,
                                        "points": points, "grade_id": grade_id,
                                        "schema_version": 3}
            assert set(_tags(grade)) == {"remove-cell", "grade"}
            visible, hidden = grade.source.split("### BEGIN HIDDEN TESTS\n")
            assert all(line.startswith("#") for line in visible.splitlines())
            part = grade_id.partition("--")[2]
            call = f'"{task_id}", {task.name}' + (f', part="{part}"' if part else "")
            assert hidden == (f'from nblib.teaching.grading import grade\ngrade({call})\n'
                              "### END HIDDEN TESTS")
    assert sum(t.points for t in checks.EXERCISES.values()) == 14
    assert checks.EXERCISES is registry.EXERCISES


def test_the_exercise_cells_are_the_registrys():
    """Self-check and grade cells (sources and points) as teacher/task_cells.py writes them."""
    from teacher import task_cells

    stale = [(p.name, i) for p, i in task_cells.stale_cells()]
    assert [s for s in stale if s[0] == EXERCISES.name] == []


def test_the_worked_answers_are_nbgrader_solution_cells(teacher):
    gated = _gated_cells(teacher)
    assert len(gated) >= 2 * len(CHECK_NAMES)
    for cell in gated:
        meta = _nbgrader(cell)
        assert meta.get("solution") is True, cell.get("id")
        if cell.cell_type == "markdown":            # nbgrader: a written answer, graded by hand
            assert meta["grade"] is True
            assert meta["points"] == registry.WRITTEN[meta["grade_id"]].points >= 1
    # nothing else in the notebook holds a solution that nbgrader would not remove
    for cell in teacher.cells:
        if cell not in gated and cell.cell_type == "markdown":
            assert "{solution" not in cell.source, cell.get("id")
    # "BEGIN SOLUTION" anywhere else would be taken for a marker by nbgrader
    for cell in teacher.cells:
        if "BEGIN SOLUTION" in cell.source:
            assert _nbgrader(cell).get("solution"), cell.get("id")


def test_solutions_pass_every_check(solutions, capsys):
    for task_id, answer in solutions.items():
        result = getattr(checks, CHECK_FUNCTION[task_id])(answer)
        assert result.passed, f"{task_id}: {result.message}"
        assert bool(result) is True
    assert capsys.readouterr().out.count(": PASS - ") == len(CHECK_NAMES)


def test_starters_fail_as_not_implemented_without_raising(stubs, capsys):
    for task_id, answer in stubs.items():
        result = getattr(checks, CHECK_FUNCTION[task_id])(answer)
        assert not result.passed and not bool(result), task_id
        assert result.message.startswith("not implemented yet"), result.message
    assert capsys.readouterr().out.count("FAIL - not implemented yet") == len(CHECK_NAMES)


def test_check_result_object_and_printing(solutions, capsys):
    r = checks.layernorm(solutions["ex_layernorm"], verbose=False)
    assert capsys.readouterr().out == ""
    assert r.passed and r.name == "layernorm" and "gradient check" in r.message
    assert set(r.details) >= {"input", "weight", "bias", "forward"}
    assert "PASS" in repr(r) and str(r).startswith("layernorm: PASS")


def test_a_hidden_seed_runs_the_checks_on_other_inputs(solutions):
    for task_id, answer in solutions.items():
        check = getattr(checks, CHECK_FUNCTION[task_id])
        assert check(answer, verbose=False, seed=99).passed, task_id
    visible = checks.sgd_momentum(solutions["ex_momentum"], verbose=False).message
    hidden = checks.sgd_momentum(solutions["ex_momentum"], verbose=False, seed=99).message
    assert "momentum=0.9)" in visible and "momentum=0.9)" not in hidden


def test_a_loop_that_never_ends_is_a_fail_within_the_time_limit(solutions, monkeypatch):
    monkeypatch.setattr(selfcheck, "TIME_LIMIT", 0.5)

    class Looping(solutions["ex_dropout"]):
        def backward(self, dout):
            while True:
                pass

    t0 = time.monotonic()
    r = checks.dropout(Looping, verbose=False)
    assert time.monotonic() - t0 < 5
    assert not r.passed and "did not finish within 0.5 s" in r.message and "backward" in r.message


def test_an_answer_whose_output_cannot_become_an_array_is_a_fail(solutions):
    class Weird:
        def __array__(self, *args, **kwargs):
            raise RuntimeError("no array for you")

    def warmup(step, lr, total_steps, warmup_steps=0, min_lr=0.0):
        return Weird()

    def momentum(w, grad, buf, *, lr, momentum=0.9):
        return Weird(), Weird()

    r = checks.sgd_momentum(momentum, verbose=False)
    assert not r.passed and "no array for you" in r.message
    assert not checks.warmup_cosine(warmup, verbose=False).passed


# ----------------------------------------------------------------------------- wrong solutions
MISTAKES = [(task_id, i) for task_id, task in registry.EXERCISES.items()
            for i in range(len(task.mistakes))]


@pytest.mark.parametrize("seed", [None, 2024], ids=["self-check", "hidden-inputs"])
@pytest.mark.parametrize("task_id,index", MISTAKES)
def test_a_usual_mistake_fails_with_its_name(task_id, index, seed, solutions):
    """Every mistake of the registry's catalogue, also on a grader's hidden inputs."""
    task = registry.EXERCISES[task_id]
    mistake = task.mistakes[index]
    ns = {task.name: solutions[task_id] for task_id, task in registry.EXERCISES.items()}
    result = task.check(mistake.build(ns), verbose=False, seed=seed)
    assert not result.passed, mistake.title
    assert mistake.words in result.message, (mistake.title, result.message)
    # where the check names the mistake from the catalogue, it says the catalogue's words
    assert mistake.says in result.message and mistake.words in (mistake.says or mistake.words)


def test_every_exercise_has_at_least_two_mistakes():
    assert all(len(task.mistakes) >= 2 for task in registry.EXERCISES.values())


def _mistake(solutions, task_id, words):
    task = registry.EXERCISES[task_id]
    ns = {t.name: solutions[t_id] for t_id, t in registry.EXERCISES.items()}
    return next(m for m in task.mistakes if m.words == words).build(ns)


def test_layernorm_backward_missing_a_term_names_input_and_error_size(solutions):
    r = checks.layernorm(_mistake(solutions, "ex_layernorm", "gradient check failed for input"))
    assert not r.passed
    size = float(re.search(r"input (\d\.\de[-+]\d+)", r.message).group(1))
    assert size > 1e-3 and r.details["input"] == pytest.approx(size, rel=0.1)
    assert r.details["weight"] < checks.GRAD_TOL and r.details["bias"] < checks.GRAD_TOL
    assert "weight" not in r.message.split("look at")[0].split("failed for")[1]


def test_layernorm_over_the_batch_is_recognised(solutions):
    r = checks.layernorm(_mistake(solutions, "ex_layernorm", "matches BatchNorm"))
    assert not r.passed and "axis 1" in r.message


def test_layernorm_other_errors_are_failures_not_crashes(solutions):
    def broken(self, x):
        raise ValueError("shapes do not align")
    r = checks.layernorm(type("Broken", (solutions["ex_layernorm"],), {"forward": broken}))
    assert not r.passed and "forward(x) raised ValueError: shapes do not align" in r.message

    class NotAModule:
        def __init__(self, d):
            pass
    r = checks.layernorm(NotAModule)
    assert not r.passed and "subclass nblib.Module" in r.message


def test_adam_l2_wrong_variants_report_their_size(solutions):
    decoupled = _mistake(solutions, "ex_adam_l2", "AdamW: you decayed the weights directly")
    r = checks.adam_l2(decoupled, verbose=False)
    assert not r.passed and r.details["max_abs_error"] > 1e-6
    r = checks.adam_l2(lambda w, grad, m, v, t, **kw: w, verbose=False)
    assert not r.passed and "must return the tuple (w, m, v)" in r.message


def test_warmup_cosine_names_the_step_and_phase(solutions):
    r = checks.warmup_cosine(_mistake(solutions, "ex_warmup_cosine", "(step + 1)"),
                             verbose=False)
    assert not r.passed and "at step 0 (warm-up)" in r.message
    r = checks.warmup_cosine(_mistake(solutions, "ex_warmup_cosine", "past total_steps"),
                             verbose=False)
    assert not r.passed and "after the end" in r.message and "min_lr" in r.message


# ----------------------------------------------------------------------------- RMSprop
def test_rmsprop_names_each_mistake_from_the_catalogue_it_shares_with_the_guide():
    """The check's words for a mistake are the catalogue's ``says``: written once."""
    from nblib.teaching import mistakes

    assert registry.EXERCISES["ex_rmsprop"].mistakes == tuple(mistakes.RMSPROP)
    for mistake in mistakes.RMSPROP:
        result = checks.rmsprop(mistake.build(None), verbose=False)
        assert not result.passed and mistake.says in result.message, result.message
        assert mistake.words in mistake.says


def test_rmsprop_fails_nan_weights_and_a_missing_step(solutions):
    class NaNRMSprop(solutions["ex_rmsprop"]):
        def step(self):
            super().step()
            for p in self.params:
                p.value[...] = np.nan

    class Lazy(solutions["ex_rmsprop"]):
        def step(self):
            pass

    r = checks.rmsprop(NaNRMSprop, verbose=False)
    assert not r.passed and "NaN or inf" in r.message, r.message
    r = checks.rmsprop(Lazy, verbose=False)
    assert not r.passed and "at step 1" in r.message, r.message


def _torch_rmsprop_steps(options, w0, grads, lrs):
    torch = pytest.importorskip("torch")
    params = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in w0]
    opt = torch.optim.RMSprop(params, **options)
    out = []
    for g, lr in zip(grads, lrs):
        for group in opt.param_groups:
            group["lr"] = lr
        for p, gp in zip(params, g):
            p.grad = torch.tensor(gp, dtype=torch.float64)
        opt.step()
        out.append(np.concatenate([p.detach().numpy().ravel() for p in params]))
    return out


@pytest.mark.parametrize("options", [
    dict(lr=0.01), dict(lr=0.01, alpha=0.9, eps=1e-3), dict(lr=0.01, momentum=0.9),
    dict(lr=0.01, weight_decay=0.1), dict(lr=0.02, alpha=0.5, eps=1e-6, momentum=0.5,
                                            weight_decay=0.01)])
def test_nblibs_rmsprop_agrees_with_torch(options):
    """``nblib.core.optim.RMSprop`` (the exercise's reference) is ``torch.optim.RMSprop``."""
    rng = np.random.default_rng(5)
    w0 = (rng.normal(size=(3, 4)), rng.normal(size=5))
    grads = [(rng.normal(size=(3, 4)) * np.logspace(-3, 0, 12).reshape(3, 4),
              100 * rng.normal(size=5)) for _ in range(8)]
    lrs = [options["lr"] * f for f in (1, 1, 0.5, 0.5, 0.2, 2, 1, 0.1)]
    want = _torch_rmsprop_steps(options, w0, grads, lrs)
    got = selfcheck.trajectory(nblib.core.optim.RMSprop, options, w0, grads, lrs, student=False)
    step, diff = selfcheck.first_difference(got, want, 1e-12)
    assert step is None, (step, diff)
    # and it is not trivially equal: a wrong eps placement differs from torch
    wrong = selfcheck.trajectory(registry.EXERCISES["ex_rmsprop"].mistakes[1].build(None),
                                 {k: v for k, v in options.items()
                                  if k in ("lr", "alpha", "eps")}, w0, grads, lrs,
                                 student=False)
    assert selfcheck.first_difference(wrong, want, 1e-12)[0] is not None


def test_checks_reject_the_wrong_kind_of_argument(solutions):
    with pytest.raises(TypeError, match="cls must be a class.*not an instance"):
        checks.layernorm(solutions["ex_layernorm"](3))
    with pytest.raises(TypeError, match="cls must be a class"):
        checks.dropout("MyDropout")
    with pytest.raises(TypeError, match="cls must be a class"):
        checks.rmsprop(solutions["ex_rmsprop"]([Param(np.zeros(2))]))
    for check, name in ((checks.adam_l2, "step_fn"), (checks.best_hidden_size, "choose_fn"),
                        (checks.sgd_momentum, "step_fn"), (checks.warmup_cosine, "schedule_fn")):
        with pytest.raises(TypeError, match=f"{name} must be a function"):
            check(42)


def test_a_check_never_crashes_on_student_code_it_calls_directly():
    def stub():
        raise NotImplementedError()

    def broken():
        raise KeyError("w")

    r = checks._run("piece", lambda: stub(), verbose=False)
    assert not r.passed and r.message.startswith("not implemented yet")
    r = checks._run("piece", lambda: broken(), verbose=False)
    assert not r.passed and r.message.startswith("KeyError: 'w' (in broken, line")


def test_the_registry_says_what_each_exercise_takes(solutions):
    for task_id, task in registry.EXERCISES.items():
        assert isinstance(solutions[task_id], type) == (task.answer == "class"), task_id
