"""nblib.viz.activation_stats: deep stacks, their per-layer statistics, and the plot."""
import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure

from nblib import Linear, ReLU, Sequential, Sigmoid
from nblib.viz.activation_stats import deep_stack, layer_stats, plot_layer_stats


def _x(width=64, n=500, seed=0):
    return np.random.default_rng(seed).standard_normal((n, width))


# --- deep_stack ------------------------------------------------------------------------------

@pytest.mark.parametrize("activation,cls", [("relu", ReLU), ("sigmoid", Sigmoid)])
def test_deep_stack_alternates_linear_and_activation(activation, cls):
    model = deep_stack(4, 8, activation=activation, rng=0)
    assert isinstance(model, Sequential) and len(model) == 8
    for i, layer in enumerate(model):
        if i % 2 == 0:
            assert isinstance(layer, Linear)
            assert (layer.in_features, layer.out_features) == (8, 8)
        else:
            assert isinstance(layer, cls)


def test_he_init_has_variance_two_over_fan_in():
    width = 256
    model = deep_stack(3, width, rng=1)
    w = np.concatenate([layer.weight.value.ravel() for layer in model if isinstance(layer, Linear)])
    assert w.std() == pytest.approx(np.sqrt(2.0 / width), rel=0.02)


@pytest.mark.parametrize("std", [1.0, 0.01])
def test_naive_init_uses_the_given_std(std):
    model = deep_stack(3, 128, init=std, rng=2)
    w = np.concatenate([layer.weight.value.ravel() for layer in model if isinstance(layer, Linear)])
    assert w.std() == pytest.approx(std, rel=0.02)


def test_deep_stack_is_reproducible_from_its_rng():
    a = deep_stack(2, 5, init=0.3, rng=np.random.default_rng(7))
    b = deep_stack(2, 5, init=0.3, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(a[0].weight.value, b[0].weight.value)
    np.testing.assert_array_equal(a[2].weight.value, b[2].weight.value)


# --- layer_stats -----------------------------------------------------------------------------

def test_layer_stats_matches_a_manual_forward_and_backward():
    model = deep_stack(3, 6, activation="sigmoid", rng=3)
    x = _x(6, 20, seed=4)
    stats = layer_stats(model, x, rng=np.random.default_rng(5))
    assert stats["activation_std"].shape == (3,) and stats["weight_grad_std"].shape == (3,)

    out, expected_act = x, []
    for i in range(3):
        out = model[2 * i].forward(out)
        out = model[2 * i + 1].forward(out)
        expected_act.append(out.std())
    np.testing.assert_allclose(stats["activation_std"], expected_act, rtol=1e-12)

    dout = np.random.default_rng(5).standard_normal(out.shape)
    model.backward(dout)
    expected_grad = [model[2 * i].weight.grad.std() for i in range(3)]
    np.testing.assert_allclose(stats["weight_grad_std"], expected_grad, rtol=1e-12)


def test_he_init_keeps_relu_activations_of_one_order():
    std = layer_stats(deep_stack(20, 128, rng=6), _x(128), rng=7)["activation_std"]
    growth_per_block = (std[-1] / std[0]) ** (1 / (len(std) - 1))
    assert abs(growth_per_block - 1) < 0.05, std
    assert 0.25 < std.min() / std.max() <= 1, std


def test_naive_inits_explode_or_vanish():
    x = _x(128)
    big = layer_stats(deep_stack(15, 128, init=1.0, rng=8), x, rng=9)["activation_std"]
    small = layer_stats(deep_stack(15, 128, init=0.01, rng=8), x, rng=9)["activation_std"]
    assert big[-1] / big[0] > 1e10
    assert small[-1] / small[0] < 1e-10
    assert np.all(np.diff(np.log(big)) > 0) and np.all(np.diff(np.log(small)) < 0)


def test_sigmoid_gradients_vanish_towards_the_input_and_relu_ones_do_not():
    x = _x(128)
    sig = layer_stats(deep_stack(15, 128, activation="sigmoid", rng=10), x, rng=11)
    relu = layer_stats(deep_stack(15, 128, activation="relu", rng=10), x, rng=11)
    assert sig["weight_grad_std"][0] / sig["weight_grad_std"][-1] < 1e-4
    assert 0.3 < relu["weight_grad_std"][0] / relu["weight_grad_std"][-1] < 3


# --- plot_layer_stats ------------------------------------------------------------------------

def test_plot_draws_one_line_per_curve_on_a_log_scale_without_touching_rcparams():
    before = dict(matplotlib.rcParams)
    ax = Figure().subplots()
    curves = {"a": [1.0, 2.0, 4.0], "b": np.array([1.0, 0.1, 0.01])}
    returned = plot_layer_stats(curves, ax, ylabel="std", title="t")
    assert returned is ax
    assert ax.get_yscale() == "log" and ax.get_ylabel() == "std" and ax.get_title() == "t"
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["a", "b"]
    np.testing.assert_array_equal(lines[0].get_xdata(), [1, 2, 3])
    np.testing.assert_array_equal(lines[1].get_ydata(), [1.0, 0.1, 0.01])
    assert dict(matplotlib.rcParams) == before


def test_plot_creates_axes_when_none_given():
    import matplotlib.pyplot as plt
    ax = plot_layer_stats({"a": [1.0, 3.0]})
    try:
        assert len(ax.get_lines()) == 1
    finally:
        plt.close(ax.figure)

