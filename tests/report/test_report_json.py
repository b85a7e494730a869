"""The JSON guide carries exactly the fields docs/report.md documents, under its version."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.helpers import REPO
from tests.report.report_fixtures import GEMMA, LLAMACPP_SPEED_INFO, demo_store, write_speed_run

from bakeoff.report.json_out import SCHEMA_VERSION, render_json
from bakeoff.report.model import build_report

DOC = REPO / "docs" / "report.md"
FREE_FORM = (
    # Maps keyed by data (model labels, criteria, context lengths) or stored as given.
    "model_info",
    "criteria",
    "run.config",
    "run.manifest",
    "run.models[].info",
    "run.tasks[].manifest",
    "profiles[].scores",
    "profiles[].weights",
    "hardware[].kv_bytes",
    "hardware[].ram_bytes",
    "hardware[].full_cache_bytes",
    "tasks[].disagreements[].predictions",
    "tasks[].disagreements[].correct",
    "tasks[].groups[].rows[].scores",
    "speed_lab.run.config",
    "speed_lab.run.manifest",
    "speed_lab.models[].info",
    "speed_lab.models[].memory",
    "speed_lab.slo",
    "speed_lab.rows[].energy",
    "speed_lab.rows[].resources",
    "speed_lab.rows[].summary.errors",
    "speed_lab.requests",
)


def _keys(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(path of the parent, key) for every key of every object, list items merged."""
    if isinstance(value, dict):
        if path in FREE_FORM:
            return
        for key, item in value.items():
            yield path, key
            yield from _keys(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for item in value:
            yield from _keys(item, path + "[]")


def _json_section() -> str:
    text = DOC.read_text(encoding="utf-8")
    return text.split("## JSON schema", 1)[1].split("\n## ", 1)[0]


@pytest.fixture
def data(tmp_path: Path) -> dict[str, Any]:
    store = demo_store(tmp_path / "demo.db", families={"needle": "conversation"})
    # A speed-lab run of one of the models, so that its part of the JSON is checked too.
    write_speed_run(store, "s1", "lab", {GEMMA: LLAMACPP_SPEED_INFO})
    try:
        return dict(json.loads(render_json(build_report(store, "latest", price_per_hour=0.5))))
    finally:
        store.close()


def test_every_field_is_documented(data: dict[str, Any]) -> None:
    documented = set(re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)", _json_section()))
    missing = sorted({f"{parent}.{key}" for parent, key in _keys(data) if key not in documented})
    assert missing == []


def test_documented_version_is_the_written_one(data: dict[str, Any]) -> None:
    assert data["schema_version"] == SCHEMA_VERSION
    assert f"## JSON schema (`--format json`), version {SCHEMA_VERSION}" in DOC.read_text(
        encoding="utf-8"
    )
    major, minor = SCHEMA_VERSION.split(".")
    assert major.isdigit()
    assert minor.isdigit()


def test_speed_lab_figures_are_in_the_json(data: dict[str, Any]) -> None:
    """The speed lab's part of the guide is data in the JSON too: the figures of its tables,
    in seconds, without the per-request records."""
    lab = data["speed_lab"]
    assert lab["run"]["speed_run_id"] == "s1"
    assert [m["label"] for m in lab["models"]] == [GEMMA]
    first = lab["rows"][0]
    assert first["scenario"] == {
        "prompt_tokens": 128,
        "output_tokens": 4,
        "concurrency": 1,
        "rate": None,
    }
    # 6 requests, the first a warm-up, plus one that timed out (report_fixtures.speed_records);
    # TTFT 0.1 s at 128 prompt tokens + 0.01 s per concurrency slot.
    assert (first["summary"]["n_ok"], first["summary"]["n_failed"]) == (5, 1)
    assert first["summary"]["latency"]["ttft"]["p50"] == pytest.approx(0.11)
    assert first["summary"]["errors"] == {"ReadTimeout: slow": 1}
    assert first["engine_prompt_tps"] is None  # the fixture's engine reports no timings
    # SLO ttft ≤ 0.3 s: met at 128 prompt tokens (both loads), not at 512 (0.41 s).
    assert lab["requests"][GEMMA] == {
        "measured": 15,
        "meeting_slo": 10,
        "stopped_short": 0,
        "finish_reasons": [],
    }
    assert "records" not in lab


def test_json_is_strict_json(data: dict[str, Any]) -> None:
    text = json.dumps(data, allow_nan=False)  # NaN and infinities became null
    assert "NaN" not in text
    assert data["recommendation"] == " ".join(data["recommendation_items"])
    hardware = {row["model"]: row for row in data["hardware"]}
    assert hardware["smollm2-135m"]["ram_bytes"]["32768"] is None  # beyond its window
