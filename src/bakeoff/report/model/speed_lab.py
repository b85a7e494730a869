"""The speed lab's part of the guide, as data: a stored speed run (``bakeoff speed``) summed up
per model × scenario, with the per-request records its charts are drawn from.

The guide shows the newest speed run that measured one of the run's models
(:func:`speed_lab_for`); ``bakeoff speed --report`` shows any one (:func:`build_speed_section`).
Numbers only: report.speed_lab lays them out as blocks, which every renderer formats.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bakeoff.core.speed_records import Scenario, SpeedRecord
from bakeoff.core.types import JSONValue
from bakeoff.speed.metrics import ScenarioSummary, meets_slo, request_metrics, summarize
from bakeoff.storage.base import Store
from bakeoff.storage.speed_store import SpeedModelRow, SpeedRunRow, SpeedStore
from bakeoff.storage.sqlite import SqliteStore


@dataclass(frozen=True, slots=True)
class ScenarioRow:
    model: str
    scenario: Scenario
    summary: ScenarioSummary
    energy: dict[str, JSONValue]
    resources: dict[str, JSONValue]
    engine_prompt_tps: float | None = None
    """Median of the engine's own prompt rate (llama.cpp perf counters, server timings) over
    the measured requests; None when the engine reports none."""
    engine_generation_tps: float | None = None


@dataclass(frozen=True, slots=True)
class RequestCounts:
    """One model's measured requests (ok, warm-up excluded) and what the notes say of them."""

    measured: int
    meeting_slo: int
    stopped_short: int
    """Answers that ended before the requested length (the server ignored ignore_eos, hit a
    stop, or cut the stream)."""
    finish_reasons: tuple[str, ...]
    """The finish reasons of those short answers ("not given" when the server sent none)."""


@dataclass(frozen=True, slots=True)
class SpeedSection:
    run: SpeedRunRow
    models: list[SpeedModelRow]
    rows: list[ScenarioRow]
    records: list[SpeedRecord]
    slo: dict[str, float]
    requests: dict[str, RequestCounts]
    """Model label → its measured requests, counted."""

    def measured_ok(self, model: str) -> list[SpeedRecord]:
        return [r for r in self.records if r.model == model and r.status == "ok" and not r.warmup]


def build_speed_section(store: SpeedStore, ref: str | None = None) -> SpeedSection:
    run = store.get_run(store.resolve(ref))
    raw_slo = run.config.get("slo") or {}
    slo = {str(k): float(v) for k, v in dict(raw_slo).items()}
    records = store.records(run.speed_run_id)
    measured = [r for r in records if r.status == "ok" and not r.warmup]
    rows = []
    for row in store.scenarios(run.speed_run_id):
        mine = [r for r in records if r.model == row.model and r.scenario == row.scenario]
        timed = [r for r in measured if r.model == row.model and r.scenario == row.scenario]
        rows.append(
            ScenarioRow(
                row.model,
                row.scenario,
                summarize(mine, slo),
                row.energy,
                row.resources,
                _median(_rate(r.server, "prompt_n", "prompt_ms") for r in timed),
                _median(_rate(r.server, "predicted_n", "predicted_ms") for r in timed),
            )
        )
    models = store.models(run.speed_run_id)
    requests = {m.label: _counts([r for r in measured if r.model == m.label], slo) for m in models}
    return SpeedSection(run, models, rows, records, slo, requests)


def speed_lab_for(store: Store, labels: Iterable[str]) -> SpeedSection | None:
    """The newest speed run that measured a model with one of these labels, if the store keeps
    speed runs (SQLite) and has one."""
    if not isinstance(store, SqliteStore):
        return None
    speed_store = SpeedStore(store)
    wanted = set(labels)
    chosen = next(
        (
            r
            for r in speed_store.list_runs()
            if wanted & {m.label for m in speed_store.models(r.speed_run_id)}
        ),
        None,
    )
    return None if chosen is None else build_speed_section(speed_store, chosen.speed_run_id)


def _counts(records: Sequence[SpeedRecord], slo: dict[str, float]) -> RequestCounts:
    short = [r for r in records if r.output_tokens < r.scenario.output_tokens]
    return RequestCounts(
        measured=len(records),
        meeting_slo=sum(meets_slo(request_metrics(r), slo) for r in records),
        stopped_short=len(short),
        finish_reasons=tuple(
            sorted({str(r.server.get("finish_reason") or "not given") for r in short})
        ),
    )


def _rate(server: object, n_key: str, ms_key: str) -> float:
    if not isinstance(server, dict):
        return math.nan
    n, t = server.get(n_key), server.get(ms_key)
    if isinstance(n, int | float) and isinstance(t, int | float) and t > 0:
        return float(n) / (float(t) / 1000.0)
    return math.nan


def _median(values: Iterable[float]) -> float | None:
    finite = sorted(v for v in values if math.isfinite(v))
    if not finite:
        return None
    mid = len(finite) // 2
    return finite[mid] if len(finite) % 2 else (finite[mid - 1] + finite[mid]) / 2
