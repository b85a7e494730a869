"""Statistics for judged comparisons, with scripted judges: position bias, length control,
sanity accuracy, Bradley–Terry (against statsmodels), judge agreement (against statsmodels)."""

from __future__ import annotations

import math
import random
from collections.abc import Callable

import numpy as np
import pytest
import statsmodels.api as sm
from statsmodels.stats import inter_rater

from bakeoff.stats.agreement import cohen_kappa, fleiss_kappa, fleiss_table
from bakeoff.stats.bradley_terry import Comparison, design, strength_intervals, strengths
from bakeoff.stats.judge_checks import SANITY_THRESHOLD, family, sanity, self_preference
from bakeoff.stats.length_control import length_controlled
from bakeoff.stats.pairwise import (
    Outcome,
    Position,
    position_bias,
    resolve,
    win_tie_loss,
)

Judge = Callable[[str, str], Position | None]
"""A scripted judge: (first answer, second answer) -> the position it prefers."""


def _both_orders(judge: Judge, a: str, b: str) -> tuple[Position | None, Position | None]:
    return judge(a, b), judge(b, a)


def _always_first(first: str, second: str) -> Position:
    return Position.FIRST


def _fair(first: str, second: str) -> Position:
    """Prefers the answer with more 'good' in it: the same verdict in either order."""
    a, b = first.count("good"), second.count("good")
    return Position.TIE if a == b else (Position.FIRST if a > b else Position.SECOND)


def test_a_judge_that_always_picks_the_first_position_is_caught() -> None:
    pairs = [_both_orders(_always_first, f"good {i}", f"bad {i}") for i in range(30)]
    bias = position_bias(pairs)
    assert bias.consistency == 0.0
    assert bias.first_position == 1.0
    outcomes = [resolve(x, y).outcome for x, y in pairs]
    assert set(outcomes) == {Outcome.TIE}  # every pair inconsistent: a tie, never a win
    summary = win_tie_loss(outcomes)
    assert (summary.wins, summary.ties, summary.losses) == (0, 30, 0)
    assert summary.p_value == 1.0


def test_a_consistent_judge_wins_pairs_and_the_sign_test_sees_it() -> None:
    pairs = [_both_orders(_fair, "good good", "good") for _ in range(12)]
    pairs += [_both_orders(_fair, "good", "good good") for _ in range(2)]
    pairs += [_both_orders(_fair, "good", "good")]
    pairs += [(Position.FIRST, None)]  # one unreadable verdict: unresolved, not a tie
    bias = position_bias(pairs)
    assert bias.consistency == 1.0
    assert bias.first_position == 15 / 29  # 14 pairs pick each side once, plus the lone FIRST
    assert bias.unreadable == 1
    summary = win_tie_loss([resolve(x, y).outcome for x, y in pairs])
    assert (summary.wins, summary.ties, summary.losses, summary.unresolved) == (12, 1, 2, 1)
    assert summary.win_rate.estimate == pytest.approx(12.5 / 15)
    assert summary.win_rate.low < summary.win_rate.estimate < summary.win_rate.high
    assert summary.p_value == pytest.approx(0.01293945, rel=1e-6)  # binomtest(2, 14)


def test_a_length_loving_judge_shows_a_length_controlled_rate_apart_from_the_raw_rate() -> None:
    rng = random.Random(0)
    scores, len_a, len_b = [], [], []
    for _ in range(400):
        # Equally good answers; A's are longer on 70% of the prompts.
        a, b = rng.randint(50, 400), rng.randint(50, 400)
        if (a > b) != (rng.random() < 0.7):
            a, b = b, a
        longer_first = a > b
        # The judge picks the longer answer 85% of the time, whatever the order.
        prefers_a = longer_first if rng.random() < 0.85 else not longer_first
        scores.append(1.0 if prefers_a else 0.0)
        len_a.append(a)
        len_b.append(b)
    result = length_controlled(scores, len_a, len_b)
    assert result.raw > 0.6
    assert abs(result.controlled - 0.5) < 0.08  # at equal length the judge has no preference
    assert result.raw - result.controlled > 0.1
    assert result.length_slope > 1.0
    # A judge that ignores length (prefers A 75% of the time, whatever the lengths): the
    # two rates agree.
    fair = [1.0 if rng.random() < 0.75 else 0.0 for _ in scores]
    unbiased = length_controlled(fair, len_a, len_b)
    assert unbiased.controlled == pytest.approx(unbiased.raw, abs=0.03)


def test_a_perfect_judge_scores_100_percent_on_the_sanity_set_a_positional_one_fails() -> None:
    reference = "good answer with every good step"
    cut = "good answer"
    controls = [(reference, cut) if i % 2 else (cut, reference) for i in range(20)]

    def picked_better(judge: Judge, first: str, second: str) -> bool | None:
        verdict = judge(first, second)
        if verdict is None or verdict is Position.TIE:
            return None if verdict is None else False
        chosen = first if verdict is Position.FIRST else second
        return chosen == reference

    perfect = sanity([picked_better(_fair, x, y) for x, y in controls])
    assert perfect.accuracy == 1.0
    assert perfect.passed
    positional = sanity([picked_better(_always_first, x, y) for x, y in controls])
    assert positional.accuracy == 0.5
    assert not positional.passed
    mute = sanity([None] * 5 + [True] * 5)
    assert mute.accuracy == 0.5  # an unreadable verdict counts against the judge
    assert SANITY_THRESHOLD == 0.8


def _tournament(seed: int, ties: bool) -> list[Comparison]:
    rng = random.Random(seed)
    true = {"a": 0.0, "b": 0.8, "c": -0.5, "d": 0.3}
    models = list(true)
    out = []
    for prompt in range(60):
        for i, m in enumerate(models):
            for n in models[i + 1 :]:
                p = 1.0 / (1.0 + math.exp(-(true[m] - true[n])))
                draw = rng.random()
                score = 1.0 if draw < p else 0.0
                if ties and abs(draw - p) < 0.1:
                    score = 0.5
                out.append(Comparison(f"q{prompt}", m, n, score))
    return out


def test_bradley_terry_equals_a_statsmodels_logistic_regression() -> None:
    models = ["a", "b", "c", "d"]
    comparisons = _tournament(1, ties=False)
    fitted = strengths(comparisons, models)
    x, y = design(comparisons, models)
    reference = sm.Logit(y, x).fit(disp=0, tol=1e-12, maxiter=200).params
    for model, value in zip(models[1:], reference, strict=True):
        assert fitted[model] == pytest.approx(value, abs=1e-6)
    assert fitted["a"] == 0.0
    assert fitted["b"] > fitted["d"] > fitted["a"] > fitted["c"]


def test_bradley_terry_with_ties_equals_a_binomial_glm() -> None:
    models = ["a", "b", "c", "d"]
    comparisons = _tournament(2, ties=True)
    assert any(c.score == 0.5 for c in comparisons)
    fitted = strengths(comparisons, models)
    x, y = design(comparisons, models)
    glm = sm.GLM(y, x, family=sm.families.Binomial()).fit(tol=1e-12, maxiter=200)
    np.testing.assert_allclose([fitted[m] for m in models[1:]], glm.params, atol=1e-6)


def test_bradley_terry_bootstrap_intervals_cover_the_estimate_and_are_seeded() -> None:
    models = ["a", "b", "c", "d"]
    comparisons = _tournament(3, ties=False)
    intervals = strength_intervals(comparisons, models, n_resamples=200, seed=7)
    assert intervals["a"].low == intervals["a"].high == 0.0
    for model in models[1:]:
        interval = intervals[model]
        assert interval.low < interval.estimate < interval.high
    again = strength_intervals(comparisons, models, n_resamples=200, seed=7)
    assert again == intervals


def test_kappas_equal_statsmodels() -> None:
    rng = random.Random(4)
    labels = ["A", "B", "tie"]
    first = [rng.choice(labels) for _ in range(80)]
    second = [x if rng.random() < 0.6 else rng.choice(labels) for x in first]
    third = [x if rng.random() < 0.4 else rng.choice(labels) for x in first]
    coded = np.array(
        [[labels.index(a), labels.index(b)] for a, b in zip(first, second, strict=True)]
    )
    table, _ = inter_rater.to_table(coded)
    expected = inter_rater.cohens_kappa(table, return_results=False)
    assert cohen_kappa(first, second) == pytest.approx(expected, abs=1e-12)
    counts = fleiss_table(list(zip(first, second, third, strict=True)))
    assert fleiss_kappa(counts) == pytest.approx(inter_rater.fleiss_kappa(counts), abs=1e-12)
    assert cohen_kappa(first, first) == 1.0
    assert math.isnan(cohen_kappa(["A"] * 5, ["A"] * 5))  # chance alone agrees: undefined


def test_self_preference_flags_the_same_model_and_its_family() -> None:
    assert family("llamacpp:gemma3-270m") == "gemma"
    assert family("openai:gpt-4o-mini") == "gpt"
    assert family("mock:a") is None
    models = ["llamacpp:gemma3-270m", "llamacpp:smollm2-135m"]
    assert self_preference("llamacpp:smollm2-135m", models) == ["llamacpp:smollm2-135m"]
    assert self_preference("hf:google/gemma-3-1b-it", models) == ["llamacpp:gemma3-270m"]
    assert self_preference("openai:gpt-4o", models) == []
