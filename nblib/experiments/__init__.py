"""Many runs and what they tell: parallel sweeps, intervals and fresh samples, paired
comparisons of two configs (the book's rule for "better"), the classic CMU benchmark.
Imports only nblib.core.
"""
