"""The building blocks every layer shares: ``Param``, ``Module`` and ``Sequential``.

A layer is a plain object with ``forward(x)`` and ``backward(dout)``: forward
caches what backward needs, backward writes each parameter's gradient into
``param.grad`` (in place) and returns the gradient with respect to the input.
There is no autograd graph: the chain rule is the order in which
``Sequential.backward`` visits the layers.
"""
from __future__ import annotations

from ._checks import check_instance

import numpy as np


class Param:
    """A trainable array and the gradient of the loss with respect to it.

    ``value`` and ``grad`` have the same shape.  Layers write gradients into
    ``grad`` in place (they *set* it; nothing accumulates across calls), which
    lets an optimizer keep all parameters in one contiguous buffer.
    """

    __slots__ = ("value", "grad")

    def __init__(self, value):
        if not isinstance(value, np.ndarray) or value.dtype.kind != "f":
            raise TypeError("value must be a floating-point numpy array, got "
                            f"{getattr(value, 'dtype', type(value).__name__)}")
        self.value = value
        self.grad = np.zeros_like(value)

    @property
    def shape(self):
        return self.value.shape

    def __repr__(self):
        return f"Param(shape={self.value.shape}, dtype={self.value.dtype})"


class Module:
    """Base class: train/eval mode and parameter discovery."""

    training = True
    min_rows_in_training = 1   # rows a training-mode forward needs (BatchNorm: 2)

    def forward(self, x):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, dout):  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, x):
        return self.forward(x)

    def named_parameters(self):
        """(name, Param) pairs, named as PyTorch names them ("0.weight")."""
        return [(name, p) for name, p in vars(self).items() if isinstance(p, Param)]

    def parameters(self):
        return [p for _, p in self.named_parameters()]

    def children(self):
        return []

    def modules(self):
        """This module and every module inside it, depth first."""
        out = [self]
        for child in self.children():
            out.extend(child.modules())
        return out

    def train(self, mode=True):
        """Switch to training mode (``mode=True``) or evaluation mode."""
        if not isinstance(mode, bool):
            raise TypeError(f"mode must be a bool, got {type(mode).__name__}")
        for m in self.modules():
            m.training = mode
        return self

    def eval(self):
        return self.train(False)

    def __repr__(self):
        return f"{type(self).__name__}()"


class Sequential(Module):
    """Layers applied in order; backward visits them in reverse.

    >>> Sequential(Linear(2, 8), ReLU(), Linear(8, 1))   # doctest: +SKIP
    """

    def __init__(self, *layers):
        for i, layer in enumerate(layers):
            check_instance(layer, f"layers[{i}]", Module, "an nblib Module")
        self.layers = list(layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dout):
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout

    def children(self):
        return list(self.layers)

    def named_parameters(self):
        return [(f"{i}.{name}", p) for i, layer in enumerate(self.layers)
                for name, p in layer.named_parameters()]

    def __getitem__(self, i):
        return self.layers[i]

    def __len__(self):
        return len(self.layers)

    def __repr__(self):
        lines = [f"  ({i}): {layer!r}" for i, layer in enumerate(self.layers)]
        return "Sequential(\n" + "\n".join(lines) + "\n)"
