"""Train many configurations at once: two processes by default (workers=2), one progress bar.

``sweep(configs)`` hands each ``SpiralConfig`` to ``train_spirals`` in a pool of
worker processes and returns the results in the order of ``configs``.  The
function a worker runs must be importable (defined in a module, not in a
notebook), because it is sent to the worker by name.

A worker must train the same pieces as this process.  While a student's pieces stand
in nblib's place (``PIECES_INSTALLED``, set by ``nblib.teaching.yourturn.install_pieces``),
the workers are forked, so they inherit them: a worker started afresh ("spawn", the
default on macOS and Windows; "forkserver", on Linux from Python 3.14) imports nblib
anew and would train nblib's own pieces.  Where the platform cannot fork, the runs are
trained in this process, as with ``workers=1``, and a one-line note says so (once).
Otherwise the workers start with multiprocessing's default method.
"""
from __future__ import annotations

import importlib.util
import multiprocessing
import threading
import time
from concurrent.futures import ProcessPoolExecutor, as_completed

from ..core.validate import check_instance, check_int
from ..core.config import SpiralConfig
from ..core.experiment import train_spirals
from ..core.progress import progress_bar


PIECES_INSTALLED = False
"""True while some of nblib's names hold pieces that are not nblib's own (a student's
``Linear``, ``make_spirals``...): ``nblib.teaching.yourturn.install_pieces`` sets it, and
the function it returns (its undo) clears it.  ``sweep`` then forks its workers, or trains
here where the platform cannot fork (``_start_method``)."""

_NOTED = []   # the note that this platform cannot fork has been printed (once per process)


def _start_method():
    """How ``sweep`` starts its workers: None (multiprocessing's default method), "fork"
    (pieces are installed: a forked worker inherits them) or "here" (pieces are installed
    and the platform cannot fork: no workers, the runs train in this process)."""
    if not PIECES_INSTALLED:
        return None
    if "fork" in multiprocessing.get_all_start_methods():
        return "fork"
    if not _NOTED:
        _NOTED.append(True)
        print("note: this platform cannot fork, and a fresh worker process would train "
              "nblib's pieces, not yours: the runs train here, one after another")
    return "here"


def _one_blas_thread():
    """Worker initializer: one BLAS thread in this process.

    With one training run per core, BLAS threads would only fight over the same
    cores (and OpenBLAS threads spin while they wait, which is very slow when the
    cores are busy).  The environment variable OPENBLAS_NUM_THREADS=1 does the
    same, but only before NumPy is loaded, and a forked worker has it loaded already.
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


def train_quietly(config):
    """``train_spirals(config)`` without its per-epoch progress bar (the default ``run``)."""
    return train_spirals(config, progress=False)


def sweep(configs, workers=2, progress=True, run=train_quietly, cache=None, errors=None):
    """Train every config and return the results, in the order of ``configs``.

    Inputs
    - configs: an iterable of ``SpiralConfig``; identical configs are trained once
      and share their result
    - workers: processes to train in (>= 1); 1 trains here, in this process, and so
      does any number while your pieces are installed on a platform that cannot fork
      (see the module's docstring)
    - progress: show a tqdm bar that advances as runs complete
    - run: ``run(config) -> result``, a module-level function (default
      ``train_quietly``, that is ``train_spirals(config, progress=False)``)
    - cache: a dict {config: result} or None; configs found in it are not trained
      again, and every new result is added to it (give each ``run`` its own cache)
    - errors: None raises the first error of a run; a dict collects them instead,
      {config: exception}, and the other runs go on (their results then leave the list:
      use ``cache``)

    Returns
    - a list with one result per config (``SpiralResult`` for the default ``run``)
    """
    if isinstance(configs, SpiralConfig):
        raise TypeError("configs must be an iterable of SpiralConfig, got a single "
                        "SpiralConfig: wrap it in a list")
    try:
        configs = list(configs)
    except TypeError:
        raise TypeError(f"configs must be an iterable of SpiralConfig, "
                        f"got {type(configs).__name__}") from None
    for i, config in enumerate(configs):
        check_instance(config, f"configs[{i}]", SpiralConfig, "a SpiralConfig")
    workers = check_int(workers, "workers", minimum=1)
    if not isinstance(progress, bool):
        raise TypeError(f"progress must be a bool, got {type(progress).__name__}")
    if not callable(run):
        raise TypeError(f"run must be callable, got {type(run).__name__}")
    if cache is not None and not isinstance(cache, dict):
        raise TypeError(f"cache must be a dict or None, got {type(cache).__name__}")
    if errors is not None and not isinstance(errors, dict):
        raise TypeError(f"errors must be a dict or None, got {type(errors).__name__}")

    done = {} if cache is None else cache
    if cache is not None:
        _wait_for_background(configs, cache)
    unique = [c for c in dict.fromkeys(configs) if c not in done]   # in order, no repeats
    method = _start_method() if workers > 1 and len(unique) > 1 else None
    if method == "here":
        workers = 1
    if workers > 1 and len(unique) > 1 and importlib.util.find_spec("threadpoolctl") is None:
        raise ImportError("sweep with workers > 1 needs threadpoolctl to keep each worker on "
                          "one BLAS thread: pip install threadpoolctl (or nblib[sweep]), "
                          "or pass workers=1")
    bar = progress_bar(len(unique), "sweep", "run") if progress else None
    try:
        if workers == 1 or len(unique) <= 1:
            for config in unique:
                _collect(done, errors, config, run, config)
                if bar is not None:
                    bar.update(1)
        else:
            context = None if method is None else multiprocessing.get_context(method)
            with ProcessPoolExecutor(max_workers=min(workers, len(unique)), mp_context=context,
                                     initializer=_one_blas_thread) as pool:
                futures = {pool.submit(run, config): config for config in unique}
                for future in as_completed(futures):
                    _collect(done, errors, futures[future], future.result)  # a worker's error
                    if bar is not None:
                        bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return [done[config] for config in configs if config in done]


def _collect(done, errors, config, get, *args):
    """done[config] = get(*args); its error raises, or goes into ``errors`` if a dict."""
    try:
        done[config] = get(*args)
    except Exception as error:
        if errors is None:
            raise
        errors[config] = error


class BackgroundSweep:
    """A ``sweep`` running in a thread of this process (see ``start_sweep``)."""

    def __init__(self, configs, workers, run, cache):
        self.configs, self.cache, self.error = set(configs), cache, None
        self.failed = {}                # {config: its error}: trained again when asked for
        self._thread = threading.Thread(target=self._sweep, args=(configs, workers, run),
                                        daemon=True, name="nblib-background-sweep")

    def _sweep(self, configs, workers, run):
        try:
            sweep(configs, workers=workers, progress=False, run=run, cache=self.cache,
                  errors=self.failed)
        except BaseException as error:            # handed to whoever waits for a result
            self.error = error

    @property
    def running(self):
        return self._thread.is_alive()

    def wait(self):
        """Block until every run is trained; re-raise a worker's error (the first)."""
        self._thread.join()
        if self.error is not None:
            raise self.error
        for error in self.failed.values():
            raise error


_BACKGROUND = []   # the BackgroundSweeps started in this process


def start_sweep(configs, workers=2, run=train_quietly, cache=None):
    """Start ``sweep(configs, ...)`` in the background and return at once.

    The runs are trained in the order given, each result put into ``cache`` as soon as it
    is done, while the notebook goes on.  A later ``sweep`` with the same ``cache`` dict
    waits for the runs it needs that are still in flight instead of training them again;
    so start the page's runs early, in the order the page uses them. A run that fails
    does not stop the others: the later ``sweep`` that asks for it trains it again (and
    raises its error if it fails again), so a run can start before a piece it needs is
    written (the student build of nblib).

    Inputs
    - configs, workers, run: as for ``sweep``
    - cache: a dict {config: result}, required: the results arrive in it
    Returns
    - a ``BackgroundSweep``; ``.wait()`` blocks until all of it is done
    """
    if not isinstance(cache, dict):
        raise TypeError(f"cache must be a dict (the results arrive in it), "
                        f"got {type(cache).__name__}")
    if isinstance(configs, SpiralConfig):
        raise TypeError("configs must be an iterable of SpiralConfig, got a single "
                        "SpiralConfig: wrap it in a list")
    configs = list(configs)
    for i, config in enumerate(configs):
        check_instance(config, f"configs[{i}]", SpiralConfig, "a SpiralConfig")
    workers = check_int(workers, "workers", minimum=1)
    if workers > 1:
        _start_method()          # its note, if any, shows under the cell that starts the sweep
    job = BackgroundSweep(configs, workers, run, cache)
    _BACKGROUND.append(job)
    job._thread.start()
    return job


def _wait_for_background(configs, cache):
    """Wait until no config of ``configs`` is still being trained into ``cache``."""
    for job in list(_BACKGROUND):
        if job.cache is not cache or job._thread is threading.current_thread():
            continue                              # another cache, or the job itself
        needed = [c for c in configs if c in job.configs]
        while job.running and any(c not in cache and c not in job.failed for c in needed):
            time.sleep(0.02)
        if not job.running:
            _BACKGROUND.remove(job)
            if job.error is not None and any(c not in cache for c in needed):
                raise job.error
