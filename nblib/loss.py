"""Binary cross-entropy on logits: stable for any logit, with its gradient."""
from __future__ import annotations

import numbers

import numpy as np

from ._checks import check_array, check_labels
from ._stable import exp_neg_abs


def bce_with_logits(logits, y):
    """Mean binary cross-entropy of ``sigmoid(logits)`` against labels ``y``.

    Same value as ``torch.nn.functional.binary_cross_entropy_with_logits``.
    Written as ``max(z, 0) - z y + log(1 + exp(-|z|))``, which never
    exponentiates a positive number, so |z| = 1e4 gives neither inf nor NaN.

    Inputs
    - logits: raw scores, of shape (N,) or (N, 1)
    - y: labels in {0, 1}, of shape (N,)
    Returns
    - loss: a float
    - dlogits: gradient of the loss w.r.t. logits, same shape as logits,
      ``(sigmoid(z) - y) / N``
    """
    logits = check_array(logits, "logits", ndim=(1, 2))
    if logits.ndim == 2 and logits.shape[1] != 1:
        raise ValueError(f"logits must have shape (N,) or (N, 1), got {logits.shape}")
    if logits.shape[0] < 1:
        raise ValueError("logits must contain at least one row")
    y = check_labels(y, "y", logits.shape[0])
    return bce_with_logits_unchecked(logits, y)


def bce_with_logits_unchecked(logits, y):
    """``bce_with_logits`` without argument checks, for the training loop's hot path."""
    z = logits.reshape(-1)
    yf = y.astype(z.dtype)
    e = exp_neg_abs(z)
    loss = np.maximum(z, 0) - z * yf + np.log1p(e)
    prob = np.where(z >= 0, 1.0, e) / (1.0 + e)
    dlogits = (prob - yf) / len(z)
    return float(loss.mean()), dlogits.reshape(logits.shape)


def sigmoid(z):
    """Elementwise logistic function, without overflow for any input.

    Inputs
    - z: a real number or an array of any shape (NaN gives NaN)
    Returns
    - an array of z's shape, in [0, 1]
    """
    if isinstance(z, numbers.Real):
        z = np.asarray(z, dtype=float)
    z = check_array(z, "z", finite=False)
    e = exp_neg_abs(z)
    return np.where(z >= 0, 1.0, e) / (1.0 + e)
