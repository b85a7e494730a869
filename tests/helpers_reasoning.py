"""Streams reasoning models send, as the providers document them, for the scripted servers of
tests/helpers_servers.py (``SseScript``): OpenAI chat-completion chunks with reasoning deltas and
usage, and Anthropic's Messages events with ``thinking`` blocks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tests.helpers_servers import SseReply, sse_data, sse_event

PAUSE = 0.15
"""Seconds a scripted server thinks before answering: far above the timing noise."""


def chat_chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    return sse_data(
        {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
         "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    )  # fmt: skip


def usage_chunk(usage: dict[str, Any]) -> bytes:
    return sse_data(
        {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
         "choices": [], "usage": usage}
    )  # fmt: skip


def openai_stream(
    thinking: Sequence[str],
    answer: Sequence[str],
    usage: dict[str, Any] | None,
    field: str,
    pause_at: int = 0,
) -> SseReply:
    """Thinking deltas in ``field`` (``reasoning_content`` / ``reasoning``), then the content
    deltas (a pause before the one at ``pause_at``), a finish, the usage chunk and ``[DONE]``."""
    events = [(0.0, chat_chunk({"role": "assistant", "content": ""}))]
    events += [(0.0, chat_chunk({field: piece})) for piece in thinking]
    events += [
        (PAUSE if i == pause_at else 0.0, chat_chunk({"content": p})) for i, p in enumerate(answer)
    ]
    events.append((0.0, chat_chunk({}, "stop")))
    if usage is not None:
        events.append((0.0, usage_chunk(usage)))
    events.append((0.0, b"data: [DONE]\n\n"))
    return SseReply(events)


def anthropic_stream(
    thinking: Sequence[str], answer: Sequence[str], details: dict[str, int] | None
) -> SseReply:
    usage: dict[str, Any] = {"input_tokens": 20, "output_tokens": 1, "cache_read_input_tokens": 6}
    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": usage,
    }
    events = [(0.0, sse_event("message_start", {"type": "message_start", "message": message}))]
    index = 0
    if thinking:
        block = {"type": "thinking", "thinking": "", "signature": ""}
        events.append((0.0, block_start(index, block)))
        for piece in thinking:
            thought = {"type": "thinking_delta", "thinking": piece}
            events.append((0.0, block_delta(index, thought)))
        events.append((0.0, block_delta(index, {"type": "signature_delta", "signature": "EqQB"})))
        events.append((0.0, block_stop(index)))
        index += 1
    events.append((0.0, block_start(index, {"type": "text", "text": ""})))
    for i, piece in enumerate(answer):
        events.append(
            (PAUSE if i == 0 else 0.0, block_delta(index, {"type": "text_delta", "text": piece}))
        )
    events.append((0.0, block_stop(index)))
    final: dict[str, Any] = {"output_tokens": 150}
    if details is not None:
        final["output_tokens_details"] = details
    delta_event = {"type": "message_delta", "usage": final,
                   "delta": {"stop_reason": "end_turn", "stop_sequence": None}}  # fmt: skip
    events.append((0.0, sse_event("message_delta", delta_event)))
    events.append((0.0, sse_event("message_stop", {"type": "message_stop"})))
    return SseReply(events)


def block_start(index: int, block: dict[str, Any]) -> bytes:
    data = {"type": "content_block_start", "index": index, "content_block": block}
    return sse_event("content_block_start", data)


def block_delta(index: int, delta: dict[str, Any]) -> bytes:
    data = {"type": "content_block_delta", "index": index, "delta": delta}
    return sse_event("content_block_delta", data)


def block_stop(index: int) -> bytes:
    return sse_event("content_block_stop", {"type": "content_block_stop", "index": index})
