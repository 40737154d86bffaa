"""Running an experiment: ``train_spirals(config)`` trains the network a ``SpiralConfig``
describes and returns everything the run produced, a ``SpiralResult``.

Every number in the book comes from ``train_spirals(SpiralConfig(...))`` (or from the
playground, which trains through the same ``fit``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import (SpiralConfig, _check_config, build_model, make_data, make_optimizer,
                     make_schedule, make_shuffle_rng)
from .data import bayes_ceiling
from .module import Sequential
from .training import History, fit


@dataclass
class SpiralResult:
    """Everything one training run produced."""

    config: SpiralConfig
    model: Sequential
    history: History
    X_train: np.ndarray
    X_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray

    @property
    def test_accuracy(self):
        """Held-out accuracy after the last epoch (nan if it diverged at once)."""
        return self.history.test_acc[-1] if self.history.test_acc else float("nan")

    @property
    def bayes_accuracy(self):
        """Best possible accuracy on this config's data distribution (cached per data)."""
        return bayes_ceiling(self.config.n, self.config.noise)


def train_spirals(config=None, progress=True, on_epoch_end=None):
    """Train the network described by ``config`` (default: the book's recipe)."""
    if config is None:
        config = SpiralConfig()
    _check_config(config)
    X_train, X_test, y_train, y_test = make_data(config)
    model = build_model(config)
    optimizer = make_optimizer(config, model.parameters())
    history = fit(model, optimizer, X_train, y_train, X_test, y_test, epochs=config.epochs,
                  batch_size=config.batch_size, schedule=make_schedule(config),
                  rng=make_shuffle_rng(config), progress=progress, on_epoch_end=on_epoch_end)
    return SpiralResult(config, model, history, X_train, X_test, y_train, y_test)
