"""Names and error text reach the terminal inert: Rich markup shown literally, control
characters (ESC sequences above all) written out, never passed to the terminal."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from tests.helpers import run_cli

from bakeoff.cli.terminal import markup, plain

ESC = "\x1b"
# A window-title change ended by BEL, then a colour: what a hostile name would carry.
HOSTILE = f"[reverse]X[/reverse]{ESC}]0;pwned\aY{ESC}[31mred"


def test_a_run_name_with_markup_and_escapes_is_shown_as_written(tmp_path: Path) -> None:
    ran = run_cli("run", "--name", HOSTILE, "-m", "mock:a", "-t", "arithmetic,n=2", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    header = ran.stderr.splitlines()[0]
    assert ESC not in ran.stderr + ran.stdout
    assert "([reverse]X[/reverse]\\x1b]0;pwned\\x07Y\\x1b[31mred)" in header, header

    listed = run_cli("runs", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert ESC not in listed.stdout
    assert "[reverse]X[/reverse]\\x1b]0;pwned\\x07Y\\x1b[31mred" in listed.stdout, listed.stdout


def test_error_text_quoting_user_input_carries_no_escape(tmp_path: Path) -> None:
    result = run_cli("run", "-m", "mock:a", "-t", f"nosuch{ESC}[2J[bold]b", cwd=tmp_path)
    assert result.returncode == 2
    assert ESC not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1
    assert "unknown task 'nosuch\\x1b[2J[bold]b'" in lines[0], lines[0]


def test_usage_errors_carry_no_escape(tmp_path: Path) -> None:
    # argparse quotes unknown arguments as given, not as repr().
    result = run_cli("runs", f"{ESC}[2J", cwd=tmp_path)
    assert result.returncode == 2
    assert ESC not in result.stderr
    assert "unrecognized arguments: \\x1b[2J" in result.stderr


def test_logged_warnings_reach_stderr_inert() -> None:
    # A subprocess: pytest's own log capture would stand in for the last-resort handler here.
    probe = (
        "import logging\n"
        "from bakeoff.cli.terminal import log_warnings_inertly\n"
        "log_warnings_inertly()\n"
        "logging.getLogger('bakeoff.x').warning('server said %s', '\\x1b[2Jboom')\n"
        "logging.getLogger('bakeoff.x').info('not shown')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stderr == "server said \\x1b[2Jboom\n"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("gemma-3", "gemma-3"),
        ("ünïcödé ✓", "ünïcödé ✓"),
        (f"{ESC}[2J", "\\x1b[2J"),
        ("a\x00b\x7fc\x9bd", "a\\x00b\\x7fc\\x9bd"),
        ("line\nbreak\ttab\rcr", "line\\x0abreak\\x09tab\\x0dcr"),
        ("\u202eevil", "\\u202eevil"),
    ],
)
def test_plain_writes_control_characters_out(text: str, shown: str) -> None:
    assert plain(text) == shown


def test_multiline_keeps_line_breaks_but_not_escapes() -> None:
    assert plain(f"one\ntwo\t{ESC}", multiline=True) == "one\ntwo\t\\x1b"


def test_markup_is_escaped_after_control_characters() -> None:
    from rich.console import Console

    console = Console(record=True, width=200, color_system=None)
    console.print(markup(f"[reverse]X[/reverse] [link=http://x]y[/link]{ESC}"))
    assert console.export_text().strip() == "[reverse]X[/reverse] [link=http://x]y[/link]\\x1b"
