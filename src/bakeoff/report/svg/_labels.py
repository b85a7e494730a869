"""Point labels that never overlap: each label takes the first spot around its point (right,
left, above, below, then the diagonals, then farther out with a leader line) where its box
stays in the plot and clear of every label already placed and of every point."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bakeoff.report.svg._canvas import Box, text_box

GAP = 3.0
"""Pixels kept clear between two labels, or a label and a point."""


@dataclass(frozen=True, slots=True)
class Placed:
    x: float
    y: float
    anchor: str
    leader: bool
    """Drawn away from its point: join them with a thin line."""


def _spots(x: float, y: float, size: float, radius: float) -> list[tuple[float, float, str]]:
    """Where a label may go around a point at (x, y): baseline position and text anchor."""
    spots = []
    for reach in (1.0, 2.2, 3.6, 5.2):
        d = radius * reach + 4
        mid = y + size * 0.33
        spots += [
            (x + d, mid, "start"),
            (x - d, mid, "end"),
            (x, y - d, "middle"),
            (x, y + d + size * 0.7, "middle"),
            (x + d * 0.8, y - d * 0.8, "start"),
            (x + d * 0.8, y + d * 0.8 + size * 0.7, "start"),
            (x - d * 0.8, y - d * 0.8, "end"),
            (x - d * 0.8, y + d * 0.8 + size * 0.7, "end"),
        ]
    return spots


def place_labels(
    points: Sequence[tuple[float, float, str]],
    size: float,
    bounds: Box,
    radius: float = 6.0,
    taken: Sequence[Box] = (),
) -> list[Placed]:
    """A spot for each ``(x, y, label)``, in order; ``taken`` are boxes to keep clear of."""
    markers = [Box(x - radius, y - radius, x + radius, y + radius) for x, y, _ in points]
    occupied: list[Box] = [*taken]
    placed = []
    for index, (x, y, label) in enumerate(points):
        candidates = _spots(x, y, size, radius)
        best: tuple[float, tuple[float, float, str], Box] | None = None
        for rank, (lx, ly, anchor) in enumerate(candidates):
            box = text_box(lx, ly, label, size, anchor)
            others = [m for i, m in enumerate(markers) if i != index]
            clashes = sum(box.overlaps(b, GAP) for b in [*occupied, *others])
            # A spot out of the plot counts as a clash; ties go to the nearer, earlier spot.
            score = clashes * 1000 + (0 if box.inside(bounds) else 500) + rank
            if best is None or score < best[0]:
                best = (score, (lx, ly, anchor), box)
            if score == rank:
                break
        assert best is not None
        _, (lx, ly, anchor), box = best
        occupied.append(box)
        placed.append(Placed(lx, ly, anchor, leader=candidates.index((lx, ly, anchor)) >= 8))
    return placed
