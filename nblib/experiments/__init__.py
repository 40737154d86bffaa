"""Many runs and what they tell: parallel sweeps, intervals and fresh samples,
the classic CMU benchmark.  Imports only nblib.core.
"""
