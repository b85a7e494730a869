"""Inline SVG charts (no script, no external resource): readable on screen, on paper and as
files of their own. Bars with interval whiskers, forest plots of paired differences, scatter
plots with their Pareto front, and lines or steps (the speed lab's CDFs and curves), all on
axes with round, readable ticks; labels are untrusted text and escaped."""

from bakeoff.report.svg._canvas import PALETTE
from bakeoff.report.svg.bars import Bar, BarGroup, bar_chart
from bakeoff.report.svg.forest import ForestRow, forest_plot
from bakeoff.report.svg.lines import Series, cdf_points, line_chart
from bakeoff.report.svg.scatter import Point, scatter_chart

__all__ = [
    "PALETTE",
    "Bar",
    "BarGroup",
    "ForestRow",
    "Point",
    "Series",
    "bar_chart",
    "cdf_points",
    "forest_plot",
    "line_chart",
    "scatter_chart",
]
