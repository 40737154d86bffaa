"""The robust claim on the full grid: every (seed, data_seed) run > 95% on its held-out points,
and every run's fresh-sample accuracy within 1 point of the Bayes ceiling.

    python benchmarks/claim_grid.py                          # 50 random data seeds x 10 seeds
    python benchmarks/claim_grid.py --data-seeds 10 --seeds 3
    python benchmarks/claim_grid.py --variant dropout=0.15 --data-seeds 20 --seeds 5

The recipe and the 50 data seeds (drawn once at random, never tuned on) come from
tests/test_claim.py (the seeds kept in nblib.experiments.stats, where the book's claim page
reads their counts), so the benchmark and CI check the same thing.  Prints the pairs, the
minimum and mean held-out accuracy (with the Wilson interval of the worst run), the
fresh-sample accuracy per data seed against the Bayes ceiling, the training time to pass
95% on the held-out points, the load average and the wall-clock seconds.

``--variant key=value ...`` also trains the recipe with those fields changed on the same
pairs and prints both side by side (for example, whether dropout earns its place).
"""
from __future__ import annotations

import argparse
import ast
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")   # before NumPy loads: see train_speed.py

import numpy as np  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests")]
from nblib import SpiralConfig, bayes_accuracy, sweep, train_spirals  # noqa: E402
from nblib.experiments.stats import (CLAIM_GRID_SEEDS, binomial_interval,  # noqa: E402
                                     fresh_accuracy)
from test_claim import RANDOM_DATA_SEEDS, book_config  # noqa: E402


def measure(config):
    """What the claim needs from one run (module level: sweep sends it to its workers)."""
    result = train_spirals(config, progress=False)
    history = result.history
    n_test = len(result.y_test)
    return dict(test=result.test_accuracy, correct=round(result.test_accuracy * n_test),
                n_test=n_test, train=history.train_acc[-1] if history.train_acc else np.nan,
                fresh=fresh_accuracy(result.model, config), diverged=history.diverged,
                t95=history.time_to_accuracy(0.95), seconds=history.seconds[-1])


def parse_changes(items):
    """["dropout=0.15", "epochs=120"] -> {"dropout": 0.15, "epochs": 120}."""
    changes = {}
    for item in items:
        key, _, value = item.partition("=")
        if key not in SpiralConfig.__dataclass_fields__ or not value:
            raise SystemExit(f"--variant: expected field=value with a SpiralConfig field, "
                             f"got {item!r}")
        changes[key] = ast.literal_eval(value)
    return changes


def report(label, pairs, runs, ceiling):
    test = np.array([r["test"] for r in runs])
    fresh = np.array([r["fresh"] for r in runs])
    failing = [(d, s, round(r["test"], 4)) for (d, s), r in zip(pairs, runs)
               if not r["test"] > 0.95 or r["diverged"]]
    worst = min(runs, key=lambda r: r["test"])
    low, high = binomial_interval(worst["correct"], worst["n_test"])
    t95 = np.array([np.inf if r["t95"] is None else r["t95"] for r in runs])
    print(f"\n== {label}")
    print(f"pairs: {len(runs)} ({len({d for d, _ in pairs})} data seeds x "
          f"{len({s for _, s in pairs})} seeds); passing > 95%: {len(runs) - len(failing)}")
    print(f"held-out accuracy: min {test.min():.4f} (95% interval {low:.3f}-{high:.3f}), "
          f"mean {test.mean():.4f}; training accuracy mean "
          f"{np.mean([r['train'] for r in runs]):.4f}")
    if failing:
        print(f"failing (data_seed, seed, acc): {failing}")
    print(f"fresh-sample accuracy (20,000 points): min {fresh.min():.4f}, "
          f"mean {fresh.mean():.4f}; "
          f"Bayes ceiling {ceiling:.4f}; largest gap {ceiling - fresh.min():+.4f}; "
          f"runs more than 1 point under: {int(np.sum(fresh < ceiling - 0.01))}")
    print(f"training time to pass 95% held-out: median {np.median(t95):.3f} s, "
          f"max {t95.max():.3f} s; run length median "
          f"{np.median([r['seconds'] for r in runs]):.2f} s")
    print("fresh-sample accuracy per data seed (min / mean over seeds) vs ceiling:")
    for d in dict.fromkeys(d for d, _ in pairs):
        values = [r["fresh"] for (dd, _), r in zip(pairs, runs) if dd == d]
        held = [r["test"] for (dd, _), r in zip(pairs, runs) if dd == d]
        print(f"  data_seed {d:>10}: fresh {min(values):.4f} / {np.mean(values):.4f} "
              f"(gap {ceiling - min(values):+.4f}); held-out min {min(held):.4f}")
    return fresh, test


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-seeds", type=int, default=len(RANDOM_DATA_SEEDS),
                        help=f"how many of the {len(RANDOM_DATA_SEEDS)} random data seeds "
                             "(the first N)")
    parser.add_argument("--seeds", type=int, default=CLAIM_GRID_SEEDS,
                        help="initialisation seeds 0..N-1")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--variant", nargs="*", default=[],
                        help="also train the recipe with these fields changed (field=value)")
    args = parser.parse_args(argv)
    pairs = [(d, s) for d in RANDOM_DATA_SEEDS[:args.data_seeds] for s in range(args.seeds)]
    ceiling = bayes_accuracy()
    print(f"recipe: {book_config()!r}; load average before: {os.getloadavg()}")
    start = time.perf_counter()
    runs = sweep([book_config(data_seed=d, seed=s) for d, s in pairs], workers=args.workers,
                 progress=False, run=measure)
    fresh, test = report("the book's recipe", pairs, runs, ceiling)
    if args.variant:
        changes = parse_changes(args.variant)
        other = sweep([book_config(data_seed=d, seed=s, **changes) for d, s in pairs],
                      workers=args.workers, progress=False, run=measure)
        other_fresh, other_test = report(f"the recipe with {changes}", pairs, other, ceiling)
        diff = fresh - other_fresh
        print(f"\nrecipe minus variant, paired over {len(pairs)} runs: fresh-sample accuracy "
              f"{diff.mean():+.4f} (standard error {diff.std(ddof=1) / np.sqrt(len(diff)):.4f}); "
              f"held-out {np.mean(test - other_test):+.4f}")
    print(f"\nwall-clock: {time.perf_counter() - start:.0f} s with {args.workers} workers; "
          f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
