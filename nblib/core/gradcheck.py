"""Gradient checks: compare backward() with centred finite differences.

For a scalar loss L(x), the centred difference ``(L(x + h) - L(x - h)) / 2h``
has error O(h^2); in float64 with h = 1e-6 the analytic and numerical
gradients of a correct layer agree to a relative error around 1e-9 or better.
The error is measured norm-wise, ``||a - b|| / (||a|| + ||b||)``, which stays
meaningful when some true gradients are zero (an element-wise maximum of
relative errors explodes there).
"""
from __future__ import annotations

import numpy as np

from .validate import arguments, array, function, generator, instance, positive
from .loss import bce_with_logits
from .module import Module


@arguments(a=array(finite=False, scalar=True, dtype_kind="biuf"),
           b=array(finite=False, scalar=True, dtype_kind="biuf"))
def rel_error(a, b):
    """Norm-wise relative error between two arrays of the same shape (0 if both are 0)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)   # numbers and lists too
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if denom == 0 else float(np.linalg.norm(a - b) / denom)


# x is perturbed in place, so it must be f's own array: a converted copy would never reach f
@arguments(f=function, x=array(dtype_kind="f", lists=False), h=positive)
def numerical_gradient(f, x, h=1e-6):
    """Centred finite-difference gradient of the scalar function ``f()`` w.r.t. array ``x``.

    ``x`` is perturbed in place, one element at a time, and restored.
    Returns an array of x's shape.
    """
    grad = np.zeros_like(x, dtype=float)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        f_plus = f()
        x[i] = old - h
        f_minus = f()
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad


def _freeze_randomness(module):
    """Snapshot every generator inside ``module``; return a function restoring them.

    Dropout draws a new mask on each forward; restoring the generator before
    each forward makes the layer the same function for every finite difference.
    """
    gens = [m.rng for m in module.modules() if isinstance(getattr(m, "rng", None),
                                                          np.random.Generator)]
    states = [g.bit_generator.state for g in gens]

    def restore():
        for g, s in zip(gens, states):
            g.bit_generator.state = s
    return restore


_module = instance(Module, "an nblib Module")


def _require_float64(module, name):
    """Finite differences subtract two nearly equal losses: float32 (7 digits) drowns the
    gradient in rounding, so a check of float32 parameters would report errors of ~1e-2."""
    low = sorted({str(p.value.dtype) for p in module.parameters()} - {"float64"})
    if low:
        raise ValueError(f"{name} has {' and '.join(low)} parameters: a gradient check needs "
                         "float64 (build it with dtype=np.float64, or "
                         "SpiralConfig(dtype=\"float64\"))")


@arguments(layer=_module, x=array(ndim=2), rng=generator, h=positive)
def check_layer(layer, x, *, rng=None, h=1e-6):
    """Relative errors of a layer's gradients: {"input": e, "weight": e, ...}.

    The loss is ``sum(layer(x) * dout)`` with ``dout`` drawn from its own
    generator ``rng``: a random upstream gradient, because with ``dout = ones``
    some checks are vacuous (BatchNorm's input gradient is then exactly zero).
    """
    _require_float64(layer, "layer")
    x = np.array(x, dtype=np.float64)                 # a copy: it is perturbed in place
    rng = np.random.default_rng(rng)                  # a Generator stays itself; a seed makes one
    restore = _freeze_randomness(layer)
    restore()
    out = layer.forward(x)
    dout = rng.standard_normal(out.shape)
    dx = layer.backward(dout.copy())
    analytic = {"input": dx}
    analytic.update({name: p.grad.copy() for name, p in layer.named_parameters()})

    def loss():
        restore()
        return float(np.sum(layer.forward(x) * dout))

    errors = {"input": rel_error(dx, numerical_gradient(loss, x, h))}
    for name, p in layer.named_parameters():
        errors[name] = rel_error(analytic[name], numerical_gradient(loss, p.value, h))
    return errors


@arguments(model=_module, X=array(ndim=2), h=positive)
def check_model(model, X, y, *, h=1e-6):
    """Relative error of every parameter's gradient for the BCE loss of the whole model.

    Returns {"0.weight": e, "1.weight": e, ...}, named as PyTorch names them.
    The model must compute in float64 (a float32 check would report rounding errors).
    """
    _require_float64(model, "model")
    X = np.asarray(X)                                 # a nested list works too
    restore = _freeze_randomness(model)
    restore()
    logits = model.forward(X)
    _, dlogits = bce_with_logits(logits, y)
    model.backward(dlogits)
    analytic = {name: p.grad.copy() for name, p in model.named_parameters()}

    def loss():
        restore()
        return bce_with_logits(model.forward(X), y)[0]

    return {name: rel_error(analytic[name], numerical_gradient(loss, p.value, h))
            for name, p in model.named_parameters()}
