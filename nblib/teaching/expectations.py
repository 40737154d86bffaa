"""The self-checks' stored expectations: what the reference and each usual mistake give.

A self-check compares what a student's piece gives on fixed inputs with what the
reference gives on the same inputs, and names the usual mistake whose result the
student's matches. On the student's machine the reference is absent (the student
build of nblib, ``teacher/student_build.py``, holds no answer), so the visible
self-checks (``seed=None``) read both from ``expectations.json``, recorded from the
reference and from the catalogue's wrong pieces (``nblib.teaching.mistakes``) when the
book is built::

    python -m nblib.teaching.expectations --write     # record them again
    python -m nblib.teaching.expectations --check     # exit 1 if the stored file is stale

A check asks for one value at a time, under a key (``"1/trajectory"``)::

    probe = Probe("adam", seed)
    want = probe.want(key, lambda: <the reference's value>)
    says = probe.mistake(key, got, lambda piece: <the wrong piece's value>, tol)

- ``seed=None`` (the visible self-check): ``want`` returns the stored value and
  ``mistake`` the ``says`` of the first catalogued mistake whose stored value matches
  ``got``; neither lambda runs, so the reference may be missing.
- a grader's ``seed`` (the hidden test, on the teacher's machine): both lambdas run
  (``mistake`` builds each wrong piece from ``namespace``), as the checks always did.
- while recording: both run and their results are stored, for every mistake.

The words of a mistake live in the catalogue only (``Mistake.says``); the stored file
copies them so that the student build can say them without the wrong pieces.
A new task adds its own: its check asks ``Probe`` for what it compares, its mistakes
get ``says``, and ``--write`` records them. Each rubric item's check (``upto=<item>``,
``registry.Part``) is recorded too; an item that compares other inputs than the whole
check (Adam + L2 without the decay) stores them under keys of its own.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np

STORE = Path(__file__).with_name("expectations.json")
"""Where the expectations are stored (shipped with nblib, also in the student build)."""

_recording = None          # while recording: {task id: {"want": {...}, "mistakes": [...]}}
_cache = None


class MissingExpectation(LookupError):
    """The stored file has no value for a key: it is stale (``--write`` records it)."""


def stored():
    """The stored expectations, {task id: {"want": {key: value}, "mistakes": [...]}}."""
    global _cache
    if _cache is None:
        if not STORE.exists():
            raise MissingExpectation(f"{STORE.name} is missing: run python -m "
                                     "nblib.teaching.expectations --write")
        _cache = json.loads(STORE.read_text(encoding="utf-8"))
    return _cache


# ----------------------------------------------------------------------------- values
def _encode(value):
    """A JSON-able form of a check's value: arrays as nested lists, errors as text."""
    if isinstance(value, np.ndarray):
        return {"array": value.tolist(), "dtype": str(value.dtype)}
    if isinstance(value, (list, tuple)) and value and all(
            isinstance(v, np.ndarray) for v in value):
        return {"arrays": [v.tolist() for v in value]}
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return {"float": repr(value)}
    return value


def _decode(value):
    if isinstance(value, dict):
        if "array" in value:
            return np.array(value["array"], dtype=value["dtype"])
        if "arrays" in value:
            return [np.array(v, dtype=float) for v in value["arrays"]]
        if "float" in value:
            return float(value["float"])
    return value


def same(got, value, tol):
    """True if ``got`` is ``value``: equal text, or arrays (or sequences of arrays) of one
    shape whose largest difference is at most ``tol`` (NaN never matches)."""
    if isinstance(value, str) or isinstance(got, str):
        return isinstance(got, str) and isinstance(value, str) and got == value
    if value is None or got is None:
        return value is None and got is None
    try:
        a, b = np.asarray(got, dtype=float), np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return False
    if a.shape != b.shape or not np.isfinite(a).all() or not np.isfinite(b).all():
        return False
    return a.size == 0 or float(np.max(np.abs(a - b))) <= tol


# ----------------------------------------------------------------------------- the probe
class Probe:
    """What one run of a task's check compares: the reference's values and the mistakes'."""

    def __init__(self, task_id, seed):
        self.task_id, self.seed = task_id, seed
        if _recording is not None and seed is None:
            self.mode = "record"
            self.entry = _recording.setdefault(task_id, {"want": {}, "mistakes": {}})
        elif seed is None:
            self.mode = "stored"
            self.entry = stored().get(task_id)
            if self.entry is None:
                raise MissingExpectation(f"no stored expectations for {task_id}: run python -m "
                                         "nblib.teaching.expectations --write")
        else:
            self.mode = "live"

    @property
    def recording(self):
        """True while recording: the check must then ask ``mistake`` at every key."""
        return self.mode == "record"

    def want(self, key, compute):
        """The reference's value at ``key``: stored, or ``compute()`` (recorded)."""
        if self.mode == "stored":
            if key not in self.entry["want"]:
                raise MissingExpectation(f"{self.task_id}: no stored value for {key!r}; run "
                                         "python -m nblib.teaching.expectations --write")
            return _decode(self.entry["want"][key])
        value = compute()
        if self.mode == "record":
            if key in self.entry["want"] and differences(self.entry["want"][key],
                                                         _encode(value)):
                raise RuntimeError(f"{self.task_id}: two runs of its check record different "
                                   f"values under {key!r} (a rubric item's inputs need a key "
                                   "of their own)")
            self.entry["want"][key] = _encode(value)
        return value

    def mistake(self, key, got, compute, tol, prefix=False):
        """The ``says`` of the first catalogued mistake of the task whose value at ``key``
        is ``got`` (within ``tol``), or ''. ``compute(wrong piece)`` gives a mistake's value;
        a value that raised is the ``Fail``'s text. ``prefix``: ``got`` is a sequence that
        must match the start of the mistake's (the steps up to the first wrong one)."""
        def matches(value):
            if prefix and not isinstance(value, str):
                value = value[:len(got)]
            return value is not None and same(got, value, tol)

        if self.mode == "stored":
            for says, value in self.entry["mistakes"].get(key, []):
                if matches(_decode(value)):
                    return says
            return ""
        found, recorded = "", []
        for mistake in _catalogue(self.task_id):
            if not mistake.says:
                continue
            value = _mistake_value(mistake, self.task_id, compute)
            if self.mode == "record":
                recorded.append([mistake.says, _encode(value)])
            elif matches(value):
                return mistake.says
        if self.mode == "record":
            self.entry["mistakes"][key] = recorded
        return found


def _catalogue(task_id):
    from .registry import ALL
    return ALL[task_id].mistakes


def _mistake_value(mistake, task_id, compute):
    from .selfcheck import Fail
    ns = namespace(task_id)
    if ns is None:
        return None
    try:
        return compute(mistake.build(ns))
    except Fail as fail:
        return str(fail)
    except Exception:  # noqa: BLE001 - a wrong piece that cannot be built here names nothing
        return None


_namespaces = {}


def namespace(task_id):
    """The correct pieces a task's mistakes are built from (``Mistake.build``): nblib's
    reference pieces for a your-turn task, the worked answers of 05_exercises for an
    exercise (read from the book, which the teacher has); None where neither is found."""
    from .registry import EXERCISES, YOUR_TURN
    kind = "exercises" if task_id in EXERCISES else "yourturn"
    if kind not in _namespaces:
        if kind == "yourturn":
            from ..core import data
            ns = {t.name: t.reference for t in YOUR_TURN.values()}
            ns["spiral_centres"] = data.spiral_centres
        else:
            try:
                ns = _exercise_answers()
            except Exception:  # noqa: BLE001 - e.g. the autograder's sandbox opens no files
                ns = None
        _namespaces[kind] = ns
    return _namespaces[kind]


def _exercise_answers():
    path = Path(__file__).resolve().parents[2] / "book" / "05_exercises.ipynb"
    if not path.exists():
        return None
    from .registry import EXERCISES
    import nblib
    from ..core.module import Module, Param
    from . import checks
    nb = json.loads(path.read_text(encoding="utf-8"))
    ns = {"np": np, "nblib": nblib, "Module": Module, "Param": Param, "checks": checks}
    ids = set(EXERCISES)
    for cell in nb["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if cell["cell_type"] == "code" and grade_id in ids:
            src = cell["source"]
            exec(compile("".join(src) if isinstance(src, list) else src, "<answer>", "exec"), ns)
    return {t.name: ns[t.name] for t in EXERCISES.values() if t.name in ns}


# ----------------------------------------------------------------------------- recording
@contextmanager
def recording():
    """Within the block, visible checks (``seed=None``) compute and record what they compare."""
    global _recording
    _recording = {}
    try:
        yield _recording
    finally:
        _recording = None


def reference_piece(task_id):
    """The correct piece a task's visible check is recorded with."""
    from .registry import EXERCISES, YOUR_TURN
    if task_id in YOUR_TURN:
        return YOUR_TURN[task_id].reference
    answers = namespace(task_id)
    if answers is None:
        raise FileNotFoundError("book/05_exercises.ipynb is needed to record the exercises")
    return answers[EXERCISES[task_id].name]


def record():
    """Run every task's visible check on its correct piece, recording; return the table.
    Each rubric item's check (``upto=<item>``, ``registry.Part``) runs too: an item may
    compare values the whole check does not (Adam + L2 without the decay)."""
    from .registry import ALL
    with recording() as table:
        for task_id, task in ALL.items():
            piece = reference_piece(task_id)
            for options in [{}] + [dict(p.options) for p in task.parts if p.options]:
                result = task.check(piece, verbose=False, **options)
                if not result.passed:
                    raise RuntimeError(f"{task_id} {options or ''}: the correct piece fails "
                                       f"its check while recording: {result.message}")
    return {task_id: table[task_id] for task_id in sorted(table)}


def differences(stored_table, fresh_table, rtol=1e-9, atol=1e-12):
    """Where two recordings differ: ['adam want 0/trajectory', ...]. Numbers may differ by
    rounding (another CPU's BLAS): within ``rtol`` and ``atol`` they are the same."""
    out = []

    def walk(a, b, where):
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) | set(b)):
                if key not in a or key not in b:
                    out.append(f"{where} {key}: only in one")
                else:
                    walk(a[key], b[key], f"{where} {key}".strip())
        elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b) and not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in a + b):
            for i, (x, y) in enumerate(zip(a, b)):
                walk(x, y, f"{where}[{i}]")
        elif isinstance(a, (int, float, list)) and isinstance(b, (int, float, list)) \
                and not isinstance(a, bool) and not isinstance(b, bool):
            try:
                x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
            except (TypeError, ValueError):
                out.append(where)
                return
            if x.shape != y.shape or not np.allclose(x, y, rtol=rtol, atol=atol):
                out.append(where)
        elif a != b:
            out.append(where)

    walk(stored_table, fresh_table, "")
    return out


def dumps(table):
    return json.dumps(table, sort_keys=True, separators=(",", ":")) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--write", action="store_true", help=f"record into {STORE}")
    what.add_argument("--check", action="store_true", help="exit 1 if the stored file is stale")
    args = parser.parse_args(argv)
    fresh = record()
    if args.write:
        text = dumps(fresh)
        STORE.write_text(text, encoding="utf-8")
        print(f"wrote {STORE} ({len(text.encode()):,} bytes)")
        return 0
    stale = (["the file is missing"] if not STORE.exists() else
             differences(json.loads(STORE.read_text(encoding="utf-8")), fresh))
    if stale:
        print(f"{STORE} is stale ({'; '.join(stale[:5])}): run python -m "
              "nblib.teaching.expectations --write")
        return 1
    print(f"{STORE} is up to date")
    return 0


if __name__ == "__main__":          # the checks import nblib.teaching.expectations: use it
    from nblib.teaching import expectations
    sys.exit(expectations.main())
