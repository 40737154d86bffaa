"""nblib.experiments.stats: the binomial interval, fresh samples and errors by radius."""
import inspect
import math

import numpy as np
import pytest

from nblib import (Module, SpiralConfig, bayes_accuracy, bayes_posterior, build_model, evaluate,
                   make_data, predict_logits, train_spirals)
from nblib.experiments.stats import (RADIUS_EDGES, RadiusErrors, binomial_interval,
                         compare_errors_by_radius, errors_by_radius, fresh_accuracy,
                         fresh_sample, held_out_interval, plot_errors_by_radius)


# ---------------------------------------------------------------- binomial_interval
# Wilson score intervals (95%, no continuity correction) for the worked examples of Newcombe
# (1998), "Two-sided confidence intervals for the single proportion: comparison of seven
# methods", Statistics in Medicine 17, 857-872.
NEWCOMBE = [((81, 263), (0.2553, 0.3662)), ((15, 148), (0.0624, 0.1605)),
            ((0, 20), (0.0, 0.1611)), ((1, 29), (0.0061, 0.1718))]


@pytest.mark.parametrize("counts, expected", NEWCOMBE)
def test_wilson_interval_matches_published_values(counts, expected):
    low, high = binomial_interval(*counts)
    assert low == pytest.approx(expected[0], abs=6e-5)
    assert high == pytest.approx(expected[1], abs=6e-5)


def _coverage(p, n, confidence=0.95):
    """Exact probability that the interval covers p when k ~ Binomial(n, p)."""
    total = 0.0
    for k in range(n + 1):
        low, high = binomial_interval(k, n, confidence)
        if low <= p <= high:
            total += math.comb(n, k) * p**k * (1 - p) ** (n - k)
    return total


@pytest.mark.parametrize("p", [0.5, 0.9, 0.95, 0.97, 0.986, 0.995])
def test_interval_covers_the_true_accuracy_about_95_percent_of_the_time(p):
    # Exact coverage on 120 points (the held-out set), summed over every possible count.
    # Wald's p_hat +- 1.96 se covers p = 0.986 only ~81% of the time on 120 points.
    assert 0.92 <= _coverage(p, 120) <= 0.99


def test_coverage_by_simulation_on_the_held_out_size():
    rng = np.random.default_rng(0)
    counts = rng.binomial(120, 0.97, size=4000)
    covered = [low <= 0.97 <= high for low, high in map(lambda k: binomial_interval(int(k), 120),
                                                         counts)]
    assert 0.93 <= np.mean(covered) <= 0.985


def test_interval_contains_the_estimate_and_narrows_with_n():
    for correct, n in [(0, 10), (3, 10), (10, 10), (116, 120), (1160, 1200)]:
        low, high = binomial_interval(correct, n)
        assert 0.0 <= low <= correct / n <= high <= 1.0
    assert np.diff(binomial_interval(1160, 1200)) < np.diff(binomial_interval(116, 120)) / 3
    assert binomial_interval(120, 120)[1] == 1.0 and binomial_interval(0, 120)[0] == 0.0
    assert np.diff(binomial_interval(116, 120, 0.99)) > np.diff(binomial_interval(116, 120, 0.9))


@pytest.mark.parametrize("args, error, match", [
    ((121, 120), ValueError, "correct must be <= 120"),
    ((-1, 120), ValueError, "correct must be >= 0"),
    ((3.0, 120), TypeError, "correct must be an integer"),
    ((3, 0), ValueError, "n must be >= 1"),
    ((3, 10, 1.0), ValueError, "confidence must be < 1"),
    ((3, 10, 0.0), ValueError, "confidence must be > 0"),
])
def test_interval_rejects_bad_input(args, error, match):
    with pytest.raises(error, match=match):
        binomial_interval(*args)


def test_held_out_interval_of_a_run():
    result = train_spirals(SpiralConfig(epochs=2), progress=False)
    predicted = predict_logits(result.model, result.X_test) > 0
    correct = int(np.sum(predicted == (result.y_test == 1)))
    assert held_out_interval(result) == binomial_interval(correct, 120)
    low, high = held_out_interval(result, 0.99)
    assert low <= result.test_accuracy <= high
    with pytest.raises(TypeError, match="result must be a SpiralResult"):
        held_out_interval(0.97)


# ------------------------------------------------------------------- fresh samples
def test_fresh_sample_is_the_generator_and_bayes_accuracys_points():
    X, y = fresh_sample(5000)
    assert X.shape == (5000, 2) and y.shape == (5000,)
    assert set(np.unique(y)) == {0, 1} and abs(y.mean() - 0.5) < 0.03
    # the default seed draws exactly the points bayes_accuracy averages over
    p1 = bayes_posterior(X)
    expected = bayes_accuracy(samples=5000)
    assert np.maximum(p1, 1 - p1).mean() == pytest.approx(expected, abs=1e-12)
    # and the Bayes classifier's 0/1 accuracy on them is close to that expectation
    assert np.mean((p1 > 0.5) == (y == 1)) == pytest.approx(expected, abs=0.006)
    X2, _ = fresh_sample(5000, seed=1)
    assert not np.allclose(X, X2)


def test_fresh_sample_labels_each_point_by_the_arm_of_its_centre():
    """Without noise every point is a centre; the two arms share only their start, the
    origin, so points there come from either arm, half of them each."""
    X, y = fresh_sample(4000, n=2, noise=0.0, seed=1)     # centres: (0, 0), (1, 0) and (-1, 0)
    X = np.round(X, 12) + 0.0                             # -0.0 and 4.9e-16 as 0
    assert set(map(tuple, X[y == 0].tolist())) == {(0.0, 0.0), (1.0, 0.0)}
    assert set(map(tuple, X[y == 1].tolist())) == {(0.0, 0.0), (-1.0, 0.0)}
    at_origin = y[np.all(X == 0.0, axis=1)]
    assert abs(at_origin.mean() - 0.5) < 0.05            # about 2000 points: sd 0.011


def test_fresh_sample_rejects_bad_input():
    with pytest.raises(ValueError, match="samples must be >= 1"):
        fresh_sample(0)
    with pytest.raises(ValueError, match="noise must be >= 0"):
        fresh_sample(10, noise=-0.1)


class _Fixed:
    """Not a Module: fresh_accuracy must refuse it."""


def test_fresh_accuracy_of_an_untrained_network_is_near_chance():
    model = build_model(SpiralConfig(seed=3))
    acc = fresh_accuracy(model, SpiralConfig(), samples=4000)
    assert 0.3 < acc < 0.7
    with pytest.raises(TypeError, match="model must be an nblib Module"):
        fresh_accuracy(_Fixed())
    with pytest.raises(TypeError, match="config must be a SpiralConfig or None"):
        fresh_accuracy(model, {"n": 300})


class _Memoriser(Module):
    """Right on the points it memorised, wrong (against the Bayes classifier) everywhere else."""

    def __init__(self, X, y):
        self.memory = {tuple(x): label for x, label in zip(X.tolist(), y.tolist())}

    def forward(self, x):
        self.check_input(x)
        bayes = bayes_posterior(x, 300, 0.03) > 0.5
        labels = [self.memory.get(tuple(row), not b) for row, b in zip(x.tolist(), bayes)]
        return np.where(labels, 10.0, -10.0)[:, None]


def test_fresh_accuracy_is_measured_on_fresh_points_not_the_training_points():
    config = SpiralConfig()
    X_train, _, y_train, _ = make_data(config)
    X_fresh, y_fresh = fresh_sample(2000, config.n, config.noise, seed=7)
    memoriser = _Memoriser(X_train, y_train)
    assert evaluate(memoriser, X_train, y_train)[1] == 1.0
    acc = fresh_accuracy(memoriser, config, samples=2000, seed=7)
    assert acc < 0.05                                   # a fresh point is never a training point
    assert acc == np.mean((predict_logits(memoriser, X_fresh) > 0) == (y_fresh == 1))


def test_fresh_accuracy_uses_its_samples_seed_and_config():
    model = build_model(SpiralConfig(hidden=(8,), seed=3))
    config = SpiralConfig(n=50, noise=0.2)
    for samples, seed in ((500, 1), (700, 2)):
        X, y = fresh_sample(samples, config.n, config.noise, seed)
        assert fresh_accuracy(model, config, samples, seed) == \
            np.mean((predict_logits(model, X) > 0) == (y == 1))


# ------------------------------------------------------------------ errors by radius
def test_errors_by_radius_counts_each_ring():
    X = np.array([[0.01, 0.0], [0.0, 0.04], [0.3, 0.0], [0.0, -0.32], [0.9, 0.0]])
    y = np.array([0, 1, 0, 1, 1])
    predicted = np.array([1, 1, 0, 0, 1])           # wrong at r = 0.01 and r = 0.32
    errors, points = errors_by_radius(X, y, predicted, np.array([0.0, 0.05, 0.5, 1.0]))
    assert points.tolist() == [2, 2, 1]
    assert errors.tolist() == [1, 1, 0]


@pytest.mark.parametrize("edges", [np.array([0.5]), np.array([0.0, 0.5, 0.4]),
                                   np.array([-0.1, 0.5])])
def test_errors_by_radius_rejects_bad_edges(edges):
    X, y = np.zeros((3, 2)), np.zeros(3, dtype=int)
    with pytest.raises(ValueError, match="edges must be"):
        errors_by_radius(X, y, y, edges)


def test_errors_by_radius_rejects_bad_labels():
    X, y = np.zeros((3, 2)), np.zeros(3, dtype=int)
    with pytest.raises(ValueError, match="predicted must"):
        errors_by_radius(X, y, np.array([0, 2, 1]))
    with pytest.raises(ValueError, match="X must have shape"):
        errors_by_radius(np.zeros((3, 3)), y, y)


def test_bayes_errors_sit_near_the_origin():
    """The claim the book makes about where errors are, for the best classifier."""
    model = build_model(SpiralConfig(seed=0))        # untrained: errors everywhere
    profile = compare_errors_by_radius(model, samples=8000)
    assert isinstance(profile, RadiusErrors)
    assert profile.samples == 8000                 # every fresh point lies in a ring
    assert profile.points.shape == profile.bayes.shape == (len(RADIUS_EDGES) - 1,)
    assert profile.share_below(0.15, "bayes") > 0.6
    assert profile.share_below(0.15, "network") < 0.3
    bayes_rate = profile.bayes.sum() / profile.samples
    assert bayes_rate == pytest.approx(1 - bayes_accuracy(samples=8000), abs=0.005)


def test_plot_errors_by_radius_draws_both_classifiers():
    profile = RadiusErrors(np.array([0.0, 0.1, 0.2]), np.array([50, 50]), np.array([4, 1]),
                           np.array([2, 0]))
    ax, (net, bayes) = plot_errors_by_radius(profile)
    assert [round(b.get_height(), 6) for b in net] == [4.0, 1.0]     # % of all 100 points
    assert [round(b.get_height(), 6) for b in bayes] == [2.0, 0.0]
    assert ax.get_xlabel() == "distance from the origin"
    with pytest.raises(TypeError, match="radius_errors must be a RadiusErrors"):
        plot_errors_by_radius({"network": [1]})


def test_held_out_text_is_the_accuracy_and_its_wilson_interval():
    from nblib import SpiralConfig, train_spirals
    from nblib.experiments.stats import binomial_interval, held_out_text

    result = train_spirals(SpiralConfig(epochs=3, hidden=(8,)), progress=False)
    n = len(result.y_test)
    low, high = binomial_interval(round(result.test_accuracy * n), n)
    assert held_out_text(result) == f"{result.test_accuracy:.1%} ({low:.0%}–{high:.0%})"
    with pytest.raises(TypeError, match="result"):
        held_out_text(0.95)


def test_accuracy_plot_legend_gives_the_sizes_it_was_handed():
    """The legend's point counts come from the runs' held-out sets and the fresh sample's
    size (fresh_accuracy's default unless given), not typed in."""
    import matplotlib
    matplotlib.use("Agg")
    from nblib.experiments.stats import FRESH_SAMPLES, fresh_accuracy, plot_accuracy_intervals
    config = SpiralConfig(n=50, epochs=2, test_fraction=0.3)
    result = train_spirals(config, progress=False)
    ax, _ = plot_accuracy_intervals([result], [0.9], 0.97)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert f"held-out ({len(result.y_test):,} points), 95% interval" in legend
    assert f"fresh sample ({FRESH_SAMPLES:,} points)" in legend
    assert inspect.signature(fresh_accuracy).parameters["samples"].default == FRESH_SAMPLES
    ax, _ = plot_accuracy_intervals([result], [0.9], 0.97, samples=500)
    assert "fresh sample (500 points)" in [t.get_text() for t in ax.get_legend().get_texts()]
    with pytest.raises(ValueError, match="samples"):
        plot_accuracy_intervals([result], [0.9], 0.97, samples=0)
