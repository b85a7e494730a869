"""Markdown rendering: the document model (report.blocks) as Markdown, for the guide
(report.sections) and for the speed lab's own report (report.speed_lab)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from urllib.parse import quote

from bakeoff.report.blocks import (
    NO_LIMIT,
    Block,
    Bullets,
    Code,
    Figure,
    Group,
    Heading,
    Inline,
    Notes,
    Para,
    Pre,
    Strong,
    Table,
    chart_files,
)
from bakeoff.report.model.speed_lab import SpeedSection
from bakeoff.report.model.view import ReportModel
from bakeoff.report.sections import build_sections
from bakeoff.report.speed_lab import speed_lab_blocks
from bakeoff.report.text import untrusted_markdown

NOTE_LIMIT = 400
"""Characters of one note (report.blocks.Notes) before it is cut: a note is one line."""


def charts_folder(stem: str = "report") -> str:
    """The folder beside ``<stem>.md`` that holds its charts (report.write fills it)."""
    return f"{stem}-charts"


def render_markdown(report: ReportModel, charts: str | None = charts_folder()) -> str:
    """The guide; its charts are linked as SVG files in the folder ``charts`` (relative to the
    Markdown file), or left out when ``charts`` is None."""
    return markdown(build_sections(report), charts)


def speed_markdown(section: SpeedSection) -> str:
    """The speed lab's report on its own (``bakeoff speed --report``), tables only."""
    return markdown(speed_lab_blocks(section, level=2))


def markdown(blocks: Sequence[Block], charts: str | None = None) -> str:
    names = iter([name for name, _ in chart_files(blocks)])
    return "\n".join(_lines(blocks, charts, names)).rstrip() + "\n"


def _lines(blocks: Sequence[Block], charts: str | None, names: Iterator[str]) -> list[str]:
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
            lines += _lines(block.blocks, charts, names)
        elif isinstance(block, Figure):
            # Every chart takes its file name, in order, even when links are left out.
            links = [_image(chart.title, charts, next(names)) for chart in block.charts]
            if charts is not None:
                lines += [*links, ""]
    return lines


def _image(title: str, folder: str | None, name: str) -> str:
    """A link to a chart's file; the title (untrusted) is its alternative text."""
    alt = untrusted_markdown(title, 200).replace("[", "(").replace("]", ")")
    return f"![{alt}]({quote(f'{folder}/{name}')})"


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
