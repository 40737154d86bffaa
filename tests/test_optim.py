"""Optimizers keep per-parameter state as torch.optim does, and move the layers' own arrays.

Agreement with torch.optim step by step is in test_torch_agreement.py; here: hand-computed
updates, the state and param-group bookkeeping, and what a student can do wrong with them.
"""
import numpy as np
import pytest

from nblib import (SGD, Adam, AdamW, BatchNorm, Dropout, Linear, Param, ReLU, Sequential,
                   SpiralConfig, bce_with_logits, build_model)
from nblib.core.optim import weight_decay_groups

OPTIMIZERS = {
    "sgd": lambda ps: SGD(ps, 0.1),
    "momentum": lambda ps: SGD(ps, 0.1, momentum=0.9),
    "nesterov": lambda ps: SGD(ps, 0.1, momentum=0.9, nesterov=True, weight_decay=1e-3),
    "adam": lambda ps: Adam(ps, 0.01),
    "adamw": lambda ps: AdamW(ps, 0.01),
}


def small_model(seed=0):
    return build_model(SpiralConfig(hidden=(8, 8), norm="batch", dropout=0.1, seed=seed))


def train_steps(model, optimizer, steps=5, seed=1):
    rng = np.random.default_rng(seed)
    model.train()
    for _ in range(steps):
        X, y = rng.normal(size=(16, 2)), rng.integers(0, 2, 16)
        _, dlogits = bce_with_logits(model.forward(X), y)
        model.backward(dlogits)
        optimizer.step()


# --- the layers' arrays are the arrays that train --------------------------------------------

@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_an_array_taken_from_a_layer_stays_the_layers_weight(name):
    model = small_model()
    first = model[0]
    weight, bias_of_bn = first.weight.value, model[1].bias.value   # taken before the optimizer
    before = weight.copy()
    optimizer = OPTIMIZERS[name](model.parameters())
    train_steps(model, optimizer)
    assert first.weight.value is weight and model[1].bias.value is bias_of_bn
    assert not np.allclose(weight, before), "the weights did not move"
    # and the model computes with exactly that array
    weight[...] = 0.0
    model.eval()
    assert np.allclose(model[0].forward(np.ones((3, 2))), 0.0)


def test_optimizer_state_is_per_param_and_named_as_in_torch():
    model = small_model()
    params = model.parameters()
    adam = Adam(params, 0.01)
    assert len(adam.state) == 0                      # created lazily, at the first step
    train_steps(model, adam, steps=3)
    assert set(adam.state) == set(params)
    for p in params:
        state = adam.state[p]
        assert set(state) == {"step", "exp_avg", "exp_avg_sq"}
        assert state["step"] == 3
        assert state["exp_avg"].shape == p.shape and state["exp_avg_sq"].shape == p.shape
    momentum = SGD(params, 0.1, momentum=0.9)
    train_steps(model, momentum, steps=1)
    assert all(set(momentum.state[p]) == {"momentum_buffer"} for p in params)
    plain = SGD(params, 0.1)
    train_steps(model, plain, steps=1)
    assert len(plain.state) == 0                     # plain SGD remembers nothing


# --- hand-computed updates --------------------------------------------------------------------

def test_adam_first_step_is_lr_times_the_sign_of_the_gradient():
    """With bias correction m_hat = g and v_hat = g^2 at t = 1: the step is lr * g / (|g| + eps).

    Without the correction it would be about (1 - beta1) / sqrt(1 - beta2) = 3.2 times larger.
    """
    g = np.array([[3.0, -0.5], [1e-3, -20.0]])
    p = Param(np.ones((2, 2)))
    p.grad = g.copy()
    Adam([p], lr=0.01, eps=1e-8).step()
    np.testing.assert_allclose(p.value, 1.0 - 0.01 * g / (np.abs(g) + 1e-8), rtol=0, atol=1e-15)


def test_adam_second_step_by_hand():
    b1, b2, lr, eps = 0.8, 0.9, 0.1, 1e-8
    g1, g2 = np.array([2.0, -1.0]), np.array([1.0, 3.0])
    p = Param(np.zeros(2))
    opt = Adam([p], lr=lr, betas=(b1, b2), eps=eps)
    for g in (g1, g2):
        p.grad = g
        opt.step()
    m = (1 - b1) * (b1 * g1 + g2)
    v = (1 - b2) * (b2 * g1**2 + g2**2)
    first = -lr * g1 / (np.abs(g1) + eps)
    expected = first - lr * (m / (1 - b1**2)) / (np.sqrt(v / (1 - b2**2)) + eps)
    np.testing.assert_allclose(p.value, expected, rtol=1e-13)


def test_sgd_momentum_by_hand():
    """A constant gradient g: after k steps buf = g (1 + mu + ... + mu^(k-1))."""
    mu, lr, g = 0.5, 0.1, np.array([1.0, -2.0])
    p = Param(np.zeros(2))
    opt = SGD([p], lr, momentum=mu)
    for _ in range(3):
        p.grad = g
        opt.step()
    bufs = [1.0, 1.0 + mu, 1.0 + mu + mu**2]
    np.testing.assert_allclose(p.value, -lr * g * sum(bufs), rtol=1e-15)


def test_sgd_nesterov_and_weight_decay_by_hand():
    """Nesterov: the step is g + mu * buf, with buf = mu * buf + g and g = grad + wd * w."""
    mu, lr, wd = 0.5, 0.1, 0.2
    p = Param(np.array([1.0, -1.0]))
    opt = SGD([p], lr, momentum=mu, nesterov=True, weight_decay=wd)
    w, buf = p.value.copy(), None
    for grad in (np.array([1.0, 2.0]), np.array([-3.0, 0.5])):
        p.grad = grad
        opt.step()
        g = grad + wd * w
        buf = g if buf is None else mu * buf + g
        w = w - lr * (g + mu * buf)
        np.testing.assert_allclose(p.value, w, rtol=1e-15)


def test_weight_decay_with_a_zero_gradient_shrinks_the_weights():
    w0 = np.array([[1.0, -2.0]])
    for opt_cls, kwargs, expected in [
        (SGD, {}, w0 * (1 - 0.1 * 0.5)),                     # w -= lr * wd * w
        (AdamW, {}, w0 * (1 - 0.1 * 0.5)),                   # decoupled: the same shrink
        # Adam's L2 enters g = wd * w: its first step is lr * g / (|g| + eps), against w's sign
        (Adam, {}, w0 - 0.1 * (0.5 * w0) / (np.abs(0.5 * w0) + 1e-8)),
    ]:
        p = Param(w0.copy())
        p.grad = np.zeros_like(w0)
        opt_cls([p], 0.1, weight_decay=0.5, **kwargs).step()
        np.testing.assert_allclose(p.value, expected, rtol=1e-15, err_msg=opt_cls.__name__)


# --- parameter groups -------------------------------------------------------------------------

def test_weight_decay_groups_decay_matrices_only():
    model = small_model()
    groups = weight_decay_groups(model.parameters(), 0.1)
    assert [g["weight_decay"] for g in groups] == [0.1, 0.0]
    assert all(p.value.ndim == 2 for p in groups[0]["params"])
    assert all(p.value.ndim == 1 for p in groups[1]["params"])
    assert len(groups[0]["params"]) + len(groups[1]["params"]) == len(model.parameters())
    before = {id(p): p.value.copy() for p in model.parameters()}
    opt = AdamW(groups, lr=0.1)
    for p in model.parameters():
        p.grad = np.zeros_like(p.value)
    opt.step()
    for p in groups[0]["params"]:
        np.testing.assert_allclose(p.value, before[id(p)] * (1 - 0.1 * 0.1), rtol=1e-15)
    for p in groups[1]["params"]:
        np.testing.assert_array_equal(p.value, before[id(p)])


def test_group_options_default_to_the_constructors():
    a, b = Param(np.ones(2)), Param(np.ones((2, 2)))
    opt = SGD([{"params": [a]}, {"params": b, "lr": 0.5, "momentum": 0.9}], lr=0.1,
              weight_decay=0.01)
    assert opt.param_groups[0] == dict(params=[a], lr=0.1, momentum=0.0, nesterov=False,
                                       weight_decay=0.01)
    assert opt.param_groups[1]["params"] == [b]           # a single Param is a group of one
    assert opt.param_groups[1]["lr"] == 0.5 and opt.param_groups[1]["momentum"] == 0.9
    assert opt.lr == 0.1                                  # the first group's
    opt.lr = 0.2                                          # a schedule sets every group's
    assert [g["lr"] for g in opt.param_groups] == [0.2, 0.2]
    assert opt.params == [a, b]


@pytest.mark.parametrize("groups,exc,match", [
    ([{"params": [Param(np.ones(2))], "weight_decay": -1.0}], ValueError,
     r"params\[0\]\['weight_decay'\]"),
    ([{"params": [Param(np.ones(2))], "momentun": 0.9}], ValueError, r"momentun"),
    ([{"weight_decay": 0.1}], TypeError, r"'params'"),
    ([{"params": [np.ones(2)]}], TypeError, r"params\[0\]\['params'\]\[0\]"),
    ([{"params": [Param(np.ones(2))]}, {"params": [Param(np.ones(2))], "nesterov": True}],
     ValueError, r"params\[1\]\['nesterov'\]"),
])
def test_bad_param_groups_are_rejected_by_name(groups, exc, match):
    with pytest.raises(exc, match=match):
        SGD(groups, 0.1)


def test_a_param_in_two_groups_is_rejected():
    p = Param(np.ones(2))
    with pytest.raises(ValueError, match=r"params\[1\]"):
        Adam([{"params": [p]}, {"params": [p], "weight_decay": 0.1}])


# --- what a student can do wrong --------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_a_param_without_gradient_is_skipped(name):
    """As torch.optim: grad None means "no gradient", not NaN in every weight."""
    a, b = Param(np.ones((2, 3))), Param(np.ones(3))
    a.grad, b.grad = None, np.full(3, 0.5)
    opt = OPTIMIZERS[name]([a, b])
    opt.step()
    assert np.array_equal(a.value, np.ones((2, 3)))
    assert np.all(np.isfinite(b.value)) and not np.allclose(b.value, 1.0)
    assert a not in opt.state


def test_param_keeps_its_shape_and_dtype():
    p = Param(np.zeros((2, 3), dtype=np.float32))
    with pytest.raises(ValueError, match=r"\bgrad\b"):
        p.grad = np.ones(3)                               # would broadcast silently
    with pytest.raises(ValueError, match=r"\bvalue\b"):
        p.value = np.ones((3, 2), dtype=np.float32)
    with pytest.raises(TypeError, match=r"\bvalue\b"):
        p.value = [[0.0] * 3] * 2
    p.grad = np.ones((2, 3))                              # float64 in, float32 stored
    assert p.grad.dtype == np.float32
    with pytest.raises(TypeError, match=r"\bvalue\b"):
        Param(np.zeros(3, dtype=np.float16))              # Adam's eps underflows in float16


def test_zero_grad_sets_zeros():
    model = small_model()
    opt = SGD(model.parameters(), 0.1)
    train_steps(model, opt, steps=1)
    opt.zero_grad()
    assert all(np.array_equal(p.grad, np.zeros_like(p.value)) for p in model.parameters())


def test_adam_eps_must_be_positive():
    """eps = 0 with a zero gradient is 0 / 0 = NaN in every weight."""
    with pytest.raises(ValueError, match=r"\beps\b"):
        Adam([Param(np.ones(2))], eps=0.0)


def test_repr_reads_like_the_call():
    p = Param(np.ones(2))
    assert repr(SGD([p], 0.1, momentum=0.9)) == (
        "SGD(lr=0.1, momentum=0.9, nesterov=False, weight_decay=0.0)")
    assert repr(Adam([p], 0.01)) == "Adam(lr=0.01, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.0)"


# --- the layers' shared checks ----------------------------------------------------------------

@pytest.mark.parametrize("layer", [Linear(3, 2, rng=0), ReLU(), BatchNorm(3),
                                   Dropout(0.5, rng=0), Sequential(Linear(3, 2, rng=0))],
                         ids=repr)
def test_backward_before_forward_says_so(layer):
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.ones((4, 2)))


def test_backward_wants_dout_of_the_forward_outputs_shape():
    layer = Linear(3, 2, rng=0)
    layer.forward(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"\bdout\b.*\(4, 2\)"):
        layer.backward(np.ones((4, 3)))


@pytest.mark.parametrize("layer", [Linear(3, 2, rng=0), ReLU(), BatchNorm(3), Dropout(0.5, rng=0)],
                         ids=repr)
def test_an_integer_input_is_refused(layer):
    """Dropout on int64 would drop units without rescaling the survivors."""
    with pytest.raises(TypeError, match=r"\bx\b.*floating"):
        layer.forward(np.ones((4, 3), dtype=np.int64))


@pytest.mark.parametrize("layer", [Linear(3, 2, rng=0), BatchNorm(3)], ids=repr)
def test_x_of_the_wrong_width_is_refused_naming_x(layer):
    with pytest.raises(ValueError, match=r"x must be an array of shape \(N, 3\), got \(4, 2\)"):
        layer.forward(np.ones((4, 2)))


def test_batchnorm_needs_two_rows_only_in_training():
    bn = BatchNorm(3)
    with pytest.raises(ValueError, match="2 rows"):
        bn.forward(np.ones((1, 3)))
    assert bn.eval().forward(np.ones((1, 3))).shape == (1, 3)
    assert bn.train().forward(np.array([[1.0, 2, 3], [3, 2, 1]])).shape == (2, 3)   # 2 will do
    assert BatchNorm.min_rows_in_training == 2 and Linear.min_rows_in_training == 1


def test_a_float32_model_accepts_float64_input_and_keeps_float32_gradients():
    layer = Linear(3, 2, rng=0, dtype=np.float32)
    out = layer.forward(np.ones((4, 3)))
    layer.backward(np.ones_like(out))
    assert layer.weight.grad.dtype == np.float32 and layer.bias.grad.dtype == np.float32


# --- schedules: each rate by hand (agreement with torch.optim.lr_scheduler is in
# test_torch_agreement.py) -----------------------------------------------------------------------

def test_warmup_cosine_by_hand_and_clamped_past_total_steps():
    from nblib import WarmupCosine
    s = WarmupCosine(0.1, total_steps=12, warmup_steps=4, min_lr=0.01)
    assert [s(k) for k in range(4)] == pytest.approx([0.025, 0.05, 0.075, 0.1])   # (k + 1) / 4
    # then a cosine over the 8 remaining steps: step 4 is its start, step 12 its end
    cosine = [0.01 + 0.09 * (1 + np.cos(np.pi * t / 8)) / 2 for t in range(9)]
    assert [s(k) for k in range(4, 13)] == pytest.approx(cosine)
    # past total_steps the rate stays at min_lr (an unclamped cosine would climb back up)
    assert [s(k) for k in (13, 16, 20, 28, 10**6)] == [pytest.approx(0.01)] * 5
    no_warmup = WarmupCosine(0.1, total_steps=10)
    assert no_warmup(0) == pytest.approx(0.1) and no_warmup(15) == 0.0


def test_step_exponential_and_one_cycle_by_hand():
    from nblib import Constant, Exponential, OneCycle, StepDecay
    assert [Constant(0.3)(k) for k in (0, 5, 10**6)] == [0.3] * 3
    assert [StepDecay(1.0, 3, 0.5)(k) for k in range(7)] == [1, 1, 1, 0.5, 0.5, 0.5, 0.25]
    assert [Exponential(1.0, 0.5)(k) for k in range(4)] == [1, 0.5, 0.25, 0.125]
    s = OneCycle(1.0, total_steps=11, pct_start=0.5, div_factor=10.0, final_div_factor=100.0,
                 anneal="linear")
    # up from 0.1 to 1 by step 4.5 (= 0.5 * 11 - 1), down to 0.001 at step 10, then flat
    assert s(0) == pytest.approx(0.1) and s(10) == pytest.approx(0.001)
    assert s(2) == pytest.approx(0.1 + 0.9 * 2 / 4.5)
    assert s(7) == pytest.approx(1.0 + (0.001 - 1.0) * (7 - 4.5) / 5.5)
    assert s(11) == s(50) == pytest.approx(0.001)
    cos = OneCycle(1.0, total_steps=11, pct_start=0.5, div_factor=10.0, final_div_factor=100.0)
    assert cos(2) == pytest.approx(1.0 + (0.1 - 1.0) / 2 * (np.cos(np.pi * 2 / 4.5) + 1))
