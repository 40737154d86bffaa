"""Nothing lost, nothing silently wrong: odd call orders, extreme settings, hostile answers.

test_bad_input.py holds the wrong arguments (one TypeError/ValueError per argument);
this file holds what goes wrong with *good* arguments, grouped by kind:

- SilentlyWrong: a result that looks fine and is not (a divergence missed or invented,
  a mode not restored, outputs flattened, a half-applied change);
- NoNaN: a NaN or an overflow from an extreme but legal setting;
- NoUnhelpfulCrash: an exception from deep inside where a run should go on, or say why;
- NoHang: student code that loops forever or returns garbage, in every self-check and
  in the grader;
- test_chaos: a grid of optimizers x norms x dtypes x rates x schedules trained under
  ``np.errstate(all="raise")``, compared with the same training left to run freely.
"""
import itertools
import json
import math
import time

import numpy as np
import pytest

import nblib
from nblib import (SGD, Adam, AdamW, BatchNorm, Constant, Dropout, Exponential, LayerNorm,
                   Linear, OneCycle, Param, ReLU, Sequential, Sigmoid, SpiralConfig, StepDecay,
                   WarmupCosine, bayes_accuracy, bayes_posterior, build_model, evaluate, fit,
                   make_optimizer, make_schedule, predict_logits, predict_proba, train_epoch,
                   train_spirals)
from nblib.teaching import checks, registry, selfcheck, yourturn
from nblib.viz.playground import Playground
from nblib.core.training import DIVERGED_LOSS

XOR_RNG = np.random.default_rng(0)
X_XOR = XOR_RNG.normal(size=(240, 2))
Y_XOR = (X_XOR[:, 0] * X_XOR[:, 1] > 0).astype(int)     # quadrants: learnt in a few epochs
SPLIT = (X_XOR[:160], Y_XOR[:160], X_XOR[160:], Y_XOR[160:])


def tiny(norm=None, dtype="float64", **changes):
    """A small config, and its model: 2 -> 16 -> 16 -> 1."""
    config = SpiralConfig(hidden=(16, 16), norm=norm, dtype=dtype, dropout=0.0, batch_size=32,
                          epochs=10, **changes)
    return config, build_model(config)


def fit_tiny(model, optimizer, *, epochs=5, schedule=None, **kwargs):
    return fit(model, optimizer, *SPLIT, epochs=epochs, batch_size=32, schedule=schedule,
               rng=np.random.default_rng(1), progress=False, **kwargs)


# ============================================================================ silently wrong
class TestSilentlyWrong:
    def test_underflow_is_not_divergence(self):
        """The issue's call: float32 momentum underflows after ~160 epochs, which is harmless."""
        with np.errstate(all="raise"):
            result = train_spirals(SpiralConfig(optimizer="momentum", norm=None,
                                                dtype="float32", lr=0.05, epochs=300),
                                   progress=False)
        assert not result.history.diverged, result.history.stop_reason
        assert result.history.epochs == 300

    def test_underflow_forced_in_every_layer_is_not_divergence(self):
        """Weights of 1e-30 in float32: every product underflows, in forward and backward."""
        for norm in (None, "batch", "layer"):
            config, model = tiny(norm, "float32")
            for p in model.parameters():
                p.value *= np.float32(1e-30)
            with np.errstate(all="raise"):
                h = fit_tiny(model, make_optimizer(config, model.parameters()), epochs=2)
            assert not h.diverged and h.epochs == 2, (norm, h.stop_reason)

    def test_the_playground_trains_through_underflow_too(self):
        pg = Playground(SpiralConfig(optimizer="momentum", norm=None, dtype="float32", lr=0.05,
                                     hidden=(16, 16), epochs=6))
        for p in pg.model.parameters():
            p.value *= np.float32(1e-30)
        with np.errstate(all="raise"):
            history = pg.train()
        assert not history.diverged and pg.epoch == 6

    def test_an_exploding_loss_is_divergence(self):
        """The issue's call: SGD at lr=1e3 reaches losses of 1e30 and more, without overflow."""
        result = train_spirals(SpiralConfig(lr=1e3, optimizer="sgd", schedule="constant",
                                            epochs=5), progress=False)
        h = result.history
        assert h.diverged and "training loss reached" in h.stop_reason
        assert f"above {DIVERGED_LOSS:g}" in h.stop_reason and "learning rate" in h.stop_reason
        assert len(h.train_loss) == len(h.test_acc) == h.epochs < 5

    def test_a_diverged_run_keeps_the_epochs_before(self):
        """Logits scaled by 1e4 after epoch 2: finite numbers, but the loss passes the bound."""
        config, model = tiny()

        def blow_up(epoch, history, model):
            if epoch == 1:
                model[-1].weight.value *= 1e4

        h = fit_tiny(model, SGD(model.parameters(), 0.0001), epochs=5, on_epoch_end=blow_up)
        assert h.diverged and h.epochs == 2 and h.stop_reason.startswith("diverged in epoch 3")
        assert len(h.lr) == 2 * 5 and all(loss < DIVERGED_LOSS for loss in h.train_loss)
        assert "DIVERGED_LOSS" in nblib.History.__doc__       # the rule has one home

    def test_an_optimizer_of_another_model_is_refused(self):
        _, model = tiny()
        _, other = tiny()
        for call in (lambda: fit_tiny(model, Adam(other.parameters())),
                     lambda: train_epoch(model, Adam(other.parameters()), *SPLIT[:2],
                                         batch_size=32, rng=np.random.default_rng(0))):
            with pytest.raises(ValueError, match=r"\boptimizer\b.*not model's"):
                call()
        fit_tiny(model, Adam(model.parameters()[:2]), epochs=1)   # a frozen part is fine

    @pytest.mark.parametrize("make", [
        lambda ps: SGD(ps, 0.1), lambda ps: SGD(ps, 0.1, momentum=0.9, nesterov=True),
        lambda ps: SGD(ps, 0.1, weight_decay=0.1), lambda ps: Adam(ps, 0.1),
        lambda ps: Adam(ps, 0.1, weight_decay=0.1), lambda ps: AdamW(ps, 0.1)],
        ids=["sgd", "nesterov", "sgd-decay", "adam", "adam-l2", "adamw"])
    def test_a_param_without_gradient_is_left_alone(self, make):
        with_grad, without = Param(np.ones(3)), Param(np.ones(3))
        optimizer = make([with_grad, without])
        without.grad = None
        for _ in range(3):
            with_grad.grad = np.full(3, 0.5)
            optimizer.step()
        assert np.array_equal(without.value, np.ones(3)) and without not in optimizer.state
        assert np.isfinite(with_grad.value).all() and not np.array_equal(with_grad.value,
                                                                         np.ones(3))

    def test_a_param_keeps_its_shape_and_dtype_and_is_given_once(self):
        p = Param(np.zeros((2, 3), dtype=np.float32))
        with pytest.raises(ValueError, match=r"\bvalue\b"):
            p.value = np.zeros((3, 2), dtype=np.float32)
        with pytest.raises(ValueError, match=r"\bgrad\b"):
            p.grad = np.zeros(6)
        p.grad = np.ones((2, 3))                 # stored in value's dtype
        assert p.grad.dtype == np.float32
        for make in (lambda: SGD([p, p], 0.1), lambda: Adam([{"params": [p]}, {"params": [p]}])):
            with pytest.raises(ValueError, match=r"\bparams\b"):
                make()

    def test_predict_restores_every_layers_own_mode(self):
        _, model = tiny("batch")
        model.train()
        model[1].eval()                          # BatchNorm frozen, the rest training
        modes = [m.training for m in model.modules()]
        X = SPLIT[0]
        predict_logits(model, X)
        predict_proba(model, X)
        evaluate(model, X, SPLIT[1])
        nblib.hidden_activations(model, X)
        assert [m.training for m in model.modules()] == modes
        with pytest.raises(ValueError):          # an error half-way restores them too
            predict_logits(model, np.zeros((3, 5)))
        assert [m.training for m in model.modules()] == modes

    @pytest.mark.parametrize("model", [Sequential(Linear(2, 3)), Sequential(),
                                       Sequential(Linear(2, 2), ReLU())],
                             ids=["three-outputs", "identity", "two-outputs"])
    def test_outputs_that_are_not_one_logit_per_row_are_refused(self, model):
        X, y = SPLIT[0][:10], SPLIT[1][:10]
        for call in (lambda: predict_logits(model, X), lambda: predict_proba(model, X),
                     lambda: evaluate(model, X, y)):
            with pytest.raises(ValueError, match=r"model must output.*\(N, 1\) or \(N,\).*got"):
                call()

    def test_dropout_refuses_integers_instead_of_dropping_without_rescaling(self):
        layer = Dropout(0.5, rng=0)
        with pytest.raises(TypeError, match=r"\bx\b.*floating-point"):
            layer.forward(np.ones((4, 4), dtype=np.int64))

    def test_a_float32_model_trains_float32_on_float64_data(self):
        config, model = tiny(dtype="float32")
        train_epoch(model, make_optimizer(config, model.parameters()), *SPLIT[:2],
                    batch_size=32, rng=np.random.default_rng(0))
        assert all(p.value.dtype == np.float32 for p in model.parameters())
        assert model[0].x.dtype == np.float32    # the input was cast, not the model upcast

    @pytest.mark.parametrize("knobs,error", [
        (dict(test_fraction=0.999), ValueError),      # no test rows left
        (dict(n=10**11), MemoryError),                # 745 GiB of points
        (dict(batch_size=479, norm="batch", n=300, test_fraction=0.2), ValueError),
        (dict(lr=-1.0, seed=3), ValueError)])
    def test_a_refused_playground_change_changes_nothing(self, knobs, error):
        pg = Playground(SpiralConfig(hidden=(8,), epochs=2))
        pg.train(epochs=1)
        before = (pg.config, pg.X_train, pg.y_test, pg.model, pg.optimizer, pg.history,
                  list(pg.runs), pg.status, pg.initial_parameters())
        with pytest.raises(error):
            pg.set(**knobs)
        after = (pg.config, pg.X_train, pg.y_test, pg.model, pg.optimizer, pg.history,
                 list(pg.runs), pg.status, pg.initial_parameters())
        assert all(a is b for a, b in zip(before[:6], after[:6]))
        assert before[6] == after[6] and before[7] == after[7]
        assert all(np.array_equal(a, b) for a, b in zip(before[8], after[8]))
        pg.train()                               # and the run goes on
        assert pg.epoch == 2


# ============================================================================ NaN
class TestNoNaN:
    def test_adam_refuses_eps_zero_and_float16(self):
        with pytest.raises(ValueError, match=r"\beps\b"):
            Adam([Param(np.ones(2))], eps=0.0)
        with pytest.raises(TypeError, match=r"\bvalue\b.*float16"):
            Adam([Param(np.ones(2, dtype=np.float16))])

    @pytest.mark.parametrize("dtype", [np.float32, np.float64])
    @pytest.mark.parametrize("make", [Adam, AdamW, lambda ps: SGD(ps, 0.1, momentum=0.9)],
                             ids=["adam", "adamw", "momentum"])
    def test_a_zero_gradient_moves_nothing_and_makes_no_nan(self, make, dtype):
        p = Param(np.ones(3, dtype=dtype))
        optimizer = make([p])
        with np.errstate(all="raise"):
            for _ in range(5):
                p.grad = np.zeros(3)
                optimizer.step()
        assert np.isfinite(p.value).all() and p.value.dtype == dtype

    @pytest.mark.parametrize("noise", [5e-324, 1e-200, 1e-155, 1e-100])
    def test_tiny_noise_gives_the_noise_free_ceiling(self, noise):
        with np.errstate(all="raise"):
            acc = bayes_accuracy(50, noise, samples=2000)
        assert acc == pytest.approx(1 - 1 / (2 * 50), abs=0.01)   # only the origin is a toss-up

    @pytest.mark.parametrize("noise", [5e-324, 1e-155, 1e-6])
    def test_tiny_noise_gives_1_for_the_source_variant(self, noise):
        with np.errstate(all="raise"):
            acc = bayes_accuracy(50, noise, variant="source", samples=2000)
        assert acc == 1.0            # its arms share no point: arm 1 starts at radius 1/4

    @pytest.mark.parametrize("n", [5, 21, 301])
    def test_tiny_noise_source_variant_where_its_arms_share_points(self, n):
        """n - 1 a multiple of 4: arm 1's angles (arm 0's plus π) land on arm 0's own
        points for the 3(n - 1)/4 + 1 of them on the shared stretch, each a toss-up."""
        shared = 3 * (n - 1) // 4 + 1
        acc = bayes_accuracy(n, 1e-6, variant="source", samples=4000)
        assert acc == pytest.approx(1 - shared / (2 * n), abs=0.01)

    @pytest.mark.parametrize("noise", [1e10, 1e200, 1e300])
    def test_huge_noise_gives_a_coin_toss(self, noise):
        with np.errstate(all="raise"):
            assert bayes_accuracy(50, noise, samples=2000) == pytest.approx(0.5, abs=1e-6)

    @pytest.mark.parametrize("noise", [5e-324, 1e-160, 0.03, 1e200, 1.7e308])
    def test_the_posterior_is_a_probability_for_any_noise_and_point(self, noise):
        X = np.array([[0.1, 0.2], [0.0, 0.0], [1e200, -3.0], [1e-300, 0.0], [0.5, 0.5]])
        with np.errstate(all="raise"):
            p = bayes_posterior(X, 50, noise)
        assert p.shape == (5,) and np.all((p >= 0) & (p <= 1))
        assert p[1] == 0.5                       # the origin: both arms start there

    def test_the_playground_ceiling_is_a_number_at_tiny_noise(self):
        pg = Playground(SpiralConfig(hidden=(8,), epochs=1, noise=1e-160))
        assert 0.99 < pg.bayes <= 1.0

    @pytest.mark.parametrize("layer", [BatchNorm(4), LayerNorm(4),
                                       BatchNorm(4, dtype=np.float32),
                                       LayerNorm(4, dtype=np.float32)],
                             ids=["batch", "layer", "batch32", "layer32"])
    def test_normalising_constant_input_makes_no_nan(self, layer):
        x = np.full((5, 4), 3.0, dtype=layer.weight.value.dtype)   # variance 0
        with np.errstate(all="raise"):
            out = layer.forward(x)
            dx = layer.backward(np.ones_like(out))
        assert np.isfinite(out).all() and np.isfinite(dx).all()

    def test_sigmoid_and_the_loss_of_huge_logits_are_exact_and_quiet(self):
        z = np.array([-1e4, -800.0, 0.0, 800.0, 1e4])
        with np.errstate(all="raise"):
            s = nblib.sigmoid(z)
            assert np.array_equal(s, [0.0, 0.0, 0.5, 1.0, 1.0])
            _, model = tiny()
            model[-1].weight.value *= 1e3        # logits of about 1e3
            assert np.isfinite(predict_proba(model, SPLIT[0])).all()


# ============================================================================ unhelpful crashes
class TestNoUnhelpfulCrash:
    @pytest.mark.parametrize("schedule", [
        WarmupCosine(0.05, 20),                          # 0 at step 20, the run has 25 steps
        StepDecay(1e-300, 1, gamma=1e-10),               # underflows to 0 at step 3
        Exponential(0.05, 1e-200),                       # 0 from step 2
        OneCycle(0.05, 10)],                             # past its end: its final rate
        ids=["cosine-to-zero", "step-underflow", "exponential-underflow", "onecycle-past-end"])
    def test_a_schedule_that_reaches_zero_trains_on(self, schedule):
        config, model = tiny()
        h = fit_tiny(model, SGD(model.parameters(), 0.05), epochs=5, schedule=schedule)
        assert not h.diverged and h.epochs == 5 and len(h.lr) == 25
        assert min(h.lr) >= 0.0

    def test_lr_zero_may_be_set_and_freezes_the_weights(self):
        p = Param(np.ones(2))
        for optimizer in (SGD([p], 0.1, momentum=0.9), Adam([p], 0.1)):
            optimizer.lr = 0.0
            p.grad = np.ones(2)
            optimizer.step()
            assert np.array_equal(p.value, np.ones(2))
            for bad in (-1e-3, float("nan"), float("inf")):
                with pytest.raises(ValueError, match=r"\blr\b"):
                    optimizer.lr = bad

    def test_a_bad_schedule_is_refused_before_training_and_the_history_is_kept(self):
        config, model = tiny()
        history = fit_tiny(model, SGD(model.parameters(), 0.05), epochs=2)
        before = history.metrics()
        with pytest.raises(ValueError, match=r"schedule\(12\)"):
            fit_tiny(model, SGD(model.parameters(), 0.05), epochs=2, history=history,
                     schedule=lambda step: 0.05 if step < 12 else -0.05)
        assert all(np.array_equal(before[k], history.metrics()[k]) for k in before)

    @pytest.mark.parametrize("layer,x", [
        (Linear(2, 3), np.zeros((4, 2))), (ReLU(), np.zeros((4, 2))),
        (Sigmoid(), np.zeros((4, 2))), (BatchNorm(2), np.zeros((4, 2))),
        (LayerNorm(2), np.zeros((4, 2))), (Dropout(0.5, rng=0), np.zeros((4, 2)))],
        ids=["linear", "relu", "sigmoid", "batchnorm", "layernorm", "dropout"])
    def test_backward_before_forward_says_so(self, layer, x):
        with pytest.raises(RuntimeError, match="before forward"):
            layer.backward(np.zeros_like(x))

    def test_small_and_odd_sizes_train_or_say_why(self):
        X, y = SPLIT[0][:3], SPLIT[1][:3]
        _, model = tiny("layer")                 # LayerNorm: a batch of one is fine
        h = fit(model, Adam(model.parameters()), X, y, X[:1], y[:1], epochs=2,
                batch_size=1000, rng=np.random.default_rng(0), progress=False)
        assert h.epochs == 2 and not h.diverged  # batch_size larger than the data: one batch
        _, model = tiny("batch")
        with pytest.raises(ValueError, match=r"\bbatch_size\b"):
            fit(model, Adam(model.parameters()), X, y, X, y, epochs=1, batch_size=2,
                rng=np.random.default_rng(0), progress=False)   # 3 = 2 + 1: BatchNorm needs 2
        with pytest.raises(ValueError, match=r"\bX\b"):
            predict_logits(model, np.zeros((0, 2)))
        with pytest.raises(ValueError, match=r"\btest_fraction\b"):
            nblib.train_test_split(*nblib.make_spirals(1), 0.6)   # 0.4 of 2 rows: none


# ============================================================================ hangs
TIME_LIMIT = 0.3          # seconds each self-check may take in these tests
ALL_TASKS = registry.ALL


class Weird:
    """An answer's output that refuses to become an array."""

    calls = 0

    def __array__(self, *args, **kwargs):
        Weird.calls += 1
        raise RuntimeError("no array for you")


def _loop(*args, **kwargs):
    while True:
        pass


def _weird(*args, **kwargs):
    return Weird()


def _weird_pair(*args, **kwargs):
    return Weird(), Weird()


def _weird_triple(*args, **kwargs):
    return Weird(), Weird(), Weird()


def _subclass(reference, method):
    """``reference`` with each of its own methods (not __init__) replaced by ``method``."""
    own = {name: method for name, value in vars(reference).items()
           if callable(value) and not name.startswith("__")}
    return type(f"Hostile{reference.__name__}", (reference,), own)


# the tasks whose answer is a class (the others' answer is a function): the registry says
CLASS_TASKS = {task_id for task_id, task in registry.ALL.items() if task.answer == "class"}


def _hostile_answers(task_id, make_method):
    """Answers for task ``task_id`` whose code runs ``make_method``'s body."""
    task = ALL_TASKS[task_id]
    if task_id in CLASS_TASKS:
        answers = [_subclass(task.reference, make_method)]
        if make_method is _loop:                 # a constructor that never returns
            answers.append(type("Stuck", (nblib.Module,), {"__init__": _loop}))
        return answers
    return [make_method]


class TestNoHang:
    @pytest.fixture(autouse=True)
    def short_limit(self, monkeypatch):
        monkeypatch.setattr(selfcheck, "TIME_LIMIT", TIME_LIMIT)

    @pytest.mark.parametrize("task_id", list(ALL_TASKS))
    def test_every_self_check_stops_a_loop_that_never_ends(self, task_id):
        task = ALL_TASKS[task_id]
        for answer in _hostile_answers(task_id, _loop):
            start = time.monotonic()
            result = task.check(answer, verbose=False)
            assert time.monotonic() - start < TIME_LIMIT + 2
            assert not result.passed and "did not finish within" in result.message, \
                (task_id, answer, result.message)

    @pytest.mark.parametrize("task_id", list(ALL_TASKS))
    def test_every_self_check_fails_an_output_that_is_no_array(self, task_id):
        task = ALL_TASKS[task_id]
        for method in (_weird, _weird_pair, _weird_triple):
            for answer in _hostile_answers(task_id, method):
                before = Weird.calls
                result = task.check(answer, verbose=False)      # never raises
                assert isinstance(result, checks.CheckResult) and not result.passed
                if Weird.calls > before:             # the check tried to read it: it says so
                    assert "no array for you" in result.message, (task_id, result.message)

    def test_collect_pieces_stops_a_looping_cell_and_collects_the_rest(self, tmp_path):
        def notebook(path, *sources):
            cells = [{"cell_type": "code", "metadata": {"tags": ["your-turn"]},
                      "source": s, "outputs": [], "execution_count": None} for s in sources]
            path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4,
                                        "nbformat_minor": 5}))

        notebook(tmp_path / "01_data.ipynb", "while True:\n    pass\n")
        notebook(tmp_path / "02_network.ipynb",
                 "import nblib\nfrom nblib import Module\nimport numpy as np\n"
                 + yourturn.solution_source("relu"),
                 "raise RuntimeError('a broken cell')",
                 "this is not Python")
        namespace = yourturn.pieces_from_notebook(tmp_path / "02_network.ipynb", timeout=1)
        assert "ReLU" in namespace and len(namespace["__errors__"]) == 2
        start = time.monotonic()
        pieces, table = yourturn.collect_pieces({}, "03_training.ipynb", tmp_path,
                                                verbose=False, timeout=1)
        assert time.monotonic() - start < 60
        whose = {task: (w, message) for task, w, message in table}
        assert whose["relu"][0] == "yours"
        assert whose["make_spirals"][0] == "nblib's"
        assert "did not finish within 1 s" in whose["make_spirals"][1]
        assert set(pieces) == set(yourturn.TASKS)

    def test_the_grader_fails_a_loop_and_a_non_array_within_its_time_limit(self):
        from nblib.teaching.grading import GradingError, grade

        start = time.monotonic()
        looping = type("ReLU", (nblib.Module,), {"forward": _loop, "backward": _loop})
        with pytest.raises(GradingError, match="did not finish within 1 s"):
            grade("relu", looping, seed=1, time_limit=1)
        assert time.monotonic() - start < 10

        class WeirdReLU(nblib.Module):
            def forward(self, x):
                return Weird()

            def backward(self, dout):
                return Weird()

        with pytest.raises(GradingError, match="no array for you"):
            grade("relu", WeirdReLU, seed=1, time_limit=5)


# ============================================================================ chaos
OPTIMIZERS, NORMS, DTYPES = ("sgd", "momentum", "adam", "adamw"), ("batch", "layer", None), \
    ("float64", "float32")
RATES, SCHEDULES = (1e-3, 0.05, 1e3), ("constant", "onecycle", "step")
EXPLODED = 1e4     # a loss 100 times DIVERGED_LOSS: no learning run comes near it
SANE = 10.0        # a loss never 10 times a fresh network's (about 1): nothing to stop


def _free_run(config):
    """The same training as fit's, with nothing stopping it and numpy's errors ignored.

    Returns (largest training loss after an epoch, final test accuracy); inf when the
    logits stopped being numbers (the loss refuses them).
    """
    model = build_model(config)
    optimizer = make_optimizer(config, model.parameters())
    schedule, rng = make_schedule(config), np.random.default_rng(1)
    X_train, y_train, X_test, y_test = SPLIT
    worst, steps = 0.0, config.steps_per_epoch
    with np.errstate(all="ignore"):
        try:
            for epoch in range(config.epochs):
                train_epoch(model, optimizer, X_train, y_train, batch_size=config.batch_size,
                            rng=rng, schedule=schedule, step=epoch * steps)
                worst = max(worst, evaluate(model, X_train, y_train)[0])
            return worst, evaluate(model, X_test, y_test)[1]
        except ValueError:
            return math.inf, math.nan


def test_chaos():
    """Every run of the grid under np.errstate(all="raise"): a run that learns is never called
    diverged, a run whose loss explodes always is, and none of them raises."""
    learnt = exploded = 0
    for optimizer, norm, dtype, lr, schedule in itertools.product(OPTIMIZERS, NORMS, DTYPES,
                                                                  RATES, SCHEDULES):
        config = SpiralConfig(n=100, hidden=(16, 16), norm=norm, dtype=dtype, dropout=0.0,
                              optimizer=optimizer, lr=lr, schedule=schedule, epochs=15,
                              batch_size=32)
        worst, accuracy = _free_run(config)
        model = build_model(config)
        with np.errstate(all="raise"):
            h = fit(model, make_optimizer(config, model.parameters()), *SPLIT,
                    epochs=config.epochs, batch_size=config.batch_size,
                    schedule=make_schedule(config), rng=np.random.default_rng(1),
                    progress=False)
        what = f"{config!r}: {h.stop_reason or 'not diverged'}; free run {worst:.3g}, {accuracy}"
        if worst < SANE:
            assert not h.diverged, what
        if accuracy >= 0.9:
            learnt += 1
            assert not h.diverged and h.test_acc[-1] >= 0.85, what
        if not worst < EXPLODED:
            exploded += 1
            assert h.diverged, what
        assert len(h.train_loss) == h.epochs and all(np.isfinite(h.train_loss))
    assert learnt >= 60 and exploded >= 40, (learnt, exploded)      # the grid tests both
