"""Normalisation layers: BatchNorm (across the batch) and LayerNorm (across features)."""
from __future__ import annotations

import numpy as np

from .validate import arguments, float_dtype, positive, positive_int, unit_interval
from .module import Module, Param


class BatchNorm(Module):
    """Batch normalisation of each of D features, as ``torch.nn.BatchNorm1d``.

    Training: normalise with the batch mean and (biased) variance, then scale by
    ``weight`` (gamma) and shift by ``bias`` (beta); update the running
    statistics, ``running = (1 - momentum) running + momentum batch``, with the
    *unbiased* batch variance, as PyTorch does.  Evaluation: normalise with the
    running statistics, so a prediction does not depend on the rest of the batch.
    """

    input_width = "num_features"   # check_input: x has shape (N, num_features)
    min_rows_in_training = 2       # the variance of one row is 0: nothing to normalise by

    @arguments(num_features=positive_int, momentum=unit_interval, eps=positive, dtype=float_dtype)
    def __init__(self, num_features, momentum=0.1, eps=1e-5, *, dtype=np.float64):
        self.num_features, self.momentum, self.eps = num_features, momentum, eps
        self.weight = Param(np.ones(num_features, dtype=dtype))      # gamma, (D,)
        self.bias = Param(np.zeros(num_features, dtype=dtype))       # beta, (D,)
        self.running_mean = np.zeros(num_features, dtype=dtype)
        self.running_var = np.ones(num_features, dtype=dtype)

    def forward(self, x):
        """x: (N, D) -> out: (N, D)"""
        self.check_input(x)                                          # a float array (N, D)
        if self.training:
            mean = x.mean(axis=0)                                    # (D,)
            x_centred = x - mean                                     # (N, D)
            var = (x_centred**2).mean(axis=0)                        # (D,), biased
            n, rho = len(x), self.momentum
            # running = (1 - rho) running + rho batch, written as a step towards the batch
            # value; PyTorch keeps the unbiased variance, var * n / (n - 1)
            self.running_mean += rho * (mean - self.running_mean)
            self.running_var += rho * (var * (n / (n - 1)) - self.running_var)
        else:
            x_centred = x - self.running_mean
            var = self.running_var
        self.std = np.sqrt(var + self.eps)                           # (D,)
        self.x_hat = x_centred / self.std                            # (N, D)
        return self.weight.value * self.x_hat + self.bias.value

    def backward(self, dout):
        """dout: (N, D) -> dx: (N, D); sets weight.grad and bias.grad, both (D,)

        In training, x reaches the loss through x_hat, the batch mean and the
        batch variance.  With dx_hat = gamma * dout the three paths add up to
            dx = (N dx_hat - sum(dx_hat) - x_hat sum(dx_hat x_hat)) / (N std)
        (sums over the batch), and the two sums are gamma * bias.grad and
        gamma * weight.grad: the last line.  In evaluation the running statistics
        are constants, and only the path through x_hat remains.
        """
        self.check_dout(dout)                                      # forward ran; (N, D)
        self.bias.grad = dout.sum(axis=0)                          # sum(dout)
        self.weight.grad = (dout * self.x_hat).sum(axis=0)         # sum(dout x_hat)
        gamma, n = self.weight.value, len(dout)
        if not self.training:
            return gamma * dout / self.std
        return gamma / (n * self.std) * (n * dout - self.bias.grad - self.x_hat * self.weight.grad)

    def __repr__(self):
        return f"BatchNorm({self.num_features}, momentum={self.momentum}, eps={self.eps})"


class LayerNorm(Module):
    """Normalise each example across its D features, as ``torch.nn.LayerNorm(D)``.

    Unlike BatchNorm it behaves the same in training and evaluation, and works
    for a batch of one.
    """

    input_width = "normalized_shape"   # check_input: x has shape (N, normalized_shape)

    @arguments(normalized_shape=positive_int, eps=positive, dtype=float_dtype)
    def __init__(self, normalized_shape, eps=1e-5, *, dtype=np.float64):
        self.normalized_shape, self.eps = normalized_shape, eps
        self.weight = Param(np.ones(normalized_shape, dtype=dtype))   # gamma, (D,)
        self.bias = Param(np.zeros(normalized_shape, dtype=dtype))    # beta, (D,)

    def forward(self, x):
        """x: (N, D) -> out: (N, D)"""
        self.check_input(x)                                          # a float array (N, D)
        mean = x.mean(axis=1, keepdims=True)                         # (N, 1)
        x_centred = x - mean                                         # (N, D)
        var = (x_centred**2).mean(axis=1, keepdims=True)             # (N, 1), biased
        self.std = np.sqrt(var + self.eps)                           # (N, 1)
        self.x_hat = x_centred / self.std                            # (N, D)
        return self.weight.value * self.x_hat + self.bias.value

    def backward(self, dout):
        """dout: (N, D) -> dx: (N, D); sets weight.grad and bias.grad, both (D,)

        BatchNorm's formula with the roles of the axes swapped: the sums run
        over the D features of each example.
        """
        self.check_dout(dout)                                        # forward ran; (N, D)
        self.bias.grad = dout.sum(axis=0)
        self.weight.grad = (dout * self.x_hat).sum(axis=0)
        dx_hat = dout * self.weight.value
        d = dout.shape[1]
        return (d * dx_hat - dx_hat.sum(axis=1, keepdims=True)
                - self.x_hat * (dx_hat * self.x_hat).sum(axis=1, keepdims=True)) / (d * self.std)

    def __repr__(self):
        return f"LayerNorm({self.normalized_shape}, eps={self.eps})"
