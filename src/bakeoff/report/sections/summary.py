"""1. Summary: the primary score of every task per model with its paired verdict marks, the
efficiency rows (latency, generation speed, memory, cost), the primary comparisons and the
recommendation."""

from __future__ import annotations

from bakeoff.report import charts
from bakeoff.report.blocks import Block, Bullets, Heading, Inline, Strong, Table
from bakeoff.report.blocks import para as P  # noqa: N812 (reads as a paragraph)
from bakeoff.report.cells import criterion_text, difference_text, plural, ram_cell, score_text
from bakeoff.report.marks import (
    TIE,
    WIN,
    cost_estimates,
    estimate_marked,
    estimate_note,
    formulation_mark,
    formulation_note,
    latency_marks,
    metric_marks,
    speed_estimates,
    transcript_mark,
    transcript_note,
)
from bakeoff.report.model.hardware import CONTEXTS
from bakeoff.report.model.view import ReportModel
from bakeoff.report.recommendation import recommendation_items
from bakeoff.report.text import number, p_text


def blocks(report: ReportModel) -> list[Block]:
    rows: list[tuple[Inline, ...]] = []
    for task in report.tasks:
        metric = task.primary
        if metric is None:
            continue
        marks = metric_marks(metric)
        rows.append(
            (
                task.name,
                metric.name,
                *(
                    (
                        score_text(s, metric)
                        + (" " + marks[s.model] if marks.get(s.model) else "")
                        + formulation_mark(task, s.model)
                        + transcript_mark(task, s.model)
                    )
                    for s in metric.scores
                ),
            )
        )
    rows += [
        (u.name, "—", *(["data not available offline"] * len(report.models)))
        for u in report.unavailable
    ]
    rows += _efficiency_rows(report)
    out: list[Block] = [
        Heading(2, "Summary"),
        Table(("task", "metric", *report.models), tuple(rows)),
        P(
            f"Scores are shown with 95% confidence intervals. {WIN} significantly better than "
            f"another model and worse than none (Holm-adjusted p < {report.alpha}); {TIE} no "
            "significant difference. Latency is compared by a paired t-test on the samples both "
            "models finished; generation speed, memory and cost are measured or computed values "
            "(sections below), not tested."
        ),
    ]
    out += formulation_note(report.tasks)
    out += transcript_note(report.tasks)
    out += estimate_note(report, speed_estimates(report) | cost_estimates(report))
    comparisons = [c for c in report.comparisons() if c[1].primary]
    if comparisons:
        out.append(
            Table(
                (
                    "task",
                    "A vs B",
                    "difference A − B [95% CI]",
                    "p (Holm)",
                    "P(A better)",
                    "verdict",
                ),
                tuple(
                    (
                        task.name,
                        f"{c.model_a} vs {c.model_b}",
                        difference_text(c, metric),
                        p_text(c.p_adjusted),
                        number(c.prob_a_better, 2),
                        Strong(c.verdict),
                    )
                    for task, metric, c in comparisons
                ),
                numeric_from=2,
            )
        )
        out.append(
            P(
                f"A verdict names a winner only when the Holm-adjusted p-value is below "
                f"{report.alpha} (Holm over the {plural(len(report.comparisons()), 'comparison')} "
                "in this report, every metric included)."
            )
        )
        out += charts.differences(report)
    out += [
        P(Strong("Recommendation"), " — by what matters to you:"),
        Bullets(tuple((item,) for item in recommendation_items(report))),
    ]
    return out


def _efficiency_rows(report: ReportModel) -> list[tuple[Inline, ...]]:
    criteria, models = report.criteria, report.models
    marks = latency_marks(report)
    dollars = any(row.usd_per_1m_tokens is not None for row in report.cost)
    speed_estimated, cost_estimated = speed_estimates(report), cost_estimates(report)
    latency = tuple(
        criterion_text("latency", criteria[m].get("latency"), dollars)
        + (f" {marks[m]}" if marks.get(m) else "")
        for m in models
    )
    hardware = {row.model: row for row in report.hardware}
    memory = tuple(
        ram_cell(hardware[m], CONTEXTS[0]) if m in hardware else "unknown" for m in models
    )
    return [
        ("latency", "mean per sample", *latency),
        (
            "generation speed",
            "after the first token",
            *(
                estimate_marked(
                    criterion_text("speed", criteria[m].get("speed"), dollars),
                    m in speed_estimated,
                )
                for m in models
            ),
        ),
        ("memory", f"weights + KV cache at {CONTEXTS[0] // 1024}k", *memory),
        (
            "cost",
            _cost_basis(report),
            *(
                estimate_marked(
                    _cost_cell(report, m, criteria[m].get("cost"), dollars), m in cost_estimated
                )
                for m in models
            ),
        ),
    ]


def _cost_basis(report: ReportModel) -> str:
    """What the cost row's figures are: a model without a price is costed in the seconds this
    machine spent, which the row says, with the option that turns them into dollars."""
    priced = [row.usd_per_1m_tokens is not None for row in report.cost]
    if all(priced):
        return "this run's token mix"
    hint = "for dollars: bakeoff report --price-per-hour USD"
    if any(priced):
        return f"this run's token mix; unpriced models in compute seconds on this machine ({hint})"
    return f"compute seconds on this machine, this run's token mix ({hint})"


def _cost_cell(report: ReportModel, model: str, value: float | None, dollars: bool) -> str:
    row = next((r for r in report.cost if r.model == model), None)
    if row is not None and row.usd_per_1m_tokens is None and row.seconds_per_1m_tokens is not None:
        return f"{row.seconds_per_1m_tokens:,.0f} compute s per 1M tokens"
    return criterion_text("cost", value, dollars)
