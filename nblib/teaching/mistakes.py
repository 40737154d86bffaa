"""The usual mistakes of every task, as a student would write them.

Each entry is a wrong piece of code and words that the task's self-check must say
about it. The registry (``nblib.teaching.registry``) gives each task its list; the tests run
every one of them (each must FAIL with its words), and the teacher guide shows what
the self-check says to each, computed when the book is built. The wrong pieces start
from the correct ones (the notebooks' solution cells) and change one thing, as
students do.

    Mistake(title, build, words, says="")

``build(correct)`` takes the namespace of the correct pieces (the notebook's cells,
run) and returns the wrong piece. Where ``says`` is given, the wrong piece's results
are recorded beside the reference's (``python -m nblib.teaching.expectations --write``)
and the self-check says ``says`` when the student's results are the wrong piece's:
the words of a mistake are written here only. A mistake without ``says`` is one that a
check of a property finds (a mask reused, a seed ignored), in that check's words.
"""
from __future__ import annotations

import types
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Mistake:
    title: str            # what the student did, for the teacher guide
    build: object         # build(correct namespace) -> the wrong piece
    words: str            # the self-check's message must contain this
    says: str = ""        # what the self-check says when it recognises the mistake


# ----------------------------------------------------------------------------- data
def _spirals(arms_fn, noise_fn=None, shuffle=True, global_rng=False):
    def make_spirals(n=300, noise=0.03, seed=42):
        rng = np.random if global_rng else np.random.default_rng(seed)
        arms = []
        for centres in arms_fn(n):
            jitter = noise_fn(rng, noise, n) if noise_fn else rng.normal(0, noise, (n, 2))
            arms.append(centres + jitter)
        X, y = np.vstack(arms), np.repeat([0, 1], n)
        if not shuffle:
            return X, y
        order = rng.permutation(2 * n)
        return X[order], y[order]
    return make_spirals


def _source_arms(n):
    arms = []
    for offset in (0.0, np.pi):
        theta = np.linspace(0, 4 * np.pi, n) + offset
        r = theta / (4 * np.pi)
        arms.append(np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1))
    return arms


MAKE_SPIRALS = [
    Mistake("adds the offset π to the angle before computing the radius (the source's bug)",
            lambda ns: _spirals(_source_arms), "arm 1 lies on arm 0's own curve"),
    Mistake("forgets to shuffle",
            lambda ns: _spirals(ns["spiral_centres"], shuffle=False), "not shuffled"),
    Mistake("draws from NumPy's global random state instead of a seeded generator",
            lambda ns: _spirals(ns["spiral_centres"], global_rng=True),
            "same seed gave different data"),
    Mistake("uses the noise as a variance",
            lambda ns: _spirals(ns["spiral_centres"],
                                noise_fn=lambda rng, s, n: rng.normal(0, s * s, (n, 2))),
            "not the variance"),
    Mistake("adds the same noise draw to x and y",
            lambda ns: _spirals(ns["spiral_centres"],
                                noise_fn=lambda rng, s, n: np.repeat(rng.normal(0, s, (n, 1)),
                                                                     2, axis=1)),
            "the same noise draw was added to x and y"),
]


# ----------------------------------------------------------------------------- Linear
def _linear_lecun(ns):
    class Linear(ns["Linear"]):
        def __init__(self, in_features, out_features, *, bias=True, rng=None, dtype=np.float64):
            super().__init__(in_features, out_features, bias=bias, rng=rng, dtype=dtype)
            rng = np.random.default_rng(0 if rng is None else rng)   # a Generator stays itself
            self.weight.value = rng.normal(0, np.sqrt(1 / in_features),
                                           (out_features, in_features))
            self.weight.grad = np.zeros_like(self.weight.value)
    return Linear


def _linear_mean_bias_grad(ns):
    class Linear(ns["Linear"]):
        def backward(self, dout):
            dx = super().backward(dout)
            if self.bias is not None:
                self.bias.grad = dout.mean(axis=0)
            return dx
    return Linear


def _linear_global_init(ns):
    class Linear(ns["Linear"]):
        def __init__(self, in_features, out_features, *, bias=True, rng=None, dtype=np.float64):
            super().__init__(in_features, out_features, bias=bias, rng=rng, dtype=dtype)
            self.weight.value = np.random.normal(0, np.sqrt(2 / in_features),
                                                 (out_features, in_features))
    return Linear


def _linear_weight_grad_over_n(ns):
    class Linear(ns["Linear"]):
        def backward(self, dout):
            dx = super().backward(dout)
            self.weight.grad = self.weight.grad / len(dout)
            return dx
    return Linear


def _linear_without_bias(ns):
    class Linear(ns["Linear"]):
        def forward(self, x):
            out = super().forward(x)
            return out if self.bias is None else out - self.bias.value
    return Linear


LINEAR = [
    Mistake("initialises with std sqrt(1 / in_features) (LeCun) instead of He's",
            _linear_lecun, "(LeCun)",
            "std sqrt(1 / in_features) (LeCun); He initialisation uses sqrt(2 / "
            "in_features) for ReLU"),
    Mistake("takes the mean of dout over the batch for bias.grad", _linear_mean_bias_grad,
            "the mean over the batch",
            "the mean over the batch; bias.grad = dout.sum(axis=0), not divided by N"),
    Mistake("draws the weights from np.random instead of rng", _linear_global_init,
            "draw them from rng"),
    Mistake("divides weight.grad by the batch size", _linear_weight_grad_over_n,
            "not divided by N",
            "the gradient of the mean over the batch: weight.grad = dout.T @ x, not divided "
            "by N (the loss already divides)"),
    Mistake("leaves the bias out of forward", _linear_without_bias, "left out the bias",
            "you left out the bias"),
]


# ----------------------------------------------------------------------------- ReLU
def _relu_mask_only(ns):
    class ReLU(ns["ReLU"]):
        def forward(self, x):
            self.x = x
            return np.maximum(x, 0)

        def backward(self, dout):
            return (self.x > 0).astype(float)
    return ReLU


def _relu_mask_from_dout(ns):
    class ReLU(ns["ReLU"]):
        def forward(self, x):
            return np.maximum(x, 0)

        def backward(self, dout):
            return dout * (dout > 0)
    return ReLU


def _relu_in_place(ns):
    class ReLU(ns["ReLU"]):
        def forward(self, x):
            self.mask = x > 0
            x[~self.mask] = 0
            return x

        def backward(self, dout):
            return dout * self.mask
    return ReLU


def _relu_mask_at_zero(ns):
    class ReLU(ns["ReLU"]):
        def forward(self, x):
            self.x = x.copy()
            return np.maximum(x, 0)

        def backward(self, dout):
            return dout * (self.x >= 0)
    return ReLU


RELU = [
    Mistake("returns the mask without multiplying by dout", _relu_mask_only,
            "multiply by the upstream gradient",
            "(x > 0) alone: multiply by the upstream gradient, dx = dout * (x > 0)"),
    Mistake("takes the mask from dout instead of the input", _relu_mask_from_dout,
            "must come from forward's input",
            "dout * (dout > 0): the mask must come from forward's input x, not from dout"),
    Mistake("lets the gradient through at x = 0 (x >= 0)", _relu_mask_at_zero,
            "taken as 0",
            "dout * (x >= 0): at x = 0 the gradient is taken as 0, by convention "
            "(PyTorch's)"),
    Mistake("zeroes the negative inputs in place", _relu_in_place, "in place"),
]


# ----------------------------------------------------------------------------- loss
def _bce_naive(ns):
    def bce_with_logits(logits, y):
        z = logits.reshape(-1)
        p = 1 / (1 + np.exp(-z))
        loss = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
        return loss, ((p - y) / len(z)).reshape(logits.shape)
    return bce_with_logits


def _bce_gradient_not_mean(ns):
    def bce_with_logits(logits, y):
        loss, dlogits = ns["bce_with_logits"](logits, y)
        return loss, dlogits * len(logits)
    return bce_with_logits


def _bce_sum(ns):
    def bce_with_logits(logits, y):
        loss, dlogits = ns["bce_with_logits"](logits, y)
        return loss * len(logits), dlogits
    return bce_with_logits


def _bce_sign(loss_sign=1, grad_sign=1):
    def build(ns):
        def bce_with_logits(logits, y):
            loss, dlogits = ns["bce_with_logits"](logits, y)
            return loss_sign * loss, grad_sign * dlogits
        return bce_with_logits
    return build


BCE = [
    Mistake("computes the textbook formula literally (sigmoid, then logarithms)", _bce_naive,
            "not finite"),
    Mistake("forgets to divide the gradient by N", _bce_gradient_not_mean, "not divided by N",
            "sigmoid(z) - y, not divided by N: the loss is a mean over the N examples"),
    Mistake("sums the loss over the batch instead of averaging", _bce_sum, "the sum over the batch",
            "that is the sum over the batch; the loss is the mean"),
    Mistake("flips the sign of the loss", _bce_sign(loss_sign=-1), "sign is flipped",
            "the sign is flipped (the loss is -log of the probability of the label)"),
    Mistake("flips the sign of the gradient", _bce_sign(grad_sign=-1), "the sign is flipped",
            "(y - sigmoid(z)) / N: the sign is flipped"),
]


# ----------------------------------------------------------------------------- BatchNorm
def _bn_without_variance_path(ns):
    class BatchNorm(ns["BatchNorm"]):
        def forward(self, x):
            out = super().forward(x)
            mean, var = x.mean(axis=0), x.var(axis=0)
            self.keep = ((x - mean) / np.sqrt(var + self.eps), np.sqrt(var + self.eps))
            return out

        def backward(self, dout):
            dx = super().backward(dout)
            if not self.training:
                return dx
            x_hat, std = self.keep
            g = dout * self.weight.value
            return (len(dout) * g - g.sum(axis=0)) / (len(dout) * std)
    return BatchNorm


def _bn_momentum_reversed(ns):
    class BatchNorm(ns["BatchNorm"]):
        def forward(self, x):
            mean_before, var_before = self.running_mean.copy(), self.running_var.copy()
            out = super().forward(x)
            if self.training:
                n, m = len(x), self.momentum
                self.running_mean[...] = m * mean_before + (1 - m) * x.mean(axis=0)
                self.running_var[...] = m * var_before + (1 - m) * x.var(axis=0) * n / (n - 1)
            return out
    return BatchNorm


def _bn_eval_with_batch_statistics(ns):
    class BatchNorm(ns["BatchNorm"]):
        def forward(self, x):
            if self.training:
                return super().forward(x)
            x_hat = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + self.eps)
            return self.weight.value * x_hat + self.bias.value
    return BatchNorm


def _bn_over_features(ns):
    class BatchNorm(ns["BatchNorm"]):
        def forward(self, x):
            out = super().forward(x)
            x_hat = (x - x.mean(axis=1, keepdims=True)) / np.sqrt(
                x.var(axis=1, keepdims=True) + self.eps)
            return self.weight.value * x_hat + self.bias.value if self.training else out
    return BatchNorm


def _bn_unbiased(ns):
    class BatchNorm(ns["BatchNorm"]):
        def forward(self, x):
            out = super().forward(x)
            if not self.training:
                return out
            x_hat = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0, ddof=1) + self.eps)
            return self.weight.value * x_hat + self.bias.value
    return BatchNorm


def _bn_running(update):
    """A BatchNorm whose running statistics are updated by ``update(layer, x, before)``."""
    def build(ns):
        class BatchNorm(ns["BatchNorm"]):
            def forward(self, x):
                before = self.running_mean.copy(), self.running_var.copy()
                out = super().forward(x)
                if self.training:
                    update(self, x, before)
                return out
        return BatchNorm
    return build


def _bn_not_updated(layer, x, before):
    layer.running_mean[...], layer.running_var[...] = before


def _bn_biased_running_var(layer, x, before):
    m = layer.momentum
    layer.running_var[...] = (1 - m) * before[1] + m * x.var(axis=0)


BATCHNORM = [
    Mistake("leaves out the path through the variance in backward", _bn_without_variance_path,
            "path through the variance",
            "missing the path through the variance (the term with sum(dx_hat * x_hat))"),
    Mistake("updates the running statistics with the momentum the wrong way round",
            _bn_momentum_reversed, "weights the new batch",
            "updated as momentum * running + (1 - momentum) * batch: PyTorch's momentum "
            "weights the new batch, (1 - momentum) * running + momentum * batch"),
    Mistake("normalises with the batch's statistics in evaluation mode",
            _bn_eval_with_batch_statistics, "normalised with the batch's statistics",
            "you normalised with the batch's statistics; evaluation uses running_mean and "
            "running_var, so a prediction does not depend on the rest of the batch"),
    Mistake("normalises each example over its features (axis 1)", _bn_over_features, "axis 1",
            "normalised each example over its features (axis 1): BatchNorm normalises each "
            "feature over the batch (axis 0)"),
    Mistake("normalises with the unbiased variance", _bn_unbiased, "unbiased variance",
            "normalised with the unbiased variance (N - 1): use the biased one (divide by N); "
            "the unbiased variance is only for running_var"),
    Mistake("forgets to update the running statistics", _bn_running(_bn_not_updated),
            "not updated",
            "not updated: in training mode move it towards the batch statistic"),
    Mistake("updates running_var with the biased batch variance",
            _bn_running(_bn_biased_running_var), "running_var uses the unbiased one",
            "updated with the biased batch variance: running_var uses the unbiased one, "
            "var * N / (N - 1)"),
]


# ----------------------------------------------------------------------------- Dropout
def _dropout_scales_at_eval(ns):
    class Dropout(ns["Dropout"]):
        def forward(self, x):
            out = super().forward(x)
            return out if self.training else x * (1 - self.p)
    return Dropout


def _dropout_keep_probability(ns):
    class Dropout(ns["Dropout"]):
        def forward(self, x):
            if not self.training:
                return x
            self.mask = (self.rng.random(x.shape) < self.p) / self.p
            return x * self.mask

        def backward(self, dout):
            return dout * self.mask
    return Dropout


def _dropout_global_rng(ns):
    class Dropout(ns["Dropout"]):
        def forward(self, x):
            if not self.training:
                return x
            self.mask = (np.random.random(x.shape) >= self.p) / (1 - self.p)
            return x * self.mask

        def backward(self, dout):
            return dout * self.mask
    return Dropout


def _dropout_mask(shape_of, reuse=False):
    """A Dropout whose mask has the shape ``shape_of(x)`` (broadcast to x), or is drawn once."""
    def build(ns):
        class Dropout(ns["Dropout"]):
            def forward(self, x):
                if not self.training:
                    return x
                if not (reuse and getattr(self, "kept", None) is not None):
                    self.kept = (self.rng.random(shape_of(x)) >= self.p) / (1 - self.p)
                self.mask = np.broadcast_to(self.kept, x.shape)
                return x * self.mask

            def backward(self, dout):
                return dout * self.mask
        return Dropout
    return build


_FEATURE_MASK = (lambda x: x.shape[1:], "one mask per feature shared across the rows")
_REUSED_MASK = (lambda x: x.shape, "the mask was reused")


DROPOUT = [
    Mistake("also scales in evaluation mode", _dropout_scales_at_eval,
            "scaled in evaluation mode"),
    Mistake("draws one mask per feature and shares it across the rows",
            _dropout_mask(_FEATURE_MASK[0]), _FEATURE_MASK[1]),
    Mistake("draws the mask once and reuses it for every batch",
            _dropout_mask(_REUSED_MASK[0], reuse=True), _REUSED_MASK[1]),
    Mistake("treats p as the probability to keep", _dropout_keep_probability,
            "probability to keep"),
    Mistake("draws the mask from np.random instead of self.rng", _dropout_global_rng,
            "draw the mask from self.rng"),
]


# ----------------------------------------------------------------------------- SGD
def _sgd(rule, first_only=False):
    def build(ns):
        class SGD(ns["SGD"]):
            def step(self):
                for group in self.param_groups:
                    for p in group["params"][:1] if first_only else group["params"]:
                        rule(self.state[p], p, group)
                    if first_only:
                        break
        return SGD
    return build


def _sgd_torch(state, p, group):
    g = p.grad + group["weight_decay"] * p.value
    mu = group["momentum"]
    if mu:
        state["buf"] = g.copy() if "buf" not in state else mu * state["buf"] + g
        g = g + mu * state["buf"] if group["nesterov"] else state["buf"]
    p.value -= group["lr"] * g


def _sgd_ema(state, p, group):
    g = p.grad + group["weight_decay"] * p.value
    mu = group["momentum"]
    state["buf"] = (1 - mu) * g if "buf" not in state else mu * state["buf"] + (1 - mu) * g
    p.value -= group["lr"] * state["buf"]


def _sgd_lr_in_buffer(state, p, group):
    g = p.grad + group["weight_decay"] * p.value
    mu, lr = group["momentum"], group["lr"]
    state["buf"] = lr * g if "buf" not in state else mu * state["buf"] + lr * g
    p.value -= state["buf"]


def _sgd_decay_after_momentum(state, p, group):
    mu = group["momentum"]
    state["buf"] = p.grad.copy() if "buf" not in state else mu * state["buf"] + p.grad
    p.value -= group["lr"] * (state["buf"] + group["weight_decay"] * p.value)


def _sgd_plain(state, p, group):
    p.value -= group["lr"] * (p.grad + group["weight_decay"] * p.value)


SGD_MISTAKES = [
    Mistake("scales the gradient by (1 - momentum) in the buffer", _sgd(_sgd_ema),
            "(1 - momentum) factor",
            "the exponential-average form buf = momentum * buf + (1 - momentum) * g; "
            "torch.optim.SGD adds g without the (1 - momentum) factor"),
    Mistake("puts the learning rate inside the momentum buffer", _sgd(_sgd_lr_in_buffer),
            "keep lr out of the buffer",
            "a buffer that holds lr * g (w -= buf): that equals torch's only while lr is "
            "constant; keep lr out of the buffer"),
    Mistake("leaves out the momentum buffer", _sgd(_sgd_plain), "momentum buffer is missing",
            "plain SGD: the momentum buffer is missing"),
    Mistake("adds the weight decay after the momentum buffer", _sgd(_sgd_decay_after_momentum),
            "weight decay added after",
            "weight decay added after the momentum buffer; add weight_decay * w to the "
            "gradient first"),
    Mistake("updates only the first Param", _sgd(_sgd_torch, first_only=True),
            "only the first Param",
            "one that moves only the first Param: step() must update every Param of every "
            "group (for group in self.param_groups: for p in group['params'])"),
]


# ----------------------------------------------------------------------------- Adam
def _adam(correct=True, t_start=1, eps_inside=False, decoupled=False, first_only=False,
          shared=False, efficient=False):
    def build(ns):
        class Adam(ns["Adam"]):
            def step(self):
                one_for_all = self.__dict__.setdefault("one_for_all", {})
                for group in self.param_groups:
                    (b1, b2), eps = group["betas"], group["eps"]
                    lr, wd = group["lr"], group["weight_decay"]
                    for p in group["params"][:1] if first_only else group["params"]:
                        s = one_for_all if shared else self.state[p]
                        if decoupled:
                            p.value *= 1 - lr * wd
                            g = p.grad
                        else:
                            g = p.grad + wd * p.value
                        s["t"] = s.get("t", t_start - 1) + 1
                        s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
                        s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g * g
                        m_hat = s["m"] / (1 - b1 ** s["t"]) if correct else s["m"]
                        v_hat = s["v"] / (1 - b2 ** s["t"]) if correct else s["v"]
                        if efficient:      # Kingma & Ba's "more efficient" order
                            step = lr * np.sqrt(1 - b2 ** s["t"]) / (1 - b1 ** s["t"])
                            p.value -= step * s["m"] / (np.sqrt(s["v"]) + eps)
                            continue
                        denom = np.sqrt(v_hat + eps) if eps_inside else np.sqrt(v_hat) + eps
                        p.value -= lr * m_hat / denom
                    if first_only:
                        break
        return Adam
    return build


ADAM = [
    Mistake("leaves out the bias correction", _adam(correct=False), "without bias correction",
            "Adam without bias correction: divide m by (1 - beta1**t) and v by "
            "(1 - beta2**t)"),
    Mistake("counts the first step as t = 2", _adam(t_start=2), "t is 1 at the first step",
            "bias correction with t one too large: t is 1 at the first step"),
    Mistake("adds eps inside the square root", _adam(eps_inside=True),
            "eps inside the square root",
            "eps inside the square root: torch adds eps after it, sqrt(v_hat) + eps"),
    Mistake("decays the weights directly, as AdamW", _adam(decoupled=True),
            "AdamW (decoupled decay)",
            "AdamW (decoupled decay); Adam adds weight_decay * w to the gradient"),
    Mistake("updates only the first Param", _adam(first_only=True), "only the first Param",
            "one that moves only the first Param: step() must update every Param of every "
            "group (for group in self.param_groups: for p in group['params'])"),
    Mistake("keeps one m and one v for all the Params", _adam(shared=True), "one per Param",
            "one that shares m and v (and t) between the Params: keep them one per Param, "
            "in self.state[p]"),
    Mistake("uses the paper's efficient form (the bias corrections folded into the step size, "
            "eps added to sqrt(v))", _adam(efficient=True), "eps convention",
            "the paper's efficient form, lr_t = lr * sqrt(1 - beta2**t) / (1 - beta1**t) and "
            "w -= lr_t * m / (sqrt(v) + eps): the same maths with another eps convention "
            "(its eps is eps * sqrt(1 - beta2**t) in this page's terms). This page fixes "
            "torch.optim.Adam's: w -= lr * m_hat / (sqrt(v_hat) + eps), eps added after the "
            "bias correction"),
]


# ----------------------------------------------------------------------------- schedule
def _cosine(kind):
    import math

    def build(ns):
        class WarmupCosine(ns["WarmupCosine"]):
            def lr_at(self, step):
                w, total = self.warmup_steps, self.total_steps
                if step < w:
                    return self.lr * (step if kind == "warmup" else step + 1) / w
                if kind == "to_zero":
                    frac = (min(step, total) - w) / (total - w)
                    return self.lr * (1 + math.cos(math.pi * frac)) / 2
                if kind == "no_clamp":
                    frac = (step - w) / (total - w)
                elif kind == "from_zero":
                    frac = min(step, total) / total
                else:
                    frac = (min(step, total) - w) / (total - w)
                return self.min_lr + (self.lr - self.min_lr) * (1 + math.cos(math.pi * frac)) / 2
        return WarmupCosine
    return build


WARMUP_COSINE = [
    Mistake("reaches lr one step late in the warm-up (lr * step / warmup_steps)",
            _cosine("warmup"), "warmup_steps - 1",
            "the warm-up must reach lr at step warmup_steps - 1: lr * (step + 1) / warmup_steps"),
    Mistake("starts the cosine at step 0 instead of after the warm-up", _cosine("from_zero"),
            "start after the warm-up",
            "the cosine must start after the warm-up: use (step - warmup_steps) / (total_steps "
            "- warmup_steps)"),
    Mistake("lets the cosine go on past total_steps", _cosine("no_clamp"),
            "past total_steps", "past total_steps the rate must stay at min_lr"),
    Mistake("ends the cosine at 0 instead of min_lr", _cosine("to_zero"), "end at min_lr",
            "the cosine must end at min_lr, not at 0"),
]


# ----------------------------------------------------------------------------- the loop
def _loop(train_mode=True, shuffle=True, last_batch=True, lr_ahead=False, returns="mean"):
    def build(ns):
        from nblib.core.training import check_epoch_arguments   # the starter imports it

        def train_epoch(model, optimizer, X, y, *, batch_size, rng, schedule=None, step=0):
            X, y = check_epoch_arguments(model, optimizer, X, y, batch_size, rng, schedule, step)
            if train_mode:
                model.train()
            order = rng.permutation(len(X)) if shuffle else np.arange(len(X))
            stop = len(X) if last_batch else len(X) - batch_size + 1
            losses, sizes = [], []
            for start in range(0, stop, batch_size):
                batch = order[start:start + batch_size]
                if schedule is not None:
                    optimizer.lr = schedule(step + 1 if lr_ahead else step)
                loss, dlogits = bce_with_logits(model.forward(X[batch]), y[batch])
                model.backward(dlogits)
                optimizer.step()
                losses.append(loss)
                sizes.append(len(batch))
                step += 1
            if returns == "rows":
                return float(np.average(losses, weights=sizes))
            return float(losses[-1] if returns == "last" else
                         np.sum(losses) if returns == "sum" else np.mean(losses))
        # its own globals, holding the loss it calls by name, as a notebook's function does
        names = {"np": np, "bce_with_logits": ns["bce_with_logits"],
                 "check_epoch_arguments": check_epoch_arguments}
        return _with_globals(train_epoch, names)
    return build


def _with_globals(fn, names):
    """``fn`` with ``names`` as its globals (keyword-only defaults kept)."""
    new = types.FunctionType(fn.__code__, names, fn.__name__, fn.__defaults__, fn.__closure__)
    new.__kwdefaults__ = fn.__kwdefaults__
    return new


TRAIN_EPOCH = [
    Mistake("forgets model.train()", _loop(train_mode=False), "evaluation mode during the steps"),
    Mistake("takes the batches in order, without shuffling", _loop(shuffle=False),
            "not shuffled", "the rows were not shuffled; take the batches from "
                            "rng.permutation(len(X)), a new order every epoch"),
    Mistake("drops the last, smaller batch", _loop(last_batch=False), "last, smaller batch",
            "the last, smaller batch is missing (range(0, N, batch_size) covers it)"),
    Mistake("sets the learning rate of the next step", _loop(lr_ahead=True), "one step ahead",
            "one step ahead; set optimizer.lr = schedule(step) before the step, then step += 1"),
    Mistake("returns the last batch's loss", _loop(returns="last"), "the last batch's loss",
            "that is the last batch's loss; return the mean over every batch"),
    Mistake("returns the sum of the batch losses", _loop(returns="sum"),
            "the sum of the batch losses",
            "that is the sum of the batch losses; return their mean"),
    Mistake("weights each batch's loss by its size", _loop(returns="rows"),
            "each batch counting once",
            "that is the mean over the rows (each batch weighted by its size); this page's "
            "train_epoch returns the mean of the mini-batch losses, each batch counting once, "
            "float(np.mean(losses))"),
]


# ----------------------------------------------------------------------------- RMSprop
def _rmsprop(no_sqrt=False, eps_inside=False, swapped=False, shared=False, corrected=False):
    """A wrong RMSprop; it needs no correct piece (``build(None)`` works), so that the
    check can run it beside the student's."""
    def build(ns):
        class RMSprop:
            def __init__(self, params, lr=0.01, alpha=0.99, eps=1e-8):
                self.params = list(params)
                self.lr, self.alpha, self.eps = lr, alpha, eps
                self.state = {p: {} for p in self.params}
                self.one_for_all = {}

            def step(self):
                for p in self.params:
                    state = self.one_for_all if shared else self.state[p]
                    if not state:
                        state.update(square_avg=np.zeros_like(p.value), t=0)
                    a = 1 - self.alpha if swapped else self.alpha
                    g = p.grad
                    state["t"] += 1
                    state["square_avg"] = a * state["square_avg"] + (1 - a) * g * g
                    v = state["square_avg"]
                    if corrected:
                        v = v / (1 - self.alpha ** state["t"])
                    if no_sqrt:
                        denom = v + self.eps
                    elif eps_inside:
                        denom = np.sqrt(v + self.eps)
                    else:
                        denom = np.sqrt(v) + self.eps
                    p.value -= self.lr * g / denom
        return RMSprop
    return build


RMSPROP = [
    Mistake("divides by the square average itself, without the square root",
            _rmsprop(no_sqrt=True), "without the square root",
            "divides by v + eps, without the square root: the step is g / (sqrt(v) + eps)"),
    Mistake("adds eps inside the square root", _rmsprop(eps_inside=True),
            "eps inside the square root",
            "puts eps inside the square root: torch adds it after, g / (sqrt(v) + eps)"),
    Mistake("swaps alpha and 1 - alpha in the moving average", _rmsprop(swapped=True),
            "swaps alpha and 1 - alpha",
            "swaps alpha and 1 - alpha: alpha weights the old average, "
            "v = alpha * v + (1 - alpha) * g**2"),
    Mistake("keeps one square average for all the Params", _rmsprop(shared=True),
            "one per Param",
            "shares one square average between the Params: keep one per Param, "
            "in self.state[p]"),
    Mistake("divides v by 1 - alpha**t, as Adam corrects its bias", _rmsprop(corrected=True),
            "bias correction",
            "divides v by (1 - alpha**t), Adam's bias correction: torch's RMSprop has none, "
            "v simply starts at 0"),
]


# ============================================================================= the exercises
# build(ns) takes the namespace of 05_exercises' answer cells, run.

# ----------------------------------------------------------------------------- LayerNorm
def _layernorm(forward=None, backward=None):
    def build(ns):
        attrs = {k: v for k, v in (("forward", forward), ("backward", backward)) if v}
        return type("MyLayerNorm", (ns["MyLayerNorm"],), attrs)
    return build


def _ln_backward_without_variance_path(self, dout):
    x_hat, d = self._x_hat, dout.shape[1]
    self.bias.grad[...] = dout.sum(axis=0)
    self.weight.grad[...] = (dout * x_hat).sum(axis=0)
    g = dout * self.weight.value
    return self._inv_std / d * (d * g - g.sum(axis=1, keepdims=True))   # variance path missing


def _ln_backward_wrong_weight_grad(self, dout):
    dx = type(self).__mro__[1].backward(self, dout)
    self.weight.grad[...] = dout.sum(axis=0)                            # forgot x_hat
    return dx


def _ln_forward_over_batch(self, x):
    mean, var = x.mean(axis=0), x.var(axis=0)
    self._inv_std = 1 / np.sqrt(var + self.eps)
    self._x_hat = (x - mean) * self._inv_std
    return self._x_hat * self.weight.value + self.bias.value


EX_LAYERNORM = [
    Mistake("normalises each feature over the batch (axis 0), as BatchNorm does",
            _layernorm(forward=_ln_forward_over_batch), "matches BatchNorm",
            "it matches BatchNorm, which normalises each feature over the batch (axis 0); "
            "LayerNorm normalises each example over its features (axis 1)"),
    Mistake("leaves out the path through the variance in backward",
            _layernorm(backward=_ln_backward_without_variance_path),
            "gradient check failed for input"),
    Mistake("forgets x_hat in the weight's gradient",
            _layernorm(backward=_ln_backward_wrong_weight_grad), "failed for weight"),
]


# ----------------------------------------------------------------------------- Adam + L2
def _adam_step(decoupled=False, bias_correction=True, decay=True):
    def build(ns):
        def adam_l2_step(w, grad, m, v, t, *, lr, weight_decay, betas=(0.9, 0.999), eps=1e-8):
            weight_decay = weight_decay if decay else 0.0
            if decoupled:
                w = w * (1 - lr * weight_decay)
                g = grad
            else:
                g = grad + weight_decay * w
            m = betas[0] * m + (1 - betas[0]) * g
            v = betas[1] * v + (1 - betas[1]) * g * g
            if bias_correction:
                m_hat, v_hat = m / (1 - betas[0] ** t), v / (1 - betas[1] ** t)
            else:
                m_hat, v_hat = m, v
            return w - lr * m_hat / (np.sqrt(v_hat) + eps), m, v
        return adam_l2_step
    return build


EX_ADAM_L2 = [
    Mistake("decays the weights directly (AdamW) instead of adding the decay to the gradient",
            _adam_step(decoupled=True), "AdamW: you decayed the weights directly",
            "AdamW: you decayed the weights directly (decoupled); here the decay must go "
            "into the gradient, g = grad + weight_decay * w, before m and v"),
    Mistake("leaves out the weight decay", _adam_step(decay=False), "without weight decay",
            "Adam without weight decay: add weight_decay * w to the gradient"),
    Mistake("leaves out the bias correction", _adam_step(bias_correction=False),
            "without bias correction",
            "Adam without bias correction: divide m by (1 - beta1**t) and v by "
            "(1 - beta2**t)"),
]


# ----------------------------------------------------------------------------- hidden size
def _choose(by_test=False, report_validation=False, index=False, report_best_test=False):
    def build(ns):
        def choose_hidden_size(sizes, val_losses, test_losses):
            i = int(np.argmin(test_losses if by_test else val_losses))
            loss = (val_losses[i] if report_validation else
                    min(test_losses) if report_best_test else test_losses[i])
            return (i if index else sizes[i]), float(loss)
        return choose_hidden_size
    return build


EX_HIDDEN_SIZE = [
    Mistake("chooses the size with the lowest test loss", _choose(by_test=True),
            "lowest *test* loss"),
    Mistake("reports the chosen model's validation loss", _choose(report_validation=True),
            "validation loss, which took part in the choice"),
    Mistake("returns the position of the size in the list", _choose(index=True),
            "position in the list"),
    Mistake("reports the lowest test loss of all sizes", _choose(report_best_test=True),
            "lowest test loss of all"),
]


# ----------------------------------------------------------------------------- momentum
def _momentum_step(kind):
    def build(ns):
        def sgd_momentum_step(w, grad, buf, *, lr, momentum=0.9):
            if kind == "plain":
                return w - lr * grad, grad
            if kind == "ema":
                buf = (1 - momentum) * grad if buf is None else \
                    momentum * buf + (1 - momentum) * grad
                return w - lr * buf, buf
            buf = lr * grad if buf is None else momentum * buf + lr * grad
            return w - buf, buf
        return sgd_momentum_step
    return build


EX_MOMENTUM = [
    Mistake("scales the gradient by (1 - momentum) in the buffer", _momentum_step("ema"),
            "exponential average",
            "the 'exponential average' form buf = momentum * buf + (1 - momentum) * grad; "
            "PyTorch's (and nblib's) buffer is buf = momentum * buf + grad"),
    Mistake("puts the learning rate inside the buffer", _momentum_step("lr_inside"),
            "keep lr out of the buffer",
            "a buffer that holds lr * grad (buf = momentum * buf + lr * grad, w -= buf): it is "
            "the same only while lr is constant; keep lr out of the buffer"),
    Mistake("steps along the gradient alone (plain SGD)", _momentum_step("plain"),
            "plain SGD, without momentum",
            "plain SGD, without momentum: keep buf = momentum * buf + grad and step along buf"),
]


# ----------------------------------------------------------------------------- schedule
def _schedule(kind):
    def build(ns):
        good = ns["warmup_cosine"]

        def warmup_cosine(step, lr, total_steps, warmup_steps=0, min_lr=0.0):
            if step < warmup_steps:
                return lr * (step if kind == "late" else step + 1) / warmup_steps
            if kind == "no_clamp":
                frac = (step - warmup_steps) / (total_steps - warmup_steps)
                return min_lr + (lr - min_lr) * (1 + np.cos(np.pi * frac)) / 2
            return good(step, lr, total_steps, warmup_steps, min_lr)
        return warmup_cosine
    return build


EX_WARMUP_COSINE = [
    Mistake("reaches lr one step late in the warm-up (lr * step / warmup_steps)",
            _schedule("late"), "(step + 1)",
            "the warm-up must reach lr at step warmup_steps - 1: lr * (step + 1) / warmup_steps"),
    Mistake("lets the cosine go on past total_steps", _schedule("no_clamp"),
            "past total_steps", "past total_steps the rate must stay at min_lr"),
]


# ----------------------------------------------------------------------------- dropout
def _my_dropout(**methods):
    def build(ns):
        return type("MyDropout", (ns["MyDropout"],), methods)
    return build


def _drop_keep_p(self, x):
    if not self.training:
        return x
    self._mask = (self.rng.random(x.shape) < self.p) / self.p        # p used as "keep"
    return x * self._mask


def _drop_unscaled(self, x):
    if not self.training:
        return x
    self._mask = (self.rng.random(x.shape) >= self.p) * 1.0
    return x * self._mask


def _drop_new_mask(self, dout):
    return dout * ((self.rng.random(dout.shape) >= self.p) / (1 - self.p))


def _drop_always(self, x):
    self._mask = (self.rng.random(x.shape) >= self.p) / (1 - self.p)
    return x * self._mask


def _drop_per_feature(self, x):
    if not self.training:
        return x
    self._mask = np.broadcast_to((self.rng.random(x.shape[1:]) >= self.p) / (1 - self.p),
                                 x.shape)
    return x * self._mask


def _drop_once(self, x):
    if not self.training:
        return x
    if getattr(self, "_once", None) is None:
        self._once = (self.rng.random(x.shape) >= self.p) / (1 - self.p)
    self._mask = self._once
    return x * self._mask


EX_DROPOUT = [
    Mistake("treats p as the probability to keep", _my_dropout(forward=_drop_keep_p),
            "probability to keep"),
    Mistake("draws one mask per feature and shares it across the rows",
            _my_dropout(forward=_drop_per_feature), _FEATURE_MASK[1]),
    Mistake("draws the mask once and reuses it for every batch",
            _my_dropout(forward=_drop_once), _REUSED_MASK[1]),
    Mistake("does not scale the survivors", _my_dropout(forward=_drop_unscaled),
            "1 / (1 - p)"),
    Mistake("draws a new mask in backward", _my_dropout(backward=_drop_new_mask),
            "mask of the last forward"),
    Mistake("also drops in evaluation mode", _my_dropout(forward=_drop_always),
            "evaluation mode"),
]
