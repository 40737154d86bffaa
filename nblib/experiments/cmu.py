"""The classic benchmark: Wieland's two spirals, from the CMU benchmark collection.

Alexis Wieland's task, distributed in Scott Fahlman's collection of neural
network benchmarks at Carnegie Mellon: 194 points on two spirals that wind
three times around the origin, 97 points each.  Point i of the first spiral
(class 1) is

    angle = i π / 16,   radius = 6.5 (104 - i) / 104,   (radius sin(angle), radius cos(angle)),

for i = 0 ... 96, and the second spiral (class 0) is its negation.  There is no
noise and no test set: the task is to learn all 194 points, and it counts as
solved when every output is right under the "40-20-40" rule (an output counts
as 1 above 0.6 and as 0 below 0.4; anything between is wrong).  Results are
reported in epochs, passes over the 194 points.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..core.validate import (arguments, array, check_int, check_labels, generator, instance, integer,
                      positive, positive_int)
from ..core.activations import ReLU, Sigmoid
from ..core.config import SpiralConfig, build_model, make_optimizer
from ..core.linear import Linear
from ..core.module import Module, Sequential
from ..core.optim import Optimizer
from ..core.training import predict_proba, train_epoch

LOW, HIGH = 0.4, 0.6
"""The 40-20-40 rule: below LOW an output means class 0, above HIGH class 1."""
CMU_RECIPE = dict(hidden=(128, 128, 64), norm="batch", dropout=0.0, optimizer="adam",
                  lr=0.01, batch_size=194, schedule="constant")
"""The chapter's network (2 -> 128 -> 128 -> 64 -> 1, BatchNorm, ReLU) and Adam, on the
benchmark: full batch, one weight update per epoch like the batch methods of the time
(Quickprop, RPROP, Cascade-Correlation); a constant learning rate (the run has no fixed
length for a schedule to span); no dropout (the task is to fit these 194 points, not to
generalise beyond them)."""
BENCHMARK_ABLATION_SEEDS = 5
"""benchmarks/cmu_benchmark.py's default number of seeds per ablation (``--ablation-seeds``)."""
BENCHMARK_MAX_EPOCHS = 3000
"""benchmarks/cmu_benchmark.py's default cap (``--max-epochs``): a run not solved within it
is reported as not solved."""


def cmu_spirals():
    """The benchmark's 194 points, in the order of Wieland's generator.

    Returns
    - X: points, of shape (194, 2); rows 2i and 2i + 1 are point i of the first
      spiral and its negation
    - y: labels, of shape (194,): 1 for the first spiral, 0 for the second
    """
    i = np.arange(97)
    angle = i * np.pi / 16
    radius = 6.5 * (104 - i) / 104
    first = np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1)
    X = np.stack([first, -first], axis=1).reshape(194, 2)   # interleave: i, then -i
    y = np.tile([1, 0], 97)
    return X, y


@arguments(prob=array(ndim=1))
def right_40_20_40(prob, y):
    """Which outputs are right under the 40-20-40 rule.

    Inputs
    - prob: outputs P(class 1), of shape (N,); y: labels in {0, 1}, of shape (N,)
    Returns
    - right: booleans, of shape (N,): prob > 0.6 where y is 1, prob < 0.4 where y is 0
    """
    prob = np.asarray(prob)                     # a list works too
    y = check_labels(y, "y", len(prob))
    return np.where(y == 1, prob > HIGH, prob < LOW)


@dataclass
class BenchmarkRun:
    """One attempt at the benchmark."""

    solved: bool        # all 194 points right under 40-20-40
    epochs: int         # epochs trained (the epoch it was solved or diverged in, if so)
    seconds: float      # wall time of the training loop, checks included
    right: int          # points right under 40-20-40 after the last epoch that finished
    model: Module


@arguments(model=instance(Module, "an nblib Module"),
           optimizer=instance(Optimizer, "an nblib Optimizer"), X=array(shape=(None, 2)),
           max_epochs=positive_int, rng=generator)
def train_until_solved(model, optimizer, X, y, *, max_epochs=2000, batch_size=None,
                       rng=None):
    """Train epoch by epoch until every point of X is right under 40-20-40.

    Each epoch is one ``nblib.train_epoch`` (full batch unless ``batch_size``
    is given), then one check of all points in evaluation mode: the network that
    counts is the one a user would run.

    Inputs
    - X: points, of shape (N, 2); y: labels in {0, 1}, of shape (N,)
    - max_epochs: give up after this many epochs
    - batch_size: rows per step (None: all N, one step per epoch)
    - rng: the Generator that shuffles the batches
    Returns a ``BenchmarkRun``.  A run that diverges (a floating-point overflow or a
    NaN) stops in that epoch, not solved.
    """
    rng = np.random.default_rng(rng)            # a Generator stays itself; a seed makes one
    y = check_labels(y, "y", len(X))
    batch_size = len(X) if batch_size is None else check_int(batch_size, "batch_size", minimum=1)
    start = time.perf_counter()
    right = 0
    for epoch in range(1, max_epochs + 1):
        try:
            with np.errstate(over="raise", invalid="raise", divide="raise"):
                train_epoch(model, optimizer, X, y, batch_size=batch_size, rng=rng)
                right = int(right_40_20_40(predict_proba(model, X), y).sum())
        except FloatingPointError:              # an overflow or a NaN: diverged, not solved
            break
        if right == len(X):
            return BenchmarkRun(True, epoch, time.perf_counter() - start, right, model)
    return BenchmarkRun(False, epoch, time.perf_counter() - start, right, model)


@arguments(seed=integer(minimum=0), max_epochs=positive_int)
def solve_cmu(seed=0, max_epochs=2000, **overrides):
    """Train the chapter's network on the benchmark until it is solved.

    The network and optimizer come from ``SpiralConfig(**CMU_RECIPE, **overrides)``,
    with ``seed`` (an int) for the initial weights and the batch order.
    Returns a ``BenchmarkRun``.
    """
    config = SpiralConfig(seed=seed, **{**CMU_RECIPE, **overrides})
    model = build_model(config)
    optimizer = make_optimizer(config, model.parameters())
    X, y = cmu_spirals()
    return train_until_solved(model, optimizer, X, y, max_epochs=max_epochs,
                              batch_size=config.batch_size, rng=np.random.default_rng(seed))


# --- the ablations: the 1988 network's parts, put into the chapter's network one at a time

@arguments(model=instance(Sequential, "an nblib Sequential"))
def with_sigmoid(model):
    """The same network (the same layer objects) with every ReLU replaced by a Sigmoid."""
    return Sequential(*[Sigmoid() if isinstance(layer, ReLU) else layer
                        for layer in model.layers])


@arguments(model=instance(Module, "an nblib Module"), scale=positive, rng=generator)
def uniform_init(model, scale, rng):
    """Redraw every Linear weight from U(-scale, scale), in place: 1980s practice.

    He initialisation draws N(0, 2 / fan_in) instead, so that every layer keeps
    the variance of its input; a fixed range ignores the fan-in: U(-0.5, 0.5), of
    standard deviation 0.29, is narrower than He's at a layer with 2 inputs (1.0) and
    wider at one with 128 (0.125).  Returns the model.
    """
    rng = np.random.default_rng(rng)            # a Generator stays itself; a seed makes one
    for layer in model.modules():
        if isinstance(layer, Linear):
            layer.weight.value[...] = rng.uniform(-scale, scale, layer.weight.value.shape)
    return model
