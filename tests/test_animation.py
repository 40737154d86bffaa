"""nblib.viz.animation: snapshots recorded during training, played back as an HTML animation."""
import base64
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.animation import AbstractMovieWriter, FuncAnimation  # noqa: E402

import nblib  # noqa: E402
from nblib.viz import plots  # noqa: E402

TINY = nblib.SpiralConfig(n=40, hidden=(8, 8), epochs=6, batch_size=16)


@pytest.fixture(scope="module")
def recorded():
    recorder = nblib.BoundaryRecorder(TINY.epochs, frames=3, resolution=12, extent=1.1)
    result = nblib.train_spirals(TINY, progress=False, on_epoch_end=recorder)
    return recorder, result


def embedded_frames(html, fmt):
    """The base64 text of each frame (the player splits it over lines ending in a backslash)."""
    found = re.findall(rf"data:image/{fmt};base64,([A-Za-z0-9+/=\\\s]+)", html)
    return [re.sub(r"[\\\s]", "", f) for f in found]


# ------------------------------------------------------------------ snapshot_epochs
@pytest.mark.parametrize("epochs, frames, expected", [
    (6, 3, [1, 4, 6]),
    (5, 30, [1, 2, 3, 4, 5]),
    (10, 1, [10]),
    (1, 4, [1]),
])
def test_snapshot_epochs(epochs, frames, expected):
    np.testing.assert_array_equal(nblib.snapshot_epochs(epochs, frames), expected)


def test_snapshot_epochs_spread_over_a_long_run():
    e = nblib.snapshot_epochs(60, 30)
    assert len(e) == 30 and e[0] == 1 and e[-1] == 60 and np.all(np.diff(e) > 0)


# ----------------------------------------------------------------- BoundaryRecorder
def test_recorder_keeps_the_chosen_epochs_and_never_stops_training(recorded):
    recorder, result = recorded
    assert len(recorder) == 3
    assert recorder.epochs == [1, 4, 6]
    assert result.history.epochs == TINY.epochs
    assert result.history.stop_reason == ""
    assert recorder.test_acc == [result.history.test_acc[e - 1] for e in recorder.epochs]


def test_recorder_frames_are_the_model_probabilities_on_its_grid(recorded):
    recorder, result = recorded
    assert recorder.xs.shape == (12,)
    for prob in recorder.probs:
        assert prob.shape == (12, 12)
        assert np.all((prob >= 0) & (prob <= 1))
    # the last snapshot is taken after the last epoch: it is the final model's map
    _, _, final = plots.decision_grid(result.model, extent=1.1, resolution=12)
    np.testing.assert_allclose(recorder.probs[-1], final)
    assert not np.allclose(recorder.probs[0], recorder.probs[-1])


def test_recorder_with_fit_restores_the_model_mode():
    X_train, X_test, y_train, y_test = nblib.make_data(TINY)
    model = nblib.build_model(TINY)
    recorder = nblib.BoundaryRecorder(2, frames=2, resolution=5)
    history = nblib.fit(model, nblib.Adam(model.parameters(), 0.01), X_train, y_train,
                        X_test, y_test, epochs=2, batch_size=16, rng=np.random.default_rng(0),
                        progress=False, on_epoch_end=recorder)
    assert len(recorder) == 2 and history.epochs == 2
    model.train()
    assert recorder(1, history, model) is False
    assert model.training and all(m.training for m in model.modules())


# ------------------------------------------------------------------- plot_snapshot
def test_plot_snapshot_draws_the_frame(recorded):
    recorder, result = recorded
    ax, image, contour = nblib.plot_snapshot(recorder, -1, result.X_test, result.y_test)
    np.testing.assert_array_equal(image.get_array(), recorder.probs[-1])
    assert image.get_clim() == (0.0, 1.0)
    assert "epoch 6" in ax.get_title()
    assert sum(len(c.get_offsets()) for c in ax.collections
               if hasattr(c, "get_offsets") and c is not contour) == len(result.X_test)


# ----------------------------------------------------------- animate_boundary, html
def test_animation_has_one_frame_per_snapshot(recorded):
    recorder, result = recorded
    before = dict(matplotlib.rcParams)
    fig, ax = plt.subplots(figsize=(2, 2), dpi=40)
    anim = nblib.animate_boundary(recorder, result.X_test, result.y_test, ax=ax)
    assert isinstance(anim, FuncAnimation)
    html = nblib.animation_html(anim, fps=4)
    frames = embedded_frames(html, "jpeg")
    assert len(frames) == len(recorder)
    decoded = [base64.b64decode(f) for f in frames]
    assert all(d[:2] == b"\xff\xd8" for d in decoded)          # JPEG files
    assert decoded[0] != decoded[-1]
    assert dict(matplotlib.rcParams) == before


class FrameGrabber(AbstractMovieWriter):
    """A movie writer that keeps, for every frame, what the axes show instead of pixels."""

    def __init__(self, ax):
        super().__init__(fps=5)
        self.ax, self.frames = ax, []

    def setup(self, fig, outfile, dpi=None):
        self.fig, self.outfile, self.dpi = fig, outfile, dpi

    def grab_frame(self, **savefig_kwargs):
        self.frames.append((self.ax.images[0].get_array().copy(), self.ax.get_title()))

    def finish(self):
        pass


def test_each_frame_shows_its_snapshot_and_epoch(recorded, tmp_path):
    recorder, _ = recorded
    fig, ax = plt.subplots(figsize=(2, 2), dpi=40)
    anim = nblib.animate_boundary(recorder, ax=ax)
    grabber = FrameGrabber(ax)
    anim.save(tmp_path / "unused.mp4", writer=grabber)     # plays every frame, writes nothing
    assert len(grabber.frames) == len(recorder)
    for (image, title), prob, epoch in zip(grabber.frames, recorder.probs, recorder.epochs):
        np.testing.assert_array_equal(image, prob)
        assert title.startswith(f"epoch {epoch}")


def test_animation_html_png_frames_and_embed_limit(recorded):
    recorder, _ = recorded
    fig, ax = plt.subplots(figsize=(2, 2), dpi=40)
    anim = nblib.animate_boundary(recorder, ax=ax)
    html = nblib.animation_html(anim, frame_format="png")
    assert len(embedded_frames(html, "png")) == len(recorder)
    fig, ax = plt.subplots(figsize=(2, 2), dpi=40)
    anim = nblib.animate_boundary(recorder, ax=ax)
    limited = nblib.animation_html(anim, embed_limit_mb=1e-4)
    assert len(embedded_frames(limited, "jpeg")) < len(recorder)

