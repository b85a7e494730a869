"""Single-model intervals checked against statsmodels, scipy and closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from bakeoff.stats import (
    Aggregation,
    Interval,
    bootstrap_interval,
    mean_interval,
    metric_interval,
    wilson_interval,
)
from bakeoff.tasks.base import AGGREGATIONS

MEAN = AGGREGATIONS["mean"]
F1 = AGGREGATIONS["f1"]
MCC = AGGREGATIONS["mcc"]
PERPLEXITY = AGGREGATIONS["perplexity"]


def _classification(n: int, accuracy: float, seed: int) -> np.ndarray:
    """(prediction, gold) rows, both 0/1, with roughly ``accuracy`` correct."""
    rng = np.random.default_rng(seed)
    gold = rng.integers(0, 2, n).astype(float)
    prediction = np.where(rng.random(n) < accuracy, gold, 1.0 - gold)
    return np.column_stack([prediction, gold])


# ------------------------------------------------------------------------------------ Wilson


@pytest.mark.parametrize("level", [0.8, 0.9, 0.95, 0.99])
@pytest.mark.parametrize(
    ("successes", "n"), [(0, 1), (1, 1), (0, 10), (3, 10), (10, 10), (7, 20), (512, 1000)]
)
def test_wilson_matches_statsmodels(successes: int, n: int, level: float) -> None:
    low, high = proportion_confint(successes, n, alpha=1 - level, method="wilson")
    interval = wilson_interval(successes, n, level)
    assert interval.estimate == pytest.approx(successes / n)
    assert interval.low == pytest.approx(low, abs=1e-12)
    assert interval.high == pytest.approx(high, abs=1e-12)
    assert interval.level == level
    assert interval.method == "Wilson score"


def test_wilson_hand_computed() -> None:
    # 0 of n: the upper bound has the closed form z²/(n + z²); z = 1.959964 at 95 %.
    z2 = stats.norm.ppf(0.975) ** 2
    assert wilson_interval(0, 10).high == pytest.approx(z2 / (10 + z2))
    assert wilson_interval(0, 10).high == pytest.approx(0.27753, abs=1e-5)
    # 7 of 20 at 95 %, by hand: p = 0.35, z² = 3.8415, 1 + z²/n = 1.19207,
    # centre = (0.35 + 0.096037) / 1.19207 = 0.374172,
    # half = 1.959964 / 1.19207 * sqrt(0.35 * 0.65 / 20 + 3.8415 / 1600) = 0.192980.
    interval = wilson_interval(7, 20)
    assert (round(interval.low, 4), round(interval.high, 4)) == (0.1812, 0.5671)


def test_wilson_edges() -> None:
    empty = wilson_interval(0, 0)
    assert math.isnan(empty.estimate)
    assert math.isnan(empty.low)
    assert math.isnan(empty.high)
    perfect = wilson_interval(50, 50)
    assert perfect.estimate == 1.0
    assert perfect.high == 1.0
    assert 0.9 < perfect.low < 1.0
    zero = wilson_interval(0, 50)
    assert zero.low == 0.0
    assert 0.0 < zero.high < 0.1
    with pytest.raises(ValueError, match="successes"):
        wilson_interval(11, 10)
    with pytest.raises(ValueError, match="successes"):
        wilson_interval(-1, 10)
    with pytest.raises(ValueError, match="level"):
        wilson_interval(1, 10, level=1.0)


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(min_value=1, max_value=5000),
    fraction=st.floats(min_value=0.0, max_value=1.0),
    level=st.floats(min_value=0.5, max_value=0.999),
)
def test_wilson_property(n: int, fraction: float, level: float) -> None:
    successes = round(fraction * n)
    interval = wilson_interval(successes, n, level)
    assert 0.0 <= interval.low <= interval.estimate <= interval.high <= 1.0
    assert interval.width > 0.0
    low, high = proportion_confint(successes, n, alpha=1 - level, method="wilson")
    assert interval.low == pytest.approx(max(0.0, low), abs=1e-12)
    assert interval.high == pytest.approx(min(1.0, high), abs=1e-12)


# ----------------------------------------------------------------------------------- t interval


@pytest.mark.parametrize("level", [0.9, 0.95, 0.99])
@pytest.mark.parametrize("n", [2, 3, 30, 1000])
def test_mean_interval_matches_scipy(n: int, level: float) -> None:
    values = np.random.default_rng(n).gamma(2.0, 1.5, size=n)
    interval = mean_interval(values, level)
    reference = stats.ttest_1samp(values, 0.0).confidence_interval(level)
    assert interval.estimate == pytest.approx(np.mean(values))
    assert interval.low == pytest.approx(reference.low, rel=1e-12)
    assert interval.high == pytest.approx(reference.high, rel=1e-12)
    low, high = stats.t.interval(level, n - 1, loc=np.mean(values), scale=stats.sem(values))
    assert (interval.low, interval.high) == pytest.approx((low, high), rel=1e-12)
    assert interval.method == "Student t"


def test_mean_interval_edges() -> None:
    empty = mean_interval([])
    assert math.isnan(empty.estimate)
    assert math.isnan(empty.low)
    assert math.isnan(empty.high)
    single = mean_interval([0.25])
    assert single.estimate == 0.25
    assert math.isnan(single.low)
    assert math.isnan(single.high)
    constant = mean_interval([0.5] * 10)
    assert constant == Interval(0.5, 0.5, 0.5, 0.95, "Student t")
    with pytest.raises(ValueError, match="one-dimensional"):
        mean_interval(np.zeros((3, 2)))


# ------------------------------------------------------------------------------------ bootstrap


@pytest.mark.parametrize(("name", "aggregate"), [("f1", F1), ("mcc", MCC)])
def test_bootstrap_matches_scipy_percentile(name: str, aggregate: Aggregation) -> None:
    inputs = _classification(400, 0.8, seed=1)
    ours = bootstrap_interval(inputs, aggregate, n_resamples=4000, seed=3)

    def statistic(prediction: np.ndarray, gold: np.ndarray) -> float:
        return float(aggregate(np.column_stack([prediction, gold])))

    reference = stats.bootstrap(
        (inputs[:, 0], inputs[:, 1]),
        statistic,
        paired=True,
        vectorized=False,
        method="percentile",
        n_resamples=4000,
        rng=np.random.default_rng(12345),
    )
    assert ours.estimate == pytest.approx(aggregate(inputs))
    tolerance = 0.1 * ours.width  # Monte-Carlo error of a 2.5 % quantile from 4000 resamples
    assert ours.low == pytest.approx(reference.confidence_interval.low, abs=tolerance)
    assert ours.high == pytest.approx(reference.confidence_interval.high, abs=tolerance)
    assert ours.method == "percentile bootstrap"


def test_bootstrap_perplexity_matches_scipy() -> None:
    rng = np.random.default_rng(7)
    units = rng.integers(5, 50, 300).astype(float)
    loglik = -units * rng.gamma(4.0, 0.5, 300)
    inputs = np.column_stack([loglik, units])
    ours = bootstrap_interval(inputs, PERPLEXITY, n_resamples=4000, seed=1)
    reference = stats.bootstrap(
        (loglik, units),
        lambda ll, u: PERPLEXITY(np.column_stack([ll, u])),
        paired=True,
        vectorized=False,
        method="percentile",
        n_resamples=4000,
        rng=np.random.default_rng(2),
    )
    assert ours.estimate == pytest.approx(math.exp(-loglik.sum() / units.sum()))
    tolerance = 0.1 * ours.width
    assert ours.low == pytest.approx(reference.confidence_interval.low, abs=tolerance)
    assert ours.high == pytest.approx(reference.confidence_interval.high, abs=tolerance)


def test_bootstrap_mean_vectorized_equals_loop_and_scipy() -> None:
    values = np.random.default_rng(5).normal(0.3, 1.0, size=(500, 1))
    looped = bootstrap_interval(values, MEAN, seed=11)
    vectorized = bootstrap_interval(values, MEAN, seed=11, is_mean=True)
    assert vectorized.low == pytest.approx(looped.low, abs=1e-12)
    assert vectorized.high == pytest.approx(looped.high, abs=1e-12)
    reference = stats.bootstrap(
        (values[:, 0],), np.mean, method="percentile", n_resamples=4000, rng=1
    ).confidence_interval
    tolerance = 0.1 * vectorized.width
    assert vectorized.low == pytest.approx(reference.low, abs=tolerance)
    assert vectorized.high == pytest.approx(reference.high, abs=tolerance)


def test_bootstrap_is_deterministic() -> None:
    inputs = _classification(200, 0.7, seed=2)
    assert bootstrap_interval(inputs, F1, seed=4) == bootstrap_interval(inputs, F1, seed=4)
    assert bootstrap_interval(inputs, F1, seed=4) != bootstrap_interval(inputs, F1, seed=5)


def test_bootstrap_edges() -> None:
    empty = bootstrap_interval(np.empty((0, 2)), F1)
    assert math.isnan(empty.estimate)
    assert math.isnan(empty.low)
    assert math.isnan(empty.high)
    single = bootstrap_interval(np.array([[1.0, 1.0]]), F1)
    assert single.estimate == 1.0
    assert math.isnan(single.low)
    assert math.isnan(single.high)
    perfect = bootstrap_interval(np.array([[1.0, 1.0], [0.0, 0.0]] * 50), F1)
    assert (perfect.estimate, perfect.low, perfect.high) == (1.0, 1.0, 1.0)
    # Resamples without units give a NaN perplexity; they are dropped, not propagated.
    sparse = np.array([[-3.0, 2.0]] + [[0.0, 0.0]] * 9)
    interval = bootstrap_interval(sparse, PERPLEXITY, n_resamples=500)
    assert interval.low == interval.high == pytest.approx(math.exp(1.5))
    with pytest.raises(ValueError, match="n_resamples"):
        bootstrap_interval(sparse, PERPLEXITY, n_resamples=0)


# ------------------------------------------------------------------------------- metric_interval


def test_metric_interval_dispatch() -> None:
    correct = (np.random.default_rng(0).random((120, 1)) < 0.6).astype(float)
    binary = metric_interval(correct, MEAN, binary=True, is_mean=True)
    assert binary == wilson_interval(int(correct.sum()), 120)

    scores = np.random.default_rng(1).random((120, 1))
    continuous = metric_interval(scores, MEAN, binary=False, is_mean=True, level=0.9)
    assert continuous == mean_interval(scores[:, 0], 0.9)

    inputs = _classification(120, 0.7, seed=3)
    corpus = metric_interval(inputs, F1, binary=False, is_mean=False, seed=8)
    assert corpus == bootstrap_interval(inputs, F1, seed=8)

    with pytest.raises(ValueError, match="exactly 0 or 1"):
        metric_interval(scores, MEAN, binary=True, is_mean=True)


def test_metric_interval_empty_and_single() -> None:
    for binary, is_mean, aggregate in [(True, True, MEAN), (False, True, MEAN), (False, False, F1)]:
        empty = metric_interval(np.empty((0, 2)), aggregate, binary=binary, is_mean=is_mean)
        assert math.isnan(empty.low)
        assert math.isnan(empty.high)
        single = metric_interval(np.array([[1.0, 1.0]]), aggregate, binary, is_mean)
        assert single.estimate == 1.0
