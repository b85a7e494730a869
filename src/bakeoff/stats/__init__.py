"""Statistics for head-to-head comparisons: intervals, paired tests, power, latency.

Pure numpy/scipy and deterministic given a seed. See each module's docstring for which method
is used and why.
"""

from __future__ import annotations

from bakeoff.stats.intervals import (
    Aggregation,
    FloatArray,
    Interval,
    bootstrap_interval,
    mean_interval,
    metric_interval,
    wilson_interval,
)
from bakeoff.stats.latency import LatencySummary, rate, summarize_latencies
from bakeoff.stats.paired import (
    PairedComparison,
    compare_paired,
    holm,
    mcnemar_exact,
    newcombe_paired_interval,
)
from bakeoff.stats.power import (
    expected_discordance,
    mdd_continuous,
    min_discordant_pairs,
    minimum_detectable_difference,
    samples_needed,
    samples_needed_continuous,
)

__all__ = [
    "Aggregation",
    "FloatArray",
    "Interval",
    "LatencySummary",
    "PairedComparison",
    "bootstrap_interval",
    "compare_paired",
    "expected_discordance",
    "holm",
    "mcnemar_exact",
    "mdd_continuous",
    "mean_interval",
    "metric_interval",
    "min_discordant_pairs",
    "minimum_detectable_difference",
    "newcombe_paired_interval",
    "rate",
    "samples_needed",
    "samples_needed_continuous",
    "summarize_latencies",
    "wilson_interval",
]
