"""Time nbgrader's autograde of a batch of 05_exercises submissions (the isolated grading).

    python benchmarks/grading_time.py [--students 120] [--folder DIR]

Makes a course with ``teacher/course.py``, generates the assignment, hands in
``--students`` submissions (the solutions, every fifth one with a LayerNorm mistake),
runs ``nbgrader autograde 05_exercises`` once over all of them and prints the total
and the seconds per submission (from the times each autograded notebook was written),
and the load average.
"""
from __future__ import annotations

import argparse
import copy
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
MISTAKE = ("        return self._inv_std / d * (d * g - g.sum(axis=1, keepdims=True)\n"
           "                                    - x_hat * (g * x_hat).sum(axis=1, keepdims=True))",
           "        return self._inv_std / d * (d * g - g.sum(axis=1, keepdims=True))")


def nbgrader(course, *args):
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    proc = subprocess.run([str(BIN / "nbgrader"), *args], cwd=course, env=env, text=True,
                          capture_output=True)
    if proc.returncode:
        log = Path(course) / f"nbgrader-{args[0]}.log"
        log.write_text(proc.stdout + proc.stderr)
        errors = [line for line in (proc.stdout + proc.stderr).splitlines()
                  if "Traceback" in line or "Error" in line or "ERROR" in line]
        sys.exit(f"nbgrader {' '.join(args)} failed (the whole log: {log}):\n"
                 + "\n".join(errors[-40:]))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python benchmarks/grading_time.py")
    parser.add_argument("--students", type=int, default=120)
    parser.add_argument("--folder", default=None, help="where to make the course (default: a "
                                                       "temporary folder)")
    args = parser.parse_args(argv)
    if args.students < 1:
        parser.error(f"--students must be >= 1, got {args.students}")
    base = Path(args.folder or tempfile.mkdtemp(prefix="grading-time-"))
    course = base / "course"
    subprocess.run([sys.executable, str(ROOT / "teacher" / "course.py"), str(course)],
                   check=True, capture_output=True)
    nbgrader(course, "generate_assignment", "05_exercises")
    source = nbformat.read(ROOT / "book" / "05_exercises.ipynb", as_version=4)
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in source.cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    release = nbformat.read(course / "release" / "05_exercises" / "05_exercises.ipynb",
                            as_version=4)
    students = [f"s{i:03d}" for i in range(args.students)]
    for i, student in enumerate(students):
        nb = copy.deepcopy(release)
        for cell in nb.cells:
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if grade_id in answers and cell.metadata["nbgrader"].get("solution"):
                cell.source = answers[grade_id]
                if grade_id == "ex_layernorm" and i % 5 == 4:
                    cell.source = cell.source.replace(*MISTAKE)
        folder = course / "submitted" / student / "05_exercises"
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / "05_exercises.ipynb")
    load = os.getloadavg()[0]
    started = time.time()
    nbgrader(course, "autograde", "05_exercises")
    total = time.time() - started
    done = sorted((course / "autograded" / s / "05_exercises" / "05_exercises.ipynb")
                  .stat().st_mtime for s in students)
    per = np.diff([started] + done)
    print(f"{args.students} submissions autograded in {total:.0f} s ({total / 60:.1f} min): "
          f"per submission median {np.median(per):.1f} s, max {per.max():.1f} s; load average "
          f"{load:.1f} before, {os.getloadavg()[0]:.1f} after; {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
