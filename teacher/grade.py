"""Grade submitted exercise notebooks with nblib's self-checks (a teacher's tool).

    python teacher/grade.py NOTEBOOK.ipynb [NOTEBOOK.ipynb ...]

Not part of nblib: students import nblib, teachers run this.
"""
from __future__ import annotations

import sys

from nblib.checks import CheckResult

_GRADE_CELL = """\
import json as _json
from nblib import checks as _checks
_results = _checks.grade(globals(), verbose=False)
print("NBLIB-GRADE " + _json.dumps({k: [r.passed, r.message] for k, r in _results.items()}))
"""


def grade_notebook(path, *, timeout=600):
    """Execute a submitted notebook, then run ``grade`` inside its kernel.

    Cells that raise are allowed (a student may leave a stub); the grade only
    looks at the objects the notebook defined.  Returns {check name: CheckResult}.
    """
    import json
    from pathlib import Path

    import nbformat
    from nbclient import NotebookClient

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"path must be an existing notebook file, got {str(path)!r}")
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(_GRADE_CELL))
    NotebookClient(nb, timeout=timeout, allow_errors=True, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    for out in nb.cells[-1].get("outputs", []):
        text = out.get("text", "")
        for line in text.splitlines():
            if line.startswith("NBLIB-GRADE "):
                raw = json.loads(line[len("NBLIB-GRADE "):])
                return {k: CheckResult(k, passed, message) for k, (passed, message) in raw.items()}
    errors = [o for o in nb.cells[-1].get("outputs", []) if o.get("output_type") == "error"]
    why = f": {errors[0]['ename']}: {errors[0]['evalue']}" if errors else ""
    raise RuntimeError(f"the grading cell produced no result{why}")


def main(argv=None):
    """``python teacher/grade.py NOTEBOOK.ipynb ...``: grade notebooks, print a table."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python teacher/grade.py NOTEBOOK.ipynb [NOTEBOOK.ipynb ...]")
        return 0 if argv else 2
    failures = 0
    for nb_path in argv:
        try:
            results = grade_notebook(nb_path)
        except (ValueError, RuntimeError) as err:
            print(f"{nb_path}: could not be graded: {err}", file=sys.stderr)
            failures += 1
            continue
        passed = sum(r.passed for r in results.values())
        print(f"{nb_path}: {passed}/{len(results)} checks passed")
        for r in results.values():
            print(f"  {'PASS' if r.passed else 'FAIL'}  {r.name:<17} {r.message}")
        failures += len(results) - passed
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
