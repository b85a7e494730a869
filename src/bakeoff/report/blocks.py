"""Format-neutral document blocks, and their Markdown and HTML renderings.

The guide's sections are built once as blocks (report.sections); each renderer only formats
them, so Markdown and HTML always say the same thing. Every string in a block is plain,
untrusted text: the renderers escape it (HTML-escaped, Markdown-neutralized) — nothing a model
wrote can become markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bakeoff.report.text import untrusted_html, untrusted_markdown

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
class Figure:
    """Inline SVG (already escaped by report.svg); HTML only, Markdown uses the tables."""

    svgs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Raw:
    """A fragment another module rendered for one format (the speed lab's section)."""

    fmt: str
    text: str


@dataclass(frozen=True, slots=True)
class Bullets:
    items: tuple[tuple[Inline, ...], ...]


Block = Heading | Para | Table | Pre | Figure | Raw | Bullets


def para(*parts: Inline, muted: bool = False) -> Para:
    return Para(tuple(parts), muted)


# --- Markdown ---------------------------------------------------------------------------------


def _md_inline(part: Inline, limit: int = NO_LIMIT) -> str:
    if isinstance(part, Code):
        return "`" + part.text.replace("`", "'") + "`"
    if isinstance(part, Strong):
        return f"**{untrusted_markdown(part.text, limit)}**"
    # untrusted_markdown trims; keep the spaces that join inline parts.
    core = untrusted_markdown(part, limit)
    lead = part[: len(part) - len(part.lstrip())] and " "
    trail = part[len(part.rstrip()) :] and " "
    return lead + core + trail if core else lead or trail


def markdown(blocks: Sequence[Block]) -> str:
    lines: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            lines += ["#" * block.level + " " + untrusted_markdown(block.text, NO_LIMIT), ""]
        elif isinstance(block, Para):
            lines += ["".join(_md_inline(p) for p in block.parts), ""]
        elif isinstance(block, Table):
            lines += _md_table(block)
        elif isinstance(block, Pre):
            lines += ["```", block.text.replace("```", "'''"), "```", ""]
        elif isinstance(block, Raw) and block.fmt == "md":
            lines += [block.text.rstrip(), ""]
        elif isinstance(block, Bullets):
            lines += [*("- " + "".join(_md_inline(p) for p in item) for item in block.items), ""]
    return "\n".join(lines).rstrip() + "\n"


def _last_line_tail(text: str, limit: int) -> str:
    """The last ``limit`` characters of the text as Markdown flattens it (lines joined)."""
    flat = " ⏎ ".join(part for part in text.strip().splitlines())
    return flat if len(flat) <= limit else "…" + flat[-(limit - 1) :].lstrip()


def _md_table(table: Table) -> list[str]:
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
            cells.append(_md_inline(cell, limit))
        lines.append("| " + " | ".join(cells) + " |")
    return [*lines, ""]


# --- HTML -------------------------------------------------------------------------------------


def _html_inline(part: Inline) -> str:
    if isinstance(part, Code):
        return f"<code>{untrusted_html(part.text)}</code>"
    if isinstance(part, Strong):
        text = untrusted_html(part.text)
        if part.text.startswith("no significant"):
            return f'<strong class="nosig">{text}</strong>'
        if part.text.endswith((" better", " faster")):
            return f'<strong class="better">{text}</strong>'
        return f"<strong>{text}</strong>"
    return untrusted_html(part)


def html(blocks: Sequence[Block]) -> str:
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            anchor = f' id="{untrusted_html(block.anchor)}"' if block.anchor else ""
            out.append(f"<h{block.level}{anchor}>{untrusted_html(block.text)}</h{block.level}>")
        elif isinstance(block, Para):
            css = ' class="muted"' if block.muted else ""
            out.append(f"<p{css}>{''.join(_html_inline(p) for p in block.parts)}</p>")
        elif isinstance(block, Table):
            out.append(_html_table(block))
        elif isinstance(block, Pre):
            out.append(f"<pre>{untrusted_html(block.text)}</pre>")
        elif isinstance(block, Figure):
            out.append(f'<div class="charts">{"".join(block.svgs)}</div>')
        elif isinstance(block, Raw) and block.fmt == "html":
            out.append(block.text)
        elif isinstance(block, Bullets):
            items = "".join(
                f"<li>{''.join(_html_inline(p) for p in item)}</li>" for item in block.items
            )
            out.append(f'<ul class="rec">{items}</ul>')
    return "\n".join(out)


def _html_table(table: Table) -> str:
    head = "".join(f"<th>{untrusted_html(h)}</th>" for h in table.header)
    body = []
    for row in table.rows:
        cells = []
        for i, cell in enumerate(row):
            if i >= table.long_text_from:
                cells.append(f"<td><pre>{_html_inline(cell)}</pre></td>")
            elif i >= table.numeric_from:
                cells.append(f'<td class="num">{_html_inline(cell)}</td>')
            else:
                cells.append(f"<td>{_html_inline(cell)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
