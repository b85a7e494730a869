"""The document model: format-neutral blocks the guide (and the speed lab's page) are made of.

The guide's sections are built once as blocks (report.sections); each renderer
(report.markdown, report.html) only formats them, so Markdown and HTML always say the same
thing. Every string in a block is plain, untrusted text: the renderers escape it (HTML-escaped,
Markdown-neutralized) — nothing a model wrote can become markup.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

NO_LIMIT = 10**9


@dataclass(frozen=True, slots=True)
class Code:
    text: str


@dataclass(frozen=True, slots=True)
class Strong:
    text: str


Inline = str | Code | Strong


@dataclass(frozen=True, slots=True)
class Heading:
    level: int
    text: str
    anchor: str = ""


@dataclass(frozen=True, slots=True)
class Para:
    parts: tuple[Inline, ...]
    muted: bool = False


@dataclass(frozen=True, slots=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[Inline, ...], ...]
    numeric_from: int = NO_LIMIT
    """Columns from this index are numbers (right-aligned in HTML)."""
    long_text_from: int = NO_LIMIT
    """Columns from this index hold long untrusted text (kept whole and wrapped in HTML,
    flattened to one line and shortened in Markdown tables)."""
    keep_end: frozenset[int] = frozenset()
    """Long-text columns shortened from the start in Markdown (their end matters most)."""


@dataclass(frozen=True, slots=True)
class Pre:
    text: str


@dataclass(frozen=True, slots=True)
class Chart:
    """One picture: SVG text (its labels already escaped by report.svg), drawn inline in HTML
    and written as a file of its own beside the Markdown, which links it."""

    name: str
    """What the file is called (a slug: letters, digits, hyphens; made unique per document by
    :func:`chart_files`)."""
    title: str
    svg: str


@dataclass(frozen=True, slots=True)
class Figure:
    """Charts shown side by side (they wrap on a narrow screen)."""

    charts: tuple[Chart, ...]


@dataclass(frozen=True, slots=True)
class Bullets:
    items: tuple[tuple[Inline, ...], ...]


@dataclass(frozen=True, slots=True)
class Notes:
    """Short remarks under a part of the guide, one line each: a bulleted list in Markdown, a
    paragraph each in HTML."""

    lines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Group:
    """Blocks that make one self-contained part (the speed lab's report, which is also a page
    of its own): Markdown renders them as any others, HTML writes them on one line."""

    blocks: tuple[Block, ...]


Block = Heading | Para | Table | Pre | Figure | Bullets | Notes | Group


def para(*parts: Inline, muted: bool = False) -> Para:
    return Para(tuple(parts), muted)


def slug(text: str) -> str:
    """A file-name-safe form of a (possibly untrusted) name: lower-case letters, digits and
    single hyphens, at most 60 characters; never empty, never a path."""
    cleaned = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60].strip("-")
    return cleaned or "chart"


def charts_in(blocks: Sequence[Block]) -> Iterator[Chart]:
    """Every chart of a document, in reading order (groups included)."""
    for block in blocks:
        if isinstance(block, Figure):
            yield from block.charts
        elif isinstance(block, Group):
            yield from charts_in(block.blocks)


def chart_files(blocks: Sequence[Block]) -> list[tuple[str, Chart]]:
    """(file name, chart) for every chart in reading order; a name used twice gets -2, -3…,
    so the Markdown's links and the files written beside it always agree."""
    used: set[str] = set()
    files = []
    for chart in charts_in(blocks):
        base = name = slug(chart.name)
        count = 1
        while name in used:
            count += 1
            name = f"{base}-{count}"
        used.add(name)
        files.append((f"{name}.svg", chart))
    return files
