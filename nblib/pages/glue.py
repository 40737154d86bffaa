"""``glue``: hand a value computed on a page to the page's prose.

In the book build, myst-nb's ``glue`` stores the value in the notebook, and a
``{glue:text}`` role in the prose shows it. Everywhere else (Colab, a downloaded
notebook, JupyterLab without myst-nb) the prose of the notebook the reader opened
already holds the numbers, filled in from the build (``teacher/plain_notebooks.py``),
and ``glue`` does nothing: the page's bookkeeping cells still run, asserts and all.
"""
from __future__ import annotations

try:
    from myst_nb import glue as _myst_nb_glue
except ImportError:                      # Colab, a plain Jupyter: nothing to glue into
    _myst_nb_glue = None


def glue(name: str, value, display: bool = True) -> None:
    """myst-nb's ``glue(name, value, display)`` where myst-nb is installed, else nothing."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty str, got {name!r}")
    if _myst_nb_glue is not None:
        _myst_nb_glue(name, value, display=display)


def building() -> bool:
    """True where the values glued here reach the prose (myst-nb is installed)."""
    return _myst_nb_glue is not None


class WallClock(float):
    """A number measured on the wall clock (seconds, a speed-up): glued like any float, but
    its text says so, ``9.8  # wall clock``, which the prose's ``{glue:text}`` reads as 9.8
    (a comment) and a re-run's comparison (tests/test_nbval.py) knows to differ run to run."""

    def __repr__(self) -> str:
        return f"{float(self)!r}  # wall clock"


def wall_clock(value) -> WallClock:
    """``value`` (seconds, or a ratio of times) marked as measured on the wall clock."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"value must be a number of seconds (or a ratio of times), got "
                        f"{type(value).__name__}")
    return WallClock(value)
