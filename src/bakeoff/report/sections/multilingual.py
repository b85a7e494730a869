"""5. Multilingual: per-language tasks (script copy, XCOPA, Belebele, XNLI, tokenizer
efficiency), with per-language tables and charts."""

from __future__ import annotations

from bakeoff.report.blocks import Block
from bakeoff.report.model.view import ReportModel
from bakeoff.report.task_blocks import family_section


def blocks(report: ReportModel) -> list[Block]:
    return family_section(report, "multilingual", "Multilingual")
