"""Mistakes in the families' task options: one line on stderr, exit 2, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.helpers import run_cli


@pytest.mark.parametrize(
    ("task", "message"),
    [
        ("xcopa,served=70", "option served=70 must be an accuracy between 0 and 1"),
        ("xstest,detector=llm", "unknown refusal detector 'llm'"),
        ("xstest,detector=judge:nosuch:model", "judge backend 'nosuch' is unknown"),
        ("toxicity,scorer=builtins:sorted", "must return one probability in [0, 1] per text"),
        ("conversation,depths=two", "expected numbers joined by '+'"),
    ],
)
def test_bad_family_options_exit_2_with_one_line(task: str, message: str, tmp_path: Path) -> None:
    result = run_cli(
        "run", "-m", "mock:a", "-t", task, "--db", str(tmp_path / "r.db"), cwd=tmp_path
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1
    assert message in lines[0]
