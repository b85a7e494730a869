"""Database files bakeoff cannot use, and text SQLite cannot hold (issue 20, items 2, 3, 4, 9).

A damaged file and one from a newer bakeoff: every command says so on one line, exits 2 and
writes nothing. Two processes creating one new database at once both succeed. Lone surrogates
(from a server's answer or a data file) are stored as U+FFFD, and a rerun finishes.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest
from tests.helpers import run_cli
from tests.helpers_scripted_api import LOCAL_URL, run_scripted

from bakeoff.core.model import ModelSpec
from bakeoff.core.types import GenerationResult, Request, Usage
from bakeoff.runner.plan import RunConfig, make_plan
from bakeoff.storage.sqlite import migrations

MODELS = ("-m", "a=mock:a", "-m", "b=mock:b")
TASKS = ("-t", "arithmetic,n=60", "-t", "copy,n=30")


def _one_line_error(done: object, *needles: str) -> str:
    stderr: str = done.stderr  # type: ignore[attr-defined]
    assert done.returncode == 2, stderr  # type: ignore[attr-defined]
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def _every_command(db: Path, cwd: Path) -> list[tuple[str, ...]]:
    claims = cwd / "claims.yaml"
    claims.write_text("claims:\n  - {claim: c, kind: better, task: copy, model: a, than: b}\n")
    return [
        ("run", *MODELS, *TASKS, "--db", str(db)),
        ("runs", "--db", str(db)),
        ("report", "--db", str(db)),
        ("check-claims", str(claims), "--db", str(db)),
        ("serve", "--db", str(db), "--port", "0"),
    ]


@pytest.fixture(scope="module")
def good_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("good")
    db = folder / "good.db"
    done = run_cli("run", *MODELS, *TASKS, "--db", str(db), cwd=folder)
    assert done.returncode == 0, done.stderr
    with closing(sqlite3.connect(db)) as conn:  # the WAL moves into the file: copies are whole
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return db


def _copy(db: Path, to: Path) -> Path:
    to.write_bytes(db.read_bytes())
    return to


def test_a_damaged_database_is_named_by_every_command(good_db: Path, tmp_path: Path) -> None:
    damaged = _copy(good_db, tmp_path / "damaged.db")
    with closing(sqlite3.connect(good_db)) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
    assert pages > 10
    with damaged.open("r+b") as handle:  # junk over a page in the middle: results or an index
        handle.seek(page_size * (pages // 2))
        handle.write(bytes(range(256)) * (page_size // 256))
    before = damaged.read_bytes()
    for command in _every_command(damaged, tmp_path):
        done = run_cli(*command, cwd=tmp_path, timeout=120)
        _one_line_error(done, "is damaged", "PRAGMA integrity_check")
        assert damaged.read_bytes() == before, f"{command[0]} wrote into a damaged database"


def test_a_database_from_a_newer_bakeoff_is_refused_untouched(
    good_db: Path, tmp_path: Path
) -> None:
    newer = _copy(good_db, tmp_path / "newer.db")
    with closing(sqlite3.connect(newer)) as conn:  # closing it moves the WAL into the file
        conn.execute("PRAGMA user_version = 99")
    before = newer.read_bytes()
    for command in _every_command(newer, tmp_path):
        done = run_cli(*command, cwd=tmp_path, timeout=120)
        _one_line_error(done, "made by a newer bakeoff", "schema version 99")
        assert newer.read_bytes() == before, f"{command[0]} wrote into a newer database"
    assert not (tmp_path / "report.md").exists()


def test_a_file_that_is_not_sqlite_is_named(tmp_path: Path) -> None:
    notes = tmp_path / "notes.db"
    notes.write_text("not a database\n" * 100)
    done = run_cli("runs", "--db", str(notes), cwd=tmp_path)
    _one_line_error(done, "is not an SQLite database")
    assert notes.read_text() == "not a database\n" * 100


_OPEN_AT = """
import sys, time
from bakeoff.storage.sqlite import SqliteStore
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))  # all start together
SqliteStore(sys.argv[1]).close()
"""


def test_processes_creating_one_new_database_at_once_all_succeed(tmp_path: Path) -> None:
    for trial in range(2):
        path = tmp_path / f"new{trial}.db"
        start = f"{time.time() + 2.0:.3f}"  # after every interpreter has started
        processes = [
            subprocess.Popen([sys.executable, "-c", _OPEN_AT, str(path), start],
                             stderr=subprocess.PIPE, text=True)
            for _ in range(3)
        ]  # fmt: skip
        errors = [process.communicate(timeout=60)[1] for process in processes]
        assert [p.returncode for p in processes] == [0, 0, 0], errors
        with closing(sqlite3.connect(path)) as conn:
            assert conn.execute("PRAGMA user_version").fetchone()[0] == migrations()[-1][0]


def _answer_with_a_lone_surrogate(spec: ModelSpec, request: Request) -> GenerationResult:
    # What the SDK hands over for the JSON string "ok \ud800 bad".
    return GenerationResult("ok \ud800 bad", "stop", Usage(3, 3, 0.01, 0.01))


def test_a_lone_surrogate_from_a_server_is_stored_replaced(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    spec = ModelSpec.parse(f"s=openai:scripted,base_url={LOCAL_URL}")
    plan = make_plan(RunConfig(models=(spec,), task_specs=("copy,n=4",)))
    for attempt in range(2):  # the rerun finds everything stored
        outcome, _ = run_scripted(db, plan, _answer_with_a_lone_surrogate)
        assert (outcome.computed, outcome.skipped) == ((4, 0) if attempt == 0 else (0, 4))
    with closing(sqlite3.connect(db)) as conn:
        predictions = [p for (p,) in conn.execute("SELECT prediction FROM results")]
    assert predictions == ["ok \ufffd bad"] * 4


def test_a_lone_surrogate_in_a_data_file_is_replaced_and_the_rerun_finishes(
    tmp_path: Path,
) -> None:
    data = tmp_path / "g.jsonl"
    data.write_text(
        '{"id": "s\\ud800", "prompt": "say \\ud800", "target": "x\\udfff"}\n'
        '{"prompt": "a smile \\ud83d\\ude00", "target": "y"}\n'
    )
    db = tmp_path / "g.db"
    command = ("run", "-m", "mock:a", "-t", f"gen:{data}", "--db", str(db))
    first = run_cli(*command, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "2 samples computed" in first.stderr
    again = run_cli(*command, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "0 samples computed, 2 already stored" in again.stderr
    with closing(sqlite3.connect(db)) as conn:
        rows = sorted(conn.execute("SELECT sample_id, input_json, target_json FROM samples"))
    assert rows[0][0] == "line2"
    assert "\U0001f600" in rows[0][1]
    assert rows[1] == ("s\ufffd", '"say \ufffd"', '"x\ufffd"')
