"""The playground's logic: a live, resumable spiral experiment in a plain Python object.

``Playground`` holds a ``SpiralConfig`` (every knob), the model being trained and
its ``History``.  It trains through ``nblib.fit``, the loop every run of the book goes
through, with a callback after each epoch, so a caller can draw a frame after each
epoch (``on_frame``) and stop between epochs (``stop``): a whole run gives exactly
``train_spirals``' curves.  It
remembers the initial weights: after a change of the optimizer, the learning
rate, the schedule or the regularisation, the next run starts from exactly the
same weights, and the last few runs are kept for a fair side-by-side comparison.

Nothing here imports ipywidgets: ``nblib.viz.widgets`` maps controls onto this
object, and the tests drive it directly.  ``PlaygroundFigure`` draws its state
with matplotlib (imported only when a figure is made).
"""
from __future__ import annotations

import dataclasses
import io
import threading
from dataclasses import dataclass

import numpy as np

from ..core.validate import check_choice, check_float, check_instance, check_int
from ..core.config import (SpiralConfig, build_model, make_data, make_optimizer, make_schedule,
                     make_shuffle_rng)
from ..core.data import bayes_ceiling
from .plots import CLASS_COLOURS, decision_grid
from ..core.training import History, check_batch_size, fit

FIELDS = tuple(f.name for f in dataclasses.fields(SpiralConfig))
KNOBS = FIELDS + ("depth", "width")   # depth and width set ``hidden`` to (width,) * depth
DATA_KNOBS = ("n", "noise", "data_seed", "test_fraction")
# Change any of these and the old initial weights no longer fit (or no longer mean the same).
INIT_KNOBS = DATA_KNOBS + ("hidden", "norm", "dtype", "seed")
# P(class 1) from red (class 0) to blue (class 1), like the points, but pale so they show.
BOUNDARY_COLOURS = dict(cmap="RdBu", vmin=-0.7, vmax=1.7)
DEPTHS = (1, 4)        # the playground's range of hidden layers ...
WIDTHS = (2, 256)      # ... and of units per hidden layer


@dataclass(frozen=True)
class Preset:
    """A named configuration and one sentence on why it behaves as it does."""

    name: str
    config: SpiralConfig
    why: str


def _steps(config):
    return f"{config.epochs * config.steps_per_epoch:,}"


def _network(config):
    """'3 ReLU layers (128-128-64)': the hidden layers of ``config``."""
    return (f"{len(config.hidden)} ReLU layer{'s' * (len(config.hidden) > 1)} "
            f"({'-'.join(map(str, config.hidden))})")


def _dropout(config):
    return f"dropout {config.dropout:g}" if config.dropout > 0 else "no dropout"


def _same_network_or_not(config, other):
    """How ``config``'s network compares with ``other``'s, for a preset's sentence."""
    if (config.hidden, config.norm) != (other.hidden, other.norm):
        return f"a network of {_network(config)}"
    if config.dropout != other.dropout:
        return f"the same layers with {_dropout(config)}"
    return "the same network"


# What each schedule does to the rate, for the preset's sentence (config.SCHEDULES' names).
_SCHEDULE_SAYS = {
    "onecycle": "the one-cycle schedule warms up to that rate and then anneals it almost "
                "to zero, so the last steps are tiny",
    "cosine": "the schedule warms up to that rate and then lowers it along a cosine to zero, "
              "so the last steps are tiny",
    "step": "the schedule divides the rate by ten twice, so the last steps are small",
    "exponential": "the schedule lowers the rate a hundredfold over the run, so the last "
                   "steps are small",
    "constant": "the rate stays where it starts",
}


_RECIPE, _SOURCE = SpiralConfig(), SpiralConfig.source()
PRESETS = {
    "book recipe": Preset(
        "book recipe", _RECIPE,
        f"{_RECIPE.optimizer.capitalize()} at a peak rate of {_RECIPE.lr:g}, with "
        f"{'BatchNorm' if _RECIPE.norm == 'batch' else _RECIPE.norm or 'no normalisation'} "
        f"in every hidden block and {_dropout(_RECIPE)}: "
        f"{_SCHEDULE_SAYS[_RECIPE.schedule]}; {_network(_RECIPE)} give enough pieces to "
        f"wind twice around the origin, in only {_steps(_RECIPE)} steps."),
    "source chapter": Preset(
        "source chapter", _SOURCE,
        f"The source chapter's settings ({_network(_SOURCE)}, {_dropout(_SOURCE)}, "
        f"{_SOURCE.optimizer.capitalize()} at a constant {_SOURCE.lr:g}, {_SOURCE.epochs} "
        f"epochs of batch {_SOURCE.batch_size}): the rate never comes down, so nothing in the "
        f"schedule says when to stop, and the source stops the run after a budget of "
        f"{_steps(_SOURCE)} steps of "
        + _same_network_or_not(_SOURCE, _RECIPE)
        + f" where the book's recipe takes {_steps(_RECIPE)}; that budget is its choice, not "
          f"what the rate needs to pass 95 % (on one run it passes far sooner)."),
}


@dataclass
class Run:
    """One training run kept for the comparison: its knobs and its curves."""

    config: SpiralConfig
    history: History


def _initial_values(config):
    """Copies of the initial weights of ``config``'s model."""
    return [p.value.copy() for p in build_model(config).parameters()]


def _fresh_run(config, init_values):
    """(model, optimizer, schedule, shuffle rng, empty History) of a run of ``config`` that
    starts from ``init_values``: the same batch order as ``train_spirals``."""
    model = build_model(config)            # a fresh structure (dropout may have changed) ...
    params = model.parameters()
    for p, v in zip(params, init_values, strict=True):
        p.value[...] = v                   # ... with the saved initial values
    return (model, make_optimizer(config, params), make_schedule(config),
            make_shuffle_rng(config), History())   # the History joins ``runs`` once it trains


def _fmt(value):
    return f"{value:g}" if isinstance(value, float) else str(value)


class Playground:
    """A spiral experiment you can change, train, stop, reset and re-run.

    Attributes
    - config: the ``SpiralConfig`` of the current run
    - model, optimizer, history: the current run (``history`` grows an entry per epoch)
    - runs: the last ``max_runs`` runs from the same initial weights, oldest first;
      ``run_labels()`` names each by the knobs that differ between them
    - status: one sentence on what just happened (shown under the widget's plot)
    - bayes: the best accuracy any classifier can reach on this data
    - X_train, X_test, y_train, y_test: the data of ``config``

    Training one epoch at a time is what makes it live: ``train(on_frame=...)``
    calls ``on_frame(self)`` after every epoch, and ``stop()`` (from another
    thread, or from ``on_frame``) ends the loop after the current epoch.
    """

    def __init__(self, config=None, *, max_runs=4):
        if config is None:
            config = SpiralConfig()
        check_instance(config, "config", SpiralConfig, "a SpiralConfig")
        self.max_runs = check_int(max_runs, "max_runs", minimum=1)
        self.config = config
        self.runs = []
        self._stop = threading.Event()
        self._busy = threading.Lock()
        self._new_data()
        self._new_initial_weights()
        self._restart()
        check_batch_size(self.model, len(self.X_train), config.batch_size)   # fit's rule, now
        self.status = f"Ready: {self._describe_run()}. Press Train."

    # ------------------------------------------------------------------ knobs
    @property
    def depth(self):
        return len(self.config.hidden)

    @property
    def width(self):
        return max(self.config.hidden)

    def set(self, **knobs):
        """Change knobs (any ``SpiralConfig`` field, or ``depth``/``width``) and reset.

        If the data, architecture, dtype and seed are unchanged, the new run
        starts from the same initial weights as the runs before it, which stay
        in ``runs`` for comparison; otherwise new weights are drawn and the
        comparison starts afresh.  Bad values raise ``ValueError``/``TypeError``
        naming the knob; nothing changes then.
        """
        for name in knobs:
            if name not in KNOBS:
                raise TypeError(f"unknown knob {name!r}; the knobs are {', '.join(KNOBS)}")
        if "hidden" in knobs and ("depth" in knobs or "width" in knobs):
            raise ValueError("give either hidden or depth/width, not both")
        if "depth" in knobs or "width" in knobs:
            depth = self.depth if "depth" not in knobs else check_int(
                knobs.pop("depth"), "depth", minimum=DEPTHS[0], maximum=DEPTHS[1])
            width = self.width if "width" not in knobs else check_int(
                knobs.pop("width"), "width", minimum=WIDTHS[0], maximum=WIDTHS[1])
            knobs["hidden"] = (width,) * depth
        new = self.config.replace(**knobs)   # SpiralConfig validates, naming the field
        changed = [f for f in FIELDS if getattr(new, f) != getattr(self.config, f)]
        if not changed:
            return self
        self._check_idle("set knobs")
        # Everything new is built before anything is replaced: if a step raises (a split
        # that leaves no test rows, too many points for memory), nothing has changed.
        new_data = any(f in DATA_KNOBS for f in changed)
        data = make_data(new) if new_data else (self.X_train, self.X_test, self.y_train,
                                                self.y_test)
        new_init = any(f in INIT_KNOBS for f in changed)
        init_values = _initial_values(new) if new_init else self._init_values
        run = _fresh_run(new, init_values)
        check_batch_size(run[0], len(data[0]), new.batch_size)   # fit's rule, now

        self.config, self._init_values = new, init_values
        self.X_train, self.X_test, self.y_train, self.y_test = data
        self.model, self.optimizer, self._schedule, self._shuffle_rng, self.history = run
        what = ", ".join(f"{f}={_fmt(getattr(new, f))}" for f in changed)
        if new_init:
            dropped = len(self.runs)
            self.runs.clear()
            note = "new data" if all(f in DATA_KNOBS for f in changed if f in INIT_KNOBS) \
                else "new initial weights"
            if dropped:
                note += (f" (the {dropped} earlier run{'s' if dropped > 1 else ''} no longer "
                         "compare fairly and were cleared)")
        else:
            note = "the next run starts from the same initial weights as the last"
        self.status = f"Set {what}: {note}. Press Train."
        return self

    def load_preset(self, name):
        """Set every knob to the preset ``name`` (a key of ``PRESETS``)."""
        check_choice(name, "name", tuple(PRESETS))
        preset = PRESETS[name]
        self.set(**dataclasses.asdict(preset.config))
        self.status = f"Preset {name!r}: {preset.why}"
        return self

    # ------------------------------------------------------------------ runs
    def reset(self):
        """Start the run again from the same initial weights (the knobs are kept)."""
        self._check_idle("reset")
        self._restart()
        self.status = f"Reset to the initial weights: {self._describe_run()}. Press Train."
        return self

    def train(self, epochs=None, on_frame=None):
        """Train up to ``epochs`` more epochs (default: to the end of the run).

        A run is ``config.epochs`` long, since the schedule is defined over it;
        if the current run has finished or diverged, a new one starts from the
        same initial weights.  ``on_frame(self)`` is called after every epoch.
        Returns the run's ``History``.
        """
        if epochs is not None:
            epochs = check_int(epochs, "epochs", minimum=1)
        if on_frame is not None and not callable(on_frame):
            raise TypeError(f"on_frame must be callable or None, got {type(on_frame).__name__}")
        if not self._busy.acquire(blocking=False):
            raise RuntimeError("a run is already in progress; call stop() and wait for it")
        try:
            self._stop.clear()
            if self.finished:
                self._restart()
            if not self.runs or self.runs[-1].history is not self.history:
                self.runs.append(Run(self.config, self.history))     # kept for the overlay
                del self.runs[:-self.max_runs]
            remaining = self.config.epochs - self.epoch
            fit(self.model, self.optimizer, self.X_train, self.y_train, self.X_test,
                self.y_test, epochs=remaining if epochs is None else min(epochs, remaining),
                batch_size=self.config.batch_size, schedule=self._schedule,
                rng=self._shuffle_rng, progress=False, history=self.history,
                on_epoch_end=lambda epoch, history, model: self._after_epoch(on_frame))
            if self.history.diverged:
                self.status = f"Diverged in epoch {self.epoch + 1}: {self._blame()}."
                if on_frame is not None:
                    on_frame(self)
            elif self._stop.is_set() and not self.finished:
                self.status = (f"Stopped after epoch {self._progress()}. Train continues "
                               "the run; Reset starts it again from the same weights.")
        finally:
            self._stop.clear()
            self._busy.release()
        return self.history

    def step_epoch(self):
        """Train exactly one epoch (starting a new run if the last one has finished)."""
        return self.train(epochs=1)

    def stop(self):
        """Ask a ``train`` in progress to stop after its current epoch (safe from any thread)."""
        self._stop.set()

    def rerun_same_init(self, on_frame=None):
        """Reset to the initial weights and train a whole run with the current knobs."""
        self.reset()
        return self.train(on_frame=on_frame)

    # ------------------------------------------------------------------ state
    @property
    def epoch(self):
        """Epochs trained in the current run."""
        return self.history.epochs

    @property
    def finished(self):
        return self.history.diverged or self.epoch >= self.config.epochs

    @property
    def is_training(self):
        return self._busy.locked()

    @property
    def test_accuracy(self):
        """Held-out accuracy after the last epoch (nan before the first)."""
        return self.history.test_acc[-1] if self.history.test_acc else float("nan")

    @property
    def bayes(self):
        """Best possible accuracy on this data (cached per (n, noise))."""
        return bayes_ceiling(self.config.n, self.config.noise)

    def initial_parameters(self):
        """Copies of the initial weights every run of the current comparison starts from."""
        return [v.copy() for v in self._init_values]

    def decision_grid(self, resolution=60, extent=1.2):
        """(xx, yy, prob) of the current model on a resolution x resolution grid."""
        with np.errstate(all="ignore"):        # a diverged model gives NaN: drawn blank
            return decision_grid(self.model, extent, resolution)

    def run_labels(self):
        """A label per run in ``runs``: the knobs whose values differ between the runs."""
        if not self.runs:
            return []
        configs = [r.config for r in self.runs]
        differ = [f for f in FIELDS if len({getattr(c, f) for c in configs}) > 1]
        if len(configs) == 1:
            differ = ["optimizer", "lr", "schedule"]
        if not differ:
            return [f"run {i + 1} (same knobs)" for i in range(len(configs))]
        return [", ".join(f"{f}={_fmt(getattr(c, f))}" for f in differ) for c in configs]

    def __repr__(self):
        return (f"Playground({self.config!r}, epoch {self.epoch}/{self.config.epochs}, "
                f"{len(self.runs)} run{'s' if len(self.runs) != 1 else ''} to compare)")

    # ------------------------------------------------------------------ internals
    def _check_idle(self, action):
        if self.is_training:
            raise RuntimeError(f"cannot {action} while training; call stop() first")

    def _new_data(self):
        self.X_train, self.X_test, self.y_train, self.y_test = make_data(self.config)

    def _new_initial_weights(self):
        self._init_values = _initial_values(self.config)

    def _restart(self):
        """A fresh run of the current knobs from the saved initial weights."""
        (self.model, self.optimizer, self._schedule, self._shuffle_rng,
         self.history) = _fresh_run(self.config, self._init_values)

    def _after_epoch(self, on_frame):
        """fit's ``on_epoch_end``: the status line, a frame, and the Stop button."""
        cfg, acc = self.config, self.test_accuracy
        if self.epoch >= cfg.epochs:
            self.status = (f"Finished {cfg.epochs} epochs in {self.history.seconds[-1]:.2f} s "
                           f"of training: test accuracy {acc:.1%}, Bayes ceiling "
                           f"{self.bayes:.1%}.")
        else:
            self.status = (f"Epoch {self._progress()}: test accuracy {acc:.1%} "
                           f"(Bayes ceiling {self.bayes:.1%}).")
        if on_frame is not None:
            on_frame(self)
        return self._stop.is_set()

    def _blame(self):
        """What most likely made the run diverge, and what to change."""
        c = self.config
        if c.optimizer in ("sgd", "momentum", "adamw") and c.lr * c.weight_decay > 2:
            return (f"lr x weight_decay = {c.lr * c.weight_decay:g} > 2, so each decay step "
                    "w <- (1 - lr wd) w flips the sign of w and makes it larger; lower either")
        return f"the learning rate ({c.optimizer}, lr={c.lr:g}) is probably too high: lower it"

    def _progress(self):
        return f"{self.epoch}/{self.config.epochs}"

    def _describe_run(self):
        c = self.config
        arch = "-".join(str(h) for h in c.hidden)
        return (f"{arch} ({c.norm or 'no'} norm, dropout {c.dropout:g}), {c.optimizer} at "
                f"lr={c.lr:g} ({c.schedule}), {c.epochs} epochs of batch {c.batch_size}")


class PlaygroundFigure:
    """The playground's frame: decision boundary, loss curves and accuracy curves.

    Built once; ``update()`` then only changes the artists' data (``set_data``
    on the lines and on the boundary image, ``set_segments`` on its 0.5
    contour), and ``render_png()`` redraws only those artists over a saved
    background (blitting): axes, ticks and legends, whose text is most of the
    cost of a full draw, are redrawn only when the axis limits or the legend
    change.  It uses a bare ``matplotlib.figure.Figure`` (no pyplot), so it
    touches no global state and can draw from a worker thread.

    The boundary uses a coarse ``resolution`` x ``resolution`` grid, as it is
    recomputed after every epoch.
    """

    RUN_COLOURS = ("#7f8c8d", "#9b59b6", "#e67e22", "#16a085", "#2c3e50", "#c0392b")

    def __init__(self, playground, *, resolution=60, extent=1.2, figsize=(10.5, 3.4), dpi=80):
        if not isinstance(playground, Playground):
            raise TypeError(f"playground must be a Playground, got {type(playground).__name__}")
        self.playground = playground
        self.resolution = check_int(resolution, "resolution", minimum=2)
        self.extent = check_float(extent, "extent", minimum=0.0, min_inclusive=False)
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.collections import LineCollection
        from matplotlib.figure import Figure
        from matplotlib.ticker import NullFormatter

        fig = Figure(figsize=figsize, dpi=dpi, layout="constrained")
        FigureCanvasAgg(fig)
        self.figure = fig
        ax_b, ax_loss, ax_acc = fig.subplots(1, 3, width_ratios=(1, 1.25, 1.25))
        e = self.extent
        self._image = ax_b.imshow(np.full((2, 2), 0.5), extent=(-e, e, -e, e), origin="lower",
                                  interpolation="bilinear", **BOUNDARY_COLOURS)
        self._contour = ax_b.add_collection(LineCollection([], colors="k", linewidths=1.5))
        # One Line2D per class: markers stamped by Agg, several times faster than a scatter.
        self._points = [ax_b.plot([], [], "o", ms=3.6, mfc=c, mec="white", mew=0.5)[0]
                        for c in CLASS_COLOURS]
        self._data_id = None
        ax_b.set(xlim=(-e, e), ylim=(-e, e), xticks=[], yticks=[], aspect="equal")
        self._title = ax_b.set_title("epoch 0/0", fontsize="medium")

        colours = [self.RUN_COLOURS[i % len(self.RUN_COLOURS)]
                   for i in range(playground.max_runs)]
        self._test_loss = [ax_loss.plot([], [], color=c, lw=1.5)[0] for c in colours]
        self._train_loss = ax_loss.plot([], [], color="k", lw=1, ls="--",
                                        label="train (current run)")[0]
        ax_loss.set(yscale="log", xlabel="epoch", title="test loss (BCE)")
        ax_loss.yaxis.set_minor_formatter(NullFormatter())    # decades only: narrow labels
        self._acc = [ax_acc.plot([], [], color=c, lw=1.5)[0] for c in colours]
        self._bayes = ax_acc.axhline(np.nan, color="k", ls=":", lw=1)
        ax_acc.set(ylim=(0.45, 1.005), xlabel="epoch", title="test accuracy")
        self._ax_b, self._ax_loss, self._ax_acc = ax_b, ax_loss, ax_acc
        self._live = [(ax_b, [self._image, self._contour, *self._points, self._title]),
                      (ax_loss, [*self._test_loss, self._train_loss]),
                      (ax_acc, self._acc)]
        for _, artists in self._live:
            for artist in artists:
                artist.set_animated(True)    # left out of full draws; drawn by render_png
        self._layout = None                  # what the saved background shows
        self._background = None
        self.update()

    def update(self):
        """Copy the playground's current state into the artists (no drawing)."""
        pg = self.playground
        if self._data_id is not pg.X_train:      # new data: new points (rare)
            self._data_id = pg.X_train
            for cls, points in enumerate(self._points):
                points.set_data(pg.X_train[pg.y_train == cls].T)
        _, _, prob = pg.decision_grid(self.resolution, self.extent)
        self._image.set_data(prob)
        self._contour.set_segments(_contour_lines(prob, self.extent))
        if pg.history.diverged:
            title = f"diverged in epoch {pg.epoch + 1}"
        else:
            title = f"epoch {pg._progress()}"
            if pg.epoch:
                title += f", test {pg.test_accuracy:.1%}"
        self._title.set_text(title)

        runs, current = pg.runs, pg.history
        lo, hi, longest = 1.0, 1.0, pg.config.epochs
        for i in range(len(self._acc)):
            h = runs[i].history if i < len(runs) else History()
            x = np.arange(1, h.epochs + 1)
            self._acc[i].set_data(x, h.test_acc)
            self._test_loss[i].set_data(x, h.test_loss)
            lw = 2.5 if h is current else 1.5
            self._acc[i].set_linewidth(lw)
            self._test_loss[i].set_linewidth(lw)
            if h.epochs:
                longest = max(longest, runs[i].config.epochs)
                lo, hi = min(lo, min(h.test_loss)), max(hi, max(h.test_loss))
        self._train_loss.set_data(np.arange(1, current.epochs + 1), current.train_loss)
        if current.epochs:
            lo = min(lo, min(current.train_loss))
        # Loss limits snap to powers of ten, so they (and the background) rarely change.
        loss_lim = (10.0 ** np.floor(np.log10(max(lo, 1e-6))),
                    10.0 ** np.ceil(np.log10(min(hi, 1e4))))
        loss_lim = (loss_lim[0], max(loss_lim[1], 10 * loss_lim[0]))
        self._wanted = (longest, loss_lim, tuple(pg.run_labels()), pg.bayes)
        return self

    def _draw_background(self):
        longest, loss_lim, labels, bayes = self._wanted
        self._ax_loss.set(xlim=(0, longest), ylim=loss_lim)
        self._ax_acc.set_xlim(0, longest)
        self._bayes.set_ydata([bayes, bayes])
        for line, label in zip(self._acc, list(labels) + [""] * len(self._acc)):
            line.set_label(label or "_nolegend_")
        self._bayes.set_label(f"Bayes ceiling {bayes:.1%}")
        legends = [
            self._ax_acc.legend(handles=[*self._acc[:len(labels)], self._bayes],
                                loc="lower right", fontsize="small", framealpha=1),
            self._ax_loss.legend(handles=[self._train_loss], loc="upper right",
                                 fontsize="small", framealpha=1)]
        canvas = self.figure.canvas
        canvas.draw()                            # (re-runs the constrained layout)
        self._background = canvas.copy_from_bbox(self.figure.bbox)
        # The legends' pixels, pasted back over the curves each frame (a copy, not a redraw).
        self._legend_pixels = [canvas.copy_from_bbox(legend.get_window_extent().expanded(
            1.02, 1.05)) for legend in legends]
        self._layout = self._wanted

    def render_rgba(self):
        """Draw the frame with Agg; returns the canvas (its ``buffer_rgba()`` is the frame)."""
        canvas = self.figure.canvas
        if self._layout != self._wanted:
            self._draw_background()
        else:
            canvas.restore_region(self._background)
        for ax, artists in self._live:
            for artist in artists:
                ax.draw_artist(artist)
        for pixels in self._legend_pixels:
            canvas.restore_region(pixels)
        return canvas

    def _repr_png_(self):                   # a notebook shows the frame itself
        return self.render_png()

    def render_png(self):
        """Draw the frame and return it as PNG bytes."""
        self.render_rgba()
        return self.encode_png()

    def encode_png(self):
        """The last drawn frame as PNG bytes (fast zlib level: it is sent 10-30 times a second)."""
        from PIL import Image

        canvas = self.figure.canvas
        buf = io.BytesIO()
        Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba(),
                         "raw", "RGBA", 0, 1).convert("RGB").save(buf, "png", compress_level=1)
        return buf.getvalue()


def _contour_lines(prob, extent):
    """The 0.5 level of ``prob`` (a square grid over [-extent, extent]^2) as line segments."""
    import contourpy

    xs = np.linspace(-extent, extent, prob.shape[0])
    return contourpy.contour_generator(xs, xs, prob, line_type="Separate").lines(0.5)
