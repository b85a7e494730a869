"""Inputs that ended in a traceback or ran without bound (issue 20, items 8, 11, 13, 20): each is
one line on stderr, exit status 2 and no database created; ARC data is found under AI2's names.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from bakeoff.tasks.catalog import TaskSpec, build_task
from tests.helpers import run_cli


def _refused(tmp_path: Path, *args: str, needle: str) -> str:
    db = tmp_path / "refused.db"
    done = run_cli(*args, "--db", str(db), cwd=tmp_path, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert needle in lines[0], lines[0]
    assert not db.exists(), "a refused input must not create the database"
    return lines[0]


@pytest.mark.parametrize(
    ("kind", "line", "needle"),
    [
        ("mc", "[" * 200_000 + "]" * 200_000, ":1: JSON nested too deeply"),
        ("gen", '{"prompt": "p", "target": "t", "x": ' + "[" * 200_000 + "]" * 200_000 + "}",
         ":1: JSON nested too deeply"),
        ("gen", '{"id": ' + "7" * 5000 + ', "prompt": "p", "target": "t"}', ":1: unreadable JSON"),
        ("gen", '{"prompt": "p", "target": []}', ":1: 'target' is an empty list"),
    ],
)  # fmt: skip
def test_a_hostile_jsonl_line_is_one_line_and_creates_nothing(
    tmp_path: Path, kind: str, line: str, needle: str
) -> None:
    data = tmp_path / "data.jsonl"
    data.write_text(line + "\n")
    _refused(tmp_path, "run", "-m", "mock:a", "-t", f"{kind}:{data}", needle=needle)


def test_yaml_files_that_are_not_utf8_are_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes("fast:\n  speed: 1  # vitesse élevée\n".encode("latin-1"))
    db = tmp_path / "r.db"
    assert (
        run_cli("run", "-m", "mock:a", "-t", "copy,n=3", "--db", str(db), cwd=tmp_path).returncode
        == 0
    )
    for args, needle in (
        (("report", "--weights", str(bad)), "weights file"),
        (("check-claims", str(bad)), "claims file"),
    ):
        done = run_cli(*args, "--db", str(db), cwd=tmp_path)
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr
        assert f"{needle} {bad} is not UTF-8 text" in done.stderr


def test_a_probe_size_beyond_the_limit_is_refused_at_once(tmp_path: Path) -> None:
    start = time.monotonic()
    _refused(tmp_path, "run", "-m", "mock:a", "-t", "arithmetic,n=99999999999999",
             needle="option n=99999999999999 must be at most 100,000")  # fmt: skip
    assert time.monotonic() - start < 30


def test_an_integer_option_of_5000_digits_is_one_short_line(tmp_path: Path) -> None:
    line = _refused(tmp_path, "run", "-m", "mock:a", "-t", "copy,seed=" + "9" * 5000,
                    needle="option seed=")  # fmt: skip
    assert len(line) < 300


def test_a_bad_mock_option_is_refused_before_the_run_is_stored(tmp_path: Path) -> None:
    _refused(tmp_path, "run", "-m", "mock:x,delay_ms=abc", "-t", "arithmetic,n=3",
             needle="mock option delay_ms='abc'")  # fmt: skip


# --- ARC as AI2 ships it ---------------------------------------------------------------------


def _ai2_rows(prefix: str, n: int) -> str:
    rows = []
    for i in range(n):
        choices = [{"text": f"{prefix} answer {c}", "label": c} for c in "ABCD"]
        rows.append({"id": f"{prefix}-{i}", "question": {"stem": f"{prefix} question {i}?",
                     "choices": choices}, "answerKey": "ABCD"[i % 4]})  # fmt: skip
    return "".join(json.dumps(r) + "\n" for r in rows)


@pytest.mark.parametrize(
    ("task", "layout"),
    [
        ("arc-challenge", "ARC-Challenge/ARC-Challenge-{split}.jsonl"),
        ("arc-challenge", "ARC-V1-Feb2018-2/ARC-Challenge/ARC-Challenge-{split}.jsonl"),
        ("arc-challenge", "ARC-Challenge-{split}.jsonl"),
        ("arc-easy", "ARC-Easy/{split}.jsonl"),
    ],
)
def test_arc_files_under_ai2_names_are_found(tmp_path: Path, task: str, layout: str) -> None:
    for split, n in (("Test", 5), ("Train", 8)):
        path = tmp_path / layout.format(split=split)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_ai2_rows(split, n))
    built = build_task(TaskSpec.parse(f"{task},data_dir={tmp_path},shots=2"))
    samples = list(built.samples())
    assert len(samples) == 5
    assert "Test question 0?" in str(samples[0].input)
    assert "Train question" in str(samples[0].input)  # shots from the train file
