"""Server-sent events split at arbitrary byte boundaries, as network reads deliver them."""

from __future__ import annotations

import json

import pytest

from bakeoff.core.errors import BackendError
from bakeoff.speed.http_stream import _SseEvents


def _event(payload: object) -> bytes:
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n".encode()


def test_events_split_across_reads_keep_their_arrival_times() -> None:
    body = (
        _event({"choices": [{"text": "Hel"}]})
        + _event({"choices": [{"text": "lo ✓"}]})
        + b": keep-alive comment\n\n"
        + _event({"choices": [{"text": ""}], "timings": {"prompt_ms": 12.5}})
        + _event({"choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 3}})
        + b"data: [DONE]\n\n"
    )
    cut1 = body.index(b"lo") + 1  # inside the second event, and inside a UTF-8 character later
    cut2 = body.index("✓".encode()) + 1
    events = _SseEvents()
    for now, part in ((1.0, body[:cut1]), (2.0, body[cut1:cut2]), (3.0, body[cut2:])):
        events.feed(part, now)
    assert events.pieces == ["Hel", "lo ✓"]
    # The second event only completed in the third read: that is when it is stamped.
    assert events.times == [1.0, 3.0]
    assert events.usage == {"prompt_tokens": 7, "completion_tokens": 3}
    assert events.timings == {"prompt_ms": 12.5}
    assert events.t_done == 3.0


def test_chat_deltas_reasoning_is_the_first_token() -> None:
    deltas = [{"role": "assistant"}, {"reasoning_content": "Let me"}, {"reasoning": " think"},
              {"content": "Yes"}, {"content": ""}]  # fmt: skip
    events = _SseEvents()
    for now, delta in enumerate(deltas, start=1):
        events.feed(_event({"choices": [{"delta": delta, "index": 0}]}), float(now))
    events.feed(b"data: [DONE]\n\n", 9.0)
    # The role-only and empty deltas carry no token; the reasoning deltas do, and come first.
    assert events.pieces == ["Let me", " think", "Yes"]
    assert events.times == [2.0, 3.0, 4.0]
    assert events.t_done == 9.0


def test_error_event_mid_stream_raises() -> None:
    events = _SseEvents()
    events.feed(_event({"choices": [{"text": "a"}]}), 1.0)
    with pytest.raises(BackendError, match=r"server error mid-stream: .*out of memory"):
        events.feed(_event({"error": {"message": "out of memory"}}), 2.0)
    with pytest.raises(BackendError, match="bad JSON"):
        _SseEvents().feed(b"data: {not json\n\n", 1.0)
