"""Every graded task of the chapter, in one table per kind: the one place a task is listed.

- ``YOUR_TURN``: the "your turn" tasks of the stage notebooks (01 to 03), whose
  solution is nblib's own code (``Task.solution`` names the objects and the methods
  the student writes; ``teacher/task_cells.py`` copies them into the solution cell);
- ``EXERCISES``: the exercises of 05_exercises, whose solution is written in the
  notebook's answer cell (an exercise asks for a piece in another form than nblib's).

Everything else is derived from these: the self-check and grade cells of the
notebooks (``teacher/task_cells.py``), the hidden tests (``nblib.teaching.grading``),
``yourturn.TASKS`` and ``checks.EXERCISES``, the catalogue of usual mistakes
(``Task.mistakes``, from ``nblib.teaching.mistakes``), the teacher guide's tables (objective,
points, rubric, session, mistakes) and the tests. A new task is one entry here, its
check and its reference code, and its cells in the notebook.
"""
from __future__ import annotations

from dataclasses import dataclass

from . import checks

from . import mistakes

from . import yourturn
from ..core.activations import ReLU
from ..core.data import make_spirals
from ..core.dropout import Dropout
from ..core.linear import Linear
from ..core.loss import bce_with_logits
from ..core.norm import BatchNorm, LayerNorm
from ..core.optim import SGD, Adam, RMSprop
from ..core.schedules import WarmupCosine
from ..core.training import train_epoch


@dataclass(frozen=True)
class Part:
    """One rubric item of a task that is graded on its own (a grade cell of its own)."""

    name: str            # e.g. "forward": the grade cell is test-<task id>--<name>
    points: int
    options: tuple = ()  # (keyword, value) pairs for the task's check, e.g. (("upto", "forward"),)


@dataclass(frozen=True)
class Task:
    """One graded piece of code: where it is, what the student writes, how it is checked."""

    notebook: str        # the notebook holding the task, e.g. "05_exercises.ipynb"
    name: str            # the name of the student's piece in that notebook
    check: object        # check(piece, *, verbose=True, seed=None) -> CheckResult
    reference: object    # nblib's version of the piece (None if nblib has none)
    points: int          # for the autograder (nbgrader)
    answer: str = "class"        # what the student hands in: "class" or "function"
    objective: str = ""          # the learning objective (teacher guide)
    rubric: str = ""             # how the points split, for grading by hand
    session: str = ""            # when it is done (teacher guide's plan)
    solution: tuple = ()         # your-turn tasks: ((dotted name, methods or None), ...)
    mistakes: tuple = ()         # the usual mistakes (nblib.teaching.mistakes.Mistake)
    parts: tuple = ()            # rubric items graded apart (Part); () grades the whole task

    @property
    def self_check(self):
        """The self-check cell's call, e.g. ``yourturn.check_linear(Linear)``."""
        module = self.check.__module__.rpartition(".")[2]
        return f"{module}.{self.check.__name__}({self.name})"


def grade_cells(task_id):
    """[(grade id, points, check options)] of a task's grade cells: ``test-<task id>``, or one
    ``test-<task id>--<part>`` per rubric item of ``Task.parts``."""
    task = ALL[task_id]
    if not task.parts:
        return [(f"test-{task_id}", task.points, {})]
    return [(f"test-{task_id}--{p.name}", p.points, dict(p.options)) for p in task.parts]


def grade_cell(grade_id):
    """(task id, part name or None) of a grade cell's id; ValueError if it names no task."""
    task_id, _, part = grade_id.removeprefix("test-").partition("--")
    if not grade_id.startswith("test-") or task_id not in ALL or (
            part and part not in {p.name for p in ALL[task_id].parts}):
        raise ValueError(f"grade_id must be test-<task id>[--<part>], got {grade_id!r}")
    return task_id, part or None


def part_options(task_id, part):
    """The check options of a task's rubric item ``part`` ({} for None)."""
    if part is None:
        return {}
    for p in ALL[task_id].parts:
        if p.name == part:
            return dict(p.options)
    raise ValueError(f"part must be one of {[p.name for p in ALL[task_id].parts]}, got {part!r}")


def _task(notebook, name, check, reference, points, **more):
    return Task(notebook, name, check, reference, points, **more)


_01, _02, _03, _05 = ("01_data.ipynb", "02_network.ipynb", "03_training.ipynb",
                      "05_exercises.ipynb")

YOUR_TURN = {
    "make_spirals": _task(
        _01, "make_spirals", yourturn.check_make_spirals, make_spirals, 2, answer="function",
        objective="generate data from a stated model with a seeded generator; see why the "
                  "source's arms coincide",
        rubric="arms and labels 1, noise and shuffling 1 (seeded generator required)",
        session="1", mistakes=tuple(mistakes.MAKE_SPIRALS),
        solution=(("nblib.core.data.spiral_centres", None), ("nblib.core.data.make_spirals", None))),
    "linear": _task(
        _02, "Linear", yourturn.check_linear, Linear, 3,
        objective="derive and code dW = GᵀX, db = Σ G, dX = GW; He initialisation",
        rubric="initialisation 1, forward 1, backward (three gradients) 1",
        session="1", mistakes=tuple(mistakes.LINEAR),
        solution=(("nblib.core.linear.Linear", ("__init__", "forward", "backward")),)),
    "relu": _task(
        _02, "ReLU", yourturn.check_relu, ReLU, 1,
        objective="a nonlinearity and its gradient mask; why not change the input in place",
        rubric="forward and backward 1", session="1", mistakes=tuple(mistakes.RELU),
        solution=(("nblib.core.activations.ReLU", ("forward", "backward")),)),
    "bce_with_logits": _task(
        _02, "bce_with_logits", yourturn.check_bce_with_logits, bce_with_logits, 2,
        answer="function",
        objective="a numerically stable loss and its gradient (σ(z) − y)/N",
        rubric="stable loss 1, gradient 1", session="2", mistakes=tuple(mistakes.BCE),
        solution=(("nblib.core.loss.bce_with_logits", None),)),
    "batchnorm": _task(
        _02, "BatchNorm", yourturn.check_batchnorm, BatchNorm, 4,
        objective="the three paths of BatchNorm's input gradient; training against "
                  "evaluation mode; running statistics as PyTorch keeps them",
        rubric="training forward and running statistics 1, evaluation forward 1, "
               "parameter gradients 1, input gradient 1",
        session="2", mistakes=tuple(mistakes.BATCHNORM),
        solution=(("nblib.core.norm.BatchNorm", ("forward", "backward")),)),
    "dropout": _task(
        _02, "Dropout", yourturn.check_dropout, Dropout, 2,
        objective="inverted dropout: the drop probability, the 1/(1−p) scaling, evaluation "
                  "as the identity",
        rubric="training mask and scaling 1, backward and evaluation 1",
        session="2", mistakes=tuple(mistakes.DROPOUT),
        solution=(("nblib.core.dropout.Dropout", ("forward", "backward")),)),
    "sgd": _task(
        _03, "SGD", yourturn.check_sgd, SGD, 2,
        objective="momentum as torch.optim.SGD keeps it; weight decay as an L2 gradient",
        rubric="plain SGD and weight decay 1, momentum (and Nesterov) 1",
        session="3", mistakes=tuple(mistakes.SGD_MISTAKES),
        solution=(("nblib.core.optim.SGD", ("step",)),)),
    "adam": _task(
        _03, "Adam", yourturn.check_adam, Adam, 3,
        objective="Adam's moving averages and why they need a bias correction",
        rubric="moving averages 1, bias correction 1, update and weight decay 1",
        session="3", mistakes=tuple(mistakes.ADAM),
        solution=(("nblib.core.optim.Adam", ("step",)),)),
    "warmup_cosine": _task(
        _03, "WarmupCosine", yourturn.check_warmup_cosine, WarmupCosine, 2,
        objective="a learning-rate schedule as a pure function of the step",
        rubric="warm-up 1, cosine and the end 1", session="3",
        mistakes=tuple(mistakes.WARMUP_COSINE),
        solution=(("nblib.core.schedules.WarmupCosine", ("lr_at",)),)),
    "train_epoch": _task(
        _03, "train_epoch", yourturn.check_train_epoch, train_epoch, 3, answer="function",
        objective="the mini-batch loop: training mode, shuffling, the last batch, the "
                  "schedule's clock",
        rubric="training mode and shuffling 1, every batch 1, schedule 1",
        session="3", mistakes=tuple(mistakes.TRAIN_EPOCH),
        solution=(("nblib.core.training.train_epoch", None),)),
}
"""Every "your turn" task, by id (the nbgrader grade_id of its solution cell), in the
order of the book."""

_HOMEWORK = "homework"

EXERCISES = {
    "ex_layernorm": _task(
        _05, "MyLayerNorm", checks.layernorm, LayerNorm, 4,
        objective="LayerNorm's forward and backward (BatchNorm with the axes swapped); why "
                  "it cannot see a point's radius without the bias in front of it",
        rubric="forward 2, backward (input, weight and bias gradients) 2",
        session=_HOMEWORK, mistakes=tuple(mistakes.EX_LAYERNORM),
        parts=(Part("forward", 2, (("upto", "forward"),)), Part("backward", 2))),
    "ex_adam_l2": _task(
        _05, "adam_l2_step", checks.adam_l2, Adam, 2, answer="function",
        objective="L2 weight decay inside Adam against decoupled decay (AdamW)",
        rubric="moments and bias correction 1, L2 term in the gradient 1",
        session=_HOMEWORK, mistakes=tuple(mistakes.EX_ADAM_L2)),
    "ex_hidden_size": _task(
        _05, "choose_hidden_size", checks.best_hidden_size, None, 1, answer="function",
        objective="choose a hyper-parameter on a validation set; report the test loss of "
                  "the chosen model only",
        rubric="chooses on validation and reports the test loss 1",
        session=_HOMEWORK, mistakes=tuple(mistakes.EX_HIDDEN_SIZE)),
    "ex_momentum": _task(
        _05, "sgd_momentum_step", checks.sgd_momentum, SGD, 1, answer="function",
        objective="torch's momentum buffer as a plain function; momentum against Adam",
        rubric="buffer and step 1", session=_HOMEWORK,
        mistakes=tuple(mistakes.EX_MOMENTUM)),
    "ex_warmup_cosine": _task(
        _05, "warmup_cosine", checks.warmup_cosine, WarmupCosine, 2, answer="function",
        objective="a schedule as a pure function; compare schedules by held-out loss",
        rubric="warm-up 1, cosine and the end 1", session=_HOMEWORK,
        mistakes=tuple(mistakes.EX_WARMUP_COSINE)),
    "ex_dropout": _task(
        _05, "MyDropout", checks.dropout, Dropout, 2,
        objective="inverted dropout with its gradient check; how much dropout this data needs",
        rubric="training mask and scaling 1, backward and evaluation 1",
        session=_HOMEWORK, mistakes=tuple(mistakes.EX_DROPOUT)),
    "ex_rmsprop": _task(
        _05, "MyRMSprop", checks.rmsprop, RMSprop, 2,
        objective="RMSprop, the bridge between momentum and Adam: a step size per weight "
                  "from a moving average of g², one state per Param",
        rubric="moving average of g² per Param 1, step g / (sqrt(v) + eps) 1",
        session=_HOMEWORK, mistakes=tuple(mistakes.RMSPROP)),
}
"""The exercises of 05_exercises, by task id (the nbgrader grade_id of the answer cell),
in the order of the page."""

ALL = {**YOUR_TURN, **EXERCISES}
"""Every graded task, your-turn tasks first."""
