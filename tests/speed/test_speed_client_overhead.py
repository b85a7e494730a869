"""bench/client_overhead.py runs end to end on loopback and reports what it claims."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from tests.helpers import REPO


def test_client_overhead_bench_reports_rate_and_overhead() -> None:
    pytest.importorskip("httpx", reason="needs pip install 'bakeoff[speed]'")
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "client_overhead.py"), "--requests", "300",
         "--paced-requests", "32", "--concurrency", "16", "--tokens", "16", "--pace-ms", "10"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert "0 failed requests" in result.stdout
    rate = re.search(r"largest request rate: ([0-9,]+) requests/s", result.stdout)
    assert rate is not None
    assert int(rate.group(1).replace(",", "")) > 20  # even a loaded 2-core box does far more
    last = re.fullmatch(r"overhead ([0-9.]+) ms", lines[-1])
    assert last is not None
    # Receipt − write on one monotonic clock: positive, and far below a second unless the
    # timestamps come from the wrong place (typically ~1 ms here; more on a loaded machine).
    assert 0.0 < float(last.group(1)) < 50.0
