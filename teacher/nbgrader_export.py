"""``nbgrader export`` with the points of every task and rubric item, one row per student.

The course folder's ``nbgrader_config.py`` (written by ``teacher/course.py``) makes
this the exporter, so that ``nbgrader export --assignment 05_exercises`` writes
``grades_by_task.csv``: a row ``(max)`` with the points each column is worth, then
one row per student::

    student_id,05_exercises:test-ex_layernorm--forward,...,05_exercises:total,total,max_points,needs_manual_grade
    (max),2.0,...,14.0,14.0,14.0,0
    alice,2.0,...,12.0,12.0,14.0,0

- a column per grade cell worth points, autograded or graded by hand in the formgrader
  (written answers: their points count once a teacher has graded them;
  ``needs_manual_grade`` counts the cells still waiting), then the assignment's total;
- ``--assignment NAME`` (repeatable) exports those assignments; without it, every
  assignment that has a submission; ``--student ID`` keeps those students;
- a student with no submission gets 0 points.

The file is never one nbgrader's own exporter writes (``grades.csv``), and it is
rewritten only if this exporter wrote it: any other file of that name is left
alone (``--to OTHER.csv`` chooses another name).
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

from nbgrader.api import MissingEntry
from nbgrader.plugins import ExportPlugin

DEFAULT = "grades_by_task.csv"
TAIL = ["total", "max_points", "needs_manual_grade"]


class TaskCsvExporter(ExportPlugin):
    """CSV export with one row per student and a column per graded cell of each assignment."""

    def export(self, gradebook):
        dest = Path(self.to or DEFAULT)
        if dest.is_symlink() or (dest.exists() and not _written_here(dest)):
            raise ValueError(f"{dest} exists and was not written by this exporter: move it "
                             "away, or export --to another file")
        wanted = {str(a) for a in self.assignment}
        students = {str(s) for s in self.student}
        assignments = [a for a in gradebook.assignments
                       if ((a.name in wanted) if wanted else a.submissions)]
        if wanted - {a.name for a in assignments}:
            raise ValueError(f"no assignment {sorted(wanted - {a.name for a in assignments})} "
                             "in the gradebook")
        columns, maxima = [], []
        for assignment in assignments:
            cells = [(nb.name, cell.name, float(cell.max_score))
                     for nb in assignment.notebooks for cell in nb.grade_cells if cell.max_score]
            columns += [(assignment.name, nb, name) for nb, name, _ in cells] + \
                [(assignment.name, None, "total")]
            maxima += [m for _, _, m in cells] + [sum(m for _, _, m in cells)]
        header = ["student_id"] + [f"{a}:{name}" for a, _, name in columns] + TAIL
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        max_total = sum(m for (a, nb, name), m in zip(columns, maxima) if name == "total")
        writer.writerow(["(max)"] + maxima + [max_total, max_total, 0])
        for student in gradebook.students:
            if students and student.id not in students:
                continue
            row, total, waiting, subtotal = [], 0.0, 0, 0.0
            for assignment, notebook, name in columns:
                if name == "total" and notebook is None:
                    row.append(subtotal)
                    total += subtotal
                    subtotal = 0.0
                    continue
                try:
                    grade = gradebook.find_grade(name, notebook, assignment, student.id)
                    points = float(grade.score or 0.0)
                    waiting += bool(grade.needs_manual_grade)
                except MissingEntry:                      # nothing submitted
                    points = 0.0
                row.append(points)
                subtotal += points
            writer.writerow([student.id] + row + [total, max_total, waiting])
        self.log.info("Exporting the points of every graded cell to %s", dest)
        dest.write_text(out.getvalue())


def _written_here(path):
    with open(path, encoding="utf-8") as f:
        first = f.readline().strip().split(",")
    return first[:1] == ["student_id"] and first[-3:] == TAIL
