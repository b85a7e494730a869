"""The raw values the use-case profiles weigh (report.model.profiles), the paired tests that
back a lead on them, and the Pareto points of quality against cost and latency."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

from bakeoff.core.records import ResultRecord
from bakeoff.report.model.cost import CostRow
from bakeoff.report.model.hardware import HardwareRow
from bakeoff.report.model.profiles import ParetoPoint, pareto
from bakeoff.report.model.timing import sample_seconds
from bakeoff.report.model.view import LatencyComparison, SpeedSummary, TaskReport, evidence_of


def tested_support(
    tasks: Sequence[TaskReport], latency: Sequence[LatencyComparison]
) -> Callable[[str, str, str], bool]:
    """Whether paired tests back one model's lead over another on a criterion: a significant win
    and no significant loss — for "quality" and "safety" on the primary comparisons of the
    tasks that are evidence of it (:func:`evidence_of`), for "latency" on the per-sample
    seconds."""
    wins: set[tuple[str, str, str]] = set()
    for task in tasks:
        metric, criterion = task.primary, evidence_of(task)
        if metric is None or criterion is None:
            continue
        for c in metric.comparisons:
            if c.verdict.endswith(" better"):
                winner = c.verdict.removesuffix(" better")
                loser = c.model_b if winner == c.model_a else c.model_a
                wins.add((criterion, winner, loser))
    for lc in latency:
        if lc.verdict.endswith(" faster"):
            winner = lc.verdict.removesuffix(" faster")
            wins.add(("latency", winner, lc.model_b if winner == lc.model_a else lc.model_a))

    def supported(criterion: str, leader: str, other: str) -> bool:
        return (criterion, leader, other) in wins and (criterion, other, leader) not in wins

    return supported


def _fraction_scores(tasks: Sequence[TaskReport], criterion: str, model: str) -> float | None:
    """Mean primary score over the tasks that are evidence of ``criterion`` (:func:`evidence_of`)
    and whose primary metric is a fraction (0..1). Higher is better, except on safety tasks,
    where a lower-is-better rate (toxicity) counts as 1 − rate; a signed score (bias) is no
    fraction."""
    values = []
    for task in tasks:
        metric = task.primary
        if metric is None or evidence_of(task) != criterion or metric.rank_by_magnitude:
            continue
        flip = not metric.higher_is_better
        if flip and task.section != "safety":
            continue
        for score in metric.scores:
            estimate = score.interval.estimate
            if score.model == model and math.isfinite(estimate) and 0.0 <= estimate <= 1.0:
                values.append(1.0 - estimate if flip else estimate)
    return sum(values) / len(values) if values else None


def criteria(
    models: Sequence[str],
    tasks: Sequence[TaskReport],
    speed: Sequence[SpeedSummary],
    hardware: Sequence[HardwareRow],
    cost: Sequence[CostRow],
    results: Sequence[ResultRecord],
) -> dict[str, dict[str, float | None]]:
    out: dict[str, dict[str, float | None]] = {}
    for model, spd, hw, cst in zip(models, speed, hardware, cost, strict=True):
        timed = list(sample_seconds(r for r in results if r.model == model).values())
        out[model] = {
            "quality": _fraction_scores(tasks, "quality", model),
            "safety": _fraction_scores(tasks, "safety", model),
            "speed": spd.output_tokens_per_second,
            "latency": sum(timed) / len(timed) if timed else None,
            "cost": cst.usd_per_1m_tokens
            if cst.usd_per_1m_tokens is not None
            else cst.seconds_per_1m_tokens,
            "memory": float(hw.weights_bytes) if hw.weights_bytes else None,
        }
    return out


def pareto_points(
    criteria: Mapping[str, Mapping[str, float | None]], axis: str
) -> tuple[ParetoPoint, ...]:
    points = {
        model: (float(values[axis] or 0.0), float(values["quality"] or 0.0))
        for model, values in criteria.items()
        if values.get(axis) is not None and values.get("quality") is not None
    }
    return pareto(points) if len(points) >= 1 else ()
