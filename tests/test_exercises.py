"""The exercises page as an nbgrader source notebook, and its self-checks.

- every exercise is an nbgrader task: an answer cell whose solution sits between
  ``### BEGIN SOLUTION`` / ``### END SOLUTION`` (folded in the book), a self-check, and a
  grade cell (removed from both books) whose hidden test calls ``nblib.grading.grade``; the
  worked answers are nbgrader solution cells, so nbgrader removes them from the release;
- every self-check PASSES on the notebook's solutions, FAILS with a message (never an
  exception) on nbgrader's starters and on subtly wrong implementations, stops a loop
  within its time limit, and runs on other inputs for a hidden seed.

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
from nblib import Module, Param, checks

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = ROOT / "book" / "05_exercises.ipynb"
CHECK_NAMES = list(checks.EXERCISES)
CHECK_FUNCTION = {"ex_layernorm": "layernorm", "ex_adam_l2": "adam_l2",
                  "ex_hidden_size": "best_hidden_size", "ex_momentum": "sgd_momentum",
                  "ex_warmup_cosine": "warmup_cosine", "ex_dropout": "dropout"}


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
    assert len(labels) == len(CHECK_NAMES) == 6
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
        check, grade = cells[i + 1], cells[i + 2]
        assert "self-check" in _tags(check)
        assert check.source.endswith(f"checks.{CHECK_FUNCTION[task_id]}({task.name})")
        assert _nbgrader(grade) == {"grade": True, "solution": False, "locked": True,
                                    "points": task.points, "grade_id": f"test-{task_id}",
                                    "schema_version": 3}
        assert set(_tags(grade)) == {"remove-cell", "grade"}
        visible, hidden = grade.source.split("### BEGIN HIDDEN TESTS\n")
        assert all(line.startswith("#") for line in visible.splitlines())
        assert hidden == (f'from nblib.grading import grade\ngrade("{task_id}", {task.name})\n'
                          "### END HIDDEN TESTS")
    assert sum(t.points for t in checks.EXERCISES.values()) == 12


def test_the_worked_answers_are_nbgrader_solution_cells(teacher):
    gated = _gated_cells(teacher)
    assert len(gated) >= 2 * len(CHECK_NAMES)
    for cell in gated:
        meta = _nbgrader(cell)
        assert meta.get("solution") is True, cell.get("id")
        if cell.cell_type == "markdown":            # nbgrader: a written answer, 0 points
            assert meta["grade"] is True and meta["points"] == 0
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
    monkeypatch.setattr(checks, "TIME_LIMIT", 0.5)

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
def _layernorm_variant(solutions, *, forward=None, backward=None):
    base = solutions["ex_layernorm"]
    attrs = {}
    if forward is not None:
        attrs["forward"] = forward
    if backward is not None:
        attrs["backward"] = backward
    return type("WrongLayerNorm", (base,), attrs)


def _ln_backward_without_variance_path(self, dout):
    x_hat, d = self._x_hat, dout.shape[1]
    self.bias.grad[...] = dout.sum(axis=0)
    self.weight.grad[...] = (dout * x_hat).sum(axis=0)
    g = dout * self.weight.value
    return self._inv_std / d * (d * g - g.sum(axis=1, keepdims=True))   # variance path missing


def _ln_backward_wrong_weight_grad(self, dout):
    dx = type(self).__mro__[1].backward(self, dout)
    self.weight.grad[...] = dout.sum(axis=0)                            # forgot x_hat
    return dx


def _ln_forward_over_batch(self, x):
    mean, var = x.mean(axis=0), x.var(axis=0)
    self._inv_std = 1 / np.sqrt(var + self.eps)
    self._x_hat = (x - mean) * self._inv_std
    return self._x_hat * self.weight.value + self.bias.value


def test_layernorm_backward_missing_a_term_names_input_and_error_size(solutions):
    r = checks.layernorm(_layernorm_variant(solutions, backward=_ln_backward_without_variance_path))
    assert not r.passed
    assert "gradient check failed for input" in r.message
    size = float(re.search(r"input (\d\.\de[-+]\d+)", r.message).group(1))
    assert size > 1e-3 and r.details["input"] == pytest.approx(size, rel=0.1)
    assert r.details["weight"] < checks.GRAD_TOL and r.details["bias"] < checks.GRAD_TOL
    assert "weight" not in r.message.split("look at")[0].split("failed for")[1]


def test_layernorm_wrong_weight_gradient_names_weight(solutions):
    r = checks.layernorm(_layernorm_variant(solutions, backward=_ln_backward_wrong_weight_grad))
    assert not r.passed and "failed for weight" in r.message and r.details["weight"] > 1e-3


def test_layernorm_over_the_batch_is_recognised(solutions):
    r = checks.layernorm(_layernorm_variant(solutions, forward=_ln_forward_over_batch))
    assert not r.passed and "matches BatchNorm" in r.message and "axis 1" in r.message


def test_layernorm_other_errors_are_failures_not_crashes(solutions):
    def broken(self, x):
        raise ValueError("shapes do not align")
    r = checks.layernorm(_layernorm_variant(solutions, forward=broken))
    assert not r.passed and "forward(x) raised ValueError: shapes do not align" in r.message

    class NotAModule:
        def __init__(self, d):
            pass
    r = checks.layernorm(NotAModule)
    assert not r.passed and "subclass nblib.Module" in r.message


def _adam(decoupled=False, bias_correction=True):
    def step(w, grad, m, v, t, *, lr, weight_decay, betas=(0.9, 0.999), eps=1e-8):
        if decoupled:
            w = w * (1 - lr * weight_decay)
            g = grad
        else:
            g = grad + weight_decay * w
        m = betas[0] * m + (1 - betas[0]) * g
        v = betas[1] * v + (1 - betas[1]) * g * g
        mh, vh = (m / (1 - betas[0] ** t), v / (1 - betas[1] ** t)) if bias_correction else (m, v)
        return w - lr * mh / (np.sqrt(vh) + eps), m, v
    return step


@pytest.mark.parametrize("variant, words", [
    (_adam(decoupled=True), "matches AdamW"),
    (_adam(bias_correction=False), "without bias correction"),
    (lambda w, grad, m, v, t, **kw: w, "must return the tuple (w, m, v)"),
])
def test_adam_l2_wrong_variants_fail_with_a_reason(variant, words):
    r = checks.adam_l2(variant, verbose=False)
    assert not r.passed and words in r.message, r.message
    if "differ" in r.message:
        assert r.details["max_abs_error"] > 1e-6


@pytest.mark.parametrize("variant, words", [
    (lambda sizes, val, test: (sizes[int(np.argmin(test))], float(min(test))),
     "lowest *test* loss"),
    (lambda sizes, val, test: (sizes[int(np.argmin(val))], float(min(val))), "validation loss"),
    (lambda sizes, val, test: (int(np.argmin(val)), float(test[int(np.argmin(val))])),
     "position in the list"),
    (lambda sizes, val, test: (sizes[int(np.argmin(val))], float(min(test))),
     "lowest test loss of all"),
])
def test_hidden_size_wrong_variants_fail_with_a_reason(variant, words):
    r = checks.best_hidden_size(variant, verbose=False)
    assert not r.passed and words in r.message, r.message


def _momentum(kind):
    def step(w, grad, buf, *, lr, momentum=0.9):
        if kind == "ema":
            buf = (1 - momentum) * grad if buf is None else momentum * buf + (1 - momentum) * grad
            return w - lr * buf, buf
        buf = lr * grad if buf is None else momentum * buf + lr * grad
        return w - buf, buf
    return step


@pytest.mark.parametrize("kind, words", [("ema", "exponential average"),
                                         ("lr_inside", "keep lr out of the buffer")])
def test_momentum_wrong_variants_fail_with_a_reason(kind, words):
    r = checks.sgd_momentum(_momentum(kind), verbose=False)
    assert not r.passed and words in r.message, r.message


def test_warmup_cosine_off_by_one_and_no_clamp(solutions):
    good = solutions["ex_warmup_cosine"]

    def off_by_one(step, lr, total_steps, warmup_steps=0, min_lr=0.0):
        if step < warmup_steps:
            return lr * step / warmup_steps
        return good(step, lr, total_steps, warmup_steps, min_lr)

    def no_clamp(step, lr, total_steps, warmup_steps=0, min_lr=0.0):
        if step < warmup_steps:
            return lr * (step + 1) / warmup_steps
        frac = (step - warmup_steps) / (total_steps - warmup_steps)
        return min_lr + (lr - min_lr) * (1 + np.cos(np.pi * frac)) / 2

    r = checks.warmup_cosine(off_by_one, verbose=False)
    assert not r.passed and "at step 0 (warm-up)" in r.message and "(step + 1)" in r.message
    r = checks.warmup_cosine(no_clamp, verbose=False)
    assert not r.passed and "after the end" in r.message and "min_lr" in r.message


def _dropout_variant(solutions, forward=None, backward=None):
    base = solutions["ex_dropout"]
    attrs = {k: v for k, v in (("forward", forward), ("backward", backward)) if v is not None}
    return type("WrongDropout", (base,), attrs)


def test_dropout_wrong_variants_fail_with_a_reason(solutions):
    def keep_p(self, x):
        if not self.training:
            return x
        self._mask = (self.rng.random(x.shape) < self.p) / self.p      # p used as "keep"
        return x * self._mask

    def unscaled(self, x):
        if not self.training:
            return x
        self._mask = (self.rng.random(x.shape) >= self.p) * 1.0
        return x * self._mask

    def new_mask(self, dout):
        return dout * ((self.rng.random(dout.shape) >= self.p) / (1 - self.p))

    def always(self, x):
        self._mask = (self.rng.random(x.shape) >= self.p) / (1 - self.p)
        return x * self._mask

    cases = [(dict(forward=keep_p), "probability to keep"),
             (dict(forward=unscaled), "1 / (1 - p)"),
             (dict(backward=new_mask), "mask of the last forward"),
             (dict(forward=always), "evaluation mode")]
    for kwargs, words in cases:
        r = checks.dropout(_dropout_variant(solutions, **kwargs), verbose=False)
        assert not r.passed and words in r.message, (kwargs, r.message)


def test_checks_reject_the_wrong_kind_of_argument(solutions):
    with pytest.raises(TypeError, match="cls must be a class.*not an instance"):
        checks.layernorm(solutions["ex_layernorm"](3))
    with pytest.raises(TypeError, match="cls must be a class"):
        checks.dropout("MyDropout")
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
