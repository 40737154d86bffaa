"""The autograder: the hidden tests, run in the kernel (``grade``) and in a fresh process
(``nblib.teaching.isolated``), and a real nbgrader course run on them.

- ``grade`` passes the notebook's own solutions and fails, naming why, nblib's class handed in
  (itself, a subclass, a wrapper, a copy made at runtime), outputs hard-coded to the visible
  check, nblib or its checks patched at runtime, a loop that never ends; a rubric item
  (``part=``) is graded alone;
- ``grade_source`` (a fresh ``python -I`` per task) refuses and names each cheat: frames,
  profile hooks, gc, patches, sockets, a fake verdict, a loop, a fake nblib in the folder;
- a course folder written by ``teacher/course.py`` goes through nbgrader itself:
  ``generate_assignment``, ``zip_collect`` (the page's folder and zip layouts; no time
  stamp, one written by hand makes a submission late), ``autograde`` (IsolatedGrades: the
  notebooks are not run) of five 05 submissions (blank; buggy: a broken LayerNorm backward and a loop;
  cheater: the issue's cheats and a patched nblib/ beside the notebook; correct; gamed),
  ``export`` (a row per student, a column per grade cell) and feedback; and the stage
  notebooks with the issue's wrong answers. The seconds per submission are printed.
"""
from __future__ import annotations

import copy
import csv
import functools
import os
import re
import shutil
import subprocess
import sys
import time
import types
import zipfile
from pathlib import Path

import nbformat
import numpy as np
import pytest

import nblib
from nblib import Module, Param
from nblib.teaching import checks, yourturn
from nblib.teaching.grading import GradingError, grade

from conftest import early, stand_in_executed

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = ROOT / "book" / "05_exercises.ipynb"
BIN = Path(sys.executable).parent
TASK_OF = {task.name: task_id for task_id, task in checks.EXERCISES.items()}


def _answer_cells(nb):
    """{task id: the source notebook's answer cell (starter + solution)} of the exercises."""
    return {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("grade_id") in checks.EXERCISES}


@pytest.fixture(scope="module")
def source():
    return nbformat.read(EXERCISES, as_version=4)


@pytest.fixture(scope="module")
def solutions(source):
    ns = {"np": np, "nblib": nblib, "Module": Module, "Param": Param, "checks": checks}
    for cell in _answer_cells(source).values():
        exec(compile(cell.source, f"<{cell.get('id')}>", "exec"), ns)
    return {task_id: ns[task.name] for task_id, task in checks.EXERCISES.items()}


@pytest.fixture
def restore_nblib():
    """Tests that patch nblib at runtime put it back afterwards."""
    saved = {(obj, name): vars(obj)[name]
             for obj in (nblib.teaching.checks, nblib.LayerNorm, nblib.Module)
             for name in list(vars(obj)) if not name.startswith("__")}
    yield
    for (obj, name), value in saved.items():
        setattr(obj, name, value)


def _fails(task_id, answer, *words, **kw):
    with pytest.raises(GradingError) as info:
        grade(task_id, answer, **kw)
    message = str(info.value)
    for w in words:
        assert w in message, message
    return message


# ----------------------------------------------------------------------------- grade()
def test_the_solutions_pass_every_hidden_test(solutions, capsys):
    for task_id, answer in solutions.items():
        result = grade(task_id, answer, seed=1234)
        assert result.passed
    out = capsys.readouterr().out
    assert out.count("(hidden test, seed 1234): PASS") == len(checks.EXERCISES)


def test_hidden_inputs_are_not_the_visible_ones(solutions):
    visible = checks.layernorm(solutions["ex_layernorm"], verbose=False).details
    hidden = checks.layernorm(solutions["ex_layernorm"], verbose=False, seed=7).details
    again = checks.layernorm(solutions["ex_layernorm"], verbose=False, seed=7).details
    assert visible["input"] != hidden["input"] and hidden == again


def test_nblibs_own_class_handed_in_scores_zero():
    _fails("ex_layernorm", nblib.LayerNorm, "nblib's own LayerNorm")
    _fails("ex_dropout", nblib.Dropout, "nblib's own Dropout")


def test_a_subclass_of_nblibs_class_scores_zero():
    class MyDropout(nblib.Dropout):
        pass
    _fails("ex_dropout", MyDropout, "MyDropout is built from nblib's own Dropout")


def test_a_wrapper_around_nblib_scores_zero():
    class MyLayerNorm(Module):
        def __init__(self, d):
            self.inner = nblib.LayerNorm(d)
            self.weight, self.bias = self.inner.weight, self.inner.bias

        def forward(self, x):
            return self.inner.forward(x)

        def backward(self, dout):
            return self.inner.backward(dout)

    def sgd_momentum_step(w, grad, buf, *, lr, momentum=0.9):
        p = Param(w.copy())
        nblib.SGD([p], lr, momentum=momentum)
        return w, buf

    _fails("ex_layernorm", MyLayerNorm, "runs nblib's own LayerNorm")
    _fails("ex_momentum", sgd_momentum_step, "runs nblib's own SGD")
    warmup = functools.partial(lambda step, lr, total_steps, warmup_steps=0, min_lr=0.0:
                               nblib.WarmupCosine(lr, total_steps, warmup_steps, min_lr)(step))
    _fails("ex_warmup_cosine", warmup, "nblib's own WarmupCosine")


def test_a_copy_of_nblibs_code_made_at_runtime_scores_zero():
    body = {k: v for k, v in vars(nblib.Adam).items() if k not in ("__dict__", "__weakref__")}
    CopiedAdam = type("CopiedAdam", (nblib.Optimizer,), body)

    def adam_l2_step(w, grad, m, v, t, *, lr, weight_decay, betas=(0.9, 0.999), eps=1e-8):
        p = Param(w.copy())
        opt = CopiedAdam([p], lr, betas=betas, eps=eps, weight_decay=weight_decay)
        for _ in range(t):
            p.grad = grad
            opt.step()
        return p.value, m, v

    _fails("ex_adam_l2", adam_l2_step, "nblib's own Adam")
    # a function rebuilt from nblib's code object, in a class of the student's own
    lr_at = types.FunctionType(nblib.WarmupCosine.lr_at.__code__, {"math": __import__("math")})
    Schedule = type("Schedule", (), {"lr_at": lr_at})
    _fails("ex_warmup_cosine", lambda step, *a, **k: Schedule().lr_at(step),
           "nblib's own WarmupCosine.lr_at")


def test_outputs_hard_coded_to_the_visible_check_score_zero():
    visible = {(8, 16, 32, 64, 128): (32, 0.23), (64, 4, 32, 16): (16, 0.20)}

    def choose_hidden_size(sizes, val_losses, test_losses):
        return visible[tuple(sizes)]

    assert checks.best_hidden_size(choose_hidden_size, verbose=False).passed
    _fails("ex_hidden_size", choose_hidden_size, "hidden test")


@pytest.mark.usefixtures("restore_nblib")
def test_patching_nblibs_checks_or_classes_at_runtime_earns_nothing(solutions):
    class Blank(Module):
        def __init__(self, d):
            self.weight, self.bias = Param(np.ones(d)), Param(np.zeros(d))

        def forward(self, x):
            raise NotImplementedError

        def backward(self, dout):
            raise NotImplementedError

    nblib.teaching.checks.layernorm = lambda *a, **k: checks.CheckResult("layernorm", True, "patched")
    nblib.LayerNorm.forward = lambda self, x: x
    assert nblib.teaching.checks.layernorm(Blank).passed                 # the visible check is fooled
    _fails("ex_layernorm", Blank, "not implemented yet")        # the hidden test is not
    _fails("ex_layernorm", nblib.LayerNorm, "nblib's own LayerNorm")
    # the base classes a student's code is built on are shared with the grader: patching
    # them fails every task
    nblib.Module.train = lambda self, mode=True: self
    _fails("ex_dropout", solutions["ex_dropout"], "changed nblib at runtime",
           "nblib.core.module.Module.train")
    _fails("ex_adam_l2", solutions["ex_adam_l2"], "changed nblib at runtime")


def test_a_loop_that_never_ends_is_stopped_by_the_time_limit(solutions):
    class Looping(solutions["ex_layernorm"]):
        def forward(self, x):
            while True:
                pass

    t0 = time.monotonic()
    message = _fails("ex_layernorm", Looping, "did not finish within 1 s", time_limit=1)
    assert time.monotonic() - t0 < 10, message
    assert "in forward" in message


def test_a_submission_that_turns_off_the_watch_scores_zero():
    def warmup_cosine(step, lr, total_steps, warmup_steps=0, min_lr=0.0):
        sys.setprofile(None)
        return nblib.WarmupCosine(lr, total_steps, warmup_steps, min_lr)(step)

    _fails("ex_warmup_cosine", warmup_cosine, "turned off the grader's watch")


def test_grade_rejects_bad_arguments(solutions):
    with pytest.raises(ValueError, match="task_id must be one of"):
        grade("no_such_task", solutions["ex_dropout"])
    with pytest.raises(TypeError, match="task_id must be a str"):
        grade(3, solutions["ex_dropout"])
    with pytest.raises(ValueError, match="seed must be an int"):
        grade("ex_dropout", solutions["ex_dropout"], seed=-1)
    _fails("ex_dropout", solutions["ex_dropout"](0.5), "cls must be a class")


def test_every_task_table_has_distinct_ids_and_hidden_inputs():
    import inspect

    from nblib.teaching import registry, yourturn
    assert not set(checks.EXERCISES) & set(yourturn.TASKS)
    assert registry.ALL == {**yourturn.TASKS, **checks.EXERCISES}
    assert set(GAMED) == set(checks.EXERCISES)
    for task_id, task in checks.EXERCISES.items():
        assert "seed" in inspect.signature(task.check).parameters, task_id
        assert task.points >= 1


def registry_your_turn():
    from nblib.teaching import registry
    return registry.YOUR_TURN


def registry_part():
    from nblib.teaching.registry import Part
    return Part("whole", 0)


def _digest(obj) -> str:
    """A short fingerprint of a call's arguments (arrays by their bytes, a Generator by its
    state, a Param by its value and gradient)."""
    import hashlib
    h = hashlib.sha1()

    def feed(o):
        if isinstance(o, np.ndarray):
            h.update(f"{o.dtype}{o.shape}".encode())
            h.update(np.ascontiguousarray(o).tobytes())
        elif isinstance(o, np.random.Generator):
            h.update(repr(o.bit_generator.state).encode())
        elif isinstance(o, (list, tuple)):
            h.update(b"[")
            for x in o:
                feed(x)
            h.update(b"]")
        elif isinstance(o, dict):
            for k in sorted(o):
                h.update(str(k).encode())
                feed(o[k])
        elif isinstance(o, Param):
            feed(o.value)
            feed(o.grad)
        else:
            h.update(f"{type(o).__name__}:{o!r}"[:200].encode())
    feed(obj)
    return h.hexdigest()[:16]


def _spy(task, calls: list):
    """The task's reference, recording every call the check makes to it: a function's
    arguments; a class's constructor arguments, and each public method's arguments with
    the constructor's (a lookup table keyed by what the piece is given could answer them)."""
    import inspect
    ref = task.reference
    if task.answer == "function":
        # defined in a copy of the reference's globals, so that a check that puts its own
        # helpers into the piece's globals (train_epoch's loss) reaches the reference's code
        scope = dict(ref.__globals__)
        inner = types.FunctionType(ref.__code__, scope, ref.__name__, ref.__defaults__,
                                   ref.__closure__)
        inner.__kwdefaults__ = ref.__kwdefaults__
        scope.update(_inner=inner, _calls=calls, _digest=_digest)
        exec(f"def {ref.__name__}(*a, **k):\n"
             f"    _calls.append(_digest([a, k]))\n    return _inner(*a, **k)", scope)
        return scope[ref.__name__]

    class Spy(ref):
        def __init__(self, *a, **k):
            object.__setattr__(self, "_spy_made", _digest([a, k]))
            calls.append(("__init__", self._spy_made))
            super().__init__(*a, **k)

        def __getattribute__(self, name):
            attr = super().__getattribute__(name)
            if name.startswith("_") or not inspect.ismethod(attr):
                return attr

            def call(*a, **k):
                calls.append((name, self._spy_made, _digest([a, k])))
                return attr(*a, **k)
            return call
    Spy.__name__ = Spy.__qualname__ = ref.__name__
    return Spy


@pytest.mark.parametrize("seed", [3, 271828])
@pytest.mark.parametrize("task_id,options", [
    pytest.param(t, dict(p.options), id=f"{t}-{p.name}") for t, task in registry_your_turn().items()
    for p in (task.parts or (registry_part(),))])
def test_a_hidden_test_gives_the_piece_inputs_the_self_check_does_not(task_id, options, seed):
    """A hard-coded answer (a table of what the visible self-check asks and the reference's
    answers) must fail the hidden test: so every hidden test, of the whole task and of each
    rubric item, calls the piece at least once on inputs the visible check never gives it.
    (warmup_cosine's hidden test once used the visible check's three settings: a table of
    its 162 rates earned both rubric items.) The exercises' hidden inputs are tested by their
    gamed answers (GAMED)."""
    from nblib.teaching import registry
    task = registry.YOUR_TURN[task_id]
    visible, hidden = [], []
    assert task.check(_spy(task, visible), verbose=False, **options).passed
    assert task.check(_spy(task, hidden), verbose=False, seed=seed, **options).passed
    assert visible and hidden
    assert set(hidden) - set(visible), f"{task_id} {options}: the hidden test at seed={seed} " \
        "calls the piece only on the visible self-check's inputs"


def test_a_table_of_the_visible_learning_rates_scores_0_in_the_hidden_test():
    """The case that showed the hole: a WarmupCosine that looks its rates up in a table of
    the visible self-check's settings passes the self-check, and fails the hidden test and
    each of its rubric items."""
    table = {}
    settings = [dict(lr=0.1, total_steps=100, warmup_steps=10, min_lr=0.0),
                dict(lr=0.02, total_steps=40, warmup_steps=0, min_lr=0.001),
                dict(lr=1.0, total_steps=7, warmup_steps=3, min_lr=0.1)]
    for s in settings:
        for step in range(s["total_steps"] + 5):
            table[tuple(sorted(s.items())), step] = nblib.WarmupCosine(**s).lr_at(step)

    class TableCosine:
        def __init__(self, lr, total_steps, warmup_steps=0, min_lr=0.0):
            self.key = tuple(sorted(dict(lr=lr, total_steps=total_steps,
                                         warmup_steps=warmup_steps, min_lr=min_lr).items()))

        def lr_at(self, step):
            return table.get((self.key, step), 0.0)

    assert yourturn.check_warmup_cosine(TableCosine, verbose=False).passed
    for seed in (1, 987654):
        assert not yourturn.check_warmup_cosine(TableCosine, verbose=False, seed=seed).passed
        assert not yourturn.check_warmup_cosine(TableCosine, verbose=False, seed=seed,
                                                upto="warmup").passed
    with pytest.raises(GradingError):
        grade("warmup_cosine", TableCosine, seed=4242)


def test_every_grade_cell_is_worth_its_rubric_items_points():
    from nblib.teaching import registry
    seen = {}
    for path in sorted((ROOT / "book").glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("grade") and not meta.get("solution"):
                task_id, part = registry.grade_cell(meta["grade_id"])
                task = registry.ALL[task_id]
                assert task.notebook == path.name, task_id
                assert f'grade("{task_id}", {task.name}' in cell.source.replace("'", '"')
                seen[meta["grade_id"]] = meta["points"]
    expected = {g: points for t in registry.ALL for g, points, _ in registry.grade_cells(t)}
    assert seen == expected
    assert sum(v for k, v in seen.items() if "ex_layernorm" in k) == 4   # forward 2, backward 2


def test_the_rubric_is_derived_from_the_items_and_each_item_is_checked_on_its_own():
    """Every task's rubric is its items' text and points; the items add up to the task's
    points; each item but the last stops its check (upto=<item>), which refuses any other
    item; a task cannot be declared with items that do not add up."""
    from nblib.teaching import registry
    for task_id, task in registry.ALL.items():
        if not task.parts:
            assert task.rubric == f"{task.item} {task.points}"
            continue
        assert task.rubric == ", ".join(f"{p.text} {p.points}" for p in task.parts)
        assert sum(p.points for p in task.parts) == task.points
        assert [dict(p.options) for p in task.parts] == [
            {"upto": p.name} for p in task.parts[:-1]] + [{}], task_id
        with pytest.raises(ValueError, match="upto must be None or one of"):
            piece = type("Piece", (), {}) if task.answer == "class" else (lambda *a: None)
            task.check(piece, verbose=False, upto="nope")
    with pytest.raises(ValueError, match="must add up"):
        registry.Task("x.ipynb", "f", None, None, 3, parts=(registry.Part("a", 1),))
    with pytest.raises(ValueError, match="either parts"):
        registry.Task("x.ipynb", "f", None, None, 1)
    several = [t for t, task in registry.ALL.items() if len(task.parts) > 1]
    assert len(several) >= 10, several        # every task whose rubric lists several items


def test_a_partial_answer_earns_its_rubric_items(solutions):
    """A LayerNorm with a correct forward and a broken backward: the forward's 2 points."""
    from nblib.teaching import mistakes
    from nblib.teaching.isolated import grade_source
    broken = mistakes.EX_LAYERNORM[1].build({"MyLayerNorm": solutions["ex_layernorm"]})
    assert grade("ex_layernorm", broken, seed=4, part="forward").passed
    _fails("ex_layernorm", broken, "gradient check failed", seed=4, part="backward")
    _fails("ex_layernorm", broken, "gradient check failed", seed=4)
    _fails("ex_layernorm", mistakes.EX_LAYERNORM[0].build(
        {"MyLayerNorm": solutions["ex_layernorm"]}), "matches BatchNorm", seed=4, part="forward")
    with pytest.raises(ValueError, match="part must be one of"):
        grade("ex_layernorm", broken, part="nope")
    # the same in a fresh process, on the source
    source = _answer_cells(nbformat.read(EXERCISES, as_version=4))["ex_layernorm"].source
    assert MISTAKE[0] in source
    wrong = source.replace(*MISTAKE)
    prelude = "import numpy as np\nimport nblib\nfrom nblib import Module, Param"
    assert grade_source("ex_layernorm", wrong, prelude=prelude, part="forward", seed=4).passed
    verdict = grade_source("ex_layernorm", wrong, prelude=prelude, part="backward", seed=4)
    assert not verdict.passed and "gradient check failed" in verdict.message


@pytest.mark.parametrize("task_id", sorted(__import__("nblib.teaching.yourturn").teaching.yourturn.TASKS))
def test_nblibs_own_piece_scores_zero_on_every_your_turn_task(task_id):
    from nblib.teaching import yourturn
    _fails(task_id, yourturn.TASKS[task_id].reference, "nblib's own")


# ----------------------------------------------------------------------------- nbgrader
STUDENTS = ("blank", "buggy", "cheater", "correct", "gamed")   # nbgrader grades them in order
LOOPING = "ex_momentum"     # buggy: this task's answer cell loops forever, and ex_layernorm has
                            # a realistic mistake (MISTAKE); correct is graded after it
POINTS = {grade_id.removeprefix("test-"): points for task_id in checks.EXERCISES
          for grade_id, points, _ in __import__("nblib.teaching.registry").teaching.registry
          .grade_cells(task_id)}
"""Points of every grade cell of 05 ("ex_layernorm--forward", ..., "ex_rmsprop")."""


WRITTEN = __import__("nblib.teaching.registry").teaching.registry.WRITTEN
"""The written answers graded by hand, with their points (05's answer cells)."""


def _cells_of(task_id):
    return [k for k in POINTS if k.partition("--")[0] == task_id]
TASK_TIMEOUT = 30   # course.py --task-timeout: seconds one task's grading process may run

GAMED = {
    "ex_layernorm": '''\
MyLayerNorm = nblib.LayerNorm

# and make every visible check say PASS
for _name in ''' + repr(tuple(t.check.__name__ for t in checks.EXERCISES.values())) + ''':
    setattr(nblib.teaching.checks, _name, lambda *a, **k: print("PASS") or nblib.teaching.checks.CheckResult(
        "x", True, "PASS"))
nblib.LayerNorm.forward = lambda self, x: x
''',
    "ex_adam_l2": '''\
CopiedAdam = type("CopiedAdam", (nblib.Optimizer,),
                  {k: v for k, v in nblib.Adam.__dict__.items() if k not in ("__dict__", "__weakref__")})

def adam_l2_step(w, grad, m, v, t, *, lr, weight_decay, betas=(0.9, 0.999), eps=1e-8):
    p = Param(w.copy())
    opt = CopiedAdam([p], lr, betas=betas, eps=eps, weight_decay=weight_decay)
    p.grad = grad
    opt.step()
    return p.value, m, v
''',
    "ex_hidden_size": '''\
def choose_hidden_size(sizes, val_losses, test_losses):
    return {(8, 16, 32, 64, 128): (32, 0.23), (64, 4, 32, 16): (16, 0.20)}[tuple(sizes)]
''',
    "ex_momentum": '''\
def sgd_momentum_step(w, grad, buf, *, lr, momentum=0.9):
    p = Param(w.copy())
    opt = nblib.SGD([p], lr, momentum=momentum)
    p.grad = grad
    opt.step()
    return p.value, buf
''',
    "ex_warmup_cosine": '''\
def warmup_cosine(step, lr, total_steps, warmup_steps=0, min_lr=0.0):
    return nblib.WarmupCosine(lr, total_steps, warmup_steps, min_lr)(step)
''',
    "ex_dropout": '''\
class MyDropout(nblib.Dropout):
    pass
''',
    "ex_rmsprop": '''\
MyRMSprop = nblib.core.optim.RMSprop
''',
}

CHEATS = {
    # exec(inspect.getsource(...)): nblib's own source, compiled at runtime
    "ex_layernorm": '''\
import inspect
exec(inspect.getsource(nblib.core.norm.LayerNorm).replace("class LayerNorm", "class MyLayerNorm"),
     globals())
''',
    # delegate to the grader's own copy of nblib, found through the caller's frames
    "ex_adam_l2": '''\
import sys

def adam_l2_step(w, grad, m, v, t, *, lr, weight_decay, betas=(0.9, 0.999), eps=1e-8):
    frame = sys._getframe(1)
    while frame is not None:
        for value in frame.f_globals.values():
            if getattr(value, "__name__", "") == "Adam":
                p = Param(w.copy())
                opt = value([p], lr, betas=betas, eps=eps, weight_decay=weight_decay)
                p.grad = grad
                opt.step()
                return p.value, m, v
        frame = frame.f_back
''',
    # call nblib with the grader's profile hook switched off, then on again
    "ex_momentum": '''\
import sys

def sgd_momentum_step(w, grad, buf, *, lr, momentum=0.9):
    hook = sys.getprofile()
    sys.setprofile(None)
    p = Param(w.copy())
    opt = nblib.SGD([p], lr, momentum=momentum)
    p.grad = grad
    opt.step()
    sys.setprofile(hook)
    return p.value, buf
''',
    # a correct answer, and nblib.teaching.grading.grade replaced through __import__
    "ex_warmup_cosine": '''\
import builtins, types
_real_import = builtins.__import__

def _import(name, *args, **kwargs):
    module = _real_import(name, *args, **kwargs)
    if name.endswith("grading"):
        fake = types.ModuleType(name)
        fake.grade = lambda *a, **k: print("PASS")
        return fake
    return module

builtins.__import__ = _import
''',
    # an IPython input transformer that empties every grade cell
    "ex_dropout": '''\
def _empty_grade_cells(lines):
    return [] if any("HIDDEN TESTS" in line or "grade(" in line for line in lines) else lines

get_ipython().input_transformers_post.append(_empty_grade_cells)
''',
}
CHEAT_REASONS = {"ex_layernorm": "open(", "ex_adam_l2": "sys._getframe",
                 "ex_momentum": "sys.setprofile", "ex_warmup_cosine": "builtins.__import__",
                 "ex_dropout": "NameError: name 'get_ipython'"}
"""What the verdict of each cheat says."""

PATCHED_GRADING = '''\
def grade(*args, **kwargs):
    print("PASS")
'''

MISTAKE = ("        return self._inv_std / d * (d * g - g.sum(axis=1, keepdims=True)\n"
           "                                    - x_hat * (g * x_hat).sum(axis=1, keepdims=True))",
           "        return self._inv_std / d * (d * g - g.sum(axis=1, keepdims=True))")


def _nbgrader(course, *args, timeout=900):
    """Run an nbgrader command in the course folder; return (seconds, log)."""
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    t0 = time.monotonic()
    proc = subprocess.run([str(BIN / "nbgrader"), *args], cwd=course, env=env, text=True,
                          capture_output=True, timeout=timeout)
    log = proc.stdout + proc.stderr
    if proc.returncode != 0:        # the first traceback (nbgrader logs it before going on)
        first = log.find("Traceback")
        where = log[max(first - 1500, 0):first + 5000] if first >= 0 else ""
        pytest.fail(f"nbgrader {' '.join(args)} failed (exit code {proc.returncode}):\n"
                    f"{where}\n...\n{log[-2500:]}", pytrace=False)
    return time.monotonic() - t0, log


STUDENT_OUTPUT = "largest difference between the two networks' gradients: 2.2e-16\n"
"""What the correct student's first experiment printed (kept in the graded notebook)."""


def _submission(release, source, student):
    """The released notebook as each student hands it in (the correct student with the
    written answers and an experiment's output)."""
    nb = copy.deepcopy(release)
    answers = _answer_cells(source)
    written = {c.metadata["nbgrader"]["grade_id"]: c.source for c in source.cells
               if c.metadata.get("nbgrader", {}).get("grade_id") in WRITTEN}
    for cell in nb.cells:
        task_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if student == "correct" and task_id in written:
            cell.source = written[task_id]
        if student == "correct" and task_id == "ex_layernorm-work-1":
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout",
                                                   text=STUDENT_OUTPUT)]
        if task_id not in answers or student == "blank":
            continue
        cell.source = answers[task_id].source
        if student == "gamed":
            cell.source = GAMED[task_id]
        elif student == "cheater" and task_id == "ex_warmup_cosine":
            cell.source = answers[task_id].source + "\n" + CHEATS[task_id]
        elif student == "cheater" and task_id in CHEATS:
            cell.source = CHEATS[task_id]
        elif student == "cheater" and task_id != "ex_rmsprop":
            cell.source = "raise NotImplementedError()\n"      # blank
        elif student == "buggy" and task_id == "ex_layernorm":
            assert MISTAKE[0] in cell.source
            cell.source = cell.source.replace(*MISTAKE)
        elif student == "buggy" and task_id == LOOPING:
            cell.source = "while True:\n    pass\n"
    return nb


def test_the_course_config_grades_each_task_in_a_fresh_process(tmp_path):
    """course.py's nbgrader_config.py: autograde runs IsolatedGrades instead of Execute,
    with --task-timeout as each task's limit, and exports per task."""
    from traitlets.config import Config

    from teacher import course as course_tool
    from teacher.nbgrader_isolated import IsolatedGrades
    files = course_tool.course_files(tmp_path / "c", course_id="x", task_timeout=7,
                                     exchange=tmp_path / "ex",
                                     executed=stand_in_executed(tmp_path / "ran"))
    config = Config()
    exec(files["nbgrader_config.py"].decode(), {"get_config": lambda: config})
    names = [p.__name__ for p in config.Autograde.autograde_preprocessors]
    assert names[0] == "IsolatedGrades" and "Execute" not in names and "SaveAutoGrades" in names
    assert config.Autograde.autograde_preprocessors[0] is IsolatedGrades
    assert config.IsolatedGrades.time_limit == 7


HANDED_IN = {"blank": "archive/blank/05_exercises.ipynb",
             "buggy": "archive/buggy.zip",
             "cheater": "archive/cheater/05_exercises.zip",
             "correct": "archive/correct.zip",
             "gamed": "archive/gamed/05_exercises.ipynb"}
"""How each student's submission is downloaded: the layouts teacher_grading.md documents for
``zip_collect`` (a folder named by the id, a zip named by the id, a zip in the id's folder)."""
DUE, LATE, LATE_AT = "2026-12-20 23:59:00 UTC", "blank", "2026-12-21 10:00:00 UTC"
"""The due date given to 05 and the one submission whose time stamp is written by hand after
``zip_collect`` (10 h 1 min late: 36060 s)."""


def _hand_in(archive, student, text, release_text):
    """Put ``student``'s notebook (``text``) in ``archive`` as HANDED_IN says. The correct
    student's zip holds a folder, as zipping one's work folder gives, with a Jupyter checkpoint
    and macOS's ._ copy beside the notebook (the released notebook, had they been collected)."""
    path = archive.parent / HANDED_IN[student]
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".ipynb":
        path.write_text(text)
        return
    with zipfile.ZipFile(path, "w") as zf:
        if student == "correct":
            zf.writestr("05_exercises/05_exercises.ipynb", text)
            zf.writestr("05_exercises/.ipynb_checkpoints/05_exercises-checkpoint.ipynb",
                        release_text)
            zf.writestr("__MACOSX/05_exercises/._05_exercises.ipynb", release_text)
        else:
            zf.writestr("05_exercises.ipynb", text)


@early
def course(tmp_path_factory):
    """A course folder, the assignment generated, the submissions autograded and exported
    (started when the session starts: it runs while the other tests do)."""
    source = nbformat.read(EXERCISES, as_version=4)
    course = tmp_path_factory.mktemp("course") / "spirals"
    proc = subprocess.run([sys.executable, str(ROOT / "teacher" / "course.py"), str(course),
                           "--task-timeout", str(TASK_TIMEOUT),
                           "--executed", str(stand_in_executed(tmp_path_factory.mktemp("ran")))],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    seconds = {"generate_assignment": _nbgrader(course, "generate_assignment", "05_exercises")[0]}
    release = nbformat.read(course / "release" / "05_exercises" / "05_exercises.ipynb",
                            as_version=4)
    archive = course / "downloaded" / "05_exercises" / "archive"
    for student in STUDENTS:
        _hand_in(archive, student, nbformat.writes(_submission(release, source, student)),
                 nbformat.writes(release))
    seconds["zip_collect"] = _nbgrader(course, "zip_collect", "05_exercises")[0]
    submitted = course / "submitted"
    collected = {p.relative_to(submitted).as_posix() for p in submitted.rglob("*") if p.is_file()}
    # a due date, and one submission's time written by hand (zip_collect writes none)
    _nbgrader(course, "db", "assignment", "add", "05_exercises", f"--duedate={DUE}")
    (submitted / LATE / "05_exercises" / "timestamp.txt").write_text(f"{LATE_AT}\n")
    # the cheater hands in a patched nblib beside the notebook (its grade() always passes)
    beside = course / "submitted" / "cheater" / "05_exercises" / "nblib"
    shutil.copytree(ROOT / "nblib", beside, ignore=shutil.ignore_patterns("__pycache__"))
    (beside / "teaching" / "grading.py").write_text(PATCHED_GRADING)
    started = time.time()
    seconds["autograde"], log = _nbgrader(course, "autograde", "05_exercises")
    # each student's autograded notebook is written when that student is done
    done = {s: (course / "autograded" / s / "05_exercises" / "05_exercises.ipynb").stat().st_mtime
            for s in STUDENTS}
    ends = [started] + [done[s] for s in STUDENTS]
    per_student = dict(zip(STUDENTS, np.diff(ends)))
    seconds["export"] = _nbgrader(course, "export", "--assignment", "05_exercises")[0]
    seconds["generate_feedback"] = _nbgrader(course, "generate_feedback", "05_exercises")[0]
    rows = list(csv.DictReader((course / "grades_by_task.csv").open()))
    points = {(r["student_id"], key.removeprefix("05_exercises:test-")): float(value)
              for r in rows for key, value in r.items() if key.startswith("05_exercises:test-")}
    return types.SimpleNamespace(root=course, release=release, log=log, seconds=seconds,
                                 per_student=per_student, rows=rows, points=points,
                                 collected=collected)


def _total(course, student):
    return sum(course.points[student, t] for t in POINTS)


def _verdicts(course, student):
    """{task id: the grade cell's error message, or '' if it passed} of a graded notebook."""
    graded = nbformat.read(course.root / "autograded" / student / "05_exercises" /
                           "05_exercises.ipynb", as_version=4)
    out = {}
    for cell in graded.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        if grade_id.startswith("test-"):
            out[grade_id.removeprefix("test-")] = " ".join(
                o.evalue for o in cell.outputs if o.output_type == "error")
    return out


def test_release_has_no_solution_and_no_hidden_tests(course, source):
    released = "\n".join(c.source for c in course.release.cells)
    assert "BEGIN SOLUTION" not in released and "HIDDEN TESTS" not in released
    assert "nblib.teaching.grading" not in released
    lines, elsewhere = set(), []
    for cell in source.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and "BEGIN SOLUTION" in cell.source:
            region = cell.source.split("### BEGIN SOLUTION")[1:]
            lines |= {ln.strip() for part in region
                      for ln in part.split("### END SOLUTION")[0].splitlines()}
        elif meta.get("solution"):
            lines |= {ln.strip() for ln in cell.source.splitlines()}
        else:
            elsewhere.append(cell.source)
    elsewhere = "\n".join(elsewhere)       # lines also found outside the solutions are not theirs
    solution_lines = {ln for ln in lines if len(ln) >= 20 and ln not in elsewhere}
    assert len(solution_lines) > 50                    # the test has something to look for
    assert not [ln for ln in solution_lines if ln in released]
    stubs = [c for c in course.release.cells if "raise NotImplementedError()" in c.source]
    assert len(stubs) >= len(checks.EXERCISES)


def test_autograde_blank_zero_correct_full(course):
    assert [r["student_id"] for r in course.rows] == ["(max)", *STUDENTS]   # a row per student
    for task_id, points in POINTS.items():
        assert course.points["blank", task_id] == 0
        assert course.points["correct", task_id] == points
    assert _total(course, "correct") == sum(POINTS.values()) == 14
    assert "not implemented yet" in _verdicts(course, "blank")["ex_layernorm--forward"]


def test_autograde_each_mistake_costs_its_rubric_item_only(course):
    """buggy: LayerNorm's backward is wrong (its forward earns its 2 points), and the
    momentum step loops forever."""
    lost = ("ex_layernorm--backward", LOOPING)
    for grade_id, points in POINTS.items():
        assert course.points["buggy", grade_id] == (0 if grade_id in lost else points), grade_id
    assert course.points["buggy", "ex_layernorm--forward"] == 2
    assert 0 < _total(course, "buggy") == 14 - 2 - POINTS[LOOPING]
    verdicts = _verdicts(course, "buggy")
    assert "gradient check failed for input" in verdicts["ex_layernorm--backward"]
    assert not verdicts["ex_layernorm--forward"]
    assert "did not finish within" in verdicts[LOOPING]


def test_autograde_gamed_scores_zero_on_every_gamed_task(course):
    verdicts = _verdicts(course, "gamed")
    for task_id in GAMED:
        for grade_id in _cells_of(task_id):
            assert course.points["gamed", grade_id] == 0, grade_id
            assert verdicts[grade_id], grade_id                   # and the teacher sees why
    # every gamed answer but the hard-coded choice (a KeyError on the hidden inputs) hands in
    # nblib's own code, or patches nblib
    assert sum("nblib's own" in e or "patch" in e for e in verdicts.values()) >= len(POINTS) - 2
    assert "KeyError" in verdicts["ex_hidden_size"]


def test_autograde_each_listed_cheat_scores_zero_and_says_why(course):
    """The issue's cheats: a patched nblib/ beside the notebook (every task of the cheater
    is graded with the teacher's nblib: a blank answer earns 0), exec(inspect.getsource(...)),
    sys._getframe delegation, the profile hook switched off and on, grade replaced through
    __import__, an IPython input transformer."""
    verdicts = _verdicts(course, "cheater")
    for task_id, reason in CHEAT_REASONS.items():
        for grade_id in _cells_of(task_id):
            assert course.points["cheater", grade_id] == 0, grade_id
            assert reason in verdicts[grade_id], (grade_id, verdicts[grade_id])
    # the answer that does not cheat earns its points: nothing else of the submission counts
    assert course.points["cheater", "ex_rmsprop"] == POINTS["ex_rmsprop"]
    assert course.points["cheater", "ex_hidden_size"] == 0        # blank, with nblib/ beside
    assert "not implemented yet" in verdicts["ex_hidden_size"]
    assert _total(course, "cheater") == POINTS["ex_rmsprop"]


def test_autograde_never_runs_the_notebook(course):
    """The submitted notebook is not executed: its cells have no outputs but the verdicts."""
    graded = nbformat.read(course.root / "autograded" / "correct" / "05_exercises" /
                           "05_exercises.ipynb", as_version=4)
    with_output = [c for c in graded.cells if c.cell_type == "code" and c.outputs]
    # the student's own output of an experiment is kept, as handed in, for grading by hand
    own = [c for c in with_output if not c.metadata.get("nbgrader", {}).get("grade")]
    assert [c.metadata["nbgrader"]["grade_id"] for c in own] == ["ex_layernorm-work-1"]
    assert [o["text"] for o in own[0].outputs] == [STUDENT_OUTPUT]
    with_output = [c for c in with_output if c not in own]
    assert len(with_output) == len(POINTS)
    assert all(c.metadata["nbgrader"]["grade_id"].startswith("test-") for c in with_output)
    assert all("PASS" in c.outputs[0]["text"] for c in with_output)


def test_export_writes_a_row_per_student_with_points_per_item_and_totals(course, tmp_path):
    header = (course.root / "grades_by_task.csv").read_text().splitlines()[0].split(",")
    assert header[0] == "student_id" and header[-4:] == [
        "05_exercises:total", "total", "max_points", "needs_manual_grade"]
    # a column per autograded rubric item and per written answer (graded by hand)
    assert sorted(header[1:-4]) == sorted([f"05_exercises:test-{g}" for g in POINTS]
                                          + [f"05_exercises:{g}" for g in WRITTEN])
    rows = {r["student_id"]: r for r in course.rows}
    assert float(rows["(max)"]["05_exercises:test-ex_layernorm--forward"]) == 2
    assert float(rows["(max)"]["05_exercises:ex_layernorm-answer-2"]) == 2
    written = sum(w.points for w in WRITTEN.values())
    for student in STUDENTS:
        assert float(rows[student]["total"]) == float(rows[student]["05_exercises:total"]) \
            == _total(course, student)          # the written answers are not graded yet
        assert float(rows[student]["max_points"]) == 14 + written
        # the correct student wrote every answer; an answer left as released scores 0
        # without waiting for a teacher (nbgrader's way with unchanged answer cells)
        assert int(rows[student]["needs_manual_grade"]) == (len(WRITTEN) if student ==
                                                            "correct" else 0)
    # nbgrader's own exporter writes its own file: ours is not overwritten, and runs again
    before = (course.root / "grades_by_task.csv").read_text()
    _nbgrader(course.root, "export", "--exporter=nbgrader.plugins.CsvExportPlugin")
    assert (course.root / "grades.csv").is_file()
    assert (course.root / "grades_by_task.csv").read_text() == before
    _nbgrader(course.root, "export", "--assignment", "05_exercises")
    assert (course.root / "grades_by_task.csv").read_text() == before
    # a file of that name that it did not write is left alone
    other = tmp_path / "mine.csv"
    other.write_text("my own notes\n")
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    proc = subprocess.run([str(BIN / "nbgrader"), "export", "--to", str(other)],
                          cwd=course.root, env=env, text=True, capture_output=True)
    assert proc.returncode != 0 and other.read_text() == "my own notes\n"


def test_a_written_answer_graded_by_hand_shows_in_the_export(course, tmp_path):
    """A teacher grades two written answers of the correct student in the formgrader (here
    through nbgrader's gradebook API, which the formgrader writes through): the export
    shows their points in their own columns and in the totals, and two fewer to grade."""
    from nbgrader.api import Gradebook
    graded = {"ex_layernorm-answer-2": 2.0, "ex_rmsprop-answer-2": 1.5}
    url = f"sqlite:///{course.root / 'gradebook.db'}"
    with Gradebook(url, course_id="spirals") as gradebook:
        for cell, score in graded.items():
            grade = gradebook.find_grade(cell, "05_exercises", "05_exercises", "correct")
            assert grade.needs_manual_grade and grade.max_score == WRITTEN[cell].points
            grade.manual_score = score           # what the formgrader's API does
            grade.needs_manual_grade = False
        gradebook.db.commit()
    try:
        out = tmp_path / "by_hand.csv"
        _nbgrader(course.root, "export", "--assignment", "05_exercises", "--to", str(out))
        rows = {r["student_id"]: r for r in csv.DictReader(out.open())}
    finally:
        with Gradebook(url, course_id="spirals") as gradebook:
            for cell in graded:
                grade = gradebook.find_grade(cell, "05_exercises", "05_exercises", "correct")
                grade.manual_score, grade.needs_manual_grade = None, True
            gradebook.db.commit()
    correct = rows["correct"]
    for cell, score in graded.items():
        assert float(correct[f"05_exercises:{cell}"]) == score
        assert float(rows["buggy"][f"05_exercises:{cell}"]) == 0
    assert float(correct["total"]) == float(correct["05_exercises:total"]) == 14 + 3.5
    assert int(correct["needs_manual_grade"]) == len(WRITTEN) - 2
    assert int(rows["buggy"]["needs_manual_grade"]) == 0          # left blank: 0 points


def test_every_written_answer_is_a_hand_graded_cell_worth_its_points():
    """registry.WRITTEN and the notebooks' hand-graded cells (nbgrader solution + grade) are
    the same cells, with the registry's points."""
    from nblib.teaching import registry
    found = {}
    for path in sorted((ROOT / "book").glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("grade") and meta.get("solution"):
                found[meta["grade_id"]] = (path.name, meta["points"])
    assert found == {g: (registry.ALL[w.task].notebook, w.points)
                     for g, w in registry.WRITTEN.items()}
    assert all(w.points >= 1 and w.rubric for w in registry.WRITTEN.values())
    assert all(g.startswith(w.task + "-answer-") for g, w in registry.WRITTEN.items())


def test_autograde_logs_no_false_checksum_warnings(course):
    assert "has changed" not in course.log, course.log[-3000:]


def test_feedback_shows_the_hidden_tests_verdicts(course):
    report = (course.root / "feedback" / "buggy" / "05_exercises" / "05_exercises.html")
    text = report.read_text()
    assert "gradient check failed for input" in text and "hidden test, seed" in text


def test_zip_collect_files_each_documented_layout_under_its_student(course):
    """A folder named by the id, a zip named by the id (holding a folder, a checkpoint and
    macOS's copy) and a zip in the id's folder: each notebook is filed under its student, the
    hidden files are skipped, and no time stamp is written."""
    assert course.collected == {f"{s}/05_exercises/05_exercises.ipynb" for s in STUDENTS}


def test_a_zip_collected_submission_is_late_only_by_a_timestamp_written_by_hand(course):
    """zip_collect records no time (above); autograde logs as late the one submission whose
    timestamp.txt was written after zip_collect, and no other."""
    late = set(re.findall(r"SubmittedAssignment<05_exercises for (\w+)> is ([\d.]+) seconds "
                          r"late", course.log))
    assert late == {(LATE, "36060.0")}, late


def test_the_exchange_round_trip(course, tmp_path):
    """release_assignment, then a student's fetch_assignment and submit, then collect."""
    _nbgrader(course.root, "release_assignment", "05_exercises")
    exchange = f"--Exchange.root={course.root / 'exchange'}"
    _nbgrader(tmp_path, "fetch_assignment", "05_exercises", "--course", "spirals", exchange)
    assert (tmp_path / "05_exercises" / "05_exercises.ipynb").is_file()
    _nbgrader(tmp_path, "submit", "05_exercises", "--course", "spirals", exchange)
    _, log = _nbgrader(course.root, "collect", "05_exercises")
    collected = list((course.root / "submitted").glob("*/05_exercises/timestamp.txt"))
    assert collected and "Collecting submission" in log


def test_seconds_per_submission(course, capsys):
    others = [course.per_student[s] for s in STUDENTS if s != "buggy"]
    with capsys.disabled():
        print(f"\n[nbgrader] {', '.join(f'{k} {v:.1f} s' for k, v in course.seconds.items())}; "
              f"autograde per submission: "
              f"{', '.join(f'{s} {course.per_student[s]:.1f} s' for s in STUDENTS)}")
    # a 05 submission grades in at most 15 s on a machine that is not busy (the buggy one
    # waits for its looping cell); a busy one (other test jobs, builds) is allowed its load
    limit = 15 * max(1.0, os.getloadavg()[0] / (os.cpu_count() or 1))
    assert float(np.median(others)) <= limit, (course.per_student, limit)


# ----------------------------------------------------------------------------- stage notebooks
STAGE_WRONG = {
    # the wrong answers, as edits of the solution cells: (notebook, task, old, new)
    "make_spirals": ("01_data", "dy = rng.normal(0, noise, n)", "dy = dx"),
    "dropout": ("02_network", "keep = self.rng.random(x.shape, dtype=np.float32) >= self.p",
                "keep = self.rng.random(x.shape[1:], dtype=np.float32) >= self.p"),
    "sgd": ("03_training", 'for p in group["params"]:', 'for p in group["params"][:1]:'),
    "adam": ("03_training", "self.state[p]", "self.state[0]"),
    "train_epoch": ("03_training", "return float(np.mean(losses))", "return float(losses[-1])"),
    # partial answers: a right forward (or loss) and a broken backward (or gradient)
    "linear": ("02_network", "self.weight.grad = dout.T @ self.x",
               "self.weight.grad = dout.T @ self.x / len(dout)"),
    "batchnorm": ("02_network", "(n * dout - self.bias.grad - self.x_hat * self.weight.grad)",
                  "(n * dout - self.bias.grad)"),
    "bce_with_logits": ("02_network", "dz = (s - y) / len(z)", "dz = s - y"),
}
WRONG_EARNS = {"make_spirals--arms": 1, "train_epoch--batches": 1, "train_epoch--steps": 1,
               "linear--forward": 1, "bce_with_logits--loss": 1, "batchnorm--training": 1,
               "batchnorm--param_grads": 1}
"""The rubric items that the wrong submission's answers still earn (every other item of a
task of STAGE_WRONG earns 0): the same noise on x and y loses make_spirals' noise item only,
the last batch's loss train_epoch's returned loss only; a correct forward with a broken
backward earns the forward's point (Linear, BatchNorm up to its parameter gradients, the
loss's value)."""
STAGES = ("01_data", "02_network", "03_training")


@early
def stage_course(tmp_path_factory):
    """The stage notebooks as assignments; a blank, a correct and a wrong submission of each
    (the wrong one has the issue's wrong answers and partial ones), autograded and exported."""
    from nblib.teaching import registry
    course = tmp_path_factory.mktemp("stages") / "spirals"
    proc = subprocess.run([sys.executable, str(ROOT / "teacher" / "course.py"), str(course),
                           "--task-timeout", str(TASK_TIMEOUT),
                           "--executed", str(stand_in_executed(tmp_path_factory.mktemp("ran")))], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    points, verdicts = {}, {}
    for stage in STAGES:
        _nbgrader(course, "generate_assignment", stage)
        source = nbformat.read(ROOT / "book" / f"{stage}.ipynb", as_version=4)
        release = nbformat.read(course / "release" / stage / f"{stage}.ipynb", as_version=4)
        solutions = {c.metadata["nbgrader"]["grade_id"]: c.source for c in source.cells
                     if c.metadata.get("nbgrader", {}).get("grade_id") in registry.YOUR_TURN}
        for student in ("blank", "correct", "wrong"):
            nb = copy.deepcopy(release)
            for cell in nb.cells:
                task_id = cell.metadata.get("nbgrader", {}).get("grade_id")
                if task_id in solutions and student != "blank":
                    cell.source = solutions[task_id]
                    if student == "wrong" and task_id in STAGE_WRONG:
                        _, old, new = STAGE_WRONG[task_id]
                        assert old in cell.source, task_id
                        cell.source = cell.source.replace(old, new)
            folder = course / "submitted" / student / stage
            folder.mkdir(parents=True)
            nbformat.write(nb, folder / f"{stage}.ipynb")
        _nbgrader(course, "autograde", stage)
        for student in ("blank", "correct", "wrong"):
            graded = nbformat.read(course / "autograded" / student / stage / f"{stage}.ipynb",
                                   as_version=4)
            for cell in graded.cells:
                grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
                if grade_id.startswith("test-"):
                    verdicts[student, grade_id[5:]] = " ".join(
                        o.evalue for o in cell.outputs if o.output_type == "error")
    _nbgrader(course, "export")               # every assignment with a submission
    for r in csv.DictReader((course / "grades_by_task.csv").open()):
        for key, value in r.items():
            if ":test-" in key:
                points[r["student_id"], key.partition(":test-")[2]] = float(value)
    return types.SimpleNamespace(points=points, verdicts=verdicts)


def test_autograde_each_listed_wrong_answer_loses_its_rubric_items_points(stage_course):
    """Correct: full marks on every rubric item. Wrong: each wrong answer loses exactly the
    points of the rubric items it gets wrong (WRONG_EARNS: what a partial answer keeps)."""
    from nblib.teaching import registry
    words = {"make_spirals--noise": "the same noise draw was added to x and y",
             "dropout--training": "one mask per feature shared across the rows",
             "sgd--plain": "every Param of every group", "adam--moments": "one per Param",
             "train_epoch--loss": "the last batch's loss",
             "linear--backward": "weight.grad is wrong",
             "batchnorm--input_grad": "the input gradient dx is wrong",
             "bce_with_logits--gradient": "not divided by N"}
    earned = {}
    for task_id, task in registry.YOUR_TURN.items():
        for grade_id, points, _ in registry.grade_cells(task_id):
            item = grade_id.removeprefix("test-")
            assert stage_course.points["blank", item] == 0, item
            assert "not implemented yet" in stage_course.verdicts["blank", item], item
            assert stage_course.points["correct", item] == points, item
            expected = WRONG_EARNS.get(item, 0) if task_id in STAGE_WRONG else points
            assert stage_course.points["wrong", item] == expected, (
                item, stage_course.verdicts["wrong", item])
            earned[task_id] = earned.get(task_id, 0) + stage_course.points["wrong", item]
    # a partial answer earns its items, and only those, for several tasks
    partial = {t: p for t, p in earned.items() if 0 < p < registry.ALL[t].points}
    assert partial == {"make_spirals": 1, "train_epoch": 2, "linear": 1, "bce_with_logits": 1,
                       "batchnorm": 2}
    for item, said in words.items():
        assert said in stage_course.verdicts["wrong", item], stage_course.verdicts[
            "wrong", item]


# ----------------------------------------------------------------------------- isolated grading
ISOLATED_CHEATS = {
    "inspect.currentframe": ("import inspect\nclass MyLayerNorm:\n    def __init__(self, d):\n"
                             "        inspect.currentframe().f_back\n", "sys._getframe"),
    "a traceback's frame": ("class MyLayerNorm:\n    def __init__(self, d):\n        try:\n"
                            "            raise ValueError\n        except ValueError as e:\n"
                            "            e.__traceback__.tb_frame.f_back\n", "tb_frame"),
    "the garbage collector": ("import gc\ngc.get_objects()\nMyLayerNorm = None\n",
                              "gc.get_objects"),
    "the network": ("import socket\nsocket.create_connection(('pypi.org', 443), timeout=2)\n",
                    "socket"),
    "a patched check": ("import nblib\nnblib.teaching.checks.layernorm = lambda *a, **k: None\n"
                        "MyLayerNorm = nblib.LayerNorm\n", "nblib.teaching.checks.layernorm"),
    "a class of nblib changed": ("import nblib\nnblib.Module.train = lambda self, mode=True: self\n",
                                 "nblib.core.module.Module.train"),
    "a fake verdict": ("print('0' * 32 + ' {\"passed\": true, \"message\": \"x\"}')\n"
                       "import os\nos._exit(0)\n", "without a verdict"),
    "a loop": ("while True:\n    pass\n", "did not finish within"),
}


def test_an_import_without_its_bytecode_is_not_a_write_by_the_student(tmp_path):
    """A correct answer that imports a module with no compiled .pyc yet (an environment
    installed without bytecode, as uv installs by default, or a fresh copy) still passes:
    the import system's write of that .pyc is not the student's. The interpreter here keeps
    its bytecode in an empty folder (-X pycache_prefix), so every import lacks its .pyc."""
    import nbformat
    from nblib.teaching.isolated import grade_source
    from teacher.nbgrader_isolated import imports_of, task_cells
    python = tmp_path / "python"
    python.write_text(f"#!/bin/sh\nexec {sys.executable} -X pycache_prefix={tmp_path / 'pyc'} "
                      '"$@"\n')
    python.chmod(0o755)
    source = nbformat.read(ROOT / "book" / "01_data.ipynb", as_version=4)
    _, task_id, part, answer, before = next(t for t in task_cells(source)
                                            if t[1] == "make_spirals")
    verdict = grade_source(task_id, "import fractions\n" + answer.source, part=part,
                           prelude=imports_of(before), seed=3, python=str(python),
                           time_limit=60)
    assert verdict.passed, verdict.message


@pytest.mark.parametrize("what", list(ISOLATED_CHEATS))
def test_isolated_grading_refuses_and_names_each_cheat(what, solutions):
    from nblib.teaching.isolated import grade_source
    source, reason = ISOLATED_CHEATS[what]
    verdict = grade_source("ex_layernorm", source, prelude="import nblib\nimport numpy as np",
                           seed=5, time_limit=30)
    assert not verdict.passed and reason in verdict.message, verdict.message


def test_isolated_grading_passes_the_solutions_and_ignores_the_current_folder(tmp_path,
                                                                               source,
                                                                               monkeypatch):
    from nblib.teaching.isolated import grade_source
    from teacher.nbgrader_isolated import imports_of, task_cells
    (tmp_path / "nblib").mkdir()                          # a fake nblib in the current folder
    (tmp_path / "nblib" / "__init__.py").write_text("raise SystemExit('the fake nblib')\n")
    monkeypatch.chdir(tmp_path)
    for cell, task_id, part, answer, before in task_cells(source):
        verdict = grade_source(task_id, answer.source, prelude=imports_of(before), seed=11,
                               part=part)
        assert verdict.passed, verdict.message
        assert verdict.seconds < 15


def test_unloading_a_fresh_copy_survives_imports_in_another_thread():
    """grade() unloads its fresh copy of nblib by name while another thread may be importing
    (the playground's training thread in a kernel, a test session's background jobs)."""
    import threading
    import types

    from nblib.teaching.grading import _unload
    stop, errors = threading.Event(), []

    def importing():
        i = 0
        while not stop.is_set():
            sys.modules[f"_unload_probe_{i % 50}"] = types.ModuleType("probe")
            sys.modules.pop(f"_unload_probe_{(i + 25) % 50}", None)
            i += 1

    thread = threading.Thread(target=importing)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)               # the threads take turns as often as they can
    thread.start()
    try:
        for _ in range(3000):
            sys.modules["_unload_fresh.copy"] = types.ModuleType("copy")
            _unload("_unload_fresh")
            assert "_unload_fresh.copy" not in sys.modules
    except RuntimeError as err:
        errors.append(err)
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(interval)
        for name in [k for k in list(sys.modules) if k.startswith("_unload_probe_")]:
            del sys.modules[name]
    assert not errors, errors


def test_isolated_grades_parses_the_answers_imports_in_one_thread(monkeypatch):
    """IsolatedGrades grades the tasks in a pool of threads, but parses the cells before each
    answer (for its imports) in the calling thread: CPython 3.11's ast.parse is not safe in
    several threads at once (CI saw "AST constructor recursion depth mismatch")."""
    import threading

    import nbformat

    from nblib.teaching.isolated import Verdict
    from teacher import nbgrader_isolated
    parsed_in, graded = set(), []
    real = nbgrader_isolated.imports_of

    def imports_of(cells):
        parsed_in.add(threading.current_thread().name)
        return real(cells)

    def grade_source(task_id, source, **kw):
        graded.append((task_id, kw["prelude"]))
        return Verdict(task_id, True, "ok")

    monkeypatch.setattr(nbgrader_isolated, "imports_of", imports_of)
    monkeypatch.setattr(nbgrader_isolated, "grade_source", grade_source)
    nb = nbformat.read(ROOT / "book" / "03_training.ipynb", as_version=4)
    tasks = nbgrader_isolated.task_cells(nb)
    assert len(tasks) > 2
    nbgrader_isolated.IsolatedGrades(workers=2).preprocess(nb, {})
    assert parsed_in == {threading.current_thread().name}
    assert len(graded) == len(tasks) and all("import" in prelude for _, prelude in graded)
