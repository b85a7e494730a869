"""Byte-level snapshots of rendered reports: a refactoring of the report code must leave every
byte of a stored run's guide as it was.

``UPDATE_SNAPSHOTS=1 python -m pytest tests/report`` rewrites the files (review the diff before
committing it); a missing file is written and the test fails, so a new snapshot is always
looked at once.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

SNAPSHOTS = Path(__file__).parent / "snapshots"


def assert_matches_snapshot(text: str, name: str) -> None:
    """``text`` (UTF-8) is byte for byte the snapshot ``name``; on a difference, the first
    lines that differ are shown."""
    path = SNAPSHOTS / name
    data = text.encode("utf-8")
    if os.environ.get("UPDATE_SNAPSHOTS") or not path.exists():
        path.write_bytes(data)
        if not os.environ.get("UPDATE_SNAPSHOTS"):
            pytest.fail(f"snapshot {name} was missing and has been written; review it and rerun")
        return
    stored = path.read_bytes()
    if data == stored:
        return
    diff = difflib.unified_diff(
        stored.decode("utf-8", errors="replace").splitlines(),
        text.splitlines(),
        f"snapshots/{name}",
        "rendered now",
        n=1,
        lineterm="",
    )
    shown = "\n".join(line[:300] for _, line in zip(range(40), diff, strict=False))
    raise AssertionError(
        f"the rendered report differs from snapshots/{name} ({len(stored)} bytes stored, "
        f"{len(data)} rendered):\n{shown}"
    )
