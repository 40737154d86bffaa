"""Training speed of nblib against PyTorch CPU eager, for the source and the book's recipe.

    python benchmarks/train_speed.py            # both recipes, best of 3 runs each (in turn)
    python benchmarks/train_speed.py --repeats 1 --recipes source --dtypes float64
    python benchmarks/train_speed.py --no-torch --keep-freed-memory   # nblib, glibc tuned
    python benchmarks/train_speed.py --eval-chunks   # evaluation in 96 kB chunks or one pass

The load average is printed before and after: on a shared machine, trust a run
only when it stays well below the number of cores.

Prints, for each recipe: nblib's training time in float64 and float32, PyTorch
eager's time for the same model, data and hyper-parameters (when torch is
installed), their ratio, and the training time until held-out accuracy first
exceeds 95%.  Times are measured in-process around the training loop alone:
imports, data generation and model construction are excluded.  Both loops do
the same work per epoch: shuffled mini-batch steps, then an evaluation-mode
pass over the training and the test set.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import time

# nblib runs with single-threaded BLAS: on these small products a second
# OpenBLAS thread does not help, and on a busy 2-core machine its spinning
# threads can make a run ten times slower.  Must be set before NumPy loads.
# PyTorch is timed twice: with its default intra-op threads, and with one.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import nblib  # noqa: E402
from nblib.core.config import (build_model, make_data, make_optimizer, make_schedule,  # noqa: E402
                          make_shuffle_rng)


def time_nblib(config):
    """(seconds of training, History, (CPU seconds, of which system, page faults)) for one
    nblib run.  CPU time and page faults hardly depend on what else the machine runs."""
    X_train, X_test, y_train, y_test = make_data(config)
    model = build_model(config)
    optimizer = make_optimizer(config, model.parameters())
    schedule = make_schedule(config)
    rng = make_shuffle_rng(config)
    before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    history = nblib.fit(model, optimizer, X_train, y_train, X_test, y_test, epochs=config.epochs,
                        batch_size=config.batch_size, schedule=schedule, rng=rng, progress=False)
    seconds, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF)
    system = after.ru_stime - before.ru_stime
    usage = (after.ru_utime - before.ru_utime + system, system, after.ru_minflt - before.ru_minflt)
    return seconds, history, usage


def time_torch(config, threads=None):
    """(seconds of training, test accuracies) for the same run in PyTorch eager.

    ``threads``: torch.set_num_threads(threads), or None for PyTorch's default.
    """
    import torch
    from torch import nn
    if threads is not None:
        torch.set_num_threads(threads)
    dtype = torch.float64 if config.dtype == "float64" else torch.float32
    X_train, X_test, y_train, y_test = make_data(config)
    ref = build_model(config)  # copy nblib's initial weights so both start alike
    layers = []
    for layer in ref.layers:
        if isinstance(layer, nblib.Linear):
            t = nn.Linear(layer.in_features, layer.out_features, bias=layer.bias is not None)
            with torch.no_grad():
                t.weight.copy_(torch.from_numpy(layer.weight.value))
                if layer.bias is not None:
                    t.bias.copy_(torch.from_numpy(layer.bias.value))
            layers.append(t)
        elif isinstance(layer, nblib.BatchNorm):
            layers.append(nn.BatchNorm1d(layer.num_features))
        elif isinstance(layer, nblib.LayerNorm):
            layers.append(nn.LayerNorm(layer.normalized_shape))
        elif isinstance(layer, nblib.ReLU):
            layers.append(nn.ReLU())
        elif isinstance(layer, nblib.Dropout):
            layers.append(nn.Dropout(layer.p))
        else:
            raise ValueError(f"no PyTorch counterpart for {layer!r}")
    model = nn.Sequential(*layers).to(dtype)
    opt = torch_optimizer(make_optimizer(config, ref.parameters()), ref, model)
    schedule = make_schedule(config)
    loss_fn = nn.BCEWithLogitsLoss()
    Xtr, Xte = torch.tensor(X_train, dtype=dtype), torch.tensor(X_test, dtype=dtype)
    ytr, yte = torch.tensor(y_train, dtype=dtype), torch.tensor(y_test, dtype=dtype)
    rng = make_shuffle_rng(config)
    test_acc, step = [], 0
    start = time.perf_counter()
    for _ in range(config.epochs):
        model.train()
        perm = torch.from_numpy(rng.permutation(len(Xtr)))
        for s in range(0, len(Xtr), config.batch_size):
            idx = perm[s:s + config.batch_size]
            for group in opt.param_groups:
                group["lr"] = schedule(step)
            opt.zero_grad()
            loss = loss_fn(model(Xtr[idx]).squeeze(1), ytr[idx])
            loss.backward()
            opt.step()
            step += 1
        model.eval()
        with torch.no_grad():
            for X, y in ((Xtr, ytr), (Xte, yte)):
                logits = model(X).squeeze(1)
                loss_fn(logits, y)
                acc = ((logits > 0) == (y == 1)).double().mean().item()
        test_acc.append(acc)
    return time.perf_counter() - start, test_acc


# nblib optimizer class -> its torch.optim counterpart (same name, same options)
TORCH_OPTIMIZERS = {nblib.SGD: "SGD", nblib.Adam: "Adam", nblib.AdamW: "AdamW"}


def torch_optimizer(nb_optimizer, nb_model, torch_model):
    """The torch.optim optimizer with ``nb_optimizer``'s class, parameter groups and options.

    Each group's Params are replaced by the torch parameters of the same name, so a
    recipe that decays only some parameters decays the same ones in both libraries.
    An optimizer without a PyTorch counterpart is an error, not a silent SGD.
    """
    import torch
    name = TORCH_OPTIMIZERS.get(type(nb_optimizer))
    if name is None:
        raise ValueError(f"no PyTorch counterpart for {type(nb_optimizer).__name__}; "
                         f"add it to TORCH_OPTIMIZERS (known: {sorted(TORCH_OPTIMIZERS.values())})")
    by_param = {id(p): dict(torch_model.named_parameters())[n]
                for n, p in nb_model.named_parameters()}
    groups = [dict(group, params=[by_param[id(p)] for p in group["params"]])
              for group in nb_optimizer.param_groups]
    return getattr(torch.optim, name)(groups)


def interleaved_best(runs, repeats):
    """Best (shortest) result of each run, the runs taking turns ``repeats`` times.

    Taking turns spreads a busy spell of a shared machine over all runs, instead of
    charging it to whichever was measured then.
    """
    best = {}
    for _ in range(repeats):
        for key, run in runs.items():
            result = run()
            if key not in best or result[0] < best[key][0]:
                best[key] = result
    return best


def time_eval_chunks(config, calls=300):
    """Best time of evaluating the train and test sets (predict_logits), taking turns:
    in nblib's chunks (``_chunk_rows``), in one pass, and in chunks of 256 rows."""
    from nblib.core.training import _chunk_rows
    X_train, X_test, _, _ = make_data(config)
    model = build_model(config)
    sizes = {f"chunks of {_chunk_rows(model)}": _chunk_rows(model), "one pass": len(X_train),
             "chunks of 256": 256}
    best = dict.fromkeys(sizes, float("inf"))
    for _ in range(calls):
        for label, rows in sizes.items():
            start = time.perf_counter()
            nblib.predict_logits(model, X_train, batch_size=rows)
            nblib.predict_logits(model, X_test, batch_size=rows)
            best[label] = min(best[label], time.perf_counter() - start)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement (best kept)")
    parser.add_argument("--recipes", default="source,book", help="comma-separated: source, book")
    parser.add_argument("--dtypes", default="float64,float32", help="comma-separated")
    parser.add_argument("--no-torch", action="store_true", help="time nblib only")
    parser.add_argument("--eval-chunks", action="store_true",
                        help="time only the evaluation, in chunks and in one pass")
    parser.add_argument("--keep-freed-memory", action="store_true",
                        help="call nblib.core._memory.keep_freed_memory() first (glibc's mallopt)")
    args = parser.parse_args()
    if args.keep_freed_memory:
        from nblib.core._memory import keep_freed_memory
        print("keep_freed_memory():", keep_freed_memory())
    every = {"source": ("source recipe", nblib.SpiralConfig.source()),
             "book": ("book recipe", nblib.SpiralConfig())}
    unknown = set(args.recipes.split(",")) - set(every)
    if unknown:
        parser.error(f"unknown recipe(s) {sorted(unknown)}; choose from {sorted(every)}")
    recipes = dict(every[r] for r in args.recipes.split(","))
    if args.eval_chunks:
        for name, config in recipes.items():
            for dtype in args.dtypes.split(","):
                best = time_eval_chunks(config.replace(dtype=dtype))
                print(f"{name}, {dtype}: " + ", ".join(f"{label} {1e3 * t:.2f} ms"
                                                       for label, t in best.items()), flush=True)
        return
    try:
        if args.no_torch:
            raise ImportError
        import torch  # noqa: F401
        have_torch = True
    except ImportError:
        have_torch = False
        if not args.no_torch:
            print("PyTorch not installed: pip install torch==2.13.0 for the comparison")
    if have_torch:
        import torch
        default_threads = torch.get_num_threads()
        print(f"PyTorch {torch.__version__}: default {default_threads} intra-op threads; "
              "NumPy with 1 OpenBLAS thread")
    print("load average (1, 5, 15 min): %.2f %.2f %.2f" % os.getloadavg())
    for name, config in recipes.items():
        print(f"== {name}: {config!r}")
        for dtype in args.dtypes.split(","):
            cfg = config.replace(dtype=dtype)
            runs = {"nblib": lambda: time_nblib(cfg)}
            if have_torch:
                runs[f"default threads ({default_threads})"] = lambda: time_torch(
                    cfg, threads=default_threads)
                runs["1 thread"] = lambda: time_torch(cfg, threads=1)
            best = interleaved_best(runs, args.repeats)
            if have_torch:
                torch.set_num_threads(default_threads)
            t_np, hist, (cpu, system, faults) = best.pop("nblib")
            t95 = hist.time_to_accuracy(0.95)
            reach = f"95% after {t95:.3f} s" if t95 is not None else "never above 95%"
            print(f"  {dtype}: nblib {t_np:6.3f} s (final test acc {hist.test_acc[-1]:.1%}, "
                  f"{reach}, epoch {hist.epoch_to_accuracy(0.95)}); that run's CPU {cpu:.2f} s, "
                  f"of which system {system:.2f} s, {faults} page faults", flush=True)
            for label, (t_pt, accs) in best.items():
                print(f"           torch eager, {label}: {t_pt:6.3f} s "
                      f"(final test acc {accs[-1]:.1%})  ratio nblib/torch {t_np / t_pt:.2f}",
                      flush=True)
    print("load average (1, 5, 15 min): %.2f %.2f %.2f" % os.getloadavg())


if __name__ == "__main__":
    main()
