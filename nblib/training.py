"""The training loop: ``fit`` runs epochs of mini-batch steps and records a ``History``."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ._checks import check_array, check_float, check_instance, check_int, check_xy
from .loss import bce_with_logits, bce_with_logits_unchecked, sigmoid
from .module import Module
from .norm import BatchNorm
from .optim import Optimizer
from .schedules import Schedule


@dataclass
class History:
    """What happened during training, one entry per epoch (``lr``: one per step).

    After each epoch the model is evaluated, in evaluation mode, on the whole
    training set (``train_loss``, ``train_acc``) and on the held-out set
    (``test_loss``, ``test_acc``), so the two curves compare like with like:
    the running average over an epoch's mini-batches would mix in dropout,
    batch statistics and the weights of earlier steps.  ``diverged`` is True when the
    loss stopped being finite; ``stop_reason`` then says why training stopped.
    """

    train_loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    test_loss: list = field(default_factory=list)
    test_acc: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    diverged: bool = False
    stop_reason: str = ""
    seconds: list = field(default_factory=list, compare=False)  # wall time at each epoch end

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


def _check_optimizer(optimizer):
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must be an nblib Optimizer, got {type(optimizer).__name__}")


def _check_batches(model, n, batch_size):
    """BatchNorm cannot normalise a mini-batch of one row in training mode."""
    last = n % batch_size or batch_size
    if min(last, n) < 2 and any(isinstance(m, BatchNorm) for m in model.modules()):
        raise ValueError(f"batch_size={batch_size} leaves a mini-batch of 1 row out of {n}, "
                         "which BatchNorm cannot normalise in training mode; choose a "
                         "batch_size >= 2 that does not leave a remainder of 1")


def _chunk_rows(model):
    """Rows per chunk that keep every activation under about 96 kB.

    Larger arrays are allocated with mmap and page-faulted in afresh on every
    call; on this chapter's sizes that costs more than the extra NumPy calls
    (evaluating 600 points in chunks of 96 takes about 40% less time than at once).
    """
    widest = max((m.out_features for m in model.modules() if hasattr(m, "out_features")),
                 default=1)
    return max(16, 12_288 // widest)


def predict_logits(model, X, batch_size=None):
    """Logits of shape (N,) in evaluation mode, computed in chunks; the mode is restored.

    Inputs
    - X: inputs, of shape (N, D), N >= 1
    - batch_size: rows per chunk; None picks a size that keeps the arrays small
    """
    _check_model(model)
    X = check_array(X, "X", ndim=2)
    if len(X) < 1:
        raise ValueError("X must contain at least one row")
    batch_size = _chunk_rows(model) if batch_size is None else check_int(batch_size, "batch_size",
                                                                           minimum=1)
    was_training = model.training
    model.eval()
    try:
        out = [model.forward(X[i:i + batch_size]).reshape(-1) for i in range(0, len(X), batch_size)]
    finally:
        model.train(was_training)
    return np.concatenate(out)


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


def train_epoch(model, optimizer, X, y, *, batch_size, rng, schedule=None, step=0):
    """One pass over (X, y) in shuffled mini-batches.

    Returns (mean loss, accuracy, learning rates used), all as seen during the
    epoch.  ``step`` is the optimizer step the schedule starts counting from.
    The loss may come back non-finite: the caller decides what to do.
    """
    _check_model(model)
    _check_optimizer(optimizer)
    X, y = check_xy(X, y)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    if schedule is not None and not isinstance(schedule, Schedule):
        raise TypeError(f"schedule must be an nblib Schedule or None, got {type(schedule).__name__}")
    step = check_int(step, "step", minimum=0)
    _check_batches(model, len(X), batch_size)
    model.train()
    n = len(X)
    perm = rng.permutation(n)
    total_loss = correct = 0.0
    lrs = []
    for start in range(0, n, batch_size):
        idx = perm[start:start + batch_size]
        xb, yb = X[idx], y[idx]
        if schedule is not None:
            optimizer.lr = schedule(step)
        lrs.append(optimizer.lr)
        logits = model.forward(xb)
        loss, dlogits = bce_with_logits_unchecked(logits, yb)  # X and y were checked above
        if not np.isfinite(loss):
            return loss, correct / n, lrs
        model.backward(dlogits)
        optimizer.step()
        total_loss += loss * len(idx)
        correct += np.count_nonzero((logits[:, 0] > 0) == (yb == 1))
        step += 1
    return total_loss / n, correct / n, lrs


def fit(model, optimizer, X_train, y_train, X_test, y_test, *, epochs, batch_size,
        schedule=None, rng, progress=True, on_epoch_end=None):
    """Train ``model`` with ``optimizer`` and return its ``History``.

    Inputs
    - X_train (N, D), y_train (N,), X_test (M, D), y_test (M,): data, labels in {0, 1}
    - epochs, batch_size: positive ints; the last batch of an epoch may be smaller
    - schedule: a ``Schedule`` giving the learning rate of each step, or None
    - rng: the ``np.random.Generator`` that shuffles the batches
    - progress: show a tqdm progress bar (a widget in Jupyter)
    - on_epoch_end: ``callback(epoch, history, model)`` after each epoch; return
      True from it to stop early (live plots, a Stop button)

    Training stops early, with ``history.diverged = True`` and a reason, when
    the loss turns NaN or infinite or a floating-point overflow occurs.
    """
    _check_model(model)
    _check_optimizer(optimizer)
    X_train, y_train = check_xy(X_train, y_train, "X_train", "y_train")
    X_test, y_test = check_xy(X_test, y_test, "X_test", "y_test", features=X_train.shape[1])
    epochs = check_int(epochs, "epochs", minimum=1)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    if schedule is not None and not isinstance(schedule, Schedule):
        raise TypeError(f"schedule must be an nblib Schedule or None, got {type(schedule).__name__}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    if on_epoch_end is not None and not callable(on_epoch_end):
        raise TypeError("on_epoch_end must be callable or None")
    _check_batches(model, len(X_train), batch_size)
    dtype = optimizer.params[0].value.dtype
    X_train, X_test = X_train.astype(dtype, copy=False), X_test.astype(dtype, copy=False)

    history = History()
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=epochs, desc="training", unit="epoch", leave=True)
    start = time.perf_counter()
    try:
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            for epoch in range(epochs):
                try:
                    loss, _, lrs = train_epoch(model, optimizer, X_train, y_train,
                                               batch_size=batch_size, rng=rng,
                                               schedule=schedule, step=len(history.lr))
                    if np.isfinite(loss):
                        loss, acc = evaluate(model, X_train, y_train)
                        test_loss, test_acc = evaluate(model, X_test, y_test)
                except FloatingPointError as err:
                    loss, lrs, reason = np.nan, [], f"floating-point error ({err})"
                else:
                    reason = "the training loss became NaN or infinite"
                history.lr.extend(lrs)
                if not np.isfinite(loss):
                    history.diverged = True
                    history.stop_reason = (f"diverged in epoch {epoch + 1}: {reason}; "
                                           "the learning rate is probably too high")
                    break
                history.train_loss.append(loss)
                history.train_acc.append(acc)
                history.test_loss.append(test_loss)
                history.test_acc.append(test_acc)
                history.seconds.append(time.perf_counter() - start)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{loss:.3f}", test_acc=f"{test_acc:.1%}", refresh=False)
                if on_epoch_end is not None and on_epoch_end(epoch, history, model):
                    history.stop_reason = f"stopped by on_epoch_end after epoch {epoch + 1}"
                    break
    finally:
        if bar is not None:
            bar.close()
    return history
