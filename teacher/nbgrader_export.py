"""``nbgrader export`` with the points of every task, not only each assignment's total.

The course folder's ``nbgrader_config.py`` (written by ``teacher/course.py``) makes
this the exporter, so that ``nbgrader export`` writes ``grades.csv`` with one row
per student, assignment and task::

    assignment,notebook,task,student_id,points,max_points,needs_manual_grade
    05_exercises,05_exercises,test-ex_layernorm,alice,4.0,4.0,False

``task`` is the grade cell's nbgrader ``grade_id``; cells worth no points are left
out.  A student with no submission gets 0 points for each task.  The file is
rewritten on each export, but only if this exporter wrote it: any other file of
that name is left alone (``--to OTHER.csv`` chooses another name).
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

from nbgrader.api import MissingEntry
from nbgrader.plugins import ExportPlugin

COLUMNS = ["assignment", "notebook", "task", "student_id", "points", "max_points",
           "needs_manual_grade"]


class TaskCsvExporter(ExportPlugin):
    """CSV export with one row per student, assignment and graded task."""

    def export(self, gradebook):
        dest = Path(self.to or "grades.csv")
        if dest.is_symlink() or (dest.exists() and not _written_here(dest)):
            raise ValueError(f"{dest} exists and was not written by this exporter: move it "
                             "away, or export --to another file")
        students = {str(s) for s in self.student}
        assignments = {str(a) for a in self.assignment}
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        for assignment in gradebook.assignments:
            if assignments and assignment.name not in assignments:
                continue
            for student in gradebook.students:
                if students and student.id not in students:
                    continue
                for notebook in assignment.notebooks:
                    for cell in notebook.grade_cells:
                        if not cell.max_score:
                            continue
                        try:
                            grade = gradebook.find_grade(cell.name, notebook.name,
                                                         assignment.name, student.id)
                            points, manual = grade.score, grade.needs_manual_grade
                        except MissingEntry:            # nothing submitted
                            points, manual = 0.0, False
                        writer.writerow([assignment.name, notebook.name, cell.name, student.id,
                                         float(points), float(cell.max_score), manual])
        self.log.info("Exporting the points of every task to %s", dest)
        dest.write_text(out.getvalue())


def _written_here(path):
    with open(path, encoding="utf-8") as f:
        return f.readline().strip() == ",".join(COLUMNS)
