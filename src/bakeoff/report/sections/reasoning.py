"""9b. Reasoning: per model, the reasoning tokens per answer, the share of output and of cost
spent thinking, time to the first answer token beside the first token, and accuracy against
reasoning tokens.

Renders nothing for a run in which no answer spent a reasoning token (report.model.reasoning),
so every other guide is unchanged.
"""

from __future__ import annotations

from bakeoff.report.blocks import Block, Heading, Table, para
from bakeoff.report.model.reasoning import ReasoningRow
from bakeoff.report.model.view import ReportModel

NOT_KNOWN = "n/a"


def blocks(report: ReportModel) -> list[Block]:
    section = report.reasoning
    if section is None:
        return []
    out: list[Block] = [
        Heading(2, "Reasoning"),
        para(
            "Reasoning models think before they answer, billed as output tokens; answers were "
            "scored on the final answer only, the thinking removed. Reasoning tokens come from "
            "the usage the server reported (or the tokenizer the spec named); answers whose "
            "server reported none are left out of these figures and counted apart."
        ),
        Table(
            (
                "model",
                "setting",
                "answers",
                "reasoning tokens per answer (mean / median)",
                "share of output",
                "share of cost",
                "first token (median)",
                "first answer token (median)",
                "count unknown",
            ),
            tuple(_row(row) for row in section.rows),
            numeric_from=2,
        ),
    ]
    band_rows = tuple(
        (row.model, band.label, str(band.n), _percent(band.accuracy))
        for row in section.rows
        for band in row.bands
    )
    if band_rows:
        out.append(Heading(3, "Accuracy against reasoning tokens"))
        out.append(Table(("model", "reasoning tokens", "answers scored", "accuracy"), band_rows, 2))
        out.append(
            para(
                "Per answer, by the reasoning tokens it spent: whether longer thinking went with "
                "right answers. The bands are not randomised (harder questions draw longer "
                "thinking), so this shows association, not the effect of a budget; compare the "
                "same model at two settings for that.",
                muted=True,
            )
        )
    return out


def _row(row: ReasoningRow) -> tuple[str, ...]:
    per_answer = (
        NOT_KNOWN
        if row.mean_per_answer is None or row.median_per_answer is None
        else f"{row.mean_per_answer:,.1f} / {row.median_per_answer:,.0f}"
    )
    cost = NOT_KNOWN if row.cost_share is None else _percent(row.cost_share)
    if row.cost_share is not None and row.reasoning_usd is not None:
        cost += f" (${row.reasoning_usd:.4f})"
    return (
        row.model,
        row.setting or "-",
        str(row.answers),
        per_answer,
        _percent(row.output_share),
        cost,
        _seconds(row.first_token_seconds),
        _seconds(row.first_answer_seconds),
        str(row.unknown),
    )


def _percent(value: float | None) -> str:
    return NOT_KNOWN if value is None else f"{100 * value:.1f}%"


def _seconds(value: float | None) -> str:
    return NOT_KNOWN if value is None else f"{value:.2f} s"
