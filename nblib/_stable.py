"""Numerically safe pieces shared by the sigmoid and the loss."""
import numpy as np


def exp_neg_abs(x):
    """``exp(-|x|)`` in (0, 1], never overflowing and never underflowing.

    ``|x|`` is capped where ``exp`` would leave the normal range of the dtype
    (about 708 in float64, 87 in float32), so even ``np.errstate(all="raise")``
    stays quiet; the capped value is below any rounding that matters.
    """
    cap = _CAPS.get(x.dtype, _CAPS[np.dtype(np.float64)])
    return np.exp(-np.minimum(np.abs(x), cap))


_CAPS = {np.dtype(t): float(-np.log(np.finfo(t).tiny) - 1.0)
         for t in (np.float16, np.float32, np.float64, np.longdouble)}
