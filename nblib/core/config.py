"""The chapter's recipe in one place: ``SpiralConfig`` holds every knob of an experiment.

``make_data``, ``build_model``, ``make_optimizer`` and ``make_schedule`` turn a config into
what training needs; ``nblib.core.experiment.train_spirals`` runs it.  Optimizer and schedule
names are looked up in one table each (``OPTIMIZERS``, ``SCHEDULES``): a config with any
other name is refused when it is made.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from .validate import check_choice, check_float, check_instance, check_int
from .activations import ReLU
from .data import DEFAULT_NOISE, _train_size, make_spirals, train_test_split
from .dropout import Dropout
from .linear import Linear
from .module import Sequential
from .norm import BatchNorm, LayerNorm
from .optim import SGD, Adam, AdamW, weight_decay_groups
from .schedules import Constant, Exponential, OneCycle, StepDecay, WarmupCosine

NORMS = ("batch", "layer", None)

# name -> optimizer(param_groups, config): the optimizers a config can name
OPTIMIZERS = {
    "sgd": lambda groups, c: SGD(groups, c.lr),
    "momentum": lambda groups, c: SGD(groups, c.lr, momentum=c.momentum),
    "adam": lambda groups, c: Adam(groups, c.lr),
    "adamw": lambda groups, c: AdamW(groups, c.lr),
}

# name -> schedule(config, total_steps): the learning-rate schedules a config can name
SCHEDULES = {
    "constant": lambda c, total: Constant(c.lr),
    "step": lambda c, total: StepDecay(c.lr, step_size=max(1, total // 3), gamma=0.1),
    "exponential": lambda c, total: Exponential(c.lr, gamma=0.01 ** (1 / total)),  # ends 100x lower
    "cosine": lambda c, total: WarmupCosine(c.lr, total, warmup_steps=int(total * c.warmup)),
    "onecycle": lambda c, total: OneCycle(c.lr, max(total, 2)),
}


@dataclass(frozen=True)
class SpiralConfig:
    """Every knob of a spiral experiment; the defaults are the book's recipe.

    The book's recipe trains the source chapter's network (2 -> 128 -> 128 -> 64
    -> 1, BatchNorm, Adam) without dropout, in batches of 128, with a learning
    rate that warms up to 0.02 over the first tenth of the steps and then
    anneals along a cosine: 200 epochs of 4 steps (800 steps, about 1 s) where
    the source takes 500 epochs of 8 steps at a constant 3e-3.  It computes in
    float32, PyTorch's default, a third faster than float64 and as accurate
    here (``benchmarks/claim_grid.py``); the layers themselves default to
    float64, NumPy's default, which finite-difference gradient checks need.
    ``tests/test_claim.py`` checks that it beats 95% on the held-out points for
    data seeds drawn at random, and comes within 1 point of the Bayes ceiling.
    """

    # data
    n: int = 300                   # points per arm (the dataset has 2n points)
    noise: float = DEFAULT_NOISE   # std of the Gaussian jitter; Bayes accuracy ~98.6%
    data_seed: int = 42            # seed of the data generator (the source's)
    test_fraction: float = 0.2     # last 20% of the shuffled data is held out
    # architecture: 2 -> hidden... -> 1
    hidden: tuple = (128, 128, 64)  # widths of the hidden layers (the source's network)
    norm: str | None = "batch"     # "batch", "layer" or None, after each hidden Linear
    dropout: float = 0.0           # drop probability after each hidden ReLU (source: 0.15)
    # optimisation
    optimizer: str = "adam"        # "sgd", "momentum" (SGD, momentum 0.9), "adam", "adamw"
    lr: float = 0.02               # peak learning rate
    momentum: float = 0.9          # for "momentum" (and "sgd" ignores it)
    weight_decay: float = 0.0      # on weight matrices: L2 for sgd/adam, decoupled for adamw
    schedule: str = "cosine"       # "constant", "step", "exponential", "cosine", "onecycle"
    warmup: float = 0.1            # share of the steps "cosine" warms up over (0: no warm-up)
    epochs: int = 200
    batch_size: int = 128
    seed: int = 0                  # initialisation, dropout masks and batch order
    dtype: str = "float32"         # "float32" (PyTorch's default) or "float64"

    def __post_init__(self):
        check_int(self.n, "n", minimum=1)
        check_float(self.noise, "noise", minimum=0.0)
        check_int(self.data_seed, "data_seed", minimum=0)
        check_float(self.test_fraction, "test_fraction", minimum=0.0, maximum=1.0,
                    min_inclusive=False, max_inclusive=False)
        if not isinstance(self.hidden, (tuple, list)) or len(self.hidden) < 1:
            raise TypeError(f"hidden must be a non-empty tuple of widths, got {self.hidden!r}")
        for i, h in enumerate(self.hidden):
            check_int(h, f"hidden[{i}]", minimum=1)
        object.__setattr__(self, "hidden", tuple(self.hidden))
        check_choice(self.norm, "norm", NORMS)
        check_float(self.dropout, "dropout", minimum=0.0, maximum=1.0, max_inclusive=False)
        check_choice(self.optimizer, "optimizer", tuple(OPTIMIZERS))
        check_float(self.lr, "lr", minimum=0.0, min_inclusive=False)
        check_float(self.momentum, "momentum", minimum=0.0, maximum=1.0)
        check_float(self.weight_decay, "weight_decay", minimum=0.0)
        check_choice(self.schedule, "schedule", tuple(SCHEDULES))
        check_float(self.warmup, "warmup", minimum=0.0, maximum=1.0, max_inclusive=False)
        check_int(self.epochs, "epochs", minimum=1)
        check_int(self.batch_size, "batch_size", minimum=1)
        check_int(self.seed, "seed", minimum=0)
        check_choice(self.dtype, "dtype", ("float64", "float32"))

    @classmethod
    def source(cls, **overrides):
        """The source chapter's hyper-parameters, on the corrected data.

        2 -> 128 -> 128 -> 64 -> 1 with BatchNorm, dropout 0.15 (the source's
        p_keep = 0.85), Adam at 3e-3 with a constant rate, 500 epochs, batch 64.
        """
        base = dict(hidden=(128, 128, 64), norm="batch", dropout=0.15, optimizer="adam",
                    lr=3e-3, schedule="constant", epochs=500, batch_size=64)
        base.update(overrides)
        return cls(**base)

    def replace(self, **changes):
        """A copy with some fields changed (``dataclasses.replace``)."""
        return dataclasses.replace(self, **changes)

    @property
    def steps_per_epoch(self):
        n_train = _train_size(2 * self.n, self.test_fraction)
        return -(-n_train // self.batch_size)

    def __repr__(self):
        changed = [f"{f.name}={getattr(self, f.name)!r}" for f in dataclasses.fields(self)
                   if getattr(self, f.name) != f.default]
        return f"SpiralConfig({', '.join(changed)})"


def _check_config(config):
    check_instance(config, "config", SpiralConfig, "a SpiralConfig")


def make_data(config):
    """(X_train, X_test, y_train, y_test) for the config's data knobs."""
    _check_config(config)
    X, y = make_spirals(config.n, config.noise, config.data_seed)
    return train_test_split(X, y, config.test_fraction)


def _generators(seed):
    """Independent generators for initialisation, dropout and shuffling."""
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3)]


def make_shuffle_rng(config):
    """The generator that orders the mini-batches of ``config``'s run (from ``config.seed``)."""
    _check_config(config)
    return _generators(config.seed)[2]


def build_model(config):
    """2 -> hidden... -> 1: each hidden block is Linear, norm, ReLU, dropout.

    The hidden Linear layers have no bias when BatchNorm follows: subtracting
    the batch mean cancels it, and BatchNorm's own shift takes its place.
    LayerNorm does not cancel it (it normalises across features), and needs it:
    without a bias, LayerNorm(x W^T) would erase the input's radius.
    """
    _check_config(config)
    init_rng, drop_rng, _ = _generators(config.seed)
    dtype = np.dtype(config.dtype)
    layers, width = [], 2
    for h in config.hidden:
        layers.append(Linear(width, h, bias=config.norm != "batch", rng=init_rng, dtype=dtype))
        if config.norm == "batch":
            layers.append(BatchNorm(h, dtype=dtype))
        elif config.norm == "layer":
            layers.append(LayerNorm(h, dtype=dtype))
        layers.append(ReLU())
        if config.dropout > 0:
            layers.append(Dropout(config.dropout, rng=drop_rng))
        width = h
    layers.append(Linear(width, 1, rng=init_rng, dtype=dtype))
    return Sequential(*layers)


def make_optimizer(config, params):
    """The optimizer named by ``config.optimizer`` (a key of ``OPTIMIZERS``).

    As in nanoGPT, ``config.weight_decay`` applies to the weight matrices only: biases
    and normalisation parameters are in a second parameter group that does not decay.
    """
    _check_config(config)
    return OPTIMIZERS[config.optimizer](weight_decay_groups(params, config.weight_decay), config)


def make_schedule(config):
    """The learning-rate schedule named by ``config.schedule``, over the whole run."""
    _check_config(config)
    total_steps = config.epochs * config.steps_per_epoch
    return SCHEDULES[config.schedule](config, total_steps)
