"""4. Benchmarks: every task that is not multilingual, conversation or safety, and the tasks
whose data was not available offline."""

from __future__ import annotations

from bakeoff.report.blocks import Block, Code, Heading, Table
from bakeoff.report.blocks import para as P  # noqa: N812 (reads as a paragraph)
from bakeoff.report.charts import model_colors
from bakeoff.report.model.view import ReportModel
from bakeoff.report.task_blocks import task_blocks


def blocks(report: ReportModel) -> list[Block]:
    out: list[Block] = [
        Heading(2, "Benchmarks"),
        P(
            "Each task: score ± 95% CI per model, then the paired difference with its test, raw "
            "and Holm-adjusted p, the paired-bootstrap probability that A beats B, the minimum "
            "detectable difference (MDD, 80% power at α = 0.05 for the n used; for 0/1 metrics "
            "from the measured share of samples on which the models disagree, for other "
            "per-sample means from the SD of the paired differences) and the samples a "
            "2-point difference (2 units as shown) would need."
        ),
    ]
    colors = model_colors(report.models)
    for task in report.section_tasks("benchmarks"):
        out += task_blocks(task, colors)
    if report.unavailable:
        out.append(
            Table(
                ("task", "status", "reason"),
                tuple((u.name, "data not available offline", u.reason) for u in report.unavailable),
            )
        )
    if not report.section_tasks("benchmarks") and not report.unavailable:
        out.append(
            P(
                "No benchmark task in this run. Run one: ",
                Code("bakeoff run -m … -t arc-easy -t mmlu"),
            )
        )
    return out
