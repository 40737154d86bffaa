"""The tasks and exercises: self-checks, the exercises' checks and nbgrader's hidden
tests.  Imports only nblib.core.
"""
