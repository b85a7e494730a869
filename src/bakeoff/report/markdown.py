"""Markdown rendering: the document model (report.blocks) as Markdown, for the guide
(report.sections) and for the speed lab's own report (report.speed_lab)."""

from __future__ import annotations

from collections.abc import Sequence

from bakeoff.report.blocks import (
    NO_LIMIT,
    Block,
    Bullets,
    Code,
    Group,
    Heading,
    Inline,
    Notes,
    Para,
    Pre,
    Strong,
    Table,
)
from bakeoff.report.model.speed_lab import SpeedSection
from bakeoff.report.model.view import ReportModel
from bakeoff.report.sections import build_sections
from bakeoff.report.speed_lab import speed_lab_blocks
from bakeoff.report.text import untrusted_markdown

NOTE_LIMIT = 400
"""Characters of one note (report.blocks.Notes) before it is cut: a note is one line."""


def render_markdown(report: ReportModel) -> str:
    return markdown(build_sections(report))


def speed_markdown(section: SpeedSection) -> str:
    """The speed lab's report on its own (``bakeoff speed --report``)."""
    return markdown(speed_lab_blocks(section, level=2))


def markdown(blocks: Sequence[Block]) -> str:
    return "\n".join(_lines(blocks)).rstrip() + "\n"


def _lines(blocks: Sequence[Block]) -> list[str]:
    lines: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            lines += ["#" * block.level + " " + untrusted_markdown(block.text, NO_LIMIT), ""]
        elif isinstance(block, Para):
            lines += ["".join(_inline(p) for p in block.parts), ""]
        elif isinstance(block, Table):
            lines += _table(block)
        elif isinstance(block, Pre):
            lines += ["```", block.text.replace("```", "'''"), "```", ""]
        elif isinstance(block, Bullets):
            lines += [*("- " + "".join(_inline(p) for p in item) for item in block.items), ""]
        elif isinstance(block, Notes):
            lines += [*(f"- {untrusted_markdown(line, NOTE_LIMIT)}" for line in block.lines), ""]
        elif isinstance(block, Group):
            lines += _lines(block.blocks)
        # A Figure has no Markdown form: its numbers are in the tables beside it.
    return lines


def _inline(part: Inline, limit: int = NO_LIMIT) -> str:
    if isinstance(part, Code):
        return "`" + part.text.replace("`", "'") + "`"
    if isinstance(part, Strong):
        return f"**{untrusted_markdown(part.text, limit)}**"
    # untrusted_markdown trims; keep the spaces that join inline parts.
    core = untrusted_markdown(part, limit)
    lead = part[: len(part) - len(part.lstrip())] and " "
    trail = part[len(part.rstrip()) :] and " "
    return lead + core + trail if core else lead or trail


def _last_line_tail(text: str, limit: int) -> str:
    """The last ``limit`` characters of the text as Markdown flattens it (lines joined)."""
    flat = " ⏎ ".join(part for part in text.strip().splitlines())
    return flat if len(flat) <= limit else "…" + flat[-(limit - 1) :].lstrip()


def _table(table: Table) -> list[str]:
    lines = [
        "| " + " | ".join(untrusted_markdown(h, NO_LIMIT) for h in table.header) + " |",
        "|" + "---|" * len(table.header),
    ]
    for row in table.rows:
        cells = []
        for i, cell in enumerate(row):
            limit = 80 if i >= table.long_text_from else 160
            if i in table.keep_end and isinstance(cell, str):
                cell = _last_line_tail(cell, limit)
            cells.append(_inline(cell, limit))
        lines.append("| " + " | ".join(cells) + " |")
    return [*lines, ""]
