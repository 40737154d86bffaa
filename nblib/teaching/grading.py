"""The hidden tests in the notebook's own kernel: grade one task of a submission, and raise
if it fails.

In an nbgrader source notebook every task has a grade cell per rubric item (nbgrader
metadata ``grade: true``, ``points``, ``grade_id: "test-<task id>--<item>"``, or
``"test-<task id>"`` for a task graded whole) whose hidden part is::

    ### BEGIN HIDDEN TESTS
    from nblib.teaching.grading import grade
    grade("linear", Linear, part="forward")
    ### END HIDDEN TESTS

This is what runs when the source notebook runs: the teacher's book build, or a teacher
running it by hand, which shows that the solutions pass. ``nbgrader autograde`` does not
run it: the course's ``IsolatedGrades`` (``teacher/nbgrader_isolated.py``) reads the grade
cell's id and grades the answer cell's source in a fresh process
(``nblib.teaching.isolated``), with the same check and the same rubric item's options
(``registry.part_options``).

``grade(task_id, answer, *, seed=None, time_limit=TIME_LIMIT)``

- ``task_id``: a key of ``nblib.teaching.registry.ALL``: a "your turn" task of the stage
  notebooks (``registry.YOUR_TURN``) or an exercise of 05_exercises
  (``registry.EXERCISES``, ids ``ex_...``);
- ``answer``: the student's piece, the object named ``Task.name`` in the notebook;
- ``seed``: the hidden inputs.  The task's check runs on other random inputs than
  the visible self-check (``check(answer, seed=seed)``); ``None`` draws a new seed,
  printed with the verdict so that a grade can be reproduced;
- returns the ``CheckResult`` and prints PASS, or raises ``GradingError`` (an
  ``AssertionError``) that names the mistake, so nbgrader gives the cell 0 points.

What a submission cannot do to its grade, although its code runs in the same
kernel as the hidden tests (nbgrader runs the notebook, then the tests):

- patch nblib or its checks (``nblib.teaching.checks.layernorm = ...``,
  ``nblib.LayerNorm.forward = ...``): the check and nblib's reference come from a
  fresh copy of nblib, loaded from its files under a private module name.  The
  few modules that the student's own classes are built on (``nblib.core.module``,
  ``nblib.core.validate``) are shared with that copy and compared with their files
  first: if they were changed, every task fails;
- hand in nblib's implementation: the same object, a subclass, a class or
  function made at runtime from its code (``vars(nblib.Adam)``), or a wrapper
  that calls it.  The first kinds are found in the answer's code objects; a
  wrapper is seen while the check runs (``sys.setprofile``: nblib's reference
  code must not run on the student's behalf);
- hard-code the visible check's outputs: the hidden inputs differ;
- loop forever: the check stops after ``time_limit`` seconds (nbgrader's own
  cell timeout, ``ExecutePreprocessor.timeout``, is the outer limit).

What it can do: replace this module or Python's import system, builtins or
NumPy before the hidden tests run.  No test inside the student's kernel can
rule that out; see the teacher's page "Grading with nbgrader".
"""
from __future__ import annotations

import functools
import importlib
import importlib.machinery
import importlib.util
import inspect
import os
import secrets
import sys
import threading
import types
from contextlib import contextmanager
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent      # nblib/
SHARED = ("core.validate", "core.module")
"""nblib modules that the student's classes are built on (Module, Param, the call checks):
the fresh copy uses the loaded ones, after comparing them with their files."""
TABLE = ("teaching.registry", "ALL")
"""Where the graded tasks are listed: (module of nblib, name of its table)."""
TIME_LIMIT = 30.0
"""Seconds one task's hidden test may take."""


class GradingError(AssertionError):
    """A hidden test failed: the task earns no points."""


def grade(task_id, answer, *, seed=None, time_limit=TIME_LIMIT, part=None):
    """Run task ``task_id``'s check on ``answer`` with hidden inputs; raise unless it passes.

    ``part``: one rubric item of the task (``Task.parts``, e.g. "forward"), or None."""
    if not isinstance(task_id, str):
        raise TypeError(f"task_id must be a str, got {type(task_id).__name__}")
    if seed is None:
        seed = secrets.randbelow(2**31)
    elif isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an int >= 0 or None, got {seed!r}")
    fresh = _FreshCopy()
    try:
        tasks = fresh.tasks()
        if task_id not in tasks:
            raise ValueError(f"task_id must be one of {sorted(tasks)}, got {task_id!r}")
        task = tasks[task_id]
        options = fresh.module(TABLE[0]).part_options(task_id, part)
        what = f"{task_id}{'' if part is None else ' ' + part} (hidden test, seed {seed})"
        changed = fresh.changed_shared_code()
        if changed:
            raise GradingError(f"{what}: the submission changed nblib at runtime "
                               f"({', '.join(changed[:3])}); a submission may not patch nblib")
        reference = _Reference(task.reference, fresh)
        borrowed = reference.found_in(answer)
        if borrowed:
            raise GradingError(f"{what}: {task.name} is built from nblib's own {borrowed}: "
                               "hand in your own code")
        fresh_checks = fresh.module("teaching.selfcheck")
        hidden = {"seed": seed} if "seed" in inspect.signature(task.check).parameters else {}
        with reference.watch() as ran, fresh_checks.time_limit(time_limit):
            try:
                result = task.check(answer, verbose=False, **hidden, **options)
            except TypeError as err:
                raise GradingError(f"{what}: {err}") from None
            except fresh_checks.CheckTimeout as err:
                raise GradingError(f"{what}: {err}{fresh_checks.where(err)}") from None
        if ran.tampered:
            raise GradingError(f"{what}: the submission turned off the grader's watch "
                               "(sys.setprofile) while it was checked")
        if ran.calls:
            raise GradingError(f"{what}: {task.name} runs nblib's own {ran.calls[0]}: "
                               "hand in your own code")
        if not result.passed:
            raise GradingError(f"{what}: {result.message}")
        print(f"{what}: PASS - {result.message}")
        return result
    finally:
        fresh.unload()


# ----------------------------------------------------------------------------- fresh copy
class _FreshCopy:
    """nblib loaded again from its files, as package ``_nblib_grading_<random>``.

    Only the modules that are imported from it are loaded (its ``__init__`` is not
    run).  The SHARED modules are the ones already loaded, so that the student's
    ``Module`` subclasses are Modules to the fresh checks too.
    """

    def __init__(self):
        self.name = f"_nblib_grading_{secrets.token_hex(6)}"
        self._package(self.name)
        for sub in SHARED:
            loaded = sys.modules.get(f"nblib.{sub}")
            if loaded is None:
                loaded = importlib.import_module(f"nblib.{sub}")
            sys.modules[f"{self.name}.{sub}"] = loaded

    @staticmethod
    def _package(name):
        spec = importlib.machinery.ModuleSpec(name, None, is_package=True)
        spec.submodule_search_locations = [str(PACKAGE_DIR)]
        package = importlib.util.module_from_spec(spec)
        sys.modules[name] = package
        return package

    def module(self, sub):
        return importlib.import_module(f"{self.name}.{sub}")

    def tasks(self):
        sub, table = TABLE
        return dict(getattr(self.module(sub), table))

    def changed_shared_code(self):
        """Names of the SHARED modules' functions and classes that differ from their files."""
        pristine = f"{self.name}_pristine"
        self._package(pristine)
        changed = []
        try:
            for sub in SHARED:
                want = _fingerprints(importlib.import_module(f"{pristine}.{sub}"))
                got = _fingerprints(sys.modules[f"{self.name}.{sub}"], names=want)
                changed += [f"nblib.{sub}.{key}" for key in want if got.get(key) != want[key]]
        finally:
            _unload(pristine)
        return changed

    def unload(self):
        _unload(self.name)


def _unload(prefix):
    # list() copies the names at once: another thread may import while this one looks
    # (a kernel's background training, a test session's jobs)
    for key in [k for k in list(sys.modules) if k == prefix or k.startswith(prefix + ".")]:
        sys.modules.pop(key, None)


def _fingerprints(module, names=None):
    """{"Module.train": ..., "check_int": ...}: the code of a module's functions and classes.

    With ``names`` (another module's fingerprints), the same names are looked up
    in this module, whatever they are bound to now.
    """
    out = {}
    for name, obj in vars(module).items():
        if names is None and getattr(obj, "__module__", None) != module.__name__:
            continue
        if names is not None and name not in names and not any(k.startswith(name + ".")
                                                                for k in names):
            continue
        if isinstance(obj, type):
            out[name] = tuple(k.__qualname__ for k in obj.__mro__[1:])
            for attr, value in vars(obj).items():
                if attr not in ("__doc__", "__module__", "__qualname__", "__dict__",
                                "__weakref__"):
                    out[f"{name}.{attr}"] = _value_key(value)
        elif callable(obj):
            out[name] = _value_key(obj)
    if names is not None:      # a name that is gone, or an attribute added to a class
        for key in names:
            cls_name, _, attr = key.partition(".")
            if attr and isinstance(vars(module).get(cls_name), type):
                out.setdefault(key, _value_key(vars(vars(module)[cls_name]).get(attr)))
    return out


def _value_key(value, depth=0):
    if depth > 4:
        return "..."
    if isinstance(value, (staticmethod, classmethod)):
        return (type(value).__name__, _value_key(value.__func__, depth + 1))
    if isinstance(value, property):
        return ("property",) + tuple(_value_key(f, depth + 1)
                                     for f in (value.fget, value.fset, value.fdel))
    if isinstance(value, types.FunctionType):
        return ("function", _code_key(value.__code__), repr(value.__defaults__),
                repr(value.__kwdefaults__),
                _value_key(getattr(value, "__wrapped__", None), depth + 1))
    if value is None or isinstance(value, (bool, int, float, str, bytes, tuple, frozenset)):
        return ("value", repr(value))
    return ("object", type(value).__qualname__)


def _code_key(code):
    return (_realpath(code.co_filename), code.co_qualname, code.co_code, code.co_names, code.co_varnames,
            code.co_freevars, code.co_cellvars,
            tuple(_code_key(c) if isinstance(c, types.CodeType) else repr(c)
                  for c in code.co_consts))


# ----------------------------------------------------------------------------- nblib's own code
def _realpath(filename, _cache={}):  # noqa: B006 - a cache shared by every call
    if filename not in _cache:
        _cache[filename] = os.path.realpath(filename)
    return _cache[filename]


def _codes(obj, depth=0, seen=None):
    """Every code object that ``obj`` (function, class, method, wrapper...) can run."""
    seen = set() if seen is None else seen
    if depth > 6 or id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, types.CodeType):
        yield obj
        for const in obj.co_consts:
            if isinstance(const, types.CodeType):
                yield from _codes(const, depth + 1, seen)
        return
    if isinstance(obj, type):
        for klass in obj.__mro__:
            if klass is object or klass.__module__ == "builtins":
                continue
            for value in list(vars(klass).values()):
                yield from _codes(value, depth + 1, seen)
        return
    inner = []
    if callable(obj) and not isinstance(obj, (types.FunctionType, types.MethodType,
                                              types.BuiltinFunctionType)):
        inner.append(type(obj))                  # a callable object: its class's code
    if isinstance(obj, types.FunctionType):
        yield from _codes(obj.__code__, depth + 1, seen)
        inner += [cell.cell_contents for cell in obj.__closure__ or ()
                  if _has_contents(cell)]
    if isinstance(obj, (staticmethod, classmethod, types.MethodType)):
        inner.append(obj.__func__)
    if isinstance(obj, property):
        inner += [obj.fget, obj.fset, obj.fdel]
    if isinstance(obj, functools.partial):
        inner.append(obj.func)
    try:
        inner.append(inspect.unwrap(obj))         # __wrapped__ (functools.wraps)
    except Exception:  # noqa: BLE001 - a cycle, or an object whose attributes raise
        pass
    for value in inner:
        if value is not None and (callable(value) or isinstance(value, (staticmethod,
                                                                        classmethod,
                                                                        property))):
            yield from _codes(value, depth + 1, seen)


def _has_contents(cell):
    try:
        cell.cell_contents
    except ValueError:           # an empty cell
        return False
    return True


class _Reference:
    """nblib's version of a task's piece: the code a submission must not hand in.

    That is the code of the reference's own body (its methods, not those of its
    base classes, which a student may build on), from its file.  The fresh copy's
    code objects, which the check itself runs, are the only ones allowed.
    """

    def __init__(self, reference, fresh):
        refs = reference if isinstance(reference, tuple) else (reference,)
        refs = [r for r in refs if r is not None]
        self.files = {_realpath(sys.modules[r.__module__].__file__) for r in refs}
        self.qualnames = tuple(r.__qualname__ for r in refs)
        self.allowed = set()
        for r in refs:
            body = vars(r).values() if isinstance(r, type) else (r,)
            for value in body:
                self.allowed |= {id(c) for c in _codes(value)}
        self._keep = refs               # keeps the allowed code objects (and their ids) alive

    def _is_reference(self, code):
        if _realpath(code.co_filename) not in self.files or id(code) in self.allowed:
            return False
        qualname = code.co_qualname
        return any(qualname == q or qualname.startswith(q + ".") for q in self.qualnames)

    def found_in(self, answer):
        """The qualified name of reference code that ``answer`` is built from, or ''."""
        if not self.qualnames:
            return ""
        for code in _codes(answer):
            if self._is_reference(code):
                return code.co_qualname.replace(".<locals>", "")
        return ""

    @contextmanager
    def watch(self):
        """Record every call of reference code (not the fresh copy's) inside the block."""
        ran = types.SimpleNamespace(calls=[], tampered=False)
        if not self.qualnames:
            yield ran
            return

        def hook(frame, event, arg):
            if event == "call" and self._is_reference(frame.f_code):
                ran.calls.append(frame.f_code.co_qualname)

        previous, previous_threads = sys.getprofile(), threading.getprofile()
        sys.setprofile(hook)
        threading.setprofile(hook)
        try:
            yield ran
        finally:
            ran.tampered = sys.getprofile() is not hook
            sys.setprofile(previous)
            threading.setprofile(previous_threads)
