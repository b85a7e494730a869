"""JSON rendering of the guide: the view model as data, with a versioned schema (docs/report.md).

Bump SCHEMA_VERSION's major number when a field is removed or changes meaning; adding a field
bumps the minor number. NaN and infinities (no data, no interval) become null.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

from bakeoff.report.model.speed_lab import SpeedSection
from bakeoff.report.model.view import ReportModel
from bakeoff.report.recommendation import recommendation, recommendation_items

SCHEMA_VERSION = "2.5"
"""2.5: ``speed[].first_token_seconds`` (median time to the first token of a generation request).
2.4: ``speed_lab`` (the speed lab's run the guide shows: its scenarios' figures, the models'
memory, the requests counted; not the per-request records).
2.3: ``output_tokens_estimated`` on ``speed[]``, ``cost[]`` and ``cost[].tasks[]`` (some
generated tokens are stream-chunk counts, not token counts).
2.2: ``power.note`` (assumed discordance, masked subset, or why no MDD);
``tasks[].transcript_chat`` (models prompted for a chat probe by plain transcript).
2.1: ``tasks[].formulations`` (answer-letter scoring), ``metrics[].criterion`` and
``rank_by_magnitude``. 2.0: profiles name no winner on unmeasured criteria or insignificant
leads (``undecided``);
hardware counts sliding windows (``kv_bytes``, ``attention``, ``full_cache_bytes``); cost per
phase (``prompt``, ``output``); ``latency`` comparisons; ``recommendation_items``; speed counts
generated tokens after the first."""


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def report_data(report: ReportModel) -> dict[str, Any]:
    data = dataclasses.asdict(dataclasses.replace(report, speed_lab=None))
    data["speed_lab"] = _speed_lab(report.speed_lab)
    if report.reasoning is None:  # only runs that reasoned have the key: others read as before
        del data["reasoning"]
    tasks = data["tasks"]
    for task, source in zip(tasks, report.tasks, strict=True):
        task["primary_metric"] = source.primary.name if source.primary else None
    return {
        "schema": "bakeoff.report",
        "schema_version": SCHEMA_VERSION,
        "recommendation": recommendation(report),
        "recommendation_items": recommendation_items(report),
        **_clean(data),
    }


def render_json(report: ReportModel) -> str:
    return json.dumps(report_data(report), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def _speed_lab(section: SpeedSection | None) -> dict[str, Any] | None:
    """The speed lab's figures as the guide shows them; its per-request records stay in the
    store's speed tables (docs/speed.md), which a report need not copy."""
    if section is None:
        return None
    data = dataclasses.asdict(dataclasses.replace(section, records=[]))
    data.pop("records")
    return data
