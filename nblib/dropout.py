"""Inverted dropout, as ``torch.nn.Dropout``: ``p`` is the probability to *drop*."""
from __future__ import annotations

import numpy as np

from ._checks import check_float, check_input, check_rng
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
        check_input(x)
        if not self.training or self.p == 0.0:
            self._mask = None
            return x
        # float32 uniforms are cheaper to draw and resolve p to 1e-7: plenty for a mask.
        keep = self.rng.random(x.shape, dtype=np.float32) >= self.p
        self._mask = keep * x.dtype.type(1.0 / (1.0 - self.p))   # 0 or 1/(1-p), x's dtype
        return x * self._mask

    def backward(self, dout):
        """dout: (N, D) -> dx: (N, D)"""
        return dout if self._mask is None else dout * self._mask

    def __repr__(self):
        return f"Dropout(p={self.p})"
