"""Normalisation layers: BatchNorm (across the batch) and LayerNorm (across features)."""
from __future__ import annotations

import numpy as np

from ._checks import check_float, check_float_dtype, check_int
from .module import Module, Param


class BatchNorm(Module):
    """Batch normalisation of each feature, as ``torch.nn.BatchNorm1d``.

    Training: normalise with the batch mean and (biased) variance, then scale
    by ``weight`` (gamma) and shift by ``bias`` (beta); update the running
    statistics ``running = (1 - momentum) running + momentum batch`` using the
    *unbiased* batch variance, as PyTorch does.  Evaluation: use the running
    statistics, so a prediction does not depend on the rest of the batch.
    """

    min_rows_in_training = 2   # the variance of one row is 0: nothing to normalise by

    def __init__(self, num_features, momentum=0.1, eps=1e-5, *, dtype=np.float64):
        self.num_features = check_int(num_features, "num_features", minimum=1)
        self.momentum = check_float(momentum, "momentum", minimum=0.0, maximum=1.0)
        self.eps = check_float(eps, "eps", minimum=0.0, min_inclusive=False)
        dtype = check_float_dtype(dtype)
        self.weight = Param(np.ones(num_features, dtype=dtype))
        self.bias = Param(np.zeros(num_features, dtype=dtype))
        self.running_mean = np.zeros(num_features, dtype=dtype)
        self.running_var = np.ones(num_features, dtype=dtype)

    def forward(self, x):
        """x: (N, D) -> out: (N, D)"""
        if not isinstance(x, np.ndarray) or x.ndim != 2 or x.shape[1] != self.num_features:
            raise ValueError(f"x must be an array of shape (N, {self.num_features}), "
                             f"got {getattr(x, 'shape', type(x).__name__)}")
        if not self.training:
            inv_std = 1.0 / np.sqrt(self.running_var + self.eps)
            self._x, self._inv_std, self._eval = x, inv_std, True
            scale = self.weight.value * inv_std           # a per-feature affine map
            out = x * scale
            out += self.bias.value - self.running_mean * scale
            return out
        n = x.shape[0]
        if n < 2:
            raise ValueError("BatchNorm needs at least 2 rows per batch in training mode, got 1")
        mean = x.sum(axis=0) * (1.0 / n)
        xc = x - mean                                     # centred input, (N, D)
        var = np.einsum("nd,nd->d", xc, xc) * (1.0 / n)   # biased variance, (D,)
        inv_std = 1.0 / np.sqrt(var + self.eps)
        self._xc, self._inv_std, self._eval = xc, inv_std, False
        m = self.momentum
        self.running_mean += m * (mean - self.running_mean)
        self.running_var += m * (var * (n / (n - 1)) - self.running_var)
        out = xc * (self.weight.value * inv_std)          # = x_hat * gamma
        out += self.bias.value
        return out

    def backward(self, dout):
        """dout: (N, D) -> dx: (N, D); sets weight.grad and bias.grad, both (D,)

        With x_hat = (x - mean) / std, the three paths from x to the loss (through
        x_hat directly, through the mean and through the variance) add up to
            dx = gamma / (N std) * (N dout - sum(dout) - x_hat * sum(dout * x_hat))
        where the sums run over the batch: the last two are bias.grad and weight.grad.
        The code never forms x_hat: x_hat = xc / std is folded into per-feature
        factors, which saves two passes over (N, D) arrays.
        """
        inv_std, n = self._inv_std, dout.shape[0]
        xc = self._x - self.running_mean if self._eval else self._xc
        dout.sum(axis=0, out=self.bias.grad)                         # sum(dout)
        np.einsum("nd,nd->d", dout, xc, out=self.weight.grad)
        self.weight.grad *= inv_std                                  # sum(dout * x_hat)
        a = self.weight.value * inv_std                              # gamma / std
        if self._eval:  # running statistics are constants: only the direct path remains
            return dout * a
        dx = dout * a
        dx -= (a / n) * self.bias.grad
        dx -= xc * ((a / n) * inv_std * self.weight.grad)
        return dx

    def __repr__(self):
        return f"BatchNorm({self.num_features}, momentum={self.momentum}, eps={self.eps})"


class LayerNorm(Module):
    """Normalise each example across its features, as ``torch.nn.LayerNorm(D)``.

    Unlike BatchNorm it behaves the same in training and evaluation, and works
    for a batch of one.
    """

    def __init__(self, normalized_shape, eps=1e-5, *, dtype=np.float64):
        self.normalized_shape = check_int(normalized_shape, "normalized_shape", minimum=1)
        self.eps = check_float(eps, "eps", minimum=0.0, min_inclusive=False)
        dtype = check_float_dtype(dtype)
        self.weight = Param(np.ones(normalized_shape, dtype=dtype))
        self.bias = Param(np.zeros(normalized_shape, dtype=dtype))

    def forward(self, x):
        """x: (N, D) -> out: (N, D)"""
        if not isinstance(x, np.ndarray) or x.ndim != 2 or x.shape[1] != self.normalized_shape:
            raise ValueError(f"x must be an array of shape (N, {self.normalized_shape}), "
                             f"got {getattr(x, 'shape', type(x).__name__)}")
        d = x.shape[1]
        x_hat = x - x.mean(axis=1, keepdims=True)
        var = np.einsum("nd,nd->n", x_hat, x_hat)[:, None] / d
        inv_std = 1.0 / np.sqrt(var + self.eps)
        x_hat *= inv_std
        self._x_hat, self._inv_std = x_hat, inv_std
        return x_hat * self.weight.value + self.bias.value

    def backward(self, dout):
        """dout: (N, D) -> dx: (N, D); sets weight.grad and bias.grad, both (D,)

        The BatchNorm formula with the roles of the axes swapped: the sums run
        over the features of each example.
        """
        x_hat, d = self._x_hat, dout.shape[1]
        dout.sum(axis=0, out=self.bias.grad)
        np.einsum("nd,nd->d", dout, x_hat, out=self.weight.grad)
        g = dout * self.weight.value                      # gradient w.r.t. x_hat
        dx = g * d
        dx -= g.sum(axis=1, keepdims=True)
        dx -= x_hat * np.einsum("nd,nd->n", g, x_hat)[:, None]
        dx *= self._inv_std / d
        return dx

    def __repr__(self):
        return f"LayerNorm({self.normalized_shape}, eps={self.eps})"
