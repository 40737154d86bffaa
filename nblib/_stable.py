"""Numerically safe pieces shared by the sigmoid and the loss."""
import numpy as np


def exp_neg_abs(x):
    """``exp(-|x|)`` in (0, 1], never overflowing and never underflowing.

    ``|x|`` is capped where ``exp`` would leave the normal range of the dtype
    (about 708 in float64, 87 in float32), so even ``np.errstate(all="raise")``
    stays quiet; the capped value is below any rounding that matters.
    """
    dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
    cap = -np.log(np.finfo(dtype).tiny) - 1.0
    return np.exp(-np.minimum(np.abs(x), cap))
