"""The fully connected layer, ``out = x W^T + b``, with He initialisation."""
from __future__ import annotations

import numpy as np

from .validate import arguments, boolean, float_dtype, generator, positive_int
from .module import Module, Param


class Linear(Module):
    """Affine map from D = ``in_features`` to H = ``out_features``, as ``torch.nn.Linear``.

    ``weight`` W has shape (H, D), PyTorch's layout, and starts as He
    initialisation, N(0, 2 / D): it keeps the variance of ReLU activations
    constant through depth.  ``bias`` b, of shape (H,), starts at zero; pass
    ``bias=False`` when BatchNorm follows, which would subtract it.
    """

    input_width = "in_features"    # check_input: x has shape (N, in_features)
    output_width = "out_features"  # check_dout: dout has shape (N, out_features)

    @arguments(in_features=positive_int, out_features=positive_int, bias=boolean,
               rng=generator, dtype=float_dtype)
    def __init__(self, in_features, out_features, *, bias=True, rng=None, dtype=np.float64):
        """rng: the ``np.random.Generator`` (or int seed) the initial weights come from."""
        rng = np.random.default_rng(rng)             # a Generator stays itself; a seed makes one
        self.in_features, self.out_features = in_features, out_features
        std = np.sqrt(2.0 / in_features)             # He: Var(w) = 2 / fan_in
        self.weight = Param(rng.normal(0.0, std, (out_features, in_features)).astype(dtype))
        self.bias = Param(np.zeros(out_features, dtype=dtype)) if bias else None

    def forward(self, x):
        """x: (N, D) -> out: (N, H)"""
        self.check_input(x)                          # a float array of shape (N, D)
        self.x = x                                   # backward needs the input
        out = x @ self.weight.value.T
        if self.bias is not None:
            out += self.bias.value                   # in place: out is a fresh array
        return out

    def backward(self, dout):
        """dout: (N, H) -> dx: (N, D); sets weight.grad (H, D) and bias.grad (H,)"""
        self.check_dout(dout)                        # forward ran; dout is (N, H)
        self.weight.grad = dout.T @ self.x
        if self.bias is not None:
            self.bias.grad = dout.sum(axis=0)
        return dout @ self.weight.value

    def __repr__(self):
        return (f"Linear(in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None})")
