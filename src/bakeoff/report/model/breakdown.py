"""Per-group scores inside a task, by the sample metadata other task families store.

Multilingual tasks tag samples with ``language``, conversation probes with ``depth``, safety
and bias sets with ``category`` and ``context_condition``; when a task's samples carry one of
these keys, the guide shows the primary metric per value, per model, with its interval.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from bakeoff.core.records import ResultRecord, SampleRecord
from bakeoff.stats import Interval, metric_interval
from bakeoff.tasks.base import MetricSpec

GROUP_KEYS = ("language", "depth", "category", "context_condition")


@dataclass(frozen=True, slots=True)
class GroupRow:
    value: str
    n: int
    scores: Mapping[str, Interval]


@dataclass(frozen=True, slots=True)
class GroupBreakdown:
    key: str
    metric: str
    scale: float
    rows: tuple[GroupRow, ...]


def _sort_key(value: str) -> tuple[int, float, str]:
    # Numeric groups (depths) sort by number, the rest alphabetically.
    try:
        return (0, float(value), "")
    except ValueError:
        return (1, 0.0, value)


def group_breakdowns(
    spec: MetricSpec | None,
    models: Sequence[str],
    ok: Mapping[str, Mapping[str, ResultRecord]],
    samples: Mapping[str, SampleRecord],
) -> tuple[GroupBreakdown, ...]:
    if spec is None or spec.aggregation != "mean":
        return ()
    found = []
    for key in GROUP_KEYS:
        groups: dict[str, list[str]] = defaultdict(list)
        for sample_id, sample in samples.items():
            if key in sample.metadata and sample.metadata[key] is not None:
                groups[str(sample.metadata[key])].append(sample_id)
        if len(groups) < 2:
            continue
        rows = []
        for value in sorted(groups, key=_sort_key):
            scores = {}
            for model in models:
                values = [
                    ok[model][sid].metrics[spec.name]
                    for sid in groups[value]
                    if sid in ok[model] and spec.name in ok[model][sid].metrics
                ]
                inputs = np.asarray(values, dtype=np.float64) if values else np.zeros((0, 1))
                scores[model] = metric_interval(inputs, spec.aggregate, spec.binary, True)
            rows.append(GroupRow(value, len(groups[value]), scores))
        found.append(GroupBreakdown(key, spec.name, spec.scale, tuple(rows)))
    return tuple(found)
