"""bench/client_overhead.py runs end to end on loopback and reports what it claims."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.helpers import REPO


def test_client_overhead_bench_reports_rate_and_overhead() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "client_overhead.py"), "--requests", "300",
         "--paced-requests", "32", "--concurrency", "16", "--tokens", "16", "--pace-ms", "20"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert "0 failed requests" in result.stdout
    rate = re.search(r"largest request rate: ([0-9,]+) requests/s", result.stdout)
    assert rate is not None
    assert int(rate.group(1).replace(",", "")) > 20  # even a loaded 2-core box does far more
    cpu = re.search(r"client CPU per request: ([0-9.]+) ms", result.stdout)
    assert cpu is not None
    assert 0.0 < float(cpu.group(1)) < 20.0
    last = re.fullmatch(r"overhead ([0-9.]+) ms", lines[-1])
    assert last is not None
    # All on one monotonic clock. The client's own share (its code between t_sent and the write,
    # and between the loop waking up and the end being stamped) is positive and below the
    # total added latency, which in turn is far below one stream's length (16 tokens 20 ms
    # apart: 320 ms) — what a client that stamped the whole response at its end, or started its
    # clock late, would be off by. Typically < 1 ms on an idle machine; the total grows to tens
    # of ms when other jobs keep the client off the CPU.
    own = float(last.group(1))
    total = re.search(r"added E2E per request: median ([0-9.]+) ms", result.stdout)
    ttft = re.search(r"added TTFT per request: median ([0-9.]+) ms", result.stdout)
    assert total is not None
    assert ttft is not None
    assert 0.0 < own <= float(total.group(1)) < 150.0
    assert 0.0 < float(ttft.group(1)) < 150.0
