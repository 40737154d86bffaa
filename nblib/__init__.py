"""nblib: the small NumPy library behind "Neural Net from Scratch (NumPy only)".

One folder per job, each importing only the folders above it in this list:

- ``core``: the network library a student studies (data, layers, loss, optimizers,
  schedules, the training loop, the recipe ``SpiralConfig`` and ``train_spirals``);
- ``experiments``: many runs and what they tell (sweeps, intervals, the CMU benchmark);
- ``teaching``: the tasks' registry, self-checks, the exercises' checks and the hidden tests;
- ``viz``: plots, animations, hidden units and the playground;
- ``pages``: book tooling (nblib's source shown on a page, reading times).

The path data takes: ``core.data`` (make_spirals) -> ``core.config`` (SpiralConfig) ->
``core.experiment`` (train_spirals) -> ``core.training`` (fit, train_epoch) -> ``History``
-> ``viz.plots``.  This module hands on the public names, so ``nblib.Linear`` and
``nblib.train_spirals`` are all a notebook needs.

Needs only NumPy and matplotlib; the extras add tqdm's progress bars (``progress``),
the playground's widgets (``widgets``) and single-threaded BLAS in sweep workers (``sweep``).
"""
import types as _types

from .viz.activation_stats import deep_stack, layer_stats, plot_layer_stats
from .core.activations import ReLU, Sigmoid
from .viz.animation import (BoundaryRecorder, animate_boundary, animation_html, plot_snapshot,
                        snapshot_epochs)
from .core.config import SpiralConfig, build_model, make_data, make_optimizer, make_schedule
from .core.data import (DEFAULT_NOISE, bayes_accuracy, bayes_posterior, make_spirals,
                   spiral_centres, train_test_split)
from .core.dropout import Dropout
from .core.experiment import SpiralResult, train_spirals
from .core.gradcheck import check_layer, check_model, numerical_gradient, rel_error
from .viz.hidden_units import (dead_units, hidden_activations, label_correlation,
                           most_variable_units, plot_unit_maps, unit_maps)
from .core.linear import Linear
from .core.loss import bce_with_logits, sigmoid
from .core.module import Module, Param, Sequential
from .core.norm import BatchNorm, LayerNorm
from .core.optim import SGD, Adam, AdamW, Optimizer
from .viz.playground import Playground
from .core.schedules import Constant, Exponential, OneCycle, Schedule, StepDecay, WarmupCosine
from .experiments.sweep import sweep
from .core.training import History, evaluate, fit, predict_logits, predict_proba, train_epoch

__all__ = [name for name, obj in globals().items()
           if not name.startswith("_") and not isinstance(obj, _types.ModuleType)]
