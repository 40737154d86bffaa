"""Inverted dropout, as ``torch.nn.Dropout``: ``p`` is the probability to *drop*."""
from __future__ import annotations

import numpy as np

from .validate import arguments, generator, probability_below_one
from .module import Module


class Dropout(Module):
    """Zero each activation with probability ``p`` during training.

    Survivors are scaled by ``1 / (1 - p)``, so that the expected activation is
    unchanged and evaluation is the identity.  The mask comes from ``rng``, a seeded
    ``np.random.Generator`` (``build_model`` gives all of a model's Dropout layers the
    same one), so runs are reproducible.
    """

    @arguments(p=probability_below_one, rng=generator)
    def __init__(self, p=0.5, *, rng=None):
        self.p = p
        self.rng = np.random.default_rng(rng)   # a Generator stays itself; a seed makes one

    def forward(self, x):
        """x: (N, D) -> out: (N, D)"""
        self.check_input(x)                      # a float array
        if not self.training or self.p == 0:
            self.mask = None
            return x
        # float32 uniforms cost half as much to draw and resolve p to 1e-7: plenty for a mask
        keep = self.rng.random(x.shape, dtype=np.float32) >= self.p   # survives with 1 - p
        self.mask = (keep / (1 - self.p)).astype(x.dtype, copy=False)  # 0 or 1/(1-p): E[mask] = 1
        return x * self.mask

    def backward(self, dout):
        """dout: (N, D) -> dx: (N, D)"""
        self.check_dout(dout)                    # forward ran; dout has its output's shape
        return dout if self.mask is None else dout * self.mask

    def __repr__(self):
        return f"Dropout(p={self.p})"
