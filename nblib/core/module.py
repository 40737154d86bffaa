"""The building blocks every layer shares: ``Param``, ``Module`` and ``Sequential``.

A layer is a plain object with ``forward(x)`` and ``backward(dout)``: forward
keeps what backward needs, backward sets each parameter's gradient
``param.grad`` and returns the gradient with respect to the input.  There is
no autograd graph: the chain rule is the order in which ``Sequential.backward``
visits the layers.
"""
from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from .validate import (FLOAT_DTYPES, arguments, boolean, check_layer_dout, check_layer_input,
                      each, instance)


class Param:
    """A trainable array, ``value``, and the gradient of the loss with respect to it, ``grad``.

    Layers *set* ``grad`` in backward (nothing accumulates across calls).
    Optimizers update ``value`` in place, so an array taken from a layer stays
    that layer's weights.  ``grad`` is None (no gradient: optimizers skip the
    Param) or an array of ``value``'s shape, stored in ``value``'s dtype.
    """

    __slots__ = ("_value", "_grad")

    def __init__(self, value):
        self._value = None
        self.value = value
        self.grad = np.zeros_like(value)

    @property
    def value(self):
        return self._value

    @value.setter
    def value(self, value):
        if not isinstance(value, np.ndarray) or value.dtype not in FLOAT_DTYPES:
            raise TypeError("value must be a float32 or float64 numpy array, got "
                            f"{getattr(value, 'dtype', type(value).__name__)}")
        if self._value is not None and value.shape != self._value.shape:
            raise ValueError(f"value must keep its shape {self._value.shape}, got {value.shape}")
        if not np.isfinite(value).all():
            raise ValueError("value contains NaN or inf: no step could train it")
        self._value = value

    @property
    def grad(self):
        return self._grad

    @grad.setter
    def grad(self, grad):
        if grad is not None:
            grad = np.asarray(grad, dtype=self._value.dtype)   # no copy when it already is
            if grad.shape != self._value.shape:
                raise ValueError(f"grad must have the shape of value, {self._value.shape}, "
                                 f"got {grad.shape}")
        self._grad = grad

    @property
    def shape(self):
        return self._value.shape

    def __repr__(self):
        return f"Param(shape={self._value.shape}, dtype={self._value.dtype})"


class Module:
    """Base class: train/eval mode, parameter discovery and the shared input checks.

    A layer's ``forward`` starts with ``self.check_input(x)`` and its ``backward``
    with ``self.check_dout(dout)``: one cheap line each, so that a wrong shape is
    reported in words ("x must be an array of shape (N, 2), got (4, 3)") instead of
    a broadcasting error from inside NumPy.  Nothing is added behind the reader's back.
    """

    training = True
    min_rows_in_training = 1   # rows a training-mode forward needs (BatchNorm: 2)
    input_width = None         # name of the attribute check_input compares x.shape[1] with
    output_width = None        # name of the attribute that is the output's width (None: x's)
    _input_shape = None        # the shape of the last forward's x

    def check_input(self, x):
        """x must be a float array (of shape (N, width) if the layer names ``input_width``;
        at least ``min_rows_in_training`` rows in training mode); remembers its shape."""
        check_layer_input(self, x)

    def check_dout(self, dout):
        """forward must have run, and dout must have the shape of its output."""
        check_layer_dout(self, dout)

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

    @arguments(mode=boolean)
    def train(self, mode=True):
        """Switch to training mode (``mode=True``) or evaluation mode."""
        for m in self.modules():
            m.training = mode
        return self

    def eval(self):
        return self.train(False)

    def __repr__(self):
        return f"{type(self).__name__}()"


@contextmanager
def evaluation_mode(model):
    """Run the block with ``model`` in evaluation mode; then every module inside it gets
    back its own mode (a model in training mode with one layer in evaluation mode stays so).
    """
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for m, mode in modes:
            m.training = mode


class Sequential(Module):
    """Layers applied in order; backward visits them in reverse.

    >>> Sequential(Linear(2, 8), ReLU(), Linear(8, 1))   # doctest: +SKIP
    """

    @arguments(layers=each(instance(Module, "an nblib Module")))
    def __init__(self, *layers):
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
