"""Frames per second of the playground's live redraw, for the book's recipe.

A frame is what the widget does after an epoch: train the epoch (and evaluate
it), recompute the 60 x 60 decision grid, update the artists, redraw them with
Agg and encode the PNG that the ``ipywidgets.Image`` receives.  The widget
draws at most ``max_fps`` frames a second; here every epoch is drawn, the
slowest case.

    .venv/bin/python benchmarks/playground_fps.py [--repeats 3]

Prints the frames per second (the median over the repeats) and where a frame's
time goes.  A figure to read, not a test: the machine's load moves it.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")   # no faster with 2 threads, and erratic

from nblib.viz.playground import Playground, PlaygroundFigure  # noqa: E402


def time_frames(pg, figure):
    """(frames per second, {stage: ms per frame}) of one whole run, a frame per epoch."""
    stages = dict.fromkeys(("train", "grid + artists", "draw", "png"), 0.0)
    mark = [time.perf_counter()]

    def on_frame(_):
        t0 = time.perf_counter()
        stages["train"] += t0 - mark[0]
        figure.update()
        t1 = time.perf_counter()
        figure.render_rgba()
        t2 = time.perf_counter()
        figure.encode_png()
        t3 = time.perf_counter()
        stages["grid + artists"] += t1 - t0
        stages["draw"] += t2 - t1
        stages["png"] += t3 - t2
        mark[0] = time.perf_counter()

    pg.reset()
    start = time.perf_counter()
    pg.train(on_frame=on_frame)
    frames = pg.epoch
    fps = frames / (time.perf_counter() - start)
    return fps, {k: 1000 * v / frames for k, v in stages.items()}


def time_widget(pg):
    """Frames per second of PlaygroundWidget's own path (Train clicked, a frame per epoch)."""
    try:
        from nblib.viz.widgets import PlaygroundWidget
    except ImportError:
        return None
    widget = PlaygroundWidget(pg, threaded=False, max_fps=1e6)
    pg.reset()
    before = widget.frames_drawn
    start = time.perf_counter()
    widget.train_button.click()
    took = time.perf_counter() - start
    return (widget.frames_drawn - before) / took


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    pg = Playground()                       # SpiralConfig(): the book's recipe
    pg.bayes                                # computed (and cached) outside the timings
    figure = PlaygroundFigure(pg)
    start = time.perf_counter()
    pg.train()
    train_only = time.perf_counter() - start
    results = [time_frames(pg, figure) for _ in range(args.repeats)]
    fps = statistics.median(r[0] for r in results)
    widget_fps = [time_widget(pg) for _ in range(args.repeats)]
    print(f"book recipe: {pg.config.epochs} epochs, {pg.config.steps_per_epoch} steps each; "
          f"training alone {train_only:.2f} s ({1000 * train_only / pg.config.epochs:.1f} ms "
          f"per epoch); final test accuracy {pg.test_accuracy:.1%} (Bayes {pg.bayes:.1%})")
    print(f"live redraw (train + boundary + curves, Agg, a frame per epoch, "
          f"{os.cpu_count()} cores): {fps:.1f} frames/s "
          f"(runs: {', '.join(f'{r[0]:.1f}' for r in results)})")
    best = min(results, key=lambda r: sum(r[1].values()))[1]
    print("ms per frame: " + ", ".join(f"{k} {v:.1f}" for k, v in best.items()))
    if widget_fps[0] is not None:
        print(f"PlaygroundWidget redraw path (Image widget, no kernel): "
              f"{statistics.median(widget_fps):.1f} frames/s "
              f"(runs: {', '.join(f'{f:.1f}' for f in widget_fps)})")
    print(f"FPS {fps:.1f}")


if __name__ == "__main__":
    main()
