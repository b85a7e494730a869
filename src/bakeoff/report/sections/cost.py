"""9. Cost: tokens and compute seconds per model, per 1M tokens in dollars when a price is known
(an API price, or --price-per-hour), and per task."""

from __future__ import annotations

from bakeoff.report.blocks import Block, Code, Heading, Table
from bakeoff.report.blocks import para as P  # noqa: N812 (reads as a paragraph)
from bakeoff.report.marks import cost_estimates, estimate_marked, estimate_note
from bakeoff.report.model.view import ReportModel


def blocks(report: ReportModel) -> list[Block]:
    out: list[Block] = [Heading(2, "Cost")]
    rows = []
    for row in report.cost:
        prompt, output, estimated = row.prompt, row.output, row.output_tokens_estimated
        # An API price per 1M generated tokens is the price list's, not a figure from the tokens.
        listed = row.basis == "API price" and output is not None and output.usd_per_1m is not None
        rows.append(
            (
                row.model,
                row.basis,
                f"{prompt.tokens:,}" if prompt else "n/a",
                estimate_marked(f"{output.tokens:,}" if output else "n/a", estimated),
                f"{row.seconds:,.1f}",
                _per_1m(prompt.seconds_per_1m, prompt.usd_per_1m) if prompt else "n/a",
                estimate_marked(
                    _per_1m(output.seconds_per_1m, output.usd_per_1m) if output else "n/a",
                    estimated and not listed,
                ),
                estimate_marked(
                    _per_1m(row.seconds_per_1m_tokens, row.usd_per_1m_tokens), estimated
                ),
            )
        )
    out.append(
        Table(
            (
                "model",
                "basis",
                "prompt tokens",
                "generated tokens",
                "compute seconds",
                "per 1M prompt tokens",
                "per 1M generated tokens",
                "per 1M tokens (this run's mix)",
            ),
            tuple(rows),
            numeric_from=2,
        )
    )
    out += estimate_note(report, cost_estimates(report))
    out.append(
        P(
            "Per 1M tokens: dollars when a price is known (an API price, or --price-per-hour "
            "for self-hosting), else the compute seconds this machine spent. Generated tokens "
            "are counted after the first, which is timed with the prompt.",
            muted=True,
        )
    )
    task_rows = []
    for row in report.cost:
        for t in row.tasks:
            # Dollars come from the tokens only at an API price; a self-hosting one is per second.
            estimated = row.basis == "API price" and t.output_tokens_estimated
            per_correct = None if t.usd_per_correct is None else t.usd_per_correct * 1000
            task_rows.append(
                (
                    row.model,
                    t.task,
                    f"{t.seconds:,.1f}",
                    str(t.correct),
                    estimate_marked(_usd(t.usd), estimated),
                    estimate_marked(_usd(per_correct), estimated),
                )
            )
    if task_rows:
        out.append(
            Table(
                ("model", "task", "seconds", "correct", "$ per task", "$ per 1,000 correct"),
                tuple(task_rows),
                numeric_from=2,
            )
        )
    if report.price_per_hour is None:
        out.append(
            P(
                "Dollar figures need a hardware price: ",
                Code("bakeoff report --price-per-hour 0.50"),
                " (self-hosting estimate from the measured throughput, one request at "
                "a time; batching lowers it).",
            )
        )
    else:
        out.append(
            P(
                f"Self-hosting estimate at ${report.price_per_hour:,.2f} per hour from "
                "the measured throughput, one request at a time (batching lowers it)."
            )
        )
    return out


def _usd(value: float | None) -> str:
    return "n/a" if value is None else f"${value:,.4f}"


def _per_1m(seconds: float | None, usd: float | None) -> str:
    if usd is not None:
        return f"${usd:,.4f}"
    return "n/a" if seconds is None else f"{seconds:,.0f} s"
