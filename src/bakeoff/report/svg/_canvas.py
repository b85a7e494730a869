"""The drawing surface every chart shares: an SVG element written as text, with its labels'
boxes estimated so that charts can lay labels out without overlaps.

No script, no external resource, no CSS: presentation attributes only, so a chart reads the same
inline in the HTML guide (under its strict Content-Security-Policy) and as a file of its own
beside report.md. Every label is untrusted text and escaped here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bakeoff.report.text import untrusted_html

PALETTE = ("#3465a4", "#cc6633", "#4e9a06", "#75507b", "#c4a000", "#06989a")
INK, MUTED, GRID, NOT_SIGNIFICANT = "#1d1d1d", "#555", "#e4e4e4", "#8a8a8a"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif"
TITLE_SIZE, LABEL_SIZE, TICK_SIZE = 13, 12, 11

# Advance widths in em of DejaVu Sans (what system-ui resolves to on a bare Linux machine, and
# wider than the usual system fonts elsewhere): estimates err towards too wide, so labels laid
# out apart stay apart whatever font the reader's browser picks.
_NARROW = frozenset("iljtfrI.,:;'|!()[] ")
_WIDE = frozenset("mwMW%@")


def text_width(text: str, size: float, bold: bool = False) -> float:
    """Estimated width in pixels of ``text`` set at ``size`` px."""
    em = 0.0
    for char in text:
        if char in _NARROW:
            em += 0.36
        elif char in _WIDE:
            em += 0.98
        elif char.isupper() or char.isdigit():
            em += 0.72
        elif ord(char) > 0x2E7F:  # CJK and other full-width scripts
            em += 1.0
        else:
            em += 0.68
    return em * size * (1.08 if bold else 1.0)


def fit_text(text: str, size: float, room: float, bold: bool = False) -> str:
    """``text`` cut with an ellipsis so that it fits in ``room`` pixels."""
    if text_width(text, size, bold) <= room:
        return text
    while text and text_width(text + "…", size, bold) > room:
        text = text[:-1]
    return text.rstrip() + "…" if text else ""


@dataclass(frozen=True, slots=True)
class Box:
    """An axis-aligned rectangle in chart pixels."""

    x0: float
    y0: float
    x1: float
    y1: float

    def overlaps(self, other: Box, gap: float = 0.0) -> bool:
        return (
            self.x0 < other.x1 + gap
            and other.x0 < self.x1 + gap
            and self.y0 < other.y1 + gap
            and other.y0 < self.y1 + gap
        )

    def inside(self, other: Box) -> bool:
        return (
            self.x0 >= other.x0
            and self.x1 <= other.x1
            and self.y0 >= other.y0
            and self.y1 <= other.y1
        )


def text_box(x: float, y: float, text: str, size: float, anchor: str = "start") -> Box:
    """The box a label drawn with its baseline at ``y`` covers (ascent and descent included)."""
    width = text_width(text, size)
    left = x - width if anchor == "end" else x - width / 2 if anchor == "middle" else x
    return Box(left, y - 0.95 * size, left + width, y + 0.3 * size)


def num(value: float) -> str:
    """A coordinate: one decimal, no trailing zero, no "-0"."""
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


class Canvas:
    """One chart being drawn: append shapes and labels, then :meth:`render`."""

    def __init__(self, width: float, height: float, title: str) -> None:
        self.width, self.height, self.title = width, height, title
        self._parts: list[str] = []

    def text(
        self,
        x: float,
        y: float,
        content: str,
        *,
        size: float = LABEL_SIZE,
        anchor: str = "start",
        bold: bool = False,
        fill: str = INK,
        rotate: bool = False,
    ) -> None:
        attrs = f'x="{num(x)}" y="{num(y)}" font-size="{num(size)}"'
        if anchor != "start":
            attrs += f' text-anchor="{anchor}"'
        if bold:
            attrs += ' font-weight="bold"'
        if fill != INK:
            attrs += f' fill="{fill}"'
        if rotate:
            attrs += f' transform="rotate(-90 {num(x)} {num(y)})"'
        self._parts.append(f"<text {attrs}>{untrusted_html(content)}</text>")

    def line(
        self, x0: float, y0: float, x1: float, y1: float, color: str, width: float = 1.0
    ) -> None:
        self._parts.append(
            f'<path d="M{num(x0)} {num(y0)}L{num(x1)} {num(y1)}" stroke="{color}" '
            f'stroke-width="{num(width)}" fill="none"/>'
        )

    def path(self, d: str, color: str, width: float = 1.0, dashed: bool = False) -> None:
        dash = ' stroke-dasharray="5 3"' if dashed else ""
        self._parts.append(
            f'<path d="{d}" stroke="{color}" stroke-width="{num(width)}" fill="none"{dash}/>'
        )

    def rect(self, x: float, y: float, width: float, height: float, fill: str) -> None:
        self._parts.append(
            f'<rect x="{num(x)}" y="{num(y)}" width="{num(max(width, 0.0))}" '
            f'height="{num(height)}" fill="{fill}"/>'
        )

    def circle(self, x: float, y: float, r: float, fill: str, stroke: str) -> None:
        self._parts.append(
            f'<circle cx="{num(x)}" cy="{num(y)}" r="{num(r)}" fill="{fill}" '
            f'stroke="{stroke}" stroke-width="2"/>'
        )

    def add(self, markup: str) -> None:
        """Shapes already written as SVG (their numbers formatted, no untrusted text)."""
        self._parts.append(markup)

    def centered(self, x: float, y: float, content: str, size: float = TICK_SIZE) -> None:
        """A muted label centred on ``x`` (an axis's name), cut so that it stays in the chart."""
        room = 2 * min(x, self.width - x) - 8
        self.text(x, y, fit_text(content, size, room), size=size, anchor="middle", fill=MUTED)

    def title_line(self) -> None:
        """The chart's title on its first line, cut to the chart's width."""
        shown = fit_text(self.title, TITLE_SIZE, self.width - 8, bold=True)
        self.text(4, 16, shown, size=TITLE_SIZE, bold=True)

    def render(self) -> str:
        width, height = math.ceil(self.width), math.ceil(self.height)
        label = untrusted_html(self.title)
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{label}" '
            f'font-family="{FONT}"><title>{label}</title>' + "".join(self._parts) + "</svg>"
        )
