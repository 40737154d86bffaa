"""The classic two-spiral benchmark (Wieland, CMU collection): epochs and seconds to solve it.

    python benchmarks/cmu_benchmark.py                 # 20 seeds, ablations over 5 seeds
    python benchmarks/cmu_benchmark.py --seeds 10 --ablation-seeds 3 --max-epochs 3000

Trains the chapter's network (``nblib.experiments.cmu.CMU_RECIPE``: 2 -> 128 -> 128 -> 64 -> 1,
BatchNorm, ReLU, He initialisation, Adam at 0.01, full batch) on the 194 points until
all are right under the 40-20-40 rule, once per seed, and prints the median epochs and
seconds.  Then the ablations, each changing one thing: no BatchNorm, sigmoid units
instead of ReLU, 1980s initialisation (U(-0.5, 0.5)) instead of He's, SGD with
momentum instead of Adam, and all four together (the 1988 network's parts at this
width).  Runs that are not solved within --max-epochs are reported as such.

Seconds are wall time of the training loop (the 40-20-40 check after every epoch
included), in one process with single-threaded BLAS; the machine's load is printed.
"""
from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")   # before NumPy loads: see train_speed.py

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from nblib import SpiralConfig, build_model, make_optimizer  # noqa: E402
from nblib.experiments.cmu import (BENCHMARK_ABLATION_SEEDS, BENCHMARK_MAX_EPOCHS,  # noqa: E402
                                   CMU_RECIPE, cmu_spirals, solve_cmu, train_until_solved,
                                   uniform_init, with_sigmoid)

# name: (what changes, config overrides, sigmoid units, uniform initialisation)
ABLATIONS = {
    "chapter": ("the chapter's network", {}, False, False),
    "no-bn": ("no BatchNorm", {"norm": None}, False, False),
    "sigmoid": ("sigmoid units instead of ReLU", {}, True, False),
    "uniform": ("U(-0.5, 0.5) initialisation instead of He", {}, False, True),
    "sgd": ("SGD + momentum 0.9 (lr 0.1) instead of Adam",
            {"optimizer": "momentum", "lr": 0.1}, False, False),
    "1988": ("all four: sigmoid, U(-0.5, 0.5), no BatchNorm, SGD + momentum",
             {"norm": None, "optimizer": "momentum", "lr": 0.1}, True, True),
}


def attempt(name, seed, max_epochs):
    """One BenchmarkRun of an ablation."""
    _, overrides, sigmoid, uniform = ABLATIONS[name]
    if not sigmoid and not uniform:
        return solve_cmu(seed, max_epochs, **overrides)
    config = SpiralConfig(seed=seed, **{**CMU_RECIPE, **overrides})
    model = build_model(config)
    if sigmoid:
        model = with_sigmoid(model)
    if uniform:
        uniform_init(model, 0.5, np.random.default_rng(seed))
    X, y = cmu_spirals()
    return train_until_solved(model, make_optimizer(config, model.parameters()), X, y,
                              max_epochs=max_epochs, rng=np.random.default_rng(seed))


def summary(runs, max_epochs):
    solved = [r for r in runs if r.solved]
    epochs = [r.epochs for r in solved]
    line = f"solved {len(solved)}/{len(runs)}"
    if solved:
        line += (f", epochs median {np.median(epochs):g} (min {min(epochs)}, max {max(epochs)})"
                 f", seconds median {np.median([r.seconds for r in solved]):.2f}")
    if len(solved) < len(runs):
        line += f"; not solved within {max_epochs} epochs: {len(runs) - len(solved)}"
    return line


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20, help="seeds of the chapter's network")
    parser.add_argument("--ablation-seeds", type=int, default=BENCHMARK_ABLATION_SEEDS,
                        help="seeds per ablation")
    parser.add_argument("--max-epochs", type=int, default=BENCHMARK_MAX_EPOCHS,
                        help="give up after this many")
    args = parser.parse_args(argv)
    print(f"load average before: {os.getloadavg()}")
    for name, (label, *_rest) in ABLATIONS.items():
        seeds = args.seeds if name == "chapter" else args.ablation_seeds
        runs = [attempt(name, seed, args.max_epochs) for seed in range(seeds)]
        print(f"{label:62s} {summary(runs, args.max_epochs)}", flush=True)
        if name == "chapter":
            print("  epochs per seed:", [r.epochs for r in runs])
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
