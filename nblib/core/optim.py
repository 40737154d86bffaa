"""Optimizers with the update rules of ``torch.optim``: SGD, Adam, AdamW and RMSprop.

As in PyTorch, an optimizer holds ``param_groups``, a list of dicts, each with
its ``"params"`` and its options (``"lr"``, ``"weight_decay"``, ...), and
``state[p]``, what the update rule remembers about each Param ``p`` (a momentum
buffer; Adam's step count and moving averages).  ``step()`` updates every
``p.value`` in place, so the arrays the layers hold are the arrays that train.
"""
from __future__ import annotations

from collections import defaultdict

import numpy as np

from .validate import (boolean, check_options, nonnegative, pair, positive,
                      probability_below_one, unit_interval)
from .module import Module, Param


class Optimizer:
    """Base class: parameter groups, per-parameter state, ``zero_grad`` and a settable ``lr``.

    ``params`` is an iterable of Params, such as ``model.parameters()``, or of
    parameter groups: dicts such as ``{"params": matrices, "weight_decay": 0.1}``
    (see ``weight_decay_groups``).  An option a group leaves out takes the
    value given to the constructor.
    """

    option_specs = dict(lr=positive)   # each subclass lists its options and their checks

    def __init__(self, params, lr, **options):
        self.defaults = check_options(dict(lr=lr, **options), self.option_specs)
        self.param_groups = []
        self.state = defaultdict(dict)   # Param -> {"step": ..., "exp_avg": ..., ...}
        for group in _as_groups(params):
            self.add_param_group(group)

    def add_param_group(self, group):
        """Add a dict with "params" (Params) and options; missing options take the defaults."""
        where = f"params[{len(self.param_groups)}]"
        if not isinstance(group, dict) or "params" not in group:
            raise TypeError(f"{where} must be a dict with a 'params' key, got {group!r}")
        params = _as_params(group["params"], f"{where}['params']")
        if not set(self.params).isdisjoint(params):
            raise ValueError(f"{where} holds a Param that is already in another group")
        options = {k: v for k, v in group.items() if k != "params"}
        options = check_options({**self.defaults, **options}, self.option_specs, where)
        self.param_groups.append(dict(params=params, **options))

    @property
    def lr(self):
        """The first group's learning rate; setting it sets every group's (a schedule does).

        A schedule may set it to 0 (a cosine ends there), as ``torch.optim`` allows.
        """
        return self.param_groups[0]["lr"]

    @lr.setter
    def lr(self, value):
        nonnegative(value, "lr", None)
        for group in self.param_groups:
            group["lr"] = value

    @property
    def params(self):
        """Every Param, group after group."""
        return [p for group in self.param_groups for p in group["params"]]

    def zero_grad(self):
        """Set every gradient to zero.

        nblib's layers *set* ``grad`` in backward, so the training loop does not
        need this; it is here for code written against ``torch.optim``.
        """
        for p in self.params:
            p.grad = np.zeros_like(p.value)

    def step(self):  # pragma: no cover - abstract
        """Update every Param of every group from its gradient (each subclass's rule)."""
        raise NotImplementedError

    def __repr__(self):
        options = ", ".join(f"{k}={v!r}" for k, v in dict(self.defaults, lr=self.lr).items())
        n = len(self.param_groups)
        return f"{type(self).__name__}({options}{f', {n} parameter groups' if n > 1 else ''})"


def _nesterov(value, name, options):
    if boolean(value, name) and options["momentum"] == 0:
        raise ValueError(f"{name}=True needs momentum > 0")
    return value


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum, as ``torch.optim.SGD``.

    For each Param w with gradient g:

        g = g + weight_decay * w                  (L2 penalty)
        buf = momentum * buf + g                  (buf = g at the first step)
        g = g + momentum * buf  if nesterov  else  buf
        w = w - lr * g
    """

    option_specs = dict(lr=positive, momentum=unit_interval, nesterov=_nesterov,
                        weight_decay=nonnegative)

    def __init__(self, params, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
        super().__init__(params, lr=lr, momentum=momentum, nesterov=nesterov,
                         weight_decay=weight_decay)

    def step(self):
        """Move every Param that has a gradient one step, in place (the rule above)."""
        for group in self.param_groups:
            lr, momentum, weight_decay = group["lr"], group["momentum"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                if weight_decay:
                    g = g + weight_decay * p.value
                if momentum:
                    buf = self.state[p].get("momentum_buffer")
                    if buf is None:
                        buf = self.state[p]["momentum_buffer"] = g.copy()
                    else:
                        buf *= momentum          # buf = momentum * buf + g, in place:
                        buf += g                 # state[p] keeps the same array
                    g = g + momentum * buf if group["nesterov"] else buf
                p.value -= lr * g                # in place: the layer's own array moves


class Adam(Optimizer):
    """Adam, as ``torch.optim.Adam``: momentum on the gradient, and a step size per weight.

    For each Param w with gradient g, at its step t = 1, 2, ...:

        g = g + weight_decay * w                  (L2 penalty, in the gradient)
        m = beta1 m + (1 - beta1) g               (moving average of g ...
        v = beta2 v + (1 - beta2) g^2              ... and of g^2, both starting at 0)
        m_hat = m / (1 - beta1^t)                 (undo the pull towards 0
        v_hat = v / (1 - beta2^t)                  of the first steps)
        w = w - lr m_hat / (sqrt(v_hat) + eps)
    """

    option_specs = dict(lr=positive, betas=pair(probability_below_one), eps=positive,
                        weight_decay=nonnegative)
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)

    def step(self):
        """Move every Param that has a gradient one step, in place (the rule above)."""
        for group in self.param_groups:
            lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
            weight_decay = group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                w, g, state = p.value, p.grad, self.state[p]
                if not state:
                    state.update(step=0, exp_avg=np.zeros_like(w), exp_avg_sq=np.zeros_like(w))
                state["step"] += 1
                t, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]
                if weight_decay:
                    g = g + weight_decay * w                 # L2 penalty, in the gradient
                # m, v and w change in place, as in torch.optim: state[p] and the layer keep
                # their arrays, and a step makes few new arrays (fresh memory is slow)
                m *= beta1
                m += (1 - beta1) * g                         # m = beta1 m + (1 - beta1) g
                v *= beta2
                v += (1 - beta2) * g * g                     # v = beta2 v + (1 - beta2) g^2
                m_hat = m / (1 - beta1**t)
                v_hat = v / (1 - beta2**t)
                w -= lr * m_hat / (np.sqrt(v_hat) + eps)


class AdamW(Adam):
    """Adam with decoupled weight decay, as ``torch.optim.AdamW``.

    The decay shrinks the weights directly, ``w = w - lr * weight_decay * w``,
    instead of entering the gradient, where Adam's per-weight scaling would
    weaken it for exactly the weights with large gradients. So a step is two steps:
    the shrink, then Adam's step with no L2 term.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        super().__init__(params, lr, betas, eps, weight_decay)

    def step(self):
        """Shrink every Param that has a gradient, then take Adam's step without L2."""
        decays = [group["weight_decay"] for group in self.param_groups]
        for group, decay in zip(self.param_groups, decays):
            for p in group["params"]:
                if p.grad is not None:
                    p.value *= 1 - group["lr"] * decay       # w = w - lr weight_decay w
            group["weight_decay"] = 0.0                      # Adam's step: no L2 term
        try:
            super().step()
        finally:
            for group, decay in zip(self.param_groups, decays):
                group["weight_decay"] = decay


class RMSprop(Optimizer):
    """RMSprop, as ``torch.optim.RMSprop`` (not centered): a step size per weight.

    For each Param w with gradient g:

        g = g + weight_decay * w                  (L2 penalty, in the gradient)
        v = alpha v + (1 - alpha) g^2             (moving average of g^2, from 0)
        buf = momentum buf + g / (sqrt(v) + eps)  if momentum  else  buf = g / (sqrt(v) + eps)
        w = w - lr buf

    Adam is this with momentum on g itself (its m) and a bias correction of both
    averages; RMSprop keeps no step count, so its first steps are large (v starts at 0).
    """

    option_specs = dict(lr=positive, alpha=unit_interval, eps=positive,
                        weight_decay=nonnegative, momentum=unit_interval)

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0):
        super().__init__(params, lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                         momentum=momentum)

    def step(self):
        """Move every Param that has a gradient one step, in place (the rule above)."""
        for group in self.param_groups:
            lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
            weight_decay, momentum = group["weight_decay"], group["momentum"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g, state = p.grad, self.state[p]
                if weight_decay:
                    g = g + weight_decay * p.value
                if not state:
                    state["square_avg"] = np.zeros_like(p.value)
                v = state["square_avg"]
                v *= alpha
                v += (1 - alpha) * g * g                     # v = alpha v + (1 - alpha) g^2
                step = g / (np.sqrt(v) + eps)                # eps after the square root
                if momentum:
                    buf = state.setdefault("momentum_buffer", np.zeros_like(p.value))
                    buf *= momentum
                    buf += step                              # buf = momentum buf + step
                    step = buf
                p.value -= lr * step


def weight_decay_groups(params, weight_decay):
    """Parameter groups as nanoGPT makes them: weight matrices decay, the rest does not.

    Biases and normalisation parameters (gamma, beta) are vectors: decaying them
    towards 0 only fights the normalisation.  Returns a list of up to two dicts,
    ``{"params": matrices, "weight_decay": weight_decay}`` and
    ``{"params": vectors, "weight_decay": 0.0}``, leaving out an empty one.
    """
    params = _as_params(params, "params")
    matrices = [p for p in params if p.value.ndim >= 2]
    vectors = [p for p in params if p.value.ndim < 2]
    groups = [dict(params=matrices, weight_decay=weight_decay),
              dict(params=vectors, weight_decay=0.0)]
    return [g for g in groups if g["params"]]


# --- reading ``params`` -----------------------------------------------------------------------

def _as_list(params, name):
    if isinstance(params, (Module, dict, str)) or not hasattr(params, "__iter__"):
        hint = " (call model.parameters())" if isinstance(params, Module) else ""
        raise TypeError(f"{name} must be an iterable of Params, such as model.parameters(), "
                        f"got {type(params).__name__}{hint}")
    return list(params)


def _as_params(params, name):
    """A list of Params; a single Param is a list of one, as in torch.optim."""
    params = [params] if isinstance(params, Param) else _as_list(params, name)
    for j, p in enumerate(params):
        if not isinstance(p, Param):
            raise TypeError(f"{name}[{j}] must be an nblib Param, got {type(p).__name__}")
        if p in params[:j]:   # torch.optim would step it twice, and warns that this will fail
            raise ValueError(f"{name}[{j}] is listed before: give each Param once")
    return params


def _as_groups(params):
    """``params`` as a list of group dicts: one group, or the dicts as given."""
    params = _as_list(params, "params")
    if not params:
        raise ValueError("params must contain at least one Param, got an empty list")
    if all(isinstance(g, dict) for g in params):
        return params
    return [{"params": _as_params(params, "params")}]
