"""The guide's title and the run it reports on (id, name, date, status, bakeoff version)."""

from __future__ import annotations

from bakeoff.report.blocks import Block, Code, Heading, Strong
from bakeoff.report.blocks import para as P  # noqa: N812 (reads as a paragraph)
from bakeoff.report.model.view import ReportModel


def blocks(report: ReportModel) -> list[Block]:
    run = report.run
    return [
        Heading(1, f"bakeoff report: {' vs '.join(report.models)}"),
        P(
            "Run ",
            Code(run.run_id),
            f" ({run.name}), created {run.created_at}, status ",
            Strong(run.status),
            f", bakeoff {run.manifest.get('bakeoff_version', '?')}.",
        ),
    ]
