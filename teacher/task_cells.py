"""Write the task cells of the notebooks from the registry and nblib's own source.

    python teacher/task_cells.py          # check: exit 1 and list the cells that differ
    python teacher/task_cells.py --write  # rewrite those cells in book/*.ipynb

Every task is an entry of ``nblib.teaching.registry``. For a "your turn" task the solution
is nblib's real code, so there is one copy of it: this tool copies it into the
task's solution cell, with each method body that the student writes between
nbgrader's ``### BEGIN SOLUTION`` / ``### END SOLUTION`` markers (nbgrader turns the
rest, signatures and docstrings, into the starter). For every task, your-turn or
exercise, it writes the self-check cell and the grade cell (its source and its
points). The tests run the checks, so a change to nblib that is not copied into the
book fails them.

A solution cell starts with the imports its code needs (every global name it uses),
all from public modules: a name defined in a private module (``nblib.core.validate``) is
imported from the public module whose code uses it, and a private helper
(``_nesterov``) is written into the cell itself, so that no student's cell imports
anything private. Only cells whose nbgrader ``grade_id`` names a task, and
self-check cells whose metadata names a task, are touched.
"""
from __future__ import annotations

import argparse
import ast
import inspect
import json
import sys
import textwrap
from pathlib import Path

from nblib.teaching.registry import (ALL, EXERCISES, WRITTEN, YOUR_TURN, grade_cell,
                                     grade_cells)

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"

# task id -> the objects its cell defines, each with the methods whose bodies the
# student writes (None: the body of the function itself): the registry's ``solution``.
TASK_OBJECTS = {task_id: list(task.solution) for task_id, task in YOUR_TURN.items()}

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"


def _resolve(dotted):
    module, _, name = dotted.rpartition(".")
    return getattr(__import__(module, fromlist=[name]), name)


def _body_span(node):
    """(first, last) 1-based lines of a function's body after its docstring."""
    body = node.body
    if (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)):
        first = body[0].end_lineno + 1
    else:
        first = node.body[0].lineno
    return first, node.end_lineno


def with_markers(source, methods):
    """``source`` (a function or class) with the chosen bodies inside solution markers."""
    source = textwrap.dedent(source)
    tree = ast.parse(source)
    top = tree.body[0]
    if methods is None:
        spans = [_body_span(top)]
    else:
        found = {n.name: n for n in top.body if isinstance(n, ast.FunctionDef)}
        missing = [m for m in methods if m not in found]
        if missing:
            raise ValueError(f"{top.name} has no method {', '.join(missing)}")
        spans = [_body_span(found[m]) for m in methods]
    lines = source.splitlines()
    for first, last in sorted(spans, reverse=True):
        body = lines[first - 1:last]
        indent = min(len(l) - len(l.lstrip()) for l in body if l.strip())
        pad = " " * indent
        lines[first - 1:last] = [pad + BEGIN, *body, pad + END]
    return "\n".join(lines) + "\n"


def _private(dotted):
    return any(part.startswith("_") for part in dotted.split("."))


def _globals_used(obj):
    tree = ast.parse(textwrap.dedent(inspect.getsource(obj)))
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


def _helpers(objects):
    """The private functions of nblib that ``objects`` use (``_nesterov``), in the order
    they are first needed; they are written into the cell, as the student cannot import
    them."""
    found, todo = [], list(objects)
    while todo:
        obj = todo.pop(0)
        module = sys.modules[obj.__module__]
        for name in sorted(_globals_used(obj)):
            value = vars(module).get(name)
            if (name.startswith("_") and inspect.isfunction(value) and value not in found
                    and value not in objects and value.__module__.startswith("nblib")):
                found.append(value)
                todo.append(value)
    return found


def imports(objects):
    """The import lines a cell defining ``objects`` needs: every global name they use.

    A name bound to a module is imported as that module (``import numpy as np``); a
    function or class of nblib from the public module that defines it, or, if that
    module is private, from the public module of the object that
    uses it; any other name from the module of the object that uses it.
    """
    modules, names = {}, {}
    defined = {obj.__name__ for obj in objects}
    for obj in objects:
        module = sys.modules[obj.__module__]
        for name in sorted(_globals_used(obj) - defined):
            if name not in vars(module):
                continue                                  # a builtin or a local name
            value = vars(module)[name]
            if inspect.ismodule(value):
                modules[name] = value.__name__
            else:               # from where it is defined, if it is a function or a class
                home = getattr(value, "__module__", None)
                home = home if isinstance(home, str) and home.startswith("nblib") else None
                if home is None or _private(home):
                    home = obj.__module__
                names.setdefault(home, set()).add(name)
    lines = [f"import {m}" if m == alias else f"import {m} as {alias}"
             for alias, m in sorted(modules.items(), key=lambda kv: kv[1])]
    if names:
        lines.append("")
    lines += [f"from {m} import {', '.join(sorted(ns))}" for m, ns in sorted(names.items())]
    return "\n".join(lines) + "\n"


def solution_cell_source(task_id, header=None):
    objects = [_resolve(dotted) for dotted, _ in TASK_OBJECTS[task_id]]
    helpers = _helpers(objects)
    parts = [textwrap.dedent(inspect.getsource(h)) for h in helpers]
    parts += [with_markers(inspect.getsource(obj), methods)
              for obj, (_, methods) in zip(objects, TASK_OBJECTS[task_id])]
    return imports(helpers + objects) + "\n\n" + "\n\n".join(parts)


def self_check_source(task_id):
    task = ALL[task_id]
    if task_id in EXERCISES:
        return f"check_{list(EXERCISES).index(task_id) + 1} = {task.self_check}"
    return f"{task.self_check};"


def _what(task_id):
    task = ALL[task_id]
    if task_id in EXERCISES:
        return f"exercise {list(EXERCISES).index(task_id) + 1}, {task.name}"
    return task.name


def grade_source(task_id, part=None):
    """The source of a task's grade cell (of its rubric item ``part``, if given)."""
    task = ALL[task_id]
    what, points, call = _what(task_id), task.points, f'"{task_id}", {task.name}'
    if part is not None:
        item = next(p for p in task.parts if p.name == part)
        what, points = f"{what}, rubric item {item.text}", item.points
        call += f', part="{part}"'
    return (f"# Autograded: {what} ({points} point{'s' * (points != 1)})\n"
            "### BEGIN HIDDEN TESTS\n"
            "from nblib.teaching.grading import grade\n"
            f"grade({call})\n"
            "### END HIDDEN TESTS")


def exercise_solutions(path=BOOK / "05_exercises.ipynb"):
    """{task id: the piece its answer cell defines} for every exercise, the cells run in a
    fresh namespace (with what the page's setup cell imports): the teacher's solutions."""
    import numpy as np

    import nblib
    from nblib import Module, Param
    from nblib.teaching import checks

    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    namespace = {"np": np, "nblib": nblib, "Module": Module, "Param": Param, "checks": checks}
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution") and meta.get("grade_id") in EXERCISES:
            exec(compile(_src(cell), f"<{meta['grade_id']}>", "exec"), namespace)
    return {task_id: namespace[task.name] for task_id, task in EXERCISES.items()}


def _src(cell):
    s = cell["source"]
    return "".join(s) if isinstance(s, list) else s


def expected_sources(nb):
    """{cell index: the source the task cells of ``nb`` should have}."""
    out = {}
    for i, cell in enumerate(nb["cells"]):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        grade_id = meta.get("grade_id", "")
        if meta.get("solution") and grade_id in TASK_OBJECTS:
            out[i] = solution_cell_source(grade_id)
        elif cell.get("metadata", {}).get("task") in ALL:     # the self-check
            out[i] = self_check_source(cell["metadata"]["task"])
        elif meta.get("grade") and _graded(grade_id):
            out[i] = grade_source(*grade_cell(grade_id))
    return out


def _graded(grade_id):
    """True if ``grade_id`` is one of the registry's grade cells (test-<task>[--<part>])."""
    try:
        task_id, part = grade_cell(grade_id)
    except ValueError:
        return False
    return (grade_id, ) in {(g,) for g, _, _ in grade_cells(task_id)}


def expected_points(nb):
    """{cell index: the points the grade cells of ``nb`` should have (the registry's)}: the
    autograded cells' (``grade_cells``) and the written answers' (``WRITTEN``)."""
    out = {}
    for i, cell in enumerate(nb["cells"]):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        grade_id = meta.get("grade_id", "")
        if meta.get("grade") and meta.get("solution") and grade_id in WRITTEN:
            out[i] = WRITTEN[grade_id].points
            continue
        if meta.get("grade") and _graded(grade_id):
            task_id, _ = grade_cell(grade_id)
            out[i] = {g: points for g, points, _ in grade_cells(task_id)}[grade_id]
    return out


def hand_graded(nb):
    """[grade_id] of the cells of ``nb`` that are graded by hand (nbgrader solution + grade)."""
    return [c["metadata"]["nbgrader"]["grade_id"] for c in nb["cells"]
            if c.get("metadata", {}).get("nbgrader", {}).get("grade")
            and c["metadata"]["nbgrader"].get("solution")]


def stale_cells(book=BOOK):
    """[(notebook path, cell index)] of task cells that differ from the registry and
    nblib's source (their source, or a grade cell's points)."""
    stale = []
    for path in sorted(Path(book).glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        stale += [(path, f"grade cells of {t}") for t in missing_grade_cells(nb)]
        stale += [(path, f"written answer {g} (not in registry.WRITTEN)")
                  for g in hand_graded(nb) if g not in WRITTEN]
        for i, source in expected_sources(nb).items():
            if _src(nb["cells"][i]) != source:
                stale.append((path, i))
        for i, points in expected_points(nb).items():
            if nb["cells"][i]["metadata"]["nbgrader"].get("points") != points \
                    and (path, i) not in stale:
                stale.append((path, i))
    return stale


def _task_of_grade_cell(cell):
    meta = cell.get("metadata", {}).get("nbgrader", {})
    if not (meta.get("grade") and not meta.get("solution")):
        return None
    task_id, _, _ = meta.get("grade_id", "").removeprefix("test-").partition("--")
    return task_id if meta.get("grade_id", "").startswith("test-") and task_id in ALL else None


def missing_grade_cells(nb):
    """[task id] of the tasks of ``nb`` whose grade cells are not the registry's
    (``grade_cells``: one per rubric item, in order)."""
    found = {}
    for cell in nb["cells"]:
        task_id = _task_of_grade_cell(cell)
        if task_id:
            found.setdefault(task_id, []).append(cell["metadata"]["nbgrader"]["grade_id"])
    return [t for t, ids in found.items() if ids != [g for g, _, _ in grade_cells(t)]]


def _regroup(nb):
    """Replace the grade cells of each task in ``missing_grade_cells`` by the registry's, at
    the place of the first; returns how many cells were written."""
    count = 0
    for task_id in missing_grade_cells(nb):
        cells = nb["cells"]
        where = [i for i, c in enumerate(cells) if _task_of_grade_cell(c) == task_id]
        first = cells[where[0]]
        base = first.get("id", f"test-{task_id}").partition("--")[0]
        new = []
        for grade_id, points, _ in grade_cells(task_id):
            cell = json.loads(json.dumps(first))
            cell["metadata"]["nbgrader"].update(grade_id=grade_id, points=points)
            if "id" in cell:
                suffix = grade_id.partition("--")[2]
                cell["id"] = f"{base}--{suffix}" if suffix else base
            cell["source"] = grade_source(*grade_cell(grade_id)).splitlines(keepends=True)
            cell["outputs"], cell["execution_count"] = [], None
            new.append(cell)
        nb["cells"] = cells[:where[0]] + new + [c for i, c in enumerate(cells[where[0]:],
                                                                         where[0])
                                                if i not in where]
        count += len(new)
    return count


def write(book=BOOK):
    """Rewrite the stale task cells; returns how many were rewritten.

    A task whose grade cells are not the registry's (a rubric item added or taken away)
    gets them anew, one per item, where its first grade cell was. Each notebook is read
    just before it is written, and written only if a cell changed.
    """
    count = 0
    for path in sorted(Path(book).glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        regrouped = _regroup(nb)
        count += regrouped
        changed = set()
        for i, source in expected_sources(nb).items():
            if _src(nb["cells"][i]) != source:
                nb["cells"][i]["source"] = source.splitlines(keepends=True)
                changed.add(i)
        for i, points in expected_points(nb).items():
            if nb["cells"][i]["metadata"]["nbgrader"].get("points") != points:
                nb["cells"][i]["metadata"]["nbgrader"]["points"] = points
                changed.add(i)
        if changed or regrouped:
            count += len(changed)
            path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return count


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="rewrite the stale cells")
    args = parser.parse_args(argv)
    if args.write:
        print(f"rewrote {write()} task cells")
        return 0
    stale = stale_cells()
    for path, i in stale:
        print(f"{path.relative_to(ROOT)}: cell {i} differs from nblib's source")
    if stale:
        print("run: python teacher/task_cells.py --write")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
