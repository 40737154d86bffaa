"""Binary cross-entropy on logits, and its gradient."""
from __future__ import annotations

import numpy as np

from .validate import arguments, check_array, check_labels
from .activations import sigmoid  # noqa: F401  (nblib.core.loss.sigmoid, as before)


def _logits(value, name, args):
    logits = check_array(value, name, ndim=(1, 2))
    if logits.ndim == 2 and logits.shape[1] != 1:
        raise ValueError(f"{name} must have shape (N,) or (N, 1), got {logits.shape}")
    if len(logits) < 1:
        raise ValueError(f"{name} must contain at least one row")
    return logits


def _labels(value, name, args):
    return check_labels(value, name, len(args["logits"]))


@arguments(logits=_logits, y=_labels)
def bce_with_logits(logits, y):
    """Mean binary cross-entropy of ``sigmoid(logits)`` against labels ``y``.

    Same value as ``torch.nn.functional.binary_cross_entropy_with_logits``.
    ``-y log sigmoid(z) - (1 - y) log(1 - sigmoid(z))`` equals
    ``max(z, 0) - z y + log(1 + exp(-|z|))``, which never exponentiates a
    positive number: |z| = 1e4 gives neither inf nor NaN.

    Inputs
    - logits: raw scores z, of shape (N,) or (N, 1)
    - y: labels in {0, 1}, of shape (N,)
    Returns
    - loss: a float
    - dlogits: gradient of the loss w.r.t. logits, of logits' shape, ``(s - y) / N``
    """
    logits, y = np.asarray(logits), np.asarray(y)       # lists work too
    z = logits.reshape(-1)                              # (N,)
    y = y.astype(z.dtype)
    e = np.exp(-np.abs(z))                              # in [0, 1]: never overflows
    loss = np.maximum(z, 0) - z * y + np.log1p(e)
    s = np.where(z >= 0, 1.0, e) / (1.0 + e)            # sigmoid(z), from the same e
    dz = (s - y) / len(z)
    return float(loss.mean()), dz.reshape(logits.shape)
