"""Inline SVG charts (no script, no external resource): readable on screen and on paper."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from bakeoff.report.text import untrusted_html

PALETTE = ("#3465a4", "#cc6633", "#4e9a06", "#75507b", "#c4a000", "#06989a")


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: float
    low: float | None = None
    high: float | None = None


def bar_chart(title: str, bars: Sequence[Bar], unit: str = "", width: int = 520) -> str:
    """Horizontal bars with optional interval whiskers; NaN values are drawn as 'n/a'."""
    row, left, right = 26, 150, 70
    height = 34 + row * len(bars)
    finite = [v for b in bars for v in (b.value, b.high) if v is not None and math.isfinite(v)]
    top = max(finite) if finite else 1.0
    top = top if top > 0 else 1.0
    scale = (width - left - right) / top
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{untrusted_html(title)}">',
        f'<text x="4" y="16" font-size="13" font-weight="bold">{untrusted_html(title)}</text>',
    ]
    for index, bar in enumerate(bars):
        y = 28 + index * row
        color = PALETTE[index % len(PALETTE)]
        parts.append(
            f'<text x="{left - 6}" y="{y + 14}" font-size="12" text-anchor="end">'
            f"{untrusted_html(bar.label)}</text>"
        )
        if not math.isfinite(bar.value):
            parts.append(f'<text x="{left}" y="{y + 14}" font-size="12">n/a</text>')
            continue
        bar_width = max(bar.value, 0.0) * scale
        parts.append(
            f'<rect x="{left}" y="{y + 3}" width="{bar_width:.1f}" height="16" fill="{color}"/>'
        )
        if bar.low is not None and bar.high is not None and math.isfinite(bar.low):
            x1, x2 = left + max(bar.low, 0.0) * scale, left + max(bar.high, 0.0) * scale
            parts.append(
                f'<path d="M{x1:.1f} {y + 11}H{x2:.1f}M{x1:.1f} {y + 5}V{y + 17}'
                f'M{x2:.1f} {y + 5}V{y + 17}" stroke="#222" stroke-width="1.5" fill="none"/>'
            )
        end = left + max(bar.high if bar.high is not None else bar.value, bar.value) * scale
        parts.append(
            f'<text x="{end + 6:.1f}" y="{y + 15}" font-size="12">'
            f"{bar.value:.1f}{untrusted_html(unit)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
