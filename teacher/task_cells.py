"""Write the "your turn" cells of the stage notebooks from nblib's own source.

    python teacher/task_cells.py          # check: exit 1 and list the cells that differ
    python teacher/task_cells.py --write  # rewrite those cells in book/*.ipynb

The solution of every task is nblib's real code, so there is one copy of it. This
tool copies it into the task's solution cell, with each method body that the
student writes between nbgrader's ``### BEGIN SOLUTION`` / ``### END SOLUTION``
markers (nbgrader turns the rest, signatures and docstrings, into the starter),
and writes the task's self-check and grade cells. The tests run the check, so a
change to nblib that is not copied into the book fails them.

A solution cell starts with the imports its code needs (every global name it uses,
imported from the nblib module that defines the piece); the cell is generated whole.
Only cells whose nbgrader ``grade_id`` names a task, and self-check cells whose
metadata names a task, are touched.
"""
from __future__ import annotations

import argparse
import ast
import inspect
import json
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"

# task id -> the objects its cell defines, each with the methods whose bodies the
# student writes (None: the body of the function itself).
TASK_OBJECTS = {
    "make_spirals": [("nblib.data.spiral_centres", None), ("nblib.data.make_spirals", None)],
    "linear": [("nblib.linear.Linear", ("__init__", "forward", "backward"))],
    "relu": [("nblib.activations.ReLU", ("forward", "backward"))],
    "bce_with_logits": [("nblib.loss.bce_with_logits", None)],
    "batchnorm": [("nblib.norm.BatchNorm", ("forward", "backward"))],
    "dropout": [("nblib.dropout.Dropout", ("forward", "backward"))],
    "sgd": [("nblib.optim.SGD", ("step",))],
    "adam": [("nblib.optim.Adam", ("step",))],
    "warmup_cosine": [("nblib.schedules.WarmupCosine", ("lr_at",))],
    "train_epoch": [("nblib.training.train_epoch", None)],
}

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


def imports(objects):
    """The import lines a cell defining ``objects`` needs: every global name they use.

    A name bound to a module is imported as that module (``import numpy as np``); a
    function or class of nblib from the module that defines it; any other name from the
    module of the object that uses it.
    """
    modules, names = {}, {}
    defined = {obj.__name__ for obj in objects}
    for obj in objects:
        module = sys.modules[obj.__module__]
        tree = ast.parse(textwrap.dedent(inspect.getsource(obj)))
        used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        for name in sorted(used - defined):
            if name not in vars(module):
                continue                                  # a builtin or a local name
            value = vars(module)[name]
            if inspect.ismodule(value):
                modules[name] = value.__name__
            else:               # from where it is defined, if it is a function or a class
                home = getattr(value, "__module__", None)
                home = home if isinstance(home, str) and home.startswith("nblib") else None
                names.setdefault(home or obj.__module__, set()).add(name)
    lines = [f"import {m}" if m == alias else f"import {m} as {alias}"
             for alias, m in sorted(modules.items(), key=lambda kv: kv[1])]
    if names:
        lines.append("")
    lines += [f"from {m} import {', '.join(sorted(ns))}" for m, ns in sorted(names.items())]
    return "\n".join(lines) + "\n"


def solution_cell_source(task_id, header=None):
    objects = [_resolve(dotted) for dotted, _ in TASK_OBJECTS[task_id]]
    parts = [with_markers(inspect.getsource(obj), methods)
             for obj, (_, methods) in zip(objects, TASK_OBJECTS[task_id])]
    return imports(objects) + "\n\n" + "\n\n".join(parts)


def self_check_source(task_id):
    from nblib.yourturn import TASKS
    task = TASKS[task_id]
    return f"yourturn.{task.check.__name__}({task.name});"


def grade_source(task_id):
    from nblib.yourturn import TASKS
    task = TASKS[task_id]
    return (f"# Autograded: {task.name} ({task.points} points)\n"
            f"{'### BEGIN HIDDEN TESTS'}\n"
            f"from nblib.grading import grade\n"
            f"grade({task_id!r}, {task.name})\n"
            f"{'### END HIDDEN TESTS'}")


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
        elif cell.get("metadata", {}).get("task") in TASK_OBJECTS:     # the self-check
            out[i] = self_check_source(cell["metadata"]["task"])
        elif meta.get("grade") and grade_id.startswith("test-") and grade_id[5:] in TASK_OBJECTS:
            out[i] = grade_source(grade_id[5:])
    return out


def stale_cells(book=BOOK):
    """[(notebook path, cell index)] of task cells that differ from nblib's source."""
    stale = []
    for path in sorted(Path(book).glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        for i, source in expected_sources(nb).items():
            if _src(nb["cells"][i]) != source:
                stale.append((path, i))
    return stale


def write(book=BOOK):
    """Rewrite the stale task cells; returns how many were rewritten."""
    count = 0
    for path in sorted(Path(book).glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        changed = False
        for i, source in expected_sources(nb).items():
            if _src(nb["cells"][i]) != source:
                nb["cells"][i]["source"] = source.splitlines(keepends=True)
                changed = True
                count += 1
        if changed:
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
