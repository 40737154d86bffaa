"""nblib: the small NumPy library behind "Neural Net from Scratch (NumPy only)".

The path data takes: ``data`` (make_spirals) -> ``config`` (SpiralConfig) ->
``experiment`` (train_spirals) -> ``training`` (fit, train_epoch) -> ``History`` -> ``plots``.

Needs only NumPy and matplotlib; the extras add tqdm's progress bars (``progress``),
the playground's widgets (``widgets``) and single-threaded BLAS in sweep workers (``sweep``).
"""
import types as _types

from .activation_stats import deep_stack, layer_stats, plot_layer_stats
from .activations import ReLU, Sigmoid
from .animation import (BoundaryRecorder, animate_boundary, animation_html, plot_snapshot,
                        snapshot_epochs)
from .config import SpiralConfig, build_model, make_data, make_optimizer, make_schedule
from .data import (DEFAULT_NOISE, bayes_accuracy, bayes_posterior, make_spirals,
                   spiral_centres, train_test_split)
from .dropout import Dropout
from .experiment import SpiralResult, train_spirals
from .gradcheck import check_layer, check_model, numerical_gradient, rel_error
from .hidden_units import (dead_units, hidden_activations, label_correlation,
                           most_variable_units, plot_unit_maps, unit_maps)
from .linear import Linear
from .loss import bce_with_logits, sigmoid
from .module import Module, Param, Sequential
from .norm import BatchNorm, LayerNorm
from .optim import SGD, Adam, AdamW, Optimizer
from .playground import Playground
from .schedules import Constant, Exponential, OneCycle, Schedule, StepDecay, WarmupCosine
from .sweep import sweep
from .training import History, evaluate, fit, predict_logits, predict_proba, train_epoch

__all__ = [name for name, obj in globals().items()
           if not name.startswith("_") and not isinstance(obj, _types.ModuleType)]
