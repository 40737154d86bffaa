"""nblib.sweep: many training runs in worker processes, results in the order given."""
from __future__ import annotations

import sys

import numpy as np
import pytest

import nblib
from nblib import SpiralConfig
from nblib.experiments.sweep import train_quietly


def tiny(**kw):
    return SpiralConfig(n=40, hidden=(8,), epochs=2, **kw)


def _boom(config):
    raise RuntimeError(f"boom at seed {config.seed}")


def _seed_of(config):
    return config.seed


def test_results_follow_the_order_of_configs_and_match_a_single_process_run():
    configs = [tiny(seed=s) for s in (3, 1, 2)]
    parallel = nblib.sweep(configs, workers=2, progress=False)
    serial = nblib.sweep(configs, workers=1, progress=False)
    assert [r.config for r in parallel] == configs
    for a, b, c in zip(parallel, serial, configs):
        direct = train_quietly(c)
        for k, v in a.history.metrics().items():
            np.testing.assert_array_equal(v, b.history.metrics()[k])
            np.testing.assert_array_equal(v, direct.history.metrics()[k])


def test_identical_configs_are_trained_once_and_the_cache_is_reused():
    calls = []
    configs = [tiny(seed=0), tiny(seed=1), tiny(seed=0)]
    cache = {}
    out = nblib.sweep(configs, workers=1, progress=False, cache=cache,
                      run=lambda c: calls.append(c) or c.seed)
    assert out == [0, 1, 0] and calls == [tiny(seed=0), tiny(seed=1)]
    assert set(cache) == {tiny(seed=0), tiny(seed=1)}
    out = nblib.sweep([tiny(seed=1), tiny(seed=2)], workers=2, progress=False, cache=cache,
                      run=_seed_of)
    assert out == [1, 2] and len(cache) == 3      # seed 1 came from the cache


def test_an_error_in_a_worker_reaches_the_caller():
    with pytest.raises(RuntimeError, match="boom at seed"):
        nblib.sweep([tiny(seed=0), tiny(seed=1)], workers=2, progress=False, run=_boom)


def test_progress_bar_counts_completed_runs(capsys):
    nblib.sweep([tiny(seed=0), tiny(seed=1)], workers=2, progress=True, run=_seed_of)
    err = capsys.readouterr().err
    assert "sweep" in err and "2/2" in err



def _blas_threads(config):
    from threadpoolctl import threadpool_info
    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]


def test_each_worker_uses_one_blas_thread():
    """Even when this process allows more, a worker process computes on one BLAS thread."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(2):
        assert set(_blas_threads(None)) == {2}            # forked workers would inherit 2
        per_worker = nblib.sweep([tiny(seed=0), tiny(seed=1)], workers=2, progress=False,
                                 run=_blas_threads)
    assert per_worker == [[1], [1]]


def test_parallel_sweep_without_threadpoolctl_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)
    with pytest.raises(ImportError, match="pip install threadpoolctl"):
        nblib.sweep([tiny(seed=0), tiny(seed=1)], workers=2, progress=False, run=_seed_of)
    assert nblib.sweep([tiny(seed=0), tiny(seed=1)], workers=1, progress=False,
                       run=_seed_of) == [0, 1]


CALLS = []


def _counted(config):
    CALLS.append(config)
    return train_quietly(config)


def test_a_background_sweep_fills_the_cache_and_a_later_sweep_waits_instead_of_retraining():
    from nblib.experiments.sweep import start_sweep
    CALLS.clear()
    cache = {}
    configs = [tiny(seed=s) for s in (5, 6, 7)]
    job = start_sweep(configs, workers=1, run=_counted, cache=cache)
    results = nblib.sweep(configs[::-1], workers=1, progress=False, run=_counted, cache=cache)
    assert [r.config for r in results] == configs[::-1]
    job.wait()
    assert CALLS == configs                       # each trained once, in the order given
    assert set(cache) == set(configs)


def test_a_background_error_reaches_the_sweep_that_needs_the_run():
    from nblib.experiments.sweep import start_sweep
    cache = {}
    job = start_sweep([tiny(seed=9), tiny(seed=3)], workers=1, run=_boom, cache=cache)
    with pytest.raises(RuntimeError, match="boom at seed 9"):
        nblib.sweep([tiny(seed=9)], workers=1, progress=False, run=_boom, cache=cache)
    with pytest.raises(RuntimeError, match="boom at seed"):
        job.wait()


PIECE_WRITTEN = []


def _needs_a_piece(config):
    if not PIECE_WRITTEN:
        raise NotImplementedError("your LayerNorm is missing")
    return config.seed


def test_a_run_that_failed_in_the_background_is_trained_again_when_asked_for():
    # the student build: 05 starts its runs before the student's MyLayerNorm exists; the
    # runs that need it fail in the background, the others go on, and the page's later
    # sweep trains the failed ones again, with the piece written by then
    from nblib.experiments.sweep import start_sweep
    PIECE_WRITTEN.clear()
    cache, configs = {}, [tiny(seed=s) for s in (1, 2)]
    job = start_sweep(configs, workers=1, run=_needs_a_piece, cache=cache)
    with pytest.raises(NotImplementedError, match="LayerNorm is missing"):
        job.wait()
    assert set(job.failed) == set(configs) and cache == {}
    PIECE_WRITTEN.append(True)
    assert nblib.sweep(configs, workers=1, progress=False, run=_needs_a_piece,
                       cache=cache) == [1, 2]


def test_sweep_collects_errors_into_a_dict_and_trains_the_rest():
    errors = {}
    out = nblib.sweep([tiny(seed=9), tiny(seed=4)], workers=1, progress=False,
                      run=_boom_at_9, errors=errors)
    assert out == [4] and list(errors) == [tiny(seed=9)]
    assert "boom at seed 9" in str(errors[tiny(seed=9)])
    with pytest.raises(TypeError, match="errors must be a dict or None"):
        nblib.sweep([tiny()], workers=1, progress=False, errors=[])


def _boom_at_9(config):
    if config.seed == 9:
        raise RuntimeError("boom at seed 9")
    return config.seed


def test_start_sweep_needs_a_cache_and_configs():
    from nblib.experiments.sweep import start_sweep
    with pytest.raises(TypeError, match="cache must be a dict"):
        start_sweep([tiny()])
    with pytest.raises(TypeError, match="wrap it in a list"):
        start_sweep(tiny(), cache={})


# ----------------------------------------------------------------------------- your pieces
# install_pieces puts a student's pieces in nblib's place in this process only: a worker
# started afresh ("spawn": macOS, Windows; "forkserver": Linux from Python 3.14) imports
# nblib anew. The tests make each of them the default, as it is there.

NBLIB_MAKE_SPIRALS = [nblib.core.data.make_spirals]   # in a list: install_pieces swaps
# the names of a piece's module that hold nblib's piece


def _mirrored_spirals(n=300, noise=0.03, seed=42):
    """A make_spirals that is not nblib's: its points mirrored in the line y = x."""
    X, y = NBLIB_MAKE_SPIRALS[0](n, noise, seed)
    return X[:, ::-1].copy(), y


@pytest.fixture(params=["spawn", "forkserver"])
def spawn_by_default(request):
    import multiprocessing
    if request.param not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {request.param} here")
    before = multiprocessing.get_start_method(allow_none=True)
    multiprocessing.set_start_method(request.param, force=True)
    try:
        yield
    finally:
        multiprocessing.set_start_method(before, force=True)


@pytest.fixture
def mirrored_spirals_installed():
    from nblib.teaching import yourturn
    undo = yourturn.install_pieces({"make_spirals": _mirrored_spirals})
    try:
        yield
    finally:
        undo()


def _assert_same_runs(results, expected):
    assert [r.config for r in results] == [r.config for r in expected]
    for a, b in zip(results, expected):
        np.testing.assert_array_equal(a.X_train, b.X_train)
        for k, v in a.history.metrics().items():
            np.testing.assert_array_equal(v, b.history.metrics()[k])


def test_a_sweep_trains_the_installed_pieces_whatever_the_default_start_method(
        spawn_by_default, mirrored_spirals_installed):
    """With "spawn" as the default, the workers once imported nblib afresh and trained its
    make_spirals (the student build: raised "make_spirals() is yours to write"): they are
    forked now, and train the piece, as this process does."""
    configs = [tiny(seed=s) for s in (1, 2)]
    here = [train_quietly(c) for c in configs]
    X, y = NBLIB_MAKE_SPIRALS[0](40, configs[0].noise, configs[0].data_seed)
    ours = nblib.core.data.train_test_split(X, y, configs[0].test_fraction)[0]
    np.testing.assert_array_equal(here[0].X_train, ours[:, ::-1])   # the piece is in use
    _assert_same_runs(nblib.sweep(configs, workers=2, progress=False), here)
    cache = {}
    nblib.experiments.sweep.start_sweep(configs, workers=2, cache=cache).wait()
    _assert_same_runs([cache[c] for c in configs], here)


def test_where_the_platform_cannot_fork_the_installed_pieces_train_here_with_a_note(
        monkeypatch, capsys, spawn_by_default, mirrored_spirals_installed):
    import multiprocessing
    from nblib.experiments import sweep as sweep_module
    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    monkeypatch.setattr(sweep_module, "_NOTED", [], raising=False)
    configs = [tiny(seed=s) for s in (1, 2)]
    here = [train_quietly(c) for c in configs]
    _assert_same_runs(nblib.sweep(configs, workers=2, progress=False), here)
    assert "cannot fork" in capsys.readouterr().out
    _assert_same_runs(nblib.sweep(configs[::-1], workers=2, progress=False), here[::-1])
    assert capsys.readouterr().out == ""                        # said once


STARTED_IN = ["a fresh process"]


def _started_in(config):
    """What a worker sees of STARTED_IN: what this process set if forked, else the import's."""
    return STARTED_IN[0]


def test_with_no_pieces_installed_the_workers_start_the_default_way(spawn_by_default):
    from nblib.experiments import sweep as sweep_module
    from nblib.teaching import yourturn
    configs = [tiny(seed=s) for s in (1, 2)]
    STARTED_IN[:] = ["this process, forked"]
    try:
        undo = yourturn.install_pieces({"make_spirals": _mirrored_spirals})
        try:
            assert nblib.sweep(configs, workers=2, progress=False, run=_started_in) == \
                ["this process, forked"] * 2
        finally:
            undo()
        assert not sweep_module.PIECES_INSTALLED
        assert nblib.sweep(configs, workers=2, progress=False, run=_started_in) == \
            ["a fresh process"] * 2                                # spawned: the default
        # nblib's own piece installed (a failing check, the reader's edition): none of yours
        undo = yourturn.install_pieces({"make_spirals": nblib.core.data.make_spirals})
        try:
            assert not sweep_module.PIECES_INSTALLED
        finally:
            undo()
    finally:
        STARTED_IN[:] = ["a fresh process"]
