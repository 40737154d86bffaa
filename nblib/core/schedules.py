"""Learning-rate schedules: the learning rate as a pure function of the step.

Each schedule is a small object you call with the optimizer step (0, 1, 2,
...) to get that step's learning rate, so it can be plotted, tested and
reasoned about without training anything.  They follow
``torch.optim.lr_scheduler`` where PyTorch has the same schedule.
"""
from __future__ import annotations

import math

from .validate import arguments, check_int, integer, one_of, positive, positive_int, real


class Schedule:
    """Base class: ``schedule(step) -> lr`` for integer steps >= 0."""

    def __call__(self, step):
        step = check_int(step, "step", minimum=0)
        return self.lr_at(step)

    def lr_at(self, step):  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


class Constant(Schedule):
    """The same learning rate at every step."""

    @arguments(lr=positive)
    def __init__(self, lr):
        self.lr = lr

    def lr_at(self, step):
        return self.lr


class StepDecay(Schedule):
    """``lr * gamma ** (step // step_size)``, as ``torch.optim.lr_scheduler.StepLR``."""

    @arguments(lr=positive, step_size=positive_int, gamma=real(above=0.0, maximum=1.0))
    def __init__(self, lr, step_size, gamma=0.1):
        self.lr, self.step_size, self.gamma = lr, step_size, gamma

    def lr_at(self, step):
        return self.lr * self.gamma ** (step // self.step_size)


class Exponential(Schedule):
    """``lr * gamma ** step``, as ``torch.optim.lr_scheduler.ExponentialLR``."""

    @arguments(lr=positive, gamma=real(above=0.0, maximum=1.0))
    def __init__(self, lr, gamma):
        self.lr, self.gamma = lr, gamma

    def lr_at(self, step):
        return self.lr * self.gamma ** step


class WarmupCosine(Schedule):
    """Linear warm-up from ``lr / warmup_steps`` to ``lr``, then a cosine down to ``min_lr``.

    With ``warmup_steps=0`` this is ``torch.optim.lr_scheduler.CosineAnnealingLR`` with
    ``T_max=total_steps`` and ``eta_min=min_lr`` from step 0 to step ``total_steps``; past
    ``total_steps`` the rate stays at ``min_lr``, where PyTorch's rises again along the
    cosine (back to ``lr`` at step ``2 * total_steps``).
    """

    @arguments(lr=positive, total_steps=positive_int,
               warmup_steps=integer(minimum=0, below="total_steps"),
               min_lr=real(minimum=0.0, maximum="lr"))
    def __init__(self, lr, total_steps, warmup_steps=0, min_lr=0.0):
        self.lr, self.total_steps, self.warmup_steps, self.min_lr = (lr, total_steps,
                                                                     warmup_steps, min_lr)

    def lr_at(self, step):
        """step: an int >= 0 -> the learning rate at that step, a float"""
        if step < self.warmup_steps:
            return self.lr * (step + 1) / self.warmup_steps
        t = min(step - self.warmup_steps, self.total_steps - self.warmup_steps)
        frac = t / (self.total_steps - self.warmup_steps)
        return self.min_lr + (self.lr - self.min_lr) * (1 + math.cos(math.pi * frac)) / 2


class OneCycle(Schedule):
    """One cycle (Smith, 2018), as ``torch.optim.lr_scheduler.OneCycleLR`` (lr only).

    The rate rises from ``max_lr / div_factor`` to ``max_lr`` over the first
    ``pct_start`` of ``total_steps`` and then anneals to
    ``max_lr / (div_factor * final_div_factor)``, both with a cosine
    (``anneal="cos"``) or a straight line (``anneal="linear"``).
    """

    @arguments(max_lr=positive, total_steps=integer(minimum=2),
               pct_start=real(above=0.0, below=1.0), div_factor=real(minimum=1.0),
               final_div_factor=real(minimum=1.0), anneal=one_of("cos", "linear"))
    def __init__(self, max_lr, total_steps, pct_start=0.3, div_factor=25.0,
                 final_div_factor=1e4, anneal="cos"):
        self.max_lr, self.total_steps, self.pct_start = max_lr, total_steps, pct_start
        self.div_factor, self.final_div_factor, self.anneal = div_factor, final_div_factor, anneal

    def lr_at(self, step):
        initial = self.max_lr / self.div_factor
        final = initial / self.final_div_factor
        peak_step = float(self.pct_start * self.total_steps) - 1
        last_step = self.total_steps - 1
        step = min(step, last_step)
        if step <= peak_step:
            start, end, frac = initial, self.max_lr, step / peak_step if peak_step > 0 else 1.0
        else:
            start, end, frac = self.max_lr, final, (step - peak_step) / (last_step - peak_step)
        if self.anneal == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * frac) + 1)
        return (end - start) * frac + start


SCHEDULES = {"constant": Constant, "step": StepDecay, "exponential": Exponential,
             "cosine": WarmupCosine, "onecycle": OneCycle}
