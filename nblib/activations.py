"""Elementwise nonlinearities: ReLU and the logistic sigmoid."""
from __future__ import annotations

import numpy as np

from ._checks import check_input
from ._stable import exp_neg_abs
from .module import Module


class ReLU(Module):
    """``max(x, 0)``; its gradient is 1 where the input was positive, else 0."""

    def forward(self, x):
        """x: (N, D) -> out: (N, D)"""
        self._out = np.maximum(check_input(x), 0)
        return self._out

    def backward(self, dout):
        """dout: (N, D) -> dx: (N, D)"""
        return dout * (self._out > 0)       # the output is positive exactly where x was


class Sigmoid(Module):
    """``1 / (1 + exp(-x))``; its gradient is ``s (1 - s)``, which vanishes for large |x|."""

    def forward(self, x):
        """x: (N, D) -> out: (N, D), computed without overflow for any x."""
        e = exp_neg_abs(check_input(x))                          # in (0, 1]: never overflows
        self._out = np.where(x >= 0, 1.0, e) / (1.0 + e)
        return self._out

    def backward(self, dout):
        """dout: (N, D) -> dx: (N, D)"""
        s = self._out
        return dout * s * (1.0 - s)
