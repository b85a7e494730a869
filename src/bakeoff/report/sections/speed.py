"""6. Speed and efficiency: prompt and generation rates timed during the run, then the speed
lab's report (latency percentiles, throughput under load, memory) when a speed run measured one
of the models, or how to measure them."""

from __future__ import annotations

from bakeoff.report import charts
from bakeoff.report.blocks import Block, Code, Group, Heading, Table
from bakeoff.report.blocks import para as P  # noqa: N812 (reads as a paragraph)
from bakeoff.report.marks import estimate_marked, estimate_note, speed_estimates
from bakeoff.report.model.view import ReportModel
from bakeoff.report.speed_lab import speed_lab_blocks
from bakeoff.report.text import rate_text


def blocks(report: ReportModel) -> list[Block]:
    rows = tuple(
        (
            s.model,
            rate_text(s.prompt_tokens_per_second),
            estimate_marked(rate_text(s.output_tokens_per_second), s.output_tokens_estimated),
            f"{s.prompt_tokens:,} in {s.prompt_seconds:.1f} s",
            estimate_marked(
                f"{s.output_tokens:,} in {s.output_seconds:.1f} s", s.output_tokens_estimated
            ),
        )
        for s in report.speed
    )
    out: list[Block] = [
        Heading(2, "Speed and efficiency"),
        Table(
            ("model", "prompt tokens/s", "generated tokens/s", "prompt timed", "generation timed"),
            rows,
            numeric_from=1,
        ),
        *estimate_note(report, speed_estimates(report)),
        *charts.speed(report),
        P(
            "Measured during the run on this machine, one request at a time: prompt processing "
            "over every timed prompt (prefix tokens reused from the cache excluded; the time "
            "runs to the first generated token), generation over the tokens after the first "
            "(for backends that do not time the first token apart, all tokens over the whole "
            "request)."
        ),
    ]
    lab = report.speed_lab
    if lab is None:
        out.append(
            P(
                "Latency percentiles, throughput under load and memory are measured separately: ",
                Code("bakeoff speed -m …"),
                ".",
            )
        )
        return out
    run = lab.run
    intro = P(f"From speed run {run.speed_run_id} ({run.name}, {run.created_at}).")
    # One level below this section's heading: the lab's report is a part of it.
    out.append(Group((intro, *speed_lab_blocks(lab, level=3))))
    return out
