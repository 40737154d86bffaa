"""The two-spiral dataset: generator, train/test split, and its Bayes limit.

Two arms wind twice around the origin.  Arm 0 is the curve
``r(t) = t / 4π,  t ∈ [0, 4π]`` and arm 1 is the same curve rotated by π, each
point then jittered with isotropic Gaussian noise of standard deviation
``noise``.  Because the generator is a known mixture of Gaussians, its posterior is
exact (:func:`bayes_posterior`), and the best accuracy *any* classifier can reach on it
is estimated from it on many fresh points (:func:`bayes_accuracy`, a Monte Carlo estimate
with its standard error in its docstring): that is the ceiling the trained network is
held to.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from .validate import (arguments, array, check_array, check_float, check_int, check_labels,
                      integer, nonnegative, one_of, positive, positive_int, real)

VARIANTS = ("two-spiral", "source")
"""The generator's variants: this book's, and the source chapter's (``make_source_spirals``)."""
DEFAULT_NOISE = 0.03
"""Default noise: the Bayes-optimal accuracy there is about 98.6% (n=300)."""


@arguments(n=positive_int)
def spiral_centres(n):
    """Noise-free points of both arms, n per arm.

    Arm 0 is r (cos t, sin t) with r = t / 4π at n evenly spaced t in [0, 4π]: two
    turns, from the origin out to radius 1.  Arm 1 is arm 0 rotated by π.

    Returns
    - arm0, arm1: arrays of shape (n, 2)
    """
    t = np.linspace(0, 4 * np.pi, n)                    # two full turns
    r = t / (4 * np.pi)                                 # the radius grows with the angle
    arm0 = np.stack([r * np.cos(t), r * np.sin(t)], axis=1)
    return arm0, -arm0                                  # rotating by π maps x to -x


@arguments(n=positive_int, noise=nonnegative, seed=integer(minimum=0))
def make_spirals(n=300, noise=DEFAULT_NOISE, seed=42):
    """Sample the two-spiral dataset, shuffled.

    Inputs
    - n: points per arm (>= 1)
    - noise: standard deviation of the Gaussian jitter of each coordinate (>= 0)
    - seed: seed of the random generator (an int >= 0)
    Returns
    - X: inputs, of shape (2n, 2), float64
    - y: labels in {0, 1}, of shape (2n,), int64: the arm each point comes from
    """
    rng = np.random.default_rng(seed)
    arms = []
    for centres in spiral_centres(n):
        dx = rng.normal(0, noise, n)       # all x-noise of an arm, then all y-noise,
        dy = rng.normal(0, noise, n)       # in the source chapter's order
        arms.append(centres + np.stack([dx, dy], axis=1))
    X = np.vstack(arms)
    y = np.repeat([0, 1], n)
    order = rng.permutation(2 * n)         # shuffle X and y together
    return X[order], y[order]


@arguments(n=positive_int)
def source_spiral_centres(n):
    """The source chapter's arms, as published: both on one curve.

    The source adds the offset π to the angle *before* computing the radius, so arm 1
    is arm 0's own curve half a turn further along, not arm 0 rotated.

    Returns
    - arm0, arm1: arrays of shape (n, 2)
    """
    arms = []
    for offset in (0.0, np.pi):
        theta = np.linspace(0, 4 * np.pi, n) + offset
        r = theta / (4 * np.pi)                          # the bug: r follows the shifted angle
        arms.append(np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1))
    return arms[0], arms[1]


@arguments(n=positive_int, noise=nonnegative, seed=integer(minimum=0))
def make_source_spirals(n=300, noise=0.08, seed=42):
    """The source chapter's generator, bit for bit (its default noise 0.08 included).

    Returns
    - X (2n, 2), y (2n,): as ``make_spirals``, but with the source's arms
    """
    rng = np.random.default_rng(seed)
    arms = [c + np.stack([rng.normal(0, noise, n), rng.normal(0, noise, n)], axis=1)
            for c in source_spiral_centres(n)]
    X, y = np.vstack(arms), np.repeat([0, 1], n)
    order = rng.permutation(2 * n)
    return X[order], y[order]


CENTRES = {"two-spiral": spiral_centres, "source": source_spiral_centres}
"""The arms of each variant of the generator, for the Bayes classifier."""


def _train_size(n_rows, test_fraction):
    """Rows of ``n_rows`` that train: ``int((1 - test_fraction) * n_rows)``, as the source.

    The source takes ``int(0.8 * len(y))``; the tiny tolerance only absorbs
    float error such as ``(1 - 0.3) * 90 = 62.999...`` and never changes the
    source's result at ``test_fraction = 0.2``.
    """
    return int(np.floor((1 - test_fraction) * n_rows + 1e-9))


def train_test_split(X, y, test_fraction=0.2):
    """Split shuffled data: the first part trains, the rest tests (as the source).

    Returns
    - X_train (N_train, D), X_test (N_test, D), y_train (N_train,), y_test (N_test,)
    """
    X = check_array(X, "X", ndim=2)
    y = check_labels(y, "y", len(X))
    test_fraction = check_float(test_fraction, "test_fraction", minimum=0.0, maximum=1.0,
                                min_inclusive=False, max_inclusive=False)
    split = _train_size(len(y), test_fraction)
    if split < 1 or split >= len(y):
        raise ValueError(f"test_fraction={test_fraction} leaves an empty split of {len(y)} rows")
    return X[:split], X[split:], y[:split], y[split:]


@arguments(X=array(shape=(None, 2)), n=positive_int, noise=positive, variant=one_of(*VARIANTS))
def bayes_posterior(X, n=300, noise=DEFAULT_NOISE, variant="two-spiral"):
    """Exact P(y=1 | x) under the generator: a mixture of 2n Gaussians.

    With d_j the distance from x to centre j, each arm k scores
    ``s_k = sum_j exp(-(d_j^2 - d_min^2) / (2 noise^2))`` over its n centres, and
    P(y=1 | x) = s_1 / (s_0 + s_1).  Subtracting the smallest squared distance d_min^2
    (the same for both arms, so it cancels) makes the nearest centre's term exp(0) = 1:
    the sums can neither overflow nor both vanish, whatever the noise.  Distances are
    measured in units of max(|x|, noise, 1), so that neither a huge noise nor a far
    point overflows when squared.

    Inputs
    - X: points, of shape (N, 2)
    Returns
    - p1: posterior probability of class 1, of shape (N,)
    """
    X = np.asarray(X)                     # a nested list works too
    C0, C1 = CENTRES[variant](n)
    out = np.empty(len(X))
    for start in range(0, len(X), 4096):  # chunked: (chunk, n) distance tables
        xb = X[start:start + 4096]
        unit = np.maximum(np.abs(xb).max(axis=1), max(noise, 1.0))[:, None, None]  # (chunk, 1, 1)
        # Far centres' terms are exp(-huge): they overflow to exp(-inf) or underflow to 0,
        # which is their value, as does the square of a tiny distance; under
        # np.errstate(all="raise") that must not stop the computation.
        with np.errstate(over="ignore", under="ignore"):
            # the noise in those units, (chunk, 1); kept off 0, where 0 / 0 would make a NaN
            sigma = np.maximum(noise / unit[:, :, 0], np.finfo(float).tiny)
            d0, d1 = ((((xb[:, None, :] - C[None, :, :]) / unit) ** 2).sum(-1) for C in (C0, C1))
            d_min = np.minimum(d0.min(axis=1), d1.min(axis=1))[:, None]
            s0, s1 = (np.exp(-((d - d_min) / sigma) / sigma / 2).sum(axis=1) for d in (d0, d1))
            out[start:start + len(xb)] = s1 / (s0 + s1)
    return out


@arguments(n=positive_int, noise=real(above=0.0, maximum=1e300), variant=one_of(*VARIANTS),
           samples=positive_int, seed=integer(minimum=0))
def bayes_accuracy(n=300, noise=DEFAULT_NOISE, variant="two-spiral", *, samples=20_000,
                   seed=12345):
    """Bayes-optimal accuracy of the generator, by Monte Carlo.

    Draws ``samples`` fresh points from the generator and averages the
    probability that the Bayes classifier (argmax of the exact posterior) is
    right, ``max(p, 1 - p)``: an unbiased estimate whose standard error is the
    standard deviation of ``max(p, 1 - p)`` over sqrt(samples): about 0.04 to 0.05
    point for the default samples and noise (eight seeds give values 0.05 point apart,
    in standard deviation; ``tests/test_compare.py`` checks it is under 0.1).  A tiny noise gives,
    for the two-spiral variant, ``1 - 1 / (2n)`` (only the origin, where both arms start,
    is ambiguous), and for the source's, 1 (its arm 1 starts at radius 1/4, and its points
    lie between arm 0's) unless ``n - 1`` is a multiple of 4: then ``k = 3(n - 1)/4 + 1``
    of arm 1's points coincide with arm 0's, and it gives ``1 - k / (2n)``, about 5/8; a
    huge noise gives 0.5 (up to 1e300: the sampled points must stay finite numbers).
    """
    rng = np.random.default_rng(seed)
    C0, C1 = CENTRES[variant](n)
    centres = np.vstack([C0, C1])
    idx = rng.integers(0, 2 * n, samples)
    X = centres[idx] + rng.normal(0, noise, (samples, 2))
    p1 = bayes_posterior(X, n, noise, variant)
    return float(np.maximum(p1, 1 - p1).mean())


@lru_cache(maxsize=64)
def bayes_ceiling(n, noise):
    """Best possible accuracy on the spirals of ``n`` points per arm and this ``noise``.

    ``bayes_accuracy`` costs about a second, so this is cached per (n, noise); the
    playground and ``SpiralResult.bayes_accuracy`` share the cache.
    Without noise only the origin, where both arms start, is ambiguous.
    """
    n = check_int(n, "n", minimum=1)
    noise = check_float(noise, "noise", minimum=0.0)
    if noise == 0.0:
        return 1.0 - 1.0 / (2 * n)
    return bayes_accuracy(n, noise)
