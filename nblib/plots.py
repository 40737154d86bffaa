"""The chapter's figures.  Each takes ``ax=None``, draws, and returns what it drew.

None of them changes matplotlib's global state (rcParams, the current figure
beyond creating one when no axes are given).
"""
from __future__ import annotations

import numpy as np

from ._checks import check_array, check_int, check_labels
from .module import Module
from .training import History, predict_proba

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
    """P(class 1) on a square grid: (xx, yy, prob), each of shape (resolution, resolution)."""
    if not isinstance(model, Module):
        raise TypeError(f"model must be an nblib Module, got {type(model).__name__}")
    resolution = check_int(resolution, "resolution", minimum=2)
    xs = np.linspace(-extent, extent, resolution)
    xx, yy = np.meshgrid(xs, xs)
    prob = predict_proba(model, np.c_[xx.ravel(), yy.ravel()]).reshape(xx.shape)
    return xx, yy, prob


def plot_decision_boundary(model, X=None, y=None, ax=None, *, resolution=200, extent=1.2,
                           colorbar=False, title="Decision boundary"):
    """P(class 1) as a colour map, its 0.5 contour in black, and optional points on top.

    Returns (ax, contour_set).
    """
    ax = _axes(ax)
    xx, yy, prob = decision_grid(model, extent, resolution)
    cf = ax.contourf(xx, yy, prob, levels=np.linspace(0, 1, 21), cmap="RdBu_r", alpha=0.85)
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

    ``result`` is a ``SpiralResult``.  Returns the three axes.
    """
    if axes is None:
        import matplotlib.pyplot as plt
        fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
        fig.suptitle("Neural net from scratch: spiral classification")
    h = result.history
    plot_loss(h, axes[0])
    plot_accuracy(h, axes[1], bayes=bayes)
    plot_decision_boundary(result.model, result.X_test, result.y_test, axes[2], colorbar=True,
                           title=f"Decision boundary (test acc {result.test_accuracy:.1%})")
    return axes
