"""Set up an nbgrader course folder for the book's graded notebooks.

    python3 tasks.py book                # first: the numbers the notebooks quote
    python teacher/course.py COURSE [--course-id ID] [--task-timeout SECONDS]
                                [--exchange DIR] [--executed DIR]

Writes, under COURSE:

- ``nbgrader_config.py``: the course id; autograde by isolated hidden tests
  (``teacher/nbgrader_isolated.py``: the submitted notebook is not run, each task's
  hidden test runs in a fresh process on its answer cell, killed after
  ``--task-timeout`` seconds); the exchange folder for
  ``release_assignment``/``collect``; the per-task CSV exporter
  (``teacher/nbgrader_export.py``) for ``nbgrader export``;
- ``source/<NAME>/<NAME>.ipynb``: every notebook of ``book/`` that has autograded
  cells (the book's notebooks are the nbgrader source notebooks), one assignment each:
  ``05_exercises``, and the stage notebooks. Each is the book's notebook as students read it
  outside the book: its numbers filled in from the build, its MyST as plain Markdown, its
  bookkeeping collapsed, the student edition's words (``teacher/plain_notebooks.py``);
- ``source/<NAME>/nblib/``: the student build of nblib (``teacher/student_build.py``:
  no answers), released beside the notebook, so that the student's kernel imports it
  and its self-checks run on the stored expectations. Autograding never imports what
  sits beside a submission: the hidden tests run with the teacher's nblib.

Run it again after the book changes: it updates what it wrote, and never
overwrites or deletes anything else (your edits to nbgrader_config.py included;
see ``teacher/safe_write.py``).  Then, in COURSE::

    nbgrader generate_assignment 05_exercises     # release/: no solutions, no hidden tests
    nbgrader release_assignment 05_exercises      # to the exchange (JupyterHub), or hand
    nbgrader collect 05_exercises                 #   out release/ and zip_collect them back
    nbgrader autograde 05_exercises
    nbgrader export --assignment 05_exercises     # grades_by_task.csv: a row per student

The page "Grading with nbgrader" in the book (``book/teacher_grading.md``) says more.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):                      # run as a script: python teacher/...
    sys.path.insert(0, str(ROOT))
from teacher.safe_write import UnsafeWrite, write_files  # noqa: E402

MANIFEST = ".course-files"
KEEP_EDITED = ("nbgrader_config.py",)
"""Files the teacher may edit: once edited, a rerun keeps them as they are."""
TASK_TIMEOUT = 60
"""Default seconds one task's hidden test may take in its process (then it is killed): the
check itself stops a loop after ``nblib.teaching.selfcheck.TIME_LIMIT`` seconds with a
message the student reads in the feedback, so this limit is longer than that."""

CONFIG = '''\
# nbgrader configuration of the course; written by teacher/course.py (edit freely: the
# tool then leaves this file alone).
import sys

sys.path.insert(0, {root!r})    # the book's repository: teacher/nbgrader_export.py

c = get_config()
c.CourseDirectory.course_id = {course_id!r}
c.CourseDirectory.root = {course!r}

# Where release_assignment puts the release and students' submissions arrive
# (on a JupyterHub: a folder every user can reach, such as /srv/nbgrader/exchange).
c.Exchange.root = {exchange!r}

# `nbgrader zip_collect NAME` (submissions downloaded from a learning platform): in
# downloaded/NAME/archive/, put each student's notebook in a folder named by the student's id
# (archive/alice/NAME.ipynb), or a zip of it, one per student, named by the id
# (archive/alice.zip) or in that folder (archive/alice/NAME.zip). zip_collect unzips each zip
# into a folder named after it, under downloaded/NAME/extracted/; the student's id is the
# first folder there, whatever lies below it; hidden files and folders (.ipynb_checkpoints,
# macOS's ._ copies) are skipped. It records no submission time (this expression has no
# (?P<timestamp>...) group): for a due date, write submitted/<id>/NAME/timestamp.txt yourself
# after zip_collect (the page "Grading with nbgrader" says how).
c.FileNameCollectorPlugin.named_regexp = (
    r".*/downloaded/[^/]+/extracted/(?P<student_id>[^/.][^/]*)/(?:[^/.][^/]*/)*"
    r"(?P<file_id>[^/.][^/]*\\.ipynb)$")

# `nbgrader autograde` does not run the submitted notebook: each task's hidden test runs in
# a fresh Python process on its answer cell's source (teacher/nbgrader_isolated.py), with
# this repository's nblib, {task_timeout} seconds at most, no network; files handed in beside
# the notebook are ignored. The notebook's own code cannot change a grade.
from nbconvert.preprocessors import ClearMetadataPreprocessor  # noqa: E402
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata,  # noqa: E402
                                    IgnorePattern, LimitOutput, SaveAutoGrades)

from nbgrader.preprocessors import DeduplicateIds, OverwriteKernelspec  # noqa: E402

from teacher.nbgrader_isolated import IsolatedGrades, QuietOverwriteCells  # noqa: E402

# nbgrader's own OverwriteCells warns "checksum ... has changed" for every grade cell with
# hidden tests in every submission (the release lacks them); this one warns only about a
# locked cell the student really changed. The student's own outputs are kept (nbgrader's
# ClearOutput is left out): nothing is run again, and the experiments' numbers and plots are
# what you read when you grade the written answers by hand. They never reach a grade:
# every autograded cell's output is replaced by its verdict.
c.Autograde.sanitize_preprocessors = [DeduplicateIds, OverwriteKernelspec,
                                      QuietOverwriteCells, CheckCellMetadata]

c.Autograde.autograde_preprocessors = [IsolatedGrades, IgnorePattern, ClearMetadataPreprocessor,
                                       LimitOutput, SaveAutoGrades, AssignLatePenalties,
                                       CheckCellMetadata]
c.IsolatedGrades.time_limit = {task_timeout}

# `nbgrader export --assignment NAME` writes grades_by_task.csv: one row per student, a
# column per graded cell (rubric items and hand-graded answers too) and the totals.
# nbgrader's own exporter (--exporter=nbgrader.plugins.CsvExportPlugin) writes grades.csv.
c.ExportApp.plugin_class = "teacher.nbgrader_export.TaskCsvExporter"
'''


def graded_notebooks(book):
    """The notebooks of ``book`` that have autograded (nbgrader grade) cells."""
    found = []
    for path in sorted(Path(book).glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        if any(c.get("metadata", {}).get("nbgrader", {}).get("grade")
               and not c["metadata"]["nbgrader"].get("solution") for c in nb["cells"]):
            found.append(path)
    return found


EXECUTED = ROOT / "_build" / "executed"
"""Where ``python3 tasks.py book`` leaves the executed notebooks, whose numbers the course's
notebooks quote."""


def course_files(course, *, course_id, exchange, task_timeout=TASK_TIMEOUT,
                 book=ROOT / "book", executed=EXECUTED):
    """{relative path: bytes} of the course folder.

    Each source notebook is the book's, as plain notebooks are (``teacher/plain_notebooks.py``:
    the numbers of the build in ``executed`` filled in, MyST turned into Markdown, the
    bookkeeping collapsed) in the student edition's words, with every nbgrader cell kept: the
    release nbgrader makes of it reads in JupyterLab like the page, without solutions.
    """
    import nbformat

    from teacher.plain_notebooks import plain_book

    course = Path(course).resolve()
    notebooks = graded_notebooks(book)
    if not Path(executed).is_dir():
        raise FileNotFoundError(f"no executed notebooks in {executed}: build the book first "
                                "(python3 tasks.py book), whose numbers the course quotes")
    plain = plain_book(Path(book).parent, executed, nbgrader=True, student=True)
    config = CONFIG.format(root=str(ROOT), course_id=course_id, course=str(course),
                           task_timeout=int(task_timeout),
                           exchange=str(Path(exchange).resolve()))
    files = {"nbgrader_config.py": config.encode()}
    if notebooks:
        from teacher.student_build import student_library
        library = student_library()
    for path in notebooks:
        files[f"source/{path.stem}/{path.name}"] = nbformat.writes(
            plain[f"book/{path.name}"]).encode()
    for path in notebooks:     # the student build of nblib beside each released notebook
        files.update({f"source/{path.stem}/{rel}": data for rel, data in library.items()
                      if rel.startswith("nblib/")})
    return files


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python teacher/course.py",
                                     description="Set up an nbgrader course folder for the "
                                                 "book's graded notebooks.")
    parser.add_argument("course", help="the course folder (empty, or written by this tool)")
    parser.add_argument("--course-id", default="spirals",
                        help="nbgrader's course id (default: spirals)")
    parser.add_argument("--task-timeout", type=int, default=TASK_TIMEOUT,
                        help="seconds one task's hidden test may run in its process "
                             f"(default {TASK_TIMEOUT})")
    parser.add_argument("--exchange", default=None,
                        help="the exchange folder (default: COURSE/exchange)")
    parser.add_argument("--executed", default=str(EXECUTED),
                        help="the book build's executed notebooks, whose numbers the notebooks "
                             "quote (default: _build/executed, from python3 tasks.py book)")
    args = parser.parse_args(argv)
    if args.task_timeout < 1:
        parser.error(f"--task-timeout must be >= 1, got {args.task_timeout}")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", args.course_id):
        parser.error(f"--course-id must be letters, digits, '_', '.' or '-', got "
                     f"{args.course_id!r}")
    exchange = args.exchange or str(Path(args.course) / "exchange")
    try:
        files = course_files(args.course, course_id=args.course_id,
                             task_timeout=args.task_timeout, exchange=exchange,
                             executed=Path(args.executed))
    except (ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        _, kept = write_files(Path(args.course), files, MANIFEST, "teacher/course.py",
                              keep_edited=KEEP_EDITED)
    except UnsafeWrite as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for rel in kept:
        print(f"kept your edited {Path(args.course) / rel} (not updated: to see what this tool "
              "writes now, run it on an empty folder)")
    assignments = sorted({Path(rel).parts[1] for rel in files if rel.startswith("source/")})
    print(f"course folder {args.course}: assignments {', '.join(assignments)}")
    print(f"next:  cd {args.course} && nbgrader generate_assignment {assignments[-1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
