"""nblib: the small NumPy library behind "Neural Net from Scratch (NumPy only)".

The path data takes: ``data`` (make_spirals) -> ``config`` (SpiralConfig) ->
``training`` (fit) -> ``History`` -> ``plots``.
"""
from .activations import ReLU, Sigmoid
from .config import (SpiralConfig, SpiralResult, build_model, make_data, make_optimizer,
                     make_schedule, train_spirals)
from .data import (DEFAULT_NOISE, bayes_accuracy, bayes_posterior, make_spirals,
                   spiral_centres, train_test_split)
from .dropout import Dropout
from .gradcheck import check_layer, check_model, numerical_gradient, rel_error
from .linear import Linear
from .loss import bce_with_logits, sigmoid
from .module import Module, Param, Sequential
from .norm import BatchNorm, LayerNorm
from .optim import SGD, Adam, AdamW, Optimizer
from .schedules import Constant, Exponential, OneCycle, Schedule, StepDecay, WarmupCosine
from .training import History, evaluate, fit, predict_logits, predict_proba, train_epoch

__all__ = [name for name in dir() if not name.startswith("_")]
