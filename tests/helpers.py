"""Helpers shared by tests: run the CLI as a user would, find the shared data, read a stored
run's report."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bakeoff.report.model import ReportModel

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
    from bakeoff.report.model import build_report
    from bakeoff.storage.sqlite import SqliteStore

    store = SqliteStore(db, create=False)
    try:
        return build_report(store, run)
    finally:
        store.close()
