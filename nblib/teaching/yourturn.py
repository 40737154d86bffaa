"""Self-checks for the "Your turn" tasks of the stage notebooks.

Each task of the chapter asks you to write one piece of the network yourself:
the data generator, ``Linear``, ``ReLU``, the loss, ``BatchNorm``, ``Dropout``,
``SGD``, ``Adam``, a learning-rate schedule and the training loop.  Run the
task's check on what you wrote::

    yourturn.check_linear(Linear)

It compares what your piece gives on small fixed inputs with what nblib's own
gives there and prints ``PASS``, or ``FAIL`` and the mistake: which gradient,
which term, which step first differs and by how much.  Where your output matches
a mistake that students often make, it says which one, in the words of the
catalogue (``nblib.teaching.mistakes``).  nblib's values and the mistakes' are
stored expectations (``nblib.teaching.expectations``), recorded when the book is
built: the check needs no answer on your machine.  It never raises on your code (a stub
that still raises ``NotImplementedError`` is "not implemented yet"); it returns a
``CheckResult`` (truthy when passed).

``TASKS`` lists the tasks (a view of ``nblib.teaching.registry.YOUR_TURN``: the notebook
each lives in, the name the piece has there, its check and nblib's version of it);
the machinery every check shares is ``nblib.teaching.selfcheck``; ``collect_pieces`` gathers a
student's pieces from the notebooks for "your own network" at the end of
03_training, falling back to nblib's piece wherever a check fails (in the student build
of nblib, which has no pieces, to a stand-in that raises NotImplementedError naming the
task and its page: ``missing_piece``).
"""
from __future__ import annotations

import inspect
import json
import math
import re
import sys
import textwrap
import types
import warnings
from pathlib import Path

import numpy as np

from ..core import data as _data
from ..core.activations import ReLU
from ..core.dropout import Dropout
from ..core.gradcheck import check_layer, rel_error
from ..core.linear import Linear
from ..core.loss import bce_with_logits, sigmoid
from ..core.module import Module, Param, Sequential
from ..core.norm import BatchNorm
from ..core.optim import SGD, Adam, Optimizer
from ..core.schedules import WarmupCosine
from .selfcheck import (GRAD_TOL, SCHEDULE_LRS, VALUE_TOL, CheckResult,  # noqa: F401
                        CheckTimeout, Fail, as_array, built_with, call, first_difference,
                        inputs, kw,
                        matches, need_callable, need_class, optimizer_case, run, stream,
                        inverted_dropout, max_difference, rates_until_wrong, rubric_item,
                        time_limit, trajectory, where, which, within)
from ..core.training import train_epoch
from ..experiments import sweep as _sweep
from . import STUDENT_BUILD
from .expectations import Probe

CELL_TIMEOUT = 60.0
"""Seconds one your-turn cell of another notebook may run (``pieces_from_notebook``)."""

# short names inside this module
_Fail, _call, _run, _as_array, _rng, _x, _kw = Fail, call, run, as_array, stream, inputs, kw
_matches, _which, _first_difference = matches, which, first_difference
_within, _max_difference = within, max_difference
_need_class, _need_callable = need_class, need_callable


# ----------------------------------------------------------------------------- helpers
def _module_instance(layer, name):
    if not isinstance(layer, Module):
        raise _Fail(f"{name} must subclass nblib's Module (class {name}(Module): ...), so that "
                    "it has train() and eval() and fits in a Sequential")
    return layer


def _param(layer, attr, shape, cls_name):
    p = getattr(layer, attr, None)
    if not isinstance(p, Param):
        raise _Fail(f"{cls_name} must keep its {attr} as a Param in self.{attr}, "
                    f"got {type(p).__name__}")
    if p.value.shape != shape:
        raise _Fail(f"self.{attr} must have shape {shape}, got {p.value.shape}")
    return p


def _takes_any_rng(make, what):
    """``make(rng)`` must take what nblib's pieces take for ``rng``: an int seed and None as
    well as a Generator (the book's cells pass seeds, e.g. ``nblib.Linear(5, 3, rng=10)``)."""
    for how, rng in (("an int seed, rng=0", 0), ("rng=None", None)):
        try:
            make(rng)
        except (NotImplementedError, Fail):
            raise
        except Exception as err:  # noqa: BLE001 - any error of the student's code
            raise _Fail(f"{what} with {how} raised {type(err).__name__}: {err}{where(err)}: rng "
                        "may be a Generator, an int seed or None, as in nblib (the book's cells "
                        "pass seeds): start __init__ with rng = np.random.default_rng(rng)"
                        ) from None


def _keeps_sizes(layer, cls_name, **sizes):
    """The layer keeps its constructor's sizes as attributes (``self.in_features``): the
    starter's ``__repr__``, ``check_input`` and ``check_dout`` read them."""
    for attr, size in sizes.items():
        value = getattr(layer, attr, None)
        if not (isinstance(value, (int, np.integer)) and value == size):
            got = (f"self.{attr} is missing" if value is None
                   else f"self.{attr} is {value!r:.40}, expected {size}")
            args = ", ".join(map(str, sizes.values()))
            raise _Fail(f"{cls_name}({args}) must keep {' and '.join(sizes)}: set "
                        f"{', '.join('self.' + a for a in sizes)} = {', '.join(sizes)} in "
                        f"__init__; the given __repr__ and check_input use them ({got})")
    _call(f"repr({cls_name}(...))", repr, layer)


def _gradient_errors(layer, x, seed):
    return _call("the gradient check (forward, then backward)", check_layer, layer, x,
                 rng=np.random.default_rng(seed))


def _grad_verdict(errors, names):
    """Raise a FAIL naming every gradient whose relative error is too large."""
    bad = {k: v for k, v in errors.items() if not within(v, GRAD_TOL)}
    if bad:
        listed = ", ".join(f"{names.get(k, k)} (relative error {v:.1e})" for k, v in bad.items())
        raise _Fail(f"the gradient check fails for {listed}; a correct backward gives "
                    f"< {GRAD_TOL:.0e}", **errors)


def _fmt(errors):
    return ", ".join(f"{k} {v:.0e}" for k, v in errors.items())


# ----------------------------------------------------------------------------- 01 data
def check_make_spirals(fn, *, verbose=True, seed=None, upto=None):
    """Check ``make_spirals(n, noise, seed) -> (X, y)``: X (2n, 2) float, y (2n,) in {0, 1}.

    Noise-free points must lie on arm 0, ``r = t / 4π`` for ``t`` in [0, 4π], and on arm 1,
    arm 0 rotated by π, with labels 0 and 1; the noise must have standard deviation
    ``noise`` in each coordinate; the points must be shuffled; the same seed must give
    the same data, whatever the global NumPy random state. ``upto="arms"`` checks the
    arms and labels only (the rubric's first item).
    """
    _need_callable(fn, "your make_spirals")
    rubric_item(upto, ("arms",))
    probe = Probe("make_spirals", seed)

    def sample(n, noise, data_seed):
        out = _call(f"make_spirals({n}, {noise}, {data_seed})", fn, n, noise, data_seed)
        if not isinstance(out, tuple) or len(out) != 2:
            raise _Fail(f"make_spirals must return the pair (X, y), got {type(out).__name__}")
        X = _as_array(out[0], "X", (2 * n, 2))
        y = np.asarray(out[1])
        if not np.issubdtype(y.dtype, np.integer):
            raise _Fail(f"y must hold integer labels (np.int64, as np.repeat([0, 1], n) gives), "
                        f"got {y.dtype}: the book counts them with np.bincount and indexes "
                        "with them")
        if y.shape != (2 * n,):
            raise _Fail(f"y must have shape ({2 * n},), got {y.shape}")
        if not np.isin(y, (0, 1)).all() or np.bincount(y.astype(int), minlength=2).tolist() \
                != [n, n]:
            raise _Fail(f"y must hold n = {n} labels 0 and n labels 1, got counts "
                        f"{np.unique(y, return_counts=True)[1].tolist()}")
        return X, y.astype(int)

    def body():
        n = 60
        C0, C1 = probe.want("centres 60", lambda: list(_data.spiral_centres(n)))
        S0, S1 = probe.want("source centres 60", lambda: list(_data.source_spiral_centres(n)))
        base = 0 if seed is None else 1000 + seed % 10**6   # the data seeds the check uses
        X, y = sample(n, 0.0, base)
        def on(points, centres):
            d = np.linalg.norm(points[:, None, :] - centres[None, :, :], axis=2)
            return d.min(axis=1) < 1e-9

        arm0, arm1 = X[y == 0], X[y == 1]
        if on(arm0, C1).all() and on(arm1, C0).all():
            raise _Fail("the labels are swapped: label 0 belongs to arm 0, r (cos t, sin t)")
        if not on(arm0, C0).all():
            radius = np.hypot(arm0[:, 0], arm0[:, 1])
            if not (np.isclose(radius.max(), 1.0) and np.isclose(radius.min(), 0.0)):
                raise _Fail(f"without noise the radii of arm 0 run from {radius.min():.3g} to "
                            f"{radius.max():.3g}; r = t / (4π) for t from 0 to 4π runs from 0 "
                            "to 1")
            raise _Fail(f"{np.mean(~on(arm0, C0)):.0%} of the noise-free label-0 points are not "
                        "on arm 0, r (cos t, sin t) with r = t / (4π) at n evenly spaced t in "
                        "[0, 4π] (np.linspace(0, 4 * np.pi, n))")
        if not on(arm1, C1).all():
            if on(arm1, S1).all():
                raise _Fail("arm 1 lies on arm 0's own curve: you added π to the angle before "
                            "computing the radius (the source chapter's bug). Arm 1 is arm 0 "
                            "rotated by π, that is -arm 0")
            raise _Fail(f"{np.mean(~on(arm1, C1)):.0%} of the noise-free label-1 points are not "
                        "on arm 1 = arm 0 rotated by π (-arm 0)")
        helper = getattr(_unwrapped(fn), "__globals__", {}).get("spiral_centres")
        if callable(helper) and helper is not _data.spiral_centres:
            # the notebook's own spiral_centres, which install_pieces puts in nblib's place too
            arms = _call(f"spiral_centres({n})", helper, n)
            if not (isinstance(arms, tuple) and len(arms) == 2
                    and all(np.shape(a) == (n, 2) for a in arms)
                    and np.allclose(arms[0], C0) and np.allclose(arms[1], C1)):
                raise _Fail(f"your spiral_centres({n}) must return (arm 0, arm 1), each of shape "
                            f"({n}, 2): the arms of your make_spirals are right, but the rest "
                            "of the book draws its arms with your spiral_centres too")
        if upto == "arms":
            return "without noise, the arms and the labels are right", {}
        if np.all(np.diff(y) >= 0):
            raise _Fail("the points are not shuffled (all label 0, then all label 1): permute "
                        "X and y together with rng.permutation")

        noise = 0.01         # few points per arm, far apart: each noisy point's centre is clear
        C0s, C1s = probe.want("centres 8", lambda: list(_data.spiral_centres(8)))
        residuals = []
        for s in range(base + 100, base + 150):
            Xn, yn = sample(8, noise, s)
            for k, C in enumerate((C0s, C1s)):
                P = Xn[yn == k]
                d = np.linalg.norm(P[:, None, :] - C[None, :, :], axis=2)
                residuals.append(P - C[d.argmin(axis=1)])
        residuals = np.concatenate(residuals)
        std = float(residuals.std())
        if np.allclose(residuals[:, 0], residuals[:, 1], rtol=0, atol=1e-12):
            raise _Fail("the same noise draw was added to x and y (every point moved along the "
                        "diagonal): draw independent noise for each coordinate, "
                        "rng.normal(0, noise, (n, 2))")
        corr = float(np.corrcoef(residuals[:, 0], residuals[:, 1])[0, 1])
        if not _within(abs(corr), 0.5):
            raise _Fail(f"the noise of x and y is correlated (r = {corr:.2f}): draw independent "
                        "noise for each coordinate, rng.normal(0, noise, (n, 2))")
        if np.isclose(std, noise ** 2, rtol=0.15):
            raise _Fail(f"the noise has standard deviation {std:.2g} for noise={noise}: noise is "
                        "the standard deviation, not the variance (rng.normal(0, noise, ...))")
        if not np.isclose(std, noise, rtol=0.1):
            raise _Fail(f"the noise has standard deviation {std:.3g} per coordinate, expected "
                        f"noise = {noise}")

        saved = np.random.get_state()        # the global state is the student's: restore it
        try:
            np.random.seed(0)
            first = sample(n, 0.03, base + 7)
            np.random.seed(1)
            again = sample(n, 0.03, base + 7)
        finally:
            np.random.set_state(saved)
        if not all(np.array_equal(a, b) for a, b in zip(first, again)):
            raise _Fail("the same seed gave different data: draw everything from "
                        "rng = np.random.default_rng(seed), not from np.random's global state")
        other = sample(n, 0.03, base + 8)
        if np.array_equal(first[0], other[0]):
            raise _Fail("two different seeds gave the same data: the seed must seed the generator")
        return (f"arms, labels, noise (std {std:.3f} for {noise}), shuffling and seeding are "
                "right", {"noise_std": std})

    return _run("make_spirals", body, verbose)


# ----------------------------------------------------------------------------- 02 Linear
def check_linear(cls, *, verbose=True, seed=None, upto=None):
    """Check ``Linear(in_features, out_features, *, bias=True, rng=None)``.

    ``forward`` is ``x W^T + b``; ``backward`` sets ``weight.grad``, ``bias.grad`` and
    returns ``dx``, checked with finite differences; ``weight`` (out, in) drawn from
    N(0, 2 / in) (He) with the generator ``rng``, ``bias`` (out,) zeros; ``self.in_features``
    and ``self.out_features`` kept (the starter's ``__repr__`` and ``check_input`` read them;
    checked with the forward). ``upto="forward"`` or ``"backward"`` stops after that rubric
    item.
    """
    _need_class(cls, "your Linear")
    rubric_item(upto, ("forward", "backward"))
    probe = Probe("linear", seed)

    def body():
        name = cls.__name__
        rng = _rng(seed, 1)
        layer = _module_instance(_call(f"{name}(5, 3, rng=...)", cls, 5, 3,
                                       rng=_rng(seed, 2)), name)
        W = _param(layer, "weight", (3, 5), name)
        bias = _param(layer, "bias", (3,), name)
        _keeps_sizes(layer, name, in_features=5, out_features=3)
        _takes_any_rng(lambda r: cls(5, 3, rng=r), f"{name}(5, 3)")
        W.value[...] = rng.normal(size=(3, 5))
        bias.value[...] = rng.normal(size=3)
        x = _x(rng, 6, 5)
        dout = rng.normal(size=(6, 3))
        W0, b0 = W.value.copy(), bias.value.copy()

        def run_layer(linear_cls, what):
            """What ``linear_cls`` gives with the same weights, x and dout."""
            other = linear_cls(5, 3, rng=_rng(seed, 2))
            other.weight.value[...], other.bias.value[...] = W0, b0
            out = other.forward(x.copy())
            if what == "forward":
                return np.asarray(out, dtype=float)
            dx = other.backward(dout.copy())
            return np.asarray(dx if what == "dx" else
                              getattr(other, what.partition(".")[0]).grad, dtype=float)

        out = _as_array(_call("forward(x)", layer.forward, x.copy()), "forward(x) for x (6, 5)",
                        (6, 3))
        expected = probe.want("forward", lambda: run_layer(Linear, "forward"))
        if not _matches(out, expected) or probe.recording:
            hint = probe.mistake("forward", out, lambda wrong: run_layer(wrong, "forward"),
                                 VALUE_TOL * (1 + np.abs(expected).max()))
            if not _matches(out, expected):
                raise _Fail(f"forward(x) differs from x @ W.T + b (relative error "
                            f"{rel_error(out, expected):.1e})" + (f": {hint}" if hint else ""))
        if upto == "forward":
            return "forward is x @ W.T + b", {}
        dx = _as_array(_call("backward(dout)", layer.backward, dout.copy()),
                       "backward(dout) for dout (6, 3)", (6, 5))
        for what, got in (("weight.grad", W.grad), ("bias.grad", bias.grad),
                          ("dx", dx)):
            want = probe.want(what, lambda: run_layer(Linear, what))
            got = np.asarray(got, dtype=float)
            label = "the input gradient dx" if what == "dx" else what
            if got.shape != want.shape:
                raise _Fail(f"{label} has shape {got.shape}, expected {want.shape} (each gradient "
                            "has the shape of what it is the gradient of)")
            if not _matches(got, want) or probe.recording:
                hint = probe.mistake(what, got, lambda wrong: run_layer(wrong, what),
                                     VALUE_TOL * (1 + np.abs(want).max()))
                if not _matches(got, want):
                    raise _Fail(f"{label} is wrong (relative error {rel_error(got, want):.1e})"
                                + (f": it is {hint}" if hint else ""))
        errors = _gradient_errors(layer, x, 3)
        _grad_verdict(errors, {"input": "dx"})
        no_bias = _call(f"{name}(5, 3, bias=False)", cls, 5, 3, bias=False,
                        rng=_rng(seed, 4))
        if getattr(no_bias, "bias", 0) is not None:
            raise _Fail("with bias=False the layer must set self.bias = None")
        _call("forward(x) with bias=False", no_bias.forward, x.copy())
        _call("backward(dout) with bias=False", no_bias.backward, dout.copy())
        if upto == "backward":
            return f"forward and backward are right; gradient check: {_fmt(errors)}", errors

        # the initialisation last: a wrong one costs its own rubric item only
        big = _module_instance(_call(f"{name}(400, 300, rng=...)", cls, 400, 300,
                                     rng=_rng(seed, 0)), name)
        w = _param(big, "weight", (300, 400), name).value
        if big.bias is not None:
            b = _param(big, "bias", (300,), name).value
            if np.any(b != 0):
                raise _Fail("the bias must start at zero")
        std, he = float(w.std()), math.sqrt(2 / 400)
        hints = {math.sqrt(2 / 300): "std sqrt(2 / out_features): He uses the fan-in, the number "
                                     "of inputs",
                 2 / 400: "the variance 2 / in_features as the standard deviation: "
                          "std = sqrt(2 / in_features)",
                 1.0: "a standard normal: scale it by sqrt(2 / in_features)"}
        wrong_std = not abs(std / he - 1) < 0.03
        if wrong_std or probe.recording:
            hint = probe.mistake("init std", std, lambda wrong: float(
                wrong(400, 300, rng=_rng(seed, 0)).weight.value.std()), 0.03 * std)
            hint = hint or next((h for s, h in hints.items() if abs(std / s - 1) < 0.03), "")
            if wrong_std:
                raise _Fail(f"the initial weights have std {std:.4g}, He initialisation gives "
                            f"sqrt(2 / in_features) = {he:.4g}"
                            + (f": you used {hint}" if hint else ""))
        a = _call(f"{name}(4, 3, rng=seed 5)", cls, 4, 3, rng=_rng(seed, 5))
        b = _call(f"{name}(4, 3, rng=seed 5)", cls, 4, 3, rng=_rng(seed, 5))
        if not np.array_equal(a.weight.value, b.weight.value):
            raise _Fail("two layers built with generators of the same seed have different "
                        "weights: draw them from rng (rng.normal), not np.random")
        return (f"He initialisation (std {std:.4f}), forward and backward are right; gradient "
                f"check: {_fmt(errors)}", dict(init_std=std, **errors))

    return _run("linear", body, verbose)


# ----------------------------------------------------------------------------- 02 ReLU
def check_relu(cls, *, verbose=True, seed=None):
    """Check ``ReLU``: forward ``max(x, 0)``, backward ``dout * (x > 0)``."""
    _need_class(cls, "your ReLU")
    probe = Probe("relu", seed)

    def body():
        name = cls.__name__
        layer = _module_instance(_call(f"{name}()", cls), name)
        rng = _rng(seed, 11)
        x = rng.normal(size=(7, 5))
        x[0, :2] = 0.0                       # exactly zero: the gradient there is 0
        x_before = x.copy()
        dout = rng.normal(size=x.shape)

        def backward_of(relu_cls):
            other = relu_cls()
            other.forward(x_before.copy())
            return np.asarray(other.backward(dout.copy()), dtype=float)

        out = _as_array(_call("forward(x)", layer.forward, x), "forward(x)", x.shape)
        if not np.array_equal(x, x_before):
            raise _Fail("forward(x) changed its input x in place: return a new array "
                        "(np.maximum(x, 0)), the layer below may still need x")
        want = probe.want("forward", lambda: ReLU().forward(x.copy()))
        if not np.array_equal(out, want):
            raise _Fail("forward(x) is not max(x, 0)")
        dx = _as_array(_call("backward(dout)", layer.backward, dout.copy()), "backward(dout)",
                       x.shape)
        want = probe.want("backward", lambda: backward_of(ReLU))
        wrong = not np.allclose(dx, want)
        if wrong or probe.recording:
            says = probe.mistake("backward", dx, backward_of, 1e-12)
            if wrong:
                raise _Fail("backward(dout) is not dout * (x > 0)"
                            + (f": it is {says}" if says else ""))
        return "forward is max(x, 0) and backward passes dout where x > 0", {}

    return _run("relu", body, verbose)


# ----------------------------------------------------------------------------- 02 loss
def check_bce_with_logits(fn, *, verbose=True, seed=None, upto=None):
    """Check ``bce_with_logits(logits, y) -> (loss, dlogits)`` for logits (N, 1), y (N,).

    The mean binary cross-entropy of sigmoid(logits), finite for any logit, and its
    gradient ``(sigmoid(z) - y) / N`` with the shape of ``logits``. ``upto="loss"`` checks
    the loss only (the rubric's first item).
    """
    _need_callable(fn, "your bce_with_logits")
    rubric_item(upto, ("loss",))
    probe = Probe("bce_with_logits", seed)

    def body():
        rng = _rng(seed, 12)
        z = rng.normal(0, 3, (8, 1))
        y = rng.integers(0, 2, 8)
        y[:2] = (0, 1)
        out = _call("bce_with_logits(logits, y)", fn, z.copy(), y.copy())
        if not isinstance(out, tuple) or len(out) != 2:
            raise _Fail(f"bce_with_logits must return the pair (loss, dlogits), got "
                        f"{type(out).__name__}")
        loss, dz = out
        want_loss = probe.want("loss", lambda: float(bce_with_logits(z.copy(), y.copy())[0]))
        want_dz = probe.want("dlogits", lambda: bce_with_logits(z.copy(), y.copy())[1])
        try:
            loss = float(loss)
        except (TypeError, ValueError):
            raise _Fail(f"the loss must be a number (the mean over the batch), got "
                        f"{type(loss).__name__} {np.shape(loss)}") from None
        wrong_loss = not math.isclose(loss, want_loss, rel_tol=1e-9)
        if wrong_loss or probe.recording:
            says = probe.mistake("loss", loss, lambda wrong: float(
                _call("", wrong, z.copy(), y.copy())[0]), 1e-9 * (1 + abs(want_loss)))
            if wrong_loss:
                raise _Fail(f"loss {loss:.6g}, expected {want_loss:.6g}"
                            + (f": {says}" if says else ""))
        big = np.array([[-1000.0], [1000.0], [1000.0], [-1000.0]])
        yb = np.array([0, 1, 0, 1])
        with np.errstate(all="ignore"):
            out = _call("bce_with_logits at logits of ±1000", fn, big.copy(), yb.copy())
        big_loss, big_dz = float(out[0]), np.asarray(out[1], dtype=float)
        want_big = probe.want("big loss", lambda: float(bce_with_logits(big, yb)[0]))
        want_big_dz = probe.want("big dlogits", lambda: bce_with_logits(big, yb)[1])
        if not math.isfinite(big_loss) or (upto is None and not np.isfinite(big_dz).all()):
            raise _Fail("at logits of ±1000 the loss or gradient is not finite (inf or nan): "
                        "the literal formula overflows; use max(z, 0) - z*y + log(1 + exp(-|z|))")
        if not math.isclose(big_loss, want_big, rel_tol=1e-9):
            raise _Fail(f"at logits of ±1000 the loss is {big_loss:.6g}, expected {want_big:.6g}")
        if upto == "loss":
            return "the loss matches, and stays finite at logits of ±1000", {}
        dz = np.asarray(dz, dtype=float)
        if dz.shape != z.shape:
            raise _Fail(f"dlogits must have the shape of logits, {z.shape}, got {dz.shape}")
        wrong_dz = not _matches(dz, want_dz)
        if wrong_dz or probe.recording:
            says = probe.mistake("dlogits", dz, lambda wrong: np.asarray(
                _call("", wrong, z.copy(), y.copy())[1], dtype=float),
                VALUE_TOL * (1 + np.abs(want_dz).max()))
            if wrong_dz:
                raise _Fail(f"dlogits is wrong (relative error {rel_error(dz, want_dz):.1e}); "
                            "it must be (sigmoid(z) - y) / N" + (f": yours is {says}" if says
                                                                 else ""))
        if not np.allclose(big_dz, want_big_dz):
            raise _Fail("at logits of ±1000 the gradient is wrong")
        return "loss and gradient match, and stay finite at logits of ±1000", {}

    return _run("bce_with_logits", body, verbose)


# ----------------------------------------------------------------------------- 02 BatchNorm
def _batchnorm_case(seed, d):
    """The fixed values of BatchNorm's check, drawn in one order."""
    rng = _rng(seed, 13)
    case = {"gamma": rng.normal(1.0, 0.5, d), "beta": rng.normal(1.0, 0.5, d)}
    case["x"] = _x(rng, 10, d)
    case["dout"] = rng.normal(size=case["x"].shape)
    case["gamma_eval"], case["beta_eval"] = rng.normal(1.0, 0.5, d), rng.normal(1.0, 0.5, d)
    case["batches"] = [_x(rng, 10, d) for _ in range(3)]
    case["x_eval"] = _x(rng, 3, d)
    case["dout_eval"] = rng.normal(size=case["x_eval"].shape)
    return case


def _batchnorm_run(bn_cls, case, d):
    """Everything BatchNorm's check compares, for the class ``bn_cls`` (a reference or a
    mistake: the student's runs step by step in the check, through ``call``)."""
    seen = {}
    try:
        _batchnorm_steps(bn_cls, case, d, seen)
    except Exception:  # noqa: BLE001 - a wrong piece may fail at a later step: keep what it gave
        pass
    return {k: np.asarray(v, dtype=float) for k, v in seen.items()}


def _batchnorm_steps(bn_cls, case, d, seen):
    layer = bn_cls(d)
    layer.weight.value[...], layer.bias.value[...] = case["gamma"], case["beta"]
    seen["forward"] = layer.forward(case["x"].copy())
    seen["running_mean"] = np.array(layer.running_mean, dtype=float)
    seen["running_var"] = np.array(layer.running_var, dtype=float)
    seen["dx"] = layer.backward(case["dout"].copy())
    seen["bias.grad"], seen["weight.grad"] = layer.bias.grad.copy(), layer.weight.grad.copy()
    layer = bn_cls(d)
    layer.weight.value[...] = case["gamma_eval"]
    layer.bias.value[...] = case["beta_eval"]
    for xb in case["batches"]:
        layer.forward(xb.copy())
    layer.eval()
    seen["eval forward"] = layer.forward(case["x_eval"].copy())
    seen["eval running_mean"] = np.array(layer.running_mean, dtype=float)
    seen["eval dx"] = layer.backward(case["dout_eval"].copy())


def _refuses_one_row(cls, d, row):
    """A training-mode forward must refuse a batch of one row with ValueError, as nblib's
    does (``check_input``, ``min_rows_in_training = 2``): its variance is 0, and the
    unbiased variance of the running statistics divides by n - 1 = 0."""
    name = cls.__name__
    layer = _call(f"{name}({d})", cls, d)
    what = f"forward(x) in training mode for x of one row, shape {row.shape},"

    def attempt():
        """None where the forward refuses the row; else what it did instead."""
        try:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                layer.forward(row.copy())
        except ValueError:
            return None
        except NotImplementedError:
            raise                            # _call: "not implemented yet: ..."
        except (Exception, SystemExit) as err:  # noqa: BLE001 - the student's code
            return f"raised {type(err).__name__}: {err}{where(err)}"
        return "returned"

    did = _call(what, attempt)
    if did is None:
        return
    raise _Fail(f"in training mode a batch of one row must be refused with ValueError (its "
                f"variance is 0, and running_var's n / (n - 1) divides by zero); your {what} "
                f"{did}: call self.check_input(x) first in forward, which refuses it "
                "(min_rows_in_training = 2) and checks the shape of x")


def check_batchnorm(cls, *, verbose=True, seed=None, upto=None):
    """Check ``BatchNorm(num_features, momentum=0.1, eps=1e-5)`` as ``torch.nn.BatchNorm1d``.

    Training: normalise each feature with the batch mean and biased variance, scale by
    ``weight`` and shift by ``bias``, and update ``running_mean``/``running_var`` (unbiased)
    with ``running = (1 - momentum) running + momentum batch``. Evaluation: use the running
    statistics. A batch of one row is refused in training mode with ValueError
    (``self.check_input(x)``). ``backward`` in both modes, checked with finite differences.
    ``upto`` stops after a rubric item: "training" (the training forward, the running
    statistics and the refusal of one row),
    "param_grads" (weight.grad and bias.grad) or "input_grad" (dx); the evaluation mode
    comes last.
    """
    _need_class(cls, "your BatchNorm")
    rubric_item(upto, ("training", "param_grads", "input_grad"))
    probe = Probe("batchnorm", seed)

    def body():
        name, d = cls.__name__, 4
        case = _batchnorm_case(seed, d)
        reference = {}

        def want(key):
            def compute():
                if not reference:
                    reference.update(_batchnorm_run(BatchNorm, case, d))
                return reference[key]
            return probe.want(key, compute)

        def mistake(key, got):
            return probe.mistake(key, got, lambda wrong: _batchnorm_run(wrong, case, d).get(key),
                                 VALUE_TOL * (1 + np.abs(want(key)).max()))

        def compared(key, got):
            # (got matches, the words of the catalogued mistake it matches or None); while
            # recording, every mistake's value is stored even where got matches
            ok = _matches(got, want(key))
            return ok, (mistake(key, got) if not ok or probe.recording else None)

        layer = _module_instance(_call(f"{name}({d})", cls, d), name)
        gamma = _param(layer, "weight", (d,), name)
        beta = _param(layer, "bias", (d,), name)
        for attr, start in (("running_mean", 0.0), ("running_var", 1.0)):
            value = getattr(layer, attr, None)
            if not isinstance(value, np.ndarray) or value.shape != (d,):
                raise _Fail(f"{name}({d}) must keep self.{attr}, an array of shape ({d},)")
            if not np.all(value == start):
                raise _Fail(f"self.{attr} must start at {start:g}, as in PyTorch")
        gamma.value[...], beta.value[...] = case["gamma"], case["beta"]
        x = case["x"]
        out = _as_array(_call("forward(x) in training mode", layer.forward, x.copy()),
                        "forward(x)", x.shape)
        ok, hint = compared("forward", out)
        if not ok:
            raise _Fail(f"forward(x) in training mode differs from nblib.BatchNorm (relative "
                        f"error {rel_error(out, want('forward')):.1e})"
                        + (f": you {hint}" if hint else ""))
        for attr in ("running_mean", "running_var"):
            got = np.asarray(getattr(layer, attr), dtype=float)
            ok, hint = compared(attr, got)
            if not ok:
                raise _Fail(f"after one training step self.{attr} is {np.round(got, 4)}, "
                            f"expected {np.round(want(attr), 4)}"
                            + (f": it was {hint}" if hint else ""))
        _refuses_one_row(cls, d, x[:1])
        if upto == "training":
            return ("the training forward and the running statistics are right, and a batch "
                    "of one row is refused", {})
        dx = _as_array(_call("backward(dout) in training mode", layer.backward,
                             case["dout"].copy()), "backward(dout)", x.shape)
        for what, got in (("bias.grad", beta.grad), ("weight.grad", gamma.grad)):
            exp = want(what)
            if not _matches(np.asarray(got, dtype=float), exp):
                raise _Fail(f"{what} is wrong (relative error {rel_error(got, exp):.1e}): "
                            + ("sum(dout) over the batch" if what == "bias.grad"
                               else "sum(dout * x_hat) over the batch"))
        if upto == "param_grads":
            return "the training forward, running statistics, weight.grad and bias.grad " \
                   "are right", {}
        ok, hint = compared("dx", dx)
        if not ok:
            raise _Fail(f"weight.grad and bias.grad are right, but the input gradient dx is "
                        f"wrong (relative error {rel_error(dx, want('dx')):.1e})"
                        + (f": it is {hint}" if hint else ": x reaches the loss through "
                           "x_hat, through the batch mean and through the batch variance"))
        errors = _gradient_errors(layer, x, 14)
        _grad_verdict(errors, {"input": "dx"})
        if upto == "input_grad":
            return (f"the training mode is right, forward and backward; gradient check: "
                    f"{_fmt(errors)}", dict(errors))

        layer = _call(f"{name}({d})", cls, d)     # fresh: the gradient check ran forward too
        layer.weight.value[...], layer.bias.value[...] = case["gamma_eval"], case["beta_eval"]
        for xb in case["batches"]:               # running statistics from a few batches
            _call("forward(x)", layer.forward, xb.copy())
        _call("eval()", layer.eval)
        xe = case["x_eval"]
        out_eval = _as_array(_call("forward(x) in evaluation mode", layer.forward, xe.copy()),
                             "forward(x) in evaluation mode", xe.shape)
        ok, hint = compared("eval forward", out_eval)
        if not ok:
            raise _Fail(f"forward(x) in evaluation mode differs from nblib.BatchNorm "
                        f"(relative error {rel_error(out_eval, want('eval forward')):.1e})"
                        + (f": {hint}" if hint else ""))
        if not _matches(np.asarray(layer.running_mean, dtype=float), want("eval running_mean")):
            raise _Fail("forward in evaluation mode changed running_mean: only training "
                        "updates the running statistics")
        dx_e = _as_array(_call("backward(dout) in evaluation mode", layer.backward,
                               case["dout_eval"].copy()), "backward(dout) in evaluation mode",
                         xe.shape)
        if not _matches(dx_e, want("eval dx")):
            raise _Fail("backward in evaluation mode is wrong: the running statistics are "
                        "constants there, so dx = dout * weight / sqrt(running_var + eps)")
        errors_eval = _gradient_errors(layer, xe, 15)
        _grad_verdict(errors_eval, {"input": "dx (evaluation mode)"})
        return (f"training and evaluation, running statistics and backward are right; gradient "
                f"check: {_fmt(errors)}", dict(errors))

    return _run("batchnorm", body, verbose)


# ----------------------------------------------------------------------------- 02 Dropout
def check_dropout(cls, *, verbose=True, seed=None, upto=None):
    """Check inverted dropout ``Dropout(p, rng=generator)``, ``p`` the probability to DROP.

    ``upto="training"`` checks the training mask and its scaling only (the rubric's first
    item), not backward and the evaluation mode."""
    _need_class(cls, "your Dropout")
    rubric_item(upto, ("training",))

    def body():
        name, p = cls.__name__, 0.3
        layer = _module_instance(_call(f"{name}({p}, rng=...)", cls, p,
                                       rng=_rng(seed, 16)), name)
        x = _rng(seed, 17).uniform(0.5, 2.0, (400, 50))
        _takes_any_rng(lambda r: _module_instance(cls(p, rng=r), name).forward(x[:4].copy()),
                       f"{name}({p}) and its forward")
        dropped = inverted_dropout(layer, p, x, _rng(seed, 18).normal(size=x.shape), upto=upto)
        a = _call(f"{name}({p}, rng=seed 19)", cls, p, rng=_rng(seed, 19))
        b = _call(f"{name}({p}, rng=seed 19)", cls, p, rng=_rng(seed, 19))
        if not np.array_equal(a.forward(x.copy()), b.forward(x.copy())):
            raise _Fail("two layers with generators of the same seed drop different units: draw "
                        "the mask from self.rng, not np.random")
        if upto == "training":
            return f"drops {dropped:.1%} at p={p}, scales by 1/(1-p), fresh masks from self.rng", {}
        return f"drops {dropped:.1%} at p={p}, scales by 1/(1-p), eval is the identity", {}

    return _run("dropout", body, verbose)


# ----------------------------------------------------------------------------- 03 optimizers
OPTIMIZER_SHAPES = ((3, 4), (4,), (2, 3))
"""The Params of an optimizer's check: several, of different shapes, in two groups."""
OPTIMIZER_GROUPS = [(2, {}), (1, {"weight_decay": 0.0})]
"""The first two Params in one group, the last in a second group without weight decay
(``weight_decay_groups``' way: biases are not decayed)."""


def _optimizer_case(seed):
    """Initial weights and gradients of the OPTIMIZER_SHAPES Params; each Param's gradients
    are 10 times larger than the previous one's, so that a state shared between Params shows."""
    rng = _rng(seed, 20)
    cases = [optimizer_case(rng, shape) for shape in OPTIMIZER_SHAPES]
    w0 = tuple(w for w, _ in cases)
    grads = [tuple(10.0**k * g[step] for k, (_, g) in enumerate(cases))
             for step in range(len(cases[0][1]))]
    return w0, grads


def _which_param(got, want, w0, step):
    """(' in Param 2 of 3 (shape (4,), parameter group 1)', the largest difference in that
    Param at ``step``, whether that Param never moved): the first Param that differs."""
    sizes = np.cumsum([0] + [np.size(w) for w in w0])
    first = 0
    bounds = list(zip(sizes[:-1], sizes[1:]))
    for i, (a, b) in enumerate(bounds):
        if not _within(_max_difference(got[step - 1][a:b], want[step - 1][a:b]),
                       1e-10 * (1 + np.abs(w0[i]).max())):
            first = i
            break
    a, b = bounds[first]
    still = all(np.array_equal(g[a:b], np.ravel(w0[first])) for g in got)
    group = 1 if first < OPTIMIZER_GROUPS[0][0] else 2
    where = (f" in Param {first + 1} of {len(w0)} (shape {np.shape(w0[first])}, parameter "
             f"group {group})")
    return where, _max_difference(got[step - 1][a:b], want[step - 1][a:b]), still


def _plain(message):
    """A FAIL's message without where it was raised (the line differs from code to code)."""
    return None if message is None else re.sub(r" \(in [\w.<>]+, line \d+\)", "", message)


def _optimizer_check(name, cls, reference_cls, settings, catalogue, verbose, seed, accept=(),
                     keys=None):
    """Six steps with changing rates for each setting must match ``reference_cls``.

    Three Params of different shapes, in two parameter groups (OPTIMIZER_SHAPES,
    OPTIMIZER_GROUPS): every Param of every group must move, each with its own state.
    The reference's trajectories and those of the usual mistakes of ``catalogue``
    (``nblib.teaching.mistakes``, each built on ``reference_cls``) are the stored
    expectations (``nblib.teaching.expectations``) of the visible check; a wrong update
    that is one of them is named in the catalogue's words. The mistakes of ``accept`` pass
    (a rubric item that does not cover them: Adam's moving averages without the bias
    correction). ``keys``: the number each setting's values are stored under (its place in
    the whole check's settings; default 0, 1, ...).
    """
    _need_class(cls, f"your {reference_cls.__name__}")
    shapes = ", ".join(str(s) for s in OPTIMIZER_SHAPES)
    probe = Probe(name, seed)

    def run_one(opt_cls, kwargs, w0, grads, lrs, student):
        """(trajectory, None), or (None, the FAIL's message, the class named <cls>)."""
        try:
            return trajectory(opt_cls, kwargs, w0, grads, lrs, student=True,
                              groups=OPTIMIZER_GROUPS), None
        except _Fail as fail:
            return None, _plain(str(fail)).replace(opt_cls.__name__, "<cls>")

    def body():
        w0, grads = _optimizer_case(seed)
        lrs = SCHEDULE_LRS
        accepted = {m.says for m in accept}
        for i, kwargs in zip(range(len(settings)) if keys is None else keys, settings):
            got, raised = run_one(cls, kwargs, w0, grads, lrs, True)
            want = probe.want(f"{i}/trajectory", lambda: trajectory(
                reference_cls, kwargs, w0, grads, lrs, student=False, groups=OPTIMIZER_GROUPS))
            if raised is None:
                step, diff = _first_difference(got, want, 1e-10 * (1 + max(
                    np.abs(w).max() for w in w0)))
                if step is None and not probe.recording:
                    continue
            hint = probe.mistake(
                f"{i}/trajectory", raised if raised is not None else got,
                lambda wrong_cls: (lambda out: out[0] if out[1] is None else out[1])(
                    run_one(wrong_cls, kwargs, w0, grads, lrs, False)), 1e-10)
            if raised is None and step is not None and hint and hint in accepted:
                continue
            hint = f"; your update is {hint}" if hint else ""
            if probe.recording and raised is None and step is None:
                continue
            if raised is not None:
                if not hint and "broadcast" in raised:
                    hint = (f"; the Params have different shapes ({shapes}): keep each one's "
                            "state apart, in self.state[p]")
                raised = raised.replace("<cls>", cls.__name__)
                raise _Fail(f"{built_with(kwargs, lrs)}, with three Params of shapes "
                            f"{shapes} in two parameter groups: {raised}{hint}")
            where, diff, still = _which_param(got, want, w0, step)
            if still and not hint:
                hint = ("; that Param never moved: step() must update every Param of every "
                        "group (for group in self.param_groups: for p in group['params'])")
            size = f"{diff:.2e}" if math.isfinite(diff) else "NaN or inf"
            raise _Fail(f"{built_with(kwargs, lrs)}: the weights first differ from nblib's "
                        f"{reference_cls.__name__} at step {step},{where}, by {size}{hint}",
                        step=step, difference=diff)
        return (f"{len(settings)} settings x 6 steps of three Params in two groups match "
                f"nblib's {reference_cls.__name__}", {"settings": len(settings)})

    return _run(name, body, verbose)


def check_sgd(cls, *, verbose=True, seed=None, upto=None):
    """Check ``SGD(params, lr, momentum=0, nesterov=False, weight_decay=0)`` (torch.optim.SGD).

    ``g = grad + weight_decay * w``; ``buf = momentum * buf + g`` (``buf = g`` at the first
    step); ``w -= lr * buf`` (or ``lr * (g + momentum * buf)`` with Nesterov). A usual
    mistake (``nblib.teaching.mistakes.SGD_MISTAKES``) is named. ``upto="plain"`` checks
    plain SGD and its weight decay only (the rubric's first item), not momentum.
    """
    from .mistakes import SGD_MISTAKES

    plain = [dict(lr=0.1), dict(lr=0.1, weight_decay=0.01)]
    settings = [plain[0], dict(lr=0.1, momentum=0.9), dict(lr=0.1, momentum=0.9,
                                                           weight_decay=0.01),
                dict(lr=0.1, momentum=0.9, nesterov=True), plain[1]]
    keys = None
    if rubric_item(upto, ("plain",)):
        settings, keys = plain, (0, 4)      # stored under their places in the whole check
    return _optimizer_check("sgd", cls, SGD, settings, SGD_MISTAKES, verbose, seed, keys=keys)


def check_adam(cls, *, verbose=True, seed=None, upto=None):
    """Check ``Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0)``.

    ``m = b1 m + (1 - b1) g``, ``v = b2 v + (1 - b2) g²``, the bias corrections
    ``m / (1 - b1^t)`` and ``v / (1 - b2^t)`` with ``t = 1`` at the first step, and
    ``w -= lr * m_hat / (sqrt(v_hat) + eps)``, as ``torch.optim.Adam``. A usual mistake
    (``nblib.teaching.mistakes.ADAM``) is named. ``upto`` stops after a rubric item:
    "moments" (the moving averages and the update, without weight decay; a missing or
    late bias correction passes), "bias_correction" (the same, exactly).
    """
    from .mistakes import ADAM

    settings = [dict(lr=0.01), dict(lr=0.01, betas=(0.8, 0.99), eps=1e-3),
                dict(lr=0.01, weight_decay=0.1)]
    accept = ()
    if rubric_item(upto, ("moments", "bias_correction")):
        settings = settings[:2]
    if upto == "moments":
        accept = [m for m in ADAM if m.title in ("leaves out the bias correction",
                                                 "counts the first step as t = 2")]
    return _optimizer_check("adam", cls, Adam, settings, ADAM, verbose, seed, accept)


# ----------------------------------------------------------------------------- 03 schedule
def check_warmup_cosine(cls, *, verbose=True, seed=None, upto=None):
    """Check ``WarmupCosine(lr, total_steps, warmup_steps=0, min_lr=0)`` and its ``lr_at(step)``.

    A linear warm-up that reaches ``lr`` at step ``warmup_steps - 1``, then half a cosine
    down to ``min_lr`` at ``total_steps``, and ``min_lr`` after that. ``upto="warmup"``
    checks the warm-up's steps only (the rubric's first item).
    """
    _need_class(cls, "your WarmupCosine")
    rubric_item(upto, ("warmup",))
    settings = [dict(lr=0.1, total_steps=100, warmup_steps=10, min_lr=0.0),
                dict(lr=0.02, total_steps=40, warmup_steps=0, min_lr=0.001),
                dict(lr=1.0, total_steps=7, warmup_steps=3, min_lr=0.1)]
    if seed is not None:        # the hidden test: settings of its own, drawn from the seed
        rng = _rng(seed, 12)
        settings = []
        for warmup in (0, int(rng.integers(1, 8)), int(rng.integers(8, 16))):
            lr, total = float(rng.uniform(0.01, 1.0)), warmup + int(rng.integers(5, 50))
            settings.append(dict(lr=lr, total_steps=total, warmup_steps=warmup,
                                 min_lr=float(rng.uniform(0, lr / 5))))

    probe = Probe("warmup_cosine", seed)

    def body():
        checked = 0
        for i, s in enumerate(settings):
            mine = _call(f"{cls.__name__}({_kw(s)})", cls, **s)
            steps = range(s["total_steps"] + 5)
            want = probe.want(f"{i}/lrs", lambda: np.array([
                WarmupCosine(**s).lr_at(step) for step in steps]))
            got, all_right = rates_until_wrong(
                "lr_at", lambda step: _call(f"lr_at({step})", mine.lr_at, step),
                steps[:s["warmup_steps"]] if upto else steps, want)
            if all_right:
                checked += len(got)
                if not probe.recording:
                    continue
            says = probe.mistake(f"{i}/lrs", np.array(got), lambda wrong: np.array([
                wrong(**s).lr_at(k) for k in steps]), 1e-9, prefix=True)
            if probe.recording:
                continue
            step, w, total = len(got) - 1, s["warmup_steps"], s["total_steps"]
            phase = "warm-up" if step < w else "after the end" if step > total else "cosine"
            raise _Fail(f"with {_kw(s)}: lr_at({step}) ({phase}) is {got[-1]:.6g}, expected "
                        f"{want[step]:.6g}" + (f"; {says}" if says else ""),
                        step=step, got=got[-1], expected=float(want[step]))
        return (f"all {checked} learning rates{' of the warm-up' if upto else ''} match "
                "nblib.WarmupCosine", {"checked": checked})

    return _run("warmup_cosine", body, verbose)


# ----------------------------------------------------------------------------- 03 the loop
class _LoopProbe(Module):
    """The loop check's model, no task's answer: logits = tanh(x) @ w + c."""

    def __init__(self, seed, dtype=np.float64):
        rng = _rng(seed, 22)
        self.w = Param(rng.normal(size=2).astype(dtype))
        self.c = Param(np.zeros(1, dtype=dtype))
        self.fed = []                    # the dtype of every x forward gets

    def forward(self, x):
        self.fed.append(np.asarray(x).dtype)
        self.t = np.tanh(x)
        return (self.t @ self.w.value + self.c.value)[:, None]

    def backward(self, dout):
        self.w.grad = self.t.T @ dout[:, 0]
        self.c.grad = np.array([dout.sum()])
        return dout * (1 - self.t ** 2) * self.w.value


class _LoopOptimizer(Optimizer):
    """The loop check's optimizer: w -= lr * grad, every step recorded."""

    def __init__(self, model):
        super().__init__(model.parameters(), lr=0.01)
        self.model, self.record = model, {"lrs": [], "modes": [], "after": []}

    def step(self):
        self.record["lrs"].append(self.lr)
        self.record["modes"].append(self.model.training)
        for p in self.params:
            p.value = p.value - self.lr * p.grad
        self.record["after"].append(np.concatenate([p.value.ravel()
                                                    for p in self.params]))


def _loop_loss(logits, y):
    """The loop check's loss in place of bce_with_logits: mean log cosh(z - y)."""
    r = logits[:, 0] - y
    return float(np.mean(np.log(np.cosh(r)))), (np.tanh(r) / len(r))[:, None]


def _loop_schedule(step):
    """The loop check's schedule: a rate that is different at every step."""
    return 0.05 * 0.9 ** step


_LOSS_NAME = "bce_with_logits"


def _run_loop(fn, seed, student=True, dtype=np.float64):
    """Run ``fn`` for one epoch on the loop check's model (its parameters in ``dtype``),
    data (float64) and schedule, with ``_loop_loss`` as the ``bce_with_logits`` it calls;
    return (record, returned). ``record["fed"]``: the dtypes of the model's inputs."""
    rng = _rng(seed, 21)
    X = rng.normal(size=(70, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    model = _LoopProbe(seed, dtype)
    opt = _LoopOptimizer(model)
    model.eval()                     # a loop that forgets model.train() trains in eval mode
    names = getattr(fn, "__globals__", {})
    found = _LOSS_NAME in names
    saved = names.get(_LOSS_NAME)
    if found:
        names[_LOSS_NAME] = _loop_loss
    invoke = _call if student else (lambda what, f, *a, **k: f(*a, **k))
    try:
        out = invoke(f"{getattr(fn, '__name__', 'train_epoch')}(model, optimizer, X, y, "
                     "batch_size=16, rng=..., schedule=..., step=5)", fn, model, opt, X, y,
                     batch_size=16, rng=_rng(seed, 3), schedule=_loop_schedule, step=5)
    finally:
        if found:
            names[_LOSS_NAME] = saved
    opt.record["own loss"] = found
    opt.record["fed"] = model.fed
    return opt.record, out


def _loop_value(fn, seed, key):
    """What the loop check compares under ``key``, for a reference or a wrong loop."""
    record, out = _run_loop(fn, seed, student=False)
    return {"steps": len(record["after"]), "lrs": np.array(record["lrs"]),
            "after": record["after"], "returned": float(out)}[key]


def _casts_to_model_dtype(fn, seed):
    """On a float32 model the loop must feed float32 batches: X in the model's dtype, as
    ``check_epoch_arguments`` returns it (and ``nblib.fit``'s loop computes)."""
    record, _ = _run_loop(fn, seed, dtype=np.float32)
    fed = sorted({str(dtype) for dtype in record["fed"]} - {"float32"})
    if fed:
        raise _Fail(f"on a float32 model (the book's recipe is float32), the model's forward "
                    f"got batches of {' and '.join(fed)} X: cast X to the model's dtype, start "
                    "with X, y = check_epoch_arguments(model, optimizer, X, y, batch_size, rng, "
                    "schedule, step), imported in the starter (it also checks every argument); "
                    "otherwise the model computes in float64, not as nblib.fit does")


def check_train_epoch(fn, *, verbose=True, seed=None, upto=None):
    """Check ``train_epoch(model, optimizer, X, y, *, batch_size, rng, schedule=None, step=0)``.

    One epoch of mini-batch steps in training mode, over a fresh ``rng.permutation`` of
    the rows, with the learning rate ``schedule(step)`` set before each step (counting
    from ``step``), including a last, smaller batch. The check runs your loop on its own
    small model, optimizer, schedule and loss (in place of ``bce_with_logits``), so that
    it checks the loop alone; step by step, the parameters must match ``nblib.train_epoch``'s,
    and it returns the mean of the mini-batch losses. It runs your loop on a float32 model
    too: the batches must reach it in its dtype (``X, y = check_epoch_arguments(...)``).
    ``upto`` stops after a rubric item: "batches" (one step per batch, the last one too, in
    training mode, in the model's dtype) or "steps" (the
    schedule's rates and the shuffled batches: the parameters after every step).
    """
    _need_callable(fn, "your train_epoch")
    rubric_item(upto, ("batches", "steps"))
    probe = Probe("train_epoch", seed)
    reference = _tasks()["train_epoch"].reference if seed is not None or probe.recording \
        else None

    def want(key):
        return probe.want(key, lambda: _loop_value(reference, seed, key))

    def named(key, got, tol):
        return probe.mistake(key, got, lambda wrong: _loop_value(wrong, seed, key), tol)

    def body():
        got, returned = _run_loop(fn, seed)
        n_steps = want("steps")
        if len(got["after"]) != n_steps or probe.recording:
            why = named("steps", len(got["after"]), 0)
            if len(got["after"]) != n_steps:
                why = f": {why}" if why else (": optimizer.step() was never called"
                                              if not got["after"] else "")
                raise _Fail(f"{len(got['after'])} optimizer steps for 70 rows in batches of 16, "
                            f"expected {n_steps}{why}")
        if not all(got["modes"]):
            raise _Fail("the model was in evaluation mode during the steps: call model.train() "
                        "at the start of the epoch (BatchNorm then uses batch statistics and "
                        "dropout drops)")
        _casts_to_model_dtype(fn, seed)
        if upto == "batches":
            return (f"{n_steps} steps, one per batch, in training mode and in the model's "
                    "dtype", {"steps": n_steps})
        want_lrs = want("lrs")
        if not np.allclose(got["lrs"], want_lrs, rtol=1e-12) or probe.recording:
            hint = named("lrs", np.array(got["lrs"]), 1e-12)
            if not np.allclose(got["lrs"], want_lrs, rtol=1e-12):
                k = next(i for i, (a, b) in enumerate(zip(got["lrs"], want_lrs))
                         if not math.isclose(a, b, rel_tol=1e-12))
                if not hint and np.allclose(got["lrs"], [_loop_schedule(i)
                                                         for i in range(n_steps)]):
                    hint = "the steps must be counted from the `step` argument, not from 0"
                elif not hint and np.allclose(got["lrs"], got["lrs"][0]):
                    hint = "the schedule was not used; set optimizer.lr = schedule(step) " \
                           "before each step"
                raise _Fail(f"the learning rate of step {k + 1} is {got['lrs'][k]:.6g}, "
                            f"expected {want_lrs[k]:.6g}" + (f": {hint}" if hint else ""))
        want_after = want("after")
        step, diff = _first_difference(got["after"], want_after, 1e-10)
        if step is not None or probe.recording:
            hint = named("after", got["after"], 1e-10)
            if step is not None:
                if not hint and not got["own loss"]:
                    hint = (f"your loop does not call the loss by the name {_LOSS_NAME}, so "
                            "the check could not put its own loss in its place (it checks the "
                            "loop alone)")
                raise _Fail(f"the parameters first differ from nblib.train_epoch's after step "
                            f"{step}, by {diff:.2e}" + (f": {hint}" if hint else ""),
                            step=step, difference=diff)
        if upto == "steps":
            return f"all {n_steps} steps match nblib.train_epoch", {"steps": n_steps}
        mean = want("returned")
        try:
            value = float(returned)
        except (TypeError, ValueError):
            raise _Fail(f"train_epoch must return the epoch's loss, the mean of the mini-batch "
                        f"losses (a float), got {returned!r:.60}") from None
        wrong = not _within(abs(value - mean), 1e-9 * (1 + abs(mean)))
        if wrong or probe.recording:
            hint = named("returned", value, 1e-9 * (1 + abs(mean)))
            if wrong:
                raise _Fail(f"train_epoch returned {value:.6g}, expected the mean mini-batch "
                            f"loss {mean:.6g}" + (f": {hint}" if hint else ""),
                            returned=value, expected=mean)
        return (f"all {n_steps} steps match nblib.train_epoch, and it returns the mean "
                "mini-batch loss", {"steps": n_steps})

    return _run("train_epoch", body, verbose)


# ----------------------------------------------------------------------------- the tasks
def __getattr__(name):
    """``TASKS``, every "your turn" task by id: a view of ``nblib.teaching.registry.YOUR_TURN``."""
    if name == "TASKS":
        from .registry import YOUR_TURN
        return YOUR_TURN
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _tasks():
    from .registry import YOUR_TURN
    return YOUR_TURN


def piece_tasks():
    """The tasks whose piece can take the place of nblib's (``install_pieces``): every
    your-turn task, and the exercises whose class nblib's own code builds
    (``DROP_IN_EXERCISES``: ``MyLayerNorm`` for ``SpiralConfig(norm="layer")``)."""
    from .registry import EXERCISES, YOUR_TURN
    return {**YOUR_TURN, **{task_id: EXERCISES[task_id] for task_id in DROP_IN_EXERCISES}}


DROP_IN_EXERCISES = ("ex_layernorm",)
"""Exercises whose answer has nblib's signature and takes its place. (``MyRMSprop`` is
not one: it leaves out weight decay, momentum and parameter groups.)"""


def task_cells(path):
    """The source of every cell tagged ``your-turn`` in the notebook at ``path``."""
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    cells = []
    for cell in nb["cells"]:
        if cell["cell_type"] == "code" and "your-turn" in cell.get("metadata", {}).get("tags", []):
            src = cell["source"]
            cells.append("".join(src) if isinstance(src, list) else src)
    return cells


def pieces_from_notebook(path, *, timeout=CELL_TIMEOUT):
    """Run the ``your-turn`` cells of another notebook and return what they define.

    This is how 03_training gets your ``Linear``, ``BatchNorm``, ... from 02_network
    without re-running that whole page.  Each cell may run ``timeout`` seconds; a cell
    that raises or runs longer (a loop that never ends) is stopped, and the next cell
    runs.  Returns a dict name -> object; its ``"__errors__"`` lists what went wrong.
    """
    # a module of its own (in sys.modules), so that its classes can be pickled by name to
    # a sweep's worker processes
    module = types.ModuleType(f"yourturn:{Path(path).stem}")
    sys.modules[module.__name__] = module
    namespace = module.__dict__
    errors = []
    for i, source in enumerate(task_cells(path), start=1):
        where = f"{Path(path).name}, your-turn cell {i}"
        try:
            with time_limit(timeout):
                exec(compile(source, f"<{where}>", "exec"), namespace)
        except (Exception, SystemExit, CheckTimeout) as err:  # noqa: BLE001 - the student's cell
            errors.append(f"{where} stopped: {type(err).__name__}: {err}")
    namespace["__errors__"] = errors
    return namespace


def collect_pieces(here, page, folder=".", *, verbose=True, timeout=CELL_TIMEOUT,
                   own_page=True):
    """Every task's piece: yours where its check passes, nblib's where it does not.

    Inputs
    - here: the namespace of the running notebook (``globals()``), which holds the
      pieces of the tasks of ``page``
    - page: the running notebook's file name, e.g. "03_training.ipynb"; the pieces of
      the other pages are read from their notebooks in ``folder`` (or in the folders of
      their nbgrader assignments beside it: ``page_notebook``), each cell within
      ``timeout`` seconds (``pieces_from_notebook``)
    - own_page: False reads ``page``'s pieces from its notebook too (``here`` unused): a
      later page (04, the playground, 05) collects every piece that way
    Returns
    - pieces: dict task id -> the object to use
    - table: list of (task id, "yours" or "nblib's", the check's message)

    In the student build of nblib (``nblib.teaching.STUDENT_BUILD``) nblib has no pieces:
    a piece that does not pass is "missing", and its stand-in (``missing_piece``) raises
    NotImplementedError naming the piece and the page where it is written.
    """
    if not isinstance(here, dict):
        raise TypeError(f"here must be a dict (globals()), got {type(here).__name__}")
    TASKS = _tasks()
    pages = {task.notebook for task in TASKS.values()}
    if page not in pages:
        raise ValueError(f"page must be one of {sorted(pages)}, got {page!r}")
    folder = Path(folder)
    namespaces = {page: here} if own_page else {}
    pieces, table = {}, []
    for task_id, task in TASKS.items():
        if task.notebook not in namespaces:
            try:
                namespaces[task.notebook] = pieces_from_notebook(
                    page_notebook(folder, task.notebook), timeout=timeout)
            except Exception as err:  # noqa: BLE001 - no such notebook, or not one: nblib's
                namespaces[task.notebook] = {"__errors__": [f"{task.notebook} did not run: "
                                                            f"{type(err).__name__}: {err}"]}
        namespace = namespaces[task.notebook]
        piece = namespace.get(task.name)
        if piece is None:
            why = "; ".join([f"{task.name} is not defined", *namespace.get("__errors__", [])])
            result = CheckResult(task_id, False, why)
        else:
            result = task.check(piece, verbose=False)
        if result.passed:
            pieces[task_id], whose = piece, "yours"
        elif STUDENT_BUILD:             # nblib has no answers here: nothing can stand in
            pieces[task_id], whose = missing_piece(task_id, result.message), "missing"
        else:
            pieces[task_id], whose = task.reference, "nblib's"
        table.append((task_id, whose, result.message))
    if verbose:
        width = max(len(t) for t in TASKS)
        indent = " " * (width + 11)
        for task_id, whose, message in table:     # the whole message, wrapped at 88 columns
            print(textwrap.fill(f"{task_id:<{width}}  {whose:<7}  {message}", 88,
                                subsequent_indent=indent))
    return pieces, table


def page_notebook(folder, notebook):
    """Where a page's notebook is, seen from ``folder``: ``folder/notebook`` (the book's
    notebooks side by side), else ``folder/../<name>/notebook`` (nbgrader's assignments,
    each fetched into a folder of its own beside the others); the first if neither is."""
    folder = Path(folder)
    for path in (folder / notebook, folder.resolve().parent / Path(notebook).stem / notebook):
        if path.is_file():
            return path
    return folder / notebook


def install_pieces(pieces):
    """Put your pieces where nblib's are, so that nblib's own code runs on them.

    ``pieces``: dict task id -> piece (``collect_pieces``). Every name of an nblib module
    (``nblib.Linear``, ``nblib.core.config.Linear``, ``nblib.core.training.train_epoch``,
    ...) and every entry of a module's table (``OPTIMIZERS``, ``SCHEDULES``) that holds
    a task's reference then holds your piece: ``nblib.train_spirals``, ``fit``, the
    playground and the exercises' experiments train your network. The self-checks keep
    comparing with the reference (``nblib.teaching`` is left alone). While any name holds
    a piece that is not nblib's own, ``nblib.sweep`` forks its workers, which inherit your
    pieces (``nblib.experiments.sweep.PIECES_INSTALLED``). Returns a function that puts
    nblib's pieces back.
    """
    if not isinstance(pieces, dict):
        raise TypeError(f"pieces must be a dict (task id -> piece), got {type(pieces).__name__}")
    tasks = piece_tasks()
    unknown = sorted(set(pieces) - set(tasks))
    if unknown:
        raise ValueError(f"pieces must be keyed by task id ({sorted(tasks)}), got {unknown}")
    current = {t: _INSTALLED.get(t, tasks[t].reference) for t in pieces}
    swaps = {id(current[t]): (current[t], piece) for t, piece in pieces.items()
             if piece is not current[t]}
    for t, piece in pieces.items():          # a task's helpers (make_spirals' spiral_centres)
        for dotted, _ in tasks[t].solution:
            module_name, _, name = dotted.rpartition(".")
            mine = getattr(_unwrapped(piece), "__globals__", {}).get(name)
            ours = _INSTALLED.get((t, name), getattr(sys.modules.get(module_name), name, None))
            if name != tasks[t].name and ours is not None and mine is not None:
                swaps[id(ours)] = (ours, mine)
                current.setdefault((t, name), ours)
                _OWN.setdefault((t, name), ours)
                _INSTALLED[(t, name)] = mine
    undo = []
    spaces = [vars(module) for name, module in list(sys.modules.items())
              if module is not None and (name == "nblib" or name.startswith("nblib."))
              and not name.startswith("nblib.teaching")]
    for names in spaces:                     # nblib's AdamW(Adam) derives from your Adam
        for value in list(names.values()):
            if not isinstance(value, type) or id(value) in swaps:
                continue
            # a class that is missing because its base was (the stand-in of nblib's AdamW
            # while Adam is missing) stands for nblib's class, on the bases it was made from
            original = vars(value).get("__stands_for__", value)
            on = vars(value).get("__stands_on__", value.__bases__)
            if any(id(base) in swaps for base in on):
                bases = tuple(swaps[id(b)][1] if id(b) in swaps else b for b in on)
                # a base that is missing (the student build's stand-in): the class that
                # derives from it is missing too, with the base's message
                missing = next((b for b in bases if _missing_message(b) is not None), None)
                swaps[id(value)] = (value, _missing_class(
                    original.__name__, _missing_message(missing), original, bases)
                    if missing is not None else _rebased(original, bases))
    spaces += _own_namespaces(pieces.values())   # a piece's notebook imported nblib's too
    for names in spaces:
        for attr, value in list(names.items()):
            if id(value) in swaps and swaps[id(value)][0] is value:
                names[attr] = swaps[id(value)][1]
                undo.append((names, attr, value))
            elif isinstance(value, dict) and attr.isupper():
                for key, entry in list(value.items()):
                    if id(entry) in swaps and swaps[id(entry)][0] is entry:
                        value[key] = swaps[id(entry)][1]
                        undo.append((value, key, entry))

    _INSTALLED.update(pieces)
    _OWN.update((t, tasks[t].reference) for t in pieces)
    _sweep.PIECES_INSTALLED = _any_installed()

    def restore():
        for table, key, value in reversed(undo):
            table[key] = value
        _INSTALLED.update(current)
        _sweep.PIECES_INSTALLED = _any_installed()
    return restore


def _any_installed():
    """Whether any of nblib's names holds a piece that is not nblib's own now."""
    return any(piece is not _OWN[key] for key, piece in _INSTALLED.items())


def _rebased(cls, bases):
    """A copy of the class ``cls`` on other ``bases``; its methods' ``super()`` sees the copy."""
    body = {k: v for k, v in vars(cls).items() if k not in ("__dict__", "__weakref__")}
    copy = type(cls.__name__, bases, body)
    for name, value in body.items():
        if inspect.isfunction(value) and "__class__" in value.__code__.co_freevars:
            cells = list(value.__closure__)
            cells[value.__code__.co_freevars.index("__class__")] = types.CellType(copy)
            method = types.FunctionType(value.__code__, value.__globals__, value.__name__,
                                        value.__defaults__, tuple(cells))
            method.__kwdefaults__, method.__doc__ = value.__kwdefaults__, value.__doc__
            method.__qualname__ = value.__qualname__
            setattr(copy, name, method)
    return copy


_INSTALLED = {}
"""The piece each task's name in nblib holds now, where ``install_pieces`` changed it
(keyed by task id, and by (task id, name) for a task's helpers: spiral_centres)."""

_OWN = {}
"""nblib's own piece for each key of ``_INSTALLED``."""


def use_mine(task_id, piece):
    """After a task's self-check cell: nblib's code on this page (and the next) uses
    ``piece`` if its check passes; otherwise nblib's reference, or, in the student build,
    a stand-in that says the piece is missing and where to write it. Prints nothing."""
    task = piece_tasks()[task_id]
    result = task.check(piece, verbose=False)
    use = piece if result.passed else (missing_piece(task_id, result.message) if STUDENT_BUILD
                                       else task.reference)
    install_pieces({task_id: use})
    return result


def _unwrapped(piece):
    """A function without its decorators (``nblib.core.validate.arguments`` wraps)."""
    try:
        return inspect.unwrap(piece) if callable(piece) and not isinstance(piece, type) \
            else piece
    except ValueError:
        return piece


def _own_namespaces(pieces):
    """The global namespaces the pieces' code runs in (each notebook's, not nblib's)."""
    found = {}
    for piece in map(_unwrapped, pieces):
        functions = [piece] if inspect.isfunction(piece) else [
            f for f in vars(piece).values() if inspect.isfunction(f)] \
            if isinstance(piece, type) else []
        for fn in functions:
            names = fn.__globals__
            if not str(names.get("__name__", "")).startswith("nblib"):
                found[id(names)] = names
    return list(found.values())


def use_my_pieces(folder=".", *, verbose=True, timeout=CELL_TIMEOUT):
    """Collect your pieces from the notebooks of 01 to 03 in ``folder`` (or in their
    nbgrader assignments' folders beside it: ``page_notebook``) and install them
    (``collect_pieces``, ``install_pieces``): the page then runs on your network. Prints
    whose piece each task uses; a piece still missing says so, and where to write it, when
    the page uses it. Returns the table."""
    pieces, table = collect_pieces({}, "03_training.ipynb", folder, verbose=verbose,
                                   timeout=timeout, own_page=False)
    install_pieces(pieces)
    return table


def missing_piece(task_id, why=""):
    """A stand-in for a task's piece that is not written yet (or fails its check), in the
    student build of nblib: it raises NotImplementedError naming the piece, the page where
    it is written, and what its self-check said. A function's stand-in raises when called;
    a class's (``Linear``, ``BatchNorm``, ``Adam``, ...) is a class that raises when it is
    called (instantiated) and when a class derives from it (``class
    NoInputGradBatchNorm(nblib.BatchNorm)``, ``__init_subclass__``)."""
    task = piece_tasks()[task_id]
    message = (f"your {task.name} is missing: write it in {task.notebook} (task {task_id!r}) "
               f"until its self-check passes" + (f"; the self-check says: {why}" if why else ""))
    if task.answer == "class":
        return _missing_class(task.name, message)

    def missing(*args, **kwargs):
        raise NotImplementedError(message)

    missing.__name__ = missing.__qualname__ = task.name
    missing.__missing_piece__ = message
    return missing


def _missing_class(name, message, stands_for=None, on=None):
    """A class named ``name`` whose instantiation and subclassing raise NotImplementedError
    with ``message`` (``missing_piece``). ``stands_for``, ``on``: the nblib class it stands
    for and the bases it was made from, where it is missing because a base is (nblib's
    AdamW while Adam is missing); ``install_pieces`` rebuilds that class once they are there.
    """
    def __new__(cls, *args, **kwargs):
        raise NotImplementedError(message)

    def __init_subclass__(cls, **kwargs):
        raise NotImplementedError(message)

    body = {"__new__": __new__, "__init_subclass__": classmethod(__init_subclass__),
            "__missing_piece__": message, "__doc__": f"Missing: {message}",
            "__qualname__": name}
    if stands_for is not None:
        body.update(__stands_for__=stands_for, __stands_on__=tuple(on))
    return type(name, (), body)


def _missing_message(obj):
    """The message of a missing piece's stand-in (``missing_piece``), or None."""
    return getattr(obj, "__missing_piece__", None) if obj is not None else None


def solution_source(task_id):
    """nblib's source of a task's piece (what the teacher edition shows as its solution)."""
    return inspect.getsource(_tasks()[task_id].reference)
