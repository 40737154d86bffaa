"""Teachers' tools, not part of nblib: the student and reader editions, the nbgrader course
folder and its per-task export, the your-turn cell writer (see each module's docstring)."""
