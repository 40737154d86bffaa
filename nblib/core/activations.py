"""Elementwise nonlinearities: ReLU and the logistic sigmoid."""
from __future__ import annotations

import numpy as np

from .validate import arguments, array
from .module import Module


@arguments(z=array(finite=False, scalar=True))
def sigmoid(z):
    """The logistic function ``1 / (1 + exp(-z))``, elementwise: z of any shape (or a number).

    Written with ``e = exp(-|z|)``, which never overflows: ``1 / (1 + e)`` for
    z >= 0 and ``e / (1 + e)`` for z < 0.  For |z| > 745 (float64) e underflows
    to 0 and the result is exactly 0 or 1, which is harmless: even under
    ``np.errstate(all="raise")`` it is not an error.
    """
    z = np.asarray(z)                      # a number or a list works too
    with np.errstate(under="ignore"):
        e = np.exp(-np.abs(z))
        return np.where(z >= 0, 1.0, e) / (1.0 + e)


class ReLU(Module):
    """``max(x, 0)``; its gradient is 1 where the input was positive, else 0."""

    def forward(self, x):
        """x: (N, D) -> out: (N, D)"""
        self.check_input(x)                # a float array
        self.out = np.maximum(x, 0)
        return self.out

    def backward(self, dout):
        """dout: (N, D) -> dx: (N, D)"""
        self.check_dout(dout)              # forward ran; dout has its output's shape
        return dout * (self.out > 0)       # the output is positive exactly where x was


class Sigmoid(Module):
    """``sigmoid(x)``; its gradient ``sigmoid(x) (1 - sigmoid(x))`` vanishes for large |x|."""

    def forward(self, x):
        """x: (N, D) -> out: (N, D)"""
        self.check_input(x)                # a float array
        self.out = sigmoid(x)
        return self.out

    def backward(self, dout):
        """dout: (N, D) -> dx: (N, D)"""
        self.check_dout(dout)              # forward ran; dout has its output's shape
        s = self.out
        return dout * s * (1 - s)
