"""A task's part of the guide, the same in every section that lists tasks (benchmarks,
multilingual, conversation, safety): scores, paired comparisons with their power, per-group
tables and charts, and the notes their marks need."""

from __future__ import annotations

import math
from collections.abc import Mapping

from bakeoff.report import charts
from bakeoff.report.blocks import Block, Code, Heading, Strong, Table
from bakeoff.report.blocks import para as P  # noqa: N812 (reads as a paragraph)
from bakeoff.report.cells import difference_text, score_text
from bakeoff.report.marks import (
    formulation_mark,
    formulation_note,
    transcript_mark,
    transcript_note,
)
from bakeoff.report.model.chat_probe import TRANSCRIPT_MARK
from bakeoff.report.model.view import MetricReport, Power, ReportModel, TaskReport
from bakeoff.report.text import interval_text, number, p_text

SECTION_HINTS = {
    "multilingual": (
        "bakeoff run -m … -t script-copy",
        "synthetic, no data needed; -t xcopa -t belebele -t xnli with their data give "
        "per-language accuracy",
    ),
    "conversation": ("bakeoff run -m … -t conversation", "memory across turns, accuracy by depth"),
    "safety": (
        "bakeoff run -m … -t xstest -t bbq",
        "refusal and bias, their data available offline; -t toxicity with an offline "
        "classifier installed",
    ),
}
"""Section → the command that fills it, and what it measures (said when a section is empty)."""


def power_cells(c_power: Power | None, metric: MetricReport) -> tuple[str, str]:
    if c_power is None:
        return ("n/a", "n/a")
    if math.isnan(c_power.mdd):
        mdd = "not computed"
    else:
        mdd = "n/a" if math.isinf(c_power.mdd) else f"{c_power.mdd * metric.scale:.1f}"
    samples = "n/a" if c_power.samples_for_target is None else f"{c_power.samples_for_target:,}"
    # The dagger points at _power_notes below the table (assumed discordance, masked subset, or
    # why no MDD), so a blank or surprising figure is never left unexplained.
    return (mdd + " †" if c_power.note else mdd), samples


def _power_notes(task: TaskReport) -> list[Block]:
    notes = [
        f"{metric.name}, {c.model_a} vs {c.model_b}: {c.power.note}"
        for metric in task.metrics
        for c in metric.comparisons
        if c.power is not None and c.power.note
    ]
    if not notes:
        return []
    return [P("† MDD and n for 2 pts — " + "; ".join(notes) + ".", muted=True)]


def _direction(metric: MetricReport) -> str:
    if metric.rank_by_magnitude:
        return " (signed; closer to 0 is better, compared by |score|)"
    return "" if metric.higher_is_better else " (lower is better)"


def task_blocks(task: TaskReport, colors: Mapping[str, str] | None = None) -> list[Block]:
    """``colors``: each model's colour in the charts (by its place in the task otherwise)."""
    blocks: list[Block] = [Heading(3, f"{task.name} (v{task.version})")]
    if task.description:
        blocks.append(P(f"Source: {task.description}. {task.n_samples} samples."))
    models = [s.model for s in task.metrics[0].scores] if task.metrics else []
    blocks.append(
        Table(
            ("metric", *models),
            tuple(
                (
                    m.name + _direction(m),
                    *(
                        score_text(s, m)
                        + formulation_mark(task, s.model)
                        + transcript_mark(task, s.model)
                        for s in m.scores
                    ),
                )
                for m in task.metrics
            ),
            numeric_from=1,
        )
    )
    blocks += charts.task_scores(task, colors or charts.model_colors(models))
    blocks += formulation_note([task])
    blocks += transcript_note([task])
    rows = []
    for metric in task.metrics:
        for c in metric.comparisons:
            mdd, samples = power_cells(c.power, metric)
            rows.append(
                (
                    metric.name,
                    f"{c.model_a} vs {c.model_b}",
                    difference_text(c, metric),
                    c.paired.test,
                    p_text(c.paired.p_value),
                    p_text(c.p_adjusted),
                    number(c.prob_a_better, 2),
                    str(c.paired.n),
                    mdd,
                    samples,
                    Strong(c.verdict) if metric.primary else c.verdict,
                )
            )
    if rows:
        blocks.append(
            Table(
                (
                    "metric",
                    "A vs B",
                    "A − B [95% CI]",
                    "test",
                    "p",
                    "p (Holm)",
                    "P(A better)",
                    "n",
                    "MDD",
                    "n for 2 pts",
                    "verdict",
                ),
                tuple(rows),
            )
        )
        blocks += _power_notes(task)
    for group in task.groups:
        blocks.append(P(f"{task.name} by {group.key} ({group.metric}):"))
        blocks.append(
            Table(
                (group.key, "n", *models),
                tuple(
                    (
                        row.value,
                        str(row.n),
                        *(
                            interval_text(
                                row.scores[m], group.scale, 1 if group.scale >= 100 else 3
                            )
                            + transcript_mark(task, m)
                            for m in models
                        ),
                    )
                    for row in group.rows
                ),
                numeric_from=1,
            )
        )
    return blocks


def family_section(report: ReportModel, key: str, title: str) -> list[Block]:
    tasks = report.section_tasks(key)
    blocks: list[Block] = [Heading(2, title)]
    if not tasks:
        return [
            *blocks,
            P(
                "No data stored for this section. Measure it with ",
                Code(SECTION_HINTS[key][0]),
                f" ({SECTION_HINTS[key][1]}).",
            ),
        ]
    blocks += _chat_template_caveat(tasks)
    colors = charts.model_colors(report.models)
    for task in tasks:
        blocks += task_blocks(task, colors)
        blocks += charts.group_scores(task, colors)
    return blocks


def _chat_template_caveat(tasks: tuple[TaskReport, ...]) -> list[Block]:
    """How a model without a chat template (or run with chat=off) is prompted for this section's
    chat probes: keyed on how it was prompted (report.model.chat_probe), not on whether it has a
    template, so a template model run as a transcript is named too."""
    marked = list(dict.fromkeys(m for t in tasks for m in t.transcript_chat))
    if not marked:
        return []
    return [
        P(
            f"{', '.join(marked)} {'was' if len(marked) == 1 else 'were'} prompted for these chat "
            "probes through a plain User:/Assistant: transcript (no chat template, or chat=off), "
            "as a model never trained to follow turns; their scores, marked "
            f"{TRANSCRIPT_MARK}, say how such a model copes, not how it compares with a chat "
            "model."
        )
    ]
