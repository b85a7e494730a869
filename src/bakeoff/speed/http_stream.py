"""Streaming from an OpenAI-compatible server (``/v1/completions`` or ``/v1/chat/completions``).

The client is bakeoff's own (``http_wire``: asyncio protocols, stdlib only): every network read
is stamped when the event loop hands it over, before any parsing and before other streams'
coroutines run, and the raw JSON keeps vendor fields (llama.cpp's ``timings``) an SDK would
drop. Server-sent events are split here; an event is stamped with the read that completed it.

What counts as a token arriving: any generated text — ``text`` (completions), or in a chat
delta ``reasoning_content`` / ``reasoning`` (the reasoning of thinking models, as vLLM,
llama.cpp and SGLang send it) as well as ``content``. So TTFT is the first token of any kind,
reasoning included. Where the thinking comes first — in its own field, or as a ``<think>``
section of the text up to ``</think>`` — the number of chunks before the answer is kept as
``server["reasoning_chunks"]``, from which the metrics take the time to the first answer token
and the inter-token latencies of thinking and of answering apart.

Token counts: the server's ``usage`` when it sends one (``stream_options.include_usage``), else
the model's tokenizer — a local GGUF (``tokenizer=PATH``, vocab only) or the server's tokenize
endpoint (llama-cpp-python ``/extras/tokenize``, llama.cpp and vLLM ``/tokenize``), counted by
:class:`bakeoff.backends._openai_server.ServerTokenCounter`, which the ``openai`` backend shares.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import replace
from typing import Any

from bakeoff.backends._openai_server import ServerTokenCounter, endpoint_of, gguf_vocab
from bakeoff.core import secrets
from bakeoff.core.errors import BackendError, ConfigError
from bakeoff.core.model import ModelInfo, ModelSpec
from bakeoff.core.speed_records import StreamTiming
from bakeoff.core.thinking import DEFAULT_THINK_END
from bakeoff.speed.http_wire import (
    Connection,
    ConnectionPool,
    ProtocolError,
    StaleConnectionError,
    request_bytes,
)

_decode_json = json.JSONDecoder().decode  # json.loads minus its per-call checks (hot path)
APIS = {"completions": "/completions", "chat": "/chat/completions"}


def api_of(spec: ModelSpec) -> str:
    api = spec.options.get("api", "completions")
    if api not in APIS:
        raise ConfigError(f"model option api={api!r} in '{spec.label}': use completions or chat")
    return api


def timeout_of(spec: ModelSpec) -> float:
    raw = spec.options.get("timeout", "600")
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise ConfigError(f"model option timeout={raw!r} in '{spec.label}': seconds, > 0")
    return value


def server_text(raw: bytes | str, limit: int = 200) -> str:
    """A server's error text made safe to store: one line, known keys redacted, then shortened
    (redacting first, so a key cut at the limit cannot leave its prefix behind)."""
    raw = raw[:65536]  # an error page, not a body to keep: what follows is cut anyway
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    return secrets.redact(" ".join(text.split()))[:limit]


class HttpStreamer:
    """Async client of one server; ``count_tokens`` is synchronous (used to build prompts)."""

    def __init__(self, spec: ModelSpec, concurrency: int) -> None:
        self.spec = spec
        self.endpoint = endpoint_of(spec)
        self.base_url = self.endpoint.root + self.endpoint.prefix
        self.api = api_of(spec)
        self.model = spec.target
        self._timeout = timeout_of(spec)
        self._tokens = ServerTokenCounter(spec)  # reads the key: refused here when one is missing
        self._headers = self._tokens.headers
        self._path = self.endpoint.prefix + APIS[self.api]
        self._pool = ConnectionPool(self.endpoint)

    # -- tokens -----------------------------------------------------------------------------

    def count_tokens(self, text: str) -> int:
        return self._tokens.count_tokens(text)

    # -- streaming --------------------------------------------------------------------------

    def body(self, prompt: str, max_tokens: int) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model}
        if self.api == "chat":
            body["messages"] = [{"role": "user", "content": prompt}]
        else:
            body["prompt"] = prompt
        body.update(
            max_tokens=max_tokens,
            temperature=0.0,
            stream=True,
            stream_options={"include_usage": True},
            # Speed runs need exactly max_tokens; vLLM and llama.cpp honour this field.
            ignore_eos=True,
        )
        return body

    async def prepare(self, concurrency: int) -> None:
        await self._pool.prewarm(concurrency)

    async def stream(self, prompt: str, max_tokens: int, t_sent: float) -> StreamTiming:
        payload = json.dumps(self.body(prompt, max_tokens)).encode()
        request = request_bytes(self.endpoint, self._path, payload, self._headers)
        try:
            async with asyncio.timeout(self._timeout):
                return await self._send(request, t_sent)
        except TimeoutError:
            raise BackendError(f"no complete answer within {self._timeout:g} s") from None

    async def _send(self, request: bytes, t_sent: float) -> StreamTiming:
        for attempt in (0, 1):
            conn, reused = await self._pool.acquire()
            keep = False
            try:
                events, keep = await _exchange(conn, request)
            except StaleConnectionError:
                if not reused or attempt:
                    raise BackendError("the server closed the connection unanswered") from None
                continue  # an idle connection the server had dropped: once more, fresh
            except _StatusError as exc:
                keep = exc.reusable  # a complete error answer leaves the connection usable
                raise
            except ProtocolError as exc:
                raise BackendError(f"bad HTTP response: {server_text(str(exc))}") from None
            finally:
                self._pool.release(conn, keep)
            return _timing(events, t_sent)
        raise AssertionError("unreachable")

    def info(self, n_ctx: int) -> ModelInfo:
        """What the server runs is unknown, unless ``tokenizer=PATH.gguf`` names its weights:
        then their spec feeds the memory estimate."""
        path = self.spec.options.get("tokenizer")
        if not path:
            return ModelInfo(name=self.model, backend="openai", source=self.base_url)
        from bakeoff.speed.llamacpp_stream import model_info_from_gguf, resolve_model_path

        vocab = gguf_vocab(path)
        gguf = model_info_from_gguf(resolve_model_path(path), vocab.metadata, n_ctx)
        return replace(
            gguf, name=self.model, backend="openai", source=self.base_url, extra={"n_ctx": n_ctx}
        )

    async def aclose(self) -> None:
        self._pool.close()
        self._tokens.close()


async def _exchange(conn: Connection, request: bytes) -> tuple[_SseEvents, bool]:
    """Send one request on ``conn``, wait for its whole streamed answer, then parse it.

    The body is read to its end, not left at ``[DONE]``, so the connection can carry the next
    request. Returns the events and whether the connection may be reused.
    """
    response = await conn.exchange(request)
    if response.status != 200:
        detail = server_text(b"".join(p for _, p in response.pieces))
        raise _StatusError(f"HTTP {response.status}: {detail}", response.keep_alive)
    events = _SseEvents()
    for now, piece in response.pieces:
        events.feed(piece, now)
    last = response.pieces[-1][0] if response.pieces else time.perf_counter()
    events.feed(b"\n", last)  # a last event without its blank line
    return events, response.keep_alive


class _StatusError(BackendError):
    """An answer other than 200 OK; ``reusable`` when it was read to its end on a kept-alive
    connection."""

    def __init__(self, message: str, reusable: bool) -> None:
        super().__init__(message)
        self.reusable = reusable


def _timing(events: _SseEvents, t_sent: float) -> StreamTiming:
    t_end = events.t_done if events.t_done is not None else events.t_last
    server: dict[str, Any] = {}
    if events.timings:
        server = {"source": "server timings", **events.timings}
    return StreamTiming(
        t_sent=t_sent,
        t_end=t_end if t_end is not None else time.perf_counter(),
        chunk_times=tuple(events.times),
        chunk_texts=tuple(events.pieces),
        prompt_tokens=_usage_int(events.usage, "prompt_tokens"),
        output_tokens=_usage_int(events.usage, "completion_tokens"),
        server={
            **server,
            "usage_from_server": bool(events.usage),
            "finish_reason": events.finish_reason,
            **_reasoning_chunks(events),
        },
    )


def _reasoning_chunks(events: _SseEvents) -> dict[str, int]:
    """``{"reasoning_chunks": n}``: the chunks before the answer's first one, when a model
    thought first (a separate reasoning field, or a ``<think>`` section ending in the text);
    empty when it did not, so records of other models are unchanged."""
    if any(events.reasoning):
        leading = next((i for i, r in enumerate(events.reasoning) if not r), len(events.reasoning))
        return {"reasoning_chunks": leading}
    seen = ""
    for index, piece in enumerate(events.pieces):
        seen += piece
        if DEFAULT_THINK_END in seen:
            after = seen.partition(DEFAULT_THINK_END)[2]
            # The chunk that closes the thinking is the first answer chunk if it carries answer.
            return {"reasoning_chunks": index if after.strip() else index + 1}
    return {}


class _SseEvents:
    """Server-sent events of one completion stream, fed body bytes with their arrival time."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.pieces: list[str] = []
        self.reasoning: list[bool] = []  # per chunk: thinking only (no answer text)
        self.usage: dict[str, Any] = {}
        self.timings: dict[str, Any] = {}
        self.t_done: float | None = None
        self.t_last: float | None = None  # the last event of any kind
        self.finish_reason: str | None = None
        self._buffer = b""

    def feed(self, raw: bytes, now: float) -> None:
        *lines, self._buffer = (self._buffer + raw).split(b"\n")
        for line in lines:
            if line.startswith(b"data:"):
                self._event(line[5:].strip(), now)

    def _event(self, payload: bytes, now: float) -> None:
        if self.t_done is not None or not payload:
            return
        self.t_last = now
        if payload == b"[DONE]":
            self.t_done = now
            return
        try:
            event = _decode_json(payload.decode("utf-8"))
        except ValueError:
            detail = server_text(payload, 80)
            raise BackendError(f"bad JSON in the event stream: {detail}") from None
        if not isinstance(event, dict):
            return
        if "error" in event and "choices" not in event:
            raise BackendError(f"server error mid-stream: {server_text(str(event['error']))}")
        choices = event.get("choices")
        if choices and isinstance(choices[0], dict):
            reason = choices[0].get("finish_reason")
            self.finish_reason = reason if isinstance(reason, str) else self.finish_reason
        thinking, answer = _chunk_text(event)
        if thinking or answer:
            self.times.append(now)
            self.pieces.append(thinking + answer)
            self.reasoning.append(not answer)
        self.usage = event.get("usage") or self.usage
        self.timings = event.get("timings") or self.timings


def _usage_int(usage: dict[str, Any], key: str) -> int | None:
    value = usage.get(key)
    return int(value) if isinstance(value, int | float) else None


def _chunk_text(event: dict[str, Any]) -> tuple[str, str]:
    """(thinking, answer) text of one event: completion ``text`` is answer; a chat delta's
    ``reasoning_content`` / ``reasoning`` is thinking, its ``content`` answer."""
    choices = event.get("choices") or []
    if not choices or not isinstance(choices[0], dict):
        return "", ""
    choice = choices[0]
    text = choice.get("text")
    if isinstance(text, str):
        return "", text
    delta = choice.get("delta")
    if not isinstance(delta, dict):
        return "", ""
    parts = (delta.get(k) for k in ("reasoning_content", "reasoning"))
    content = delta.get("content")
    return (
        "".join(p for p in parts if isinstance(p, str)),
        content if isinstance(content, str) else "",
    )
