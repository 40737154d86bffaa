"""Is choice B better than choice A?  Paired runs, an interval per difference, one rule.

One run of each choice cannot rank them: a different seed (initial weights, batch
order) or a different draw of the data moves the result by more than many choices
do.  ``compare(a, b)`` trains both configs on the same pairs (seed, data seed), so
each pair differs only by the choice, and measures every run where its result is
sharp: on a fresh sample of 20,000 points from the generator (accuracy and loss),
not on 120 held-out points.

For each measure it takes the paired differences d_i = (B's value) - (A's value),
i = 1..P, and the 95% interval of their mean (Student's t, P - 1 degrees of freedom):

    mean(d) ± t_{0.975, P-1} · sd(d) / sqrt(P).

THE RULE.  If the interval lies wholly on B's good side of 0, B is "better" (for the
epochs to 95%: "faster"); wholly on the bad side, "worse" ("slower"); if it contains 0,
"no difference we can detect".  A tie is called a tie, however the means are ordered.

Speed is the first epoch whose held-out accuracy passes 95%; if some run never passes it,
the verdict is "cannot tell".  The Bayes classifier's accuracy and loss on the same fresh
sample (``Comparison.ceiling``) say how far from the best possible both choices are.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..core.config import SpiralConfig
from ..core.data import bayes_posterior
from ..core.loss import bce_with_logits
from ..core.training import predict_logits
from ..core.validate import check_instance, check_int
from .stats import FRESH_SEED, fresh_sample
from .sweep import sweep

TARGET = 0.95
"""The chapter's goal: "first epoch above 95%" on the held-out points measures speed."""
SAMPLES = 20_000
"""Points of the fresh sample every run is measured on."""
NO_DIFFERENCE = "no difference we can detect"
CANNOT_TELL = "cannot tell: a run never reached 95%"
PAIRS = ((0, 42), (1, 7), (2, 2024))
"""The default (seed, data seed) pairs: each a new seed on a new data set, the recipe's own
run (0, 42) first, so that a page that trained the recipe pays for 2 runs of each config."""


@dataclass(frozen=True)
class RunMeasures:
    """What ``compare`` keeps of one run."""

    fresh_accuracy: float   # on SAMPLES fresh points
    fresh_loss: float       # mean binary cross-entropy on the same points
    epochs_to_target: int | None   # first epoch above TARGET held out; None if never


_MEASURED = {}   # id(result) -> (result, RunMeasures): a run compared twice is measured once


def measure(result):
    """What ``compare`` keeps of one run (a ``SpiralResult``): a ``RunMeasures``."""
    known = _MEASURED.get(id(result))
    if known is not None and known[0] is result:
        return known[1]
    X, y = fresh_sample(SAMPLES, result.config.n, result.config.noise, FRESH_SEED)
    logits = np.asarray(predict_logits(result.model, X)).reshape(-1)   # (S,)
    measures = RunMeasures(float(np.mean((logits > 0) == (y == 1))),
                           float(bce_with_logits(logits, y)[0]),
                           result.history.epoch_to_accuracy(TARGET))
    _MEASURED[id(result)] = (result, measures)
    return measures


@lru_cache(maxsize=16)
def bayes_ceiling_measures(n, noise, samples=SAMPLES):
    """The Bayes classifier's (accuracy, loss) on the fresh sample: no model does better.

    Its loss, the mean cross-entropy of the exact posterior, is the part of the loss no
    network can remove (the points that lie nearer the other arm's centres).
    """
    X, y = fresh_sample(samples, n, noise, FRESH_SEED)
    p1 = np.clip(bayes_posterior(X, n, noise), 1e-300, 1 - 1e-16)
    accuracy = float(np.mean((p1 > 0.5) == (y == 1)))
    loss = float(-np.mean(np.where(y == 1, np.log(p1), np.log1p(-p1))))
    return accuracy, loss


def t_quantile(q, df):
    """Quantile ``q`` (0.5 < q < 1) of Student's t with ``df`` >= 1 degrees of freedom.

    Found by bisection on the cumulative distribution, which is the integral of the
    density c (1 + x²/df)^(-(df+1)/2) from 0 (the trapezoid rule on 4,000 steps).
    """
    df = check_int(df, "df", minimum=1)
    if not 0.5 < q < 1:
        raise ValueError(f"q must be in (0.5, 1), got {q}")
    c = math.exp(math.lgamma((df + 1) / 2) - math.lgamma(df / 2)) / math.sqrt(df * math.pi)

    def cdf(x):
        grid = np.linspace(0.0, x, 4001)
        density = c * (1 + grid ** 2 / df) ** (-(df + 1) / 2)
        return 0.5 + float(np.sum((density[1:] + density[:-1]) / 2 * np.diff(grid)))

    low, high = 0.0, 1.0
    while cdf(high) < q:
        high *= 2
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (mid, high) if cdf(mid) < q else (low, mid)
    return (low + high) / 2


@dataclass(frozen=True)
class Difference:
    """B minus A on one measure, over P pairs: its mean, 95% interval and the verdict."""

    measure: str      # "accuracy", "loss" or "epochs to 95%"
    mean: float       # mean of the P paired differences
    low: float        # the 95% interval of that mean
    high: float
    verdict: str      # "better"/"faster", "worse"/"slower" or NO_DIFFERENCE

    def text(self, scale=1.0, unit="", digits=3):
        """E.g. "no difference we can detect (-0.004, 95% interval -0.010 to +0.002)"."""
        return f"{self.verdict} {self.interval(scale, unit, digits)}"

    def interval(self, scale=1.0, unit="", digits=3):
        """E.g. "(-0.004, 95% interval -0.010 to +0.002)"; "" when there is no interval."""
        if math.isnan(self.mean):
            return ""
        f = f"{{:+.{digits}f}}{unit}"
        return (f"({f.format(scale * self.mean)}, 95% interval "
                f"{f.format(scale * self.low)} to {f.format(scale * self.high)})")

    def sentence(self, b, a, scale=1.0, unit="", digits=3):
        """The verdict as a clause with B and A as its subjects, then the interval.

        E.g. ``sentence("SGD", "Adam")`` on the loss: "SGD ends with a higher loss than
        Adam (+0.012, 95% interval +0.004 to +0.020)", or, for a tie, "we can detect no
        difference in loss between SGD and Adam (...)".  It reads correctly for every
        verdict the rule can give; a page glues it instead of writing "B is {verdict}".
        """
        if not (isinstance(b, str) and isinstance(a, str)):
            raise TypeError("b and a must be strings, the names of the two choices")
        phrases = SENTENCES.get(self.measure)
        if phrases is None or self.verdict not in phrases:
            raise ValueError(f"no sentence for measure {self.measure!r} with verdict "
                             f"{self.verdict!r}")
        clause = phrases[self.verdict].format(b=b, a=a)
        interval = self.interval(scale, unit, digits)
        return f"{clause} {interval}" if interval else clause


SENTENCES = {
    "accuracy": {"better": "{b} is more accurate than {a}",
                 "worse": "{b} is less accurate than {a}",
                 NO_DIFFERENCE: "we can detect no difference in accuracy between {b} and {a}"},
    "loss": {"better": "{b} ends with a lower loss than {a}",
             "worse": "{b} ends with a higher loss than {a}",
             NO_DIFFERENCE: "we can detect no difference in loss between {b} and {a}"},
    "epochs to 95%": {"faster": "{b} passes 95% in fewer epochs than {a}",
                      "slower": "{b} needs more epochs than {a} to pass 95%",
                      NO_DIFFERENCE: "we can detect no difference between {b} and {a} in "
                                     "the epochs they need to pass 95%",
                      CANNOT_TELL: "whether {b} or {a} passes 95% sooner we cannot tell: "
                                   "a run never reached 95%"},
    "epochs": {"faster": "{b} needs fewer epochs than {a}",
               "slower": "{b} needs more epochs than {a}",
               NO_DIFFERENCE: "we can detect no difference in epochs between {b} and {a}"},
}
"""Each verdict of each measure as a clause about B and A (``Difference.sentence``)."""


def paired_difference(a, b, measure, higher_is_better, words=("better", "worse")):
    """The rule applied to paired values: a ``Difference`` of B minus A.

    Inputs
    - a, b: the measure for A and for B, each of shape (P,), P >= 2, pair i in both
    - measure: its name; higher_is_better: True for accuracy, False for loss and epochs
    - words: the verdicts when B is on the good side, and on the bad side
    Returns
    - a Difference: "better" if the interval of mean(b - a) excludes 0 on the good
      side, "worse" if it excludes 0 on the bad side, else "no difference we can detect"
    """
    try:
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    except (TypeError, ValueError):
        raise TypeError("a and b must be sequences of numbers, one per pair") from None
    if a.ndim != 1 or a.shape != b.shape:
        raise ValueError(f"a and b must be 1-D of the same length (one value per pair), "
                         f"got shapes {a.shape} and {b.shape}")
    if len(a) < 2:
        raise ValueError(f"need at least 2 pairs for an interval, got {len(a)}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("a and b must be finite (a diverged run has no accuracy to compare)")
    if not isinstance(higher_is_better, bool):
        raise TypeError(f"higher_is_better must be a bool, got {type(higher_is_better).__name__}")
    d = b - a
    half = t_quantile(0.975, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d))
    mean = float(d.mean())
    low, high = mean - half, mean + half
    good = low > 0 if higher_is_better else high < 0
    bad = high < 0 if higher_is_better else low > 0
    verdict = words[0] if good else words[1] if bad else NO_DIFFERENCE
    return Difference(measure, mean, float(low), float(high), verdict)


@dataclass(frozen=True)
class Comparison:
    """Config B against config A, run on the same pairs (seed, data seed)."""

    a: SpiralConfig
    b: SpiralConfig
    pairs: tuple            # ((seed, data_seed), ...), P of them
    runs_a: tuple           # P RunMeasures
    runs_b: tuple
    ceiling: tuple          # (accuracy, loss) of the Bayes classifier on the fresh sample

    def _values(self, runs, name):
        return np.array([getattr(r, name) for r in runs], dtype=float)

    @property
    def accuracy(self):
        """Fresh-sample accuracy, B - A: "better" means B is more accurate."""
        return paired_difference(self._values(self.runs_a, "fresh_accuracy"),
                                 self._values(self.runs_b, "fresh_accuracy"), "accuracy", True)

    @property
    def loss(self):
        """Fresh-sample loss, B - A: "better" means B's loss is lower."""
        return paired_difference(self._values(self.runs_a, "fresh_loss"),
                                 self._values(self.runs_b, "fresh_loss"), "loss", False)

    @property
    def speed(self):
        """Epochs to pass 95% held out, B - A: "faster" means B needs fewer.

        If a run never passes 95%, its epoch is unknown and there is nothing to pair:
        the verdict is then "cannot tell: a run never reached 95%" (mean and interval nan).
        """
        if any(r.epochs_to_target is None for r in self.runs_a + self.runs_b):
            nan = float("nan")
            return Difference("epochs to 95%", nan, nan, nan, CANNOT_TELL)
        return paired_difference(self._values(self.runs_a, "epochs_to_target"),
                                 self._values(self.runs_b, "epochs_to_target"),
                                 "epochs to 95%", False, words=("faster", "slower"))

    def mean(self, which, name):
        """Mean of measure ``name`` (a RunMeasures field) over the pairs, for "a" or "b"."""
        return float(self._values(self.runs_a if which == "a" else self.runs_b, name).mean())

    def text(self):
        """One sentence for the prose: each measure's difference, interval and verdict."""
        ceiling = ("" if self.ceiling is None else
                   f" (Bayes ceiling on the same points: accuracy {self.ceiling[0]:.2%}, "
                   f"loss {self.ceiling[1]:.3f})")
        return (f"over {len(self.pairs)} paired runs, fresh-sample accuracy: "
                f"{self.accuracy.text(100, ' points', 2)}; loss: {self.loss.text()}; "
                f"epochs to 95%: {self.speed.text(digits=1)}{ceiling}")


def pair_configs(config, pairs=PAIRS):
    """``config`` once per pair (seed, data seed), in the order ``compare`` uses.

    A page that compares many configs can put all of them in one ``nblib.sweep``
    (two workers busy all along) and hand its cache to ``compare``.
    """
    check_instance(config, "config", SpiralConfig, "a SpiralConfig")
    return [config.replace(seed=s, data_seed=d) for s, d in _pairs(pairs)]


def compare(a, b, pairs=PAIRS, workers=2, cache=None):
    """Train configs ``a`` and ``b`` on every (seed, data seed) pair and compare them.

    Inputs
    - a, b: SpiralConfigs; their own seed and data_seed are replaced by each pair's
    - pairs: P >= 2 distinct (seed, data seed) pairs of non-negative ints
    - workers: processes for ``nblib.sweep``; cache: its dict {config: SpiralResult} or
      None (a page's cache: runs it holds are not trained again, new ones are added)
    Returns
    - a ``Comparison``: ``.accuracy``, ``.loss``, ``.speed`` are ``Difference``s
    """
    check_instance(a, "a", SpiralConfig, "a SpiralConfig")
    check_instance(b, "b", SpiralConfig, "a SpiralConfig")
    pairs = _pairs(pairs)
    configs = pair_configs(a, pairs) + pair_configs(b, pairs)
    runs = [measure(r) for r in sweep(configs, workers=workers, progress=False, cache=cache)]
    ceiling = bayes_ceiling_measures(a.n, a.noise) if (a.n, a.noise) == (b.n, b.noise) else None
    return Comparison(a, b, pairs, tuple(runs[:len(pairs)]), tuple(runs[len(pairs):]), ceiling)


def _pairs(pairs):
    if isinstance(pairs, (str, bytes)) or not hasattr(pairs, "__iter__"):
        raise TypeError(f"pairs must be a list of (seed, data seed) pairs, "
                        f"got {type(pairs).__name__}")
    checked = []
    for i, pair in enumerate(pairs):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise TypeError(f"pairs[{i}] must be a (seed, data seed) pair, got {pair!r}")
        checked.append((check_int(pair[0], f"pairs[{i}][0] (seed)", minimum=0),
                        check_int(pair[1], f"pairs[{i}][1] (data seed)", minimum=0)))
    if len(checked) < 2 or len(set(checked)) != len(checked):
        raise ValueError(f"pairs must hold at least 2 distinct (seed, data seed) pairs for an "
                         f"interval, got {checked}")
    return tuple(checked)


def comparison_table(comparisons, measures=("accuracy", "loss", "speed")):
    """Header and rows for ``nblib.pages.show.markdown_table``: one row per comparison.

    Inputs
    - comparisons: a dict {row label: Comparison}
    - measures: which Differences to show, of "accuracy", "loss", "speed"
    Returns
    - (header, rows): lists of strings, each cell a verdict with its mean and interval
    """
    if not isinstance(comparisons, dict) or not all(isinstance(c, Comparison)
                                                    for c in comparisons.values()):
        raise TypeError("comparisons must be a dict {label: Comparison}")
    unknown = set(measures) - {"accuracy", "loss", "speed"}
    if unknown:
        raise ValueError(f"measures must be among accuracy, loss, speed; got {sorted(unknown)}")
    titles = {"accuracy": "fresh-sample accuracy, B − A (points)",
              "loss": "fresh-sample loss, B − A", "speed": "epochs to 95 %, B − A"}
    formats = {"accuracy": dict(scale=100, digits=2), "loss": dict(digits=3),
               "speed": dict(digits=1)}
    header = ["B against A", "pairs"] + [titles[m] for m in measures]
    rows = [[label, str(len(c.pairs))] + [getattr(c, m).text(**formats[m]) for m in measures]
            for label, c in comparisons.items()]
    return header, rows
