"""The SQL behind the web pages. Every sample listing is one keyset-paginated page (LIMIT on an
index over (run_id, task, position), migration 0003): a page costs the same at sample 100,000
as at sample 1, and no page ever loads a whole task."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bakeoff.core.errors import StoreError

PAGE_SIZE = 25


def read_only_uri(path: Path) -> str:
    """``file:`` URI opening ``path`` read-only. The path is percent-quoted: in a bare path a
    ``#`` or ``?`` would end it early (``we#ird.db`` would open, and create, ``we``
    read-write) and a ``%`` would be decoded."""
    return f"{path.absolute().as_uri()}?mode=ro"


def connect(path: Path) -> sqlite3.Connection:
    """A read-only connection: the web app never writes."""
    try:
        conn = sqlite3.connect(read_only_uri(path), uri=True, timeout=30.0)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open {path}: {exc}") from None
    conn.row_factory = sqlite3.Row
    return conn


@dataclass(frozen=True, slots=True)
class RunRow:
    run_id: str
    name: str
    status: str
    created_at: str
    models: tuple[str, ...]
    tasks: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TaskStats:
    task: str
    n_samples: int
    by_model: dict[str, tuple[int, int, int, int]]
    """model → (results, failed, scored, correct)."""
    paired: tuple[int, int, int, int]
    """Samples both models scored: (both right, only A right, only B right, both wrong)."""

    @property
    def disagreements(self) -> int:
        return self.paired[1] + self.paired[2]


@dataclass(frozen=True, slots=True)
class SampleRow:
    sample_id: str
    position: int
    input: Any
    target: Any
    outputs: tuple[tuple[str | None, int | None, str | None], ...]
    """Per shown model: (prediction, correct 0/1/None, status) — None when not run yet."""
    choices: tuple[str, ...] = ()
    """A multiple-choice sample's options (stored in its metadata by the run's plan), so that a
    target stored as an index can be shown as the text the models answer with."""


def list_runs(conn: sqlite3.Connection) -> list[RunRow]:
    rows = conn.execute(
        "SELECT run_id, name, status, created_at FROM runs ORDER BY created_at DESC, run_id"
    ).fetchall()
    return [
        RunRow(
            r["run_id"],
            r["name"],
            r["status"],
            r["created_at"],
            models(conn, r["run_id"]),
            tasks(conn, r["run_id"]),
        )
        for r in rows
    ]


def get_run(conn: sqlite3.Connection, run_id: str) -> RunRow | None:
    r = conn.execute(
        "SELECT run_id, name, status, created_at FROM runs WHERE run_id = ?", (run_id,)
    ).fetchone()
    if r is None:
        return None
    return RunRow(
        r["run_id"],
        r["name"],
        r["status"],
        r["created_at"],
        models(conn, run_id),
        tasks(conn, run_id),
    )


def models(conn: sqlite3.Connection, run_id: str) -> tuple[str, ...]:
    return tuple(
        r[0]
        for r in conn.execute(
            "SELECT label FROM run_models WHERE run_id = ? ORDER BY position", (run_id,)
        )
    )


def tasks(conn: sqlite3.Connection, run_id: str) -> tuple[str, ...]:
    return tuple(
        r[0]
        for r in conn.execute(
            "SELECT task FROM run_tasks WHERE run_id = ? ORDER BY position", (run_id,)
        )
    )


def run_version(conn: sqlite3.Connection, run_id: str) -> str:
    """Changes whenever the run's status or its stored results change (the cache key of the
    guide and the comparison): every save stamps ``updated_at`` (to the second) and appends
    rows (``max(rowid)``, read from the end of the table in constant time)."""
    row = conn.execute(
        "SELECT status, updated_at, (SELECT max(rowid) FROM results) FROM runs WHERE run_id = ?",
        (run_id,),
    ).fetchone()
    return "" if row is None else f"{row[0]}:{row[1]}:{row[2]}"


def manifest(conn: sqlite3.Connection, run_id: str) -> dict[str, Any]:
    row = conn.execute("SELECT manifest_json FROM runs WHERE run_id = ?", (run_id,)).fetchone()
    data = json.loads(row[0]) if row else {}
    return data if isinstance(data, dict) else {}


def task_stats(conn: sqlite3.Connection, run_id: str, a: str, b: str) -> list[TaskStats]:
    """Per task: each model's counts (one GROUP BY) and the a/b 2×2 table (one join)."""
    counts: dict[str, dict[str, tuple[int, int, int, int]]] = {}
    for r in conn.execute(
        "SELECT task, model, count(*), sum(status = 'failed'), count(correct), "
        "coalesce(sum(correct), 0) FROM results WHERE run_id = ? GROUP BY task, model",
        (run_id,),
    ):
        counts.setdefault(r[0], {})[r[1]] = (r[2], r[3] or 0, r[4], r[5])
    tables = {
        r[0]: (int(r[1]), int(r[2]), int(r[3]), int(r[4]))
        for r in conn.execute(
            "SELECT ra.task, sum(ra.correct AND rb.correct), sum(ra.correct AND NOT rb.correct), "
            "sum(NOT ra.correct AND rb.correct), sum(NOT ra.correct AND NOT rb.correct) "
            "FROM results ra JOIN results rb INDEXED BY results_outcomes "
            "ON rb.run_id = ra.run_id "
            "AND rb.model = ? AND rb.task = ra.task AND rb.sample_id = ra.sample_id "
            "WHERE ra.run_id = ? AND ra.model = ? AND ra.correct IS NOT NULL "
            "AND rb.correct IS NOT NULL GROUP BY ra.task",
            (b, run_id, a),
        )
    }
    out = []
    for r in conn.execute(
        "SELECT task, n_samples FROM run_tasks WHERE run_id = ? ORDER BY position", (run_id,)
    ):
        out.append(TaskStats(r[0], r[1], counts.get(r[0], {}), tables.get(r[0], (0, 0, 0, 0))))
    return out


def sample_page_sql(disagree_only: bool, backwards: bool) -> str:
    """One page of a task's samples, both models' results joined by primary key."""
    where = "s.run_id = :run AND s.task = :task AND s.position " + (
        "< :pos" if backwards else "> :pos"
    )
    if disagree_only:
        where += (
            " AND ra.correct IS NOT NULL AND rb.correct IS NOT NULL AND ra.correct != rb.correct"
        )
    order = "DESC" if backwards else "ASC"
    return (
        "SELECT s.sample_id, s.position, s.input_json, s.target_json, s.metadata_json, "
        "ra.prediction AS pa, ra.correct AS ca, ra.status AS sa, "
        "rb.prediction AS pb, rb.correct AS cb, rb.status AS sb "
        "FROM samples s "
        "LEFT JOIN results ra ON ra.run_id = s.run_id AND ra.model = :a AND ra.task = s.task "
        "AND ra.sample_id = s.sample_id "
        "LEFT JOIN results rb ON rb.run_id = s.run_id AND rb.model = :b AND rb.task = s.task "
        "AND rb.sample_id = s.sample_id "
        f"WHERE {where} ORDER BY s.position {order} LIMIT :limit"
    )


def sample_page(
    conn: sqlite3.Connection,
    run_id: str,
    task: str,
    pair: Sequence[str],
    *,
    after: int = -1,
    before: int | None = None,
    disagree_only: bool = False,
    limit: int = PAGE_SIZE,
) -> list[SampleRow]:
    """Samples after position ``after`` (or, going back, before ``before``), in order."""
    backwards = before is not None
    params = {
        "run": run_id,
        "task": task,
        "a": pair[0],
        "b": pair[1],
        "limit": limit,
        "pos": before if backwards else after,
    }
    rows = conn.execute(sample_page_sql(disagree_only, backwards), params).fetchall()
    if backwards:
        rows.reverse()
    return [
        SampleRow(
            r["sample_id"],
            r["position"],
            json.loads(r["input_json"]),
            json.loads(r["target_json"]),
            ((r["pa"], r["ca"], r["sa"]), (r["pb"], r["cb"], r["sb"])),
            _choices(r["metadata_json"]),
        )
        for r in rows
    ]


def _choices(metadata_json: str) -> tuple[str, ...]:
    """The ``choices`` a sample's metadata lists (all strings), else none."""
    metadata = json.loads(metadata_json)
    choices = metadata.get("choices") if isinstance(metadata, dict) else None
    if isinstance(choices, list) and all(isinstance(c, str) for c in choices):
        return tuple(choices)
    return ()


def count_samples(conn: sqlite3.Connection, run_id: str, task: str) -> int:
    """The task's number of samples, as stored with the run (no count over the samples)."""
    row = conn.execute(
        "SELECT n_samples FROM run_tasks WHERE run_id = ? AND task = ?", (run_id, task)
    ).fetchone()
    return int(row[0]) if row else 0
