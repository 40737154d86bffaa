"""The chapter's figures.  Each takes ``ax=None``, draws, and returns what it drew.

None of them changes matplotlib's global state (rcParams, the current figure
beyond creating one when no axes are given).
"""
from __future__ import annotations

import numpy as np

from ..core.validate import (check_array, check_choice, check_float, check_instance, check_int,
                      check_labels)
from ..core.module import Module
from ..core.schedules import Schedule
from ..core.training import History, predict_proba

CLASS_COLOURS = ("#e74c3c", "#3498db")   # class 0 red, class 1 blue (as the source)


def _axes(ax, figsize=(5, 5)):
    if ax is None:
        import matplotlib.pyplot as plt
        _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_data(X, y, ax=None, *, title="Two-spiral data", s=15, alpha=0.7, edgecolors="none"):
    """Scatter X (N, 2) coloured by label y (N,). Returns the axes."""
    X = check_array(X, "X", shape=(None, 2))
    y = check_labels(y, "y", len(X))
    ax = _axes(ax)
    for cls, colour in enumerate(CLASS_COLOURS):
        m = y == cls
        ax.scatter(X[m, 0], X[m, 1], c=colour, s=s, alpha=alpha, label=f"Class {cls}",
                   edgecolors=edgecolors, linewidths=0.5)
    ax.set_title(title)
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize="small")
    return ax


def decision_grid(model, extent=1.2, resolution=200):
    """P(class 1) on a square grid over [-extent, extent]^2, in evaluation mode.

    Returns (xx, yy, prob), each of shape (resolution, resolution).
    """
    check_instance(model, "model", Module, "an nblib Module")
    extent = check_float(extent, "extent", minimum=0.0, min_inclusive=False)
    resolution = check_int(resolution, "resolution", minimum=2)
    xs = np.linspace(-extent, extent, resolution)
    xx, yy = np.meshgrid(xs, xs)
    prob = predict_proba(model, np.c_[xx.ravel(), yy.ravel()]).reshape(xx.shape)
    return xx, yy, prob


def plot_probability_grid(xx, yy, prob, X=None, y=None, ax=None, *, colorbar=False,
                          title="Decision boundary"):
    """A probability map already computed on a grid, with its 0.5 contour and optional points.

    Inputs
    - xx, yy: grid coordinates, each of shape (R, C), as from ``np.meshgrid``
    - prob: P(class 1) at each grid point, of shape (R, C), values in [0, 1]
    - X (N, 2), y (N,): points to draw on top (optional; y defaults to all 0)
    Returns (ax, contour_set): the filled contours of ``prob``.
    """
    xx = check_array(xx, "xx", ndim=2)
    yy = check_array(yy, "yy", shape=xx.shape)
    prob = check_array(prob, "prob", shape=xx.shape, finite=False)
    if xx.shape[0] < 2 or xx.shape[1] < 2:
        raise ValueError(f"xx must be a grid of at least 2 x 2 points, got shape {xx.shape}")
    if np.any((prob < 0) | (prob > 1)):
        raise ValueError("prob must lie in [0, 1]")
    ax = _axes(ax)
    cf = ax.contourf(xx, yy, prob, levels=np.linspace(0, 1, 21), cmap="RdBu", alpha=0.85)
    if prob.min() < 0.5 < prob.max():
        ax.contour(xx, yy, prob, levels=[0.5], colors="k", linewidths=2)
    if X is not None:
        y = np.zeros(len(X), dtype=int) if y is None else y
        plot_data(X, y, ax, title=title, s=20, alpha=0.8, edgecolors="white")
        ax.get_legend().remove()
    ax.set_title(title)
    ax.set_aspect("equal")
    if colorbar:
        ax.figure.colorbar(cf, ax=ax, label="P(class 1)")
    return ax, cf


def plot_decision_boundary(model, X=None, y=None, ax=None, *, resolution=200, extent=1.2,
                           colorbar=False, title="Decision boundary"):
    """P(class 1) as a colour map, its 0.5 contour in black, and optional points on top.

    Inputs
    - model: a trained nblib Module mapping (N, 2) to (N, 1) logits
    - X (N, 2), y (N,): points to draw on top (optional)
    - resolution: grid points per side; extent: the grid covers [-extent, extent]^2
    Returns (ax, contour_set).
    """
    xx, yy, prob = decision_grid(model, extent, resolution)
    return plot_probability_grid(xx, yy, prob, X, y, ax, colorbar=colorbar, title=title)


def plot_loss(history, ax=None, *, label_prefix=""):
    """Train and test loss per epoch. Returns the axes."""
    if not isinstance(history, History):
        raise TypeError(f"history must be an nblib History, got {type(history).__name__}")
    ax = _axes(ax, (5, 4))
    epochs = np.arange(1, history.epochs + 1)
    ax.plot(epochs, history.train_loss, label=f"{label_prefix}train", color="#e74c3c", lw=2)
    ax.plot(epochs, history.test_loss, label=f"{label_prefix}test", color="#3498db", lw=2)
    ax.set(title="BCE loss vs epoch", xlabel="epoch", ylabel="loss")
    ax.legend()
    return ax


def plot_accuracy(history, ax=None, *, bayes=None, target=0.95, label="test accuracy"):
    """Test accuracy per epoch with the target line and, if given, the Bayes ceiling."""
    if not isinstance(history, History):
        raise TypeError(f"history must be an nblib History, got {type(history).__name__}")
    ax = _axes(ax, (5, 4))
    epochs = np.arange(1, history.epochs + 1)
    ax.plot(epochs, history.test_acc, color="#2ecc71", lw=2, label=label)
    ax.axhline(target, color="gray", linestyle="--", label=f"{target:.0%} target")
    if bayes is not None:
        ax.axhline(bayes, color="k", linestyle=":", label=f"Bayes ceiling {bayes:.1%}")
    ax.set(title="Test accuracy vs epoch", xlabel="epoch", ylabel="accuracy")
    ax.legend(loc="lower right")
    return ax


def plot_results(result, axes=None, *, bayes=None):
    """The source chapter's three panels: loss, test accuracy, decision boundary.

    ``result`` is a ``SpiralResult``; ``axes``: three axes to draw into (by default a new
    figure, the two curves in one row and the boundary under them).  Returns the three axes.
    """
    if axes is None:
        # Two rows, so that the figure fits the book's column at full size: the curves side
        # by side, the boundary (square) below them.
        import matplotlib.pyplot as plt
        fig = plt.figure(figsize=(9.5, 8.8), layout="constrained")
        grid = fig.add_gridspec(2, 2, height_ratios=(1, 1.45))
        axes = [fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1]),
                fig.add_subplot(grid[1, :])]
        fig.suptitle("Neural net from scratch: spiral classification")
    h = result.history
    plot_loss(h, axes[0])
    plot_accuracy(h, axes[1], bayes=bayes)
    plot_decision_boundary(result.model, result.X_test, result.y_test, axes[2], colorbar=True,
                           title=f"Decision boundary (test acc {result.test_accuracy:.1%})")
    return axes


METRICS = ("train_loss", "train_acc", "test_loss", "test_acc")
_METRIC_LABELS = {"train_loss": "training loss", "train_acc": "training accuracy",
                  "test_loss": "test loss", "test_acc": "test accuracy"}


def plot_histories(histories, metric="test_loss", ax=None, *, logy=False, title=None,
                   colors=None):
    """One metric of several runs on one axes, to compare them epoch by epoch.

    Inputs
    - histories: dict {label: History}, drawn in order (at least one)
    - metric: "train_loss", "train_acc", "test_loss" or "test_acc"
    - logy: logarithmic y axis (for losses spanning decades)
    - colors: optional list of colours, one per history
    Returns (ax, lines): the Line2D of each history, in the order given.
    """
    if not isinstance(histories, dict) or not histories:
        raise TypeError("histories must be a non-empty dict {label: History}")
    for label, h in histories.items():
        if not isinstance(h, History):
            raise TypeError(f"histories[{label!r}] must be an nblib History, "
                            f"got {type(h).__name__}")
    check_choice(metric, "metric", METRICS)
    if colors is not None and len(colors) < len(histories):
        raise ValueError(f"colors must have one colour per history ({len(histories)}), "
                         f"got {len(colors)}")
    ax = _axes(ax, (6, 4))
    lines = []
    for i, (label, h) in enumerate(histories.items()):
        values = getattr(h, metric)
        kwargs = {} if colors is None else {"color": colors[i]}
        line, = ax.plot(np.arange(1, len(values) + 1), values, lw=2, label=str(label), **kwargs)
        lines.append(line)
    if logy:
        ax.set_yscale("log")
    ax.set(xlabel="epoch", ylabel=_METRIC_LABELS[metric],
           title=title if title is not None else f"{_METRIC_LABELS[metric]} vs epoch")
    ax.legend()
    return ax, lines


def plot_schedule(schedule, total_steps, ax=None, *, title=None, color="#8e44ad"):
    """The learning rate a schedule gives at each step 0 .. total_steps - 1.

    Returns (ax, line); the line's y data has shape (total_steps,).
    """
    if not isinstance(schedule, Schedule):
        raise TypeError(f"schedule must be an nblib Schedule, got {type(schedule).__name__}")
    total_steps = check_int(total_steps, "total_steps", minimum=1)
    ax = _axes(ax, (4, 3))
    steps = np.arange(total_steps)
    line, = ax.plot(steps, [schedule(int(t)) for t in steps], color=color, lw=2)
    ax.set(xlabel="step", ylabel="learning rate",
           title=title if title is not None else type(schedule).__name__)
    ax.set_ylim(bottom=0)
    return ax, line
