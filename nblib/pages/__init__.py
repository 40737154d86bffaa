"""Book tooling: nblib's source shown on a page, reading times.  Imports nothing of
nblib's network code.
"""
