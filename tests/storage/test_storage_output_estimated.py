"""``ResultRecord.output_tokens_estimated`` in the SQLite store: written and read back, and a
database made before migration 0005 opens, gains the column and reads every old result as
measured (False)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bakeoff.core.records import ModelRecord, ResultRecord, RunRecord, SampleRecord, TaskRecord
from bakeoff.storage import sqlite as sqlite_store
from bakeoff.storage.sqlite import SqliteStore

RUN = RunRecord("0123456789abcdef", "r", "running", "2026-01-01", "2026-01-01", {}, {})
MODELS = [ModelRecord("m", "m=mock:a", "mock", {}, 0)]
TASKS = [TaskRecord("t", "1", "h", 3, {}, 0)]
SAMPLES = [SampleRecord("t", f"s{i}", i, "q", "a") for i in range(3)]


def _record(sample_id: str, *, estimated: bool, status: str = "ok") -> ResultRecord:
    return ResultRecord(
        RUN.run_id,
        "m",
        "t",
        sample_id,
        status,
        prediction="a",
        target="a",
        correct=True,
        prompt_tokens=7,
        output_tokens=5,
        prompt_seconds=0.1,
        output_seconds=0.2,
        created_at="2026-01-01T00:00:00+00:00",
        output_tokens_estimated=estimated,
    )


def _columns(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [row[1] for row in conn.execute("PRAGMA table_info(results)")]


def test_flag_is_stored_and_read_back(tmp_path: Path) -> None:
    db = tmp_path / "b.db"
    store = SqliteStore(db)
    store.create_or_resume_run(RUN, MODELS, TASKS, SAMPLES)
    # s2 first fails, then an attempt with estimated tokens replaces the failed row.
    store.save_results([_record("s2", estimated=False, status="failed")])
    store.save_results(
        [
            _record("s0", estimated=True),
            _record("s1", estimated=False),
            _record("s2", estimated=True),
        ]
    )
    store.close()
    with sqlite3.connect(db) as conn:
        raw = dict(conn.execute("SELECT sample_id, output_tokens_estimated FROM results"))
    assert raw == {"s0": 1, "s1": 0, "s2": 1}
    store = SqliteStore(db, create=False)
    try:
        read = {r.sample_id: r for r in store.iter_results(RUN.run_id)}
    finally:
        store.close()
    assert {k: r.output_tokens_estimated for k, r in read.items()} == {
        "s0": True,
        "s1": False,
        "s2": True,
    }
    assert read["s0"] == _record("s0", estimated=True)  # every other field survives too


def test_database_from_before_migration_5_reads_false(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "old.db"
    every = sqlite_store.migrations()
    assert [n for n, _ in every][-1] >= 5
    # An older bakeoff: migrations up to 0004, and results written with its 18 columns.
    with monkeypatch.context() as patch:
        patch.setattr(sqlite_store, "migrations", lambda: [m for m in every if m[0] <= 4])
        old = SqliteStore(db)
        old.create_or_resume_run(RUN, MODELS, TASKS, SAMPLES)
        row = sqlite_store._result_row(_record("s0", estimated=True))[:18]
        old.connection.execute(f"INSERT INTO results VALUES ({', '.join('?' * 18)})", row)
        old.close()
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 4
    assert "output_tokens_estimated" not in _columns(db)

    store = SqliteStore(db, create=False)
    try:
        assert store.connection.execute("PRAGMA user_version").fetchone()[0] == every[-1][0]
        (read,) = store.iter_results(RUN.run_id)
        assert read == _record("s0", estimated=False)
        # The migrated file takes new results with the flag.
        store.save_results([_record("s1", estimated=True)])
        flags = {r.sample_id: r.output_tokens_estimated for r in store.iter_results(RUN.run_id)}
    finally:
        store.close()
    assert flags == {"s0": False, "s1": True}
    assert "output_tokens_estimated" in _columns(db)
