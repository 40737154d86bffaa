"""Shared test setup: single-threaded BLAS, and no figure left open between tests.

nblib multiplies small matrices, for which OpenBLAS's worker threads only add
contention: on the 2-core machine under load, a 5-epoch run of the source
recipe took 13 s with them and 0.7 s without.  The variables must be set
before NumPy is first imported, which is why they live here.
"""
import os
import sys

import pytest

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")


@pytest.fixture(autouse=True)
def close_figures():
    """Close every matplotlib figure a test opened, so none leaks into the next test."""
    yield
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")
