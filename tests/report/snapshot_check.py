"""Snapshots of rendered reports: a refactoring of the report code must leave every byte of a
stored run's Markdown and HTML guide as it was, and its JSON the same data (floats to 9
significant digits, so that another numpy or scipy build cannot fail the check).

``UPDATE_SNAPSHOTS=1 python -m pytest tests/report`` rewrites the files (review the diff before
committing it); a missing file is written and the test fails, so a new snapshot is always
looked at once.
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path
from typing import Any

import pytest

SNAPSHOTS = Path(__file__).parent / "snapshots"


SIGNIFICANT_DIGITS = 9
"""Floats in JSON snapshots are compared to this many significant digits: a different numpy or
scipy build may change the last bits of a p-value or an interval, not what the guide says."""


def _written(text: str, name: str) -> bool:
    """Writes the snapshot when asked to (or when it is missing, then fails): True if written."""
    path = SNAPSHOTS / name
    if os.environ.get("UPDATE_SNAPSHOTS") or not path.exists():
        path.write_bytes(text.encode("utf-8"))
        if not os.environ.get("UPDATE_SNAPSHOTS"):
            pytest.fail(f"snapshot {name} was missing and has been written; review it and rerun")
        return True
    return False


def assert_matches_snapshot(text: str, name: str) -> None:
    """``text`` (UTF-8) is byte for byte the snapshot ``name``; on a difference, the first
    lines that differ are shown."""
    if _written(text, name):
        return
    stored = (SNAPSHOTS / name).read_bytes()
    if text.encode("utf-8") == stored:
        return
    _fail(stored.decode("utf-8", errors="replace"), text, name, len(stored))


def rounded(value: Any, digits: int = SIGNIFICANT_DIGITS) -> Any:
    """Parsed JSON with every float rounded to ``digits`` significant digits (ints, strings,
    booleans and null as they are)."""
    if isinstance(value, float):
        return float(f"{value:.{digits}g}")
    if isinstance(value, dict):
        return {key: rounded(item, digits) for key, item in value.items()}
    if isinstance(value, list):
        return [rounded(item, digits) for item in value]
    return value


def assert_matches_json_snapshot(text: str, name: str) -> None:
    """``text`` is the JSON snapshot ``name`` as data: the same keys in the same order, the same
    values, floats equal to :data:`SIGNIFICANT_DIGITS` significant digits."""
    if _written(text, name):
        return
    stored = (SNAPSHOTS / name).read_text(encoding="utf-8")
    old, new = rounded(json.loads(stored)), rounded(json.loads(text))
    if old == new and list(_key_order(old)) == list(_key_order(new)):
        return
    _fail(_dump(old), _dump(new), name, len(stored))


def _key_order(value: Any) -> Any:
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _key_order(item)
    elif isinstance(value, list):
        for item in value:
            yield from _key_order(item)


def _dump(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def _fail(stored_text: str, text: str, name: str, stored_bytes: int) -> None:
    diff = difflib.unified_diff(
        stored_text.splitlines(),
        text.splitlines(),
        f"snapshots/{name}",
        "rendered now",
        n=1,
        lineterm="",
    )
    shown = "\n".join(line[:300] for _, line in zip(range(40), diff, strict=False))
    raise AssertionError(
        f"the rendered report differs from snapshots/{name} ({stored_bytes} bytes stored, "
        f"{len(text.encode('utf-8'))} rendered):\n{shown}"
    )
