"""Every graded task of the chapter, in one table per kind: the one place a task is listed.

- ``YOUR_TURN``: the "your turn" tasks of the stage notebooks (01 to 03), whose
  solution is nblib's own code (``Task.solution`` names the objects and the methods
  the student writes; ``teacher/task_cells.py`` copies them into the solution cell);
- ``EXERCISES``: the exercises of 05_exercises, whose solution is written by hand in the
  notebook's answer cell, not copied from nblib (a plain function, or a class of the
  student's own);
- ``WRITTEN``: the exercises' written answers, graded by hand (points and rubric).

A task's rubric is its items (``Task.parts``, each a grade cell of its own, so that the
autograder gives partial credit as the rubric reads), or one ``item`` for a task graded
whole; ``Task.rubric`` is derived from them.

Everything else is derived from these: the self-check and grade cells of the
notebooks (``teacher/task_cells.py``), the hidden tests (``nblib.teaching.grading``),
``yourturn.TASKS`` and ``checks.EXERCISES``, the catalogue of usual mistakes
(``Task.mistakes``, from ``nblib.teaching.mistakes``), the teacher guide's tables (objective,
points, rubric, session, mistakes) and most of the tests. A new task is one entry here, its
check, its reference code and its cells in the notebook, and a few more steps: the
teacher guide's "Adding a task" (``book/teacher_guide.ipynb``) lists them all.
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
    """One rubric item of a task that is graded on its own (a grade cell of its own).

    The items of a task are cumulative, in the order of its check: an item's hidden test
    checks it and every item before it (``upto=<name>``; the last item runs the whole
    check), because a later piece cannot be tested without the earlier ones (a backward
    needs its forward). So a correct forward with a broken backward earns the forward's
    points, and a broken forward earns nothing."""

    name: str            # e.g. "forward": the grade cell is test-<task id>--<name>
    points: int
    options: tuple = ()  # (keyword, value) pairs for the task's check, e.g. (("upto", "forward"),)
    label: str = ""      # the rubric's words for it (default: the name)

    @property
    def text(self):
        return self.label or self.name


def _upto(name, points, label=""):
    """A rubric item whose test runs the task's check up to the end of item ``name``."""
    return Part(name, points, (("upto", name),), label)


@dataclass(frozen=True)
class Task:
    """One graded piece of code: where it is, what the student writes, how it is checked."""

    notebook: str        # the notebook holding the task, e.g. "05_exercises.ipynb"
    name: str            # the name of the student's piece in that notebook
    check: object        # check(piece, *, verbose=True, seed=None[, upto=None]) -> CheckResult
    reference: object    # nblib's version of the piece (None if nblib has none)
    points: int          # for the autograder (nbgrader)
    answer: str = "class"        # what the student hands in: "class" or "function"
    objective: str = ""          # the learning objective (teacher guide)
    item: str = ""               # a task graded whole (no parts): what its points are for
    session: str = ""            # when it is done (teacher guide's plan)
    solution: tuple = ()         # your-turn tasks: ((dotted name, methods or None), ...)
    mistakes: tuple = ()         # the usual mistakes (nblib.teaching.mistakes.Mistake)
    parts: tuple = ()            # rubric items graded apart (Part); () grades the whole task

    def __post_init__(self):
        if self.parts and sum(p.points for p in self.parts) != self.points:
            raise ValueError(f"{self.name}: the parts' points {[p.points for p in self.parts]} "
                             f"must add up to points={self.points}")
        if bool(self.parts) == bool(self.item):
            raise ValueError(f"{self.name}: give either parts (rubric items graded apart) or "
                             "item (what the whole task's points are for)")

    @property
    def rubric(self):
        """How the points split, derived from ``parts`` (or ``item``): "forward 2, backward 2"."""
        if not self.parts:
            return f"{self.item} {self.points}"
        return ", ".join(f"{p.text} {p.points}" for p in self.parts)

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
        parts=(_upto("arms", 1, "arms and labels, and the spiral_centres beside it"),
               Part("noise", 1, (), "noise, shuffling and the seeded generator")),
        session="1", mistakes=tuple(mistakes.MAKE_SPIRALS),
        solution=(("nblib.core.data.spiral_centres", None), ("nblib.core.data.make_spirals", None))),
    "linear": _task(
        _02, "Linear", yourturn.check_linear, Linear, 3,
        objective="derive and code dW = GᵀX, db = Σ G, dX = GW; He initialisation",
        parts=(_upto("forward", 1, "forward, with in_features and out_features kept "
                                       "and rng a Generator, a seed or None"),
               _upto("backward", 1, "backward (three gradients)"),
               Part("init", 1, (), "He initialisation from the generator")),
        session="1", mistakes=tuple(mistakes.LINEAR),
        solution=(("nblib.core.linear.Linear", ("__init__", "forward", "backward")),)),
    "relu": _task(
        _02, "ReLU", yourturn.check_relu, ReLU, 1,
        objective="a nonlinearity and its gradient mask; why not change the input in place",
        item="forward and backward", session="1", mistakes=tuple(mistakes.RELU),
        solution=(("nblib.core.activations.ReLU", ("forward", "backward")),)),
    "batchnorm": _task(
        _02, "BatchNorm", yourturn.check_batchnorm, BatchNorm, 4,
        objective="the three paths of BatchNorm's input gradient; training against "
                  "evaluation mode; running statistics as PyTorch keeps them",
        parts=(_upto("training", 1, "training forward and running statistics; a batch of one "
                                         "row refused"),
               _upto("param_grads", 1, "parameter gradients"),
               _upto("input_grad", 1, "input gradient"),
               Part("evaluation", 1, (), "evaluation mode (forward and backward)")),
        session="2", mistakes=tuple(mistakes.BATCHNORM),
        solution=(("nblib.core.norm.BatchNorm", ("forward", "backward")),)),
    "dropout": _task(
        _02, "Dropout", yourturn.check_dropout, Dropout, 2,
        objective="inverted dropout: the drop probability, the 1/(1−p) scaling, evaluation "
                  "as the identity",
        parts=(_upto("training", 1, "training mask and scaling"),
               Part("backward", 1, (), "backward and evaluation")),
        session="2", mistakes=tuple(mistakes.DROPOUT),
        solution=(("nblib.core.dropout.Dropout", ("forward", "backward")),)),
    "bce_with_logits": _task(
        _02, "bce_with_logits", yourturn.check_bce_with_logits, bce_with_logits, 2,
        answer="function",
        objective="a numerically stable loss and its gradient (σ(z) − y)/N",
        parts=(_upto("loss", 1, "stable loss"), Part("gradient", 1)), session="2", mistakes=tuple(mistakes.BCE),
        solution=(("nblib.core.loss.bce_with_logits", None),)),
    "train_epoch": _task(
        _03, "train_epoch", yourturn.check_train_epoch, train_epoch, 3, answer="function",
        objective="the mini-batch loop: training mode, shuffling, the last batch, the "
                  "schedule's clock",
        parts=(_upto("batches", 1, "every batch, in training mode and the model's dtype"),
               _upto("steps", 1, "shuffled batches and the schedule's clock"),
               Part("loss", 1, (), "the returned mean batch loss")),
        session="3", mistakes=tuple(mistakes.TRAIN_EPOCH),
        solution=(("nblib.core.training.train_epoch", None),)),
    "sgd": _task(
        _03, "SGD", yourturn.check_sgd, SGD, 2,
        objective="momentum as torch.optim.SGD keeps it; weight decay as an L2 gradient",
        parts=(_upto("plain", 1, "plain SGD and weight decay"),
               Part("momentum", 1, (), "momentum (and Nesterov)")),
        session="3", mistakes=tuple(mistakes.SGD_MISTAKES),
        solution=(("nblib.core.optim.SGD", ("step",)),)),
    "adam": _task(
        _03, "Adam", yourturn.check_adam, Adam, 3,
        objective="Adam's moving averages and why they need a bias correction",
        parts=(_upto("moments", 1, "moving averages and update (with or without the bias "
                                   "correction)"),
               _upto("bias_correction", 1, "bias correction"),
               Part("weight_decay", 1, (), "weight decay")),
        session="3", mistakes=tuple(mistakes.ADAM),
        solution=(("nblib.core.optim.Adam", ("step",)),)),
    "warmup_cosine": _task(
        _03, "WarmupCosine", yourturn.check_warmup_cosine, WarmupCosine, 2,
        objective="a learning-rate schedule as a pure function of the step",
        parts=(_upto("warmup", 1, "warm-up"), Part("cosine", 1, (), "cosine and the end")),
        session="3",
        mistakes=tuple(mistakes.WARMUP_COSINE),
        solution=(("nblib.core.schedules.WarmupCosine", ("lr_at",)),)),
}
"""Every "your turn" task, by id (the nbgrader grade_id of its solution cell), in the
order of the book."""

_HOMEWORK = "homework"

EXERCISES = {
    "ex_layernorm": _task(
        _05, "MyLayerNorm", checks.layernorm, LayerNorm, 4,
        objective="LayerNorm's forward and backward (BatchNorm with the axes swapped); why "
                  "it cannot see a point's radius without the bias in front of it",
        session=_HOMEWORK, mistakes=tuple(mistakes.EX_LAYERNORM),
        parts=(_upto("forward", 2),
               Part("backward", 2, (), "backward (input, weight and bias gradients)"))),
    "ex_adam_l2": _task(
        _05, "adam_l2_step", checks.adam_l2, Adam, 2, answer="function",
        objective="L2 weight decay inside Adam against decoupled decay (AdamW)",
        parts=(_upto("adam", 1, "moments and bias correction"),
               Part("l2", 1, (), "L2 term in the gradient")),
        session=_HOMEWORK, mistakes=tuple(mistakes.EX_ADAM_L2)),
    "ex_hidden_size": _task(
        _05, "choose_hidden_size", checks.best_hidden_size, None, 1, answer="function",
        objective="choose a hyper-parameter on a validation set; report the test loss of "
                  "the chosen model only",
        item="chooses on validation and reports the test loss",
        session=_HOMEWORK, mistakes=tuple(mistakes.EX_HIDDEN_SIZE)),
    "ex_momentum": _task(
        _05, "sgd_momentum_step", checks.sgd_momentum, SGD, 1, answer="function",
        objective="torch's momentum buffer as a plain function; momentum against Adam",
        item="buffer and step", session=_HOMEWORK,
        mistakes=tuple(mistakes.EX_MOMENTUM)),
    "ex_warmup_cosine": _task(
        _05, "warmup_cosine", checks.warmup_cosine, WarmupCosine, 2, answer="function",
        objective="a schedule as a pure function; read a comparison of schedules by the rule",
        parts=(_upto("warmup", 1, "warm-up"), Part("cosine", 1, (), "cosine and the end")),
        session=_HOMEWORK,
        mistakes=tuple(mistakes.EX_WARMUP_COSINE)),
    "ex_dropout": _task(
        _05, "MyDropout", checks.dropout, Dropout, 2,
        objective="inverted dropout with its gradient check; how much dropout this data needs",
        parts=(_upto("training", 1, "training mask and scaling"),
               Part("backward", 1, (), "backward and evaluation")),
        session=_HOMEWORK, mistakes=tuple(mistakes.EX_DROPOUT)),
    "ex_rmsprop": _task(
        _05, "MyRMSprop", checks.rmsprop, RMSprop, 2,
        objective="RMSprop, the bridge between momentum and Adam: a step size per weight "
                  "from a moving average of g², one state per Param",
        item="moving average of g² per Param and the step g / (sqrt(v) + eps) (one test: "
             "the step shows both)",
        session=_HOMEWORK, mistakes=tuple(mistakes.RMSPROP)),
}
"""The exercises of 05_exercises, by task id (the nbgrader grade_id of the answer cell),
in the order of the page."""

ALL = {**YOUR_TURN, **EXERCISES}
"""Every graded task, your-turn tasks first."""


@dataclass(frozen=True)
class Written:
    """A written answer (a markdown answer cell of the notebook), graded by hand in nbgrader's
    formgrader: the answer cells after an exercise's autograded cells, where the student
    describes the experiment the exercise asks for and reports and explains its result.
    The experiment's code cells carry no points of their own: their numbers are the
    answer's (the submitted notebook keeps its outputs for the teacher to read)."""

    task: str            # the task id of the exercise it belongs to
    points: int
    rubric: str          # what the points are for, for the teacher who grades it


WRITTEN = {
    "ex_layernorm-answer-1": Written(
        "ex_layernorm", 1, "the experiment: the recipe with norm=\"layer\" trained on each "
                           "pair of PAIRS and compared with the recipe by the rule"),
    "ex_layernorm-answer-2": Written(
        "ex_layernorm", 2, "accuracy of LayerNorm against BatchNorm over the seeds, set "
                           "against the seed-to-seed spread 1; why LayerNorm cannot see a "
                           "point's radius without a bias in front of it 1"),
    "ex_adam_l2-answer-1": Written(
        "ex_adam_l2", 1, "the experiment: Adam + L2 and AdamW with the weight decay "
                         "WEIGHT_DECAY, on each pair of compare.PAIRS"),
    "ex_adam_l2-answer-2": Written(
        "ex_adam_l2", 1, "the fresh-sample accuracy and loss compared, with the rule of "
                         "03_training (a difference or no detectable one)"),
    "ex_adam_l2-answer-3": Written(
        "ex_adam_l2", 2, "plain SGD: the two decays are one update, shown 1; why they differ "
                         "under Adam (the step divided by sqrt(v)) 1"),
    "ex_hidden_size-answer-1": Written(
        "ex_hidden_size", 1, "the experiment: every width trained once; training, "
                             "validation and test sets apart"),
    "ex_hidden_size-answer-2": Written(
        "ex_hidden_size", 1, "the width chosen on the test set and on the validation set, "
                             "each with the test loss it reports"),
    "ex_hidden_size-answer-3": Written(
        "ex_hidden_size", 1, "why the lowest test loss is optimistic (choosing on the test "
                             "set favours the sample's lucky networks)"),
    "ex_momentum-answer-1": Written(
        "ex_momentum", 1, "the experiment: momentum and Adam from the same initial weights, "
                          "held-out loss against the epoch"),
    "ex_momentum-answer-2": Written(
        "ex_momentum", 1, "whether one reaches the target accuracy first and whether one ends "
                          "lower, by the rule (a difference or no detectable one), and why "
                          "they could differ (Adam's step per weight)"),
    "ex_warmup_cosine-answer-1": Written(
        "ex_warmup_cosine", 1, "the experiment: each schedule's learning rate against the "
                               "step, the student's warmup_cosine beside nblib's"),
    "ex_warmup_cosine-answer-2": Written(
        "ex_warmup_cosine", 1, "what 03_training's paired runs find for a constant rate and "
                               "for no warm-up, and what a low final rate and a warm-up are for"),
    "ex_dropout-answer-1": Written(
        "ex_dropout", 1, "the experiment: the recipe with each rate of DROPOUT_RATES; "
                         "accuracy, training and held-out loss against the rate"),
    "ex_dropout-answer-2": Written(
        "ex_dropout", 1, "the rates compared by the rule of 03_training (a difference or "
                         "no detectable one; a tie called a tie), and why (how little of the "
                         "held-out loss dropout can win back on this data)"),
    "ex_rmsprop-answer-1": Written(
        "ex_rmsprop", 1, "the experiment: momentum, MyRMSprop and Adam fed the same "
                         "gradients, each weight's steps compared"),
    "ex_rmsprop-answer-2": Written(
        "ex_rmsprop", 2, "the size of RMSprop's first step, lr / sqrt(1 - alpha), explained "
                         "1; what Adam's bias correction changes 1"),
}
"""Every written answer that carries points, by the nbgrader grade_id of its answer cell
(``teacher/task_cells.py`` writes the points into the cell's metadata)."""


def written_points(task_id):
    """The points of a task's written answers (0 if it has none)."""
    return sum(w.points for w in WRITTEN.values() if w.task == task_id)
