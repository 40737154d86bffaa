"""The fully connected layer, ``y = x W^T + b``, with He-normal initialisation."""
from __future__ import annotations

import numpy as np

from ._checks import check_float_dtype, check_int, check_rng
from .module import Module, Param


class Linear(Module):
    """Affine map from ``in_features`` to ``out_features`` (``torch.nn.Linear``).

    ``weight`` has shape (out, in) and is drawn from N(0, 2 / in), He
    initialisation: it keeps the variance of ReLU activations constant through
    depth.  ``bias`` (out,) starts at zero; pass ``bias=False`` when a
    normalisation layer follows, since it would subtract the bias right away.
    """

    def __init__(self, in_features, out_features, *, bias=True, rng=None, dtype=np.float64):
        self.in_features = check_int(in_features, "in_features", minimum=1)
        self.out_features = check_int(out_features, "out_features", minimum=1)
        if not isinstance(bias, bool):
            raise TypeError(f"bias must be a bool, got {type(bias).__name__}")
        rng = check_rng(rng)
        dtype = check_float_dtype(dtype)
        std = np.sqrt(2.0 / in_features)
        w = rng.normal(0.0, std, (out_features, in_features)).astype(dtype)
        self.weight = Param(w)
        self.bias = Param(np.zeros(out_features, dtype=dtype)) if bias else None

    def forward(self, x):
        """x: (N, in) -> out: (N, out)"""
        if not isinstance(x, np.ndarray) or x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"x must be an array of shape (N, {self.in_features}), "
                             f"got {getattr(x, 'shape', type(x).__name__)}")
        self._x = x
        out = x @ self.weight.value.T
        if self.bias is not None:
            out += self.bias.value
        return out

    def backward(self, dout):
        """dout: (N, out) -> dx: (N, in); sets weight.grad (out, in) and bias.grad (out,)"""
        np.matmul(dout.T, self._x, out=self.weight.grad)
        if self.bias is not None:
            dout.sum(axis=0, out=self.bias.grad)
        return dout @ self.weight.value

    def named_parameters(self):
        ps = [("weight", self.weight)]
        return ps + [("bias", self.bias)] if self.bias is not None else ps

    def __repr__(self):
        return (f"Linear(in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None})")
