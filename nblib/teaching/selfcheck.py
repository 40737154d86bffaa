"""What every self-check shares: tolerances, verdicts, time limits, inputs, comparisons.

The "your turn" checks (``nblib.teaching.yourturn``) and the exercises' checks
(``nblib.teaching.checks``) are built from these pieces, and the autograder
(``nblib.teaching.grading``) runs them:

- the tolerances ``GRAD_TOL`` and ``VALUE_TOL`` and the time limit ``TIME_LIMIT``;
- ``CheckResult``, the verdict; ``Fail``, raised inside a check to stop it with a
  message; ``run``, which turns a check's body into a verdict (and never raises on the
  student's code); ``call``, which calls the student's code and says what was being
  done when it raised; ``time_limit``;
- ``stream(seed, k)``: the k-th random stream of a check (the visible inputs, or for
  a grader's ``seed`` other ones); ``inputs``: test inputs whose wrong axis shows;
- ``need_class`` / ``need_callable``: a wrong *kind* of argument raises TypeError;
- NaN-safe comparisons: ``within``, ``matches``, ``max_difference``,
  ``first_difference``. NaN and inf never pass: an optimizer that produces NaN
  weights does not match anything;
- one trajectory harness for optimizers, ``trajectory``: the student's class, nblib's
  and each usual mistake's (``nblib.teaching.mistakes``) run on the same gradients and rates.
"""
from __future__ import annotations

import math
import signal
import textwrap
import threading
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from ..core.gradcheck import rel_error
from ..core.module import Module, Param

GRAD_TOL = 1e-6
"""A correct backward passes the gradient check with a relative error below this."""
VALUE_TOL = 1e-7
"""Outputs must match the reference to this relative error (float64 rounding is ~1e-16)."""
TIME_LIMIT = 10.0
"""Seconds a check may take: a correct answer needs well under one."""


# ----------------------------------------------------------------------------- verdicts
@dataclass
class CheckResult:
    """The verdict of one self-check: ``.passed`` (also its truth value), ``.message``,
    ``.details`` (the measured errors)."""

    name: str
    passed: bool
    message: str
    details: dict = field(default_factory=dict)

    def __bool__(self):
        return self.passed

    def __str__(self):
        return f"{self.name}: {'PASS' if self.passed else 'FAIL'} - {self.message}"

    def __repr__(self):
        return f"CheckResult({self.name!r}, {'PASS' if self.passed else 'FAIL'})"


class Fail(Exception):
    """Raised inside a check to stop it with a FAIL message."""

    def __init__(self, message, **details):
        super().__init__(message)
        self.details = details


class CheckTimeout(BaseException):
    """Raised inside code that outlives its time limit.

    A BaseException, so that the ``except Exception`` of the code being checked
    does not swallow it.
    """


@contextmanager
def time_limit(seconds):
    """Raise ``CheckTimeout`` inside the block once it has run ``seconds`` seconds.

    Uses SIGALRM, so it works in the main thread of a POSIX process (a notebook
    kernel's cells run there); elsewhere the block runs without a limit.  Limits
    nest: an inner limit never extends an outer one.
    """
    if (seconds is None or not hasattr(signal, "setitimer")
            or threading.current_thread() is not threading.main_thread()):
        yield
        return
    outer_left, _ = signal.getitimer(signal.ITIMER_REAL)
    if outer_left and outer_left <= seconds:
        yield                                        # the outer limit comes first
        return

    def on_alarm(signum, frame):
        raise CheckTimeout(f"did not finish within {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    started = time.monotonic()
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer_left:                               # give the outer limit what is left of it
            left = outer_left - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(left, 1e-3))


_OWN_FILES = tuple(f"nblib/{name}.py" for name in (
    "teaching/selfcheck", "teaching/checks", "teaching/yourturn", "teaching/registry",
    "teaching/mistakes", "teaching/grading", "core/gradcheck", "core/validate"))


def where(err):
    """' (in forward, line 12)': the innermost frame of the student's code, if any."""
    frames = [f for f in traceback.extract_tb(err.__traceback__)
              if not f.filename.replace("\\", "/").endswith(_OWN_FILES)]
    return f" (in {frames[-1].name}, line {frames[-1].lineno})" if frames else ""


def call(what, fn, *args, **kwargs):
    """Call student code; turn any exception into a FAIL that says what was being done."""
    try:
        return fn(*args, **kwargs)
    except Fail:
        raise
    except NotImplementedError as err:
        raise Fail(f"not implemented yet: {what} raised NotImplementedError"
                   + (f" ({err})" if str(err) else "")) from None
    except (Exception, SystemExit) as err:  # noqa: BLE001 - any error of the student's code
        raise Fail(f"{what} raised {type(err).__name__}: {err}{where(err)}") from None


def run(name, body, verbose, limit=None):
    """Run a check's body within ``limit`` seconds (``TIME_LIMIT``); return its CheckResult.

    ``body()`` returns ``(message, details)`` or raises ``Fail``.
    """
    try:
        with time_limit(TIME_LIMIT if limit is None else limit):
            message, details = body()
        result = CheckResult(name, True, message, details)
    except Fail as fail:
        result = CheckResult(name, False, str(fail), fail.details)
    except CheckTimeout as err:
        result = CheckResult(name, False, f"{err}{where(err)}: is there a loop that never "
                                          "ends?", {"timeout": True})
    except NotImplementedError as err:       # student code the body called without call()
        result = CheckResult(name, False, "not implemented yet: NotImplementedError"
                                          + (f" ({err})" if str(err) else "") + where(err))
    except (Exception, SystemExit) as err:  # noqa: BLE001 - a check never crashes on student code
        result = CheckResult(name, False, f"{type(err).__name__}: {err}{where(err)}")
    if verbose:
        # wrapped, so that a long verdict fits the book's column and a narrow notebook
        print(textwrap.fill(str(result), 88, subsequent_indent="    ",
                            break_long_words=False, break_on_hyphens=False))
    return result


# ----------------------------------------------------------------------------- arguments
def need_class(obj, what, name="cls"):
    """TypeError unless ``obj`` is a class (the student passes the class, not an instance)."""
    if not isinstance(obj, type):
        hint = " (pass the class itself, not an instance)" if isinstance(obj, Module) else ""
        raise TypeError(f"{name} must be a class ({what}){hint}, got {type(obj).__name__}")


def need_callable(obj, what, name="fn"):
    """TypeError unless ``obj`` is a function (or another callable that is not a class)."""
    if not callable(obj) or isinstance(obj, type):
        raise TypeError(f"{name} must be a function ({what}), got {type(obj).__name__} "
                        f"{obj!r:.60}")


def as_array(value, what, shape):
    """``value`` as a finite float array of ``shape``, or a FAIL that says what is wrong."""
    try:
        arr = np.asarray(value, dtype=float)
    except Exception as err:  # noqa: BLE001 - whatever the student's object raises
        raise Fail(f"{what} must be an array of shape {shape}, got "
                   f"{type(value).__name__} ({type(err).__name__}: {err})") from None
    if arr.shape != shape:
        raise Fail(f"{what} must have shape {shape}, got {arr.shape}")
    if not np.isfinite(arr).all():
        raise Fail(f"{what} contains NaN or inf")
    return arr


def rubric_item(upto, items):
    """A check's ``upto`` option: None (the whole check) or one of ``items``, the names of the
    rubric items it can stop after (``nblib.teaching.registry.Part``); ValueError otherwise."""
    if upto is not None and upto not in items:
        raise ValueError(f"upto must be None or one of {list(items)}, got {upto!r}")
    return upto


def rates_until_wrong(what, rate_at, steps, want):
    """A schedule's learning rates, ``rate_at(step)`` for each of ``steps``, up to and
    including the first that differs from ``want[step]`` (relative 1e-9); returns (the rates
    as floats, True if every one matched). A rate that is not a number fails, naming
    ``what`` (the student's function or method)."""
    got = []
    for step in steps:
        value = rate_at(step)
        try:
            got.append(float(value))
        except (TypeError, ValueError):
            raise Fail(f"{what} must return a number, got {value!r:.60}") from None
        if not math.isclose(got[-1], want[step], rel_tol=1e-9, abs_tol=1e-12):
            return got, False
    return got, True


def kw(options):
    """'lr=0.1, momentum=0.9': a dict of options as they are written in a call."""
    return ", ".join(f"{k}={v}" for k, v in options.items())


def built_with(options, lrs):
    """How an optimizer check ran its optimizer: the options it was built with, and the
    rates ``trajectory`` set before its steps, as a schedule does (so a message's sizes
    can be worked out again)."""
    return (f"built with {kw(options)}, its rate then set to "
            f"{', '.join(f'{lr:g}' for lr in lrs)} before its {len(lrs)} steps")


# ----------------------------------------------------------------------------- inputs
def stream(seed, k):
    """The k-th random generator of a check: the visible check's (``seed=None``) or,
    for a grader's hidden test, another one for each ``seed``, so that outputs
    hard-coded to pass the visible self-check do not pass there."""
    return np.random.default_rng(k if seed is None else (seed, k))


def inputs(rng, n, d):
    """Inputs (n, d) with a non-zero mean and unequal scales, so that a wrong axis shows."""
    return rng.normal(0.5, 1.0, (n, d)) * rng.uniform(0.5, 3.0, d)


# ----------------------------------------------------------------------------- comparisons
def within(error, tol):
    """True if ``error`` is a finite number no larger than ``tol``: NaN and inf never pass."""
    if isinstance(error, (bool, str, bytes)):
        return False
    try:
        error = float(error)
    except (TypeError, ValueError):
        return False
    return math.isfinite(error) and error <= tol


def matches(got, expected, tol=VALUE_TOL):
    """Same shape, every entry finite, relative error below ``tol``."""
    try:
        got = np.asarray(got, dtype=float)
        if got.shape != np.shape(expected) or not np.isfinite(got).all():
            return False
        return within(rel_error(got, np.asarray(expected, dtype=float)), tol)
    except (AttributeError, TypeError, ValueError):
        return False


def which(got, mistakes, tol=VALUE_TOL):
    """The description of the first mistake whose output ``matches`` ``got``, or ''."""
    for description, expected in mistakes.items():
        if matches(got, expected, tol):
            return description
    return ""


def max_difference(a, b):
    """The largest absolute difference of two arrays: NaN if either holds a NaN (or both
    the same infinity), inf if a shape differs. Only ``within`` decides what passes."""
    try:
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    except (TypeError, ValueError):
        return math.inf
    if a.shape != b.shape:
        return math.inf
    if a.size == 0:
        return 0.0
    with np.errstate(over="ignore", invalid="ignore"):     # inf - inf, huge - -huge
        return float(np.max(np.abs(a - b)))


def largest_difference(got, expected):
    """The largest ``max_difference`` of two sequences of arrays, step by step: NaN as
    soon as one step's is NaN (Python's ``max`` would skip it), inf if the lengths differ."""
    if len(got) != len(expected):
        return math.inf
    diffs = [max_difference(a, b) for a, b in zip(got, expected)]
    if any(math.isnan(d) for d in diffs):
        return math.nan
    return max(diffs, default=0.0)


def first_difference(got, expected, tol):
    """(1-based index, size) of the first pair of two sequences of arrays that differ by
    more than ``tol`` (NaN or inf: always), or (None, largest difference) if none does.
    A sequence that is shorter than the other differs where it ends."""
    largest = 0.0
    for i, (a, b) in enumerate(zip(got, expected)):
        diff = max_difference(a, b)
        if not within(diff, tol):
            return i + 1, diff
        largest = max(largest, diff)
    if len(got) != len(expected):
        return min(len(got), len(expected)) + 1, math.inf
    return None, largest


# ----------------------------------------------------------------------------- dropout masks
def dropout_mask_problem(first, second):
    """What is wrong with two training-mode dropout outputs of the same x (N, D), or ''.

    Each call must draw a fresh mask of x's full shape: a mask reused from the last
    call, one mask per feature shared by every row (shape (D,)), or one per row shared
    by every feature (shape (N, 1)) is named.
    """
    drop1, drop2 = np.asarray(first) == 0, np.asarray(second) == 0
    if drop1.ndim != 2 or drop1.shape != drop2.shape:
        return ""
    if drop1.any() and (drop1 == drop1[:1]).all():
        return ("every row (example) has the same mask: one mask per feature shared across "
                "the rows; draw the mask with x's full shape, self.rng.random(x.shape)")
    if drop1.any() and (drop1 == drop1[:, :1]).all():
        return ("every feature of a row is dropped together: one mask per row; draw the mask "
                "with x's full shape, self.rng.random(x.shape)")
    if drop1.any() and np.array_equal(drop1, drop2):
        return ("two forward calls on the same x dropped the same units: the mask was reused; "
                "draw a new mask at every forward in training mode (a new batch, a new mask)")
    return ""


def inverted_dropout(layer, p, x, dout, upto=None):
    """Check a training-mode dropout ``layer`` (drop probability ``p``) on x (N, D) and
    dout (N, D), then its evaluation mode; raise Fail naming the mistake, else return the
    share of x that was dropped.

    Two forward calls must draw fresh masks of x's full shape, drop about ``p`` (PyTorch's
    p, not the probability to keep), scale the survivors by 1 / (1 - p); backward must use
    the last forward's mask; after ``layer.eval()`` forward is the identity.
    ``upto="training"``: the training mask and its scaling only.
    """
    first = as_array(call("forward(x)", layer.forward, x.copy()), "forward(x)", x.shape)
    out = as_array(call("forward(x) a second time", layer.forward, x.copy()),
                   "forward(x)", x.shape)
    problem = dropout_mask_problem(first, out)
    if problem:
        raise Fail(problem)
    dropped = float(np.mean(out == 0))
    if abs(dropped - (1 - p)) < 0.03:
        raise Fail(f"with p={p}, {dropped:.0%} of the activations were zeroed: your p is the "
                   "probability to keep; in PyTorch (and nblib) p is the probability to drop",
                   dropped=dropped)
    if abs(dropped - p) > 0.03:
        raise Fail(f"with p={p}, {dropped:.1%} of the activations were zeroed, expected "
                   f"about {p:.0%}", dropped=dropped)
    kept = out != 0
    scale = out[kept] / x[kept]
    if not np.allclose(scale, 1 / (1 - p)):
        why = (": survivors must be scaled by 1 / (1 - p) in training, so that the expected "
               "activation is the same as in evaluation (inverted dropout)"
               if np.allclose(scale, 1.0) else "")
        raise Fail(f"kept activations were multiplied by {np.median(scale):.4g}, expected "
                   f"1 / (1 - p) = {1 / (1 - p):.4g}{why}")
    if rubric_item(upto, ("training",)):
        return dropped
    dx = as_array(call("backward(dout)", layer.backward, dout.copy()), "backward(dout)",
                  x.shape)
    err = max_difference(dx, dout * (out / x))
    if not within(err, VALUE_TOL):
        raise Fail(f"backward(dout) is not dout times the mask of the last forward (and its scale) "
                   f"(largest difference {err:.1e}); keep the mask from forward and reuse it",
                   backward=err)
    call("eval()", layer.eval)
    out_eval = as_array(call("forward(x) in evaluation mode", layer.forward, x.copy()),
                        "forward(x) in evaluation mode", x.shape)
    if not np.allclose(out_eval, x):
        hint = (": you scaled in evaluation mode; with inverted dropout the scaling happens "
                "in training and evaluation is the identity"
                if np.allclose(out_eval, x * (1 - p)) or np.allclose(out_eval, x / (1 - p))
                else ": check self.training")
        raise Fail("in evaluation mode (after eval()) forward must return x unchanged" + hint)
    call("train()", layer.train)
    return dropped


# ----------------------------------------------------------------------------- trajectories
def _flat(values):
    return np.concatenate([np.asarray(v, dtype=float).ravel() for v in values])


def trajectory(opt_cls, options, w0, grads, lrs, *, student=True, groups=None):
    """Weights after each step of an optimizer class fed fixed gradients and rates.

    Inputs
    - opt_cls: called as ``opt_cls(params, **options)``; ``options`` without ``lr``
      get ``lr=lrs[0]``
    - w0: the initial weights, an array, or a tuple of arrays (one Param each)
    - grads: per step, an array (or a tuple of arrays, one per Param)
    - lrs: per step, the rate set as ``optimizer.lr`` before the step (a schedule's way)
    - student: call the code through ``call``, so that an error is a FAIL that says
      which step raised
    - groups: None (one list of Params), or a list of (number of Params, options of
      the group): the Params are handed in as parameter groups, in order
    Returns a list with, per step, all the weights flattened into one array.
    """
    several = isinstance(w0, tuple)
    params = [Param(np.array(w, dtype=float)) for w in (w0 if several else (w0,))]
    options = {"lr": lrs[0], **options}
    invoke = call if student else (lambda what, fn, *a, **k: fn(*a, **k))
    handed = params
    if groups is not None:
        handed, start = [], 0
        for count, extra in groups:
            handed.append({"params": params[start:start + count], **extra})
            start += count
    opt = invoke(f"{opt_cls.__name__}(params, {kw(options)})", opt_cls, handed, **options)
    out = []
    for k, (g, lr) in enumerate(zip(grads, lrs), start=1):
        invoke(f"setting optimizer.lr before step {k}", setattr, opt, "lr", lr)
        for p, gp in zip(params, g if several else (g,)):
            p.grad = np.array(gp, dtype=float)
        invoke(f"step() number {k}", opt.step)
        out.append(_flat([p.value for p in params]))
    return out


def optimizer_case(rng, shape=(3, 4), steps=6):
    """Initial weights and per-step gradients for an optimizer's check.

    The gradients differ in size from weight to weight by three orders of magnitude,
    so that per-weight scaling (Adam, RMSprop) and its mistakes show.
    """
    w0 = rng.normal(0, 1, shape)
    sizes = np.logspace(-3, 0, int(np.prod(shape))).reshape(shape)
    grads = [rng.normal(0, 1, shape) * sizes for _ in range(steps)]
    return w0, grads


SCHEDULE_LRS = (0.1, 0.1, 0.05, 0.05, 0.02, 0.2)
"""Rates of six steps, as a schedule would set them: a buffer that holds lr shows."""
