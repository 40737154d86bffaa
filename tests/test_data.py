"""The two-spiral data: the source's generator bit for bit, the corrected one, and its Bayes limit."""
import numpy as np
import pytest

from nblib import (DEFAULT_NOISE, bayes_accuracy, bayes_posterior, make_spirals, spiral_centres,
                   train_test_split)
from nblib.core.data import CENTRES, make_source_spirals


# --- the oracle: copied verbatim from /work/shared/reference/ch334-source.md, section 1 --------
def make_spirals_source(n: int = 300, noise: float = 0.08, seed: int = 42) -> tuple:
    rng = np.random.default_rng(seed)
    def arm(n, offset):
        theta = np.linspace(0, 4*np.pi, n) + offset
        r = theta / (4*np.pi)
        x = r * np.cos(theta) + rng.normal(0, noise, n)
        y = r * np.sin(theta) + rng.normal(0, noise, n)
        return np.stack([x, y], axis=1)
    X0 = arm(n, 0); X1 = arm(n, np.pi)
    X = np.vstack([X0, X1])
    y = np.array([0]*n + [1]*n)
    perm = rng.permutation(len(y))
    return X[perm], y[perm]
# -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n,noise,seed", [(300, 0.08, 42), (300, 0.03, 0), (1, 0.1, 3),
                                          (2, 0.0, 7), (57, 0.5, 123), (1000, 0.08, 2**31)])
def test_source_generator_reproduces_the_source_bit_for_bit(n, noise, seed):
    X, y = make_source_spirals(n, noise, seed)
    X_src, y_src = make_spirals_source(n, noise, seed)
    assert np.array_equal(X, X_src)
    assert np.array_equal(y, y_src)


@pytest.mark.parametrize("make", [make_spirals, make_source_spirals], ids=["book", "source"])
@pytest.mark.parametrize("n", [1, 5, 300])
def test_shapes_dtypes_and_balance(make, n):
    X, y = make(n, 0.05, 1)
    assert X.shape == (2 * n, 2) and X.dtype == np.float64
    assert y.shape == (2 * n,) and y.dtype == np.int64
    assert np.count_nonzero(y == 0) == n and np.count_nonzero(y == 1) == n
    assert np.isfinite(X).all()


def test_seed_reproducible_and_shuffled():
    X1, y1 = make_spirals(100, 0.05, 9)
    X2, y2 = make_spirals(100, 0.05, 9)
    X3, y3 = make_spirals(100, 0.05, 10)
    assert np.array_equal(X1, X2) and np.array_equal(y1, y2)
    assert not np.array_equal(X1, X3)
    assert 0 < np.count_nonzero(y1[:100]) < 100  # shuffled, not 100 zeros then 100 ones


def _arm(X, y, label):
    """The points of one arm (noise 0) in the order of the curve: by radius."""
    P = X[y == label]
    return P[np.argsort(np.hypot(P[:, 0], P[:, 1]), kind="stable")]


def test_corrected_arm_1_is_arm_0_rotated_by_pi():
    n = 200
    X, y = make_spirals(n, 0.0, 5)
    X0, X1 = _arm(X, y, 0), _arm(X, y, 1)
    theta = np.linspace(0, 4 * np.pi, n)
    r = theta / (4 * np.pi)
    expected0 = np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1)
    np.testing.assert_allclose(X0, expected0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(X1, -X0, rtol=0, atol=1e-12)
    C0, C1 = spiral_centres(n)
    np.testing.assert_allclose(C0, expected0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(C1, -C0, rtol=0, atol=1e-12)


def _distance_to_arm0(P, samples=100_001):  # spacing ~6e-5 along the curve
    t = np.linspace(0, 4 * np.pi, samples)
    r = t / (4 * np.pi)
    curve = np.stack([r * np.cos(t), r * np.sin(t)], axis=1)
    out = np.empty(len(P))
    for i, p in enumerate(P):
        out[i] = np.sqrt(((curve - p) ** 2).sum(1).min())
    return out


def test_source_arms_coincide_but_corrected_ones_do_not():
    """The source adds pi before computing the radius: arm 1 runs along arm 0's own curve."""
    n = 120
    Xs, ys = make_source_spirals(n, 0.0, 1)
    d_source = _distance_to_arm0(Xs[ys == 1])
    # t = theta + pi <= 4 pi for three quarters of the arm: those points are ON arm 0's curve
    assert np.mean(d_source < 1e-4) > 0.7, np.mean(d_source < 1e-4)
    Xc, yc = make_spirals(n, 0.0, 1)
    d_corrected = _distance_to_arm0(Xc[yc == 1])
    # only the start, near the shared origin, is close to arm 0; the rest lie between its turns
    assert np.mean(d_corrected > 0.05) > 0.9, np.mean(d_corrected > 0.05)
    assert np.median(d_corrected) > 0.2
    r = np.hypot(Xc[yc == 1, 0], Xc[yc == 1, 1])
    assert d_corrected[r > 0.25].min() > 0.1


@pytest.mark.parametrize("n", [300, 301, 3, 7, 50, 123, 1000])
def test_train_test_split_takes_the_first_80_percent_as_the_source(n):
    X, y = make_spirals(n, 0.05, 0)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y)
    split = int(0.8 * len(y))  # the source: split = int(0.8 * len(y)); X[:split], X[split:]
    assert np.array_equal(X_tr, X[:split]) and np.array_equal(X_te, X[split:])
    assert np.array_equal(y_tr, y[:split]) and np.array_equal(y_te, y[split:])


def test_train_test_split_other_fractions():
    X = np.arange(180.0).reshape(90, 2)
    y = np.arange(90) % 2
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, 0.3)
    assert len(X_tr) == 63 and len(X_te) == 27  # 0.7 * 90 = 62.999... in floating point
    assert np.array_equal(np.vstack([X_tr, X_te]), X)


def test_bayes_accuracy_source_variant_is_near_chance():
    """With coinciding arms even the best classifier is barely better than a coin."""
    acc = bayes_accuracy(300, 0.08, "source")
    assert 0.55 < acc < 0.70, acc


def test_bayes_accuracy_corrected():
    acc = bayes_accuracy(300, 0.03)
    assert 0.975 < acc < 0.995, acc
    accs = [bayes_accuracy(300, s) for s in (0.02, 0.04, 0.06)]
    assert accs[0] > accs[1] > accs[2], accs
    assert bayes_accuracy(300, DEFAULT_NOISE) >= 0.98


def test_bayes_accuracy_equals_accuracy_of_the_bayes_classifier():
    """Independent estimate: label fresh samples, classify them by the posterior, count."""
    n, noise, m = 300, 0.05, 20_000
    rng = np.random.default_rng(77)
    C0, C1 = spiral_centres(n)
    labels = rng.integers(0, 2, m)
    idx = rng.integers(0, n, m)
    X = np.where(labels[:, None] == 1, C1[idx], C0[idx]) + rng.normal(0, noise, (m, 2))
    empirical = np.mean((bayes_posterior(X, n, noise) > 0.5) == (labels == 1))
    expected = bayes_accuracy(n, noise)
    se = np.sqrt(expected * (1 - expected) / m)
    assert abs(empirical - expected) < 4 * se + 1e-3, (empirical, expected)


@pytest.mark.parametrize("variant", ["two-spiral", "source"])
def test_bayes_posterior_matches_brute_force_density(variant):
    n, noise = 40, 0.06
    C0, C1 = CENTRES[variant](n)
    rng = np.random.default_rng(3)
    pts = [C0[10] + rng.normal(0, noise, 2), C1[25] + rng.normal(0, noise, 2),
           (C0[30] + C1[30]) / 2, np.array([0.01, -0.02]), C0[-1] + [0.05, 0.0]]
    got = bayes_posterior(np.array(pts), n, noise, variant)
    assert got.shape == (len(pts),)
    for x, p in zip(pts, got):
        dens = [sum(np.exp(-((x[0] - c[0]) ** 2 + (x[1] - c[1]) ** 2) / (2 * noise ** 2))
                    / (2 * np.pi * noise ** 2) for c in C) / n for C in (C0, C1)]
        assert dens[0] + dens[1] > 1e-100  # the brute force did not underflow
        np.testing.assert_allclose(p, dens[1] / (dens[0] + dens[1]), rtol=1e-9, atol=1e-12)


def test_bayes_posterior_far_points_do_not_overflow():
    with np.errstate(all="raise"):
        p = bayes_posterior(np.array([[5.0, 5.0], [-3.0, 0.5], [0.0, 40.0]]), 100, 0.01)
    assert np.all((p >= 0) & (p <= 1))
