"""Server-sent events split at arbitrary byte boundaries, as network reads deliver them."""

from __future__ import annotations

import json

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
