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
