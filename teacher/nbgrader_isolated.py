"""``nbgrader autograde`` that grades each task in a fresh process, not in the student's kernel.

The course folder's ``nbgrader_config.py`` (written by ``teacher/course.py``) puts
``IsolatedGrades`` in place of nbgrader's ``Execute`` among the autograde
preprocessors.  The submitted notebook is therefore never run: for every grade
cell ``test-<task id>`` the preprocessor takes the answer cell ``<task id>`` of the
submitted notebook (its source only), the import statements of the code cells
before it, and runs the task's hidden test on them with
``nblib.teaching.isolated.grade_source`` (a fresh ``python -I`` in an empty
folder, the teacher's nblib, a time limit, no network).  The grade cell's output
becomes the verdict: a ``GradingError`` output (nbgrader gives the cell 0 points)
that says why, or the PASS line (full points).

So nothing in the notebook can change a grade: not a file handed in beside it, not
an IPython input transformer, not a patched nblib, not the grader's own frames.
The other cells keep what the student's own run printed (the course's config leaves
nbgrader's ClearOutput out): the experiments' numbers and plots, for the teacher who
grades the written answers by hand; they never change a grade.  Manually graded cells
(written answers, ``nblib.teaching.registry.WRITTEN``) are left as they are, for the
formgrader.
"""
from __future__ import annotations

import ast
import os
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from nbformat.v4 import new_output
from nbgrader.preprocessors import NbGraderPreprocessor, OverwriteCells
from traitlets import Float, Integer

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from nblib.teaching.isolated import TIME_LIMIT, grade_source  # noqa: E402
from nblib.teaching.registry import grade_cell  # noqa: E402


def imports_of(cells):
    """The top-level import statements of ``cells`` (code cells), one per line."""
    lines = []
    for cell in cells:
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        lines += [ast.unparse(node) for node in tree.body
                  if isinstance(node, (ast.Import, ast.ImportFrom))]
    return "\n".join(dict.fromkeys(lines))


def task_cells(nb):
    """[(grade cell, task id, rubric item or None, answer cell, cells before the answer)] of
    a notebook's graded tasks (grade cells test-<task id>[--<part>])."""
    by_id, order = {}, {}
    for i, cell in enumerate(nb.cells):
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id:
            by_id[grade_id], order[grade_id] = cell, i
    out = []
    for grade_id, cell in by_id.items():
        meta = cell.metadata["nbgrader"]
        if not (grade_id.startswith("test-") and meta.get("grade") and not meta.get("solution")):
            continue
        try:
            task_id, part = grade_cell(grade_id)
        except ValueError:
            continue                      # not one of the registry's tasks: nbgrader's way
        answer = by_id.get(task_id)
        before = [c for c in nb.cells[:order[task_id]] if c.cell_type == "code"] if answer \
            else []
        out.append((cell, task_id, part, answer, before))
    return out


class IsolatedGrades(NbGraderPreprocessor):
    """Replace each grade cell's output by its task's hidden test, run in a fresh process."""

    time_limit = Float(TIME_LIMIT, help="Seconds one task's hidden test may take in its "
                                        "process; then it is killed.").tag(config=True)
    workers = Integer(0, help="Tasks graded at the same time, each in its own process (0: "
                              "one per CPU core)").tag(config=True)
    seed = Integer(-1, help="The hidden inputs' seed (-1: a new one for each task, "
                            "printed in the verdict)").tag(config=True)

    def _verdict(self, task_id, part, answer, prelude):
        if answer is None:
            return False, f"{task_id}: the notebook has no answer cell {task_id!r}"
        verdict = grade_source(task_id, answer.source, prelude=prelude, part=part,
                               seed=None if self.seed < 0 else self.seed,
                               time_limit=self.time_limit)
        self.log.info("%s: %s (%.1f s)", task_id, "PASS" if verdict.passed else "FAIL",
                      verdict.seconds)
        return verdict.passed, verdict.message

    def preprocess(self, nb, resources):
        tasks = task_cells(nb)
        # the preludes are parsed here, in one thread: CPython 3.11's ast.parse is not safe in
        # several threads at once ("AST constructor recursion depth mismatch")
        jobs = [(task_id, part, answer, imports_of(before))
                for _, task_id, part, answer, before in tasks]
        workers = self.workers if self.workers > 0 else (os.cpu_count() or 1)
        with ThreadPoolExecutor(max_workers=workers) as pool:     # each task: its own process
            verdicts = list(pool.map(lambda job: self._verdict(*job), jobs))
        for (cell, *_), (passed, message) in zip(tasks, verdicts):
            cell.execution_count = None
            if passed:
                cell.outputs = [new_output("stream", name="stdout", text=message + "\n")]
            else:
                cell.outputs = [new_output("error", ename="GradingError", evalue=message,
                                           traceback=[f"GradingError: {message}"])]
        return nb, resources


HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?^[ \t]*### END HIDDEN TESTS[ \t]*\n?",
                    re.MULTILINE | re.DOTALL)


def without_hidden_tests(source):
    """A grade cell's source as ``generate_assignment`` releases it (hidden tests removed)."""
    return HIDDEN.sub("", source).strip()


class QuietOverwriteCells(OverwriteCells):
    """nbgrader's OverwriteCells without its false alarm on grade cells with hidden tests.

    A released grade cell lacks its hidden tests, so nbgrader finds its checksum changed
    in every submission and logs a warning (nbgrader's known issue).  Here a locked cell
    whose source is the released one gets the source cell's source back before the
    check: only a cell the student really changed is reported.
    """

    def preprocess_cell(self, cell, resources, cell_index):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id and cell.metadata.nbgrader.get("locked"):
            try:
                source_cell = self.gradebook.find_source_cell(grade_id, self.notebook_id,
                                                              self.assignment_id)
            except Exception:  # noqa: BLE001 - nbgrader itself reports a missing cell
                source_cell = None
            if source_cell is not None and source_cell.source != cell.source and \
                    without_hidden_tests(source_cell.source) == cell.source.strip():
                cell.source = source_cell.source
        return super().preprocess_cell(cell, resources, cell_index)
