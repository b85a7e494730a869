"""The numbers the guide prints, recomputed independently with scipy and statsmodels.

tests/stats checks bakeoff.stats itself; this checks that the report feeds it the right data:
every sample both models finished, Holm over every comparison in the report, the interval of
each score, the latency test on per-sample seconds.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pytest
from scipy.stats import binomtest, ttest_rel
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import TTestPower
from statsmodels.stats.proportion import proportion_confint
from tests.report.report_fixtures import GEMMA, OUTCOMES, SMOL, demo_store

from bakeoff.report.model import MetricReport, Power, ReportModel, build_report
from bakeoff.report.model.power import power as comparison_power
from bakeoff.report.task_blocks import power_cells
from bakeoff.stats import (
    compare_paired,
    expected_discordance,
    minimum_detectable_difference,
    samples_needed,
)
from bakeoff.storage.sqlite import SqliteStore
from bakeoff.tasks.base import MetricSpec


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SqliteStore, ReportModel]]:
    store = demo_store(tmp_path_factory.mktemp("stats") / "demo.db")
    yield store, build_report(store, "latest")
    store.close()


def test_holm_over_every_comparison_matches_statsmodels(
    stored: tuple[SqliteStore, ReportModel],
) -> None:
    _, report = stored
    comparisons = [c for _, _, c in report.comparisons()]
    assert len(comparisons) == 5  # 4 primary metrics + arithmetic-mc's acc_norm
    expected = multipletests([c.paired.p_value for c in comparisons], method="holm")[1]
    assert [c.p_adjusted for c in comparisons] == pytest.approx(list(expected), abs=1e-12)


def test_mcnemar_and_wilson_match_scipy_and_statsmodels(
    stored: tuple[SqliteStore, ReportModel],
) -> None:
    _, report = stored
    for task in report.tasks:
        n, gemma, smol = OUTCOMES[task.name]
        metric = task.primary
        assert metric is not None
        (comparison,) = metric.comparisons
        only_gemma = sum(gemma(i) and not smol(i) for i in range(n))
        only_smol = sum(smol(i) and not gemma(i) for i in range(n))
        exact = binomtest(only_gemma, only_gemma + only_smol).pvalue
        assert comparison.paired.p_value == pytest.approx(exact, rel=1e-9)
        assert comparison.paired.difference == pytest.approx((only_gemma - only_smol) / n)
        for score, rule in zip(metric.scores, (gemma, smol), strict=True):
            right = sum(rule(i) for i in range(n))
            low, high = proportion_confint(right, n, alpha=0.05, method="wilson")
            assert (score.interval.low, score.interval.high) == pytest.approx((low, high))


def test_mdd_is_the_stats_modules_for_the_measured_discordance(
    stored: tuple[SqliteStore, ReportModel],
) -> None:
    _, report = stored
    needle = next(t for t in report.tasks if t.name == "needle")
    assert needle.primary is not None
    power = needle.primary.comparisons[0].power
    assert power is not None
    n, gemma, smol = OUTCOMES["needle"]
    psi = sum(gemma(i) != smol(i) for i in range(n)) / n
    assert power.mdd == minimum_detectable_difference(n, 0.5, discordance=psi)


def test_latency_test_matches_scipy_ttest_rel(stored: tuple[SqliteStore, ReportModel]) -> None:
    store, report = stored
    (comparison,) = report.latency
    seconds = {
        model: {
            (r.task, r.sample_id): (r.prompt_seconds or 0.0) + (r.output_seconds or 0.0)
            for r in store.iter_results(report.run.run_id, model=model)
        }
        for model in (GEMMA, SMOL)
    }
    keys = sorted(seconds[GEMMA])
    a = np.array([seconds[GEMMA][k] for k in keys])
    b = np.array([seconds[SMOL][k] for k in keys])
    reference = ttest_rel(a, b)
    assert comparison.n == len(keys) == 140
    assert comparison.paired.p_value == pytest.approx(float(reference.pvalue), abs=1e-300)
    interval = reference.confidence_interval(0.95)
    assert comparison.paired.interval.low == pytest.approx(float(interval.low))
    assert comparison.paired.interval.high == pytest.approx(float(interval.high))
    assert comparison.verdict == f"{GEMMA} faster"


def _compared(spec: MetricSpec, a: np.ndarray, b: np.ndarray) -> Power | None:
    """The report's power figures for one pair, fed the same way _metric_report feeds them."""
    paired = compare_paired(a, b, spec.aggregate, spec.binary, spec.aggregation == "mean")
    return comparison_power(spec, paired, a, b)


@pytest.mark.parametrize(("scale", "target", "spread"), [(100.0, 0.02, 0.2), (1.0, 2.0, 8.0)])
def test_power_of_a_continuous_mean_matches_statsmodels(
    scale: float, target: float, spread: float
) -> None:
    rng = np.random.default_rng(4)
    a = rng.normal(0.6, 0.25, size=(300, 1))
    b = a - rng.normal(0.01, spread, size=(300, 1))
    power = _compared(MetricSpec("score", scale=scale), a, b)
    assert power is not None
    sd = float(np.std(a[:, 0] - b[:, 0], ddof=1))
    effect = TTestPower().solve_power(nobs=300, alpha=0.05, power=0.8)
    assert power.mdd == pytest.approx(effect * sd, rel=1e-4)
    # "n for 2 pts" is for 2 units as the score is shown: 0.02 at scale 100, 2.0 at scale 1.
    needed = TTestPower().solve_power(effect_size=target / sd, alpha=0.05, power=0.8)
    assert power.samples_for_target == max(2, math.ceil(needed - 1e-6))
    assert power.discordance is None
    assert power.note == ""


def test_power_of_a_masked_mean_is_mcnemar_over_the_mask() -> None:
    rng = np.random.default_rng(5)
    mask = (np.arange(400) % 4 != 0).astype(float)  # 300 of 400 samples are in the subset
    refused_a = (rng.random(400) < 0.3).astype(float)
    refused_b = np.where(rng.random(400) < 0.2, 1.0 - refused_a, refused_a)
    a, b = np.column_stack([refused_a, mask]), np.column_stack([refused_b, mask])
    power = _compared(MetricSpec("refusal", aggregation="masked_mean", scale=100.0), a, b)
    assert power is not None
    inside = mask == 1.0
    psi = float(np.mean(refused_a[inside] != refused_b[inside]))
    assert 0.1 < psi < 0.3
    assert power.discordance == pytest.approx(psi)
    # Samples outside the mask do not count: n is the 300 masked samples, not the 400 paired.
    assert power.mdd == minimum_detectable_difference(300, 0.5, discordance=psi)
    assert power.mdd != minimum_detectable_difference(400, 0.5, discordance=psi)
    assert power.samples_for_target == samples_needed(0.02, psi)
    assert "300 samples" in power.note


def test_identical_answers_label_the_assumed_discordance() -> None:
    a = np.array([[1.0]] * 70 + [[0.0]] * 30)
    power = _compared(MetricSpec("acc", binary=True, scale=100.0), a, a.copy())
    assert power is not None
    psi = expected_discordance(0.7, 0.7)  # 2 * 0.7 * 0.3 = 0.42
    assert power.discordance == pytest.approx(psi)
    assert power.mdd == pytest.approx(minimum_detectable_difference(100, 0.5, discordance=psi))
    assert "assumed" in power.note
    assert "0.42" in power.note
    cell, _ = power_cells(power, MetricReport("acc", True, 100.0, True, ()))
    assert cell.endswith(" †")


def test_corpus_level_metrics_say_why_there_is_no_mdd() -> None:
    rng = np.random.default_rng(6)
    a = np.column_stack([rng.integers(0, 2, 80), rng.integers(0, 2, 80)]).astype(float)
    b = np.column_stack([rng.integers(0, 2, 80), a[:, 1]])
    power = _compared(MetricSpec("f1", aggregation="f1"), a, b)
    assert power is not None
    assert math.isnan(power.mdd)
    assert power.samples_for_target is None
    assert "closed-form" in power.note
    metric = MetricReport("f1", True, 1.0, True, ())
    assert power_cells(power, metric) == ("not computed †", "n/a")
