"""Markdown rendering of the guide (sections from report.sections, formatting from blocks)."""

from __future__ import annotations

from bakeoff.report import blocks
from bakeoff.report.model import ReportModel
from bakeoff.report.sections import SPEC_ROWS, build_sections, spec_value

__all__ = ["SPEC_ROWS", "render_markdown", "spec_value"]


def render_markdown(report: ReportModel) -> str:
    return blocks.markdown(build_sections(report))
