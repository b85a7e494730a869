"""8. Safety: refusal (XSTest), bias (BBQ) and toxicity."""

from __future__ import annotations

from bakeoff.report.blocks import Block
from bakeoff.report.model.view import ReportModel
from bakeoff.report.task_blocks import family_section


def blocks(report: ReportModel) -> list[Block]:
    return family_section(report, "safety", "Safety")
