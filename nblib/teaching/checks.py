"""Self-checks for the exercises: run them on your own code, read PASS or FAIL and why.

Each check takes the function or class you wrote, compares it with nblib's
reference (``nblib.LayerNorm``, ``nblib.Adam``, ...) on small fixed inputs and
prints one verdict. The reference's values, and those of the usual mistakes, are
stored expectations (``nblib.teaching.expectations``): the visible check needs no
answer on your machine.  It never crashes on your code: a stub that still raises
``NotImplementedError`` is reported as "not implemented yet", any other error
as a FAIL that quotes it, and code that runs longer than
``nblib.teaching.selfcheck.TIME_LIMIT`` seconds (a loop that never ends) as a FAIL that
says where it was stopped.  Only a wrong *kind* of argument (not a class, not
callable) raises ``TypeError``.

Every check returns a ``CheckResult``: ``.passed`` (also its truth value),
``.message`` and ``.details`` (the measured errors).

``check(answer, seed=s)`` runs the same check on other random inputs: the
autograder's hidden tests (``nblib.teaching.grading``) do that, so an answer that only
reproduces the visible check's numbers earns nothing.  ``EXERCISES`` lists the
exercises of 05_exercises (a view of ``nblib.teaching.registry.EXERCISES``); the machinery
every check shares (tolerances, verdicts, time limits, NaN-safe comparisons, the
optimizer trajectories) is ``nblib.teaching.selfcheck``.
"""
from __future__ import annotations

import math

import numpy as np

from ..core.gradcheck import check_layer, rel_error
from .expectations import Probe
from ..core.module import Module, Param
from ..core.norm import LayerNorm
from ..core.optim import SGD, Adam, RMSprop
from ..core.schedules import WarmupCosine
from .selfcheck import (GRAD_TOL, VALUE_TOL, Fail, as_array, built_with, call, first_difference, inputs,
                        inverted_dropout, kw, largest_difference, need_callable, need_class,
                        optimizer_case, rates_until_wrong, rubric_item, run, stream,
                        trajectory, within)
# what notebooks and older code read from here
from .selfcheck import CheckResult, CheckTimeout, time_limit  # noqa: F401

# short names inside this module
_Fail, _call, _run, _rng, _as_array, _kw = Fail, call, run, stream, as_array, kw


def _fmt_errors(errors):
    return ", ".join(f"{k} {v:.1e}" for k, v in errors.items())


# ----------------------------------------------------------------------------- exercise 1
def layernorm(cls, *, verbose=True, seed=None, upto=None):
    """Check a LayerNorm class: ``cls(normalized_shape)`` with ``weight``/``bias`` Params.

    Compares forward with ``nblib.LayerNorm`` (also on a batch of one) and
    gradient-checks backward with ``nblib.check_layer``: the relative error of
    the input, weight and bias gradients must be below ``GRAD_TOL``.
    ``upto="forward"`` checks the forward only (the rubric's first item).
    """
    need_class(cls, "your LayerNorm")
    rubric_item(upto, ("forward",))
    probe = Probe("ex_layernorm", seed)

    def body():
        rng = _rng(seed, 1)
        d = 6 if seed is None else int(rng.integers(3, 10))
        layer = _call(f"{cls.__name__}({d})", cls, d)
        if not isinstance(layer, Module):
            raise _Fail(f"{cls.__name__} must subclass nblib.Module (class "
                        f"{cls.__name__}(Module): ...), so that it fits in a Sequential")
        params = dict(_call("named_parameters()", layer.named_parameters))
        for pname in ("weight", "bias"):
            p = params.get(pname)
            if not isinstance(p, Param) or p.value.shape != (d,):
                raise _Fail(f"{cls.__name__}({d}) must have a Param '{pname}' of shape ({d},), "
                            f"found parameters {sorted(params)}")
        values = {pname: rng.normal(1.0 if pname == "weight" else 0.0, 0.5, d)
                  for pname in ("weight", "bias")}
        for pname, value in values.items():
            params[pname].value[...] = value
        x = inputs(rng, 5 if seed is None else int(rng.integers(3, 9)), d)

        def forward_of(ln_cls, rows):
            other = ln_cls(d)
            for pname, value in values.items():
                getattr(other, pname).value[...] = value
            return np.asarray(other.forward(x[:rows].copy()), dtype=float)

        out = _as_array(_call("forward(x)", layer.forward, x.copy()), "forward(x)", x.shape)
        expected = probe.want("forward", lambda: forward_of(LayerNorm, len(x)))
        err = rel_error(out, expected)
        if not within(err, VALUE_TOL) or probe.recording:
            hint = probe.mistake("forward", out, lambda wrong: forward_of(wrong, len(x)),
                                 VALUE_TOL * (1 + np.abs(expected).max()))
            if not within(err, VALUE_TOL):
                raise _Fail(f"forward(x) differs from nblib.LayerNorm: relative error {err:.1e}"
                            + (f": {hint}" if hint else ""), forward=err)
        one = _as_array(_call("forward(x[:1])", layer.forward, x[:1].copy()), "forward(x[:1])",
                        (1, d))
        err_one = rel_error(one, probe.want("forward one", lambda: forward_of(LayerNorm, 1)))
        if not within(err_one, VALUE_TOL):
            raise _Fail(f"forward on a batch of one example differs from nblib.LayerNorm "
                        f"(relative error {err_one:.1e}): a row must not depend on other rows",
                        forward=err_one)
        if upto == "forward":
            return (f"forward matches nblib.LayerNorm (relative error {err:.1e}), also on a "
                    "batch of one", dict(forward=err))

        dout = rng.normal(size=x.shape)
        _call("forward(x)", layer.forward, x.copy())          # backward follows this forward
        _as_array(_call("backward(dout)", layer.backward, dout), "backward(dout)", x.shape)
        errors = _call("the gradient check (forward then backward)", check_layer, layer, x,
                       rng=_rng(seed, 2))
        bad = {k: v for k, v in errors.items() if not within(v, GRAD_TOL)}
        if bad:
            worst = max(bad, key=lambda k: bad[k] if math.isfinite(bad[k]) else math.inf)
            raise _Fail(f"gradient check failed for {', '.join(bad)}: relative error "
                        f"{_fmt_errors(bad)} (a correct backward gives < {GRAD_TOL:.0e}); "
                        f"look at the gradient with respect to {worst} first",
                        forward=err, **errors)
        return (f"forward matches nblib.LayerNorm (relative error {err:.1e}); gradient check: "
                f"{_fmt_errors(errors)}", dict(forward=err, **errors))

    return _run("layernorm", body, verbose)


# ----------------------------------------------------------------------------- exercise 2
def _reference_steps(opt_cls, w0, grads, lrs, **options):
    """Weights after each step of an nblib optimizer fed the given gradients (flattened)."""
    return trajectory(opt_cls, options, w0, grads, lrs, student=False)


def _trajectory_error(got, ref):
    """The largest difference between two trajectories (NaN if a weight is NaN: it never
    passes ``within``)."""
    return largest_difference(got, ref)


def adam_l2(step_fn, *, verbose=True, seed=None, upto=None):
    """Check ``step_fn(w, grad, m, v, t, *, lr, weight_decay, betas, eps) -> (w, m, v)``.

    Six steps must match ``nblib.Adam(weight_decay=...)`` (that is
    ``torch.optim.Adam``): L2 weight decay added to the gradient, then Adam with
    bias correction.  ``t`` is 1 at the first step. ``upto="adam"`` checks the steps
    without weight decay only (the moments and the bias correction: the rubric's first item).
    """
    need_callable(step_fn, "your Adam + L2 step", "step_fn")
    rubric_item(upto, ("adam",))
    probe = Probe("ex_adam_l2", seed)
    key = "adam/trajectory" if upto == "adam" else "trajectory"   # other inputs: no decay

    def body():
        rng = _rng(seed, 3)
        shape = (3, 4) if seed is None else tuple(int(k) for k in rng.integers(2, 6, 2))
        w0 = rng.normal(0, 1, shape)
        # gradients of very different sizes per weight: L2 and decoupled decay then differ
        sizes = np.logspace(-3, 0, int(np.prod(shape))).reshape(shape)
        grads = [rng.normal(0, 1, shape) * sizes for _ in range(6)]
        lr, wd, betas, eps = 0.01, 0.1, (0.9, 0.999), 1e-8
        if seed is not None:
            lr, wd = float(rng.uniform(0.005, 0.05)), float(rng.uniform(0.05, 0.3))
            betas = (float(rng.uniform(0.8, 0.95)), float(rng.uniform(0.99, 0.9999)))
        if upto == "adam":
            wd = 0.0

        def steps(fn):
            w, m, v = w0.copy(), np.zeros(shape), np.zeros(shape)
            out = []
            for t, g in enumerate(grads, start=1):
                result = _call(f"step_fn(..., t={t})", fn, w.copy(), g.copy(), m.copy(),
                               v.copy(), t, lr=lr, weight_decay=wd, betas=betas, eps=eps)
                if not isinstance(result, tuple) or len(result) != 3:
                    raise _Fail(f"step_fn must return the tuple (w, m, v), got "
                                f"{type(result).__name__}")
                w, m, v = (_as_array(a, f"returned {n}", shape) for a, n in zip(result, "wmv"))
                out.append(w.ravel().copy())
            return out

        got = steps(step_fn)
        lrs = [lr] * len(grads)
        ref = probe.want(key, lambda: _reference_steps(
            Adam, w0, grads, lrs, betas=betas, eps=eps, weight_decay=wd))
        err = _trajectory_error(got, ref)
        if within(err, 1e-10) and not probe.recording:
            return (f"six steps match nblib.Adam(weight_decay={wd}) "
                    f"(largest difference {err:.1e})", dict(max_abs_error=err))
        first_bad = first_difference(got, ref, 1e-10)[0]
        hint = probe.mistake(key, got, steps, 1e-10)
        if probe.recording:
            return "recorded", {}
        raise _Fail(f"weights differ from nblib.Adam(weight_decay={wd}) from step {first_bad} "
                    f"on (largest difference {err:.1e})"
                    + (f"; your update matches {hint}" if hint else ""), max_abs_error=err)

    return _run("adam_l2", body, verbose)


# ----------------------------------------------------------------------------- exercise 3
def best_hidden_size(choose_fn, *, verbose=True, seed=None):
    """Check ``choose_fn(sizes, val_losses, test_losses) -> (size, test_loss)``.

    The choice must be made on the validation loss, and the loss reported for it
    must be the chosen model's test loss: the one number that no choice has seen.
    """
    need_callable(choose_fn, "your hidden-size choice", "choose_fn")
    cases = _hidden_size_cases(_rng(seed, 11)) if seed is not None else [
        # sizes, validation losses, test losses: the best on test is not the best on validation
        ((8, 16, 32, 64, 128), (0.31, 0.22, 0.20, 0.21, 0.25), (0.30, 0.24, 0.23, 0.19, 0.26)),
        ((64, 4, 32, 16), (0.18, 0.40, 0.21, 0.17), (0.15, 0.41, 0.22, 0.20)),
    ]

    def body():
        for sizes, val, test in cases:
            out = _call(f"choose_fn(sizes={list(sizes)}, ...)", choose_fn, list(sizes),
                        np.array(val), np.array(test))
            if not isinstance(out, tuple) or len(out) != 2:
                raise _Fail(f"choose_fn must return the pair (size, test_loss), got "
                            f"{type(out).__name__} {out!r:.60}")
            size, loss = out
            best = int(np.argmin(val))
            by_test = int(np.argmin(test))
            if size not in sizes:
                hint = (" (that is a position in the list: return sizes[i])"
                        if isinstance(size, (int, np.integer)) and 0 <= size < len(sizes) else "")
                raise _Fail(f"chose {size!r}, which is not one of the sizes {list(sizes)}{hint}")
            if size != sizes[best]:
                why = (": that is the lowest *test* loss. Choosing on the test set makes its "
                       "loss an optimistic estimate; choose on the validation loss"
                       if size == sizes[by_test] else "")
                raise _Fail(f"with sizes {list(sizes)}, validation losses {list(val)} and test "
                            f"losses {list(test)} you chose {size}, expected {sizes[best]} "
                            f"(lowest validation loss){why}")
            try:
                loss = float(loss)
            except (TypeError, ValueError):
                raise _Fail(f"the reported test loss must be a number, got {loss!r:.60}") from None
            if not np.isclose(loss, test[best]):
                why = ""
                if np.isclose(loss, val[best]):
                    why = (": that is its validation loss, which took part in the choice; "
                           "report the chosen model's test loss")
                elif np.isclose(loss, min(test)):
                    why = ": that is the lowest test loss of all sizes, not the chosen model's"
                raise _Fail(f"chose {size} correctly but reported loss {loss}, expected its "
                            f"test loss {test[best]}{why}")
        return "chooses on the validation loss and reports the chosen model's test loss", {}

    return _run("best_hidden_size", body, verbose)


def _hidden_size_cases(rng):
    """Two random cases in which the lowest test loss is not at the lowest validation loss."""
    cases = []
    while len(cases) < 2:
        k = int(rng.integers(4, 8))
        sizes = tuple(int(h) for h in rng.choice(np.arange(8, 257, 8), k, replace=False))
        val = tuple(round(float(v), 3) for v in rng.uniform(0.1, 0.5, k))
        test = tuple(round(float(v), 3) for v in rng.uniform(0.1, 0.5, k))
        if len(set(val)) == k and len(set(test)) == k and np.argmin(val) != np.argmin(test):
            cases.append((sizes, val, test))
    return cases


# ----------------------------------------------------------------------------- exercise 4
def sgd_momentum(step_fn, *, verbose=True, seed=None):
    """Check ``step_fn(w, grad, buf, *, lr, momentum) -> (w, buf)``, ``buf=None`` at first.

    Six steps, with a learning rate that changes between steps, must match
    ``nblib.SGD(momentum=...)`` (``torch.optim.SGD``):
    ``buf = momentum * buf + grad`` (``buf = grad`` at the first step), ``w -= lr * buf``.
    """
    need_callable(step_fn, "your SGD-with-momentum step", "step_fn")
    probe = Probe("ex_momentum", seed)

    def body():
        rng = _rng(seed, 4)
        shape = (5,) if seed is None else (int(rng.integers(3, 9)),)
        w0 = rng.normal(0, 1, shape)
        grads = [rng.normal(0, 1, shape) for _ in range(6)]
        lrs = [0.1, 0.1, 0.05, 0.05, 0.02, 0.2]     # as a schedule would
        mu = 0.9
        if seed is not None:
            lrs = [float(v) for v in rng.choice([0.2, 0.1, 0.05, 0.02], 6)]
            lrs[1] = lrs[0] / 2                     # the rate always changes once
            mu = float(rng.uniform(0.5, 0.95))
        def steps(fn):
            w, buf, out = w0.copy(), None, []
            for k, (g, lr) in enumerate(zip(grads, lrs), start=1):
                result = _call(f"step_fn(...) at step {k}", fn, w.copy(), g.copy(),
                               None if buf is None else buf.copy(), lr=lr, momentum=mu)
                if not isinstance(result, tuple) or len(result) != 2:
                    raise _Fail(f"step_fn must return the pair (w, buf), got "
                                f"{type(result).__name__}")
                w = _as_array(result[0], "returned w", shape)
                buf = _as_array(result[1], "returned buf", shape)
                out.append(w.ravel().copy())
            return out

        got = steps(step_fn)
        ref = probe.want("trajectory", lambda: _reference_steps(SGD, w0, grads, lrs,
                                                                 momentum=mu))
        err = _trajectory_error(got, ref)
        if within(err, 1e-12) and not probe.recording:
            return (f"six steps match nblib.SGD(momentum={mu}) (largest difference {err:.1e})",
                    dict(max_abs_error=err))
        first_bad = first_difference(got, ref, 1e-12)[0]
        hint = probe.mistake("trajectory", got, steps, 1e-12)
        if probe.recording:
            return "recorded", {}
        raise _Fail(f"weights differ from nblib.SGD(momentum={mu}) from step {first_bad} on "
                    f"(largest difference {err:.1e})" + (f"; your update is {hint}" if hint
                                                          else ""), max_abs_error=err)

    return _run("sgd_momentum", body, verbose)


# ----------------------------------------------------------------------------- exercise 5
def warmup_cosine(schedule_fn, *, verbose=True, seed=None, upto=None):
    """Check ``schedule_fn(step, lr, total_steps, warmup_steps=0, min_lr=0.0) -> float``.

    Every step from 0 to past the end must match ``nblib.WarmupCosine``: a linear
    warm-up to ``lr`` reached at step ``warmup_steps - 1``, then a cosine down to
    ``min_lr`` at ``total_steps``, and ``min_lr`` after that. ``upto="warmup"`` checks the
    warm-up's steps only (the rubric's first item).
    """
    need_callable(schedule_fn, "your learning-rate schedule", "schedule_fn")
    rubric_item(upto, ("warmup",))
    settings = [dict(lr=0.1, total_steps=100, warmup_steps=10, min_lr=0.0),
                dict(lr=0.02, total_steps=40, warmup_steps=0, min_lr=0.001),
                dict(lr=1.0, total_steps=7, warmup_steps=3, min_lr=0.1)]
    if seed is not None:
        rng = _rng(seed, 12)
        settings = []
        for warmup in (0, int(rng.integers(1, 8))):
            lr, total = float(rng.uniform(0.01, 1.0)), warmup + int(rng.integers(5, 50))
            settings.append(dict(lr=lr, total_steps=total, warmup_steps=warmup,
                                 min_lr=float(rng.uniform(0, lr / 5))))

    probe = Probe("ex_warmup_cosine", seed)

    def schedule(fn, s):
        """fn's rate at every step of setting s, up to the first that is not a number."""
        return [fn(step, s["lr"], s["total_steps"], warmup_steps=s["warmup_steps"],
                   min_lr=s["min_lr"]) for step in range(s["total_steps"] + 5)]

    def body():
        checked = 0
        for i, s in enumerate(settings):
            want = probe.want(f"{i}/lrs", lambda: np.array([WarmupCosine(
                s["lr"], s["total_steps"], s["warmup_steps"], s["min_lr"])(step)
                for step in range(s["total_steps"] + 5)]))
            got, all_right = rates_until_wrong(
                "schedule_fn", lambda step: _call(
                    f"schedule_fn({step}, ...)", schedule_fn, step, s["lr"], s["total_steps"],
                    warmup_steps=s["warmup_steps"], min_lr=s["min_lr"]),
                range(s["warmup_steps"] if upto else s["total_steps"] + 5), want)
            if all_right:
                checked += len(got)
                if not probe.recording:
                    continue
            says = probe.mistake(f"{i}/lrs", np.array(got),
                                 lambda wrong: np.array(schedule(wrong, s), dtype=float),
                                 1e-9, prefix=True)
            if probe.recording:
                continue
            step = len(got) - 1
            phase = ("warm-up" if step < s["warmup_steps"] else
                     "after the end" if step > s["total_steps"] else "cosine")
            raise _Fail(f"at step {step} ({phase}) with {_kw(s)}: got {got[-1]:.6g}, "
                        f"expected {want[step]:.6g}" + (f"; {says}" if says else ""),
                        step=step, got=got[-1], expected=float(want[step]))
        return (f"all {checked} learning rates{' of the warm-up' if upto else ''} match "
                "nblib.WarmupCosine", {"checked": checked})

    return _run("warmup_cosine", body, verbose)


# ----------------------------------------------------------------------------- exercise 6
def dropout(cls, *, verbose=True, seed=None, upto=None):
    """Check an inverted-dropout class: ``cls(p, rng=generator)``, ``p`` the probability to DROP.

    In training mode about a fraction ``p`` of the activations must be zero and
    the others scaled by ``1 / (1 - p)``; backward must use the same mask;
    evaluation mode (``layer.eval()``) and ``p = 0`` must be the identity.
    ``upto="training"`` checks the training mask and its scaling only (the rubric's first
    item), not backward and the evaluation mode.
    """
    need_class(cls, "your Dropout")
    rubric_item(upto, ("training",))

    def body():
        p = 0.3 if seed is None else round(float(_rng(seed, 0).uniform(0.15, 0.4)), 3)
        layer = _call(f"{cls.__name__}({p}, rng=...)", cls, p, rng=_rng(seed, 5))
        if not isinstance(layer, Module):
            raise _Fail(f"{cls.__name__} must subclass nblib.Module, so that it has train() "
                        "and eval() and fits in a Sequential")
        x = _rng(seed, 6).uniform(0.5, 2.0, (400, 50))
        dropped = inverted_dropout(layer, p, x, _rng(seed, 7).normal(size=x.shape), upto=upto)
        zero = _call(f"{cls.__name__}(0.0, rng=...)", cls, 0.0, rng=_rng(seed, 8))
        out_zero = _as_array(_call("forward(x) with p=0", zero.forward, x.copy()),
                             "forward(x) with p=0", x.shape)
        if not np.allclose(out_zero, x):
            raise _Fail("with p=0 nothing may be dropped: forward must return x unchanged")
        if not isinstance(getattr(layer, "rng", None), np.random.Generator):
            raise _Fail("keep the generator in self.rng and draw the mask from it, so that runs "
                        "are reproducible and the gradient check can replay the mask")
        if upto == "training":
            return (f"drops {dropped:.1%} at p={p}, scales survivors by 1/(1-p), fresh masks "
                    "from self.rng", dict(dropped=dropped))
        fresh = _call(f"{cls.__name__}({p}, rng=...)", cls, p, rng=_rng(seed, 9))
        errors = _call("the gradient check (forward then backward)", check_layer, fresh,
                       x[:4, :5].copy(), rng=_rng(seed, 10))
        if not within(errors["input"], GRAD_TOL):
            raise _Fail(f"gradient check failed for input: relative error {errors['input']:.1e} "
                        f"(a correct backward gives < {GRAD_TOL:.0e})", **errors)
        return (f"drops {dropped:.1%} at p={p}, scales survivors by 1/(1-p), backward reuses the "
                f"mask, eval is the identity; gradient check: input {errors['input']:.1e}",
                dict(dropped=dropped, **errors))

    return _run("dropout", body, verbose)




# ----------------------------------------------------------------------------- exercise 7
RMSPROP_LRS = (0.01, 0.01, 0.005, 0.005, 0.002, 0.02)
"""The rates of the six steps of ``rmsprop``'s check, as a schedule would set them."""


def rmsprop(cls, *, verbose=True, seed=None):
    """Check ``cls(params, lr=0.01, alpha=0.99, eps=1e-8)`` with ``lr`` and ``step()``.

    Two Params, six steps with a rate that changes between steps (set as
    ``optimizer.lr``), must match ``nblib.core.optim.RMSprop`` (``torch.optim.RMSprop``
    without momentum, weight decay or centering): per Param,
    ``v = alpha v + (1 - alpha) g²`` from ``v = 0``, then ``w -= lr g / (sqrt(v) + eps)``.
    A wrong update that is one of the usual mistakes (``nblib.teaching.mistakes.RMSPROP``) is named.
    """
    need_class(cls, "your RMSprop")
    probe = Probe("ex_rmsprop", seed)
    rng = _rng(seed, 13)
    shape = (3, 4) if seed is None else tuple(int(k) for k in rng.integers(2, 6, 2))
    settings = [dict(lr=0.01), dict(lr=0.01, alpha=0.9, eps=1e-3)]
    lrs = list(RMSPROP_LRS)
    if seed is not None:
        settings = [dict(lr=0.01, alpha=round(float(rng.uniform(0.9, 0.999)), 4)),
                    dict(lr=0.01, alpha=round(float(rng.uniform(0.5, 0.9)), 3),
                         eps=float(10 ** rng.uniform(-3.5, -2)))]
        lrs = [float(v) for v in rng.choice([0.02, 0.01, 0.005, 0.002], 6)]
        lrs[1] = lrs[0] / 2                          # the rate always changes once

    def body():
        # two Params: the second's gradients are 100 times larger, so a square average
        # shared between them shows
        (w_a, grads_a), (w_b, grads_b) = optimizer_case(rng, shape), optimizer_case(rng, shape)
        w0 = (w_a, w_b)
        grads = [(ga, 100 * gb) for ga, gb in zip(grads_a, grads_b)]
        for i, options in enumerate(settings):
            got = trajectory(cls, options, w0, grads, lrs)
            want = probe.want(f"{i}/trajectory", lambda: trajectory(
                RMSprop, options, w0, grads, lrs, student=False))
            step, diff = first_difference(got, want, 1e-10)
            if step is None and not probe.recording:
                continue
            hint = probe.mistake(f"{i}/trajectory", got, lambda wrong: trajectory(
                wrong, options, w0, grads, lrs, student=False), 1e-10)
            hint = f"; your update {hint}" if hint else ""
            if probe.recording:
                continue
            size = "NaN or inf" if not math.isfinite(diff) else f"{diff:.2e}"
            raise _Fail(f"{built_with(options, lrs)}: the weights first differ from "
                        f"nblib.core.optim.RMSprop's at step {step}, by {size}{hint}",
                        step=step, difference=diff)
        return (f"{len(settings)} settings x {len(lrs)} steps of two Params match "
                "nblib.core.optim.RMSprop", {"settings": len(settings)})

    return _run("rmsprop", body, verbose)


def __getattr__(name):
    """``EXERCISES``, the exercises of 05_exercises: a view of ``nblib.teaching.registry``."""
    if name == "EXERCISES":
        from .registry import EXERCISES
        return EXERCISES
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
