"""Resume: a run killed with SIGKILL mid-way and rerun ends exactly like an uninterrupted run."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.helpers import run_cli

MODELS = ("-m", "a=mock:alpha,skill=0.8,delay_ms=15", "-m", "b=mock:beta,skill=0.4,delay_ms=15")
TASKS = ("-t", "arithmetic-mc,n=30", "-t", "arithmetic,n=30", "--batch-size", "4")
EXPECTED = 2 * (30 + 30)


def _rows(db: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT model, task, sample_id, status, prediction, metrics_json FROM results "
            "ORDER BY model, task, sample_id"
        ).fetchall()


def _count(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return int(conn.execute("SELECT count(*) FROM results").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def test_sigkill_then_rerun_matches_uninterrupted_run(tmp_path: Path) -> None:
    reference = tmp_path / "reference.db"
    done = run_cli("run", *MODELS, *TASKS, "--db", str(reference), cwd=tmp_path)
    assert done.returncode == 0, done.stderr

    killed_db = tmp_path / "killed.db"
    process = subprocess.Popen(
        [sys.executable, "-m", "bakeoff.cli.main", "run", *MODELS, *TASKS, "--db", str(killed_db)],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while _count(killed_db) < 20 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    stored_at_kill = _count(killed_db)
    assert 0 < stored_at_kill < EXPECTED, "the kill must land mid-run"

    resumed = run_cli("run", *MODELS, *TASKS, "--db", str(killed_db), cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed run" in resumed.stderr
    assert f"{stored_at_kill} already stored" in resumed.stderr

    rows = _rows(killed_db)
    assert len(rows) == EXPECTED
    assert len({row[:3] for row in rows}) == EXPECTED, "no sample stored twice"
    assert rows == _rows(reference), "same predictions and scores as the uninterrupted run"


def test_rerun_of_finished_run_computes_nothing(tmp_path: Path) -> None:
    first = run_cli("run", "-m", "mock:a", "-t", "copy,n=5", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    second = run_cli("run", "-m", "mock:a", "-t", "copy,n=5", cwd=tmp_path)
    assert "0 samples computed, 5 already stored" in second.stderr


def test_failed_samples_are_retried_on_rerun(tmp_path: Path) -> None:
    args = ("run", "-m", "m=mock:a,fail_every=3", "-t", "arithmetic,n=30")
    first = run_cli(*args, cwd=tmp_path)
    assert first.returncode == 1, "a run with failed samples exits 1"
    with sqlite3.connect(tmp_path / "bakeoff.db") as conn:
        failed = conn.execute("SELECT count(*) FROM results WHERE status='failed'").fetchone()[0]
        reason = conn.execute("SELECT error FROM results WHERE status='failed'").fetchone()[0]
    assert failed > 0
    assert "fail_every" in reason
    second = run_cli(*args, cwd=tmp_path)
    # The mock fails deterministically, so the retried samples fail again - but are retried.
    assert f"{failed} samples computed, {30 - failed} already stored" in second.stderr
