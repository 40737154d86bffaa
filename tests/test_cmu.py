"""nblib.experiments.cmu: Wieland's two-spiral benchmark, the 40-20-40 rule, training until solved."""
import numpy as np
import pytest

from nblib import Linear, ReLU, Sigmoid, SpiralConfig, build_model, make_optimizer
from nblib.experiments.cmu import (CMU_RECIPE, BenchmarkRun, cmu_spirals, right_40_20_40, solve_cmu,
                       train_until_solved, uniform_init, with_sigmoid)


def test_cmu_spirals_is_wielands_data():
    X, y = cmu_spirals()
    assert X.shape == (194, 2) and y.shape == (194,)
    assert np.bincount(y).tolist() == [97, 97]
    # the benchmark data's first lines: ((0.00000 6.50000) (1.0)), ((-0.00000 -6.50000) (0.0))
    np.testing.assert_allclose(X[:2], [[0.0, 6.5], [0.0, -6.5]], atol=1e-12)
    assert y[:2].tolist() == [1, 0]
    # point i = 8: angle π/2, radius 6.5 * 96 / 104 = 6.0, on the x axis
    np.testing.assert_allclose(X[16], [6.0, 0.0], atol=1e-12)
    np.testing.assert_array_equal(X[1::2], -X[0::2])   # the second spiral negates the first
    radius = np.hypot(X[0::2, 0], X[0::2, 1])
    assert np.all(np.diff(radius) < 0) and radius[-1] == pytest.approx(0.5)
    angle = np.unwrap(np.arctan2(X[0::2, 0], X[0::2, 1]))
    assert angle[-1] - angle[0] == pytest.approx(6 * np.pi)   # three turns


def test_40_20_40_rule():
    prob = np.array([0.61, 0.59, 0.6, 0.39, 0.41, 0.4, 0.99, 0.01])
    y = np.array([1, 1, 1, 0, 0, 0, 0, 1])
    assert right_40_20_40(prob, y).tolist() == [True, False, False, True, False, False,
                                                 False, False]


def test_40_20_40_rejects_bad_input():
    with pytest.raises(ValueError, match="y must have shape"):
        right_40_20_40(np.array([0.5, 0.5]), np.array([1]))
    with pytest.raises(ValueError, match="prob must be 1-dimensional"):
        right_40_20_40(np.zeros((2, 1)), np.array([1, 0]))


def test_the_chapters_network_solves_the_benchmark():
    run = solve_cmu(seed=0, max_epochs=600)
    assert isinstance(run, BenchmarkRun)
    assert run.solved and run.right == 194 and 1 <= run.epochs < 600
    X, y = cmu_spirals()
    from nblib import predict_proba
    assert right_40_20_40(predict_proba(run.model, X), y).all()      # really solved, in eval mode
    # ... and the epoch reported is the first one: one epoch less is not solved
    again = solve_cmu(seed=0, max_epochs=run.epochs - 1)
    assert not again.solved and again.epochs == run.epochs - 1 and again.right < 194


def test_train_until_solved_gives_up_after_max_epochs():
    config = SpiralConfig(seed=1, **CMU_RECIPE)
    model = build_model(config)
    X, y = cmu_spirals()
    run = train_until_solved(model, make_optimizer(config, model.parameters()), X, y,
                             max_epochs=3, rng=np.random.default_rng(0))
    assert not run.solved and run.epochs == 3 and 0 <= run.right < 194


def test_train_until_solved_rejects_bad_input():
    config = SpiralConfig(**CMU_RECIPE)
    model = build_model(config)
    optimizer = make_optimizer(config, model.parameters())
    X, y = cmu_spirals()
    with pytest.raises(ValueError, match="X must have shape"):
        train_until_solved(model, optimizer, np.zeros((194, 3)), y)
    with pytest.raises(TypeError, match="optimizer must be an nblib Optimizer"):
        train_until_solved(model, "adam", X, y)
    with pytest.raises(ValueError, match="max_epochs must be >= 1"):
        train_until_solved(model, optimizer, X, y, max_epochs=0)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        train_until_solved(model, optimizer, X, y, batch_size=0)
    with pytest.raises(TypeError, match="seed must be an integer"):
        solve_cmu(seed=0.5)


def test_ablation_helpers():
    model = build_model(SpiralConfig(**CMU_RECIPE))
    swapped = with_sigmoid(model)
    kinds = [type(m) for m in swapped.layers]
    assert ReLU not in kinds and kinds.count(Sigmoid) == 3
    assert swapped.parameters() == model.parameters()        # the same weights, shared
    uniform_init(model, 0.5, np.random.default_rng(0))
    for layer in model.modules():
        if isinstance(layer, Linear):
            w = layer.weight.value
            assert np.abs(w).max() <= 0.5 and w.std() == pytest.approx(0.5 / np.sqrt(3), rel=0.2)
    with pytest.raises(ValueError, match="scale must be > 0"):
        uniform_init(model, 0.0, np.random.default_rng(0))
    with pytest.raises(TypeError, match="model must be an nblib Sequential"):
        with_sigmoid(Linear(2, 1))


def test_train_until_solved_stops_a_diverging_run_not_solved():
    # SGD at a huge rate without BatchNorm overflows within a few epochs: the run stops
    # there and says "not solved", as the docstring and the loop's comment promise; it does
    # not raise FloatingPointError
    run = solve_cmu(seed=0, max_epochs=30, optimizer="sgd", lr=1e3, norm=None)
    assert isinstance(run, BenchmarkRun)
    assert not run.solved and 1 <= run.epochs < 30 and 0 <= run.right < 194
