"""Inverted dropout, as ``torch.nn.Dropout``: ``p`` is the probability to *drop*."""
from __future__ import annotations

import numpy as np

from ._checks import check_float, check_rng
from .module import Module


class Dropout(Module):
    """Zero each activation with probability ``p`` during training.

    Survivors are scaled by ``1 / (1 - p)`` so that the expected activation is
    unchanged; evaluation is then the identity.  The mask comes from ``rng``, a
    ``np.random.Generator`` owned by the layer, so runs are reproducible.
    """

    def __init__(self, p=0.5, *, rng=None):
        self.p = check_float(p, "p", minimum=0.0, maximum=1.0, max_inclusive=False)
        self.rng = check_rng(rng)

    def forward(self, x):
        """x: (N, D) -> out: (N, D)"""
        if not self.training or self.p == 0.0:
            self._mask = None
            return x
        keep = self.rng.random(x.shape, dtype=x.dtype if x.dtype == np.float32 else np.float64)
        self._mask = np.where(keep >= self.p, np.asarray(1.0 / (1.0 - self.p), x.dtype),
                              np.asarray(0.0, x.dtype))
        return x * self._mask

    def backward(self, dout):
        """dout: (N, D) -> dx: (N, D)"""
        return dout if self._mask is None else dout * self._mask

    def __repr__(self):
        return f"Dropout(p={self.p})"
