"""Paired comparisons checked against scipy, statsmodels and published values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.multitest import multipletests

from bakeoff.stats import (
    Aggregation,
    compare_paired,
    holm,
    mcnemar_exact,
    newcombe_paired_interval,
)
from bakeoff.tasks.base import AGGREGATIONS

MEAN = AGGREGATIONS["mean"]
F1 = AGGREGATIONS["f1"]


def _correct(n: int, accuracy: float, rng: np.random.Generator) -> np.ndarray:
    return (rng.random((n, 1)) < accuracy).astype(float)


def _classifiers(n: int, accuracy_a: float, accuracy_b: float, seed: int) -> tuple[np.ndarray, ...]:
    """Predictions of two classifiers on shared gold labels: (pred_a, pred_b, gold)."""
    rng = np.random.default_rng(seed)
    gold = rng.integers(0, 2, n).astype(float)
    pred_a = np.where(rng.random(n) < accuracy_a, gold, 1.0 - gold)
    pred_b = np.where(rng.random(n) < accuracy_b, gold, 1.0 - gold)
    return pred_a, pred_b, gold


# ------------------------------------------------------------------------------------- McNemar


@pytest.mark.parametrize("b", [0, 1, 2, 5, 13, 40])
@pytest.mark.parametrize("c", [0, 1, 3, 9, 40, 120])
def test_mcnemar_matches_scipy_and_statsmodels(b: int, c: int) -> None:
    p = mcnemar_exact(b, c)
    if b + c == 0:
        assert p == 1.0
        return
    assert p == pytest.approx(stats.binomtest(b, b + c, 0.5).pvalue, rel=1e-12)
    table = np.array([[30, b], [c, 17]])
    assert p == pytest.approx(mcnemar(table, exact=True).pvalue, rel=1e-12)


def test_mcnemar_edges() -> None:
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(3, 3) == 1.0
    assert mcnemar_exact(0, 6) == pytest.approx(2 * 0.5**6)
    with pytest.raises(ValueError, match="non-negative"):
        mcnemar_exact(-1, 2)


# ----------------------------------------------------------------------------------------- Holm


@pytest.mark.parametrize("seed", range(5))
def test_holm_matches_statsmodels(seed: int) -> None:
    rng = np.random.default_rng(seed)
    p_values = list(rng.uniform(0, 0.2, size=8) ** 2)
    expected = multipletests(p_values, method="holm")[1]
    assert holm(p_values) == pytest.approx(list(expected), rel=1e-12)


def test_holm_hand_computed() -> None:
    # Sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> max so far 0.06.
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == [1.0, 1.0]  # capped at 1
    assert holm([0.02, 0.02]) == pytest.approx([0.04, 0.04])  # ties
    assert holm([0.3]) == [0.3]
    assert holm([]) == []


def test_holm_nan_is_left_out() -> None:
    adjusted = holm([0.01, math.nan, 0.04])
    assert adjusted[0] == pytest.approx(0.02)
    assert adjusted[2] == pytest.approx(0.04)
    assert math.isnan(adjusted[1])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        holm([0.5, 1.5])


def _holm_by_definition(p_values: list[float]) -> list[float]:
    """Holm's step-down procedure written out directly (independent of the implementation)."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=30))
def test_holm_property(p_values: list[float]) -> None:
    adjusted = holm(p_values)
    assert adjusted == pytest.approx(_holm_by_definition(p_values), abs=1e-12)
    assert all(p <= a <= 1.0 for p, a in zip(p_values, adjusted, strict=True))
    order = np.argsort(p_values, kind="stable")
    assert all(np.diff(np.asarray(adjusted)[order]) >= 0)


# ------------------------------------------------------------------------------------ Newcombe


def test_newcombe_published_example() -> None:
    # Cavo et al. (2012), paired 2x2 table [[59, 6], [16, 80]]: Fagerland, Lydersen & Laake,
    # "Statistical Analysis of Contingency Tables" (2017), ch. 8, Newcombe square-and-add
    # interval: -0.0621 (95 % CI -0.1186 to -0.0046); also the R package contingencytables.
    interval = newcombe_paired_interval(59, 6, 16, 80)
    assert round(interval.estimate, 4) == -0.0621
    assert round(interval.low, 4) == -0.1186
    assert round(interval.high, 4) == -0.0046


@settings(max_examples=200, deadline=None)
@given(*(st.integers(min_value=0, max_value=60) for _ in range(4)))
def test_newcombe_properties(both: int, only_a: int, only_b: int, neither: int) -> None:
    n = both + only_a + only_b + neither
    interval = newcombe_paired_interval(both, only_a, only_b, neither)
    if n == 0:
        assert math.isnan(interval.estimate)
        return
    assert -1.0 <= interval.low <= interval.estimate <= interval.high <= 1.0
    assert interval.estimate == pytest.approx((only_a - only_b) / n)
    assert interval.width > 0.0  # never collapses, even with no discordant pairs
    swapped = newcombe_paired_interval(both, only_b, only_a, neither)
    assert swapped.low == pytest.approx(-interval.high)
    assert swapped.high == pytest.approx(-interval.low)


# ---------------------------------------------------------------------------- compare_paired


def test_compare_binary_mean() -> None:
    rng = np.random.default_rng(0)
    a, b = _correct(300, 0.72, rng), _correct(300, 0.64, rng)
    result = compare_paired(a, b, MEAN, binary=True, is_mean=True, seed=1)
    x, y = a[:, 0] == 1, b[:, 0] == 1
    only_a, only_b = int(np.sum(x & ~y)), int(np.sum(~x & y))
    assert result.discordant == (only_a, only_b)
    assert result.difference == pytest.approx(a.mean() - b.mean())
    assert result.p_value == pytest.approx(stats.binomtest(only_a, only_a + only_b).pvalue)
    assert result.interval == newcombe_paired_interval(
        int(np.sum(x & y)), only_a, only_b, int(np.sum(~x & ~y))
    )
    assert result.test == "McNemar exact"
    assert result.n == 300
    # prob_a_better against the share of positive differences in scipy's paired bootstrap.
    reference = stats.bootstrap(
        (a[:, 0], b[:, 0]),
        lambda u, v, axis: np.mean(u, axis=axis) - np.mean(v, axis=axis),
        paired=True,
        n_resamples=4000,
        rng=2,
    ).bootstrap_distribution
    expected = np.mean(reference > 0) + 0.5 * np.mean(reference == 0)
    assert result.prob_a_better == pytest.approx(expected, abs=0.03)


def test_compare_continuous_mean_matches_ttest_rel() -> None:
    rng = np.random.default_rng(3)
    base = rng.normal(0.5, 0.2, size=(80, 1))
    a, b = base + rng.normal(0.03, 0.1, size=(80, 1)), base
    for level in (0.9, 0.95):
        result = compare_paired(a, b, MEAN, binary=False, is_mean=True, level=level)
        reference = stats.ttest_rel(a[:, 0], b[:, 0])
        assert result.p_value == pytest.approx(reference.pvalue, rel=1e-10)
        ci = reference.confidence_interval(level)
        assert result.interval.low == pytest.approx(ci.low, rel=1e-10)
        assert result.interval.high == pytest.approx(ci.high, rel=1e-10)
        assert result.difference == pytest.approx(np.mean(a - b))
        assert result.test == "paired t"
        assert result.discordant is None
    assert 0.5 < result.prob_a_better <= 1.0


def test_compare_corpus_metric_matches_scipy() -> None:
    pred_a, pred_b, gold = _classifiers(400, 0.80, 0.77, seed=1)
    a, b = np.column_stack([pred_a, gold]), np.column_stack([pred_b, gold])
    result = compare_paired(a, b, F1, binary=False, is_mean=False, n_resamples=4000, seed=0)
    assert result.difference == pytest.approx(F1(a) - F1(b))
    assert result.test == "paired permutation"
    assert result.interval.method == "paired percentile bootstrap"

    def f1_difference(p: np.ndarray, q: np.ndarray, g: np.ndarray) -> float:
        return F1(np.column_stack([p, g])) - F1(np.column_stack([q, g]))

    bootstrap = stats.bootstrap(
        (pred_a, pred_b, gold),
        f1_difference,
        paired=True,
        vectorized=False,
        method="percentile",
        n_resamples=4000,
        rng=np.random.default_rng(10),
    )
    tolerance = 0.1 * result.interval.width
    assert result.interval.low == pytest.approx(bootstrap.confidence_interval.low, abs=tolerance)
    assert result.interval.high == pytest.approx(bootstrap.confidence_interval.high, abs=tolerance)
    distribution = bootstrap.bootstrap_distribution
    expected = np.mean(distribution > 0) + 0.5 * np.mean(distribution == 0)
    assert result.prob_a_better == pytest.approx(expected, abs=0.03)

    # 'samples' permutes within pairs: swapping A's and B's prediction on a sample (gold shared).
    permutation = stats.permutation_test(
        (pred_a, pred_b),
        lambda p, q: f1_difference(p, q, gold),
        permutation_type="samples",
        vectorized=False,
        n_resamples=4000,
        rng=np.random.default_rng(11),
    )
    assert 0.01 < permutation.pvalue < 0.5  # a moderate p, where Monte-Carlo error is visible
    assert result.p_value == pytest.approx(permutation.pvalue, abs=0.03)


def test_compare_corpus_metric_exact_permutation_small_n() -> None:
    # n = 9: scipy enumerates all 2**9 sign flips, giving the exact permutation p-value.
    pred_a, pred_b, gold = _classifiers(9, 0.9, 0.5, seed=4)
    a, b = np.column_stack([pred_a, gold]), np.column_stack([pred_b, gold])
    result = compare_paired(a, b, F1, binary=False, is_mean=False, n_resamples=4000)
    exact = stats.permutation_test(
        (pred_a, pred_b),
        lambda p, q: F1(np.column_stack([p, gold])) - F1(np.column_stack([q, gold])),
        permutation_type="samples",
        vectorized=False,
    )
    assert result.p_value == pytest.approx(exact.pvalue, abs=0.03)


@pytest.mark.parametrize(
    ("binary", "is_mean", "aggregate", "column_values"),
    [(True, True, MEAN, "binary"), (False, True, MEAN, "continuous"), (False, False, F1, "f1")],
)
def test_identical_models(
    binary: bool, is_mean: bool, aggregate: Aggregation, column_values: str
) -> None:
    rng = np.random.default_rng(5)
    if column_values == "f1":
        inputs = np.column_stack(_classifiers(200, 0.7, 0.7, seed=5)[::2])
    elif column_values == "binary":
        inputs = _correct(200, 0.7, rng)
    else:
        inputs = rng.random((200, 1))
    result = compare_paired(inputs, inputs.copy(), aggregate, binary=binary, is_mean=is_mean)
    assert result.difference == 0.0
    assert result.p_value == 1.0
    assert result.prob_a_better == 0.5
    assert result.interval.low <= 0.0 <= result.interval.high
    # Bootstrap and t collapse to [0, 0]; Newcombe stays honest about n (about ±0.013 here).
    assert result.interval.width < 0.03


def test_all_correct_both() -> None:
    ones = np.ones((50, 1))
    result = compare_paired(ones, ones, MEAN, binary=True, is_mean=True)
    assert (result.difference, result.p_value, result.discordant) == (0.0, 1.0, (0, 0))
    assert result.interval.low < 0.0 < result.interval.high


def test_constant_nonzero_difference() -> None:
    b = np.random.default_rng(6).random((20, 1))
    result = compare_paired(b + 0.1, b, MEAN, binary=False, is_mean=True)
    assert result.p_value < 1e-100  # t -> infinity (exactly 0 without rounding noise)
    assert result.difference == pytest.approx(0.1)
    assert result.interval.low == pytest.approx(0.1)
    assert result.interval.high == pytest.approx(0.1)
    assert result.prob_a_better == 1.0
    # Exactly representable values: zero spread exactly, and p is exactly 0 (not NaN).
    quarters = np.arange(20.0).reshape(-1, 1) / 4
    exact = compare_paired(quarters + 0.5, quarters, MEAN, binary=False, is_mean=True)
    assert exact.p_value == 0.0
    assert exact.interval.width == 0.0


@pytest.mark.parametrize(
    ("binary", "is_mean", "aggregate"),
    [(True, True, MEAN), (False, True, MEAN), (False, False, F1)],
)
def test_empty_and_single_sample(binary: bool, is_mean: bool, aggregate: Aggregation) -> None:
    empty = compare_paired(np.empty((0, 2)), np.empty((0, 2)), aggregate, binary, is_mean)
    assert empty.n == 0
    assert math.isnan(empty.difference)
    assert math.isnan(empty.p_value)
    assert math.isnan(empty.prob_a_better)
    assert math.isnan(empty.interval.low)

    single = compare_paired(
        np.array([[1.0, 1.0]]), np.array([[0.0, 1.0]]), aggregate, binary, is_mean
    )
    assert single.n == 1
    assert single.difference == 1.0
    assert math.isnan(single.prob_a_better)
    assert math.isnan(single.p_value) or 0.0 <= single.p_value <= 1.0
    if binary:
        assert single.discordant == (1, 0)
        assert single.p_value == 1.0


def test_compare_validates_inputs() -> None:
    with pytest.raises(ValueError, match="same shape"):
        compare_paired(np.zeros((3, 1)), np.zeros((4, 1)), MEAN, binary=True, is_mean=True)
    with pytest.raises(ValueError, match="exactly 0 or 1"):
        compare_paired(np.full((3, 1), 0.5), np.zeros((3, 1)), MEAN, binary=True, is_mean=True)


def test_compare_is_deterministic() -> None:
    pred_a, pred_b, gold = _classifiers(150, 0.8, 0.75, seed=8)
    a, b = np.column_stack([pred_a, gold]), np.column_stack([pred_b, gold])
    first = compare_paired(a, b, F1, binary=False, is_mean=False, n_resamples=500, seed=3)
    again = compare_paired(a, b, F1, binary=False, is_mean=False, n_resamples=500, seed=3)
    assert first == again


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.tuples(st.booleans(), st.booleans()), min_size=2, max_size=200),
    st.integers(min_value=0, max_value=2**32 - 1),
)
def test_swapping_models_mirrors_the_result(pairs: list[tuple[bool, bool]], seed: int) -> None:
    a = np.array([[float(x)] for x, _ in pairs])
    b = np.array([[float(y)] for _, y in pairs])
    forward = compare_paired(a, b, MEAN, binary=True, is_mean=True, n_resamples=300, seed=seed)
    backward = compare_paired(b, a, MEAN, binary=True, is_mean=True, n_resamples=300, seed=seed)
    assert backward.difference == pytest.approx(-forward.difference)
    assert backward.p_value == forward.p_value
    assert backward.prob_a_better == pytest.approx(1.0 - forward.prob_a_better)
    assert backward.interval.low == pytest.approx(-forward.interval.high)
    assert forward.discordant is not None
    assert backward.discordant == forward.discordant[::-1]
    assert 0.0 <= forward.p_value <= 1.0
    assert 0.0 <= forward.prob_a_better <= 1.0
