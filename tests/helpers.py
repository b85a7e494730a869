"""Helpers shared by tests: run the CLI as a user would, find the shared data, read a stored
run's report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from bakeoff.report.model import ReportModel
    from bakeoff.storage.base import Store

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("BAKEOFF_SHARED_DATA", REPO.parent / "shared" / "data"))


def run_cli(
    *args: str, cwd: Path, timeout: float = 600, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a subprocess, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "bakeoff.cli.main", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        check=False,
    )


def stored_report(db: Path, run: str = "latest") -> ReportModel:
    """The report model of ``run`` in the SQLite file ``db``, as ``bakeoff report`` builds it."""
    from bakeoff.storage.sqlite import SqliteStore

    return report_and_close(SqliteStore(db, create=False), run)


def report_and_close(store: Store, run: str = "latest") -> ReportModel:
    """The report model of ``run`` in an open ``store``, which is closed afterwards."""
    from bakeoff.report.model import build_report

    try:
        return build_report(store, run)
    finally:
        store.close()


def sealed_env(tmp_path: Path, keyring: dict[str, str]) -> tuple[Path, dict[str, str]]:
    """A folder a subprocess writes into (HOME, TMPDIR and the XDG cache and config folders
    inside it) and the environment that points there, with the test keyring (a JSON file of
    "service/user" -> secret) kept outside it: search the folder afterwards for the secrets.
    Skips when a key is to come from the keyring and the ``keyring`` package is absent."""
    if keyring:
        try:
            import keyring as _keyring  # noqa: F401 (only whether it can be imported)
        except ImportError:
            pytest.skip(
                "the keyring package is not installed (pip install 'bakeoff[keyring]'): "
                "the key under test is read from a keyring"
            )
    work = tmp_path / "work"
    for folder in ("home", "tmp", "cache", "config"):
        (work / folder).mkdir(parents=True)
    keyring_file = tmp_path / "keyring.json"  # the key's own home, outside the searched folder
    keyring_file.write_text(json.dumps(keyring))
    env = {
        "PYTHON_KEYRING_BACKEND": "tests.helpers_keyring.FileKeyring",
        "BAKEOFF_TEST_KEYRING": str(keyring_file),
        "PYTHONPATH": str(REPO),
        "HOME": str(work / "home"),
        "TMPDIR": str(work / "tmp"),
        "XDG_CACHE_HOME": str(work / "cache"),
        "XDG_CONFIG_HOME": str(work / "config"),
    }
    return work, env
