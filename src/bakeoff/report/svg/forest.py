"""A forest plot of paired differences: one row per comparison, the estimate with its 95%
interval, a line at zero; a row is coloured only when its difference is significant (after
Holm), else drawn hollow in grey."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bakeoff.report.svg._axis import draw_x_axis, fitted_axis
from bakeoff.report.svg._canvas import (
    LABEL_SIZE,
    MUTED,
    NOT_SIGNIFICANT,
    TICK_SIZE,
    Canvas,
    fit_text,
    text_width,
)

ROW, TOP, NOTE_ROW = 22.0, 30.0, 16.0


@dataclass(frozen=True, slots=True)
class ForestRow:
    label: str
    estimate: float
    low: float
    high: float
    color: str | None
    """The colour of the significant difference (its winner's); None when not significant."""
    text: str
    """The figures, written out after the row ("+35.0 [+13.4, +52.4]")."""


def forest_plot(
    title: str,
    rows: Sequence[ForestRow],
    left_means: str,
    right_means: str,
    notes: Sequence[str],
    width: int = 500,
) -> str:
    """``left_means``/``right_means`` say what a difference to that side of zero means, under
    the axis's ends; ``notes`` (the axis's unit, the legend) follow, one line each."""
    label_room = min(max(text_width(r.label, LABEL_SIZE) for r in rows) + 12, 150)
    text_room = max(text_width(r.text, LABEL_SIZE) for r in rows) + 14
    left, right = label_room + 4, width - text_room
    values = [v for r in rows for v in (r.low, r.high, r.estimate)]
    axis = fitted_axis(min([0.0, *values]), max([0.0, *values]), left, right, signed=True)
    bottom = TOP + ROW * len(rows) + 4
    # The two sides' meanings share a line unless they would meet (then the right one drops).
    sides = 2 if _notes_meet(left_means, right_means, right - left) else 1
    below = bottom + 19 + NOTE_ROW * sides
    canvas = Canvas(width, below + NOTE_ROW * len(notes) + 6, title)
    canvas.title_line()
    draw_x_axis(canvas, axis, TOP, bottom)
    zero = axis(0.0)
    canvas.path(f"M{zero:.1f} {TOP}V{bottom}", MUTED, 1.2, dashed=True)
    for index, row in enumerate(rows):
        y = TOP + index * ROW + 11
        color = row.color or NOT_SIGNIFICANT
        lo, hi, x = axis(row.low), axis(row.high), axis(row.estimate)
        canvas.path(
            f"M{lo:.1f} {y}H{hi:.1f}M{lo:.1f} {y - 5}V{y + 5}M{hi:.1f} {y - 5}V{y + 5}",
            color,
            2.0 if row.color else 1.5,
        )
        canvas.circle(x, y, 5, row.color or "#fff", color)
        canvas.text(left - 8, y + 4, fit_text(row.label, LABEL_SIZE, left - 12), anchor="end")
        canvas.text(right + 10, y + 4, row.text, fill=row.color or MUTED)
    first = bottom + 19 + NOTE_ROW
    canvas.text(
        left, first, fit_text(left_means, TICK_SIZE, width - left - 4), size=TICK_SIZE, fill=MUTED
    )
    canvas.text(
        right,
        first + NOTE_ROW * (sides - 1),
        fit_text(right_means, TICK_SIZE, right - 4),
        size=TICK_SIZE,
        anchor="end",
        fill=MUTED,
    )
    for index, note in enumerate(notes):
        canvas.text(
            4,
            below + NOTE_ROW * (index + 1),
            fit_text(note, TICK_SIZE, width - 8),
            size=TICK_SIZE,
            fill=MUTED,
        )
    return canvas.render()


def _notes_meet(left_means: str, right_means: str, room: float) -> bool:
    return text_width(left_means, TICK_SIZE) + text_width(right_means, TICK_SIZE) > room - 12
