"""nblib.viz.hidden_units: the activation of every hidden neuron over the input plane."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import nblib  # noqa: E402

# float64: the tests compare with a walk through the layers by hand, and ramps to 1e-9
TINY = nblib.SpiralConfig(n=40, hidden=(8, 6), epochs=3, batch_size=16, dropout=0.2,
                          dtype="float64")


@pytest.fixture(scope="module")
def result():
    return nblib.train_spirals(TINY, progress=False)


def manual_hidden_outputs(model, X):
    """The outputs of each ReLU, by walking the layers by hand in evaluation mode."""
    model.eval()
    out, x = [], X
    for layer in model.layers:
        x = layer.forward(x)
        if isinstance(layer, nblib.ReLU):
            out.append(x.copy())
    model.train()
    return out


# -------------------------------------------------------------- hidden_activations
def test_hidden_activations_are_the_relu_outputs(result):
    acts = nblib.hidden_activations(result.model, result.X_test)
    assert [a.shape for a in acts] == [(len(result.X_test), 8), (len(result.X_test), 6)]
    expected = manual_hidden_outputs(result.model, result.X_test)
    for a, e in zip(acts, expected):
        np.testing.assert_array_equal(a, e)
        assert a.min() >= 0


def test_hidden_activations_are_deterministic_and_restore_the_mode(result):
    model = result.model
    model.train()
    first = nblib.hidden_activations(model, result.X_test)     # dropout must be off
    second = nblib.hidden_activations(model, result.X_test)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert model.training and all(m.training for m in model.modules())
    model.eval()
    nblib.hidden_activations(model, result.X_test)
    assert not any(m.training for m in model.modules())
    model.train()


# ------------------------------------------------------------------------ unit_maps
def test_unit_maps_put_each_grid_point_in_its_place(result):
    xs, maps = nblib.unit_maps(result.model, resolution=9, extent=1.0)
    np.testing.assert_allclose(xs, np.linspace(-1, 1, 9))
    assert [m.shape for m in maps] == [(8, 9, 9), (6, 9, 9)]
    r, c = 2, 7                                   # the point (x1, x2) = (xs[c], xs[r])
    point = np.array([[xs[c], xs[r]]])
    for layer, a in enumerate(nblib.hidden_activations(result.model, point)):
        np.testing.assert_allclose(maps[layer][:, r, c], a[0])


def test_first_layer_maps_are_ramps(result):
    """In evaluation mode a first-layer unit is max(0, a1 x1 + a2 x2 + c)."""
    xs, maps = nblib.unit_maps(result.model, resolution=15)
    xx, yy = np.meshgrid(xs, xs)
    for unit_map in maps[0]:
        on = unit_map > 0
        if on.sum() < 3:
            continue
        A = np.c_[xx[on], yy[on], np.ones(on.sum())]
        coef, *_ = np.linalg.lstsq(A, unit_map[on], rcond=None)
        np.testing.assert_allclose(A @ coef, unit_map[on], atol=1e-9 * unit_map.max())


# ------------------------------------------------- selection, dead units, correlation
def test_most_variable_units_orders_by_spread():
    values = np.stack([np.full((4, 4), 3.0),                   # constant: dead-like
                       np.arange(16.0).reshape(4, 4),          # large spread
                       np.arange(16.0).reshape(4, 4) / 10])    # small spread
    np.testing.assert_array_equal(nblib.most_variable_units(values, 2), [1, 2])
    np.testing.assert_array_equal(nblib.most_variable_units(values, 10), [1, 2, 0])
    np.testing.assert_array_equal(nblib.most_variable_units(values[:, :, 0], 1), [1])


def test_dead_units_finds_a_unit_that_never_fires():
    config = nblib.SpiralConfig(n=20, hidden=(5, 4), norm=None)
    model = nblib.build_model(config)
    first = model.layers[0]
    first.weight.value[3] = 0.0
    first.bias.value[3] = -1.0                    # unit 3 of layer 1: always negative
    X, _ = nblib.make_spirals(20, seed=1)
    dead = nblib.dead_units(model, X)
    assert [d.shape for d in dead] == [(5,), (4,)]
    assert dead[0][3] and not dead[0][[0, 1, 2, 4]].any()


def test_label_correlation_matches_numpy():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 50)
    a = np.c_[y + rng.normal(0, 0.5, 50), rng.normal(size=50), np.full(50, 2.0), -3 * y]
    corr = nblib.label_correlation(a, y)
    assert corr.shape == (4,)
    for j in (0, 1):
        assert corr[j] == pytest.approx(abs(np.corrcoef(a[:, j], y)[0, 1]))
    assert corr[2] == 0.0                          # constant output: 0, not NaN
    assert corr[3] == pytest.approx(1.0)


# --------------------------------------------------------------------- plot_unit_maps
def test_plot_unit_maps_draws_the_chosen_units(result):
    before = dict(matplotlib.rcParams)
    xs, maps = nblib.unit_maps(result.model, resolution=10)
    units = [[0, 5, 2], [1, 0, 4]]
    vmax = [np.full(8, 2.0), np.arange(1.0, 7.0)]
    axes, images = nblib.plot_unit_maps(maps, units=units, vmax=vmax)
    assert axes.shape == images.shape == (2, 3)
    for row in range(2):
        for col, j in enumerate(units[row]):
            np.testing.assert_array_equal(images[row, col].get_array(), maps[row][j])
            assert images[row, col].get_clim() == (0.0, vmax[row][j])
            assert axes[row, col].get_title() == f"unit {j}"
    assert axes[1, 0].get_ylabel() == "layer 2"
    assert dict(matplotlib.rcParams) == before


def test_plot_unit_maps_defaults_and_boundary(result):
    xs, maps = nblib.unit_maps(result.model, resolution=10)
    fig, axes = plt.subplots(2, 4)
    _, _, prob = nblib.viz.plots.decision_grid(result.model, extent=1.2, resolution=10)
    prob = np.clip((prob - prob.min()) / np.ptp(prob), 0, 1)   # make sure it crosses 0.5
    out_axes, images = nblib.plot_unit_maps(maps, axes, k=4, boundary=prob)
    assert out_axes[0, 0] is axes[0, 0]
    for row, m in enumerate(maps):
        shown = [int(ax.get_title().split()[-1]) for ax in out_axes[row]]
        np.testing.assert_array_equal(shown, nblib.most_variable_units(m, 4))
        assert images[row, 0].get_clim()[1] == pytest.approx(m[shown[0]].max())
    assert all(len(ax.collections) == 1 for ax in out_axes.ravel())    # the 0.5 contour

