"""Teachers' tools, not part of nblib: the student and reader editions (student_edition.py), the
nbgrader course folder (course.py) and its per-task CSV export (nbgrader_export.py)."""
