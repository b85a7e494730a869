"""The numbers the guide prints, recomputed independently with scipy and statsmodels.

tests/stats checks bakeoff.stats itself; this checks that the report feeds it the right data:
every sample both models finished, Holm over every comparison in the report, the interval of
each score, the latency test on per-sample seconds.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from scipy.stats import binomtest, ttest_rel
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint
from tests.report.report_fixtures import GEMMA, OUTCOMES, SMOL, demo_store

from bakeoff.report.model import ReportModel, build_report
from bakeoff.stats import minimum_detectable_difference
from bakeoff.storage.sqlite import SqliteStore


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
