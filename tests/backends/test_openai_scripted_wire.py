"""The OpenAI backend against a scripted HTTP server on loopback (no model): what it does with
the headers and streams a server sends. The server answers a fixed list of responses, one per
POST, and then refuses more (so a test that loops cannot hang on it)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from tests.helpers_servers import LoopbackServer, QuietHandler, serving

from bakeoff.core.model import ModelSpec
from bakeoff.core.types import GenerateRequest, GenerationResult


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    chunks: Sequence[str] = ("hi",)
    """Streamed text pieces (status 200): each its own SSE event, with no usage."""


class ScriptedServer(LoopbackServer):
    """``tokenize``: answer ``/extras/tokenize`` as llama-cpp-python does (a start token + one
    token per word); otherwise both tokenize endpoints are 404, as on OpenAI's API."""

    url_path = "/v1"

    def __init__(self, replies: Sequence[Reply], *, tokenize: bool = False) -> None:
        self.replies = list(replies)
        self.tokenize = tokenize
        self.tokenize_calls = 0
        self.arrivals: list[float] = []  # monotonic time each POST arrived
        self._lock = threading.Lock()
        super().__init__()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server names it)
                body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)))
                if self.path in ("/extras/tokenize", "/tokenize"):
                    with server._lock:
                        server.tokenize_calls += 1
                    if not server.tokenize or self.path != "/extras/tokenize":
                        self._send(404, {}, b'{"error": {"message": "not found"}}')
                        return
                    tokens = [1] * (1 + len(body["input"].split()))
                    self._send(200, {}, json.dumps({"tokens": tokens}).encode())
                    return
                with server._lock:
                    index = len(server.arrivals)
                    server.arrivals.append(time.monotonic())
                if index >= len(server.replies):  # bounded: a runaway client gets 400s
                    self._send(400, {}, b'{"error": {"message": "script exhausted"}}')
                    return
                reply = server.replies[index]
                if reply.status != 200:
                    self._send(reply.status, reply.headers, b'{"error": {"message": "wait"}}')
                    return
                events = [
                    {"id": "c", "object": "text_completion", "created": 0, "model": "m",
                     "choices": [{"text": t, "index": 0, "finish_reason": None,
                                  "logprobs": None}]}
                    for t in reply.chunks
                ]  # fmt: skip
                events.append(
                    {"id": "c", "object": "text_completion", "created": 0, "model": "m",
                     "choices": [{"text": "", "index": 0, "finish_reason": "stop",
                                  "logprobs": None}]}
                )  # fmt: skip
                body = b"".join(f"data: {json.dumps(e)}\n\n".encode() for e in events)
                self._send(200, {"content-type": "text/event-stream"}, body + b"data: [DONE]\n\n")

            def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
                self.send_response(status)
                headers = {"content-type": "application/json", **headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler


def _backend(base_url: str, extra: str = "") -> Any:
    pytest.importorskip("openai")
    from bakeoff.backends.openai_compat import OpenAICompatBackend

    return OpenAICompatBackend(
        ModelSpec.parse(f"openai:m,base_url={base_url},api=completions,max_retries=2{extra}")
    )


@pytest.mark.parametrize(
    ("headers", "wait"),
    [({"Retry-After": "1"}, 1.0), ({"retry-after-ms": "800", "Retry-After": "0"}, 0.8)],
    ids=["retry-after", "retry-after-ms"],
)
def test_retry_waits_at_least_what_the_server_asks(headers: dict[str, str], wait: float) -> None:
    # Backoff with jitter alone would retry within 0.5 s: only an honoured header waits longer.
    with serving(ScriptedServer([Reply(429, headers), Reply()])) as server:
        backend = _backend(server.base_url)
        try:
            (outcome,) = backend.generate([GenerateRequest("hello")])
        finally:
            backend.close()
    assert isinstance(outcome, GenerationResult), outcome
    assert outcome.text == "hi"
    assert backend.retries == 1
    assert len(server.arrivals) == 2
    assert server.arrivals[1] - server.arrivals[0] >= wait


def test_a_retry_after_of_minutes_is_capped_at_30_seconds() -> None:
    from bakeoff.backends import _api as api

    assert api.retry_after_from({"retry-after-ms": "250"}) == 0.25
    assert api.retry_after_from({"retry-after-ms": "junk", "retry-after": "2"}) == 2.0
    assert api.retry_after_from({}) is None
    assert api.backoff_seconds(0, api.retry_after_from({"retry-after": "600"})) == 30.0
    assert api.backoff_seconds(0, api.retry_after_from({"retry-after-ms": "600000"})) == 30.0


TWO_TOKEN_CHUNKS = [f" w{i}a w{i}b" for i in range(4)]  # 4 chunks, 2 words (tokens) each


@pytest.mark.parametrize(
    ("tokenize", "option", "expected", "estimated", "calls"),
    [
        # Counted by the server's tokenizer, start token subtracted. Calls: the probe, the
        # start-token offset, the check for "", then one per distinct text (both are the same).
        (True, ",tokenizer=server", 8, False, 4),
        # Asked for, but the server has no endpoint: a 404 from each, and never asked again.
        (False, ",tokenizer=server", 4, True, 2),
        # No tokenizer named: the server is not asked; the chunk count, flagged as an estimate.
        (True, "", 4, True, 0),
    ],
    ids=["server-tokenizer", "no-endpoint", "no-tokenizer"],
)
def test_output_tokens_without_usage_are_never_taken_as_the_chunk_count(
    tokenize: bool, option: str, expected: int, estimated: bool, calls: int
) -> None:
    # The stream has no usage: 4 chunks carry 8 tokens.
    replies = [Reply(chunks=TWO_TOKEN_CHUNKS), Reply(chunks=TWO_TOKEN_CHUNKS)]
    with serving(ScriptedServer(replies, tokenize=tokenize)) as server:
        backend = _backend(server.base_url, option)
        try:
            outcomes = backend.generate([GenerateRequest("a"), GenerateRequest("b")])
        finally:
            backend.close()
    for outcome in outcomes:
        assert isinstance(outcome, GenerationResult), outcome
        assert outcome.text == "".join(TWO_TOKEN_CHUNKS)
        assert outcome.usage.output_tokens == expected
        assert outcome.usage.output_tokens_estimated is estimated
        assert outcome.usage.as_dict().get("output_tokens_estimated", False) is estimated
    assert server.tokenize_calls == calls
