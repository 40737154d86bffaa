"""nblib.viz.plots: each function draws what it says, returns it, and leaves rcParams alone."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.contour import ContourSet  # noqa: E402

import nblib  # noqa: E402
from nblib.viz import plots  # noqa: E402

TINY = nblib.SpiralConfig(n=40, hidden=(8, 8), epochs=4, batch_size=16)


@pytest.fixture(scope="module")
def result():
    return nblib.train_spirals(TINY, progress=False)


@pytest.fixture(autouse=True)
def rcparams_unchanged():
    before = dict(matplotlib.rcParams)
    yield
    after = dict(matplotlib.rcParams)
    changed = {k for k in before if before[k] != after[k]
               and not (isinstance(before[k], float) and np.isnan(before[k]))}
    assert not changed, f"rcParams changed: {sorted(changed)}"


def contour_sets(ax):
    return [c for c in ax.collections if isinstance(c, ContourSet)]


# ------------------------------------------------------------------------- plot_data
def test_plot_data_scatters_each_class_at_its_points(result):
    ax = plots.plot_data(result.X_train, result.y_train)
    assert len(ax.collections) == 2
    for cls, collection in enumerate(ax.collections):
        np.testing.assert_array_equal(collection.get_offsets(),
                                      result.X_train[result.y_train == cls])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Class 0", "Class 1"]


def test_plot_data_draws_into_the_given_axes(result):
    fig, ax = plt.subplots()
    assert plots.plot_data(result.X_test, result.y_test, ax) is ax
    assert len(fig.axes) == 1


# ------------------------------------------------------------------- loss, accuracy
def test_plot_loss_lines_hold_the_history(result):
    h = result.history
    ax = plots.plot_loss(h)
    train, test = ax.get_lines()
    np.testing.assert_array_equal(train.get_xdata(), np.arange(1, h.epochs + 1))
    np.testing.assert_array_equal(train.get_ydata(), h.train_loss)
    np.testing.assert_array_equal(test.get_ydata(), h.test_loss)


def test_plot_accuracy_draws_target_and_optional_bayes_line(result):
    h = result.history
    ax = plots.plot_accuracy(h)
    acc, target = ax.get_lines()
    np.testing.assert_array_equal(acc.get_ydata(), h.test_acc)
    np.testing.assert_array_equal(target.get_ydata(), [0.95, 0.95])
    ax = plots.plot_accuracy(h, bayes=0.987, target=0.9)
    lines = ax.get_lines()
    assert len(lines) == 3
    np.testing.assert_array_equal(lines[1].get_ydata(), [0.9, 0.9])
    np.testing.assert_array_equal(lines[2].get_ydata(), [0.987, 0.987])


# ------------------------------------------------------------------- plot_histories
def test_plot_histories_one_line_per_history_with_its_data(result):
    other = nblib.train_spirals(TINY.replace(seed=1), progress=False).history
    histories = {"seed 0": result.history, "seed 1": other}
    ax, lines = plots.plot_histories(histories, "test_acc", colors=["red", "blue"])
    assert lines == ax.get_lines() and len(lines) == 2
    np.testing.assert_array_equal(lines[0].get_ydata(), result.history.test_acc)
    np.testing.assert_array_equal(lines[1].get_ydata(), other.test_acc)
    assert [line.get_label() for line in lines] == ["seed 0", "seed 1"]
    assert matplotlib.colors.same_color(lines[1].get_color(), "blue")
    assert ax.get_yscale() == "linear"


def test_plot_histories_log_scale_and_title(result):
    ax, _ = plots.plot_histories({"a": result.history}, "train_loss", logy=True, title="T")
    assert ax.get_yscale() == "log"
    assert ax.get_title() == "T"


# -------------------------------------------------------------------- plot_schedule
def test_plot_schedule_plots_the_rate_of_every_step():
    schedule = nblib.OneCycle(0.1, 50)
    ax, line = plots.plot_schedule(schedule, 50)
    np.testing.assert_array_equal(line.get_xdata(), np.arange(50))
    np.testing.assert_allclose(line.get_ydata(), [schedule(t) for t in range(50)])
    assert max(line.get_ydata()) == pytest.approx(0.1)
    assert ax.get_title() == "OneCycle"


# ---------------------------------------------------------------- decision boundary
def test_decision_grid_matches_predict_proba(result):
    xx, yy, prob = plots.decision_grid(result.model, extent=1.0, resolution=7)
    assert xx.shape == yy.shape == prob.shape == (7, 7)
    assert xx[0, 0] == -1.0 and yy[-1, 0] == 1.0
    expected = nblib.predict_proba(result.model, np.c_[xx.ravel(), yy.ravel()])
    np.testing.assert_allclose(prob.ravel(), expected)


def test_plot_probability_grid_draws_the_half_contour_only_when_crossed():
    xs = np.linspace(-1, 1, 20)
    xx, yy = np.meshgrid(xs, xs)
    ax, cf = plots.plot_probability_grid(xx, yy, (xx + 1) / 2)
    sets = contour_sets(ax)
    assert cf in sets and len(sets) == 2
    half = [s for s in sets if s is not cf][0]
    np.testing.assert_array_equal(half.levels, [0.5])
    np.testing.assert_allclose(cf.levels, np.linspace(0, 1, 21))

    ax, cf = plots.plot_probability_grid(xx, yy, np.full(xx.shape, 0.3))
    assert contour_sets(ax) == [cf]


def test_plot_decision_boundary_with_points_and_colorbar(result):
    fig, ax = plt.subplots()
    out_ax, cf = plots.plot_decision_boundary(result.model, result.X_test, result.y_test, ax,
                                              resolution=30, colorbar=True, title="B")
    assert out_ax is ax and ax.get_title() == "B"
    assert len(fig.axes) == 2                              # the colorbar's axes
    points = [c for c in ax.collections if not isinstance(c, ContourSet)]
    assert sum(len(c.get_offsets()) for c in points) == len(result.X_test)
    assert ax.get_legend() is None


def test_plot_results_three_panels(result):
    axes = plots.plot_results(result, bayes=0.98)
    assert len(axes) == 3
    assert len(axes[0].get_lines()) == 2
    assert any(np.allclose(line.get_ydata(), 0.98) for line in axes[1].get_lines())
    assert "test acc" in axes[2].get_title()
