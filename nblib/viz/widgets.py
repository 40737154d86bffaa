"""The playground's controls: ipywidgets mapped onto a ``nblib.viz.playground.Playground``.

The training and its state live in ``Playground``, and the drawing of a frame in
``PlaygroundFigure``.  This module turns widget events into calls on them and
copies the state back into the widgets; beyond that it runs the training in a
background thread (as the next paragraph explains), draws at most ``max_fps``
frames a second, shows the status line and puts a control back when
``Playground`` refuses its value.
ipywidgets is imported inside the functions, so ``import nblib`` works without it.

Staying responsive.  A button's click handler runs in the kernel's main thread,
and while it runs the kernel handles no other message, so a Stop click would
wait for the whole run.  Train therefore starts a background thread that calls
``Playground.train(on_frame=...)``; the main thread stays free to receive Stop,
which sets a flag the trainer checks after every epoch.  The thread draws each
frame itself (a bare Agg figure, no pyplot) and sends it as the bytes of an
``ipywidgets.Image``: setting a widget's value from another thread is a comm
message, which ipykernel sends from any thread, so this works the same in
JupyterLab, Jupyter Notebook and Voila, needs no ``Output`` widget (whose
capture does not work from threads) and no extra package such as ipympl.
While a run trains, the knobs are disabled, so the run's settings cannot
change under it.
"""
from __future__ import annotations

import html
import math
import threading
import time

from ..core.validate import check_float
from .playground import PRESETS, Playground, PlaygroundFigure

# Darker shades of ipywidgets' button styles, so that their white text reads at 4.5:1 or
# more (WCAG AA): green 5.1:1, red 5.6:1, amber 5.0:1, teal 5.8:1.
BUTTON_COLOURS = {"success": "#2e7d32", "danger": "#c62828", "warning": "#b45309",
                  "info": "#00707a"}


def playground(config=None, *, max_runs=4, threaded=True, max_fps=30.0):
    """The live playground for ``config`` (default: the book's recipe), ready to display.

    ``max_runs`` runs are overlaid; at most ``max_fps`` frames are drawn a
    second.  ``threaded=False`` trains inside the click handler instead (for
    tests and scripts: Stop cannot interrupt it there).
    """
    return PlaygroundWidget(Playground(config, max_runs=max_runs), threaded=threaded,
                            max_fps=max_fps)


def _num_label(value):
    return "0" if value == 0 else f"{value:g}"


class PlaygroundWidget:
    """The controls, buttons, frame and status line of one ``Playground``.

    Attributes
    - playground: the ``Playground`` every control drives
    - controls: knob name -> widget (``controls["lr"].value = 0.1`` is ``playground.set(lr=0.1)``)
    - train_button, step_button, stop_button, reset_button, preset_buttons: the buttons
    - image, status: the frame (PNG bytes) and the status line
    - ui: the top-level widget (displaying this object displays it)
    """

    def __init__(self, playground, *, threaded=True, max_fps=30.0):
        import ipywidgets as w

        if not isinstance(playground, Playground):
            raise TypeError(f"playground must be a Playground, got {type(playground).__name__}")
        if not isinstance(threaded, bool):
            raise TypeError(f"threaded must be a bool, got {type(threaded).__name__}")
        self.playground = playground
        self.threaded = threaded
        # At most max_fps frames a second: faster epochs are trained between frames.
        self.frame_interval = 1.0 / check_float(max_fps, "max_fps", minimum=0.0,
                                                min_inclusive=False)
        self.frame = PlaygroundFigure(playground)
        self._worker = None
        self._syncing = False
        self._stop_requested = False
        self._last_frame = 0.0
        self.frames_drawn = 0

        wide = dict(layout=w.Layout(width="98%"), style={"description_width": "82px"})
        slider = dict(continuous_update=False, **wide)
        decays = [0.0, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0]   # lr x 10 > 2 diverges
        self.controls = {
            "noise": w.FloatSlider(min=0.0, max=0.1, step=0.005, readout_format=".3f",
                                   description="noise", **slider),
            "n": w.IntSlider(min=50, max=1000, step=50, description="points/arm", **slider),
            "data_seed": w.BoundedIntText(min=0, max=10**6, description="data seed", **wide),
            "depth": w.IntSlider(min=1, max=4, description="depth", **slider),
            "width": w.IntSlider(min=2, max=256, description="width", **slider),
            "norm": w.Dropdown(options=[("none", None), ("batch", "batch"), ("layer", "layer")],
                               description="norm", **wide),
            "dropout": w.FloatSlider(min=0.0, max=0.5, step=0.05, description="dropout",
                                     **slider),
            "optimizer": w.Dropdown(options=[("SGD", "sgd"), ("SGD + momentum", "momentum"),
                                             ("Adam", "adam"), ("AdamW", "adamw")],
                                    description="optimizer", **wide),
            "lr": w.FloatLogSlider(base=10, min=-4, max=0, step=0.05, readout_format=".2g",
                                   description="learning rate", **slider),
            "weight_decay": w.SelectionSlider(options=[(_num_label(d), d) for d in decays],
                                              description="weight decay", **slider),
            "schedule": w.Dropdown(options=["constant", "step", "exponential", "cosine",
                                            "onecycle"], description="schedule", **wide),
            "epochs": w.IntSlider(min=5, max=500, step=5, description="epochs", **slider),
            "batch_size": w.SelectionSlider(options=[8, 16, 32, 64, 128, 256],
                                            description="batch size", **slider),
            "seed": w.BoundedIntText(min=0, max=10**6, description="init seed", **wide),
        }
        for knob, control in self.controls.items():
            control.add_class(f"nblib-pg-{knob.replace('_', '-')}")
            control.observe(lambda change, knob=knob: self._on_control(knob, change["new"]),
                            names="value")

        def button(label, icon, style, handler, tooltip):
            b = w.Button(description=label, icon=icon, button_style=style, tooltip=tooltip)
            if style:       # ipywidgets' own shades hold white text at 2.2-3.7:1 only
                b.style.button_color = BUTTON_COLOURS[style]
            b.add_class(f"nblib-pg-{label.lower().replace(' ', '-')}")
            b.on_click(lambda _: self._guarded(handler))
            return b

        self.train_button = button("Train", "play", "success", self._on_train,
                                   "train to the end of the run (a new run if it has ended)")
        self.step_button = button("Step one epoch", "step-forward", "", self._on_step,
                                  "train one epoch and draw it")
        self.stop_button = button("Stop", "stop", "danger", self._on_stop,
                                  "stop after the current epoch")
        self.reset_button = button("Reset", "undo", "warning", self._on_reset,
                                   "back to the initial weights, knobs unchanged")
        self.preset_buttons = {
            name: button(name.capitalize(), "", "info",
                         lambda name=name: self._on_preset(name), preset.why)
            for name, preset in PRESETS.items()}
        self.image = w.Image(format="png", layout=w.Layout(width="100%", max_width="840px"))
        self.image.add_class("nblib-pg-plot")
        self.status = w.HTML()
        self.status.add_class("nblib-pg-status")

        def column(title, knobs):
            return w.VBox([w.HTML(f"<b>{title}</b>")] + [self.controls[k] for k in knobs],
                          layout=w.Layout(width="25%", min_width="210px"))

        self.ui = w.VBox([
            w.HBox([w.HTML("<b>Preset:</b>&nbsp;"), *self.preset_buttons.values()]),
            w.HBox([self.train_button, self.step_button, self.stop_button, self.reset_button]),
            self.image,
            self.status,
            w.HBox([column("Data", ["noise", "n", "data_seed"]),
                    column("Architecture", ["depth", "width", "norm", "dropout"]),
                    column("Optimizer", ["optimizer", "lr", "weight_decay", "schedule"]),
                    column("Run", ["epochs", "batch_size", "seed"])],
                   layout=w.Layout(flex_flow="row wrap")),
        ])
        self.ui.add_class("nblib-playground")
        self._sync_controls()
        self._set_busy(False)
        self._draw()

    # ------------------------------------------------------------------ display
    def _repr_mimebundle_(self, **kwargs):
        return self.ui._repr_mimebundle_(**kwargs)

    def __repr__(self):
        return f"PlaygroundWidget({self.playground!r})"

    @property
    def is_training(self):
        return self._worker is not None and self._worker.is_alive()

    def wait(self, timeout=None):
        """Block until the training thread (if any) has finished; True if it has."""
        worker = self._worker
        if worker is not None:
            worker.join(timeout)
        return not self.is_training

    # ------------------------------------------------------------------ handlers
    def _guarded(self, action):
        """Run a handler; show its error in the status line instead of losing it."""
        try:
            action()
        except (ValueError, TypeError, RuntimeError) as err:
            self._show_status(f"{type(err).__name__}: {err}", error=True)

    def _on_control(self, knob, value):
        if self._syncing:
            return
        try:
            self.playground.set(**{knob: value})
        except (ValueError, TypeError, RuntimeError) as err:
            self._sync_controls()                    # put the widget back
            self._show_status(f"{type(err).__name__}: {err}", error=True)
            return
        self._sync_controls()
        self._draw()

    def _on_preset(self, name):
        self.playground.load_preset(name)
        self._sync_controls()
        self._draw()

    def _on_train(self):
        self._start(epochs=None)

    def _on_step(self):
        self._start(epochs=1)

    def _on_stop(self):
        self._stop_requested = True
        self.playground.stop()

    def _on_reset(self):
        self._on_stop()
        if not self.wait(timeout=10):
            raise RuntimeError("the training thread did not stop within 10 s")
        self.playground.reset()
        self._draw()

    # ------------------------------------------------------------------ training
    def _start(self, epochs):
        if self.is_training:
            return
        self._stop_requested = False
        self._set_busy(True)
        if not self.threaded:
            self._train(epochs)
            return
        self._worker = threading.Thread(target=self._train, args=(epochs,), daemon=True,
                                        name="nblib-playground")
        self._worker.start()

    def _train(self, epochs):
        try:
            self.playground.train(epochs=epochs, on_frame=self._on_frame)
        except Exception as err:  # noqa: BLE001 - a thread's exception would vanish
            self.playground.status = f"Training failed: {type(err).__name__}: {err}"
        finally:
            try:
                self._draw()
            finally:
                self._set_busy(False)         # whatever happened, the knobs come back

    def _on_frame(self, playground):
        if self._stop_requested:        # a Stop that came before train() had begun
            playground.stop()
        if time.perf_counter() - self._last_frame >= self.frame_interval:
            self._draw()

    # ------------------------------------------------------------------ view
    def _draw(self):
        self._last_frame = time.perf_counter()
        self.image.value = self.frame.update().render_png()
        self.frames_drawn += 1
        self._show_status(self.playground.status)

    def _show_status(self, message, error=False):
        pg = self.playground
        colour = "#c0392b" if error or pg.history.diverged else "inherit"
        self.status.value = (
            f"<span style='color:{colour}'>{html.escape(message)}</span><br>"
            f"<small>Bayes ceiling for {2 * pg.config.n} points at noise "
            f"{pg.config.noise:g}: {pg.bayes:.1%} (no classifier can beat it on fresh "
            f"data). {len(pg.runs)} of the last {pg.max_runs} runs overlaid.</small>")

    def _set_busy(self, busy):
        for control in (*self.controls.values(), *self.preset_buttons.values(),
                        self.train_button, self.step_button):
            control.disabled = busy
        self.stop_button.disabled = not busy

    def _sync_controls(self):
        """Copy the playground's knobs into the widgets without triggering ``set``."""
        config, values = self.playground.config, {}
        for knob in self.controls:
            values[knob] = getattr(self.playground if knob in ("depth", "width") else config,
                                   knob)
        self._syncing = True
        try:
            for knob, value in values.items():
                control = self.controls[knob]
                if knob == "lr":                 # a log slider: its min and max are exponents
                    control.min = min(control.min, math.floor(math.log10(value)))
                    control.max = max(control.max, math.ceil(math.log10(value)))
                elif hasattr(control, "max"):    # e.g. epochs=1000 from a custom config
                    control.max = max(control.max, value)
                    control.min = min(control.min, value)
                elif hasattr(control, "options"):
                    options = [o if isinstance(o, tuple) else (str(o), o)
                               for o in control.options]
                    if value not in [v for _, v in options]:
                        control.options = sorted(options + [(_num_label(value), value)],
                                                 key=lambda o: o[1])
                control.value = value
        finally:
            self._syncing = False
