"""Shared test setup: single-threaded BLAS.

nblib multiplies small matrices, for which OpenBLAS's worker threads only add
contention: on the 2-core machine under load, a 5-epoch run of the source
recipe took 13 s with them and 0.7 s without.  The variables must be set
before NumPy is first imported, which is why they live here.
"""
import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
