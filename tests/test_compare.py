"""nblib.experiments.compare: the rule that turns a paired interval into a verdict."""
import math

import numpy as np
import pytest

from nblib import SpiralConfig, SpiralResult
from nblib.experiments.compare import (NO_DIFFERENCE, Comparison, RunMeasures,
                                       bayes_ceiling_measures, compare, pair_configs, PAIRS,
                                       paired_difference,
                                       t_quantile)

TINY = SpiralConfig(hidden=(64, 64), epochs=60)   # trains in a fraction of a second


# ---------------------------------------------------------------- t quantiles
@pytest.mark.parametrize("df, expected", [(1, 12.7062), (2, 4.3027), (4, 2.7764),
                                          (10, 2.2281), (30, 2.0423)])
def test_t_quantile_matches_the_table(df, expected):
    assert t_quantile(0.975, df) == pytest.approx(expected, abs=2e-4)


# ---------------------------------------------------------------- the rule, on known numbers
def test_interval_is_mean_plus_minus_t_times_standard_error():
    a = np.zeros(5)
    b = np.array([1.0, 2.0, 3.0, 4.0, 5.0])           # differences: mean 3, sd sqrt(2.5)
    d = paired_difference(a, b, "accuracy", higher_is_better=True)
    half = 2.7764 * math.sqrt(2.5) / math.sqrt(5)
    assert d.mean == pytest.approx(3.0)
    assert (d.low, d.high) == pytest.approx((3 - half, 3 + half), abs=1e-3)
    assert d.verdict == "better"


def test_a_real_difference_is_better_or_worse_by_the_direction_of_good():
    rng = np.random.default_rng(0)
    a = rng.normal(0.90, 0.01, 8)
    b = a + 0.05 + rng.normal(0, 0.002, 8)             # B higher by 0.05 in every pair
    assert paired_difference(a, b, "accuracy", True).verdict == "better"
    assert paired_difference(b, a, "accuracy", True).verdict == "worse"
    assert paired_difference(a, b, "loss", False).verdict == "worse"      # higher loss
    assert paired_difference(b, a, "loss", False).verdict == "better"
    assert paired_difference(b, a, "epochs", False, words=("faster", "slower")).verdict == "faster"


def test_no_difference_is_a_tie_even_when_the_means_differ():
    a = np.array([0.90, 0.92, 0.91, 0.93])
    b = a + np.array([0.01, -0.012, 0.008, -0.004])    # mean +0.0005, signs disagree
    d = paired_difference(a, b, "accuracy", True)
    assert d.mean > 0 and d.low < 0 < d.high
    assert d.verdict == NO_DIFFERENCE
    same = paired_difference(a, a, "accuracy", True)   # identical runs: [0, 0] contains 0
    assert (same.mean, same.low, same.high, same.verdict) == (0.0, 0.0, 0.0, NO_DIFFERENCE)


def test_pairing_matters():
    # Large spread between pairs, a small constant shift inside each pair: unpaired,
    # the spread would hide the shift; paired, it is detected.
    a = np.array([0.80, 0.90, 0.95, 0.85])
    assert paired_difference(a, a + 0.003, "accuracy", True).verdict == "better"


def test_text_names_verdict_and_interval():
    d = paired_difference([0.0, 0.0, 0.0], [1.9, 2.0, 2.1], "loss", False)
    assert d.text() == "worse (+2.000, 95% interval +1.752 to +2.248)"


# ---------------------------------------------------------------- trained runs, known answers
def test_training_60_epochs_beats_1_epoch_on_every_measure():
    c = compare(TINY.replace(epochs=1), TINY, pairs=((0, 1), (1, 2), (2, 3), (3, 4)))
    assert c.accuracy.verdict == "better" and c.loss.verdict == "better"
    assert c.accuracy.low > 0.05                      # far above 0: a real difference
    assert c.speed.verdict.startswith("cannot tell")   # one epoch never reaches 95%
    assert "better" in c.text() and "Bayes ceiling on the same points: accuracy 98." in c.text()


def test_the_same_config_against_itself_is_no_difference(tmp_path):
    cache = {}
    c = compare(TINY, TINY, pairs=((0, 1), (0, 2), (1, 1), (1, 2)), workers=1, cache=cache)
    assert len(cache) == 4 and all(isinstance(r, SpiralResult) for r in cache.values())
    assert [c.accuracy.verdict, c.loss.verdict] == [NO_DIFFERENCE, NO_DIFFERENCE]
    assert c.pairs == ((0, 1), (0, 2), (1, 1), (1, 2))
    assert all(0.5 < r.fresh_accuracy <= 1 for r in c.runs_a)


def test_speed_compares_epochs_to_95_percent():
    runs = lambda epochs: tuple(RunMeasures(0.98, 0.04, e) for e in epochs)
    c = Comparison(TINY, TINY, ((0, 1), (1, 1), (2, 1)), runs([30, 28, 33]), runs([10, 9, 12]),
                   None)
    assert c.speed.verdict == "faster"
    assert c.speed.mean == pytest.approx(-20.0)


def test_bayes_ceiling_measures_beat_a_constant_guess():
    accuracy, loss = bayes_ceiling_measures(300, 0.03, 2000)
    assert 0.95 < accuracy < 1 and 0 < loss < math.log(2)


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("a, b, match", [([1.0], [2.0], "at least 2"),
                                         ([1.0, 2.0], [1.0], "same length"),
                                         ([1.0, np.nan], [1.0, 2.0], "finite")])
def test_paired_difference_refuses_bad_values(a, b, match):
    with pytest.raises(ValueError, match=match):
        paired_difference(a, b, "accuracy", True)


def test_paired_difference_refuses_non_bool_direction():
    with pytest.raises(TypeError, match="higher_is_better"):
        paired_difference([1, 2], [2, 3], "accuracy", 1)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(a="recipe"), TypeError, "a must be a SpiralConfig"),
    (dict(pairs=3), TypeError, "pairs must be a list"),
    (dict(pairs=((0, 1),)), ValueError, "at least 2"),
    (dict(pairs=((0, 1), (0, 1))), ValueError, "distinct"),
    (dict(pairs=((0, 1), (2,))), TypeError, "pairs\\[1\\] must be"),
    (dict(pairs=((0, 1), (2, -1))), ValueError, "data seed"),
])
def test_compare_refuses_bad_input(kwargs, error, match):
    args = dict(a=TINY, b=TINY) | kwargs
    with pytest.raises(error, match=match):
        compare(args.pop("a"), args.pop("b"), **args)


def test_t_quantile_refuses_bad_input():
    with pytest.raises(ValueError, match="q must be"):
        t_quantile(0.3, 4)
    with pytest.raises(ValueError, match="df"):
        t_quantile(0.975, 0)


def test_pair_configs_order_and_the_recipe_run_among_them():
    configs = pair_configs(SpiralConfig(lr=0.01))
    assert [(c.seed, c.data_seed) for c in configs] == list(PAIRS)
    assert configs[0] == SpiralConfig(lr=0.01)          # the default pair is the recipe's run
    assert all(c.lr == 0.01 for c in configs)


def test_warmup_field_sets_the_cosine_warm_up():
    from nblib import make_schedule
    total = SpiralConfig().epochs * SpiralConfig().steps_per_epoch
    assert make_schedule(SpiralConfig()).warmup_steps == total // 10
    assert make_schedule(SpiralConfig(warmup=0.0)).warmup_steps == 0
    assert make_schedule(SpiralConfig(warmup=0.0))(0) == SpiralConfig().lr   # full rate at once
    with pytest.raises(ValueError, match="warmup"):
        SpiralConfig(warmup=1.0)


def test_comparison_table_has_one_row_per_comparison_with_its_verdicts():
    from nblib.experiments.compare import comparison_table
    runs = lambda acc: tuple(RunMeasures(a, 0.04, 20) for a in acc)
    c = Comparison(TINY, TINY, ((0, 1), (1, 1), (2, 1)), runs([0.90, 0.91, 0.92]),
                   runs([0.95, 0.97, 0.96]), None)
    header, rows = comparison_table({"B vs A": c}, measures=("accuracy", "speed"))
    assert len(header) == 4 and len(rows) == 1
    assert rows[0][:2] == ["B vs A", "3"]
    assert rows[0][2].startswith("better (+5.00")
    assert rows[0][3].startswith(NO_DIFFERENCE)
    with pytest.raises(ValueError, match="measures"):
        comparison_table({"x": c}, measures=("speedy",))
    with pytest.raises(TypeError, match="dict"):
        comparison_table([c])


def test_bayes_accuracy_standard_error_is_under_a_tenth_of_a_point():
    # bayes_accuracy's docstring: the mean of max(p, 1 - p) over 20,000 fresh points
    from nblib import bayes_posterior
    from nblib.experiments.stats import fresh_sample
    X, _ = fresh_sample()
    p = bayes_posterior(X)
    right = np.maximum(p, 1 - p)
    standard_error = right.std(ddof=1) / math.sqrt(len(right))
    assert 0.0002 < standard_error < 0.001            # in points: 0.02 to 0.1


def test_paired_difference_refuses_values_that_are_not_numbers():
    with pytest.raises(TypeError, match="numbers"):
        paired_difference(["a", "b"], [1.0, 2.0], "accuracy", True)


# ---------------------------------------------------------------- sentences for every outcome
from nblib.experiments.compare import CANNOT_TELL, SENTENCES, Difference  # noqa: E402

OUTCOMES = {"accuracy": ("better", "worse", NO_DIFFERENCE),
            "loss": ("better", "worse", NO_DIFFERENCE),
            "epochs to 95%": ("faster", "slower", NO_DIFFERENCE, CANNOT_TELL),
            "epochs": ("faster", "slower", NO_DIFFERENCE)}


def _difference(measure, verdict):
    if verdict == CANNOT_TELL:
        return Difference(measure, math.nan, math.nan, math.nan, verdict)
    sign = {"better": 1, "faster": -1, "worse": -1, "slower": 1}.get(verdict, 0)
    if measure == "loss":
        sign = -sign
    return Difference(measure, 0.01 * sign, 0.01 * sign - 0.005, 0.01 * sign + 0.005, verdict)


@pytest.mark.parametrize("measure, verdict",
                         [(m, v) for m, vs in OUTCOMES.items() for v in vs])
def test_every_verdict_reads_as_a_sentence(measure, verdict):
    text = _difference(measure, verdict).sentence("SGD", "Adam", digits=3)
    assert "SGD" in text and "Adam" in text
    for broken in ("is no difference", "is cannot tell", "is better", "is worse",
                   "is faster", "is slower", "  ", "{", "}", "nan"):
        assert broken not in text, (broken, text)
    if verdict == NO_DIFFERENCE:
        assert "no difference" in text and "interval" in text
    elif verdict == CANNOT_TELL:
        assert "cannot tell" in text and "interval" not in text
    else:
        assert "no difference" not in text and "interval" in text
    assert text.startswith(("SGD", "we ", "whether "))


def test_sentences_cover_every_verdict_the_rule_gives():
    assert {m: set(v) for m, v in SENTENCES.items()} == {m: set(v) for m, v in OUTCOMES.items()}
    a = np.array([0.90, 0.91, 0.92])
    for b in (a + 0.05, a - 0.05, a + np.array([0.01, -0.01, 0.001])):
        for name, good in (("accuracy", True), ("loss", False)):
            paired_difference(a, b, name, good).sentence("B", "A")      # never raises


def test_sentence_refuses_bad_names_and_unknown_measures():
    d = _difference("loss", "better")
    with pytest.raises(TypeError, match="b and a"):
        d.sentence(1, "A")
    with pytest.raises(ValueError, match="no sentence"):
        Difference("width", 0.0, -1.0, 1.0, NO_DIFFERENCE).sentence("B", "A")
