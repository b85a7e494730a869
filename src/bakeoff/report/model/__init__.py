"""The guide's view model: everything the renderers show, computed from the store alone.

The lower of the report's two floors: it decides every number and label and imports no
renderer (report.sections, report.markdown, report.html and report.json_out only read it), so
the formats can never disagree. :func:`build_report` builds it; the value types are in
``view``, the computations in one module each (tasks, power, timing, criteria, cost, hardware,
profiles, breakdown, chat_probe, speed_lab).
"""

from __future__ import annotations

from bakeoff.report.model.build import build_report
from bakeoff.report.model.view import (
    ALPHA,
    LETTER_FORMULATION,
    NO_DIFFERENCE,
    Comparison,
    Disagreement,
    LatencyComparison,
    MetricReport,
    ModelScore,
    Power,
    ReportModel,
    SpeedSummary,
    TaskReport,
    UnavailableTask,
    evidence_of,
)

__all__ = [
    "ALPHA",
    "LETTER_FORMULATION",
    "NO_DIFFERENCE",
    "Comparison",
    "Disagreement",
    "LatencyComparison",
    "MetricReport",
    "ModelScore",
    "Power",
    "ReportModel",
    "SpeedSummary",
    "TaskReport",
    "UnavailableTask",
    "build_report",
    "evidence_of",
]
