"""Write the student build of nblib: the library without the answers.

    python teacher/student_build.py OUTDIR             # OUTDIR/nblib and a pyproject.toml
    python teacher/student_build.py --package NBLIB    # the package alone, into NBLIB

The tasks' answers are nblib's own code (``nblib.teaching.registry``), so the library
students install must not be nblib as it is. The student build is a copy of
``nblib/`` in which

- every answer is a stub: the body of each function, and of each method the student
  writes, of every task (``Task.solution``) and of every exercise's reference (the
  methods its class defines of ``forward``, ``backward``, ``step``, ``lr_at``) becomes
  ``raise NotImplementedError("... task 'linear', 02_network.ipynb ...")``, naming the
  task and the page where the student writes it; signatures and docstrings stay;
- ``teaching/mistakes.py`` keeps each usual mistake's words (title, words, says) but
  not its wrong piece (a near-solution): ``build`` is None;
- the teacher-only modules are left out: ``teaching/isolated.py`` (the autograder's
  sandbox) and ``teaching/grading.py`` (the hidden tests), which becomes a stub that
  runs the visible self-check and says that the teacher grades;
- ``teaching/expectations.json`` is there: the visible self-checks read the
  reference's values and the mistakes' from it (``nblib.teaching.expectations``).

Everything else is nblib as it is. The self-checks work with it (``tests/
test_student_build.py`` runs each one against the student build in a fresh process,
with the reference absent); pages that train with nblib's pieces need the student's
(``nblib.teaching.yourturn.collect_pieces``).

The tool writes through ``teacher/safe_write.py``: it never deletes a file or
overwrites one it did not write (its list is ``OUTDIR/.student-build``).
"""
from __future__ import annotations

import argparse
import ast
import importlib
import sys
from pathlib import Path

if __package__ in (None, ""):                      # run as a script: python teacher/...
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from teacher.safe_write import write_files  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ".student-build"
LEFT_OUT = ("nblib/teaching/isolated.py",)
"""Teacher-only modules that are not in the student build."""
EXERCISE_METHODS = ("forward", "backward", "step", "lr_at")
"""The methods of an exercise's reference class that are its answer."""


def answers():
    """[(task id, notebook, module name, qualified name, methods or None)]: every answer in
    nblib, a function (methods None) or the methods of a class."""
    from nblib.teaching import registry

    out = []
    for task_id, task in registry.YOUR_TURN.items():
        for dotted, methods in task.solution:
            module, _, name = dotted.rpartition(".")
            out.append((task_id, task.notebook, module, name, methods))
    for task_id, task in registry.EXERCISES.items():
        ref = task.reference
        if ref is None:
            continue
        methods = None
        if isinstance(ref, type):
            methods = tuple(m for m in EXERCISE_METHODS if m in vars(ref))
        out.append((task_id, task.notebook, ref.__module__, ref.__qualname__, methods))
    return out


def _stub_line(task_id, notebook, what, indent):
    message = (f"{what} is yours to write: task {task_id!r} in {notebook} (this is the "
               "student build of nblib, which holds no answers)")
    return f"{indent}raise NotImplementedError({message!r})\n"


def stub_source(source, targets):
    """``source`` (a module's text) with the bodies of ``targets`` replaced by stubs.

    ``targets``: [(task id, notebook, qualified name, methods or None)]. A function's
    body (after its docstring) becomes one ``raise NotImplementedError``.
    """
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    spans = []                                   # (first line, last line, stub), 1-based

    def function_span(node, task_id, notebook, what):
        body = node.body
        start = body[1].lineno if (len(body) > 1 and isinstance(body[0], ast.Expr) and
                                   isinstance(getattr(body[0], "value", None), ast.Constant)
                                   and isinstance(body[0].value.value, str)) else body[0].lineno
        if start == body[0].lineno and len(body) == 1 and isinstance(body[0], ast.Expr):
            start = body[0].end_lineno + 1            # a docstring only: nothing to replace
        first = lines[body[0].lineno - 1]
        indent = first[:len(first) - len(first.lstrip())]
        start = min(start, node.end_lineno)
        if all(start != s for s, _, _ in spans):      # a piece of two tasks: the first names it
            spans.append((start, node.end_lineno, _stub_line(task_id, notebook, what, indent)))

    top = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    for task_id, notebook, name, methods in targets:
        node = top.get(name)
        if node is None:
            raise ValueError(f"{name} is not defined at the top of its module")
        if methods is None:
            function_span(node, task_id, notebook, f"{name}()")
            continue
        defs = {n.name: n for n in node.body if isinstance(n, ast.FunctionDef)}
        for method in methods:
            if method not in defs:
                raise ValueError(f"{name}.{method} is not defined in {name}")
            function_span(defs[method], task_id, notebook, f"{name}.{method}")
    for start, end, stub in sorted(spans, reverse=True):
        lines[start - 1:end] = [stub]
    out = "".join(lines)
    ast.parse(out)                                      # still Python
    return out


def _mistakes_source():
    """teaching/mistakes.py without the wrong pieces: each list of the catalogue, its
    entries' words only."""
    from nblib.teaching import mistakes

    text = ['"""The usual mistakes of every task: their words only (the student build of nblib).',
            "",
            "The teacher's nblib holds each mistake's wrong piece too (``Mistake.build``); they",
            'are near-solutions, so the student build leaves them out."""',
            "from dataclasses import dataclass", "", "",
            "@dataclass(frozen=True)", "class Mistake:", "    title: str", "    build: object",
            "    words: str", '    says: str = ""', "", ""]
    for name, value in vars(mistakes).items():
        if isinstance(value, list) and value and all(isinstance(m, mistakes.Mistake)
                                                     for m in value):
            text.append(f"{name} = [")
            text += [f"    Mistake({m.title!r}, None, {m.words!r}, {m.says!r})," for m in value]
            text += ["]", ""]
    return "\n".join(text) + "\n"


_GRADING_STUB = '''"""Grading is the teacher's: this student build of nblib has no hidden tests.

``grade(task_id, answer)`` runs the task's visible self-check, and says that the
points come from the teacher's autograder, which runs hidden tests on other inputs.
"""


def grade(task_id, answer, *, seed=None, time_limit=None, part=None):
    """Run the visible self-check of ``task_id`` on ``answer``; the teacher grades."""
    from .registry import ALL

    if task_id not in ALL:
        raise ValueError(f"task_id must be one of {sorted(ALL)}, got {task_id!r}")
    result = ALL[task_id].check(answer, verbose=False)
    print(f"{task_id}: {'PASS' if result.passed else 'FAIL'} on the visible self-check; "
          "the points come from your teacher's autograder (hidden tests)")
    return result
'''


PYPROJECT = """\
# The student build of nblib (written by teacher/student_build.py): pip install .
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "nblib"
version = "0.1.0+student"
description = "nblib without the answers: the pieces you write in the book raise NotImplementedError"
requires-python = ">=3.11"
dependencies = ["numpy", "matplotlib"]

[project.optional-dependencies]
progress = ["tqdm"]
widgets = ["ipywidgets", "ipython"]

[tool.setuptools.packages.find]
include = ["nblib", "nblib.*"]

[tool.setuptools.package-data]
"nblib.teaching" = ["expectations.json"]
"""


def student_library(source=ROOT, *, prefix=""):
    """{relative path: bytes} of the student build of ``source``/nblib (under ``prefix``),
    with a pyproject.toml that installs it (``pip install .``)."""
    source = Path(source)
    by_file = {}
    for task_id, notebook, module, name, methods in answers():
        path = Path(importlib.import_module(module).__file__).resolve()
        rel = path.relative_to(ROOT).as_posix()
        by_file.setdefault(rel, []).append((task_id, notebook, name, methods))
    files = {}
    for path in sorted((source / "nblib").rglob("*")):
        rel = path.relative_to(source).as_posix()
        if path.is_dir() or "__pycache__" in path.parts or rel in LEFT_OUT:
            continue
        if path.suffix not in (".py", ".json", ".typed"):
            continue
        if rel == "nblib/teaching/__init__.py":
            text = path.read_text(encoding="utf-8")
            if "STUDENT_BUILD = False" not in text:
                raise ValueError("nblib/teaching/__init__.py must set STUDENT_BUILD = False")
            files[rel] = text.replace("STUDENT_BUILD = False", "STUDENT_BUILD = True").encode()
        elif rel == "nblib/teaching/mistakes.py":
            files[rel] = _mistakes_source().encode()
        elif rel == "nblib/teaching/grading.py":
            files[rel] = _GRADING_STUB.encode()
        elif rel in by_file:
            files[rel] = stub_source(path.read_text(encoding="utf-8"), by_file[rel]).encode()
        else:
            files[rel] = path.read_bytes()
    files["pyproject.toml"] = PYPROJECT.encode()
    return {prefix + rel: data for rel, data in files.items()}


def write_student_library(outdir, source=ROOT, *, package=False):
    """Write the student build of nblib into ``outdir``/nblib (with a pyproject.toml that
    installs it), or, with ``package``, the package alone into ``outdir``, which is then the
    nblib folder itself (beside a student's notebooks, whose kernels import it from there).
    Returns the paths written."""
    files = student_library(source)
    if package:
        files = {rel.removeprefix("nblib/"): data for rel, data in files.items()
                 if rel.startswith("nblib/")}
    write_files(Path(outdir), files, MANIFEST, "teacher/student_build.py")
    return [Path(outdir) / rel for rel in files]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("outdir", help="where to write nblib/ (the student edition's folder)")
    parser.add_argument("--package", action="store_true",
                        help="OUTDIR is the nblib folder itself (e.g. beside the notebooks)")
    args = parser.parse_args(argv)
    written = write_student_library(args.outdir, package=args.package)
    where = args.outdir if args.package else f"{args.outdir}/nblib"
    print(f"wrote the student build of nblib: {len(written)} files in {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
