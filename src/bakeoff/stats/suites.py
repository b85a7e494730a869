"""Suite scores as the leaderboards compute them (the GLUE score, the SuperGLUE score), with a
bootstrap interval.

The one copy of the averaging rule: the benchmark tasks (``bakeoff.tasks.benchmarks``) re-export
it, and the report's claims check uses it, which it may since stats sits below the report.

A suite's *parts* are groups of (task, metric): each group's metrics are averaged into one task
score (MRPC's F1 and accuracy, for instance), then the suite score is the unweighted mean of the
task scores. Values are on the stored 0–1 scale (MCC and correlations can be negative).

The interval (:func:`suite_interval`) is a percentile bootstrap that resamples each task's
samples independently (the tasks are separate samples of separate datasets) and the rows of one
task together for all of its metrics (MRPC's F1 and accuracy come from the same answers).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np

from bakeoff.stats.intervals import (
    PERCENTILE_BOOTSTRAP,
    Aggregation,
    FloatArray,
    Interval,
    _percentile_bounds,
    _resample_indices,
)

Scores = Mapping[str, Mapping[str, float]]
"""task name → metric → value (stored 0–1 scale)."""
Parts = tuple[tuple[tuple[str, str], ...], ...]

# The GLUE leaderboard score: each task's metrics averaged into one task score (MRPC F1/acc,
# QQP F1/acc, STS-B Pearson/Spearman, MNLI matched/mismatched accuracy), then the unweighted
# mean of the nine task scores (Wang et al. 2019, §4; the diagnostic set AX is not included).
GLUE_SCORE_PARTS: Parts = (
    (("glue-cola", "mcc"),),
    (("glue-sst2", "acc"),),
    (("glue-mrpc", "f1"), ("glue-mrpc", "acc")),
    (("glue-stsb", "pearson"), ("glue-stsb", "spearman")),
    (("glue-qqp", "f1"), ("glue-qqp", "acc")),
    (("glue-mnli", "acc"), ("glue-mnli-mm", "acc")),
    (("glue-qnli", "acc"),),
    (("glue-rte", "acc"),),
    (("glue-wnli", "acc"),),
)

# The SuperGLUE leaderboard score: tasks with two metrics averaged into one (CB acc/F1, MultiRC
# F1a/EM, ReCoRD F1/EM), then the unweighted mean of the eight tasks; the diagnostics AX-b and
# AX-g are not part of it (Wang et al. 2019, SuperGLUE §5).
SUPERGLUE_SCORE_PARTS: Parts = (
    (("superglue-boolq", "acc"),),
    (("superglue-cb", "acc"), ("superglue-cb", "f1")),
    (("superglue-copa", "acc"),),
    (("superglue-multirc", "f1a"), ("superglue-multirc", "em")),
    (("superglue-record", "f1"), ("superglue-record", "em")),
    (("superglue-rte", "acc"),),
    (("superglue-wic", "acc"),),
    (("superglue-wsc", "acc"),),
)


def leaderboard_average(scores: Scores, parts: Parts) -> float | None:
    """Mean over tasks of each task's mean metric; None when any part is missing or NaN."""
    task_scores = []
    for group in parts:
        values = [scores.get(task, {}).get(metric) for task, metric in group]
        if any(v is None or math.isnan(v) for v in values):
            return None
        task_scores.append(sum(v for v in values if v is not None) / len(values))
    return sum(task_scores) / len(task_scores)


def glue_score(scores: Scores) -> float | None:
    """The GLUE score from ``{task name: {metric: value}}`` (values on the stored 0–1 scale)."""
    return leaderboard_average(scores, GLUE_SCORE_PARTS)


def superglue_score(scores: Scores) -> float | None:
    """The SuperGLUE score from ``{task name: {metric: value}}``; None when a part is missing."""
    return leaderboard_average(scores, SUPERGLUE_SCORE_PARTS)


SUITE_PARTS: dict[str, Parts] = {"glue": GLUE_SCORE_PARTS, "superglue": SUPERGLUE_SCORE_PARTS}
SUITE_AVERAGES: dict[str, tuple[str, Callable[[Scores], float | None]]] = {
    "glue": ("GLUE score (leaderboard average)", glue_score),
    "superglue": ("SuperGLUE score (leaderboard average)", superglue_score),
}


def suite_averages(scores: Scores) -> dict[str, float | None]:
    """The leaderboard average of every suite in ``SUITE_AVERAGES`` (None where incomplete)."""
    return {suite: average(scores) for suite, (_, average) in SUITE_AVERAGES.items()}


def suite_tasks(parts: Parts) -> tuple[str, ...]:
    """The task names a suite score needs, in the leaderboard's order."""
    return tuple(dict.fromkeys(task for group in parts for task, _ in group))


TaskInputs = Mapping[str, tuple[FloatArray, Aggregation]]
"""metric → (per-sample inputs of one task, (n, k) rows aligned across its metrics, aggregation)."""


def suite_interval(
    parts: Parts,
    inputs: Mapping[str, TaskInputs],
    level: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> Interval | None:
    """The suite score with a percentile-bootstrap interval; None when a part is missing.

    ``inputs``: task → metric → (per-sample inputs, aggregation). Each replicate resamples every
    task's rows with its own draw (rows shared by that task's metrics) and averages the
    replicate task scores as :func:`leaderboard_average` does; replicates on which a metric is
    undefined (NaN) are dropped, as in ``bootstrap_interval``.
    """
    needed: dict[str, set[str]] = {}
    for group in parts:
        for task, metric in group:
            needed.setdefault(task, set()).add(metric)
    if any(
        metric not in inputs.get(task, {}) for task, metrics in needed.items() for metric in metrics
    ):
        return None
    estimate = leaderboard_average(
        {
            task: {m: float(agg(array)) for m, (array, agg) in inputs[task].items() if m in ms}
            for task, ms in needed.items()
        },
        parts,
    )
    if estimate is None:
        return Interval(math.nan, math.nan, math.nan, level, PERCENTILE_BOOTSTRAP)
    rng = np.random.default_rng(seed)
    replicated: dict[str, dict[str, FloatArray]] = {}
    for task in sorted(needed):
        metrics = sorted(needed[task])
        n = len(inputs[task][metrics[0]][0])
        if n < 2 or any(len(inputs[task][m][0]) != n for m in metrics):
            # One row says nothing about spread; misaligned rows cannot be resampled together.
            return Interval(estimate, math.nan, math.nan, level, PERCENTILE_BOOTSTRAP)
        out = {m: np.empty(n_resamples, dtype=np.float64) for m in metrics}
        start = 0
        for indices in _resample_indices(rng, n, n_resamples):
            for offset, rows in enumerate(indices):
                for m in metrics:
                    array, aggregate = inputs[task][m]
                    out[m][start + offset] = aggregate(array[rows])
            start += len(indices)
        replicated[task] = out
    replicates = np.asarray(
        [
            _nan_if_none(
                leaderboard_average(
                    {t: {m: float(v[i]) for m, v in ms.items()} for t, ms in replicated.items()},
                    parts,
                )
            )
            for i in range(n_resamples)
        ],
        dtype=np.float64,
    )
    low, high = _percentile_bounds(replicates, level)
    return Interval(estimate, low, high, level, PERCENTILE_BOOTSTRAP)


def _nan_if_none(value: float | None) -> float:
    return math.nan if value is None else value


__all__ = [
    "GLUE_SCORE_PARTS",
    "SUITE_AVERAGES",
    "SUITE_PARTS",
    "SUPERGLUE_SCORE_PARTS",
    "glue_score",
    "leaderboard_average",
    "suite_averages",
    "suite_interval",
    "suite_tasks",
    "superglue_score",
]
