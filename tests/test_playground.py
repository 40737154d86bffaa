"""The playground, driven without a browser: first the plain object, then its widgets."""
import threading

import numpy as np
import pytest

import nblib
from nblib import SpiralConfig
from nblib.viz.playground import PRESETS, Playground, PlaygroundFigure, bayes_ceiling

QUICK = SpiralConfig(epochs=12)          # the recipe, shortened: every knob but epochs


def metrics(history):
    return history.metrics()


def same_curves(h1, h2):
    m1, m2 = metrics(h1), metrics(h2)
    return all(np.array_equal(m1[k], m2[k]) for k in m1)


def params(model):
    return [p.value.copy() for p in model.parameters()]


def all_equal(a, b):
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


# ---------------------------------------------------------------------- the object
def test_a_run_is_train_spirals_through_the_same_engine(monkeypatch):
    """The oracle: epoch by epoch, the playground gives train_spirals' curves bit for bit,
    and both train through the one train_epoch (fit's), not a copy of it."""
    import nblib.core.training

    calls = []
    engine = nblib.core.training.train_epoch
    monkeypatch.setattr(nblib.core.training, "train_epoch",
                        lambda *a, **kw: calls.append(kw["step"]) or engine(*a, **kw))
    pg = Playground(QUICK)
    pg.train(epochs=5)                   # in two parts, as a Stop and a Train would
    history = pg.train()
    playground_calls, calls[:] = list(calls), []
    reference = nblib.train_spirals(QUICK, progress=False)
    steps = QUICK.steps_per_epoch
    assert playground_calls == calls == [e * steps for e in range(QUICK.epochs)]
    assert pg.epoch == QUICK.epochs and pg.finished and not history.diverged
    assert same_curves(history, reference.history)
    assert pg.test_accuracy == reference.test_accuracy
    assert all_equal(params(pg.model), params(reference.model))
    assert f"Finished {QUICK.epochs} epochs" in pg.status and "Bayes ceiling" in pg.status


def test_full_cycle_set_train_stop_resume_reset_rerun():
    pg = Playground(QUICK)
    pg.set(lr=0.03, dropout=0.1)
    assert pg.config == QUICK.replace(lr=0.03, dropout=0.1)
    initial = pg.initial_parameters()
    assert all_equal(params(pg.model), initial)

    def stop_at_5(p):                    # stop from the frame callback, as a Stop button does
        if p.epoch == 5:
            p.stop()

    frames = []
    pg.train(on_frame=lambda p: (frames.append(p.epoch), stop_at_5(p)))
    assert pg.epoch == 5 and frames == [1, 2, 3, 4, 5] and not pg.finished
    assert pg.status.startswith("Stopped after epoch 5/12")
    assert not pg.is_training

    pg.train()                           # Train again: the run continues where it stopped
    assert pg.epoch == 12 and pg.finished
    interrupted = pg.history
    assert len(pg.runs) == 1 and pg.runs[0].history is interrupted

    pg.reset()                           # back to the same initial weights, knobs kept
    assert pg.epoch == 0 and all_equal(params(pg.model), initial)
    pg.step_epoch()
    assert pg.epoch == 1
    pg.rerun_same_init()
    assert pg.epoch == 12
    # Stopping and resuming changed nothing: same curves as an uninterrupted run.
    assert same_curves(pg.history, interrupted)
    assert pg.history is not interrupted


def test_identical_knobs_give_identical_curves_and_are_overlaid():
    pg = Playground(QUICK)
    first = pg.train()
    second = pg.rerun_same_init()
    assert second is not first and same_curves(first, second)
    assert [r.history for r in pg.runs] == [first, second]
    assert pg.run_labels() == ["run 1 (same knobs)", "run 2 (same knobs)"]


def test_changing_only_the_optimizer_keeps_the_initial_weights():
    pg = Playground(QUICK)
    initial = pg.initial_parameters()
    first = pg.train()
    first_weights = params(pg.model)
    pg.set(optimizer="sgd", lr=0.1)
    pg.set(weight_decay=1e-4, schedule="step", dropout=0.1, momentum=0.5)
    assert all_equal(pg.initial_parameters(), initial)
    assert all_equal(params(pg.model), initial)          # the new run starts there
    assert not all_equal(first_weights, initial)         # (training did move them)
    assert "same initial weights" in pg.status
    second = pg.train()
    assert [r.history for r in pg.runs] == [first, second]
    assert not same_curves(first, second)
    q = QUICK
    assert pg.run_labels() == [
        f"dropout={q.dropout:g}, optimizer={q.optimizer}, lr={q.lr:g}, momentum={q.momentum:g}, "
        f"weight_decay={q.weight_decay:g}, schedule={q.schedule}",
        "dropout=0.1, optimizer=sgd, lr=0.1, momentum=0.5, weight_decay=0.0001, "
        "schedule=step"]


def test_runs_start_from_the_saved_copy_even_if_a_new_model_would_differ(monkeypatch):
    """Were build_model to draw new weights on every call, runs would still compare fairly."""
    import nblib.viz.playground as module

    calls = iter(range(1, 1000))
    monkeypatch.setattr(module, "build_model", lambda config: nblib.build_model(
        config.replace(seed=config.seed + 1000 * next(calls))))
    pg = Playground(QUICK)
    initial = pg.initial_parameters()
    pg.train(epochs=1)
    pg.set(optimizer="sgd", lr=0.1)
    assert all_equal(params(pg.model), initial)
    pg.reset()
    assert all_equal(params(pg.model), initial)


@pytest.mark.parametrize("change", [dict(width=32), dict(depth=2), dict(norm="layer"),
                                    dict(seed=1), dict(dtype="float64")])
def test_changing_architecture_or_seed_changes_the_initial_weights(change):
    pg = Playground(QUICK)
    initial = pg.initial_parameters()
    pg.train(epochs=2)
    pg.set(**change)
    assert not all_equal(pg.initial_parameters(), initial)
    assert all_equal(params(pg.model), pg.initial_parameters())
    assert pg.runs == [] and "new initial weights" in pg.status and "cleared" in pg.status


@pytest.mark.parametrize("change", [dict(noise=0.04), dict(n=200), dict(data_seed=7)])
def test_changing_the_data_starts_a_new_comparison(change):
    pg = Playground(QUICK)
    X_train = pg.X_train
    pg.train(epochs=2)
    pg.set(**change)
    assert not np.array_equal(pg.X_train, X_train)
    assert pg.runs == [] and pg.status.startswith(f"Set {next(iter(change))}=")
    assert "new data" in pg.status and "cleared" in pg.status


def test_only_the_last_max_runs_are_kept():
    pg = Playground(QUICK.replace(epochs=2), max_runs=2)
    for lr in (0.01, 0.02, 0.03):
        pg.set(lr=lr)
        pg.train()
    assert [r.config.lr for r in pg.runs] == [0.02, 0.03]
    assert pg.run_labels() == ["lr=0.02", "lr=0.03"]


def test_a_diverging_run_stops_cleanly_and_says_why():
    pg = Playground(QUICK)
    # each decay step multiplies w by 1 - lr * weight_decay = -1.2: the loss passes
    # DIVERGED_LOSS after a few epochs, which are kept
    pg.set(optimizer="sgd", lr=0.5, weight_decay=4.4, schedule="constant")
    history = pg.train(on_frame=lambda p: None)
    assert history.diverged and pg.finished and not pg.is_training
    assert 0 < len(history.lr) and pg.epoch < pg.config.epochs
    assert pg.status.startswith(f"Diverged in epoch {pg.epoch + 1}")
    assert "lr x weight_decay = 2.2" in pg.status and "lower either" in pg.status
    assert history.stop_reason.startswith("diverged in epoch")
    assert all(np.isfinite(history.test_loss))            # only finished epochs are recorded
    PlaygroundFigure(pg).render_png()                      # the frame still draws
    pg.set(weight_decay=0.0, lr=0.1)                       # fix it: a clean new run
    assert pg.train().diverged is False and pg.epoch == 12


@pytest.mark.parametrize("knobs", [dict(lrr=0.1), dict(lr=0.0, seed=3), dict(batch_size=479)],
                         ids=["unknown-knob", "bad-value", "batchnorm-last-batch"])
def test_a_refused_change_changes_nothing(knobs):
    """The messages are in test_bad_input.py; here: after the error, the run is intact."""
    pg = Playground(QUICK)
    pg.train(epochs=1)
    before = (pg.config, pg.history, pg.status, pg.model, params(pg.model))
    with pytest.raises((TypeError, ValueError)):
        pg.set(**knobs)
    assert (pg.config, pg.history, pg.status, pg.model) == before[:4]
    assert all_equal(params(pg.model), before[4])
    pg.train(epochs=1)
    assert pg.epoch == 2


def test_knobs_cannot_change_under_a_run_in_progress():
    pg = Playground(QUICK)
    errors = []

    def meddle(p):
        for action in (lambda: p.set(lr=0.1), p.reset, p.train):
            with pytest.raises(RuntimeError, match="stop"):
                action()
            errors.append(action)

    pg.train(epochs=1, on_frame=meddle)
    assert len(errors) == 3 and pg.config == QUICK and pg.epoch == 1


def test_stop_from_another_thread_ends_the_run_after_the_current_epoch():
    pg = Playground(SpiralConfig(epochs=500))
    at_epoch_3, stopped = threading.Event(), threading.Event()

    def on_frame(p):
        if p.epoch == 3:
            at_epoch_3.set()
            assert stopped.wait(10)

    worker = threading.Thread(target=pg.train, kwargs=dict(on_frame=on_frame))
    worker.start()
    assert at_epoch_3.wait(30)
    assert pg.is_training
    pg.stop()
    stopped.set()
    worker.join(30)
    assert not worker.is_alive() and pg.epoch == 3 and not pg.is_training


def test_presets_set_every_knob():
    pg = Playground(QUICK)
    pg.load_preset("source chapter")
    assert pg.config == SpiralConfig.source()
    assert pg.status == f"Preset 'source chapter': {PRESETS['source chapter'].why}"
    pg.load_preset("book recipe")
    assert pg.config == SpiralConfig() and PRESETS["book recipe"].config == SpiralConfig()
    assert all(len(p.why) > 40 for p in PRESETS.values())


def test_bayes_is_the_ceiling_of_the_current_data():
    pg = Playground(QUICK)
    assert pg.bayes == nblib.bayes_accuracy(QUICK.n, QUICK.noise)
    pg.set(noise=0.05)
    assert pg.bayes == nblib.bayes_accuracy(QUICK.n, 0.05) < nblib.bayes_accuracy(QUICK.n,
                                                                               QUICK.noise)
    assert bayes_ceiling(10, 0.0) == 1 - 1 / 20          # only the shared origin is ambiguous


def test_the_frame_changes_with_training_and_leaves_pyplot_alone():
    import matplotlib
    import matplotlib.pyplot as plt

    rc = dict(matplotlib.rcParams)
    figures = plt.get_fignums()
    pg = Playground(QUICK)
    frame = PlaygroundFigure(pg)
    before = frame.render_png()
    assert before.startswith(b"\x89PNG")
    pg.train(epochs=3)
    after = frame.update().render_png()
    assert after != before
    assert frame.update().render_png() == after           # blitting redraws the same frame
    assert plt.get_fignums() == figures and dict(matplotlib.rcParams) == rc



# ---------------------------------------------------------------------- the widgets
@pytest.fixture
def widget():
    pytest.importorskip("ipywidgets")
    from nblib.viz.widgets import playground

    w = playground(QUICK)
    yield w
    w.stop_button.click()
    assert w.wait(30)


def test_controls_drive_the_playground(widget):
    pg, c = widget.playground, widget.controls
    c["lr"].value = 0.05
    c["optimizer"].value = "momentum"
    c["width"].value = 32
    c["depth"].value = 2
    c["norm"].value = None
    c["weight_decay"].value = 1e-3
    c["batch_size"].value = 16
    assert pg.config == QUICK.replace(lr=0.05, optimizer="momentum", hidden=(32, 32), norm=None,
                                      weight_decay=1e-3, batch_size=16)
    assert "Set batch_size=16" in widget.status.value


def test_buttons_train_step_stop_and_reset(widget):
    pg = widget.playground
    frame0 = widget.image.value
    assert pg.epoch == 0 and widget.stop_button.disabled and not widget.train_button.disabled
    widget.train_button.click()
    assert widget.wait(60)
    assert pg.epoch == 12 and "Finished 12 epochs" in widget.status.value
    assert widget.image.value != frame0 and widget.frames_drawn >= 2
    assert not widget.train_button.disabled and not widget.controls["lr"].disabled
    assert widget.stop_button.disabled

    widget.step_button.click()                  # the run had ended: a new one, one epoch in
    assert widget.wait(30) and pg.epoch == 1 and len(pg.runs) == 2

    widget.reset_button.click()
    assert pg.epoch == 0 and all_equal(params(pg.model), pg.initial_parameters())


def test_stop_button_stops_a_threaded_run_and_knobs_wait_for_it(widget):
    pg = widget.playground
    widget.controls["epochs"].value = 500
    widget.train_button.click()
    assert widget.is_training and widget.controls["lr"].disabled
    widget.controls["lr"].value = 0.5           # (disabled in the browser) refused, reverted
    assert pg.config.lr == QUICK.lr and widget.controls["lr"].value == QUICK.lr
    assert "RuntimeError" in widget.status.value
    widget.stop_button.click()
    assert widget.wait(30)
    assert 1 <= pg.epoch < 500 and "Stopped after epoch" in widget.status.value
    assert not widget.controls["lr"].disabled


def test_preset_buttons_update_the_controls(widget):
    widget.preset_buttons["source chapter"].click()
    c = widget.controls
    assert widget.playground.config == SpiralConfig.source()
    assert (c["depth"].value, c["width"].value, c["dropout"].value) == (3, 128, 0.15)
    assert (c["lr"].value, c["schedule"].value, c["epochs"].value) == (3e-3, "constant", 500)
    assert "source chapter" in widget.status.value
    widget.preset_buttons["book recipe"].click()
    assert widget.playground.config == SpiralConfig()
    assert c["width"].value == max(SpiralConfig().hidden)
    assert c["epochs"].value == SpiralConfig().epochs


def test_a_custom_config_outside_the_slider_ranges_is_shown_as_is():
    pytest.importorskip("ipywidgets")
    from nblib.viz.widgets import playground

    config = SpiralConfig(epochs=1000, lr=3.0, weight_decay=0.5, batch_size=48)
    w = playground(config)
    assert w.playground.config == config
    assert (w.controls["epochs"].value, w.controls["lr"].value) == (1000, 3.0)
    assert (w.controls["weight_decay"].value, w.controls["batch_size"].value) == (0.5, 48)


def test_the_widget_displays_as_its_ui(widget):
    bundle = widget._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == widget.ui.model_id
