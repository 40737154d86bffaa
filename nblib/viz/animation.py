"""The decision boundary as a film: snapshots taken during training, played back.

``BoundaryRecorder`` is a callback for ``fit`` / ``train_spirals``
(``on_epoch_end``): after chosen epochs it evaluates the network on a coarse
grid and keeps P(class 1) there.  Training does not know about plots; the
recorder only reads the model, in evaluation mode.  ``animate_boundary`` turns
the snapshots into a ``matplotlib.animation.FuncAnimation``, whose
``to_jshtml()`` is a self-contained HTML player: it plays in the built book
with no Python behind the page.
"""
from __future__ import annotations

import re
from html import escape

import numpy as np

from ..core.validate import check_array, check_float, check_instance, check_int, check_labels
from ..core.module import Module
from .plots import CLASS_COLOURS, _axes
from ..core.training import History, predict_proba


def snapshot_epochs(epochs, frames):
    """The 1-based epochs at which to take ``frames`` snapshots of an ``epochs``-epoch run.

    Evenly spaced, always including the first and the last epoch; fewer than
    ``frames`` when the run is shorter.  Returns an int array of shape (F,),
    F = min(frames, epochs), strictly increasing.
    """
    epochs = check_int(epochs, "epochs", minimum=1)
    frames = check_int(frames, "frames", minimum=1)
    if frames == 1:
        return np.array([epochs])
    return np.unique(np.round(np.linspace(1, epochs, min(frames, epochs))).astype(int))


class BoundaryRecorder:
    """``on_epoch_end`` callback keeping P(class 1) on a grid at chosen epochs.

    Inputs
    - epochs: the number of epochs the run will train (to space the snapshots)
    - frames: at most this many snapshots, first and last epoch included
    - resolution: grid points per side (80 is plenty for an animation)
    - extent: the grid covers [-extent, extent]^2

    After training
    - xs: grid coordinates along each axis, shape (R,)
    - epochs: the 1-based epochs recorded, a list of F ints
    - probs: the snapshots, a list of F arrays of shape (R, R) (row i is y = xs[i])
    - test_acc: held-out accuracy at each snapshot, a list of F floats
    """

    def __init__(self, epochs, frames=36, *, resolution=80, extent=1.2):
        self.resolution = check_int(resolution, "resolution", minimum=2)
        self.extent = check_float(extent, "extent", minimum=0.0, min_inclusive=False)
        self.when = set(int(e) for e in snapshot_epochs(epochs, frames))
        self.xs = np.linspace(-self.extent, self.extent, self.resolution)
        xx, yy = np.meshgrid(self.xs, self.xs)
        self._grid = np.c_[xx.ravel(), yy.ravel()]   # (R * R, 2)
        self.epochs, self.probs, self.test_acc = [], [], []

    def __call__(self, epoch, history, model):
        """Called by ``fit`` after each epoch (0-based); returns False: never stops training."""
        if not isinstance(history, History):
            raise TypeError(f"history must be an nblib History, got {type(history).__name__}")
        check_instance(model, "model", Module, "an nblib Module")
        if epoch + 1 in self.when:
            prob = predict_proba(model, self._grid)           # in the model's dtype
            self.epochs.append(epoch + 1)
            self.probs.append(prob.reshape(self.resolution, self.resolution).astype(np.float64))
            self.test_acc.append(history.test_acc[-1] if history.test_acc else float("nan"))
        return False

    def __len__(self):
        return len(self.probs)

    def __repr__(self):
        return (f"BoundaryRecorder({len(self)} frames of {self.resolution}x{self.resolution}, "
                f"epochs {self.epochs[:1] + self.epochs[-1:]})")


def _check_recorder(recorder):
    if not isinstance(recorder, BoundaryRecorder):
        raise TypeError(f"recorder must be a BoundaryRecorder, got {type(recorder).__name__}")
    if len(recorder) == 0:
        raise ValueError("recorder has no frames: pass it as on_epoch_end to fit/train_spirals")


def _frame_title(recorder, i):
    return f"epoch {recorder.epochs[i]}, test accuracy {recorder.test_acc[i]:.1%}"


def plot_snapshot(recorder, i, X=None, y=None, ax=None):
    """Snapshot ``i`` of a recorder: the probability map, its 0.5 contour, optional points.

    Inputs
    - recorder: a ``BoundaryRecorder`` with at least one frame
    - i: frame index (negative counts from the end)
    - X (N, 2), y (N,): points to draw on top (optional)
    Returns (ax, image, contour): the ``AxesImage`` and the 0.5 ``ContourSet``
    (None when the map does not cross 0.5).
    """
    _check_recorder(recorder)
    i = check_int(i, "i", minimum=-len(recorder), maximum=len(recorder) - 1)
    ax = _axes(ax, (4, 4))
    e = recorder.extent
    image = ax.imshow(recorder.probs[i], origin="lower", extent=(-e, e, -e, e), cmap="RdBu",
                      vmin=0.0, vmax=1.0, alpha=0.85, interpolation="bilinear")
    contour = _contour(ax, recorder, i)
    if X is not None:
        X = check_array(X, "X", shape=(None, 2))
        y = np.zeros(len(X), dtype=int) if y is None else check_labels(y, "y", len(X))
        for cls, colour in enumerate(CLASS_COLOURS):
            m = y == cls
            ax.scatter(X[m, 0], X[m, 1], c=colour, s=14, edgecolors="white", linewidths=0.4)
    ax.set_xlim(-e, e)
    ax.set_ylim(-e, e)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(_frame_title(recorder, i), fontsize="medium")
    return ax, image, contour


def _contour(ax, recorder, i):
    prob = recorder.probs[i]
    if not prob.min() < 0.5 < prob.max():
        return None
    return ax.contour(recorder.xs, recorder.xs, prob, levels=[0.5], colors="k", linewidths=1.5)


def animate_boundary(recorder, X=None, y=None, ax=None, *, interval=150):
    """A ``FuncAnimation`` of the recorded decision boundaries, one frame per snapshot.

    Inputs
    - recorder: a ``BoundaryRecorder`` with at least one frame
    - X (N, 2), y (N,): points to draw on every frame (optional)
    - ax: the axes to draw in (a new 4 x 4 inch figure if None)
    - interval: milliseconds between frames
    Returns the ``FuncAnimation``: ``animation_html(anim)`` (or
    ``anim.to_jshtml()``) gives an HTML player; close its figure,
    ``ax.figure``, once rendered.
    """
    from matplotlib.animation import FuncAnimation

    _check_recorder(recorder)
    interval = check_int(interval, "interval", minimum=1)
    ax, image, contour = plot_snapshot(recorder, 0, X, y, ax)
    state = {"contour": contour}

    def draw(i):
        image.set_data(recorder.probs[i])
        if state["contour"] is not None:
            state["contour"].remove()
        state["contour"] = _contour(ax, recorder, i)
        ax.set_title(_frame_title(recorder, i), fontsize="medium")
        return [image]

    anim = FuncAnimation(ax.figure, draw, frames=len(recorder), interval=interval,
                         repeat=True)
    # what animation_html writes as the player's alt text (for a screen reader)
    anim.alt_text = (f"The decision boundary (the 0.5 contour of the predicted probability) "
                     f"over the two spirals, at {len(recorder)} snapshots from epoch "
                     f"{recorder.epochs[0]} to epoch {recorder.epochs[-1]}")
    return anim


def animation_html(anim, *, fps=8, frame_format="jpeg", quality=85, default_mode="loop",
                   embed_limit_mb=20.0, alt=None):
    """A self-contained HTML player of ``anim``: ``anim.to_jshtml()`` with a choice of frames.

    ``to_jshtml`` embeds every frame as a PNG; a smooth colour map takes fewer bytes
    in JPEG (04_visualisation measures one frame both ways), which keeps the page
    light.  The player (play, pause, step, speed) is matplotlib's own.

    Inputs
    - anim: a ``matplotlib.animation.Animation``
    - fps: frames per second (> 0); frame_format: "jpeg" or "png"
    - quality: JPEG quality, 1..95; default_mode: "loop", "once" or "reflect"
    - embed_limit_mb: frames beyond this many megabytes are dropped (with a warning)
    - alt: what the frames show, for a screen reader (default: ``anim.alt_text``, which
      ``animate_boundary`` sets, else "an animation")
    Returns the HTML as a string: the frame has that alt text, the frame slider is named.
    """
    from pathlib import Path
    from tempfile import TemporaryDirectory

    from matplotlib.animation import Animation, HTMLWriter

    if not isinstance(anim, Animation):
        raise TypeError(f"anim must be a matplotlib Animation, got {type(anim).__name__}")
    fps = check_float(fps, "fps", minimum=0.0, min_inclusive=False)
    if frame_format not in ("jpeg", "png"):
        raise ValueError(f"frame_format must be 'jpeg' or 'png', got {frame_format!r}")
    quality = check_int(quality, "quality", minimum=1, maximum=95)
    if default_mode not in ("loop", "once", "reflect"):
        raise ValueError(f"default_mode must be 'loop', 'once' or 'reflect', got {default_mode!r}")
    embed_limit_mb = check_float(embed_limit_mb, "embed_limit_mb", minimum=0.0,
                                 min_inclusive=False)
    if alt is None:
        alt = getattr(anim, "alt_text", None) or "an animation"
    if not isinstance(alt, str) or not alt.strip():
        raise TypeError(f"alt must be a non-empty str, got {alt!r}")
    writer = HTMLWriter(fps=fps, embed_frames=True, default_mode=default_mode,
                        embed_limit=embed_limit_mb)
    writer.frame_format = frame_format   # instead of rcParams["animation.frame_format"]
    savefig_kwargs = {"pil_kwargs": {"quality": quality}} if frame_format == "jpeg" else {}
    with TemporaryDirectory() as tmp:
        path = Path(tmp, "animation.html")
        anim.save(str(path), writer=writer, savefig_kwargs=savefig_kwargs)
        html = path.read_text()
    # matplotlib's player links Font Awesome from a CDN for its button icons: drop the
    # link so the page makes no request off the machine (the buttons keep their labels).
    html = re.sub(r'<link rel="stylesheet"\s+href="https?://[^"]*font-awesome[^>]*>\s*', "", html)
    # The player's frame and slider have no text for a screen reader: name them.
    html = re.sub(r'<img id="_anim_img', f'<img alt="{escape(alt)}" id="_anim_img', html, count=1)
    return re.sub(r'<input id="_anim_slider',
                  '<input aria-label="frame of the animation" id="_anim_slider', html, count=1)
