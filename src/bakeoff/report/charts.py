"""The guide's pictures, drawn from the view model (report.model) with report.svg: per task the
models' scores with their intervals side by side, a forest plot of the paired differences,
speed and memory as bars, and quality against cost and latency with the Pareto front.

A chart only shows numbers a table beside it gives; a section without data gets no chart. A
model keeps one colour in every chart (its place in the run).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from bakeoff.report.blocks import Block, Chart, Figure
from bakeoff.report.cells import digits_for
from bakeoff.report.model.hardware import CONTEXTS
from bakeoff.report.model.profiles import ParetoPoint
from bakeoff.report.model.view import MetricReport, ReportModel, TaskReport
from bakeoff.report.svg import (
    PALETTE,
    Bar,
    BarGroup,
    ForestRow,
    Point,
    bar_chart,
    forest_plot,
    scatter_chart,
)

PERCENT_TICKS = (0.0, 20.0, 40.0, 60.0, 80.0, 100.0)
MIB = 2.0**20


def model_colors(models: Sequence[str]) -> dict[str, str]:
    return {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(models)}


def _figure(charts: Sequence[Chart]) -> list[Block]:
    return [Figure(tuple(charts))] if charts else []


def _percent(metric_scale: float, values: Sequence[float]) -> tuple[float, ...]:
    """0–100 ticks for a percentage whose values all lie in it, else ticks from the data."""
    inside = all(0.0 <= v <= 100.0 for v in values if math.isfinite(v))
    return PERCENT_TICKS if metric_scale == 100 and inside else ()


def task_scores(task: TaskReport, colors: Mapping[str, str]) -> list[Block]:
    """The task's metrics on the primary metric's scale, each model's score with its 95%
    interval as whiskers, side by side."""
    primary = task.primary
    if primary is None or not primary.scores:
        return []
    metrics = [m for m in task.metrics if m.scale == primary.scale]
    groups = [BarGroup(m.name if len(metrics) > 1 else "", _score_bar(m, colors)) for m in metrics]
    values = [v for g in groups for b in g.bars for v in (b.value, b.low or 0.0, b.high or 0.0)]
    unit = "%" if primary.scale == 100 else ""
    what = primary.name if len(metrics) == 1 else "score"
    title = f"{task.name}: {what} per model, 95% intervals"
    svg = bar_chart(
        title,
        groups,
        f"{what}{f' ({unit})' if unit else ''}; whiskers: 95% confidence interval",
        digits=digits_for(primary),
        fixed_ticks=_percent(primary.scale, values),
    )
    return _figure([Chart(f"scores-{task.name}", title, svg)])


def _score_bar(metric: MetricReport, colors: Mapping[str, str]) -> tuple[Bar, ...]:
    scale = metric.scale
    return tuple(
        Bar(
            s.model,
            s.interval.estimate * scale,
            s.interval.low * scale,
            s.interval.high * scale,
            colors.get(s.model, ""),
        )
        for s in metric.scores
    )


def group_scores(task: TaskReport, colors: Mapping[str, str]) -> list[Block]:
    """Per value of a breakdown (language, depth, category): the models side by side."""
    charts = []
    models = [s.model for s in task.metrics[0].scores] if task.metrics else []
    for group in task.groups:
        scale = group.scale
        groups = [
            BarGroup(
                row.value,
                tuple(
                    Bar(
                        m,
                        row.scores[m].estimate * scale,
                        row.scores[m].low * scale,
                        row.scores[m].high * scale,
                        colors.get(m, ""),
                    )
                    for m in models
                    if m in row.scores
                ),
            )
            for row in group.rows
        ]
        values = [b.value for g in groups for b in g.bars]
        title = f"{task.name} by {group.key} ({group.metric})"
        svg = bar_chart(
            title,
            groups,
            f"{group.metric}{' (%)' if scale == 100 else ''}; whiskers: 95% confidence interval",
            digits=1 if scale >= 100 else 3,
            fixed_ticks=_percent(scale, values),
        )
        charts.append(Chart(f"{task.name}-by-{group.key}", title, svg))
    return _figure(charts)


def differences(report: ReportModel) -> list[Block]:
    """Forest plots of the primary metrics' paired differences, one per unit (percentage
    points together; any other metric on its own), oriented so that right means A better."""
    colors = model_colors(report.models)
    pairs = {(c.model_a, c.model_b) for _, m, c in report.comparisons() if m.primary}
    by_unit: dict[tuple[float, str], list[ForestRow]] = {}
    flipped: dict[tuple[float, str], bool] = {}
    for task, metric, c in report.comparisons():
        low, high = c.paired.interval.low, c.paired.interval.high
        if not metric.primary or not all(map(math.isfinite, (c.paired.difference, low, high))):
            continue
        sign = 1.0 if metric.higher_is_better else -1.0
        d, lo, hi = (sign * v * metric.scale for v in (c.paired.difference, low, high))
        lo, hi = min(lo, hi), max(lo, hi)
        digits = digits_for(metric)
        winner = c.verdict.removesuffix(" better") if c.verdict.endswith(" better") else None
        label = task.name if len(pairs) == 1 else f"{task.name}: {c.model_a} vs {c.model_b}"
        key = (metric.scale, "" if metric.scale == 100 else metric.name)
        flipped[key] = flipped.get(key, False) or sign < 0
        by_unit.setdefault(key, []).append(
            ForestRow(
                label,
                d,
                lo,
                hi,
                colors.get(winner) if winner and c.p_adjusted < report.alpha else None,
                f"{d:+.{digits}f} [{lo:+.{digits}f}, {hi:+.{digits}f}]",
            )
        )
    charts = []
    a, b = next(iter(sorted(pairs))) if len(pairs) == 1 else ("A", "B")
    for key, rows in by_unit.items():
        scale, name = key
        unit = "percentage points" if scale == 100 else name
        notes = [
            f"difference {'A' if len(pairs) > 1 else a} − {'B' if len(pairs) > 1 else b}, {unit}",
            f"filled: significant after Holm (p < {report.alpha:g}); hollow grey: not",
        ]
        if flipped[key]:
            notes.append("sign turned where lower is better: right of 0 is always better")
        title = f"Paired differences{f' ({name})' if name else ''}, 95% intervals"
        svg = forest_plot(title, rows, f"← {b} better", f"{a} better →", notes)
        charts.append(Chart(f"differences-{name}" if name else "differences", title, svg))
    return _figure(charts)


def speed(report: ReportModel) -> list[Block]:
    """Prompt and generation rates, and the time to the first token, one bar per model."""
    colors = model_colors(report.models)
    measures = (
        (
            "prompt",
            "prompt processing",
            "tokens/s",
            [s.prompt_tokens_per_second for s in report.speed],
        ),
        (
            "generation",
            "generation",
            "tokens/s",
            [s.output_tokens_per_second for s in report.speed],
        ),
        (
            "first-token",
            "time to first token (median)",
            "ms",
            [
                None if s.first_token_seconds is None else s.first_token_seconds * 1000
                for s in report.speed
            ],
        ),
    )
    charts = []
    for name, what, unit, values in measures:
        if all(v is None for v in values):
            continue
        bars = tuple(
            Bar(
                s.model,
                math.nan if v is None else v,
                color=colors.get(s.model, ""),
                text=_estimated(s.output_tokens_estimated and name == "generation", v),
            )
            for s, v in zip(report.speed, values, strict=True)
        )
        title = f"{what} ({unit})"
        charts.append(Chart(f"speed-{name}", title, bar_chart(title, [BarGroup("", bars)], unit)))
    return _figure(charts)


def _estimated(marked: bool, value: float | None) -> str:
    """The estimate mark (~) of the speed table before a rate counted from stream chunks."""
    return f"~{value:,.1f}" if marked and value is not None else ""


def memory(report: ReportModel) -> list[Block]:
    """Weights alone, then weights + KV cache at each context the hardware table gives (MiB)."""
    if not any(row.weights_bytes for row in report.hardware):
        return []
    colors = model_colors(report.models)
    groups = [
        BarGroup(
            "weights",
            tuple(
                Bar(
                    r.model,
                    _mib(r.weights_bytes),
                    color=colors.get(r.model, ""),
                    text=_unknown(r.weights_bytes),
                )
                for r in report.hardware
            ),
        ),
        *(
            BarGroup(
                f"weights + KV cache at {context // 1024}k context",
                tuple(
                    Bar(
                        r.model,
                        _mib(r.ram_bytes.get(context)),
                        color=colors.get(r.model, ""),
                        text=_beyond(r.context_length, context)
                        or _unknown(r.ram_bytes.get(context)),
                    )
                    for r in report.hardware
                ),
            )
            for context in CONTEXTS
        ),
    ]
    title = "memory: weights, and weights + KV cache (MiB)"
    return _figure([Chart("memory", title, bar_chart(title, groups, "MiB", digits=0))])


def _mib(value: float | None) -> float:
    return math.nan if value is None else value / MIB


def _unknown(value: float | None) -> str:
    return "unknown" if value is None else ""


def _beyond(window: int | None, context: int) -> str:
    return f"n/a: its window is {window:,} tokens" if window and context > window else ""


def pareto(report: ReportModel, dollars: bool) -> list[Block]:
    """Quality against cost and against latency; the filled points are the Pareto front."""
    colors = model_colors(report.models)
    cost_axis = "$ per 1M tokens" if dollars else "compute seconds per 1M tokens, on this machine"
    charts = [
        Chart(f"quality-vs-{kind}", f"quality vs {kind}", _pareto_chart(points, axis, kind, colors))
        for kind, points, axis in (
            ("cost", report.pareto_cost, cost_axis),
            ("latency", report.pareto_latency, "seconds per sample (mean)"),
        )
        if points
    ]
    return _figure(charts)


def _pareto_chart(
    points: Sequence[ParetoPoint], x_label: str, kind: str, colors: Mapping[str, str]
) -> str:
    return scatter_chart(
        f"quality vs {kind}",
        [Point(p.model, p.x, p.y * 100, p.on_front, colors.get(p.model, "")) for p in points],
        x_label,
        "quality: mean primary score (%)",
        legend=f"filled, joined: the Pareto front (no other model both {_better(kind)} and better)",
    )


def _better(kind: str) -> str:
    return "cheaper" if kind == "cost" else "faster"
