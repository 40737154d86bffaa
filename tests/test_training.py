"""The training loop: reproducible, numerically quiet, stoppable, and able to fit."""
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import nblib
from nblib import (Adam, BatchNorm, Dropout, Linear, ReLU, Sequential, SpiralConfig, evaluate, fit,
                   make_schedule, predict_logits, predict_proba, train_epoch, train_spirals)

METRICS = ("train_loss", "train_acc", "test_loss", "test_acc", "lr")


def _params(model):
    return {name: p.value.copy() for name, p in model.named_parameters()}


def _bn_stats(model):
    return [(m.running_mean.copy(), m.running_var.copy()) for m in model.modules()
            if isinstance(m, BatchNorm)]


@pytest.fixture(scope="module")
def five_epochs():
    return train_spirals(SpiralConfig(epochs=5), progress=False)


def test_reproducible_bit_for_bit(five_epochs):
    again = train_spirals(SpiralConfig(epochs=5), progress=False)
    a, b = five_epochs.history.metrics(), again.history.metrics()
    for key in METRICS:
        assert np.array_equal(a[key], b[key]), key
        assert len(a[key]) > 0
    pa, pb = _params(five_epochs.model), _params(again.model)
    assert list(pa) == list(pb)
    for name in pa:
        assert np.array_equal(pa[name], pb[name]), name
    for (m1, v1), (m2, v2) in zip(_bn_stats(five_epochs.model), _bn_stats(again.model)):
        assert np.array_equal(m1, m2) and np.array_equal(v1, v2)


def test_reproducible_with_dropout():
    cfg = SpiralConfig(epochs=3, dropout=0.2)
    a = train_spirals(cfg, progress=False).history.metrics()
    b = train_spirals(cfg, progress=False).history.metrics()
    assert all(np.array_equal(a[k], b[k]) for k in METRICS)


def test_different_seed_gives_different_curves(five_epochs):
    other = train_spirals(SpiralConfig(epochs=5, seed=1), progress=False)
    a, b = five_epochs.history.metrics(), other.history.metrics()
    assert not np.array_equal(a["train_loss"], b["train_loss"])
    assert not np.array_equal(a["test_loss"], b["test_loss"])
    assert np.array_equal(a["lr"], b["lr"])  # the schedule does not depend on the seed
    # the data does not depend on the seed either, only on data_seed
    assert np.array_equal(five_epochs.X_train, other.X_train)
    other_data = train_spirals(SpiralConfig(epochs=1, data_seed=1), progress=False)
    assert not np.array_equal(five_epochs.X_train, other_data.X_train)


@pytest.mark.parametrize("config", [SpiralConfig(), SpiralConfig.source(epochs=5)],
                         ids=["book-recipe", "source-recipe-5-epochs"])
def test_no_floating_point_warning_at_all(config):
    with np.errstate(all="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        result = train_spirals(config, progress=False)
    h = result.history
    assert not h.diverged and h.stop_reason == "", h.stop_reason
    assert h.epochs == config.epochs
    assert all(np.isfinite(h.metrics()[k]).all() for k in METRICS)


def test_history_lr_is_the_schedule_step_by_step(five_epochs):
    cfg = five_epochs.config
    lrs = five_epochs.history.lr
    assert len(lrs) == cfg.epochs * cfg.steps_per_epoch
    schedule = make_schedule(cfg)
    assert lrs == [schedule(k) for k in range(len(lrs))]
    assert max(lrs) == pytest.approx(cfg.lr, rel=1e-3)  # one-cycle reaches its peak


@pytest.mark.parametrize("n,batch_size", [(300, 32), (301, 50), (123, 50), (64, 7), (5, 3)])
def test_steps_per_epoch_counts_the_real_batches(n, batch_size):
    cfg = SpiralConfig(n=n, batch_size=batch_size, epochs=2, hidden=(8,), schedule="constant")
    result = train_spirals(cfg, progress=False)
    assert len(result.history.lr) == 2 * cfg.steps_per_epoch
    assert cfg.steps_per_epoch == -(-len(result.X_train) // batch_size)


def test_history_curves_are_eval_mode_evaluations(five_epochs):
    """The last epoch's entries are the final model evaluated on the two sets."""
    r = five_epochs
    h = r.history
    assert evaluate(r.model, r.X_train, r.y_train) == (h.train_loss[-1], h.train_acc[-1])
    assert evaluate(r.model, r.X_test, r.y_test) == (h.test_loss[-1], h.test_acc[-1])
    assert r.test_accuracy == h.test_acc[-1]


def test_on_epoch_end_returning_true_stops():
    calls = []

    def stop_after_third(epoch, history, model):
        calls.append((epoch, history.epochs))
        assert isinstance(model, Sequential)
        return epoch == 2

    h = train_spirals(SpiralConfig(epochs=10), progress=False, on_epoch_end=stop_after_third).history
    assert calls == [(0, 1), (1, 2), (2, 3)]
    assert h.epochs == 3 and len(h.train_loss) == 3
    assert "on_epoch_end" in h.stop_reason and not h.diverged
    assert len(h.lr) == 3 * SpiralConfig().steps_per_epoch


def test_on_epoch_end_returning_falsy_does_not_stop():
    h = train_spirals(SpiralConfig(epochs=3), progress=False,
                      on_epoch_end=lambda e, h, m: None).history
    assert h.epochs == 3 and h.stop_reason == ""


# A recipe pinned here, so that tuning the book's defaults does not change these tests.
PINNED = dict(hidden=(64, 64, 64), norm="batch", dropout=0.0, optimizer="adam", lr=0.02, schedule="onecycle",
              batch_size=32)


def _blow_up_after(epoch_to_break):
    """An on_epoch_end that makes every weight huge after that epoch: the next step overflows."""
    def callback(epoch, history, model):
        if epoch + 1 == epoch_to_break:
            for p in model.parameters():
                p.value[...] = np.finfo(p.value.dtype).max ** 0.6   # 1e185 in float64
    return callback


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("norm", [None, "batch"])
def test_an_overflow_stops_training_cleanly_and_keeps_the_good_epochs(norm, dtype):
    cfg = SpiralConfig(hidden=(16, 16), norm=norm, epochs=6, dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = train_spirals(cfg, progress=False, on_epoch_end=_blow_up_after(2))
    h = result.history                                  # no exception, no warning
    assert h.diverged and h.epochs == 2
    assert h.stop_reason.startswith("diverged in epoch 3: floating-point error (overflow")
    assert "learning rate" in h.stop_reason
    assert len(h.train_loss) == len(h.train_acc) == len(h.test_loss) == len(h.test_acc) == 2
    assert len(h.lr) == 2 * cfg.steps_per_epoch        # the steps of the completed epochs
    assert all(np.isfinite(h.metrics()[k]).all() for k in METRICS)


def test_an_overflow_in_the_first_epoch_leaves_an_empty_history():
    cfg = SpiralConfig(hidden=(16,), norm=None, epochs=3)
    X_train, X_test, y_train, y_test = nblib.make_data(cfg)
    model = nblib.build_model(cfg)
    for p in model.parameters():
        p.value[...] = np.finfo(p.value.dtype).max ** 0.6
    h = fit(model, Adam(model.parameters(), 0.01), X_train, y_train, X_test, y_test, epochs=3,
            batch_size=32, rng=np.random.default_rng(0), progress=False)
    assert h.diverged and h.epochs == 0 and h.lr == [] and "epoch 1" in h.stop_reason


def test_fit_continues_a_history_as_one_longer_fit():
    """Two calls of 2 and 3 epochs, continuing the History, are one call of 5 epochs."""
    def run(parts):
        cfg = SpiralConfig(hidden=(16, 16), epochs=5)
        X_train, X_test, y_train, y_test = nblib.make_data(cfg)
        model = nblib.build_model(cfg)
        optimizer = nblib.make_optimizer(cfg, model.parameters())
        schedule, rng, history = make_schedule(cfg), np.random.default_rng(0), None
        for epochs in parts:
            history = fit(model, optimizer, X_train, y_train, X_test, y_test, epochs=epochs,
                          batch_size=cfg.batch_size, schedule=schedule, rng=rng,
                          progress=False, history=history)
        return history

    whole, parts = run([5]), run([2, 3])
    assert parts.epochs == 5 and len(parts.seconds) == 5
    assert all(np.array_equal(whole.metrics()[k], parts.metrics()[k]) for k in METRICS)


class NeedsThreeRows(ReLU):
    min_rows_in_training = 3


def test_the_batch_size_rule_comes_from_the_layers():
    X, y = np.random.default_rng(0).normal(size=(10, 2)), np.arange(10) % 2
    model = Sequential(Linear(2, 4, rng=np.random.default_rng(1)), NeedsThreeRows(),
                       Linear(4, 1, rng=np.random.default_rng(2)))
    call = dict(epochs=1, rng=np.random.default_rng(0), progress=False)
    with pytest.raises(ValueError, match=r"batch_size=4 leaves a mini-batch of 2 .*NeedsThreeRows "
                                         r"needs 3"):
        fit(model, Adam(model.parameters(), 0.01), X, y, X, y, batch_size=4, **call)
    h = fit(model, Adam(model.parameters(), 0.01), X, y, X, y, batch_size=7, **call)  # 7 + 3
    assert h.epochs == 1 and len(h.lr) == 2
def test_progress_bar(capsys):
    result = train_spirals(SpiralConfig(epochs=2, hidden=(8,)), progress=True)
    assert result.history.epochs == 2
    err = capsys.readouterr().err
    assert "training" in err and "2/2" in err


def test_progress_bar_without_tqdm_is_plain_text(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)          # import tqdm -> ImportError
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    result = train_spirals(SpiralConfig(epochs=2, hidden=(8,)), progress=True)
    err = capsys.readouterr().err
    assert "\rtraining: 2/2 epoch [loss=" in err and err.endswith("\n")
    assert f"test_acc={result.history.test_acc[-1]:.1%}" in err


def test_nblib_trains_with_numpy_and_matplotlib_only():
    """What `pip install .` gives: no tqdm, ipywidgets, IPython, threadpoolctl or nbformat."""
    code = textwrap.dedent("""
        import sys
        for name in ("tqdm", "ipywidgets", "IPython", "threadpoolctl", "nbformat", "nbclient"):
            sys.modules[name] = None                 # any import of them raises ImportError
        import nblib
        result = nblib.train_spirals(nblib.SpiralConfig(epochs=2, hidden=(8,)))
        assert result.history.epochs == 2
        assert "nblib.viz.widgets" not in sys.modules and nblib.Playground().epoch == 0
        print("trained")
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0 and proc.stdout == "trained\n", proc.stderr
    assert "training: 2/2" in proc.stderr


def test_import_nblib_leaves_the_process_alone():
    """No process-wide side effect at import: glibc's malloc keeps its settings (nblib's
    ``keep_freed_memory`` is an explicit opt-in), and nothing sets NumPy's print or error
    state or seeds its global generator."""
    code = textwrap.dedent("""
        import sys
        import numpy as np
        before = (np.geterr(), np.get_printoptions(), np.random.get_state()[1].tolist())
        import nblib
        assert "nblib.core._memory" not in sys.modules, "import nblib loaded _memory"
        assert (np.geterr(), np.get_printoptions(), np.random.get_state()[1].tolist()) == before
        print("untouched")
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0 and proc.stdout == "untouched\n", proc.stderr


def test_float32_trains_and_stays_float32():
    cfg = SpiralConfig(dtype="float32", epochs=30, **PINNED)
    result = train_spirals(cfg, progress=False)
    assert not result.history.diverged
    for name, p in result.model.named_parameters():
        assert p.value.dtype == np.float32, name
        assert p.grad.dtype == np.float32, name
    for m, v in _bn_stats(result.model):
        assert m.dtype == np.float32 and v.dtype == np.float32
    assert predict_logits(result.model, result.X_test.astype(np.float32)).dtype == np.float32
    assert result.X_test.dtype == np.float64                 # the data stay float64 ...
    assert predict_logits(result.model, result.X_test).dtype == np.float32   # ... cast to float32
    assert result.history.test_acc[-1] > 0.95
    f64 = train_spirals(cfg.replace(dtype="float64"), progress=False)
    # same recipe, same seeds: float32 follows the float64 run closely at first ...
    assert abs(result.history.train_loss[0] - f64.history.train_loss[0]) < 1e-3
    # ... but it is a different computation
    assert result.history.train_loss[0] != f64.history.train_loss[0]


@pytest.mark.parametrize("fn", [lambda m, X, y: evaluate(m, X, y),
                                lambda m, X, y: predict_proba(m, X),
                                lambda m, X, y: predict_logits(m, X)],
                         ids=["evaluate", "predict_proba", "predict_logits"])
def test_prediction_restores_the_mode(fn):
    cfg = SpiralConfig(hidden=(8, 8), dropout=0.3, epochs=1)
    result = train_spirals(cfg, progress=False)
    model, X, y = result.model, result.X_test, result.y_test
    for mode in (True, False):
        model.train(mode)
        fn(model, X, y)
        assert all(m.training is mode for m in model.modules())


def test_prediction_is_in_eval_mode():
    cfg = SpiralConfig(hidden=(8, 8), dropout=0.5, epochs=1, dtype="float64")  # 1e-12 below
    result = train_spirals(cfg, progress=False)
    model, X = result.model.train(), result.X_test
    stats = _bn_stats(model)
    p1, p2 = predict_proba(model, X), predict_proba(model, X)
    assert np.array_equal(p1, p2)                   # no dropout noise
    # no batch statistics: one row alone gets the same answer (up to BLAS rounding)
    np.testing.assert_allclose(predict_proba(model, X[:1]), p1[:1], rtol=1e-12, atol=1e-15)
    for (m1, v1), (m2, v2) in zip(stats, _bn_stats(model)):
        assert np.array_equal(m1, m2) and np.array_equal(v1, v2)
    assert p1.shape == (len(X),) and ((p1 >= 0) & (p1 <= 1)).all()
    logits = predict_logits(model, X, batch_size=7)   # chunked: same as in one go
    np.testing.assert_allclose(logits, predict_logits(model, X), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(nblib.sigmoid(logits), p1, rtol=1e-12, atol=1e-15)


def test_overfits_twenty_points():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 2))
    y = rng.integers(0, 2, 20)            # random labels: only memorisation can fit them
    model = Sequential(Linear(2, 64, rng=rng), ReLU(), Linear(64, 64, rng=rng), ReLU(),
                       Linear(64, 1, rng=rng))
    h = fit(model, Adam(model.parameters(), 0.01), X, y, X, y, epochs=300, batch_size=20,
            rng=np.random.default_rng(1), progress=False)
    assert not h.diverged
    assert h.train_acc[-1] == 1.0, h.train_acc[-10:]
    assert h.train_loss[-1] < 0.05


def test_fit_with_batchnorm_and_dropout_learns_something():
    cfg = SpiralConfig(epochs=30, **{**PINNED, "dropout": 0.1})
    h = train_spirals(cfg, progress=False).history
    assert h.test_acc[-1] > 0.9 and h.train_loss[-1] < 0.5 * h.train_loss[0]
    assert any(isinstance(m, Dropout) for m in nblib.build_model(cfg).modules())


def test_weight_decay_shrinks_weight_matrices_only():
    """nanoGPT's rule: biases and BatchNorm's gamma and beta do not decay."""
    cfg = SpiralConfig(hidden=(8, 8), norm="batch", optimizer="adamw", lr=0.1, weight_decay=0.5)
    model = nblib.build_model(cfg)
    optimizer = nblib.make_optimizer(cfg, model.parameters())
    before = _params(model)
    for p in model.parameters():
        p.grad = np.zeros_like(p.value)          # no gradient: only the decay moves weights
    optimizer.step()
    after = _params(model)
    for name, value in before.items():
        expected = value * (1 - 0.1 * 0.5) if value.ndim == 2 else value
        np.testing.assert_allclose(after[name], expected, rtol=1e-12, err_msg=name)
    assert sum(v.ndim == 2 for v in before.values()) == 3 and len(before) > 3


# --- finite X beyond the model's float32 range -------------------------------------------------

def _float32_model():
    return nblib.build_model(SpiralConfig(hidden=(4,), seed=0, dtype="float32"))


BEYOND_FLOAT32 = np.array([[1e39, 0.0], [0.0, 0.5], [0.3, -0.2], [0.1, 0.1]])   # finite in float64
Y4 = np.array([0, 1, 0, 1])


def _fit(model, X_train, X_test):
    return fit(model, Adam(model.parameters(), 0.01), X_train, Y4, X_test, Y4, epochs=1,
               batch_size=4, rng=np.random.default_rng(0), progress=False)


@pytest.mark.parametrize("call,name", [
    (lambda m, X: _fit(m, X, X[1:].repeat(2, axis=0)[:4]), "X_train"),
    (lambda m, X: _fit(m, np.abs(X[1:].repeat(2, axis=0)[:4]), X), "X_test"),
    (lambda m, X: nblib.train_epoch(m, Adam(m.parameters(), 0.01), X, Y4, batch_size=4,
                                    rng=np.random.default_rng(0)), "X"),
    (lambda m, X: predict_logits(m, X), "X"),
    (lambda m, X: predict_proba(m, X), "X"),
    (lambda m, X: evaluate(m, X, Y4), "X"),
], ids=["fit-X_train", "fit-X_test", "train_epoch", "predict_logits", "predict_proba",
        "evaluate"])
def test_finite_x_beyond_float32_is_refused_naming_x_and_the_range(call, name):
    """Cast to a float32 model's dtype, 1e39 would become inf and every output NaN."""
    model = _float32_model()
    before = _params(model)
    with pytest.raises(ValueError, match=rf"^{name} holds values up to 1e\+39, beyond the range "
                                         r"of the model's float32 \(largest 3\.4e\+38\)"):
        call(model, BEYOND_FLOAT32)
    assert all(np.array_equal(v, before[k]) for k, v in _params(model).items())


def test_the_same_x_is_fine_for_a_float64_model_and_float32_x_within_range():
    model = nblib.build_model(SpiralConfig(hidden=(4,), seed=0, dtype="float64"))
    assert np.isfinite(predict_proba(model, BEYOND_FLOAT32)).all()
    big = np.full((2, 2), np.finfo(np.float32).max / 2)            # within range: no error
    assert predict_logits(_float32_model(), big).dtype == np.float32


# --- train_epoch: the batches, the clock, the mode ---------------------------------------------

class _Spy(nblib.Module):
    """Passes x through and writes down every batch it sees (and the mode it saw it in)."""

    def __init__(self):
        self.batches, self.modes = [], []

    def forward(self, x):
        self.check_input(x)
        self.batches.append(x.copy())
        self.modes.append(self.training)
        return x

    def backward(self, dout):
        self.check_dout(dout)
        return dout


class _LrLog:
    """An optimizer that only writes down the learning rate of every step."""

    def __init__(self, model):
        self.param_groups = [dict(params=model.parameters(), lr=0.0)]
        self.rates = []

    @property
    def lr(self):
        return self.param_groups[0]["lr"]

    @lr.setter
    def lr(self, value):
        self.param_groups[0]["lr"] = value

    def step(self):
        self.rates.append(self.lr)


def _spy_model():
    spy = _Spy()
    return spy, Sequential(spy, Linear(2, 1, rng=0))


def test_train_epoch_steps_through_a_new_shuffle_every_epoch_in_training_mode():
    X = np.arange(20.0).reshape(10, 2)
    y = np.array([0, 1] * 5)
    spy, model = _spy_model()
    model.eval()                                       # train_epoch must switch it back
    rng = np.random.default_rng(7)
    orders = []
    for _ in range(2):
        train_epoch(model, _LrLog(model), X, y, batch_size=4, rng=rng)
        orders.append(np.concatenate(spy.batches)[:, 0] / 2)
        spy.batches.clear()
    expected = np.random.default_rng(7)
    for order in orders:                              # rng.permutation, once per epoch
        assert np.array_equal(order, expected.permutation(10))
    assert not np.array_equal(orders[0], orders[1])
    assert spy.modes == [True] * 6                    # batches of 4, 4, 2: training mode


def test_train_epoch_sets_the_schedules_rate_at_every_step_from_step():
    X, y = np.zeros((10, 2)), np.array([0, 1] * 5)
    _, model = _spy_model()
    optimizer = _LrLog(model)
    train_epoch(model, optimizer, X, y, batch_size=3, rng=np.random.default_rng(0),
                schedule=lambda step: 0.5 + step, step=6)
    assert optimizer.rates == [6.5, 7.5, 8.5, 9.5]    # 4 batches: steps 6, 7, 8, 9


def test_train_epoch_returns_the_mean_batch_loss():
    X = np.random.default_rng(0).normal(size=(9, 2))
    y = np.array([0, 1, 1, 0, 1, 0, 0, 1, 1])
    _, model = _spy_model()
    losses = []
    rng = np.random.default_rng(3)
    order = np.random.default_rng(3).permutation(9)
    for start in range(0, 9, 4):                      # the model does not change: _LrLog
        batch = order[start:start + 4]
        losses.append(nblib.bce_with_logits(model.forward(X[batch]), y[batch])[0])
    mean = train_epoch(model, _LrLog(model), X, y, batch_size=4, rng=rng)
    assert mean == pytest.approx(np.mean(losses), rel=1e-12)


def test_fit_evaluates_each_set_on_its_own_data():
    """History's train and test columns are evaluate() on X_train and on X_test."""
    X = np.random.default_rng(0).normal(size=(24, 2))
    y = (X[:, 0] > 0).astype(int)
    X_test, y_test = X[:8] * 3, 1 - y[:8]             # a test set unlike the training set
    model = Sequential(Linear(2, 4, rng=0), ReLU(), Linear(4, 1, rng=1))
    h = fit(model, Adam(model.parameters(), 0.01), X[8:], y[8:], X_test, y_test, epochs=2,
            batch_size=8, rng=np.random.default_rng(0), progress=False)
    assert (h.train_loss[-1], h.train_acc[-1]) == evaluate(model, X[8:], y[8:])
    assert (h.test_loss[-1], h.test_acc[-1]) == evaluate(model, X_test, y_test)


def test_history_first_epoch_and_time_above_a_target():
    h = nblib.History(test_acc=[0.5, 0.95, 0.96, 0.99], seconds=[0.1, 0.2, 0.3, 0.4])
    assert h.epochs == 4
    assert h.epoch_to_accuracy(0.95) == 3 and h.time_to_accuracy(0.95) == 0.3   # strictly above
    assert h.epoch_to_accuracy(0.4) == 1 and h.time_to_accuracy(0.4) == 0.1     # 1-based
    assert h.epoch_to_accuracy(0.99) is None and h.time_to_accuracy(0.99) is None


# --- the config: the model, optimizer, schedule and generators it names ------------------------

@pytest.mark.parametrize("norm,dropout", [("batch", 0.0), ("batch", 0.2), ("layer", 0.0),
                                          (None, 0.1)])
def test_build_model_is_linear_norm_relu_dropout_per_hidden_layer(norm, dropout):
    model = nblib.build_model(SpiralConfig(hidden=(5, 3), norm=norm, dropout=dropout))
    block = [Linear] + {"batch": [BatchNorm], "layer": [nblib.LayerNorm], None: []}[norm] \
        + [ReLU] + ([Dropout] if dropout else [])
    assert [type(m) for m in model.layers] == block * 2 + [Linear]
    linears = [m for m in model.layers if isinstance(m, Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(2, 5), (5, 3), (3, 1)]
    # no bias before BatchNorm (its mean subtraction cancels it); the output layer has one
    assert [m.bias is not None for m in linears] == [norm != "batch"] * 2 + [True]
    assert all(m.p == dropout for m in model.layers if isinstance(m, Dropout))


@pytest.mark.parametrize("name,cls,options", [
    ("sgd", nblib.SGD, dict(momentum=0.0)), ("momentum", nblib.SGD, dict(momentum=0.7)),
    ("adam", nblib.Adam, dict(weight_decay=0.0)), ("adamw", nblib.AdamW, {})])
def test_make_optimizer_builds_the_named_optimizer_with_the_configs_options(name, cls, options):
    config = SpiralConfig(optimizer=name, lr=0.05, momentum=0.7, hidden=(4,))
    optimizer = nblib.make_optimizer(config, nblib.build_model(config).parameters())
    assert type(optimizer) is cls and optimizer.lr == 0.05
    assert all(group[k] == v for group in optimizer.param_groups for k, v in options.items())


def test_make_schedule_spans_the_whole_run():
    config = SpiralConfig(epochs=10, batch_size=128)              # 480 points: 4 steps
    total = 10 * 4
    assert config.steps_per_epoch == 4
    cosine = nblib.make_schedule(config)
    assert (cosine.total_steps, cosine.warmup_steps) == (total, total // 10)
    assert cosine(total) == 0.0 and cosine(total - 1) > 0.0       # reaches 0 at the run's end
    step = nblib.make_schedule(config.replace(schedule="step"))
    assert step(total // 3 - 1) == config.lr and step(total // 3) == pytest.approx(config.lr / 10)
    exponential = nblib.make_schedule(config.replace(schedule="exponential"))
    assert exponential(total) == pytest.approx(config.lr / 100)   # ends 100x lower
    assert nblib.make_schedule(config.replace(schedule="onecycle")).total_steps == total


def test_the_shuffle_generator_is_the_third_of_three_independent_streams():
    from nblib.core.config import make_shuffle_rng
    children = np.random.SeedSequence(7).spawn(3)                   # init, dropout, shuffle
    draws = [np.random.default_rng(c).random(4) for c in children]
    assert np.array_equal(make_shuffle_rng(SpiralConfig(seed=7)).random(4), draws[2])
    assert not np.array_equal(draws[0], draws[2]) and not np.array_equal(draws[1], draws[2])
