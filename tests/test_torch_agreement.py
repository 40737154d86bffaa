"""nblib computes what PyTorch computes: layers, loss, optimizers, schedules, a whole training run.

PyTorch is a test-only reference (nblib itself must never import it).  Everything runs in
float64, so two correct implementations of the same formula agree to ~1e-15; we ask 1e-10.
"""
import subprocess
import sys
import zlib

import numpy as np
import pytest

import nblib
from nblib import (SGD, Adam, AdamW, BatchNorm, Dropout, Exponential, LayerNorm, Linear,
                   OneCycle, ReLU, Sigmoid, SpiralConfig, StepDecay, WarmupCosine,
                   bce_with_logits, build_model)
from nblib.core.optim import weight_decay_groups

torch = pytest.importorskip("torch", reason="PyTorch is the test-only reference: pip install torch==2.13.0")
import torch.nn.functional as F  # noqa: E402

DT = torch.float64
torch.set_num_threads(1)  # tiny tensors: threads only add contention on a 2-core machine


def close(actual, expected, rtol=1e-10, atol=1e-12, msg=""):
    if isinstance(expected, torch.Tensor):
        expected = expected.detach().numpy()
    if isinstance(actual, torch.Tensor):
        actual = actual.detach().numpy()
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=msg)


def T(a, grad=False):
    return torch.tensor(np.asarray(a), dtype=DT, requires_grad=grad)


def copy_params(nb_module, torch_module):
    """Copy nblib's parameters into the torch module, matched by PyTorch's names."""
    tparams = dict(torch_module.named_parameters())
    names = [n for n, _ in nb_module.named_parameters()]
    assert sorted(names) == sorted(tparams), (names, list(tparams))
    with torch.no_grad():
        for name, p in nb_module.named_parameters():
            assert tuple(tparams[name].shape) == p.value.shape, name
            tparams[name].copy_(torch.from_numpy(p.value.copy()))


def randomise(module, rng):
    for _, p in module.named_parameters():
        p.value[...] = rng.normal(0.5, 1.0, p.value.shape)


def forward_backward(nb_layer, t_layer, x, dout):
    """Run both; compare output, input gradient and every parameter gradient."""
    out = nb_layer.forward(x.copy())
    dx = nb_layer.backward(dout.copy())
    xt = T(x, grad=True)
    out_t = t_layer(xt)
    out_t.backward(T(dout))
    close(out, out_t, msg="forward")
    close(dx, xt.grad, msg="input gradient")
    tparams = dict(t_layer.named_parameters())
    for name, p in nb_layer.named_parameters():
        close(p.grad, tparams[name].grad, msg=f"{name}.grad")
    t_layer.zero_grad()


# --- layers ---------------------------------------------------------------------------------

@pytest.mark.parametrize("bias", [True, False])
def test_linear(bias):
    rng = np.random.default_rng(0)
    layer = Linear(5, 3, bias=bias, rng=rng)
    if bias:
        layer.bias.value[...] = rng.normal(size=3)
    tl = torch.nn.Linear(5, 3, bias=bias, dtype=DT)
    copy_params(layer, tl)
    for n in (1, 7, 32):
        forward_backward(layer, tl, rng.normal(size=(n, 5)), rng.normal(size=(n, 3)))


def test_linear_weight_layout_and_init_scale():
    """weight is (out, in) like torch; He init: std sqrt(2 / in)."""
    layer = Linear(400, 300, rng=np.random.default_rng(1))
    assert layer.weight.value.shape == tuple(torch.nn.Linear(400, 300).weight.shape)
    assert layer.weight.value.std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    assert np.all(layer.bias.value == 0)


def test_batchnorm_training_and_running_stats():
    rng = np.random.default_rng(2)
    bn = BatchNorm(6)
    randomise(bn, rng)
    tb = torch.nn.BatchNorm1d(6, eps=1e-5, momentum=0.1, dtype=DT)
    copy_params(bn, tb)
    tb.train()
    for n in (8, 16, 5, 2, 32, 9):
        x = rng.normal(3.0, 2.0, (n, 6))
        forward_backward(bn, tb, x, rng.normal(size=(n, 6)))
        close(bn.running_mean, tb.running_mean, msg="running_mean")
        close(bn.running_var, tb.running_var, msg="running_var")
    assert not np.allclose(bn.running_var, 1.0)  # the statistics really moved


def _trained_bn_pair(rng):
    bn = BatchNorm(6)
    randomise(bn, rng)
    tb = torch.nn.BatchNorm1d(6, eps=1e-5, momentum=0.1, dtype=DT)
    copy_params(bn, tb)
    for _ in range(5):
        x = rng.normal(-1.0, 3.0, (10, 6))
        bn.forward(x.copy())
        tb(T(x))
    bn.eval()
    tb.eval()
    return bn, tb


def test_batchnorm_eval_forward():
    rng = np.random.default_rng(3)
    bn, tb = _trained_bn_pair(rng)
    for n in (1, 4, 50):
        x = rng.normal(-1.0, 3.0, (n, 6))
        close(bn.forward(x), tb(T(x)), msg="eval forward")
    close(bn.running_mean, tb.running_mean)  # eval does not touch the statistics
    close(bn.running_var, tb.running_var)


def test_batchnorm_eval_backward():
    """In eval mode BatchNorm is an affine map with the running statistics; so is its gradient."""
    rng = np.random.default_rng(4)
    bn, tb = _trained_bn_pair(rng)
    for n in (10, 3):  # 10: the batch size of the training forwards, 3: another one
        forward_backward(bn, tb, rng.normal(size=(n, 6)), rng.normal(size=(n, 6)))


def test_layernorm():
    rng = np.random.default_rng(5)
    ln = LayerNorm(7)
    randomise(ln, rng)
    tl = torch.nn.LayerNorm(7, eps=1e-5, dtype=DT)
    copy_params(ln, tl)
    for n in (1, 6, 20):
        forward_backward(ln, tl, rng.normal(2.0, 3.0, (n, 7)), rng.normal(size=(n, 7)))


@pytest.mark.parametrize("nb_cls,t_cls", [(ReLU, torch.nn.ReLU), (Sigmoid, torch.nn.Sigmoid)])
def test_activations(nb_cls, t_cls):
    rng = np.random.default_rng(6)
    x = rng.normal(0.0, 4.0, (20, 5))
    x[0, :] = [0.0, 40.0, -40.0, 750.0, -750.0]  # the kink and the saturated tails
    forward_backward(nb_cls(), t_cls(), x, rng.normal(size=x.shape))


def test_dropout_matches_torch_semantics():
    p = 0.3
    rng = np.random.default_rng(7)
    x = rng.uniform(0.5, 2.0, (200, 50))  # no zeros, so a zero output means "dropped"
    layer = Dropout(p, rng=np.random.default_rng(8))
    out = layer.forward(x)
    kept = out != 0
    frac = 1 - kept.mean()
    sd = np.sqrt(p * (1 - p) / x.size)
    assert abs(frac - p) < 4.5 * sd, f"dropped fraction {frac:.4f}, expected p={p}"
    close(out[kept], x[kept] / (1 - p), rtol=1e-15, atol=0)
    # backward: the same mask, applied to the upstream gradient
    dout = rng.normal(size=x.shape)
    close(layer.backward(dout.copy()), dout * kept / (1 - p), rtol=1e-15, atol=0)
    # torch: the same meaning of p, with the same survivors' value
    torch.manual_seed(0)
    td = torch.nn.Dropout(p).train()
    out_t = td(T(x)).numpy()
    kept_t = out_t != 0
    assert abs((1 - kept_t.mean()) - p) < 4.5 * sd
    close(out_t[kept_t], x[kept_t] / (1 - p), rtol=1e-15, atol=0)
    # applying nblib's mask with torch ops gives nblib's output and gradient
    xt = T(x, grad=True)
    masked = xt * T(kept.astype(float)) / (1 - p)
    masked.backward(T(dout))
    close(out, masked)
    close(layer.backward(dout.copy()), xt.grad)
    # a fresh mask each forward
    assert not np.array_equal(layer.forward(x) != 0, kept)


def test_dropout_eval_is_identity():
    x = np.random.default_rng(9).normal(size=(30, 4))
    layer = Dropout(0.5, rng=np.random.default_rng(1)).eval()
    td = torch.nn.Dropout(0.5).eval()
    close(layer.forward(x), td(T(x)), rtol=0, atol=0)
    dout = np.random.default_rng(2).normal(size=x.shape)
    close(layer.backward(dout), dout, rtol=0, atol=0)


@pytest.mark.parametrize("shape", [(40,), (40, 1)])
def test_bce_with_logits(shape):
    rng = np.random.default_rng(10)
    z = rng.normal(0.0, 5.0, shape)
    z.reshape(-1)[:6] = [0.0, 50.0, -50.0, 800.0, -800.0, 1e4]
    y = rng.integers(0, 2, 40)
    y[:6] = [1, 0, 1, 1, 0, 0]
    loss, dz = bce_with_logits(z, y)
    zt = T(z, grad=True)
    lt = F.binary_cross_entropy_with_logits(zt, T(y.reshape(shape)))
    lt.backward()
    assert np.isfinite(loss) and isinstance(loss, float)
    close(loss, lt.item())
    assert dz.shape == z.shape
    close(dz, zt.grad)


# --- optimizers -----------------------------------------------------------------------------

SHAPES = [(3, 4), (4,), (2, 5)]

OPTIMIZERS = {
    "sgd": (lambda ps: SGD(ps, 0.05), lambda ps: torch.optim.SGD(ps, lr=0.05)),
    "sgd-momentum": (lambda ps: SGD(ps, 0.05, momentum=0.9),
                     lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9)),
    "sgd-nesterov": (lambda ps: SGD(ps, 0.05, momentum=0.8, nesterov=True),
                     lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.8, nesterov=True)),
    "sgd-wd": (lambda ps: SGD(ps, 0.05, weight_decay=0.1),
               lambda ps: torch.optim.SGD(ps, lr=0.05, weight_decay=0.1)),
    "sgd-momentum-wd": (lambda ps: SGD(ps, 0.05, momentum=0.9, weight_decay=0.1),
                        lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=0.1)),
    "adam": (lambda ps: Adam(ps, 0.01), lambda ps: torch.optim.Adam(ps, lr=0.01)),
    "adam-betas-eps": (lambda ps: Adam(ps, 0.02, betas=(0.8, 0.99), eps=1e-6),
                       lambda ps: torch.optim.Adam(ps, lr=0.02, betas=(0.8, 0.99), eps=1e-6)),
    "adam-wd": (lambda ps: Adam(ps, 0.01, weight_decay=0.1),
                lambda ps: torch.optim.Adam(ps, lr=0.01, weight_decay=0.1)),
    "adamw": (lambda ps: AdamW(ps, 0.01, weight_decay=0.1),
              lambda ps: torch.optim.AdamW(ps, lr=0.01, weight_decay=0.1)),
    "adamw-default-wd": (lambda ps: AdamW(ps, 0.01), lambda ps: torch.optim.AdamW(ps, lr=0.01)),
}


# Parameter groups (nanoGPT): weight decay on the matrices only, and a group with its own lr.
# SHAPES holds two matrices and one vector; weight_decay_groups splits them the same way.
def _groups(params):
    return [{"params": [params[0], params[2]], "weight_decay": 0.1},
            {"params": [params[1]], "weight_decay": 0.0, "lr": 0.02}]


GROUP_OPTIMIZERS = {
    "sgd-momentum-groups": (lambda ps: SGD(_groups(ps), 0.05, momentum=0.9),
                            lambda ps: torch.optim.SGD(_groups(ps), lr=0.05, momentum=0.9)),
    "adam-groups": (lambda ps: Adam(_groups(ps), 0.01),
                    lambda ps: torch.optim.Adam(_groups(ps), lr=0.01)),
    "adamw-groups": (lambda ps: AdamW(_groups(ps), 0.01),
                     lambda ps: torch.optim.AdamW(_groups(ps), lr=0.01)),
    "adamw-weight-decay-groups": (lambda ps: AdamW(weight_decay_groups(ps, 0.3), 0.01),
                                  lambda ps: torch.optim.AdamW(
                                      [{"params": [ps[0], ps[2]]},
                                       {"params": [ps[1]], "weight_decay": 0.0}],
                                      lr=0.01, weight_decay=0.3)),
}
OPTIMIZERS.update(GROUP_OPTIMIZERS)


def _loss(tensors, coefs):
    """A smooth, non-quadratic loss with a different curvature per weight."""
    return sum((0.5 * a * w ** 2 + torch.cos(3 * w) + 0.1 * w ** 3 / (1 + w ** 2)).sum()
               for w, a in zip(tensors, coefs))


def _run_optimizer_pair(name, steps=100, lr_at=None):
    rng = np.random.default_rng(zlib.crc32(name.encode()))  # stable across processes
    init = [rng.normal(0.0, 1.5, s) for s in SHAPES]
    coefs = [T(rng.uniform(0.2, 3.0, s)) for s in SHAPES]
    params = [nblib.Param(w.copy()) for w in init]
    tparams = [T(w, grad=True) for w in init]
    make_nb, make_t = OPTIMIZERS[name]
    opt, topt = make_nb(params), make_t(tparams)
    for k in range(steps):
        if lr_at is not None:
            opt.lr = lr_at(k)
            for group in topt.param_groups:
                group["lr"] = lr_at(k)
        topt.zero_grad()
        _loss(tparams, coefs).backward()
        for p, t in zip(params, tparams):      # the same gradient goes to both
            p.grad[...] = t.grad.numpy()
        opt.step()
        topt.step()
    for i, (p, t) in enumerate(zip(params, tparams)):
        close(p.value, t, msg=f"{name}: parameter {i} after {steps} steps")
    moved = max(np.abs(p.value - w).max() for p, w in zip(params, init))
    assert moved > 0.05, "the parameters barely moved: the comparison would be weak"


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_matches_torch(name):
    _run_optimizer_pair(name)


@pytest.mark.parametrize("name", ["sgd-momentum", "adam", "adamw"])
def test_changing_lr_between_steps(name):
    _run_optimizer_pair(name, lr_at=lambda k: 0.03 * (1 + np.sin(k / 7.0)) + 1e-3)


def test_weight_decay_groups_split_matrices_from_vectors():
    params = [nblib.Param(np.ones(s)) for s in SHAPES]
    groups = weight_decay_groups(params, 0.3)
    assert [g["params"] for g in groups] == [[params[0], params[2]], [params[1]]]
    assert [g["weight_decay"] for g in groups] == [0.3, 0.0]


def test_a_param_listed_twice_is_refused():
    """torch.optim steps such a parameter twice and warns that this "will cause an error" in
    future; nblib raises that error now instead of moving it twice without a word."""
    p = nblib.Param(np.ones(3))
    with pytest.warns(UserWarning, match="duplicate parameters"):
        torch.optim.SGD([T(np.ones(3), grad=True)] * 2, lr=0.1)
    with pytest.raises(ValueError, match=r"params\[1\]"):
        SGD([p, p], 0.1)


@pytest.mark.parametrize("name", ["sgd-momentum", "adam", "adamw"])
def test_a_param_without_gradient_is_skipped_as_in_torch(name):
    make_nb, make_t = OPTIMIZERS[name]
    init = [np.linspace(-1, 1, int(np.prod(s))).reshape(s) for s in SHAPES]
    params, tparams = [nblib.Param(w.copy()) for w in init], [T(w, grad=True) for w in init]
    opt, topt = make_nb(params), make_t(tparams)
    for k in range(4):
        topt.zero_grad(set_to_none=True)
        used = [w for i, w in enumerate(tparams) if i != k % 3]   # one parameter sits out
        sum((w ** 2).sum() for w in used).backward()
        for p, t in zip(params, tparams):
            p.grad = None if t.grad is None else t.grad.numpy().copy()
        opt.step()
        topt.step()
    for p, t in zip(params, tparams):
        close(p.value, t)


# --- a whole model --------------------------------------------------------------------------

def _torch_mlp(hidden):
    layers, width = [], 2
    for h in hidden:
        layers += [torch.nn.Linear(width, h, bias=False, dtype=DT),
                   torch.nn.BatchNorm1d(h, eps=1e-5, momentum=0.1, dtype=DT), torch.nn.ReLU()]
        width = h
    layers.append(torch.nn.Linear(width, 1, dtype=DT))
    return torch.nn.Sequential(*layers)


def _model_pair(seed=0):
    config = SpiralConfig(hidden=(16, 16), norm="batch", dropout=0.0, seed=seed,
                          dtype="float64")                 # as DT, torch's side
    model = build_model(config)
    tmodel = _torch_mlp(config.hidden)
    copy_params(model, tmodel)
    return model, tmodel


def _running_stats(model, tmodel):
    nb = [(m.running_mean, m.running_var) for m in model.modules() if isinstance(m, BatchNorm)]
    tb = [(m.running_mean, m.running_var) for m in tmodel.modules()
          if isinstance(m, torch.nn.BatchNorm1d)]
    assert len(nb) == len(tb) == 2
    return nb, tb


def test_small_model_trained_with_adam_matches_torch():
    model, tmodel = _model_pair()
    X, y = nblib.make_spirals(200, 0.05, seed=1)
    opt = Adam(model.parameters(), 0.01)
    topt = torch.optim.Adam(tmodel.parameters(), lr=0.01)
    rng = np.random.default_rng(3)
    losses, tlosses = [], []
    model.train()
    tmodel.train()
    for _ in range(100):
        idx = rng.choice(len(X), 32, replace=False)
        xb, yb = X[idx], y[idx]
        loss, dlogits = bce_with_logits(model.forward(xb), yb)
        model.backward(dlogits)
        opt.step()
        topt.zero_grad()
        tloss = F.binary_cross_entropy_with_logits(tmodel(T(xb))[:, 0], T(yb))
        tloss.backward()
        topt.step()
        losses.append(loss)
        tlosses.append(tloss.item())
    close(losses, tlosses, msg="per-step losses")
    assert np.mean(losses[-10:]) < np.mean(losses[:10]) - 0.03  # it did learn something
    tparams = dict(tmodel.named_parameters())
    for name, p in model.named_parameters():
        close(p.value, tparams[name], msg=name)
    for (m, v), (tm, tv) in zip(*_running_stats(model, tmodel)):
        close(m, tm, msg="running_mean")
        close(v, tv, msg="running_var")
    model.eval()
    tmodel.eval()
    close(model.forward(X), tmodel(T(X)), msg="eval-mode logits")


def test_fit_with_onecycle_matches_a_torch_loop():
    """nblib.fit (shuffling, last partial batch, schedule, evaluation) vs the same loop in torch."""
    model, tmodel = _model_pair(seed=5)
    X_train, X_test, y_train, y_test = nblib.train_test_split(*nblib.make_spirals(100, 0.05, 2))
    epochs, batch_size = 3, 48  # 160 rows: batches of 48, 48, 48, 16
    steps = epochs * -(-len(X_train) // batch_size)
    schedule = OneCycle(0.05, steps)
    history = nblib.fit(model, Adam(model.parameters(), 0.05), X_train, y_train, X_test, y_test,
                        epochs=epochs, batch_size=batch_size, schedule=schedule,
                        rng=np.random.default_rng(9), progress=False)
    topt = torch.optim.Adam(tmodel.parameters(), lr=0.05)
    sched = torch.optim.lr_scheduler.OneCycleLR(topt, max_lr=0.05, total_steps=steps,
                                                cycle_momentum=False)
    rng = np.random.default_rng(9)
    lrs = []
    curves = {"train_loss": [], "train_acc": [], "test_loss": [], "test_acc": []}
    for _ in range(epochs):
        tmodel.train()
        perm = rng.permutation(len(X_train))
        for start in range(0, len(perm), batch_size):
            idx = perm[start:start + batch_size]
            lrs.append(topt.param_groups[0]["lr"])
            topt.zero_grad()
            loss = F.binary_cross_entropy_with_logits(tmodel(T(X_train[idx]))[:, 0],
                                                      T(y_train[idx]))
            loss.backward()
            topt.step()
            sched.step()
        # History: both sets evaluated in eval mode after each epoch
        tmodel.eval()
        with torch.no_grad():
            for split, X_, y_ in (("train", X_train, y_train), ("test", X_test, y_test)):
                logits = tmodel(T(X_))[:, 0]
                curves[f"{split}_loss"].append(
                    F.binary_cross_entropy_with_logits(logits, T(y_)).item())
                curves[f"{split}_acc"].append(float(((logits > 0).numpy() == (y_ == 1)).mean()))
    assert not history.diverged
    close(history.lr, lrs, rtol=1e-12, atol=0)
    for key in ("train_loss", "test_loss"):
        close(getattr(history, key), curves[key], msg=key)
    assert history.train_acc == curves["train_acc"]
    assert history.test_acc == curves["test_acc"]
    tparams = dict(tmodel.named_parameters())
    for name, p in model.named_parameters():
        close(p.value, tparams[name], msg=name)


# --- schedules ------------------------------------------------------------------------------

def _torch_lrs(make_scheduler, steps, lr):
    """lr in param_groups before the k-th optimizer.step(), after k scheduler.step() calls."""
    w = torch.zeros(1, dtype=DT, requires_grad=True)
    opt = torch.optim.SGD([w], lr=lr)
    sched = make_scheduler(opt)
    out = []
    for k in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        if k < steps - 1:
            sched.step()
    return np.array(out)


LR_S = torch.optim.lr_scheduler
BOOK = SpiralConfig(schedule="onecycle", dtype="float64")  # the recipe, one-cycle, as DT
SCHEDULE_CASES = {
    "step": (lambda: StepDecay(0.1, step_size=7, gamma=0.5),
             lambda o: LR_S.StepLR(o, step_size=7, gamma=0.5), 0.1, 100),
    "step-gamma0.1": (lambda: StepDecay(0.3, step_size=30, gamma=0.1),
                      lambda o: LR_S.StepLR(o, step_size=30, gamma=0.1), 0.3, 100),
    "exponential": (lambda: Exponential(0.1, gamma=0.97),
                    lambda o: LR_S.ExponentialLR(o, gamma=0.97), 0.1, 150),
    "cosine": (lambda: WarmupCosine(0.1, total_steps=90, warmup_steps=0),
               lambda o: LR_S.CosineAnnealingLR(o, T_max=90), 0.1, 91),
    "cosine-min-lr": (lambda: WarmupCosine(0.1, total_steps=57, warmup_steps=0, min_lr=1e-3),
                      lambda o: LR_S.CosineAnnealingLR(o, T_max=57, eta_min=1e-3), 0.1, 58),
    "onecycle-cos": (lambda: OneCycle(0.02, 120, anneal="cos"),
                     lambda o: LR_S.OneCycleLR(o, max_lr=0.02, total_steps=120,
                                               cycle_momentum=False, anneal_strategy="cos"),
                     0.02, 120),
    "onecycle-linear": (lambda: OneCycle(0.02, 120, anneal="linear"),
                        lambda o: LR_S.OneCycleLR(o, max_lr=0.02, total_steps=120,
                                                  cycle_momentum=False,
                                                  anneal_strategy="linear"), 0.02, 120),
    "onecycle-options": (lambda: OneCycle(0.5, 77, pct_start=0.45, div_factor=10.0,
                                          final_div_factor=100.0),
                         lambda o: LR_S.OneCycleLR(o, max_lr=0.5, total_steps=77, pct_start=0.45,
                                                   div_factor=10.0, final_div_factor=100.0,
                                                   cycle_momentum=False), 0.5, 77),
    "onecycle-book": (lambda: nblib.make_schedule(BOOK),
                      lambda o: LR_S.OneCycleLR(o, max_lr=BOOK.lr,
                                                total_steps=BOOK.epochs * BOOK.steps_per_epoch,
                                                cycle_momentum=False),
                      BOOK.lr, BOOK.epochs * BOOK.steps_per_epoch),
}


@pytest.mark.parametrize("name", sorted(SCHEDULE_CASES))
def test_schedule_matches_torch(name):
    make_nb, make_t, lr, steps = SCHEDULE_CASES[name]
    schedule = make_nb()
    ours = np.array([schedule(k) for k in range(steps)])
    theirs = _torch_lrs(make_t, steps, lr)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-300, err_msg=name)
    assert len(np.unique(ours)) > 2


@pytest.mark.parametrize("name", ["cosine", "cosine-min-lr"])
def test_cosine_past_total_steps_stays_where_torch_rises_again(name):
    # WarmupCosine's docstring: the same as CosineAnnealingLR from step 0 to total_steps
    # (the test above); past it min_lr, where PyTorch's climbs back to lr at 2 * total_steps
    make_nb, make_t, lr, steps = SCHEDULE_CASES[name]
    schedule, total = make_nb(), steps - 1
    ours = np.array([schedule(k) for k in range(2 * total + 1)])
    theirs = _torch_lrs(make_t, 2 * total + 1, lr)
    np.testing.assert_allclose(ours[:total + 1], theirs[:total + 1], rtol=1e-12, atol=1e-300)
    assert np.all(ours[total:] == schedule.min_lr)
    assert np.all(np.diff(theirs[total:]) > 0)
    assert theirs[2 * total] == pytest.approx(lr, rel=1e-12)


# --- nblib stands alone ---------------------------------------------------------------------

def test_nblib_never_imports_torch():
    code = ("import sys, nblib; nblib.train_spirals(nblib.SpiralConfig(epochs=1), progress=False); "
            "assert 'torch' not in sys.modules, 'nblib imported torch'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
