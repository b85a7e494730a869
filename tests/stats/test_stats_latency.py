"""Latency summaries checked against numpy."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bakeoff.stats import LatencySummary, rate, summarize_latencies


@pytest.mark.parametrize("n", [1, 2, 7, 100, 1001])
def test_summary_matches_numpy(n: int) -> None:
    values = np.random.default_rng(n).lognormal(-1.0, 0.8, size=n)
    summary = summarize_latencies(values, failed=3)
    assert summary.n == n
    assert summary.failed == 3
    assert summary.mean == pytest.approx(np.mean(values))
    assert [summary.p50, summary.p90, summary.p95, summary.p99] == pytest.approx(
        list(np.percentile(values, [50, 90, 95, 99], method="linear"))
    )
    assert summary.min == np.min(values)
    assert summary.max == np.max(values)


def test_summary_hand_computed() -> None:
    # Linear interpolation on 1..10: position q/100 * 9 -> p50 = 5.5, p90 = 9.1, p99 = 9.91.
    summary = summarize_latencies(list(range(1, 11)))
    assert summary.p50 == pytest.approx(5.5)
    assert summary.p90 == pytest.approx(9.1)
    assert summary.p95 == pytest.approx(9.55)
    assert summary.p99 == pytest.approx(9.91)
    assert (summary.min, summary.max, summary.mean) == (1.0, 10.0, 5.5)


def test_summary_empty_and_single() -> None:
    empty = summarize_latencies([], failed=2)
    assert empty.n == 0
    assert empty.failed == 2
    stats = [empty.mean, empty.p50, empty.p90, empty.p95, empty.p99, empty.min, empty.max]
    assert all(math.isnan(x) for x in stats)
    single = summarize_latencies([0.25])
    assert single == LatencySummary(1, 0, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25)


def test_summary_counts_non_finite_as_failed() -> None:
    summary = summarize_latencies([0.1, math.nan, 0.3, math.inf], failed=1)
    assert summary.n == 2
    assert summary.failed == 3
    assert summary.mean == pytest.approx(0.2)
    with pytest.raises(ValueError, match="failed"):
        summarize_latencies([0.1], failed=-1)


def test_rate() -> None:
    assert rate(1000, 4.0) == 250.0
    assert rate(0, 2.0) == 0.0
    assert rate(10, 0.0) is None
    assert rate(10, -1.0) is None
    assert rate(10, math.nan) is None
    assert rate(math.inf, 1.0) is None
