"""Argument checks shared by nblib's public functions.

Every public function validates what it is given and raises a ``TypeError`` or
``ValueError`` that names the argument and says what was expected, so that a
student sees "X must have shape (N, 2)" instead of a broadcasting traceback
from deep inside NumPy.
"""
from __future__ import annotations

import numbers

import numpy as np


def check_int(value, name, *, minimum=None, maximum=None):
    """Return ``value`` as an int; reject bools, floats and out-of-range values."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def check_float(value, name, *, minimum=None, maximum=None, min_inclusive=True,
                max_inclusive=True):
    """Return ``value`` as a finite float within the given bounds."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if minimum is not None:
        if value < minimum or (value == minimum and not min_inclusive):
            op = ">=" if min_inclusive else ">"
            raise ValueError(f"{name} must be {op} {minimum}, got {value}")
    if maximum is not None:
        if value > maximum or (value == maximum and not max_inclusive):
            op = "<=" if max_inclusive else "<"
            raise ValueError(f"{name} must be {op} {maximum}, got {value}")
    return value


def check_choice(value, name, choices):
    """Return ``value`` if it is one of ``choices`` (None allowed if listed)."""
    if value not in choices:
        shown = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {shown}; got {value!r}")
    return value


def check_instance(value, name, cls, what):
    """Return ``value`` if it is a ``cls``; else a TypeError saying it must be ``what``."""
    if not isinstance(value, cls):
        raise TypeError(f"{name} must be {what}, got {type(value).__name__}")
    return value


def check_float_dtype(dtype, name="dtype"):
    """Return ``np.dtype(dtype)`` if it names a floating-point type."""
    try:
        dt = np.dtype(dtype)
    except TypeError as err:
        raise TypeError(f"{name} must be a floating-point dtype such as np.float64, "
                        f"got {dtype!r}") from err
    if dt.kind != "f":
        raise TypeError(f"{name} must be a floating-point dtype such as np.float64, got {dt}")
    return dt


def check_input(x, name="x"):
    """A layer's input: an ndarray (checked cheaply, since it runs on every step)."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(x).__name__}")
    return x


def check_rng(rng, name="rng"):
    """Return a ``np.random.Generator``: ``None`` or an int seed make a new one."""
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise TypeError(f"{name} must be a numpy.random.Generator, an int seed or None, "
                    f"got {type(rng).__name__}")


def check_array(x, name, *, ndim=None, shape=None, finite=True, dtype_kind="fiu"):
    """Return ``x`` as an ndarray after checking type, rank, shape and values.

    ``shape`` may contain ``None`` for "any size" in that axis.
    """
    if not isinstance(x, np.ndarray):
        if isinstance(x, (list, tuple)):
            try:
                x = np.asarray(x)
            except ValueError as err:  # ragged nesting
                raise ValueError(f"{name} must be a rectangular array: {err}") from None
        else:
            raise TypeError(f"{name} must be a numpy array, got {type(x).__name__}")
    if x.dtype.kind not in dtype_kind:
        kind = "a floating-point" if dtype_kind == "f" else "a numeric"
        raise TypeError(f"{name} must have {kind} dtype, got {x.dtype}")
    if ndim is not None and x.ndim not in np.atleast_1d(ndim):
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {x.shape}")
    if shape is not None:
        ok = x.ndim == len(shape) and all(s is None or s == d for s, d in zip(shape, x.shape))
        if not ok:
            want = "(" + ", ".join(("N" if i == 0 else "D") if s is None else str(s)
                                   for i, s in enumerate(shape)) + ")"
            raise ValueError(f"{name} must have shape {want}, got {x.shape}")
    if finite and x.dtype.kind == "f" and not np.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or inf")
    return x


def check_labels(y, name, n):
    """Binary labels of shape (n,) with values 0 and 1."""
    y = check_array(y, name, shape=(n,), dtype_kind="biuf")
    if not np.isin(y, (0, 1)).all():
        raise ValueError(f"{name} must contain only 0 and 1")
    return y


def check_xy(X, y, x_name="X", y_name="y", features=None):
    """Inputs (N, D) and their labels (N,), with N >= 1."""
    X = check_array(X, x_name, shape=(None, features))
    if len(X) < 1:
        raise ValueError(f"{x_name} must contain at least one row")
    y = check_labels(y, y_name, len(X))
    return X, y
