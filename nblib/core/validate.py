"""Argument checks shared by nblib's public functions.

Every public function validates what it is given and raises a ``TypeError`` or
``ValueError`` that names the argument and says what was expected, so that a
student sees "x must have shape (N, 2)" instead of a broadcasting traceback
from deep inside NumPy.

Two ways to use them:

- ``check_int(n, "n", minimum=1)`` and friends: one line in a function body;
- ``@arguments(lr=positive, rng=generator)``: a decorator that reads like a
  specification and keeps the checks out of the function body.  A spec is a callable
  ``spec(value, name, args)`` that raises or returns; ``args`` holds the arguments
  checked before it, so a bound may name another argument
  (``min_lr=real(minimum=0.0, maximum="lr")``).

The decorator only checks, as scikit-learn's ``validate_params``: the function gets
its arguments exactly as they were passed, so the code the book shows runs the same
with or without it.  Where a body needs a conversion (a seed into a Generator, a list
into an array), it makes it itself, in one line the reader sees.

Layers check their input with one line of their own, ``self.check_input(x)`` in
``forward`` and ``self.check_dout(dout)`` in ``backward`` (``Module``'s methods, built
on ``check_layer_input`` and ``check_layer_dout`` below).
"""
from __future__ import annotations

import functools
import inspect
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


FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def check_float_dtype(dtype, name="dtype"):
    """Return ``np.dtype(dtype)`` if it is float32 or float64.

    float16 is refused: Adam's eps (1e-8) and the squared gradients underflow to 0
    there, and NumPy has no fast float16 matrix products anyway.
    """
    try:
        dt = np.dtype(dtype)
    except TypeError as err:
        raise TypeError(f"{name} must be a floating-point dtype such as np.float64, "
                        f"got {dtype!r}") from err
    if dt not in FLOAT_DTYPES:
        raise TypeError(f"{name} must be np.float32 or np.float64, got {dt}")
    return dt


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
    if ndim is not None and x.ndim not in (ndim if isinstance(ndim, tuple) else (ndim,)):
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
    if not ((y == 0) | (y == 1)).all():            # (np.isin is 7x slower on a batch)
        raise ValueError(f"{name} must contain only 0 and 1")
    return y


def check_xy(X, y, x_name="X", y_name="y", features=None):
    """Inputs (N, D) and their labels (N,), with N >= 1."""
    X = check_array(X, x_name, shape=(None, features))
    if len(X) < 1:
        raise ValueError(f"{x_name} must contain at least one row")
    y = check_labels(y, y_name, len(X))
    return X, y


# --- specs for @arguments ---------------------------------------------------------------------
# A spec is ``spec(value, name, args)``: it raises TypeError/ValueError naming the argument.
# Whatever it returns is ignored: ``@arguments`` and ``check_options`` pass every value on
# exactly as given.

def _bound(bound, args):
    """A bound is a number, or the name of an argument checked before this one."""
    return args[bound] if isinstance(bound, str) else bound


def integer(*, minimum=None, maximum=None, below=None):
    """An int (not a bool) with optional bounds; ``below`` is strict."""
    def spec(value, name, args):
        value = check_int(value, name, minimum=_bound(minimum, args), maximum=_bound(maximum, args))
        if below is not None and value >= _bound(below, args):
            bound = f"{below} = {args[below]}" if isinstance(below, str) else below
            raise ValueError(f"{name} must be < {bound}, got {value}")
        return value
    return spec


def real(*, minimum=None, maximum=None, above=None, below=None):
    """A finite float; ``minimum``/``maximum`` are inclusive bounds, ``above``/``below`` strict."""
    def spec(value, name, args):
        low = minimum if above is None else above
        high = maximum if below is None else below
        return check_float(value, name, minimum=_bound(low, args), min_inclusive=above is None,
                           maximum=_bound(high, args), max_inclusive=below is None)
    return spec


positive_int = integer(minimum=1)
positive = real(above=0.0)            # a learning rate, eps, h
nonnegative = real(minimum=0.0)       # weight decay
unit_interval = real(minimum=0.0, maximum=1.0)        # momentum
probability_below_one = real(minimum=0.0, below=1.0)  # dropout's p, Adam's betas


def boolean(value, name, args=None):
    """True or False (not 1, not "yes")."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__}")
    return value


def generator(value, name, args=None):
    """A ``np.random.Generator``, an int seed or None; the body makes the Generator itself,
    ``rng = np.random.default_rng(rng)`` (which returns a Generator unchanged)."""
    check_rng(value, name)


def float_dtype(value, name, args=None):
    """np.float32 or np.float64 (or their names, which NumPy takes as they are)."""
    check_float_dtype(value, name)


def one_of(*choices):
    """One of ``choices`` (compared with ``in``)."""
    def spec(value, name, args):
        return check_choice(value, name, choices)
    return spec


def instance(cls, what):
    """An instance of ``cls``; the error says it must be ``what``."""
    def spec(value, name, args):
        return check_instance(value, name, cls, what)
    return spec


def pair(item):
    """A tuple or list of two values, each checked by ``item`` as ``name[0]``, ``name[1]``."""
    def spec(value, name, args):
        if not isinstance(value, (tuple, list)) or len(value) != 2:
            raise TypeError(f"{name} must be a pair of two numbers, got {value!r}")
        return tuple(item(v, f"{name}[{i}]", args) for i, v in enumerate(value))
    return spec


def each(item):
    """For ``*args``: every element checked by ``item`` as ``name[0]``, ``name[1]``, ..."""
    def spec(values, name, args):
        return tuple(item(v, f"{name}[{i}]", args) for i, v in enumerate(values))
    return spec


def function(value, name, args=None):
    """Anything callable."""
    if not callable(value):
        raise TypeError(f"{name} must be callable, got {type(value).__name__}")
    return value


def array(*, ndim=None, shape=None, finite=True, dtype_kind="fiu", lists=True, scalar=False):
    """An ndarray, see ``check_array``; a nested list is accepted unless ``lists=False``,
    a real number too when ``scalar=True`` (the body converts them: ``np.asarray(x)``)."""
    def spec(value, name, args):
        if scalar and isinstance(value, numbers.Real) and not isinstance(value, bool):
            value = np.asarray(value, dtype=float)
        if not lists and not isinstance(value, np.ndarray):
            raise TypeError(f"{name} must be a numpy array, got {type(value).__name__}")
        return check_array(value, name, ndim=ndim, shape=shape, finite=finite,
                           dtype_kind=dtype_kind)
    return spec


def check_options(values, specs, where=""):
    """Check a dict of named values with ``specs``, in the specs' order; unknown keys fail.

    Returns the values as given, in the specs' order (nothing is converted).
    ``where`` prefixes the names in messages, e.g. ``"params[1]"`` gives
    ``params[1]['weight_decay'] must be >= 0.0``.
    """
    unknown = set(values) - set(specs)
    if unknown:
        raise ValueError(f"{where or 'options'}: unknown option(s) {sorted(unknown)}; "
                         f"known: {list(specs)}")
    checked = {}
    for key, spec in specs.items():
        if key in values:
            label = f"{where}[{key!r}]" if where else key
            spec(values[key], label, checked)
            checked[key] = values[key]
    return checked


def arguments(**specs):
    """Decorator: check the named arguments before the function runs; change none of them.

    >>> @arguments(n=positive_int, rng=generator)          # doctest: +SKIP
    ... def make(n, rng=None):
    ...     rng = np.random.default_rng(rng)               # the body converts, visibly

    Arguments are checked in the order the specs are given (defaults included),
    so a later spec may refer to an earlier argument by name.  The function then
    gets the arguments exactly as passed: it runs the same without the decorator,
    which stays reachable as ``fn.__wrapped__``.
    """
    def decorate(fn):
        signature = inspect.signature(fn)
        unknown = set(specs) - set(signature.parameters)
        if unknown:
            raise TypeError(f"@arguments names {sorted(unknown)}, which {fn.__qualname__} "
                            "does not take")
        names = list(signature.parameters)
        plain = all(p.kind is p.POSITIONAL_OR_KEYWORD for p in signature.parameters.values())

        @functools.wraps(fn)
        def checked(*args, **kwargs):
            if plain and not kwargs and len(args) == len(names):   # the common call, fast
                values = dict(zip(names, args))
            else:
                bound = signature.bind(*args, **kwargs)
                bound.apply_defaults()
                values = bound.arguments
            for name, spec in specs.items():
                spec(values[name], name, values)
            return fn(*args, **kwargs)

        checked.argument_specs = specs
        return checked
    return decorate


# --- the shared checks of a layer's forward and backward ----------------------------------------

def check_layer_input(layer, x):
    """``layer.forward``'s check of x (``Module.check_input``): cheap when x is right.

    x must be a floating-point ndarray; a layer that names its width
    (``input_width = "in_features"``) gets x of shape (N, width); a layer with
    ``min_rows_in_training = 2`` (BatchNorm) gets at least 2 rows in training mode.
    """
    width = layer.input_width and getattr(layer, layer.input_width)
    if (type(x) is not np.ndarray or x.dtype.kind != "f"
            or width and (x.ndim != 2 or x.shape[1] != width)
            or layer.min_rows_in_training > 1 and layer.training
            and len(x) < layer.min_rows_in_training):
        _say_what_is_wrong(layer, x, width)       # the slow path: say what is wrong
    layer._input_shape = x.shape


def _say_what_is_wrong(layer, x, width):
    if not isinstance(x, np.ndarray) or (width and (x.ndim != 2 or x.shape[1] != width)):
        want = f"an array of shape (N, {width})" if width else "a numpy array"
        got = x.shape if isinstance(x, np.ndarray) else type(x).__name__
        raise (ValueError if width else TypeError)(f"x must be {want}, got {got}")
    if x.dtype.kind != "f":
        raise TypeError(f"x must be a floating-point array, got dtype {x.dtype}; "
                        "convert it with x.astype(np.float64)")
    if layer.training and len(x) < layer.min_rows_in_training:
        raise ValueError(f"{type(layer).__name__} needs at least {layer.min_rows_in_training} "
                         f"rows per batch in training mode, got {len(x)}")


def check_layer_dout(layer, dout):
    """``layer.backward``'s check (``Module.check_dout``): forward ran, and dout has the
    shape of its output: x's shape, with the last axis ``output_width`` wide if the layer
    names one (``output_width = "out_features"``)."""
    shape = layer._input_shape
    if shape is None:
        raise RuntimeError(f"{type(layer).__name__}.backward was called before forward: "
                           "call forward(x) first, it keeps what backward needs")
    if layer.output_width:
        shape = shape[:-1] + (getattr(layer, layer.output_width),)
    if type(dout) is not np.ndarray or dout.shape != shape:
        got = dout.shape if isinstance(dout, np.ndarray) else type(dout).__name__
        raise ValueError(f"dout must be an array of the shape of forward's output, {shape}, "
                         f"got {got}")
