"""The autograder: nblib.teaching.grading's hidden tests, and a real nbgrader course run on them.

- ``grade`` passes the notebook's own solutions and fails, naming why, every kind of gaming
  the issue lists: nblib's class handed in (itself, a subclass, a wrapper, a copy made at
  runtime), outputs hard-coded to the visible check, nblib or its checks patched at runtime,
  a loop that never ends;
- a course folder written by ``teacher/course.py`` goes through nbgrader itself:
  ``generate_assignment`` (no solution text in the release), ``zip_collect``, ``autograde`` of
  four submissions (blank; buggy: a realistic mistake in one task and a loop that never ends
  in another; correct; gamed) and
  ``export`` (points per task in a CSV). The seconds per submission are printed.
"""
from __future__ import annotations

import copy
import csv
import functools
import os
import re
import subprocess
import sys
import time
import types
from pathlib import Path

import nbformat
import numpy as np
import pytest

import nblib
from nblib import Module, Param
from nblib.teaching import checks
from nblib.teaching.grading import GradingError, grade

from conftest import early

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


def test_every_grade_cell_is_worth_its_tasks_points():
    from nblib.teaching import yourturn
    tasks = {**yourturn.TASKS, **checks.EXERCISES}
    seen = set()
    for path in sorted((ROOT / "book").glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("grade") and not meta.get("solution"):
                task_id = meta["grade_id"].removeprefix("test-")
                task = tasks[task_id]
                assert task.notebook == path.name and meta["points"] == task.points, task_id
                assert f'grade("{task_id}", {task.name})' in cell.source.replace("'", '"')
                seen.add(task_id)
    assert set(checks.EXERCISES) <= seen


@pytest.mark.parametrize("task_id", sorted(__import__("nblib.teaching.yourturn").teaching.yourturn.TASKS))
def test_nblibs_own_piece_scores_zero_on_every_your_turn_task(task_id):
    from nblib.teaching import yourturn
    _fails(task_id, yourturn.TASKS[task_id].reference, "nblib's own")


# ----------------------------------------------------------------------------- nbgrader
STUDENTS = ("blank", "buggy", "correct", "gamed")   # graded in this order (nbgrader sorts them)
LOOPING = "ex_momentum"     # buggy: this task's answer cell loops forever, and ex_layernorm has
                            # a realistic mistake (MISTAKE); correct is graded after it
POINTS = {task_id: task.points for task_id, task in checks.EXERCISES.items()}
TIMEOUT = 30      # nbgrader's Execute.timeout in the test course, seconds per cell
TASK_TIMEOUT = 5  # ... and per cell of a graded task (course.py --task-timeout): they take
                  # 0.2 s at most on the shared 2-core machine at load 8, the recipe cell 9 s

GAMED = {
    "ex_layernorm": '''\
MyLayerNorm = nblib.LayerNorm

# and make every visible check say PASS
for _name in ("layernorm", "adam_l2", "best_hidden_size", "sgd_momentum", "warmup_cosine",
              "dropout", "rmsprop"):
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

MISTAKE = ("        return self._inv_std / d * (d * g - g.sum(axis=1, keepdims=True)\n"
           "                                    - x_hat * (g * x_hat).sum(axis=1, keepdims=True))",
           "        return self._inv_std / d * (d * g - g.sum(axis=1, keepdims=True))")


def _nbgrader(course, *args, timeout=600):
    """Run an nbgrader command in the course folder; return (seconds, log)."""
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    t0 = time.monotonic()
    proc = subprocess.run([str(BIN / "nbgrader"), *args], cwd=course, env=env, text=True,
                          capture_output=True, timeout=timeout)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{log[-4000:]}"
    return time.monotonic() - t0, log


def _submission(release, source, student):
    """The released notebook as each student hands it in."""
    nb = copy.deepcopy(release)
    answers = _answer_cells(source)
    for cell in nb.cells:
        task_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if task_id not in answers or student == "blank":
            continue
        cell.source = answers[task_id].source
        if student == "gamed":
            cell.source = GAMED[task_id]
        elif student == "buggy" and task_id == "ex_layernorm":
            assert MISTAKE[0] in cell.source
            cell.source = cell.source.replace(*MISTAKE)
        elif student == "buggy" and task_id == LOOPING:
            cell.source = "while True:\n    pass\n"
    return nb


def test_the_course_config_gives_a_graded_tasks_cells_the_task_time_limit(tmp_path):
    """course.py's nbgrader_config.py: a task's answer, self-check and grade cells get
    --task-timeout, every other cell (the experiments, the recipe) --timeout."""
    from traitlets.config import Config

    from nblib.teaching import yourturn
    from teacher import course as course_tool
    files = course_tool.course_files(tmp_path / "c", course_id="x", timeout=TIMEOUT,
                                     task_timeout=TASK_TIMEOUT, exchange=tmp_path / "ex")
    config = Config()
    exec(files["nbgrader_config.py"].decode(), {"get_config": lambda: config})
    assert config.Execute.timeout == TIMEOUT
    tasks = {**yourturn.TASKS, **checks.EXERCISES}
    short = 0
    for rel, data in files.items():
        if not rel.endswith(".ipynb"):
            continue
        for cell in nbformat.reads(data.decode(), as_version=4).cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
            is_task = (grade_id.removeprefix("test-") in tasks
                       or "self-check" in cell.metadata.get("tags", []))
            assert config.Execute.timeout_func(cell) == (TASK_TIMEOUT if is_task else TIMEOUT), \
                (rel, cell.get("id"))
            short += is_task
    assert short == 3 * len(tasks)          # answer, self-check and grade cell of every task
    recipe = next(c for c in nbformat.reads(files["source/05_exercises/05_exercises.ipynb"]
                                            .decode(), as_version=4).cells
                  if c.get("id") == "recipe")
    assert config.Execute.timeout_func(recipe) == TIMEOUT
    slow = course_tool.course_files(tmp_path / "c", course_id="x", timeout=3, task_timeout=60,
                                    exchange=tmp_path / "ex")["nbgrader_config.py"].decode()
    config = Config()
    exec(slow, {"get_config": lambda: config})
    assert config.Execute.timeout_func(recipe) == 3              # never above --timeout
    assert config.Execute.timeout_func(recipe | {"metadata": {"tags": ["self-check"]}}) == 3


@early
def course(tmp_path_factory):
    """A course folder, the assignment generated, four submissions autograded and exported
    (started when the session starts: it runs while the other tests do)."""
    source = nbformat.read(EXERCISES, as_version=4)
    course = tmp_path_factory.mktemp("course") / "spirals"
    proc = subprocess.run([sys.executable, str(ROOT / "teacher" / "course.py"), str(course),
                           "--timeout", str(TIMEOUT), "--task-timeout", str(TASK_TIMEOUT)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    seconds = {"generate_assignment": _nbgrader(course, "generate_assignment", "05_exercises")[0]}
    release = nbformat.read(course / "release" / "05_exercises" / "05_exercises.ipynb",
                            as_version=4)
    for student in STUDENTS:
        path = course / "downloaded" / "05_exercises" / "archive" / student / "05_exercises.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(_submission(release, source, student), path)
    seconds["zip_collect"] = _nbgrader(course, "zip_collect", "05_exercises")[0]
    started = time.time()
    seconds["autograde"], log = _nbgrader(course, "autograde", "05_exercises")
    # each student's autograded notebook is written when that student is done
    done = {s: (course / "autograded" / s / "05_exercises" / "05_exercises.ipynb").stat().st_mtime
            for s in STUDENTS}
    ends = [started] + [done[s] for s in STUDENTS]
    per_student = dict(zip(STUDENTS, np.diff(ends)))
    seconds["export"] = _nbgrader(course, "export")[0]
    seconds["generate_feedback"] = _nbgrader(course, "generate_feedback", "05_exercises")[0]
    rows = list(csv.DictReader((course / "grades.csv").open()))
    points = {(r["student_id"], r["task"].removeprefix("test-")): float(r["points"])
              for r in rows}
    return types.SimpleNamespace(root=course, release=release, log=log, seconds=seconds,
                                 per_student=per_student, rows=rows, points=points)


def _total(course, student):
    return sum(course.points[student, t] for t in POINTS)


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
    assert len(stubs) >= len(POINTS)


def test_autograde_blank_zero_correct_full(course):
    assert len(course.rows) == len(STUDENTS) * len(POINTS)       # one row per student and task
    for task_id, points in POINTS.items():
        assert course.points["blank", task_id] == 0
        assert course.points["correct", task_id] == points
    assert _total(course, "correct") == sum(POINTS.values()) == 14


def test_autograde_each_mistake_costs_its_task_only(course):
    for task_id, points in POINTS.items():
        assert course.points["buggy", task_id] == (0 if task_id in ("ex_layernorm", LOOPING)
                                                   else points), task_id
    assert 0 < _total(course, "buggy") == 14 - POINTS["ex_layernorm"] - POINTS[LOOPING]


def test_autograde_gamed_scores_zero_on_every_gamed_task(course):
    for task_id in GAMED:
        assert course.points["gamed", task_id] == 0, task_id
    graded = nbformat.read(course.root / "autograded" / "gamed" / "05_exercises" /
                           "05_exercises.ipynb", as_version=4)
    selfchecks = "".join(o.get("text", "") for c in graded.cells
                         if "self-check" in c.metadata.get("tags", []) for o in c.outputs)
    assert selfchecks.count("PASS") == len(POINTS)          # the patched visible checks
    errors = [o.evalue for c in graded.cells if "grade" in c.metadata.get("tags", [])
              for o in c.outputs if o.output_type == "error"]
    assert len(errors) == len(POINTS)
    # every gamed answer but the hard-coded choice (a KeyError on the hidden inputs) hands in
    # nblib's own code
    assert sum("nblib's own" in e for e in errors) == len(POINTS) - 1
    assert any("KeyError" in e for e in errors)


def test_a_looping_submission_is_cut_off_and_the_batch_goes_on(course):
    graded = nbformat.read(course.root / "autograded" / "buggy" / "05_exercises" /
                           "05_exercises.ipynb", as_version=4)
    cell = next(c for c in graded.cells
                if c.metadata.get("nbgrader", {}).get("grade_id") == LOOPING)
    assert "while True" in cell.source
    assert any(o.output_type == "error" for o in cell.outputs)
    # that cell, and no other cell of the batch, was cut off, at the graded task's time limit
    assert course.log.count("Timeout waiting for execute reply") == 1, course.log[-4000:]
    assert f"Timeout waiting for execute reply ({TASK_TIMEOUT}s)" in course.log
    # the tasks after it in the same notebook are graded (test_autograde_each_mistake_...)
    for task_id in ("ex_warmup_cosine", "ex_dropout"):
        assert course.points["buggy", task_id] == POINTS[task_id]
    # and so is the student graded after it, in the same batch
    assert _total(course, "correct") == 14
    assert TASK_TIMEOUT <= course.per_student["buggy"] < TASK_TIMEOUT + 60


def test_export_writes_points_per_task(course):
    header = (course.root / "grades.csv").read_text().splitlines()[0]
    assert header == "assignment,notebook,task,student_id,points,max_points,needs_manual_grade"
    row = next(r for r in course.rows if (r["student_id"], r["task"]) == ("correct",
                                                                         "test-ex_layernorm"))
    assert row["assignment"] == "05_exercises" and float(row["max_points"]) == 4


def test_feedback_shows_the_hidden_tests_verdicts(course):
    report = (course.root / "feedback" / "buggy" / "05_exercises" / "05_exercises.html")
    text = report.read_text()
    assert "gradient check failed for input" in text and "hidden test, seed" in text


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
              f"{', '.join(f'{s} {course.per_student[s]:.1f} s' for s in STUDENTS)}; "
              f"the batch of {len(others)} (without the buggy one, which loops): "
              f"{sum(others):.1f} s")
    assert course.per_student["buggy"] >= TASK_TIMEOUT and TIMEOUT > max(others) / 2
