"""A thinking model in the speed lab: the chunks before its answer (a reasoning field, or a
``<think>`` section in the text) are counted per stream, and the metrics give the time to the
first answer token beside the time to the first token, and the inter-token latency of thinking
and of answering apart; scenarios without thinking keep exactly the figures they had."""

from __future__ import annotations

import dataclasses
import json

import pytest

from bakeoff.core.speed_records import Scenario, SpeedRecord, StreamTiming, TokenCounts
from bakeoff.speed.http_stream import _SseEvents, _timing
from bakeoff.speed.metrics import LATENCY_FIELDS, REASONING_FIELDS, request_metrics, summarize

SCENARIO = Scenario(prompt_tokens=16, output_tokens=8, concurrency=1)


def _event(payload: object) -> bytes:
    return f"data: {json.dumps(payload)}\n\n".encode()


def _stream(deltas: list[dict[str, str]]) -> _SseEvents:
    events = _SseEvents()
    for now, delta in enumerate(deltas, start=1):
        events.feed(_event({"choices": [{"delta": delta, "index": 0}]}), float(now))
    events.feed(b"data: [DONE]\n\n", 20.0)
    return events


@pytest.mark.parametrize(
    ("deltas", "thinking"),
    [
        ([{"reasoning_content": "a"}, {"reasoning_content": "b"}, {"content": "X"}], 2),
        ([{"reasoning": "a"}, {"content": "X"}, {"content": "Y"}], 1),
        ([{"content": "<think>a"}, {"content": " b</think>"}, {"content": " X"}], 2),
        ([{"content": "<think>a"}, {"content": "</think> X"}, {"content": " Y"}], 1),
        ([{"content": "X"}, {"content": "Y"}], None),
    ],
)
def test_the_chunks_before_the_answer_are_counted(
    deltas: list[dict[str, str]], thinking: int | None
) -> None:
    timing = _timing(_stream(deltas), 0.5)
    assert timing.server.get("reasoning_chunks") == thinking


def _record(times: list[float], thinking: int | None) -> SpeedRecord:
    server = {} if thinking is None else {"reasoning_chunks": thinking}
    timing = StreamTiming(0.0, times[-1] + 0.01, tuple(times), tuple("x" for _ in times))
    timing = dataclasses.replace(timing, server=server)
    counts = TokenCounts((1,) * len(times), 16, len(times))
    return SpeedRecord.from_timing("m", SCENARIO, 0, False, 0.0, timing, counts)


def test_time_to_first_answer_token_and_itls_apart() -> None:
    # Thinking chunks 10 ms apart from 0.1 s, then the answer from 0.5 s, 40 ms apart.
    times = [0.10, 0.11, 0.12, 0.13, 0.50, 0.54, 0.58]
    metrics = request_metrics(_record(times, 4))
    assert metrics.ttft == pytest.approx(0.10)
    assert metrics.ttfat == pytest.approx(0.50)
    assert metrics.itls_reasoning == pytest.approx([0.01, 0.01, 0.01])
    assert metrics.itls_answer == pytest.approx([0.04, 0.04])
    summary = summarize([_record(times, 4)], {})
    assert set(summary.latency) == {*LATENCY_FIELDS, *REASONING_FIELDS}
    assert summary.latency["ttfat"].p50 == pytest.approx(0.50)
    assert summary.latency["itl_answer"].p50 == pytest.approx(0.04)
    assert summary.latency["itl_reasoning"].p50 == pytest.approx(0.01)


def test_scenarios_without_thinking_keep_their_figures() -> None:
    summary = summarize([_record([0.1, 0.2, 0.3], None)], {})
    assert set(summary.latency) == set(LATENCY_FIELDS)
    metrics = request_metrics(_record([0.1, 0.2, 0.3], None))
    assert metrics.ttfat == pytest.approx(metrics.ttft)
    assert metrics.itls_answer == metrics.itls
