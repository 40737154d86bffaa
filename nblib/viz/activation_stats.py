"""Signal statistics through a deep stack: why He initialisation and ReLU.

A deep stack is ``depth`` blocks of ``Linear(width, width)`` and a
nonlinearity, with nothing else (no normalisation) to rescue the signal.
``layer_stats`` pushes a batch forward and a random upstream gradient
backward and records, block by block, how large the activations and the
weight gradients are: with a good initialisation both stay of the same order
at every depth; with a bad one they grow or shrink geometrically.
"""
from __future__ import annotations

import numbers

import numpy as np

from ..core.validate import check_array, check_choice, check_float, check_int, check_rng
from ..core.activations import ReLU, Sigmoid
from ..core.linear import Linear
from ..core.module import Sequential

ACTIVATIONS = {"relu": ReLU, "sigmoid": Sigmoid}


def deep_stack(depth, width, *, init="he", activation="relu", rng=None):
    """``depth`` blocks of Linear(width, width) followed by a nonlinearity.

    Inputs
    - depth: number of blocks (>= 1)
    - width: features of every layer, input and output (>= 1)
    - init: "he" keeps ``Linear``'s own N(0, 2 / width) weights; a positive
      number ``s`` draws them from N(0, s^2) instead (a "naive" init)
    - activation: "relu" or "sigmoid"
    - rng: ``np.random.Generator`` (or int seed) for the weights
    Returns
    - a ``Sequential`` of 2 * depth layers, mapping (N, width) to (N, width)
    """
    depth = check_int(depth, "depth", minimum=1)
    width = check_int(width, "width", minimum=1)
    if isinstance(init, str):
        check_choice(init, "init", ("he",))
    elif isinstance(init, numbers.Real) and not isinstance(init, bool):
        check_float(init, "init", minimum=0.0, min_inclusive=False)
    else:
        raise TypeError(f"init must be 'he' or a positive weight std, got {init!r}")
    check_choice(activation, "activation", tuple(ACTIVATIONS))
    rng = check_rng(rng)
    layers = []
    for _ in range(depth):
        linear = Linear(width, width, rng=rng)
        if init != "he":
            linear.weight.value[...] = rng.normal(0.0, init, linear.weight.shape)
        layers += [linear, ACTIVATIONS[activation]()]
    return Sequential(*layers)


def layer_stats(model, x, *, rng=None):
    """Per-block standard deviations of activations and of weight gradients.

    The upstream gradient at the output is standard normal (from ``rng``):
    its scale does not matter for comparing depths, only that it is random.

    Inputs
    - model: a ``Sequential`` of Linear layers and nonlinearities, as ``deep_stack``
    - x: inputs, of shape (N, D), N >= 2
    - rng: ``np.random.Generator`` (or int seed) for the upstream gradient
    Returns
    - dict with "activation_std", the std of each nonlinearity's output, and
      "weight_grad_std", the std of each Linear's weight gradient, both of
      shape (K,) for K blocks, first block first
    """
    if not isinstance(model, Sequential):
        raise TypeError(f"model must be an nblib Sequential, got {type(model).__name__}")
    x = check_array(x, "x", ndim=2)
    if len(x) < 2:
        raise ValueError(f"x must have at least 2 rows to measure a spread, got {len(x)}")
    rng = check_rng(rng)
    linears = [layer for layer in model if isinstance(layer, Linear)]
    if not linears:
        raise ValueError("model must contain at least one Linear layer")
    activation_std = []
    out = x
    for layer in model:
        out = layer.forward(out)
        if not isinstance(layer, Linear):
            activation_std.append(out.std())
    model.backward(rng.standard_normal(out.shape))
    return {"activation_std": np.array(activation_std),
            "weight_grad_std": np.array([layer.weight.grad.std() for layer in linears])}


def plot_layer_stats(curves, ax=None, *, ylabel="standard deviation", title=None):
    """One line per entry of ``curves`` (label -> values of shape (L,)), on a log scale.

    The x axis is the block, 1 to L.  Returns the axes.
    """
    if not isinstance(curves, dict) or not curves:
        raise TypeError("curves must be a non-empty dict mapping a label to an array")
    arrays = {}
    for label, values in curves.items():
        values = check_array(np.asarray(values, dtype=float), f"curves[{label!r}]", ndim=1)
        if not (values > 0).all():
            raise ValueError(f"curves[{label!r}] must be positive to be drawn on a log scale")
        arrays[label] = values
    if ax is None:
        import matplotlib.pyplot as plt
        _, ax = plt.subplots(figsize=(6, 4))
    markers = "osd^v<>"
    for i, (label, values) in enumerate(arrays.items()):
        ax.plot(np.arange(1, len(values) + 1), values, marker=markers[i % len(markers)],
                ms=4, lw=1.5, label=label)
    ax.set_yscale("log")
    ax.set(xlabel="block (Linear + nonlinearity)", ylabel=ylabel)
    if title is not None:
        ax.set_title(title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0)  # off the data
    return ax
