"""Reasoning figures in the SQLite store (migration 0006): written and read back, and a database
made before the migration opens, gains the columns and reads its old results as unknown."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from tests.storage.test_storage_output_estimated import MODELS, RUN, SAMPLES, TASKS, _record

from bakeoff.storage import sqlite as sqlite_store
from bakeoff.storage.sqlite import SqliteStore


def test_reasoning_figures_are_stored_and_read_back(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "b.db")
    try:
        store.create_or_resume_run(RUN, MODELS, TASKS, SAMPLES)
        thought = dataclasses.replace(
            _record("s0", estimated=False), reasoning_tokens=42, first_answer_seconds=1.5
        )
        store.save_results([thought, _record("s1", estimated=False)])
        read = {r.sample_id: r for r in store.iter_results(RUN.run_id)}
    finally:
        store.close()
    assert read["s0"] == thought
    assert (read["s1"].reasoning_tokens, read["s1"].first_answer_seconds) == (None, None)


def test_database_from_before_migration_6_reads_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "old.db"
    every = sqlite_store.migrations()
    with monkeypatch.context() as patch:
        patch.setattr(sqlite_store, "migrations", lambda: [m for m in every if m[0] <= 5])
        old = SqliteStore(db)
        old.create_or_resume_run(RUN, MODELS, TASKS, SAMPLES)
        row = sqlite_store._result_row(_record("s0", estimated=False))[:19]
        old.connection.execute(f"INSERT INTO results VALUES ({', '.join('?' * 19)})", row)
        old.close()
    store = SqliteStore(db, create=False)
    try:
        (read,) = store.iter_results(RUN.run_id)
        assert read == _record("s0", estimated=False)
        assert read.reasoning_tokens is None
        store.save_results(
            [dataclasses.replace(_record("s1", estimated=False), reasoning_tokens=3)]
        )
        counts = {r.sample_id: r.reasoning_tokens for r in store.iter_results(RUN.run_id)}
    finally:
        store.close()
    assert counts == {"s0": None, "s1": 3}
