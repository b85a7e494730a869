"""Bad input: one line on stderr, exit status 2, no traceback, stored results untouched."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tests.helpers import run_cli


def _assert_user_error(result: object, needle: str) -> None:
    assert result.returncode == 2, result.stderr  # type: ignore[attr-defined]
    err: str = result.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in err
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error:")
    assert needle in lines[0], lines[0]


def test_unknown_backend(tmp_path: Path) -> None:
    result = run_cli("run", "-m", "nosuch:model", "-t", "arithmetic", cwd=tmp_path)
    _assert_user_error(result, "unknown backend 'nosuch'")


def test_unknown_task(tmp_path: Path) -> None:
    result = run_cli("run", "-m", "mock:a", "-t", "nosuchtask", cwd=tmp_path)
    _assert_user_error(result, "unknown task 'nosuchtask'")


def test_unknown_suite(tmp_path: Path) -> None:
    result = run_cli("run", "-m", "mock:a", "-s", "nosuite", cwd=tmp_path)
    _assert_user_error(result, "unknown suite 'nosuite'")


def test_missing_model_file(tmp_path: Path) -> None:
    result = run_cli("run", "-m", "llamacpp:/no/such/model.gguf", "-t", "arithmetic", cwd=tmp_path)
    _assert_user_error(result, "/no/such/model.gguf")
    assert not (tmp_path / "bakeoff.db").exists(), "bad input must not create a database"


def test_malformed_jsonl_names_the_line(tmp_path: Path) -> None:
    data = tmp_path / "q.jsonl"
    data.write_text(
        '{"question": "1+1", "choices": ["2", "3"], "answer": 0}\n'
        "\n"
        '{"question": "2+2", "choices": ["4", "5"], "answer": 0\n'
    )
    result = run_cli("run", "-m", "mock:a", "-t", f"mc:{data}", cwd=tmp_path)
    _assert_user_error(result, f"{data}:3: malformed JSON")


def test_jsonl_missing_field_names_the_line(tmp_path: Path) -> None:
    data = tmp_path / "q.jsonl"
    data.write_text('{"question": "1+1", "answer": 0}\n')
    result = run_cli("run", "-m", "mock:a", "-t", f"mc:{data}", cwd=tmp_path)
    _assert_user_error(result, f"{data}:1: missing field 'choices' or 'options'")


def test_unwritable_database_path(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        result = run_cli(
            "run", "-m", "mock:a", "-t", "arithmetic", "--db", str(locked / "x.db"), cwd=tmp_path
        )
    finally:
        locked.chmod(0o700)
    if result.returncode == 0:
        # root ignores folder permissions; /sys refuses new files even to root.
        result = run_cli(
            "run", "-m", "mock:a", "-t", "arithmetic", "--db", "/sys/x.db", cwd=tmp_path
        )
        _assert_user_error(result, "cannot write database /sys/x.db")
        return
    _assert_user_error(result, str(locked / "x.db"))


def test_database_in_missing_folder(tmp_path: Path) -> None:
    result = run_cli(
        "run",
        "-m",
        "mock:a",
        "-t",
        "arithmetic",
        "--db",
        str(tmp_path / "nope" / "x.db"),
        cwd=tmp_path,
    )
    _assert_user_error(result, "does not exist")


def test_not_a_bakeoff_database(tmp_path: Path) -> None:
    import sqlite3

    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    result = run_cli("runs", "--db", str(other), cwd=tmp_path)
    _assert_user_error(result, "not a bakeoff database")


def test_bad_option_value(tmp_path: Path) -> None:
    result = run_cli("run", "-m", "mock:a", "-t", "arithmetic,n=many", cwd=tmp_path)
    _assert_user_error(result, "n='many' must be an integer")


def test_report_on_missing_database(tmp_path: Path) -> None:
    result = run_cli("report", "--db", str(tmp_path / "none.db"), cwd=tmp_path)
    _assert_user_error(result, "no bakeoff database")
    assert not (tmp_path / "none.db").exists()


def test_errors_do_not_touch_stored_results(tmp_path: Path) -> None:
    ok = run_cli("run", "-m", "mock:a", "-t", "arithmetic,n=5", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    db = tmp_path / "bakeoff.db"
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    for bad in (
        ("run", "-m", "mock:a", "-t", "nosuchtask"),
        ("run", "-m", "llamacpp:/no/file.gguf", "-t", "arithmetic,n=5"),
        ("run", "-m", "mock:a", "-t", "arithmetic,n=0"),
        ("report", "no-such-run"),
    ):
        assert run_cli(*bad, cwd=tmp_path).returncode == 2
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
