"""Hidden tests in a fresh process: grading that a submission's own code cannot influence.

``grade_source(task_id, source, *, prelude="", seed=None, time_limit=TIME_LIMIT)``
grades one task on the *source* of its answer cell, as taken from the submitted
notebook (``teacher/nbgrader_isolated.py`` does so for ``nbgrader autograde``):

- a new Python process (``python -I``: no ``PYTHONPATH``, no user site, not the
  current folder on ``sys.path``), whose working folder is an empty temporary folder,
  so that files handed in beside the notebook (an ``nblib/`` folder, a patched
  ``grading.py``) are never imported; it loads the teacher's nblib by absolute path;
- without network (a new network namespace, ``unshare -rn``, where the system
  allows it), with a memory limit and ``time_limit`` seconds: then it is killed;
- ``prelude`` (the cells before the answer): its imports of numpy, nblib and a few
  standard modules (``PRELUDE_MODULES``) are made first; then the answer cell runs with an audit hook (``sys.addaudithook``, which Python
  code cannot remove) that refuses, while any of the student's code is on the
  stack: frames (``sys._getframe``, ``tb_frame``, ``gi_frame``...), profile and trace
  hooks, the garbage collector's object lists, ``compile``/``exec``/``eval`` of
  strings and new code objects, reading nblib's files, sub-processes, sockets, and
  changing a class or function that existed before it ran.  Each refusal is
  recorded, and the task fails with it even if the student's code caught the error;
- the task's reference (nblib's own piece) is found in the answer's code objects,
  and each of its functions reports its calls; a call made while the student's code
  is on the stack fails the task;
- nblib's, NumPy's and the standard helpers' module attributes are compared before
  and after: a change fails the task;
- the verdict comes back on the process's standard output behind a random token
  that only the grader knows (read from stdin before the student's code runs), so
  that printing a fake verdict earns nothing.

Returns a ``Verdict``: ``passed``, ``message`` (the check's, or why the task earns
nothing), ``seconds``.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent        # the teacher's nblib/
ROOT = PACKAGE_DIR.parent
TIME_LIMIT = 60.0
"""Seconds one task's hidden test may take in its process (the check itself stops a
loop after ``nblib.teaching.selfcheck.TIME_LIMIT`` seconds)."""
MEMORY_LIMIT = 4 * 2**30
"""Bytes of address space the grading process may use."""
STUDENT_FILE = "<answer cell>"
"""The file name of the student's code objects: how the audit hook recognises them."""


@dataclass
class Verdict:
    task_id: str
    passed: bool
    message: str
    seconds: float = 0.0

    def __str__(self):
        return f"{self.task_id}: {'PASS' if self.passed else 'FAIL'} - {self.message}"


def _network_off():
    """['unshare', '-rn'] if this system lets a process drop its network, else []."""
    if not hasattr(_network_off, "cached"):
        tool = shutil.which("unshare")
        ok = False
        if tool:
            try:
                ok = subprocess.run([tool, "-rn", "true"], capture_output=True,
                                    timeout=10).returncode == 0
            except (OSError, subprocess.SubprocessError):
                ok = False
        _network_off.cached = [tool, "-rn"] if ok else []
    return _network_off.cached


def _limits():                       # runs in the child, before Python starts
    try:
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    except (ImportError, ValueError, OSError):
        pass


def _run(command, stdin, work, env, time_limit, attempts=2):
    """subprocess.run of the grading process; a process that could not be started (an
    OSError or a failed start, as on a machine out of processes or memory for a moment) is
    started again once before the error is the grader's."""
    for attempt in range(attempts):
        try:
            return subprocess.run(command, input=stdin, cwd=work, env=env,
                                  capture_output=True, text=True, timeout=time_limit,
                                  preexec_fn=_limits)
        except subprocess.TimeoutExpired:
            raise
        except (OSError, subprocess.SubprocessError):
            if attempt == attempts - 1:
                raise
            time.sleep(1.0)


def grade_source(task_id, source, *, prelude="", seed=None, time_limit=TIME_LIMIT,
                 part=None, python=None):
    """Grade ``task_id`` (its rubric item ``part``, if given) on the answer cell's ``source``
    in a fresh process; a ``Verdict``."""
    if not isinstance(task_id, str):
        raise TypeError(f"task_id must be a str, got {type(task_id).__name__}")
    if not isinstance(source, str) or not isinstance(prelude, str):
        raise TypeError("source and prelude must be str (the cells' code)")
    if seed is None:
        seed = secrets.randbelow(2**31)
    elif isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an int >= 0 or None, got {seed!r}")
    token = secrets.token_hex(16)
    request = dict(token=token, root=str(ROOT), task_id=task_id, source=source,
                   prelude=prelude, seed=seed, part=part)
    what = f"{task_id}{'' if part is None else ' ' + part} (hidden test, seed {seed})"
    # -B: no bytecode written. An import the answer's code makes (numpy's lazily loaded
    # parts) would otherwise write its .pyc where none was compiled (an install by uv, a
    # fresh copy), and the audit hook refuses a write with the student's code on the stack.
    command = [*_network_off(), python or sys.executable, "-I", "-B", "-X", "utf8",
               str(Path(__file__).resolve())]
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="nblib-grade-") as work:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": work,
               "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "MPLBACKEND": "Agg", "LANG": "C.UTF-8"}
        try:
            proc = _run(command, json.dumps(request), work, env, time_limit)
        except subprocess.TimeoutExpired:
            return Verdict(task_id, False, f"{what}: did not finish within {time_limit:g} s "
                                           "(killed): is there a loop that never ends?",
                           time.monotonic() - started)
    seconds = time.monotonic() - started
    for line in proc.stdout.splitlines():
        if line.startswith(token + " "):
            result = json.loads(line[len(token) + 1:])
            return Verdict(task_id, result["passed"], f"{what}: {result['message']}", seconds)
    tail = (proc.stderr.strip().splitlines() or ["no output"])[-1][:300]
    return Verdict(task_id, False, f"{what}: the grading process ended without a verdict "
                                   f"(exit code {proc.returncode}: {tail})", seconds)


# ============================================================================= the child
def _load_nblib(root):
    """Import the teacher's nblib from ``root`` by path, whatever else is installed."""
    import importlib.util
    init = Path(root) / "nblib" / "__init__.py"
    spec = importlib.util.spec_from_file_location("nblib", init,
                                                  submodule_search_locations=[str(init.parent)])
    module = importlib.util.module_from_spec(spec)
    sys.modules["nblib"] = module
    spec.loader.exec_module(module)
    return module


def _child():
    request = json.loads(sys.stdin.read())
    token = request.pop("token")
    out = os.dup(1)                  # the verdict's channel, whatever happens to sys.stdout
    try:
        verdict = _child_grade(request)
    except BaseException as err:  # noqa: BLE001 - the grader's own failure is a verdict too
        verdict = dict(passed=False, message=f"the grader failed: {type(err).__name__}: {err}")
    os.write(out, f"{token} {json.dumps(verdict)}\n".encode())
    os._exit(0)                      # no exit handlers, no finalizers of the student's objects


def _snapshot():
    """{(module, name): id(value)} of nblib's, NumPy's and a few standard modules."""
    names = ("builtins", "math", "functools", "operator", "inspect", "types", "signal",
             "time", "traceback", "linecache", "importlib")
    out = {}
    for name, module in list(sys.modules.items()):
        if module is None or not (name in names or name == "nblib" or name.startswith(
                ("nblib.", "numpy"))):
            continue
        for key, value in list(vars(module).items()):
            out[name, key] = id(value)
            if isinstance(value, type) and getattr(value, "__module__", "") == name \
                    and name.startswith("nblib"):
                for attr, inner in list(vars(value).items()):
                    out[f"{name}.{key}", attr] = id(inner)
    return out


def _child_grade(request):
    import gc
    import types

    _load_nblib(request["root"])
    import numpy as np  # noqa: F401 - loaded before the student's code
    from nblib.teaching import grading, registry, selfcheck  # noqa: F401
    from nblib.teaching import checks, mistakes, yourturn  # noqa: F401

    task_id, seed = request["task_id"], request["seed"]
    if task_id not in registry.ALL:
        return dict(passed=False, message=f"no task {task_id!r} in nblib.teaching.registry")
    task = registry.ALL[task_id]
    options = registry.part_options(task_id, request.get("part"))
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    _run_prelude(request["prelude"], namespace)
    try:
        code = compile(request["source"], STUDENT_FILE, "exec")
    except SyntaxError as err:
        return dict(passed=False, message=f"the answer cell does not compile: {err.msg} "
                                          f"(line {err.lineno})")
    reference = grading._Reference(task.reference, None)
    reference.allowed = set()        # here the check runs the same nblib as the answer
    state = types.SimpleNamespace(busy=False, refused=[], reference_calls=[])
    _wire(task.reference, state)
    nblib_dir = os.path.realpath(os.path.join(request["root"], "nblib"))
    existing = {id(o) for o in gc.get_objects() if isinstance(o, (type, types.FunctionType))}
    before = _snapshot()
    sys.addaudithook(_hook(state, nblib_dir, existing))

    name = task.name
    try:
        verdict = _answer_verdict(task, code, namespace, reference, seed, selfcheck, options)
    finally:
        state.busy = True            # nothing more is refused: the verdict is being written
    after = _snapshot()
    changed = [f"{m}.{k}" for (m, k), v in before.items() if after.get((m, k)) != v]
    if changed:
        return dict(passed=False, message=f"the submission changed {', '.join(changed[:3])} "
                                          "at runtime: a submission may not patch nblib, "
                                          "NumPy or Python")
    refused = _refused(state)
    if refused:
        return refused
    if state.reference_calls:
        return dict(passed=False, message=f"{name} runs nblib's own "
                                          f"{state.reference_calls[0]}: hand in your own code")
    return verdict


def _answer_verdict(task, code, namespace, reference, seed, selfcheck, options):
    """Run the answer cell, then the task's check on its piece: the verdict (a dict)."""
    name = task.name
    try:
        with selfcheck.time_limit(selfcheck.TIME_LIMIT):
            exec(code, namespace)
    except selfcheck.CheckTimeout:
        return dict(passed=False, message=f"the answer cell did not finish within "
                                          f"{selfcheck.TIME_LIMIT:g} s")
    except NotImplementedError:
        return dict(passed=False, message="not implemented yet: the answer cell raised "
                                          "NotImplementedError")
    except BaseException as err:  # noqa: BLE001 - whatever the student's cell raises
        return dict(passed=False, message=f"the answer cell raised {type(err).__name__}: "
                                          f"{err}{selfcheck.where(err)}")
    if name not in namespace:
        return dict(passed=False, message=f"the answer cell defines no {name}")
    answer = namespace[name]
    borrowed = reference.found_in(answer)
    if borrowed:
        return dict(passed=False, message=f"{name} is built from nblib's own {borrowed}: "
                                          "hand in your own code")
    try:
        result = task.check(answer, verbose=False, seed=seed, **options)
    except TypeError as err:
        result = selfcheck.CheckResult(name, False, str(err))
    except BaseException as err:  # noqa: BLE001 - the submission broke the check itself
        result = selfcheck.CheckResult(name, False, f"the check failed: "
                                                    f"{type(err).__name__}: {err}")
    return dict(passed=bool(result.passed),
                message=("PASS - " if result.passed else "") + result.message)


PRELUDE_MODULES = ("numpy", "nblib", "math", "functools", "itertools", "collections",
                   "dataclasses", "typing", "numbers")
"""The modules whose imports, in the cells before an answer, are made for it."""


def _run_prelude(prelude, namespace):
    """Run the import statements of ``prelude`` that import PRELUDE_MODULES (each alone:
    one that fails is left out), before the student's code and its restrictions."""
    import ast
    try:
        tree = ast.parse(prelude)
    except SyntaxError:
        return
    for node in tree.body:
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            modules = [node.module or ""]
        else:
            continue
        if not all(m.split(".")[0] in PRELUDE_MODULES for m in modules):
            continue
        try:
            exec(compile(ast.Module([node], []), "<prelude>", "exec"), namespace)
        except Exception:  # noqa: BLE001 - an import that fails is left out
            pass


def _refused(state):
    if state.refused:
        return dict(passed=False, message=f"the submission tried {state.refused[0]}, which "
                                          "graded code may not do; it earns no points")
    return None


def _wire(reference, state):
    """Make every function of nblib's reference report its calls (``sys.audit``)."""
    import functools
    import types
    refs = reference if isinstance(reference, tuple) else (reference,)
    for ref in refs:
        if ref is None:
            continue
        if isinstance(ref, type):
            for key, value in list(vars(ref).items()):
                if isinstance(value, types.FunctionType):
                    setattr(ref, key, _tripwire(value, functools))
        else:
            wired = _tripwire(ref, functools)
            for name, module in list(sys.modules.items()):
                if name == "nblib" or name.startswith("nblib."):
                    for key, value in list(vars(module).items()):
                        if value is ref:
                            setattr(module, key, wired)


def _tripwire(fn, functools):
    qualname = fn.__qualname__
    audit = sys.audit

    @functools.wraps(fn)
    def reported(*args, **kwargs):
        audit("nblib.grading.reference", qualname)
        return fn(*args, **kwargs)
    return reported


_FRAME_ATTRS = {"tb_frame", "gi_frame", "cr_frame", "ag_frame", "f_code", "gi_code",
                "cr_code", "ag_code"}
_REFUSED = {"sys._getframe", "sys._current_frames", "sys._getframemodulename",
            "sys.setprofile", "sys.settrace", "sys.addaudithook", "gc.get_objects",
            "gc.get_referrers", "gc.get_referents", "code.__new__", "function.__new__",
            "ctypes.dlopen", "ctypes.dlsym", "ctypes.cdata",
            "subprocess.Popen", "os.system", "os.exec", "os.spawn", "os.posix_spawn",
            "os.fork", "os.forkpty", "os.kill", "os.killpg", "socket.__new__",
            "socket.connect", "socket.bind", "socket.getaddrinfo", "pty.spawn",
            "signal.pthread_kill", "sys.unraisablehook", "sys.excepthook",
            "cpython.run_command", "cpython._PySys_ClearAuditHooks", "os.putenv"}


def _hook(state, nblib_dir, existing):
    getframe = sys._getframe
    realpath, fspath = os.path.realpath, os.fspath

    def student_on_stack():
        frame = getframe(2)
        while frame is not None:
            if frame.f_code.co_filename == STUDENT_FILE:
                return True
            frame = frame.f_back
        return False

    def hook(event, args):
        if state.busy:
            return
        if event == "nblib.grading.reference":
            relevant = True
        elif event in _REFUSED or event in ("compile", "exec", "open", "object.__getattr__",
                                            "object.__setattr__", "object.__delattr__"):
            relevant = True
        else:
            return
        state.busy = True
        try:
            if not student_on_stack():
                return
            what = ""
            if event == "nblib.grading.reference":
                state.reference_calls.append(args[0])
                return
            if event in ("sys._getframe", "sys._getframemodulename") and not getframe(
                    1).f_code.co_filename.endswith((STUDENT_FILE, "/inspect.py",
                                                    "/traceback.py")):
                return        # a library's own use (a warning's origin, a namedtuple's module)
            if event in _REFUSED:
                what = event
            elif event in ("compile", "exec") and getframe(1).f_code.co_filename \
                    != STUDENT_FILE:
                return          # the library's own (a namedtuple, a dataclass, an import)
            elif event == "compile":
                filename = fspath(args[1]) if isinstance(args[1], (str, bytes, os.PathLike)) \
                    else ""
                filename = filename.decode() if isinstance(filename, bytes) else filename
                if not filename.endswith(".py") or realpath(filename).startswith(nblib_dir) \
                        or not os.path.isfile(filename):
                    what = "compile/exec/eval of a string"
            elif event == "exec":
                code = args[0]
                if getattr(code, "co_filename", "") != STUDENT_FILE:
                    filename = getattr(code, "co_filename", "")
                    if not filename.endswith(".py") or realpath(filename).startswith(nblib_dir):
                        what = "exec of a code object"
            elif event == "open":
                path, mode = args[0], args[1]
                if isinstance(path, int):
                    path = ""
                path = realpath(fspath(path)) if path else ""
                writing = isinstance(mode, str) and any(c in mode for c in "wax+")
                if path.startswith((nblib_dir, "/proc")) or writing:
                    what = f"open({path!r}, {mode!r})"
            elif event == "object.__getattr__":
                if args[1] in _FRAME_ATTRS:
                    what = f"reading .{args[1]} (a frame)"
            elif event in ("object.__setattr__", "object.__delattr__"):
                if id(args[0]) in existing:
                    what = f"changing {getattr(args[0], '__qualname__', args[0])!s:.60}." \
                           f"{args[1]}"
            if what:
                state.refused.append(what)
                raise RuntimeError(f"{what} is not allowed in graded code")
        finally:
            state.busy = False

    return hook


if __name__ == "__main__":
    _child()
