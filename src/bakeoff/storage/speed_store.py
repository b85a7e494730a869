"""Speed-run storage on a SqliteStore's connection (tables from migration 0002_speed.sql).

Kept apart from ``sqlite.py`` so the evaluation store stays unchanged; each ``save_*`` call is
one transaction, so a killed speed run keeps every scenario it finished.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bakeoff.core.errors import StoreError
from bakeoff.core.records import now_iso
from bakeoff.core.speed_records import Scenario, SpeedRecord
from bakeoff.core.types import JSONValue
from bakeoff.storage._health import clean_row
from bakeoff.storage.sqlite import SqliteStore


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, allow_nan=True)


@dataclass(frozen=True, slots=True)
class SpeedRunRow:
    speed_run_id: str
    name: str
    created_at: str
    config: dict[str, JSONValue]
    manifest: dict[str, JSONValue]


@dataclass(frozen=True, slots=True)
class SpeedModelRow:
    label: str
    spec: str
    info: dict[str, JSONValue]
    memory: dict[str, JSONValue]


@dataclass(frozen=True, slots=True)
class SpeedScenarioRow:
    model: str
    scenario: Scenario
    energy: dict[str, JSONValue]
    resources: dict[str, JSONValue]


class SpeedStore:
    def __init__(self, store: SqliteStore) -> None:
        self._conn: sqlite3.Connection = store.connection

    def _write(self, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
        with self._conn:  # isolation_level=None: open the transaction explicitly
            self._conn.execute("BEGIN")
            self._conn.executemany(sql, [clean_row(row) for row in rows])  # storable text only

    def create_run(
        self,
        speed_run_id: str,
        name: str,
        config: Mapping[str, JSONValue],
        manifest: Mapping[str, JSONValue],
    ) -> None:
        self._write(
            "INSERT INTO speed_runs VALUES (?, ?, ?, ?, ?)",
            [(speed_run_id, name, now_iso(), _dumps(config), _dumps(manifest))],
        )

    def save_model(
        self,
        speed_run_id: str,
        row: SpeedModelRow,
        position: int,
    ) -> None:
        self._write(
            "INSERT OR REPLACE INTO speed_models VALUES (?, ?, ?, ?, ?, ?)",
            [(speed_run_id, row.label, row.spec, _dumps(row.info), _dumps(row.memory), position)],
        )

    def save_scenario(
        self, speed_run_id: str, row: SpeedScenarioRow, records: Sequence[SpeedRecord]
    ) -> None:
        """The scenario's energy/resources and all its requests, in one transaction."""
        s = row.scenario
        with self._conn:
            self._conn.execute("BEGIN")
            self._conn.execute(
                "INSERT OR REPLACE INTO speed_scenarios VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    speed_run_id,
                    row.model,
                    s.key(),
                    s.prompt_tokens,
                    s.output_tokens,
                    s.concurrency,
                    s.rate,
                    _dumps(row.energy),
                    _dumps(row.resources),
                ),
            )
            self._conn.executemany(
                "INSERT OR REPLACE INTO speed_requests VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [_request_row(speed_run_id, r) for r in records],
            )

    # -- reading ----------------------------------------------------------------------------

    def list_runs(self) -> list[SpeedRunRow]:
        rows = self._conn.execute(
            "SELECT * FROM speed_runs ORDER BY created_at DESC, rowid DESC"
        ).fetchall()
        return [_run_from_row(r) for r in rows]

    def resolve(self, ref: str | None) -> str:
        """A full speed-run id from a prefix; None or "latest" gives the newest run."""
        runs = self.list_runs()
        if not runs:
            raise StoreError("no speed runs in this database (run 'bakeoff speed' first)")
        if ref in (None, "", "latest"):
            return runs[0].speed_run_id
        matches = [r.speed_run_id for r in runs if r.speed_run_id.startswith(str(ref))]
        if len(matches) != 1:
            found = "no" if not matches else "several"
            raise StoreError(f"{found} speed runs match '{ref}'")
        return matches[0]

    def get_run(self, speed_run_id: str) -> SpeedRunRow:
        row = self._conn.execute(
            "SELECT * FROM speed_runs WHERE speed_run_id = ?", (speed_run_id,)
        ).fetchone()
        if row is None:
            raise StoreError(f"no speed run {speed_run_id}")
        return _run_from_row(row)

    def models(self, speed_run_id: str) -> list[SpeedModelRow]:
        rows = self._conn.execute(
            "SELECT * FROM speed_models WHERE speed_run_id = ? ORDER BY position", (speed_run_id,)
        ).fetchall()
        return [
            SpeedModelRow(
                r["label"], r["spec"], json.loads(r["info_json"]), json.loads(r["memory_json"])
            )
            for r in rows
        ]

    def scenarios(self, speed_run_id: str) -> list[SpeedScenarioRow]:
        rows = self._conn.execute(
            "SELECT * FROM speed_scenarios WHERE speed_run_id = ? ORDER BY rowid", (speed_run_id,)
        ).fetchall()
        return [
            SpeedScenarioRow(
                r["model"],
                _scenario(r),
                json.loads(r["energy_json"]),
                json.loads(r["resources_json"]),
            )
            for r in rows
        ]

    def records(self, speed_run_id: str) -> list[SpeedRecord]:
        rows = self._conn.execute(
            "SELECT * FROM speed_requests WHERE speed_run_id = ? "
            "ORDER BY model, scenario, request_index",
            (speed_run_id,),
        ).fetchall()
        return [_record_from_row(r) for r in rows]


def _scenario(row: sqlite3.Row) -> Scenario:
    return Scenario(row["prompt_length"], row["output_length"], row["concurrency"], row["rate"])


def _run_from_row(row: sqlite3.Row) -> SpeedRunRow:
    return SpeedRunRow(
        row["speed_run_id"],
        row["name"],
        row["created_at"],
        json.loads(row["config_json"]),
        json.loads(row["manifest_json"]),
    )


def _request_row(speed_run_id: str, r: SpeedRecord) -> tuple[Any, ...]:
    s = r.scenario
    return (
        speed_run_id,
        r.model,
        s.key(),
        r.index,
        s.prompt_tokens,
        s.output_tokens,
        s.concurrency,
        s.rate,
        int(r.warmup),
        r.status,
        r.error,
        r.t_scheduled,
        r.t_sent,
        r.t_end,
        _dumps(list(r.chunk_times)),
        _dumps(list(r.chunk_tokens)),
        r.prompt_tokens,
        r.output_tokens,
        _dumps(dict(r.server)),
    )


def _record_from_row(row: sqlite3.Row) -> SpeedRecord:
    return SpeedRecord(
        model=row["model"],
        scenario=_scenario(row),
        index=row["request_index"],
        warmup=bool(row["warmup"]),
        status=row["status"],
        t_scheduled=row["t_scheduled"],
        t_sent=row["t_sent"],
        t_end=row["t_end"],
        chunk_times=tuple(json.loads(row["chunk_times_json"])),
        chunk_tokens=tuple(json.loads(row["chunk_tokens_json"])),
        prompt_tokens=row["prompt_tokens"],
        output_tokens=row["output_tokens"],
        error=row["error"],
        server=json.loads(row["server_json"]),
    )
