"""Every public name of nblib rejects bad input with a TypeError/ValueError that names the argument.

A student who passes a wrong shape, a NaN, a negative learning rate or a misspelt option
should read "lr must be > 0.0, got -1" and not a broadcasting traceback from deep inside
NumPy.  ``CASES`` maps every public callable to calls that must fail that way, and
``test_every_public_callable_has_a_bad_input_test`` keeps the map complete.
``MORE_CASES`` does the same for methods and for the functions of ``nblib.viz.plots`` and
``nblib.viz.widgets``: this file is the one place where bad-input cases live.
"""
import types

import numpy as np
import pytest

import nblib
from nblib import (SGD, Adam, AdamW, BatchNorm, Constant, Dropout, Exponential, History,
                   LayerNorm, Linear, Module, OneCycle, Optimizer, Param, ReLU, Schedule,
                   Sequential, Sigmoid, SpiralConfig, StepDecay, WarmupCosine, bayes_accuracy,
                   bayes_posterior, bce_with_logits, build_model, check_layer, check_model,
                   evaluate, fit, make_data, make_optimizer, make_schedule, make_spirals,
                   numerical_gradient, predict_logits, predict_proba, rel_error, sigmoid,
                   spiral_centres, train_epoch, train_spirals, train_test_split)

RNG = np.random.default_rng(0)
X = RNG.normal(size=(12, 2))
Y = np.array([0, 1] * 6)
X_NAN = X.copy()
X_NAN[3, 1] = np.nan
X_INF = X.copy()
X_INF[0, 0] = np.inf


def small_model(norm=None, dtype="float64"):
    return build_model(SpiralConfig(hidden=(4,), norm=norm, seed=1, dtype=dtype))


def params():
    return small_model().parameters()


def opt_for(model):
    return Adam(model.parameters(), 0.01)


def fit_call(make_model=small_model, **changes):
    """fit(...) with good arguments except ``changes``, built only when called."""
    def call():
        model = make_model()
        kwargs = dict(model=model, optimizer=opt_for(model), X_train=X, y_train=Y, X_test=X,
                      y_test=Y, epochs=1, batch_size=4, rng=np.random.default_rng(0),
                      progress=False)
        kwargs.update(changes)
        return fit(**kwargs)
    return call


def train_epoch_call(**changes):
    def call():
        model = small_model()
        kwargs = dict(model=model, optimizer=opt_for(model), X=X, y=Y, batch_size=4,
                      rng=np.random.default_rng(0))
        kwargs.update(changes)
        return train_epoch(**kwargs)
    return call


def set_lr(opt, value):
    opt.lr = value


def forward_then_backward(layer, x, dout):
    layer.forward(x)
    return layer.backward(dout)


V, T = ValueError, TypeError

# public name -> [(call, exception type, regex the message must contain)]
CASES = {
    # --- data -------------------------------------------------------------------------------
    "make_spirals": [
        (lambda: make_spirals(0), V, r"\bn\b"),
        (lambda: make_spirals(-5), V, r"\bn\b"),
        (lambda: make_spirals(2.5), T, r"\bn\b"),
        (lambda: make_spirals(True), T, r"\bn\b"),
        (lambda: make_spirals(10, -0.1), V, r"\bnoise\b"),
        (lambda: make_spirals(10, float("nan")), V, r"\bnoise\b"),
        (lambda: make_spirals(10, float("inf")), V, r"\bnoise\b"),
        (lambda: make_spirals(10, "0.1"), T, r"\bnoise\b"),
        (lambda: make_spirals(10, 0.1, seed=-1), V, r"\bseed\b"),
        (lambda: make_spirals(10, 0.1, seed=np.random.default_rng(0)), T, r"\bseed\b"),
    ],
    "spiral_centres": [
        (lambda: spiral_centres(0), V, r"\bn\b"),
        (lambda: spiral_centres(3.0), T, r"\bn\b"),
    ],
    "train_test_split": [
        (lambda: train_test_split(X[:, 0], Y), V, r"\bX\b"),
        (lambda: train_test_split(X_NAN, Y), V, r"\bX\b"),
        (lambda: train_test_split(X.astype(str), Y), T, r"\bX\b"),
        (lambda: train_test_split("X", Y), T, r"\bX\b"),
        (lambda: train_test_split(X, Y[:-1]), V, r"\by\b"),
        (lambda: train_test_split(X, Y + 1), V, r"\by\b"),
        (lambda: train_test_split(X, Y, 0.0), V, r"\btest_fraction\b"),
        (lambda: train_test_split(X, Y, 1.0), V, r"\btest_fraction\b"),
        (lambda: train_test_split(X, Y, -0.2), V, r"\btest_fraction\b"),
        (lambda: train_test_split(X[:2], Y[:2], 0.6), V, r"\btest_fraction\b"),
    ],
    "bayes_posterior": [
        (lambda: bayes_posterior(X[:, :1]), V, r"\bX\b"),
        (lambda: bayes_posterior(np.zeros((3, 3))), V, r"\bX\b"),
        (lambda: bayes_posterior(X_NAN), V, r"\bX\b"),
        (lambda: bayes_posterior(X_INF), V, r"\bX\b"),
        (lambda: bayes_posterior(X, n=0), V, r"\bn\b"),
        (lambda: bayes_posterior(X, noise=0.0), V, r"\bnoise\b"),
        (lambda: bayes_posterior(X, noise=-1.0), V, r"\bnoise\b"),
        (lambda: bayes_posterior(X, variant="both"), V, r"\bvariant\b"),
        (lambda: bayes_posterior("X"), T, r"\bX\b"),
        (lambda: bayes_posterior(X, n=2.5), T, r"\bn\b"),
    ],
    "bayes_accuracy": [
        (lambda: bayes_accuracy(0), V, r"\bn\b"),
        (lambda: bayes_accuracy(300, 0.0), V, r"\bnoise\b"),
        (lambda: bayes_accuracy(300, -0.03), V, r"\bnoise\b"),
        (lambda: bayes_accuracy(300, 0.03, "nope"), V, r"\bvariant\b"),
        (lambda: bayes_accuracy(300, 0.03, samples=0), V, r"\bsamples\b"),
        (lambda: bayes_accuracy(300, 0.03, seed=-1), V, r"\bseed\b"),
        (lambda: bayes_accuracy(300, 1e305), V, r"\bnoise\b"),   # its samples would overflow
        (lambda: bayes_accuracy(300, "0.03"), T, r"\bnoise\b"),
        (lambda: bayes_accuracy(300, 0.03, samples=1e4), T, r"\bsamples\b"),
    ],
    # --- layers -----------------------------------------------------------------------------
    "Param": [
        (lambda: Param("weights"), T, r"\bvalue\b"),
        (lambda: Param(np.arange(3)), T, r"\bvalue\b"),   # an int array cannot be trained
        (lambda: Param(np.array([1.0, np.nan])), V, r"\bvalue\b"),
        (lambda: setattr(Param(np.zeros(3)), "value", np.zeros(4)), V, r"\bvalue\b"),
        (lambda: setattr(Param(np.zeros(3)), "grad", np.zeros((3, 1))), V, r"\bgrad\b"),
    ],
    "Module": [
        (lambda: Module().train("yes"), T, r"\bmode\b"),
        (lambda: small_model().train(1), T, r"\bmode\b"),
        # a wrong value, where the shared call checks look: backward needs forward's shape
        (lambda: forward_then_backward(Linear(2, 3), np.zeros((4, 2)), np.zeros((4, 2))), V,
         r"\bdout\b"),
    ],
    "Sequential": [
        (lambda: Sequential(Linear(2, 3), "relu"), T, r"layers\[1\]"),
        (lambda: Sequential(ReLU), T, r"layers\[0\]"),
    ],
    "Linear": [
        (lambda: Linear(0, 3), V, r"\bin_features\b"),
        (lambda: Linear(2, -1), V, r"\bout_features\b"),
        (lambda: Linear(2, 3.0), T, r"\bout_features\b"),
        (lambda: Linear(2, 3, bias="no"), T, r"\bbias\b"),
        (lambda: Linear(2, 3, rng=0.5), T, r"\brng\b"),
        (lambda: Linear(2, 3, rng="seed"), T, r"\brng\b"),
        (lambda: Linear(2, 3, dtype="float99"), T, r"\bdtype\b"),
        (lambda: Linear(2, 3).forward(np.zeros((4, 3))), V, r"\bx\b"),
        (lambda: Linear(2, 3).forward(np.zeros(2)), V, r"\bx\b"),
        (lambda: Linear(2, 3).forward([[1.0, 2.0]]), V, r"\bx\b"),
    ],
    "BatchNorm": [
        (lambda: BatchNorm(0), V, r"\bnum_features\b"),
        (lambda: BatchNorm(4, momentum=1.5), V, r"\bmomentum\b"),
        (lambda: BatchNorm(4, eps=0.0), V, r"\beps\b"),
        (lambda: BatchNorm(4, dtype="float99"), T, r"\bdtype\b"),
        (lambda: BatchNorm(4).forward(np.zeros((5, 3))), V, r"\bx\b"),
        (lambda: BatchNorm(4).forward(np.zeros(4)), V, r"\bx\b"),
        (lambda: BatchNorm(4).forward(np.zeros((1, 4))), V, r"2 rows"),
    ],
    "LayerNorm": [
        (lambda: LayerNorm(0), V, r"\bnormalized_shape\b"),
        (lambda: LayerNorm(4, eps=-1e-5), V, r"\beps\b"),
        (lambda: LayerNorm(4, dtype="float99"), T, r"\bdtype\b"),
        (lambda: LayerNorm(4).forward(np.zeros((5, 3))), V, r"\bx\b"),
    ],
    "ReLU": [
        (lambda: ReLU().forward([[1.0, -1.0]]), (T, V), r"\bx\b"),
        (lambda: ReLU().forward("x"), T, r"\bx\b"),
        (lambda: ReLU().forward(np.arange(4).reshape(2, 2)), T, r"\bx\b"),  # ints: no gradient
        (lambda: forward_then_backward(ReLU(), np.zeros((2, 2)), np.zeros((3, 3))), V,
         r"\bdout\b"),
    ],
    "Sigmoid": [
        (lambda: Sigmoid().forward([[1.0, -1.0]]), (T, V), r"\bx\b"),
        (lambda: Sigmoid().forward(None), T, r"\bx\b"),
        (lambda: forward_then_backward(Sigmoid(), np.zeros((2, 2)), np.zeros(2)), V,
         r"\bdout\b"),
    ],
    "Dropout": [
        (lambda: Dropout(1.0), V, r"\bp\b"),
        (lambda: Dropout(-0.1), V, r"\bp\b"),
        (lambda: Dropout(float("nan")), V, r"\bp\b"),
        (lambda: Dropout("0.5"), T, r"\bp\b"),
        (lambda: Dropout(0.5, rng="seed"), T, r"\brng\b"),
        (lambda: Dropout(0.5, rng=np.random.RandomState(0)), T, r"\brng\b"),
        (lambda: Dropout(0.5, rng=np.random.default_rng(0)).forward([[1.0, 2.0]]), (T, V),
         r"\bx\b"),
    ],
    # --- loss -------------------------------------------------------------------------------
    "bce_with_logits": [
        (lambda: bce_with_logits(np.zeros((4, 2)), Y[:4]), V, r"\blogits\b"),
        (lambda: bce_with_logits(np.zeros((2, 2, 1)), Y[:2]), V, r"\blogits\b"),
        (lambda: bce_with_logits(np.array([0.0, np.nan]), Y[:2]), V, r"\blogits\b"),
        (lambda: bce_with_logits(np.array([np.inf, 0.0]), Y[:2]), V, r"\blogits\b"),
        (lambda: bce_with_logits(np.zeros(0), Y[:0]), V, r"\blogits\b"),
        (lambda: bce_with_logits(np.array(["1", "2"]), Y[:2]), T, r"\blogits\b"),
        (lambda: bce_with_logits(np.zeros(4), Y[:3]), V, r"\by\b"),
        (lambda: bce_with_logits(np.zeros(2), np.array([0, 2])), V, r"\by\b"),
        (lambda: bce_with_logits(np.zeros(2), np.array([0.5, 1.0])), V, r"\by\b"),
        (lambda: bce_with_logits(np.zeros((2, 1)), np.zeros((2, 1))), V, r"\by\b"),
    ],
    "sigmoid": [
        (lambda: sigmoid("abc"), T, r"\bz\b"),
        (lambda: sigmoid(None), T, r"\bz\b"),
        (lambda: sigmoid(np.array(["a"])), T, r"\bz\b"),
        (lambda: sigmoid([[1.0], [2.0, 3.0]]), V, r"\bz\b"),
    ],
    # --- optimizers -------------------------------------------------------------------------
    "Optimizer": [
        (lambda: Optimizer([], 0.1), V, r"\bparams\b"),
        (lambda: Optimizer([np.zeros(3)], 0.1), T, r"params\[0\]"),
        (lambda: Optimizer(params(), -1.0), V, r"\blr\b"),
        (lambda: set_lr(SGD(params(), 0.1), -0.1), V, r"\blr\b"),     # 0 is allowed: a schedule's end
        (lambda: set_lr(SGD(params(), 0.1), "0.1"), T, r"\blr\b"),
        (lambda: set_lr(SGD(params(), 0.1), float("nan")), V, r"\blr\b"),
    ],
    "SGD": [
        (lambda: SGD(params(), 0.0), V, r"\blr\b"),
        (lambda: SGD(params(), -0.1), V, r"\blr\b"),
        (lambda: SGD(params(), "0.1"), T, r"\blr\b"),
        (lambda: SGD(params(), 0.1, momentum=1.5), V, r"\bmomentum\b"),
        (lambda: SGD(params(), 0.1, momentum=-0.5), V, r"\bmomentum\b"),
        (lambda: SGD(params(), 0.1, nesterov=True), V, r"\bnesterov\b"),
        (lambda: SGD(params(), 0.1, momentum=0.9, nesterov=1), T, r"\bnesterov\b"),
        (lambda: SGD(params(), 0.1, weight_decay=-1e-4), V, r"\bweight_decay\b"),
        (lambda: SGD(small_model(), 0.1), T, r"\bparams\b"),          # forgot .parameters()
        (lambda: SGD(small_model().parameters, 0.1), T, r"\bparams\b"),  # forgot the ()
    ],
    "Adam": [
        (lambda: Adam(params(), 0.0), V, r"\blr\b"),
        (lambda: Adam(params(), float("inf")), V, r"\blr\b"),
        (lambda: Adam(params(), 0.01, betas=0.9), T, r"\bbetas\b"),
        (lambda: Adam(params(), 0.01, betas=(0.9,)), T, r"\bbetas\b"),
        (lambda: Adam(params(), 0.01, betas=(1.0, 0.999)), V, r"betas\[0\]"),
        (lambda: Adam(params(), 0.01, betas=(0.9, -0.1)), V, r"betas\[1\]"),
        (lambda: Adam(params(), 0.01, eps=-1e-8), V, r"\beps\b"),
        (lambda: Adam(params(), 0.01, weight_decay=-0.1), V, r"\bweight_decay\b"),
        (lambda: Adam([], 0.01), V, r"\bparams\b"),
        (lambda: Adam(small_model(), 0.01), T, r"\bparams\b"),
    ],
    "AdamW": [
        (lambda: AdamW(params(), -1.0), V, r"\blr\b"),
        (lambda: AdamW(params(), 0.01, weight_decay=-0.01), V, r"\bweight_decay\b"),
        (lambda: AdamW(params(), 0.01, betas=(0.9, 1.0)), V, r"betas\[1\]"),
        (lambda: AdamW(params(), "0.01"), T, r"\blr\b"),
        (lambda: AdamW(params(), 0.01, eps=0.0), V, r"\beps\b"),   # 0 / 0 at a zero gradient
    ],
    # --- schedules --------------------------------------------------------------------------
    "Schedule": [
        (lambda: Schedule()(-1), V, r"\bstep\b"),
        (lambda: Schedule()(1.5), T, r"\bstep\b"),
    ],
    "Constant": [
        (lambda: Constant(0.0), V, r"\blr\b"),
        (lambda: Constant("0.1"), T, r"\blr\b"),
        (lambda: Constant(0.1)(-3), V, r"\bstep\b"),
    ],
    "StepDecay": [
        (lambda: StepDecay(-0.1, 10), V, r"\blr\b"),
        (lambda: StepDecay(0.1, 0), V, r"\bstep_size\b"),
        (lambda: StepDecay(0.1, 10.0), T, r"\bstep_size\b"),
        (lambda: StepDecay(0.1, 10, gamma=0.0), V, r"\bgamma\b"),
        (lambda: StepDecay(0.1, 10, gamma=1.5), V, r"\bgamma\b"),
    ],
    "Exponential": [
        (lambda: Exponential(0.1, 0.0), V, r"\bgamma\b"),
        (lambda: Exponential(0.1, 2.0), V, r"\bgamma\b"),
        (lambda: Exponential(float("inf"), 0.9), V, r"\blr\b"),
        (lambda: Exponential("0.1", 0.9), T, r"\blr\b"),
    ],
    "WarmupCosine": [
        (lambda: WarmupCosine(0.0, 100), V, r"\blr\b"),
        (lambda: WarmupCosine(0.1, 0), V, r"\btotal_steps\b"),
        (lambda: WarmupCosine(0.1, 100, warmup_steps=100), V, r"\bwarmup_steps\b"),
        (lambda: WarmupCosine(0.1, 100, warmup_steps=-1), V, r"\bwarmup_steps\b"),
        (lambda: WarmupCosine(0.1, 100, min_lr=0.2), V, r"\bmin_lr\b"),
        (lambda: WarmupCosine(0.1, 100, min_lr=-0.01), V, r"\bmin_lr\b"),
        (lambda: WarmupCosine(0.1, 100.0), T, r"\btotal_steps\b"),
    ],
    "OneCycle": [
        (lambda: OneCycle(0.0, 100), V, r"\bmax_lr\b"),
        (lambda: OneCycle(0.1, 1), V, r"\btotal_steps\b"),
        (lambda: OneCycle(0.1, 100, pct_start=0.0), V, r"\bpct_start\b"),
        (lambda: OneCycle(0.1, 100, pct_start=1.0), V, r"\bpct_start\b"),
        (lambda: OneCycle(0.1, 100, div_factor=0.5), V, r"\bdiv_factor\b"),
        (lambda: OneCycle(0.1, 100, final_div_factor=0.0), V, r"\bfinal_div_factor\b"),
        (lambda: OneCycle(0.1, 100, anneal="cosine"), V, r"\banneal\b"),
        (lambda: OneCycle(0.1, "100"), T, r"\btotal_steps\b"),
    ],
    # --- training ---------------------------------------------------------------------------
    "History": [
        (lambda: History(test_acc=[0.9]).time_to_accuracy(1.5), V, r"\btarget\b"),
        (lambda: History(test_acc=[0.9]).epoch_to_accuracy("high"), T, r"\btarget\b"),
    ],
    "predict_logits": [
        (lambda: predict_logits("model", X), T, r"\bmodel\b"),
        (lambda: predict_logits(small_model(), X[:, 0]), V, r"\bX\b"),
        (lambda: predict_logits(small_model(), X_NAN), V, r"\bX\b"),
        (lambda: predict_logits(small_model(), X[:0]), V, r"\bX\b"),
        (lambda: predict_logits(small_model(), X, batch_size=0), V, r"\bbatch_size\b"),
        (lambda: predict_logits(small_model(), X, batch_size=2.0), T, r"\bbatch_size\b"),
        # three outputs per row are not one logit: flattening them would mix the rows
        (lambda: predict_logits(Sequential(Linear(2, 3)), X), V, r"\bmodel\b"),
    ],
    "predict_proba": [
        (lambda: predict_proba(None, X), T, r"\bmodel\b"),
        (lambda: predict_proba(small_model(), X_INF), V, r"\bX\b"),
        (lambda: predict_proba(small_model(), "X"), T, r"\bX\b"),
        (lambda: predict_proba(Sequential(), X), V, r"\bmodel\b"),     # (N, 2): not logits
    ],
    "evaluate": [
        (lambda: evaluate(Linear, X, Y), T, r"\bmodel\b"),
        (lambda: evaluate(small_model(), X_NAN, Y), V, r"\bX\b"),
        (lambda: evaluate(small_model(), X, Y[:5]), V, r"\by\b"),
        (lambda: evaluate(small_model(), X, Y * 3), V, r"\by\b"),
        (lambda: evaluate(Sequential(Linear(2, 2)), X, Y), V, r"\bmodel\b"),
    ],
    "train_epoch": [
        (train_epoch_call(model="model"), T, r"\bmodel\b"),
        (train_epoch_call(optimizer=None), T, r"\boptimizer\b"),
        (train_epoch_call(X=X_NAN), V, r"\bX\b"),
        (train_epoch_call(y=Y[:-1]), V, r"\by\b"),
        (train_epoch_call(batch_size=0), V, r"\bbatch_size\b"),
        (train_epoch_call(rng=0), T, r"\brng\b"),
        (train_epoch_call(schedule=0.1), T, r"\bschedule\b"),
        (train_epoch_call(step=-1), V, r"\bstep\b"),
        (train_epoch_call(optimizer=opt_for(small_model())), V, r"\boptimizer\b"),
    ],
    "fit": [
        (fit_call(model=object()), T, r"\bmodel\b"),
        (fit_call(optimizer="adam"), T, r"\boptimizer\b"),
        (fit_call(X_train=X_NAN), V, r"\bX_train\b"),
        (fit_call(X_train=X[:, 0]), V, r"\bX_train\b"),
        (fit_call(y_train=Y[:-2]), V, r"\by_train\b"),
        (fit_call(y_train=Y - 1), V, r"\by_train\b"),
        (fit_call(X_test=np.zeros((4, 3))), V, r"\bX_test\b"),
        (fit_call(X_test=X_INF), V, r"\bX_test\b"),
        (fit_call(y_test=Y[:3]), V, r"\by_test\b"),
        (fit_call(epochs=0), V, r"\bepochs\b"),
        (fit_call(epochs=2.0), T, r"\bepochs\b"),
        (fit_call(batch_size=0), V, r"\bbatch_size\b"),
        (fit_call(schedule="onecycle"), T, r"\bschedule\b"),
        (fit_call(rng=42), T, r"\brng\b"),
        (fit_call(rng=None), T, r"\brng\b"),
        (fit_call(on_epoch_end="print"), T, r"\bon_epoch_end\b"),
        # 12 rows in batches of 11 leave a last batch of 1 row, which BatchNorm cannot train on
        (fit_call(lambda: small_model("batch"), batch_size=11), V, r"\bbatch_size\b"),
        (fit_call(lambda: small_model("batch"), batch_size=1), V, r"\bbatch_size\b"),
        (fit_call(history={"lr": []}), T, r"\bhistory\b"),
        (fit_call(progress="yes"), T, r"\bprogress\b"),
        # an optimizer of another model would train that model's weights, not this one's
        (fit_call(optimizer=opt_for(small_model())), V, r"\boptimizer\b"),
        # a schedule is a function of the step: every rate of the run is checked first
        (fit_call(epochs=5, schedule=lambda step: 0.1 - 0.01 * step), V, r"\bschedule\(11\)"),
        (fit_call(schedule=lambda step: "0.1"), T, r"\bschedule\(0\)"),
    ],
    # --- config -----------------------------------------------------------------------------
    "SpiralConfig": [
        (lambda: SpiralConfig(n=0), V, r"\bn\b"),
        (lambda: SpiralConfig(noise=-0.01), V, r"\bnoise\b"),
        (lambda: SpiralConfig(noise=float("nan")), V, r"\bnoise\b"),
        (lambda: SpiralConfig(data_seed=-1), V, r"\bdata_seed\b"),
        (lambda: SpiralConfig(test_fraction=0.0), V, r"\btest_fraction\b"),
        (lambda: SpiralConfig(test_fraction=1.0), V, r"\btest_fraction\b"),
        (lambda: SpiralConfig(hidden=()), T, r"\bhidden\b"),
        (lambda: SpiralConfig(hidden=64), T, r"\bhidden\b"),
        (lambda: SpiralConfig(hidden=(64, 0)), V, r"hidden\[1\]"),
        (lambda: SpiralConfig(hidden=(64, 32.5)), T, r"hidden\[1\]"),
        (lambda: SpiralConfig(norm="batchnorm"), V, r"\bnorm\b"),
        (lambda: SpiralConfig(norm="none"), V, r"\bnorm\b"),
        (lambda: SpiralConfig(dropout=1.0), V, r"\bdropout\b"),
        (lambda: SpiralConfig(dropout=-0.1), V, r"\bdropout\b"),
        (lambda: SpiralConfig(optimizer="rmsprop"), V, r"\boptimizer\b"),
        (lambda: SpiralConfig(lr=0.0), V, r"\blr\b"),
        (lambda: SpiralConfig(lr=-0.02), V, r"\blr\b"),
        (lambda: SpiralConfig(momentum=1.5), V, r"\bmomentum\b"),
        (lambda: SpiralConfig(weight_decay=-1.0), V, r"\bweight_decay\b"),
        (lambda: SpiralConfig(schedule="cyclic"), V, r"\bschedule\b"),
        (lambda: SpiralConfig(epochs=0), V, r"\bepochs\b"),
        (lambda: SpiralConfig(batch_size=0), V, r"\bbatch_size\b"),
        (lambda: SpiralConfig(seed=-1), V, r"\bseed\b"),
        (lambda: SpiralConfig(seed=1.5), T, r"\bseed\b"),
        (lambda: SpiralConfig(dtype="float16"), V, r"\bdtype\b"),
        (lambda: SpiralConfig(dtype=np.float32), V, r"\bdtype\b"),
        (lambda: SpiralConfig.source(epochs=0), V, r"\bepochs\b"),
        (lambda: SpiralConfig().replace(lr=0.0), V, r"\blr\b"),
        (lambda: SpiralConfig().replace(learning_rate=0.1), T, r"\blearning_rate\b"),
    ],
    "build_model": [
        (lambda: build_model({"hidden": (8,)}), T, r"\bconfig\b"),
        (lambda: build_model(None), T, r"\bconfig\b"),
    ],
    "make_data": [
        (lambda: make_data("default"), T, r"\bconfig\b"),
    ],
    "make_optimizer": [
        (lambda: make_optimizer(None, params()), T, r"\bconfig\b"),
        (lambda: make_optimizer(SpiralConfig(), []), V, r"\bparams\b"),
    ],
    "make_schedule": [
        (lambda: make_schedule({"schedule": "onecycle"}), T, r"\bconfig\b"),
    ],
    "train_spirals": [
        (lambda: train_spirals({"epochs": 1}, progress=False), T, r"\bconfig\b"),
        (lambda: train_spirals(SpiralConfig(epochs=1), progress=False, on_epoch_end=1), T,
         r"\bon_epoch_end\b"),
        (lambda: train_spirals(SpiralConfig(hidden=(4,), epochs=1), progress="no"), T,
         r"\bprogress\b"),
        # 480 training rows in batches of 479 leave 1 row, which BatchNorm cannot train on
        (lambda: train_spirals(SpiralConfig(hidden=(4,), epochs=1, batch_size=479),
                               progress=False), V, r"\bbatch_size\b"),
    ],
    # --- gradient checks --------------------------------------------------------------------
    "rel_error": [
        (lambda: rel_error(np.zeros(3), np.zeros(4)), V, r"\ba\b.*\bb\b"),
        (lambda: rel_error("a", np.zeros(3)), T, r"\ba\b"),
        (lambda: rel_error(np.zeros(3), None), T, r"\bb\b"),
    ],
    "numerical_gradient": [
        (lambda: numerical_gradient(3.0, np.zeros(3)), T, r"\bf\b"),
        (lambda: numerical_gradient(lambda: 0.0, [1.0, 2.0]), T, r"\bx\b"),
        (lambda: numerical_gradient(lambda: 0.0, np.arange(3)), T, r"\bx\b"),
        (lambda: numerical_gradient(lambda: 0.0, np.zeros(3), h=0.0), V, r"\bh\b"),
    ],
    "check_layer": [
        (lambda: check_layer(lambda x: x, X), T, r"\blayer\b"),
        (lambda: check_layer(ReLU(), X[:, 0]), V, r"\bx\b"),
        (lambda: check_layer(ReLU(), X_NAN), V, r"\bx\b"),
        (lambda: check_layer(ReLU(), X, rng="seed"), T, r"\brng\b"),
        (lambda: check_layer(ReLU(), X, h=-1e-6), V, r"\bh\b"),
        (lambda: check_layer(Linear(2, 3, rng=0, dtype=np.float32), X), V, r"\blayer\b"),
    ],
    "check_model": [
        (lambda: check_model("model", X, Y), T, r"\bmodel\b"),
        (lambda: check_model(small_model(), X[:, 0], Y), V, r"\bX\b"),
        (lambda: check_model(small_model(), X_NAN, Y), V, r"\bX\b"),
        (lambda: check_model(small_model(), X, Y[:4]), V, r"\by\b"),
        (lambda: check_model(small_model(), X, Y, h=0.0), V, r"\bh\b"),
        (lambda: check_model(small_model(dtype="float32"), X, Y), V, r"\bmodel\b.*float64"),
    ],
}

# The figure and widget helpers, reached through ``nblib.`` at call time.
def recorder_with_frame():
    model = small_model()
    rec = nblib.BoundaryRecorder(1, resolution=4)
    rec(0, nblib.History(test_acc=[0.5]), model)
    return rec


def rendered_animation():
    anim = nblib.animate_boundary(recorder_with_frame())
    nblib.animation_html(anim)      # rendered once, or matplotlib warns when it is deleted
    return anim


CASES.update({
    "deep_stack": [
        (lambda: nblib.deep_stack(0, 8), V, r"\bdepth\b"),
        (lambda: nblib.deep_stack(3, 0), V, r"\bwidth\b"),
        (lambda: nblib.deep_stack(3, 8, init="xavier"), V, r"\binit\b"),
        (lambda: nblib.deep_stack(3, 8, init=-1.0), V, r"\binit\b"),
        (lambda: nblib.deep_stack(3, 8, init=None), T, r"\binit\b"),
        (lambda: nblib.deep_stack(3, 8, activation="tanh"), V, r"\bactivation\b"),
        (lambda: nblib.deep_stack(3, 8, rng="seed"), T, r"\brng\b"),
        (lambda: nblib.deep_stack(2.0, 4), T, r"\bdepth\b"),
        (lambda: nblib.deep_stack(2, 4, init=0.0), V, r"\binit\b"),
        (lambda: nblib.deep_stack(2, 4, init=True), T, r"\binit\b"),
    ],
    "layer_stats": [
        (lambda: nblib.layer_stats(Linear(8, 8), np.zeros((4, 8))), T, r"\bmodel\b"),
        (lambda: nblib.layer_stats(nblib.deep_stack(2, 8, rng=0), np.zeros((1, 8))), V,
         r"\bx\b"),
        (lambda: nblib.layer_stats(nblib.deep_stack(2, 8, rng=0), np.full((4, 8), np.nan)), V,
         r"\bx\b"),
        (lambda: nblib.layer_stats(Sequential(ReLU()), np.zeros((4, 8))), V, r"\bmodel\b"),
        (lambda: nblib.layer_stats(nblib.deep_stack(2, 8, rng=0), np.zeros((4, 8)), rng=[1]), T,
         r"\brng\b"),
        (lambda: nblib.layer_stats(nblib.deep_stack(2, 4, rng=0), np.ones(4)), V, r"\bx\b"),
    ],
    "plot_layer_stats": [
        (lambda: nblib.plot_layer_stats([1.0, 2.0]), T, r"\bcurves\b"),
        (lambda: nblib.plot_layer_stats({}), T, r"\bcurves\b"),
        (lambda: nblib.plot_layer_stats({"he": [1.0, 0.0]}), V, r"curves\['he'\]"),
        (lambda: nblib.plot_layer_stats({"he": [[1.0], [2.0]]}), V, r"curves\['he'\]"),
        (lambda: nblib.plot_layer_stats({"he": [1.0, np.nan]}), V, r"curves\['he'\]"),
    ],
    "snapshot_epochs": [
        (lambda: nblib.snapshot_epochs(0, 5), V, r"\bepochs\b"),
        (lambda: nblib.snapshot_epochs(10, 0), V, r"\bframes\b"),
        (lambda: nblib.snapshot_epochs(10, 2.5), T, r"\bframes\b"),
        (lambda: nblib.snapshot_epochs(10.0, 3), T, r"\bepochs\b"),
    ],
    "BoundaryRecorder": [
        (lambda: nblib.BoundaryRecorder(0), V, r"\bepochs\b"),
        (lambda: nblib.BoundaryRecorder(10, resolution=1), V, r"\bresolution\b"),
        (lambda: nblib.BoundaryRecorder(10, extent=0.0), V, r"\bextent\b"),
        (lambda: nblib.BoundaryRecorder(10)(0, "history", small_model()), T, r"\bhistory\b"),
        (lambda: nblib.BoundaryRecorder(10)(0, History(), "model"), T, r"\bmodel\b"),
    ],
    "plot_snapshot": [
        (lambda: nblib.plot_snapshot("recorder", 0), T, r"\brecorder\b"),
        (lambda: nblib.plot_snapshot(nblib.BoundaryRecorder(5), 0), V, r"\brecorder\b"),
        (lambda: nblib.plot_snapshot(recorder_with_frame(), 3), V, r"\bi\b"),
    ],
    "animate_boundary": [
        (lambda: nblib.animate_boundary(None), T, r"\brecorder\b"),
        (lambda: nblib.animate_boundary(nblib.BoundaryRecorder(5)), V, r"\brecorder\b"),
        (lambda: nblib.animate_boundary(recorder_with_frame(), interval=0), V, r"\binterval\b"),
    ],
    "animation_html": [
        (lambda: nblib.animation_html("<html>"), T, r"\banim\b"),
        (lambda: nblib.animation_html(rendered_animation(), frame_format="gif"), V,
         r"\bframe_format\b"),
        (lambda: nblib.animation_html(rendered_animation(), fps=0), V,
         r"\bfps\b"),
        (lambda: nblib.animation_html(rendered_animation(), default_mode="bounce"), V,
         r"\bdefault_mode\b"),
    ],
    "hidden_activations": [
        (lambda: nblib.hidden_activations(Linear(2, 3), X), T, r"\bmodel\b"),
        (lambda: nblib.hidden_activations(Sequential(Linear(2, 1)), X), V, r"\bmodel\b"),
        (lambda: nblib.hidden_activations(small_model(), X[:, 0]), V, r"\bX\b"),
        (lambda: nblib.hidden_activations(small_model(), X_NAN), V, r"\bX\b"),
        (lambda: nblib.hidden_activations(small_model(), np.zeros((0, 2))), V, r"\bX\b"),
    ],
    "label_correlation": [
        (lambda: nblib.label_correlation(np.ones(5), np.array([0, 1, 0, 1, 0])), V, r"\bactivations\b"),
        (lambda: nblib.label_correlation(np.ones((5, 2)), np.ones(5, dtype=int) * 2), V, r"\by\b"),
        (lambda: nblib.label_correlation(np.ones((5, 2)), np.ones(3, dtype=int)), V, r"\by\b"),
        (lambda: nblib.label_correlation(np.ones((5, 2)), np.ones(5, dtype=int)), V, r"\by\b"),
        (lambda: nblib.label_correlation("activations", np.ones(5, dtype=int)), T,
         r"\bactivations\b"),
    ],
    "dead_units": [
        (lambda: nblib.dead_units("model", X), T, r"\bmodel\b"),
        (lambda: nblib.dead_units(small_model(), X[:0]), V, r"\bX\b"),
    ],
    "unit_maps": [
        (lambda: nblib.unit_maps(small_model(), resolution=1), V, r"\bresolution\b"),
        (lambda: nblib.unit_maps(small_model(), extent=-1.0), V, r"\bextent\b"),
        (lambda: nblib.unit_maps(None), T, r"\bmodel\b"),
    ],
    "most_variable_units": [
        (lambda: nblib.most_variable_units(np.zeros(5), 2), V, r"\bvalues\b"),
        (lambda: nblib.most_variable_units(np.zeros((4, 5)), 0), V, r"\bk\b"),
        (lambda: nblib.most_variable_units(np.zeros((4, 5)), 2.5), T, r"\bk\b"),
    ],
    "plot_unit_maps": [
        (lambda: nblib.plot_unit_maps([]), T, r"\bmaps\b"),
        (lambda: nblib.plot_unit_maps([np.zeros((2, 3, 4))]), V, r"maps\[0\]"),
        (lambda: nblib.plot_unit_maps([np.zeros((2, 3, 3))], units=[[5]]), V, r"units\[0\]"),
        (lambda: nblib.plot_unit_maps(MAPS[0]), T, r"\bmaps\b"),
        (lambda: nblib.plot_unit_maps(MAPS, units=[[0, 1]]), V, r"\bunits\b"),
        (lambda: nblib.plot_unit_maps(MAPS, units=[[0, 1], [0]]), V, r"\bunits\b"),
        (lambda: nblib.plot_unit_maps(MAPS, units=[[0, 8], [0, 1]]), V, r"\bunits\b"),
        (lambda: nblib.plot_unit_maps(MAPS, two_axes(), k=2), V, r"\baxes\b"),
        (lambda: nblib.plot_unit_maps(MAPS, k=2, vmax=[np.ones(8)]), V, r"\bvmax\b"),
        (lambda: nblib.plot_unit_maps(MAPS, k=2, boundary=np.zeros((5, 5))), V, r"\bboundary\b"),
    ],
    "Playground": [
        (lambda: nblib.Playground({"lr": 0.1}), T, r"\bconfig\b"),
        (lambda: nblib.Playground(max_runs=0), V, r"\bmax_runs\b"),
    ],
    "sweep": [
        (lambda: nblib.sweep(SpiralConfig(), progress=False), T, r"\bconfigs\b"),
        (lambda: nblib.sweep(5, progress=False), T, r"\bconfigs\b"),
        (lambda: nblib.sweep([SpiralConfig(), "fast"], progress=False), T, r"configs\[1\]"),
        (lambda: nblib.sweep([SpiralConfig()], workers=0, progress=False), V, r"\bworkers\b"),
        (lambda: nblib.sweep([SpiralConfig()], progress="yes"), T, r"\bprogress\b"),
        (lambda: nblib.sweep([SpiralConfig()], progress=False, run=None), T, r"\brun\b"),
        (lambda: nblib.sweep([SpiralConfig()], workers=1.5, progress=False), T, r"\bworkers\b"),
        (lambda: nblib.sweep([SpiralConfig()], progress=False, run=3), T, r"\brun\b"),
        (lambda: nblib.sweep([SpiralConfig()], progress=False, cache=[]), T, r"\bcache\b"),
    ],
})

def tiny_playground():
    return nblib.Playground(SpiralConfig(hidden=(8,), epochs=2))


def tiny_history():
    return History(train_loss=[0.5], train_acc=[0.8], test_loss=[0.6], test_acc=[0.7],
                   lr=[0.01])


def two_axes():
    import matplotlib.pyplot as plt
    return plt.subplots(1, 2)[1]


GRID = np.meshgrid(np.linspace(-1, 1, 5), np.linspace(-1, 1, 5))
MAPS = [np.zeros((8, 3, 3)), np.zeros((6, 3, 3))]     # two hidden layers of 8 and 6 units

# "Class.method" or "module.function" (reached from nblib) -> cases, as in CASES
MORE_CASES = {
    "core.data.make_source_spirals": [
        (lambda: nblib.core.data.make_source_spirals(0), V, r"\bn\b"),
        (lambda: nblib.core.data.make_source_spirals(10, -0.1), V, r"\bnoise\b"),
        (lambda: nblib.core.data.make_source_spirals(10, 0.1, seed=1.5), T, r"\bseed\b"),
    ],
    "Playground.set": [
        (lambda: tiny_playground().set(lrr=0.1), T, r"\blrr\b"),
        (lambda: tiny_playground().set(depth=5), V, r"\bdepth\b"),
        (lambda: tiny_playground().set(depth=0), V, r"\bdepth\b"),
        (lambda: tiny_playground().set(width=1), V, r"\bwidth\b"),
        (lambda: tiny_playground().set(width=300), V, r"\bwidth\b"),
        (lambda: tiny_playground().set(width=2.5), T, r"\bwidth\b"),
        (lambda: tiny_playground().set(hidden=(8,), depth=2), V, r"\bhidden\b"),
        (lambda: tiny_playground().set(lr=0.0), V, r"\blr\b"),        # SpiralConfig's checks
        # 480 training rows in batches of 479 leave 1 row, which BatchNorm cannot train on
        (lambda: tiny_playground().set(batch_size=479), V, r"\bbatch_size\b"),
    ],
    "Playground.train": [
        (lambda: tiny_playground().train(epochs=0), V, r"\bepochs\b"),
        (lambda: tiny_playground().train(epochs=1.5), T, r"\bepochs\b"),
        (lambda: tiny_playground().train(on_frame=3), T, r"\bon_frame\b"),
    ],
    "Playground.load_preset": [
        (lambda: tiny_playground().load_preset("tf playground"), V, r"\bname\b"),
    ],
    "Playground.decision_grid": [
        (lambda: tiny_playground().decision_grid(resolution=1), V, r"\bresolution\b"),
    ],
    "viz.playground.PlaygroundFigure": [
        (lambda: nblib.viz.playground.PlaygroundFigure(tiny_playground(), resolution=1), V,
         r"\bresolution\b"),
        (lambda: nblib.viz.playground.PlaygroundFigure("pg"), T, r"\bplayground\b"),
    ],
    "viz.plots.plot_data": [
        (lambda: nblib.viz.plots.plot_data(np.zeros((5, 3)), np.zeros(5, dtype=int)), V, r"\bX\b"),
        (lambda: nblib.viz.plots.plot_data(np.zeros((5, 2)), np.full(5, 2)), V, r"\by\b"),
    ],
    "viz.plots.plot_loss": [
        (lambda: nblib.viz.plots.plot_loss({"train_loss": [1.0]}), T, r"\bhistory\b"),
    ],
    "viz.plots.plot_accuracy": [
        (lambda: nblib.viz.plots.plot_accuracy({"test_acc": [1.0]}), T, r"\bhistory\b"),
    ],
    "viz.plots.plot_histories": [
        (lambda: nblib.viz.plots.plot_histories({}), T, r"\bhistories\b"),
        (lambda: nblib.viz.plots.plot_histories([tiny_history()]), T, r"\bhistories\b"),
        (lambda: nblib.viz.plots.plot_histories({"x": [0.1, 0.2]}), T, r"histories\['x'\]"),
        (lambda: nblib.viz.plots.plot_histories({"a": tiny_history()}, "lr"), V, r"\bmetric\b"),
        (lambda: nblib.viz.plots.plot_histories({"a": tiny_history(), "b": tiny_history()},
                                            colors=["red"]), V, r"\bcolors\b"),
    ],
    "viz.plots.plot_schedule": [
        (lambda: nblib.viz.plots.plot_schedule(lambda step: 0.1, 10), T, r"\bschedule\b"),
        (lambda: nblib.viz.plots.plot_schedule(Constant(0.1), 0), V, r"\btotal_steps\b"),
    ],
    "viz.plots.decision_grid": [
        (lambda: nblib.viz.plots.decision_grid("model"), T, r"\bmodel\b"),
        (lambda: nblib.viz.plots.decision_grid(small_model(), resolution=1), V, r"\bresolution\b"),
        (lambda: nblib.viz.plots.decision_grid(small_model(), extent=0.0), V, r"\bextent\b"),
    ],
    "viz.plots.plot_probability_grid": [
        (lambda: nblib.viz.plots.plot_probability_grid(*GRID, np.full((5, 5), 1.5)), V, r"\bprob\b"),
        (lambda: nblib.viz.plots.plot_probability_grid(*GRID, np.zeros((4, 5))), V, r"\bprob\b"),
        (lambda: nblib.viz.plots.plot_probability_grid(GRID[0], GRID[1][:2], np.zeros((5, 5))), V,
         r"\byy\b"),
        (lambda: nblib.viz.plots.plot_probability_grid("xx", GRID[1], np.zeros((5, 5))), T,
         r"\bxx\b"),
    ],
    "viz.plots.plot_decision_boundary": [
        (lambda: nblib.viz.plots.plot_decision_boundary("model"), T, r"\bmodel\b"),
    ],
}

# Public names that need no bad-input test, and why.
NOT_CALLABLE_OK = {"DEFAULT_NOISE"}  # a constant
EXCLUDED = {
    "SpiralResult": "a plain record filled in by train_spirals; it takes no arguments of its own "
                    "to validate (its fields are checked where they are made)",
}

# Public callables with no wrong *value* to pass (their wrong types are in CASES), and why.
NO_WRONG_VALUE = {
    "build_model": "its one argument is a SpiralConfig, which refuses wrong values when it is "
                   "made (the SpiralConfig cases)",
    "make_data": "as build_model: a SpiralConfig cannot hold a wrong value",
    "make_schedule": "as build_model: a SpiralConfig cannot hold a wrong value",
    "Sequential": "any Modules in any order make a Sequential, as in torch.nn.Sequential (an "
                  "empty one too); a width that does not fit is refused by the layer it "
                  "reaches, naming x (the Linear cases)",
}

PARAMS = [pytest.param(call, exc, match, id=f"{name}-{i}")
          for name, cases in {**CASES, **MORE_CASES}.items()
          for i, (call, exc, match) in enumerate(cases)]


@pytest.mark.parametrize("call,exc,match", PARAMS)
def test_bad_input_is_rejected_naming_the_argument(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_more_cases_name_real_methods_and_functions():
    for name in MORE_CASES:
        obj = nblib
        for part in name.split("."):
            obj = getattr(obj, part, None)
        assert callable(obj), f"MORE_CASES names {name!r}, which nblib does not have"


def _public():
    return {name: getattr(nblib, name) for name in nblib.__all__}


def test_every_public_callable_has_a_bad_input_test():
    public = _public()
    callables = {n for n, obj in public.items()
                 if callable(obj) and not isinstance(obj, types.ModuleType)}
    missing = callables - set(CASES) - set(EXCLUDED)
    assert not missing, f"public callables without a bad-input test: {sorted(missing)}"
    stale = (set(CASES) | set(EXCLUDED)) - callables
    assert not stale, f"CASES/EXCLUDED name things that are not public callables: {sorted(stale)}"
    others = {n for n, obj in public.items() if not callable(obj)
              and not isinstance(obj, types.ModuleType)}
    assert others == NOT_CALLABLE_OK, f"new non-callable public names: {others - NOT_CALLABLE_OK}"


def test_every_public_callable_has_a_wrong_type_and_a_wrong_value_case():
    """Both kinds of mistake, each refused naming the argument (the regex of every case)."""
    for name, cases in CASES.items():
        kinds = {exc for _, exc, _ in cases}
        wanted = {TypeError} if name in NO_WRONG_VALUE else {TypeError, ValueError}
        assert wanted <= kinds, f"{name}: no {', '.join(k.__name__ for k in wanted - kinds)} case"
    assert set(NO_WRONG_VALUE) <= set(CASES)


def test_all_lists_no_submodules():
    """``from nblib import *`` must not bind names like ``data``, ``loss`` or ``config``.

    nblib/__init__.py builds ``__all__`` from ``dir()``, which also holds every submodule
    imported by ``from .x import ...``; in a notebook, ``from nblib import *`` would then
    silently replace a student's own ``data``, ``loss`` or ``config`` variable by a module.
    """
    modules = sorted(n for n, obj in _public().items() if isinstance(obj, types.ModuleType))
    assert not modules, f"nblib.__all__ exports submodules: {modules}"


def test_valid_calls_still_work():
    """The same helpers with good arguments do not raise (so the cases above test the argument)."""
    fit_call()()
    train_epoch_call()()
    assert predict_logits(small_model(), X, batch_size=5).shape == (12,)
    assert sigmoid(0.0) == 0.5 and sigmoid([0.0, 0.0]).shape == (2,)
    assert make_spirals(10, 0.0)[0].shape == (20, 2)
    assert History(test_acc=[0.9], seconds=[1.0]).time_to_accuracy(0.5) == 1.0
    assert numerical_gradient(lambda: 0.0, np.zeros(3)).shape == (3,)
    fit_call(lambda: small_model("batch"), batch_size=5)()  # 12 = 5 + 5 + 2: fine


# --- the checks change nothing: the code the book shows runs as shown ---------------------------
# ``@arguments`` only checks (as scikit-learn's validate_params): every decorated function must
# give the same result when called undecorated, ``fn.__wrapped__``, with the same good arguments,
# including the ones a body converts itself (an int seed, None, a list, a dtype's name).

import dataclasses  # noqa: E402
import importlib  # noqa: E402
import sys  # noqa: E402

from nblib.experiments import cmu, stats

from nblib.viz import plots  # noqa: E402, F401  (modules nblib does not import itself)


def decorated_callables():
    """qualified name -> callable, for everything that ``@arguments`` wraps in nblib's modules
    (those ``import nblib`` loads, and cmu, plots, stats)."""
    found = {}
    for module in [m for name, m in sorted(sys.modules.items()) if name.startswith("nblib.")]:
        for obj in vars(module).values():
            if getattr(obj, "__module__", None) != module.__name__:
                continue
            members = vars(obj).values() if isinstance(obj, type) else [obj]
            for fn in members:
                if hasattr(fn, "argument_specs"):
                    found[f"{module.__name__}.{fn.__qualname__}"] = fn
    return found


def same(a, b, skip=("seconds",)):
    """a and b hold the same values (arrays, numbers, containers, dataclasses, objects)."""
    if isinstance(a, np.random.Generator):
        return isinstance(b, np.random.Generator) and \
            a.bit_generator.state == b.bit_generator.state
    if isinstance(a, (np.ndarray, np.generic)) or isinstance(b, (np.ndarray, np.generic)):
        return (np.shape(a) == np.shape(b) and np.asarray(a).dtype == np.asarray(b).dtype
                and np.array_equal(a, b, equal_nan=True))
    if type(a) is not type(b):
        return False
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        if all(isinstance(k, nblib.Param) for k in [*a, *b]):   # an optimizer's state[p]
            return same(list(a), list(b)) and same(list(a.values()), list(b.values()))
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if dataclasses.is_dataclass(a):
        return all(same(getattr(a, f.name), getattr(b, f.name))
                   for f in dataclasses.fields(a) if f.name not in skip)
    if isinstance(a, nblib.Param):
        return same(a.value, b.value) and same(a.grad, b.grad)
    if isinstance(a, types.FunctionType):
        return a.__code__ is b.__code__
    if hasattr(a, "__dict__"):
        return same(vars(a), vars(b))
    if isinstance(a, float) and np.isnan(a):
        return np.isnan(b)
    return a == b


def tiny_net(seed=0):
    return build_model(SpiralConfig(hidden=(4,), norm="batch", seed=seed, dtype="float64"))


def tiny_result():
    return nblib.train_spirals(SpiralConfig(n=40, hidden=(4,), epochs=1, batch_size=20),
                               progress=False)


RESULT = []   # one tiny run, made on first use


def result():
    if not RESULT:
        RESULT.append(tiny_result())
    return RESULT[0]


def good_layer_input(seed=0):
    return np.random.default_rng(seed).normal(size=(6, 2))


# qualified name -> function returning fresh (args, kwargs): good arguments, with the forms a
# body converts itself wherever the function accepts them
GOOD_CALLS = {
    "nblib.core.module.Module.train": lambda: ((tiny_net(), False), {}),
    "nblib.core.module.Sequential.__init__": lambda: ((Linear(2, 3, rng=0), ReLU()), {}),
    "nblib.core.linear.Linear.__init__": lambda: ((2, 3), dict(bias=False, rng=7, dtype="float32")),
    "nblib.core.norm.BatchNorm.__init__": lambda: ((3, 0.2, 1e-3), dict(dtype="float32")),
    "nblib.core.norm.LayerNorm.__init__": lambda: ((3, 1e-3), dict(dtype="float32")),
    "nblib.core.dropout.Dropout.__init__": lambda: ((0.3,), dict(rng=5)),
    "nblib.core.activations.sigmoid": lambda: (([[-800.0, 0.0], [1.0, 2.0]],), {}),
    "nblib.core.loss.bce_with_logits": lambda: (([[0.5], [-2.0], [3.0]], [1, 0, 0]), {}),
    "nblib.core.schedules.Constant.__init__": lambda: ((1,), {}),
    "nblib.core.schedules.StepDecay.__init__": lambda: ((0.1, 3, 0.5), {}),
    "nblib.core.schedules.Exponential.__init__": lambda: ((0.1, 0.9), {}),
    "nblib.core.schedules.WarmupCosine.__init__": lambda: ((0.1, 10, 2, 0.01), {}),
    "nblib.core.schedules.OneCycle.__init__": lambda: ((0.1, 10), dict(anneal="linear")),
    "nblib.core.data.spiral_centres": lambda: ((5,), {}),
    "nblib.core.data.make_spirals": lambda: ((5, 0.1, 3), {}),
    "nblib.core.data.source_spiral_centres": lambda: ((5,), {}),
    "nblib.core.data.make_source_spirals": lambda: ((5, 0.1, 3), {}),
    "nblib.core.data.bayes_posterior": lambda: (([[0.1, 0.2], [-0.3, 0.5]], 10, 0.05), {}),
    "nblib.core.data.bayes_accuracy": lambda: ((10, 0.05), dict(samples=50, seed=1)),
    "nblib.core.gradcheck.rel_error": lambda: (([1.0, 2.0], [1.0, 2.5]), {}),
    "nblib.core.gradcheck.numerical_gradient": lambda: _numerical_gradient_call(),
    "nblib.core.gradcheck.check_layer": lambda: ((Linear(2, 3, rng=0), [[1.0, 2.0], [3.0, -1.0]]),
                                            dict(rng=4)),
    "nblib.core.gradcheck.check_model": lambda: ((tiny_net(), good_layer_input().tolist(),
                                             [0, 1, 0, 1, 1, 0]), {}),
    "nblib.experiments.stats.binomial_interval": lambda: ((np.int64(110), 120, 0.9), {}),
    "nblib.experiments.stats.held_out_interval": lambda: ((result(), 0.9), {}),
    "nblib.experiments.stats.held_out_text": lambda: ((result(),), {}),
    "nblib.experiments.stats.fresh_sample": lambda: ((50, 10, 0.05, 2), {}),
    "nblib.experiments.stats.fresh_accuracy": lambda: ((tiny_net(), SpiralConfig(n=10), 50, 2), {}),
    "nblib.experiments.stats.errors_by_radius": lambda: (([[0.1, 0.0], [0.0, 0.7], [0.3, 0.3]], [0, 1, 1],
                                              [0, 0, 1], [0.0, 0.5, 1.0]), {}),
    "nblib.experiments.stats.compare_errors_by_radius": lambda: ((tiny_net(), SpiralConfig(n=10), 50, 2),
                                                     {}),
    "nblib.experiments.cmu.right_40_20_40": lambda: (([0.7, 0.5, 0.1], [1, 1, 0]), {}),
    "nblib.experiments.cmu.train_until_solved": lambda: _train_until_solved_call(),
    "nblib.experiments.cmu.solve_cmu": lambda: ((1, 1), {}),
    "nblib.experiments.cmu.with_sigmoid": lambda: ((tiny_net(),), {}),
    "nblib.experiments.cmu.uniform_init": lambda: ((tiny_net(), 0.5, 3), {}),
}


def test_every_decorated_function_has_a_good_call():
    assert set(decorated_callables()) == set(GOOD_CALLS)


def _numerical_gradient_call():
    """numerical_gradient perturbs x in place: each call gets its own f and x."""
    x = np.array([1.0, -2.0, 0.5])
    return (lambda: float(np.sum(x ** 3)), x), {}


def _train_until_solved_call():
    model = tiny_net()
    X, y = cmu.cmu_spirals()
    return (model, Adam(model.parameters(), 0.01), X.tolist(), y), dict(max_epochs=2,
                                                                        batch_size=97, rng=3)


@pytest.mark.parametrize("name", sorted(GOOD_CALLS))
def test_a_decorated_function_runs_the_same_without_its_checks(name):
    """The function as the book prints it (``__wrapped__``) does what the checked one does."""
    fn = decorated_callables()[name]
    args, kwargs = GOOD_CALLS[name]()
    bare_args, bare_kwargs = GOOD_CALLS[name]()
    if fn.__name__ == "__init__":
        cls = vars(importlib.import_module(name.rsplit(".", 2)[0]))[name.split(".")[-2]]
        checked = cls(*args, **kwargs)
        bare = cls.__new__(cls)
        assert fn.__wrapped__(bare, *bare_args, **bare_kwargs) is None
    else:
        checked = fn(*args, **kwargs)
        bare = fn.__wrapped__(*bare_args, **bare_kwargs)
    assert same(checked, bare), f"{name}: {checked!r} != {bare!r}"
    assert same(args, bare_args), f"{name} changed its arguments differently without the checks"
    if isinstance(checked, Module):                  # and the layer it made works the same
        width = next((getattr(m, m.input_width) for m in checked.modules() if m.input_width), 3)
        x = np.random.default_rng(0).normal(size=(6, width))
        assert same(checked.forward(x), bare.forward(x.copy())), name
