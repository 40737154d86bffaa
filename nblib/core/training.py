"""The training loop: ``train_epoch`` is one epoch of mini-batch steps; ``fit`` runs
epochs of it, evaluates after each and records a ``History``.

Every training run of the book goes through ``fit``: ``train_spirals``, the sweeps and the
playground (which calls it one epoch or a few at a time, continuing its ``History``).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from .validate import check_array, check_float, check_instance, check_int, check_xy
from .loss import bce_with_logits, sigmoid
from .module import Module, evaluation_mode
from .progress import progress_bar

DIVERGED_LOSS = 100.0
"""A training loss above this means that training has diverged.

Guessing (every logit 0) scores ln 2 = 0.69 and a freshly initialised network about 1.
The BCE of a point on the wrong side grows like the size of its logit, so a mean loss
of 100 means logits of about 100 on the wrong side: the network is e^100 times too sure
of wrong answers, which only steps that overshoot produce.  Measured on the recipe at
constant rates (SGD 3 to 60, momentum 0.3 to 6, Adam 0.1 to 1; two seeds, with and
without BatchNorm): every run that ended above 90% stayed below a loss of 4, and every
run that passed 100 ended at chance, most of them on their way to 1e20 and beyond.
"""


@dataclass
class History:
    """What happened during training, one entry per epoch (``lr``: one per step).

    After each epoch the model is evaluated, in evaluation mode, on the whole
    training set (``train_loss``, ``train_acc``) and on the held-out set
    (``test_loss``, ``test_acc``), so the two curves compare like with like:
    the running average over an epoch's mini-batches would mix in dropout,
    batch statistics and the weights of earlier steps.  ``diverged`` is True when a
    step overflowed or made a NaN, or when the training loss passed ``DIVERGED_LOSS``;
    ``stop_reason`` says why training stopped early.  The epochs before that are kept.
    ``seconds`` is the training time (steps and evaluations, not callbacks) at each
    epoch's end.
    """

    train_loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    test_loss: list = field(default_factory=list)
    test_acc: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    diverged: bool = False
    stop_reason: str = ""
    seconds: list = field(default_factory=list, compare=False)  # not a result: a timing

    @property
    def epochs(self):
        return len(self.test_acc)

    def time_to_accuracy(self, target=0.95):
        """Training seconds until test accuracy first exceeded ``target`` (None if never)."""
        target = check_float(target, "target", minimum=0.0, maximum=1.0)
        for acc, t in zip(self.test_acc, self.seconds):
            if acc > target:
                return t
        return None

    def epoch_to_accuracy(self, target=0.95):
        """First epoch (1-based) at which test accuracy exceeded ``target`` (None if never)."""
        target = check_float(target, "target", minimum=0.0, maximum=1.0)
        for i, acc in enumerate(self.test_acc):
            if acc > target:
                return i + 1
        return None

    def metrics(self):
        """The recorded numbers as arrays, without wall-clock times (for comparisons)."""
        return {k: np.asarray(getattr(self, k)) for k in
                ("train_loss", "train_acc", "test_loss", "test_acc", "lr")}


def _check_model(model):
    check_instance(model, "model", Module, "an nblib Module")


def _check_optimizer(optimizer, model):
    """A ``step()`` is all the loop needs; the Params it updates must be ``model``'s own."""
    if not callable(getattr(optimizer, "step", None)):
        raise TypeError("optimizer must have a step() method, such as "
                        f"nblib.Adam(model.parameters(), lr), got {type(optimizer).__name__}")
    own = set(model.parameters())
    groups = getattr(optimizer, "param_groups", ())     # torch.optim's layout, nblib's too
    if any(p not in own for group in groups for p in group["params"]):
        raise ValueError("optimizer updates Params that are not model's: it would move another "
                         "model's weights while this one never changes; build it from "
                         "model.parameters()")


def _model_dtype(model):
    """The dtype of ``model``'s parameters (float64 for a model without any)."""
    params = model.parameters()
    return params[0].value.dtype if params else np.dtype(np.float64)


def _as_model_dtype(model, X, name="X"):
    """X in ``model``'s dtype, as ``fit`` and ``predict_logits`` compute (float32 models get
    float32 data).  A finite value beyond that dtype's range (float32: about 3.4e38) would
    become inf there, and the model's output NaN: it is refused, naming ``name``."""
    dtype = _model_dtype(model)
    if X.dtype != dtype and X.size:
        largest, limit = np.abs(X).max(), np.finfo(dtype).max
        if largest > limit:
            raise ValueError(f"{name} holds values up to {largest:.3g}, beyond the range of the "
                             f"model's {dtype} (largest {limit:.3g}): they would become inf; "
                             "rescale X or build the model in float64")
    return X.astype(dtype, copy=False)


def _check_learning_rates(schedule, start, steps):
    """Every rate ``schedule`` gives for the steps ``start``, ..., ``start + steps - 1``.

    A schedule is a pure function of the step, so a bad rate is found before training
    starts, not in the middle of a run.  A rate of 0 is allowed (cosine schedules end there).
    """
    return [check_float(schedule(s), f"schedule({s})", minimum=0.0)
            for s in range(start, start + steps)]


def _check_schedule(schedule):
    if schedule is not None and not callable(schedule):
        raise TypeError("schedule must be a function of the step, such as an nblib Schedule, "
                        f"or None, got {type(schedule).__name__}")


def _check_rng(rng):
    check_instance(rng, "rng", np.random.Generator, "a numpy.random.Generator")


def check_batch_size(model, n, batch_size):
    """Every mini-batch of an epoch of ``n`` rows must have the rows each layer of ``model``
    needs in training mode (``min_rows_in_training``: BatchNorm needs 2)."""
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    smallest = min(n, n % batch_size or batch_size)        # the last mini-batch
    for layer in model.modules():
        needed = getattr(layer, "min_rows_in_training", 1)
        if smallest < needed:
            raise ValueError(
                f"batch_size={batch_size} leaves a mini-batch of {smallest} row(s) out of {n}, "
                f"and {type(layer).__name__} needs {needed} in training mode; choose a "
                "batch_size that leaves no such remainder")
    return batch_size


def _chunk_rows(model):
    """Rows per chunk that keep every activation under about 96 kB.

    glibc's malloc serves an array of 128 kB or more (its default mmap threshold) with
    fresh pages from the kernel, which zero-fills every page on first touch, and returns
    them when the array is freed; smaller arrays reuse freed memory.  Evaluating the
    recipe's 480 + 120 points in 96 kB chunks took 18-35% less time than in one pass
    (``python benchmarks/train_speed.py --eval-chunks``, 2026-12-06); with
    ``nblib.core._memory.keep_freed_memory()`` both took the same time.
    """
    widest = max((m.out_features for m in model.modules() if hasattr(m, "out_features")),
                 default=1)
    return max(16, 96 * 1024 // (widest * _model_dtype(model).itemsize))


def predict_logits(model, X, batch_size=None):
    """Logits of shape (N,) in evaluation mode, computed in chunks, in the model's dtype (X is
    cast to it, as ``fit`` does); every layer's mode is restored afterwards.

    Inputs
    - model: a Module whose output has shape (N, 1) or (N,): one logit per row
    - X: inputs, of shape (N, D), N >= 1
    - batch_size: rows per chunk; None picks a size that keeps the arrays small
    """
    _check_model(model)
    X = check_array(X, "X", ndim=2)
    if len(X) < 1:
        raise ValueError("X must contain at least one row")
    X = _as_model_dtype(model, X)                       # float32 models get float32 data
    batch_size = _chunk_rows(model) if batch_size is None else check_int(batch_size, "batch_size",
                                                                           minimum=1)
    with evaluation_mode(model):
        out = [_one_logit_per_row(model.forward(X[i:i + batch_size]))
               for i in range(0, len(X), batch_size)]
    return np.concatenate(out)


def _one_logit_per_row(out):
    """(B, 1) or (B,) logits as (B,); any other output is not a binary classifier's."""
    if not isinstance(out, np.ndarray) or out.ndim not in (1, 2) or out.ndim == 2 \
            and out.shape[1] != 1:
        shape = getattr(out, "shape", type(out).__name__)
        raise ValueError(f"model must output one logit per row, of shape (N, 1) or (N,), "
                         f"got an output of shape {shape}")
    return out.reshape(-1)


def predict_proba(model, X):
    """P(y = 1 | x) for each row of X (N, D), of shape (N,), in evaluation mode."""
    return sigmoid(predict_logits(model, X))


def evaluate(model, X, y):
    """(mean BCE loss, accuracy) of the model on X (N, D), y (N,), in evaluation mode."""
    _check_model(model)
    X, y = check_xy(X, y)
    logits = predict_logits(model, X)
    loss, _ = bce_with_logits(logits, y)
    return loss, float(np.mean((logits > 0) == (y == 1)))


def check_epoch_arguments(model, optimizer, X, y, batch_size, rng, schedule, step):
    """train_epoch's argument checks, each with a message that names the argument; returns X,
    in the model's dtype, and y."""
    _check_model(model)
    _check_optimizer(optimizer, model)
    _check_rng(rng)
    _check_schedule(schedule)
    X, y = check_xy(X, y)
    check_batch_size(model, len(X), batch_size)
    check_int(step, "step", minimum=0)
    return _as_model_dtype(model, X), y                    # float32 models get float32 data


def train_epoch(model, optimizer, X, y, *, batch_size, rng, schedule=None, step=0):
    """One pass over (X, y) in shuffled mini-batches; returns the mean mini-batch loss.

    Inputs
    - X: the training inputs, of shape (n_train, D); y: their labels in {0, 1}, of shape
      (n_train,)
    - batch_size: rows per mini-batch (the last one may be smaller)
    - rng: the ``np.random.Generator`` that shuffles the rows
    - schedule: sets the learning rate of every step, ``schedule(step)``; None keeps it
    - step: how many optimizer steps came before this epoch (the schedule's clock)
    """
    X, y = check_epoch_arguments(model, optimizer, X, y, batch_size, rng, schedule, step)
    model.train()                               # batch statistics, dropout on
    order = rng.permutation(len(X))             # a new shuffle every epoch
    losses = []
    for start in range(0, len(X), batch_size):
        batch = order[start:start + batch_size]
        if schedule is not None:
            optimizer.lr = schedule(step)
        logits = model.forward(X[batch])                        # (len(batch), 1)
        loss, dlogits = bce_with_logits(logits, y[batch])
        model.backward(dlogits)                 # writes every param.grad
        optimizer.step()                        # moves every param.value
        losses.append(loss)
        step += 1
    return float(np.mean(losses))


def fit(model, optimizer, X_train, y_train, X_test, y_test, *, epochs, batch_size,
        schedule=None, rng, progress=True, on_epoch_end=None, history=None):
    """Train ``model`` with ``optimizer`` for ``epochs`` epochs and return its ``History``.

    Inputs
    - X_train (n_train, D), y_train (n_train,), X_test (n_test, D), y_test (n_test,): data,
      labels in {0, 1}
    - epochs, batch_size: positive ints; the last batch of an epoch may be smaller
    - schedule: the learning rate of each step, ``schedule(step)`` (a ``Schedule``), or None
    - rng: the ``np.random.Generator`` that shuffles the batches
    - progress: show a progress bar (tqdm's if installed: a widget in Jupyter)
    - on_epoch_end: ``callback(epoch, history, model)`` after each epoch; return
      True from it to stop early (live plots, a Stop button)
    - history: a ``History`` to continue (its epochs count, and the schedule's
      steps go on from ``len(history.lr)``); None starts a new one

    After each epoch the model is evaluated on both sets (``evaluate``: evaluation
    mode).  Training stops early, with ``history.diverged = True`` and a reason,
    when a floating-point overflow or a NaN occurs, or when the training loss passes
    ``DIVERGED_LOSS``; the epochs before are kept.  Underflow (a tiny number rounded to
    0) is harmless and ignored, even under ``np.errstate(all="raise")``.
    """
    _check_model(model)
    _check_optimizer(optimizer, model)
    _check_rng(rng)
    _check_schedule(schedule)
    X_train, y_train = check_xy(X_train, y_train, "X_train", "y_train")
    X_test, y_test = check_xy(X_test, y_test, "X_test", "y_test", features=X_train.shape[1])
    epochs = check_int(epochs, "epochs", minimum=1)
    batch_size = check_batch_size(model, len(X_train), batch_size)
    check_instance(progress, "progress", bool, "True or False")
    if on_epoch_end is not None and not callable(on_epoch_end):
        raise TypeError("on_epoch_end must be callable or None")
    history = History() if history is None else check_instance(history, "history", History,
                                                               "a History or None")
    X_train = _as_model_dtype(model, X_train, "X_train")   # float32 models get float32 data
    X_test = _as_model_dtype(model, X_test, "X_test")
    steps = -(-len(X_train) // batch_size)             # mini-batches per epoch
    if schedule is not None:
        _check_learning_rates(schedule, len(history.lr), epochs * steps)
    history.stop_reason = ""

    bar = progress_bar(epochs, "training", "epoch") if progress else None
    for _ in range(epochs):
        epoch, step = history.epochs, len(history.lr)  # this epoch, counted over the run
        start = time.perf_counter()
        try:
            with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
                train_epoch(model, optimizer, X_train, y_train, batch_size=batch_size, rng=rng,
                            schedule=schedule, step=step)
                train_loss, train_acc = evaluate(model, X_train, y_train)
                test_loss, test_acc = evaluate(model, X_test, y_test)
        except FloatingPointError as err:
            what = f"floating-point error ({err})"
        else:
            what = "" if train_loss <= DIVERGED_LOSS else (
                f"the training loss reached {train_loss:.3g}, above {DIVERGED_LOSS:g} "
                f"(guessing scores ln 2 = {math.log(2):.2f})")
        if what:
            history.diverged = True
            history.stop_reason = (f"diverged in epoch {epoch + 1}: {what}; the learning rate "
                                   "is probably too high")
            break
        history.train_loss.append(train_loss)
        history.train_acc.append(train_acc)
        history.test_loss.append(test_loss)
        history.test_acc.append(test_acc)
        history.lr.extend(schedule(s) if schedule else optimizer.lr
                          for s in range(step, step + steps))
        trained_before = history.seconds[-1] if history.seconds else 0.0
        history.seconds.append(trained_before + time.perf_counter() - start)
        if bar is not None:
            bar.set_postfix(loss=f"{train_loss:.3f}", test_acc=f"{test_acc:.1%}", refresh=False)
            bar.update(1)
        if on_epoch_end is not None and on_epoch_end(epoch, history, model):
            history.stop_reason = f"stopped by on_epoch_end after epoch {epoch + 1}"
            break
    if bar is not None:
        bar.close()
    return history
