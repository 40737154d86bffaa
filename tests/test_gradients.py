"""Every backward() agrees with centred finite differences (nblib.check_layer / check_model).

In float64 with h = 1e-6 a correct layer's analytic and numerical gradients agree to a
norm-wise relative error far below 1e-7; a wrong one (even by 1%) is far above 1e-4.
"""
import numpy as np
import pytest

import nblib
from nblib import (BatchNorm, Dropout, LayerNorm, Linear, Module, ReLU, Sequential, Sigmoid,
                   SpiralConfig, build_model, check_layer, check_model, numerical_gradient, rel_error)

TOL = 1e-7


def _randomise(layer, rng):
    """Give every parameter random values (ones/zeros would hide mistakes in gamma/beta)."""
    for _, p in layer.named_parameters():
        p.value[...] = rng.normal(0.0, 1.0, p.value.shape)
    return layer


def _bn_eval(rng):
    bn = _randomise(BatchNorm(4), rng)
    bn.running_mean[...] = rng.normal(0.0, 1.0, 4)
    bn.running_var[...] = rng.uniform(0.5, 2.0, 4)
    return bn.eval()


def _bn_eval_after_training(rng):
    """Eval mode after some training forwards (running statistics from real batches)."""
    bn = _randomise(BatchNorm(4), rng)
    for _ in range(3):
        bn.forward(rng.normal(1.0, 2.0, (8, 4)))  # same batch size as the check
    return bn.eval()


LAYERS = {
    "linear": lambda rng: _randomise(Linear(5, 3, rng=rng), rng),
    "linear-no-bias": lambda rng: Linear(5, 3, bias=False, rng=rng),
    "relu": lambda rng: ReLU(),
    "sigmoid": lambda rng: Sigmoid(),
    "batchnorm-train": lambda rng: _randomise(BatchNorm(5), rng),
    "batchnorm-eval": _bn_eval,
    "batchnorm-eval-after-train": _bn_eval_after_training,
    "layernorm": lambda rng: _randomise(LayerNorm(5), rng),
    "dropout-train": lambda rng: Dropout(0.3, rng=np.random.default_rng(rng.integers(2**32))),
}
IN_FEATURES = {"batchnorm-eval": 4, "batchnorm-eval-after-train": 4}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_gradients(name):
    rng = np.random.default_rng(20240601)
    layer = LAYERS[name](rng)
    x = rng.normal(0.0, 1.5, (8, IN_FEATURES.get(name, 5)))
    errors = check_layer(layer, x, rng=np.random.default_rng(1))
    expected_keys = {"input"} | {n for n, _ in layer.named_parameters()}
    assert set(errors) == expected_keys
    if name == "linear":
        assert set(errors) == {"input", "weight", "bias"}
    if name == "linear-no-bias":
        assert set(errors) == {"input", "weight"}
    bad = {k: e for k, e in errors.items() if not e < TOL}
    assert not bad, f"{name}: relative errors above {TOL}: {errors}"


def test_dropout_check_is_not_trivial():
    """The dropout check really had a mask: some inputs dropped, the rest scaled."""
    layer = Dropout(0.5, rng=np.random.default_rng(3))
    x = np.random.default_rng(4).normal(size=(10, 6))
    out = layer.forward(x)
    assert np.any(out == 0) and np.any(out != 0)
    assert check_layer(layer, x, rng=np.random.default_rng(5))["input"] < TOL


MODEL_CASES = [
    dict(norm="batch"), dict(norm="layer"), dict(norm=None),
    dict(norm="batch", dropout=0.2), dict(norm="layer", dropout=0.2), dict(norm=None, dropout=0.2),
]


@pytest.mark.parametrize("kwargs", MODEL_CASES, ids=lambda k: "-".join(f"{v}" for v in k.values()))
def test_model_gradients(kwargs):
    config = SpiralConfig(hidden=(6, 5), seed=3, dtype="float64", **kwargs)
    model = build_model(config)
    rng = np.random.default_rng(11)
    # Biases start at 0, so a unit whose inputs are all 0 after a ReLU sits exactly on the
    # next ReLU's kink, where finite differences are one-sided: move every bias off 0.
    for name, p in model.named_parameters():
        if name.endswith("bias"):
            p.value[...] = rng.normal(0.0, 0.5, p.value.shape)
    X = rng.normal(0.0, 1.0, (16, 2))
    y = rng.integers(0, 2, 16)
    errors = check_model(model, X, y)
    names = [n for n, _ in model.named_parameters()]
    assert list(errors) == names and len(names) >= 4
    bad = {k: e for k, e in errors.items() if not e < TOL}
    assert not bad, f"{kwargs}: relative errors above {TOL}: {errors}"


# --- the check can fail --------------------------------------------------------------------

class ScaledLinear(Linear):
    """A broken Linear: its input gradient is 1% too large."""

    def backward(self, dout):
        return 1.01 * super().backward(dout)


class MeanFreeBatchNorm(BatchNorm):
    """A broken BatchNorm: backward treats the batch mean and variance as constants.

    It keeps only the direct path, ``dx = dout * gamma / std``, the classic mistake.
    """

    def forward(self, x):
        self._x_seen = x.copy()
        return super().forward(x)

    def backward(self, dout):
        super().backward(dout)  # parameter gradients are right
        inv_std = 1.0 / np.sqrt(self._x_seen.var(axis=0) + self.eps)
        return dout * self.weight.value * inv_std


class ZeroInputGradBatchNorm(BatchNorm):
    """A broken BatchNorm that returns no input gradient at all."""

    def backward(self, dout):
        super().backward(dout)
        return np.zeros_like(dout)


@pytest.mark.parametrize("layer_cls,key", [(ScaledLinear, "input"), (MeanFreeBatchNorm, "input"),
                                           (ZeroInputGradBatchNorm, "input")])
def test_check_layer_detects_broken_backward(layer_cls, key):
    rng = np.random.default_rng(0)
    layer = layer_cls(5) if layer_cls is not ScaledLinear else layer_cls(5, 3, rng=rng)
    x = rng.normal(0.0, 1.0, (8, 5))
    errors = check_layer(layer, x, rng=np.random.default_rng(1))
    assert errors[key] > 1e-4, errors


def test_check_model_detects_broken_layer():
    rng = np.random.default_rng(0)
    model = nblib.Sequential(Linear(2, 6, rng=rng), ReLU(), ScaledLinear(6, 5, rng=rng), ReLU(),
                             Linear(5, 1, rng=rng))
    X, y = rng.normal(size=(16, 2)), rng.integers(0, 2, 16)
    errors = check_model(model, X, y)
    assert errors["0.weight"] > 1e-4, errors   # gradients below the broken layer are off
    assert errors["4.weight"] < TOL, errors    # those above it are not


def test_broken_model_weight_gradient_detected():
    """A model-level check catches a wrong parameter gradient too (1% too large)."""

    class WrongWeightGrad(Linear):
        def backward(self, dout):
            dx = super().backward(dout)
            self.weight.grad *= 1.01
            return dx

    rng = np.random.default_rng(2)
    model = nblib.Sequential(WrongWeightGrad(2, 4, rng=rng), ReLU(), Linear(4, 1, rng=rng))
    X, y = rng.normal(size=(12, 2)), rng.integers(0, 2, 12)
    errors = check_model(model, X, y)
    assert errors["0.weight"] > 1e-4 and errors["2.weight"] < TOL, errors


# --- why check_layer draws a random upstream gradient ---------------------------------------

def test_batchnorm_input_gradient_vanishes_for_dout_ones():
    """sum(BN(x)) = N * sum(beta) whatever x is, so with dout = ones dx is ~0 ..."""
    rng = np.random.default_rng(8)
    bn = _randomise(BatchNorm(5), rng)
    x = rng.normal(2.0, 3.0, (10, 5))
    dx_ones = bn.backward(np.ones_like(bn.forward(x)))
    assert np.abs(dx_ones).max() < 1e-12
    # ... and a BatchNorm with no input gradient at all is indistinguishable there:
    broken = ZeroInputGradBatchNorm(5)
    for (_, p), (_, q) in zip(broken.named_parameters(), bn.named_parameters()):
        p.value[...] = q.value
    dx_broken = broken.backward(np.ones_like(broken.forward(x)))
    assert np.abs(dx_ones - dx_broken).max() < 1e-12
    # with a random dout the true gradient is large, and check_layer tells them apart
    dx_random = bn.backward(rng.normal(size=x.shape))
    assert np.abs(dx_random).max() > 1e-2
    assert check_layer(bn, x, rng=np.random.default_rng(1))["input"] < TOL
    assert check_layer(broken, x, rng=np.random.default_rng(1))["input"] > 0.5


class Spy(Module):
    """Identity layer that records the upstream gradient it receives."""

    def forward(self, x):
        return x.copy()

    def backward(self, dout):
        self.seen = dout.copy()
        return dout


def test_check_layer_uses_random_dout_from_rng():
    x = np.random.default_rng(0).normal(size=(20, 3))
    spy = Spy()
    errors = check_layer(spy, x, rng=np.random.default_rng(42))
    first = spy.seen
    assert errors["input"] < TOL
    assert first.shape == x.shape
    assert not np.allclose(first, 1.0) and np.unique(first).size == first.size
    assert 0.5 < first.std() < 1.5 and abs(first.mean()) < 0.5
    check_layer(spy, x, rng=np.random.default_rng(42))
    assert np.array_equal(spy.seen, first)           # reproducible from the generator
    check_layer(spy, x, rng=np.random.default_rng(43))
    assert not np.array_equal(spy.seen, first)


# --- the helpers themselves -----------------------------------------------------------------

def test_numerical_gradient_of_known_function():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(3, 4))
    A = rng.normal(size=(3, 4))
    g = numerical_gradient(lambda: float(np.sum(A * x ** 3)), x)
    np.testing.assert_allclose(g, 3 * A * x ** 2, rtol=1e-7, atol=1e-9)
    assert rel_error(g, 3 * A * x ** 2) < TOL


def test_rel_error_values():
    a = np.array([3.0, 4.0])
    assert rel_error(a, a) == 0.0
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    assert rel_error(a, np.zeros(2)) == pytest.approx(1.0)
    assert rel_error(a, 1.01 * a) == pytest.approx(0.01 / 2.01)


def test_a_gradient_check_of_float32_parameters_is_refused():
    """In float32 finite differences are mostly rounding error: refused, not reported."""
    model = build_model(SpiralConfig(hidden=(4,), dtype="float32"))
    X, y = np.zeros((4, 2)), np.array([0, 1, 0, 1])
    with pytest.raises(ValueError, match=r"model has float32 parameters: .*needs float64"):
        check_model(model, X, y)
    with pytest.raises(ValueError, match=r"layer has float32 parameters"):
        check_layer(nblib.Linear(2, 3, rng=0, dtype=np.float32), X)
    assert check_model(build_model(SpiralConfig(hidden=(4,), dtype="float64")), X, y)


# --- backward sets the gradient: nothing accumulates across calls ---------------------------
# (check_layer calls backward once on fresh zeros, so a backward that adds to grad passes it)

@pytest.mark.parametrize("name", ["linear", "linear-no-bias", "batchnorm-train", "layernorm"])
def test_backward_sets_grad_instead_of_adding_to_it(name):
    rng = np.random.default_rng(5)
    layer = LAYERS[name](rng)
    x1, x2 = rng.normal(size=(8, 5)), rng.normal(size=(8, 5))
    dout = rng.normal(size=layer.forward(x2).shape)
    layer.backward(dout)
    alone = {n: p.grad.copy() for n, p in layer.named_parameters()}   # batch 2 by itself
    layer.forward(x1)
    layer.backward(rng.normal(size=dout.shape))                        # batch 1, then batch 2
    layer.forward(x2)
    layer.backward(dout)
    layer.backward(dout)                                               # twice: still the same
    for n, p in layer.named_parameters():
        np.testing.assert_allclose(p.grad, alone[n], rtol=1e-12, atol=1e-12, err_msg=n)


def test_linear_gradients_by_hand():
    layer = Linear(2, 3, rng=0)
    x = np.array([[1.0, 2.0], [3.0, -1.0]])
    dout = np.array([[1.0, 0.0, -1.0], [0.5, 2.0, 0.0]])
    layer.forward(x)
    dx = layer.backward(dout)
    np.testing.assert_allclose(layer.weight.grad, dout.T @ x)
    np.testing.assert_allclose(layer.bias.grad, dout.sum(axis=0))
    np.testing.assert_allclose(dx, dout @ layer.weight.value)


# --- what forward computes, where a gradient check cannot see it -----------------------------
# (running statistics, dropout's mask and scale, the initial weights)

def test_dropout_drops_p_of_the_units_and_scales_the_rest_by_one_over_one_minus_p():
    p = 0.3
    layer = Dropout(p, rng=np.random.default_rng(0))
    x = np.ones((400, 50))
    out = layer.forward(x)
    assert set(np.unique(out)) == {0.0, 1 / (1 - p)}
    assert abs(np.mean(out == 0) - p) < 0.01              # 20,000 units: sd 0.003
    assert abs(out.mean() - 1.0) < 0.02                   # the expected activation is kept
    dout = np.random.default_rng(1).normal(size=x.shape)
    np.testing.assert_array_equal(layer.backward(dout), dout * out)   # the same mask


def test_dropout_takes_an_int_seed_as_its_generators_seed():
    x = np.ones((5, 8))
    seeded = Dropout(0.5, rng=3).forward(x)
    assert np.array_equal(seeded, Dropout(0.5, rng=np.random.default_rng(3)).forward(x))


def test_train_and_eval_set_the_mode_of_every_module_inside():
    model = Sequential(Linear(2, 3, rng=0), BatchNorm(3), ReLU(), Dropout(0.2, rng=0))
    assert all(m.training for m in model.modules())
    assert model.eval() is model and not any(m.training for m in model.modules())
    assert all(m.training for m in model.train().modules())


def test_dropout_is_the_identity_in_evaluation_mode():
    layer = Dropout(0.5, rng=np.random.default_rng(0)).eval()
    x = np.random.default_rng(1).normal(size=(6, 4))
    assert np.array_equal(layer.forward(x), x)
    assert np.array_equal(layer.backward(x), x)


def test_batchnorm_running_statistics_follow_pytorchs_rule():
    """running = (1 - momentum) running + momentum batch, with the unbiased batch variance."""
    rng = np.random.default_rng(0)
    bn = BatchNorm(3, momentum=0.2)
    mean, var = np.zeros(3), np.ones(3)
    for _ in range(3):
        x = rng.normal(2.0, 3.0, (5, 3))
        bn.forward(x)
        mean = 0.8 * mean + 0.2 * x.mean(axis=0)
        var = 0.8 * var + 0.2 * x.var(axis=0, ddof=1)
    np.testing.assert_allclose(bn.running_mean, mean, rtol=1e-12)
    np.testing.assert_allclose(bn.running_var, var, rtol=1e-12)
    bn.eval()
    before = bn.running_mean.copy(), bn.running_var.copy()
    x = rng.normal(size=(4, 3))
    np.testing.assert_allclose(bn.forward(x), (x - mean) / np.sqrt(var + bn.eps), rtol=1e-12)
    assert np.array_equal(bn.running_mean, before[0])      # evaluation leaves them alone
    assert np.array_equal(bn.running_var, before[1])


def test_linear_starts_with_he_initialisation():
    """weight ~ N(0, 2 / in_features), bias = 0: checked on 80,000 weights (sd of the
    estimated variance about 0.5%)."""
    layer = Linear(400, 200, rng=np.random.default_rng(0))
    w = layer.weight.value
    assert w.shape == (200, 400) and np.all(layer.bias.value == 0)
    assert abs(w.mean()) < 0.002
    assert abs(w.var() / (2 / 400) - 1) < 0.02
