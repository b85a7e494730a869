"""Metric math on synthetic timestamp streams: ITL, TTFT with queue, TPOT, percentiles, goodput."""

from __future__ import annotations

import asyncio
import math
import statistics
import time

import numpy as np
import pytest

from bakeoff.core.errors import ConfigError
from bakeoff.core.speed_records import Scenario, SpeedRecord, StreamTiming, TokenCounts, counted
from bakeoff.speed.load import poisson_offsets, run_scenario
from bakeoff.speed.metrics import (
    inter_token_latencies,
    meets_slo,
    parse_slo,
    request_metrics,
    summarize,
)

SCENARIO = Scenario(prompt_tokens=128, output_tokens=5, concurrency=2)


def record(
    scheduled: float,
    sent: float,
    chunks: list[float],
    end: float,
    tokens: list[int] | None = None,
    output: int | None = None,
    warmup: bool = False,
    index: int = 0,
) -> SpeedRecord:
    per_chunk = tokens or [1] * len(chunks)
    timing = StreamTiming(sent, end, tuple(chunks), tuple("x" for _ in chunks))
    counts = TokenCounts(tuple(per_chunk), 100, output if output is not None else sum(per_chunk))
    return SpeedRecord.from_timing("m", SCENARIO, index, warmup, scheduled, timing, counts)


def test_itl_excludes_first_token_and_splits_multi_token_chunks() -> None:
    # First chunk at 1.0 is TTFT territory; then gaps 0.1 (1 token), 0.3 (3 tokens), 0.2 (1).
    itls = inter_token_latencies([1.0, 1.1, 1.4, 1.6], [1, 1, 3, 1])
    assert itls == pytest.approx([0.1, 0.1, 0.1, 0.1, 0.2])
    assert inter_token_latencies([1.0], [4]) == ()


def test_request_metrics_include_queue_in_ttft_and_e2e() -> None:
    r = record(scheduled=10.0, sent=10.5, chunks=[11.0, 11.1, 11.2, 11.3, 11.4], end=11.45)
    m = request_metrics(r)
    assert m.queue == pytest.approx(0.5)
    assert m.ttft == pytest.approx(1.0)  # from scheduling, queue included
    assert m.server_ttft == pytest.approx(0.5)  # from sending
    assert m.e2e == pytest.approx(1.45)
    assert m.tpot == pytest.approx((11.45 - 11.0) / 4)  # (E2E - TTFT) / (N - 1)
    assert m.mean_itl == pytest.approx(0.1)
    assert m.output_tps == pytest.approx(5 / 1.45)
    assert m.prompt_tps == pytest.approx(100 / 0.5)
    assert m.generation_tps == pytest.approx(4 / 0.45)


def test_engine_queue_is_not_prompt_processing() -> None:
    # Sent at 10.0, the engine took it up 0.3 s later (another request held it), first token at
    # 10.5: 100 prompt tokens in 0.2 s of prompt processing, not in 0.5 s.
    timing = StreamTiming(10.0, 10.9, (10.5, 10.9), ("a", "b"), server={"engine_wait_ms": 300.0})
    counts = TokenCounts((1, 1), 100, 2)
    m = request_metrics(SpeedRecord.from_timing("m", SCENARIO, 0, False, 10.0, timing, counts))
    assert m.server_ttft == pytest.approx(0.5)  # still the client's view, queue in engine incl.
    assert m.engine_queue == pytest.approx(0.3)
    assert m.prompt_tps == pytest.approx(100 / 0.2)
    assert math.isnan(request_metrics(record(0.0, 0.0, [0.1, 0.2], 0.2)).engine_queue)


def test_token_count_is_usage_not_chunk_count() -> None:
    # Two chunks, but the server says 9 tokens: TPOT uses 9, never 2.
    r = record(0.0, 0.0, [1.0, 2.0], 2.0, tokens=[1, 8], output=9)
    assert request_metrics(r).tpot == pytest.approx(1.0 / 8)
    timing = StreamTiming(0.0, 1.0, (0.5, 0.9), ("ab", "cde"), prompt_tokens=None, output_tokens=7)
    counts = counted(timing, "prompt words", lambda text: len(text))
    assert counts == TokenCounts((2, 3), len("prompt words"), 7)


def test_usage_equal_to_chunk_count_means_one_token_per_chunk() -> None:
    # Every chunk has at least one token; three chunks, three tokens: one each, so the
    # tokenizer is not asked about the chunks (only about the prompt, which has no usage).
    timing = StreamTiming(0.0, 1.0, (0.2, 0.5, 0.9), ("héllo", " wor", "ld"), None, 3)
    asked: list[str] = []

    def count(text: str) -> int:
        asked.append(text)
        return 4

    assert counted(timing, "the prompt", count) == TokenCounts((1, 1, 1), 4, 3)
    assert asked == ["the prompt"]


def test_summary_percentiles_match_numpy_and_failures_are_apart() -> None:
    rng = np.random.default_rng(3)
    ttfts = rng.uniform(0.05, 0.9, size=40)
    records = [
        record(i, i, [i + t, i + t + 0.05], i + t + 0.05, index=i) for i, t in enumerate(ttfts)
    ]
    records.append(record(-5.0, -5.0, [95.0, 96.0], 96.0, warmup=True, index=99))  # huge, warm-up
    records.append(SpeedRecord.failure("m", SCENARIO, 100, False, 50.0, 50.0, "HTTP 500: boom"))
    summary = summarize(records, {})
    assert summary.n_ok == 40
    assert summary.n_failed == 1
    assert summary.errors == {"HTTP 500: boom": 1}
    ttft = summary.latency["ttft"]
    assert ttft.n == 40
    for q, value in zip((50, 90, 95, 99), (ttft.p50, ttft.p90, ttft.p95, ttft.p99), strict=True):
        assert value == pytest.approx(np.percentile(ttfts, q))
    assert ttft.mean == pytest.approx(ttfts.mean())
    window = max(i + t + 0.05 for i, t in enumerate(ttfts)) - 0.0
    assert summary.window == pytest.approx(window)
    assert summary.requests_per_s == pytest.approx(40 / window)
    assert summary.output_tps == pytest.approx(80 / window)
    assert summary.goodput is None


def test_goodput_counts_requests_meeting_every_bound() -> None:
    slo = parse_slo("ttft=500ms,itl=50ms")
    assert slo == {"ttft": 0.5, "itl": 0.05}
    fast = record(0.0, 0.0, [0.2, 0.24, 0.28], 0.28, index=0)
    slow_first = record(0.0, 0.0, [0.7, 0.74, 0.78], 0.78, index=1)  # TTFT 700 ms
    slow_tokens = record(0.0, 0.0, [0.1, 0.2, 0.3], 0.3, index=2)  # ITL 100 ms
    queued = record(0.0, 0.45, [0.6, 0.62, 0.64], 0.64, index=3)  # server TTFT 150 ms, TTFT 600
    assert [
        meets_slo(request_metrics(r), slo) for r in (fast, slow_first, slow_tokens, queued)
    ] == [
        True,
        False,
        False,
        False,
    ]
    summary = summarize([fast, slow_first, slow_tokens, queued], slo)
    assert summary.goodput == pytest.approx(1 / summary.window)
    assert summary.requests_per_s == pytest.approx(4 / summary.window)


def test_a_request_with_no_token_meets_no_slo() -> None:
    # An empty stream ends "ok" but has no first token: its NaN TTFT must not pass a TTFT bound.
    empty = record(0.0, 0.0, [], 0.05, output=0)
    metrics = request_metrics(empty)
    assert math.isnan(metrics.ttft)
    assert not meets_slo(metrics, parse_slo("ttft=500ms"))
    assert not meets_slo(metrics, parse_slo("e2e=1s")), "no output is not good output"
    assert meets_slo(metrics, {}), "no SLO, nothing to fail"
    fast = record(0.0, 0.0, [0.2, 0.24], 0.24, index=1)
    summary = summarize([empty, fast], parse_slo("ttft=500ms"))
    assert summary.goodput == pytest.approx(1 / summary.window)


@pytest.mark.parametrize("bad", ["ttft", "ttft=fast", "latency=5ms", "ttft=-1ms"])
def test_bad_slo_is_a_user_error(bad: str) -> None:
    with pytest.raises(ConfigError, match="bad SLO item"):
        parse_slo(bad)


def test_slo_units() -> None:
    assert parse_slo("e2e=2s,tpot=300us,ttft=250") == {
        "e2e": 2.0,
        "tpot": pytest.approx(0.0003),
        "ttft": 0.25,
    }


def test_poisson_offsets_are_seeded_with_the_right_rate() -> None:
    a = poisson_offsets(4000, rate=5.0, seed=7)
    assert a == poisson_offsets(4000, rate=5.0, seed=7)
    assert a != poisson_offsets(4000, rate=5.0, seed=8)
    gaps = np.diff([0.0, *a])
    assert statistics.mean(gaps) == pytest.approx(0.2, rel=0.05)
    assert all(g > 0 for g in gaps)


def _fake_server(service: float) -> object:
    """A send() that takes ``service`` seconds per request and serves one at a time."""
    lock = asyncio.Lock()

    async def send(prompt: str, max_tokens: int) -> StreamTiming:
        t_sent = time.perf_counter()
        async with lock:
            await asyncio.sleep(service / 2)
            first = time.perf_counter()
            await asyncio.sleep(service / 2)
        if prompt == "fail":
            raise RuntimeError("server said no")
        return StreamTiming(t_sent, time.perf_counter(), (first,), ("x",), 1, 1)

    return send


def test_poisson_load_measures_client_queue_time() -> None:
    # Arrivals at 100/s with a 1-slot cap onto a 30 ms server: requests must wait in the client,
    # and that wait shows up as queue time and inside TTFT, not silently dropped.
    scenario = Scenario(prompt_tokens=1, output_tokens=1, concurrency=1, rate=100.0)
    outcomes = asyncio.run(
        run_scenario(_fake_server(0.03), ["p"] * 12, scenario, n_warmup=2, seed=1)  # type: ignore[arg-type]
    )
    measured = [o for o in outcomes if not o.warmup]
    assert len(measured) == 10
    assert [o.index for o in outcomes] == list(range(12))
    queues = [o.t_sent - o.t_scheduled for o in measured if o.t_sent is not None]
    assert max(queues) > 0.05  # ten 30 ms requests arriving ~10 ms apart pile up
    assert min(o.t_scheduled for o in measured) >= max(
        o.timing.t_end for o in outcomes if o.warmup and o.timing
    )  # warm-up finished before measuring started


def test_closed_loop_keeps_concurrency_and_records_failures() -> None:
    scenario = Scenario(prompt_tokens=1, output_tokens=1, concurrency=3)
    prompts = ["ok", "fail", "ok", "ok", "fail", "ok"]
    outcomes = asyncio.run(run_scenario(_fake_server(0.0), prompts, scenario, n_warmup=0))  # type: ignore[arg-type]
    errors = [o.error for o in outcomes]
    assert errors == [None, "RuntimeError: server said no", None, None, errors[4], None]
    assert errors[4] is not None
    # Closed loop: a request is scheduled when its worker is free, so it never queues.
    assert all(o.t_sent is not None and o.t_sent - o.t_scheduled < 0.5 for o in outcomes)
    assert not math.isnan(outcomes[0].t_scheduled)
