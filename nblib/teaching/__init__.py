"""The tasks and exercises: self-checks, the exercises' checks and nbgrader's hidden
tests.  Imports only nblib.core.
"""

STUDENT_BUILD = False
"""True in the student build of nblib (``teacher/student_build.py``), whose answers are stubs:
``yourturn.collect_pieces`` then has no piece of nblib's to stand in for a missing one."""
