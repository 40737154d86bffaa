"""What the hidden neurons respond to: each unit's activation drawn over the input square.

Every hidden unit is a function of the two inputs ``(x1, x2)``, so it can be
drawn as a small picture, as the TensorFlow Playground does: evaluate the
network on a grid covering the data and keep the output of each hidden ReLU.
The first layer can only draw ramps (zero on one side of a straight line,
rising linearly on the other); each later layer combines the pictures of the
layer below into more complicated shapes.
"""
from __future__ import annotations

import numpy as np

from ..core.validate import check_array, check_float, check_int, check_labels
from ..core.activations import ReLU
from ..core.module import Sequential, evaluation_mode
from ..core.training import _model_dtype


def _check_sequential(model):
    if not isinstance(model, Sequential):
        raise TypeError(f"model must be an nblib Sequential, got {type(model).__name__}")
    if not any(isinstance(layer, ReLU) for layer in model.layers):
        raise ValueError("model must contain at least one ReLU (a hidden layer)")


def hidden_activations(model, X):
    """The output of every hidden ReLU of ``model`` for inputs ``X``, in evaluation mode.

    Inputs
    - model: an nblib ``Sequential`` with ReLU layers (as ``build_model`` makes)
    - X: inputs, of shape (N, D), N >= 1
    Returns
    - a list of L arrays, one per ReLU in order, the l-th of shape (N, H_l)

    Every layer's training/evaluation mode is restored afterwards.
    """
    _check_sequential(model)
    X = check_array(X, "X", ndim=2)
    if len(X) < 1:
        raise ValueError("X must contain at least one row")
    x = X.astype(_model_dtype(model), copy=False)
    out = []
    with evaluation_mode(model):
        for layer in model.layers:
            x = layer.forward(x)
            if isinstance(layer, ReLU):
                out.append(np.array(x, dtype=np.float64))
    return out


def unit_maps(model, *, resolution=40, extent=1.2):
    """Every hidden unit's activation on a square grid over [-extent, extent]^2.

    Returns (xs, maps)
    - xs: grid coordinates along each axis, shape (R,), R = resolution
    - maps: a list of L arrays, the l-th of shape (H_l, R, R);
      ``maps[l][j, r, c]`` is unit j of hidden layer l at the point (xs[c], xs[r])
    """
    resolution = check_int(resolution, "resolution", minimum=2)
    extent = check_float(extent, "extent", minimum=0.0, min_inclusive=False)
    xs = np.linspace(-extent, extent, resolution)
    xx, yy = np.meshgrid(xs, xs)
    acts = hidden_activations(model, np.c_[xx.ravel(), yy.ravel()])
    maps = [a.T.reshape(a.shape[1], resolution, resolution) for a in acts]
    return xs, maps


def _check_maps(maps, name="maps"):
    if not isinstance(maps, (list, tuple)) or not maps:
        raise TypeError(f"{name} must be a non-empty list of arrays of shape (H, R, R)")
    out = []
    for i, m in enumerate(maps):
        m = check_array(m, f"{name}[{i}]", ndim=3)
        if m.shape[1] != m.shape[2] or m.shape[1:] != np.shape(maps[0])[1:]:
            raise ValueError(f"{name}[{i}] must have shape (H, R, R) with the same R for "
                             f"every layer, got {m.shape}")
        out.append(m)
    return out


def most_variable_units(values, k):
    """The ``k`` units whose values vary most, largest spread first.

    Inputs
    - values: one layer's values with the unit first, of shape (H, ...): its
      maps (H, R, R), or its activations on the data transposed, (H, N)
    - k: how many units (at most H are returned)
    Returns an int array of shape (min(k, H),); constant (dead) units come last.
    """
    values = check_array(values, "values", ndim=(2, 3))
    k = check_int(k, "k", minimum=1)
    spread = values.reshape(len(values), -1).std(axis=1)
    return np.argsort(-spread, kind="stable")[:k]


def label_correlation(activations, y):
    """How strongly each unit's output follows the label: |Pearson correlation|.

    Inputs
    - activations: one layer's outputs, of shape (N, H), as ``hidden_activations`` gives
    - y: labels in {0, 1}, of shape (N,), not all equal
    Returns an array of shape (H,) with values in [0, 1]; a unit whose output
    is constant over the N points (a dead unit) gets 0.
    """
    activations = check_array(activations, "activations", ndim=2)
    y = check_labels(y, "y", len(activations))
    if np.all(y == y[0]):
        raise ValueError("y must contain both labels to measure a correlation")
    a = activations - activations.mean(axis=0)
    t = y - y.mean()
    norm = np.sqrt(np.einsum("nh,nh->h", a, a) * np.dot(t, t))
    num = np.abs(a.T @ t)
    out = np.zeros(activations.shape[1])
    np.divide(num, norm, out=out, where=norm > 0)
    return np.minimum(out, 1.0)


def dead_units(model, X):
    """Units that output exactly 0 for every row of ``X``, in evaluation mode.

    Such a unit passes no gradient for these inputs if it is also 0 in training mode
    (with BatchNorm, training uses each mini-batch's statistics; this does not check it).
    Returns a list of L bool arrays, the l-th of shape (H_l,).
    """
    return [np.all(a == 0, axis=0) for a in hidden_activations(model, X)]


def plot_unit_maps(maps, axes=None, *, units=None, k=8, extent=1.2, vmax=None, boundary=None,
                   cmap="magma"):
    """A grid of small heatmaps: row l shows some units of hidden layer l.

    Each heatmap is scaled to its own unit's range: black is 0 (the unit is
    off), bright is the unit's ``vmax`` or more.

    Inputs
    - maps: the list of L arrays (H_l, R, R) that ``unit_maps`` returns
    - axes: an array of L x K axes to draw in, or None for a new figure
    - units: a list of L index sequences of equal length K, the units to show;
      None shows the ``k`` most variable units of each layer
    - extent: the square the maps cover, [-extent, extent]^2
    - vmax: optional list of L arrays (H_l,), the activation shown brightest
      for each unit (for instance its largest value on the data: the ReLU
      ramps keep growing towards the corners, where there is no data); None
      uses each map's own maximum
    - boundary: optional P(class 1) on the same grid, shape (R, R), whose 0.5
      contour is drawn on every map in white
    Returns (axes, images): both arrays of shape (L, K); images holds the
    ``AxesImage`` of each panel.
    """
    maps = _check_maps(maps)
    extent = check_float(extent, "extent", minimum=0.0, min_inclusive=False)
    if units is None:
        k = check_int(k, "k", minimum=1)
        units = [most_variable_units(m, k) for m in maps]
    if not isinstance(units, (list, tuple)) or len(units) != len(maps):
        raise ValueError(f"units must be a list of {len(maps)} index sequences, one per layer")
    units = [np.asarray(u, dtype=int).reshape(-1) for u in units]
    n_cols = len(units[0])
    for i, (u, m) in enumerate(zip(units, maps)):
        if len(u) != n_cols or n_cols == 0:
            raise ValueError(f"units[{i}] must have the same non-zero length as units[0] "
                             f"({n_cols}), got {len(u)}")
        if u.min() < -len(m) or u.max() >= len(m):
            raise ValueError(f"units[{i}] must index the {len(m)} units of layer {i + 1}")
    if vmax is None:
        vmax = [m.reshape(len(m), -1).max(axis=1) for m in maps]
    if not isinstance(vmax, (list, tuple)) or len(vmax) != len(maps):
        raise ValueError(f"vmax must be a list of {len(maps)} arrays, one per layer")
    vmax = [check_array(v, f"vmax[{i}]", shape=(len(m),)) for i, (v, m) in
            enumerate(zip(vmax, maps))]
    res = maps[0].shape[1]
    if boundary is not None:
        boundary = check_array(boundary, "boundary", shape=(res, res))
    if axes is None:
        import matplotlib.pyplot as plt
        _, axes = plt.subplots(len(maps), n_cols, figsize=(1.2 * n_cols, 1.35 * len(maps)),
                               squeeze=False, constrained_layout=True)
    axes = np.asarray(axes, dtype=object)
    if axes.size != len(maps) * n_cols:
        raise ValueError(f"axes must hold {len(maps)} x {n_cols} axes, one per panel, "
                         f"got {axes.size}")
    axes = axes.reshape(len(maps), n_cols)
    xs = np.linspace(-extent, extent, res)
    images = np.empty(axes.shape, dtype=object)
    for row, (u, m) in enumerate(zip(units, maps)):
        for col, j in enumerate(u):
            ax = axes[row, col]
            top = float(vmax[row][j])
            images[row, col] = ax.imshow(m[j], origin="lower", extent=(-extent, extent,
                                         -extent, extent), cmap=cmap, vmin=0.0,
                                         vmax=top if top > 0 else 1.0, interpolation="bilinear")
            if boundary is not None and boundary.min() < 0.5 < boundary.max():
                ax.contour(xs, xs, boundary, levels=[0.5], colors="white", linewidths=0.6,
                           alpha=0.7)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"unit {int(j) % len(m)}", fontsize="small", pad=2)
        axes[row, 0].set_ylabel(f"layer {row + 1}")
    return axes, images
