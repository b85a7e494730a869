"""Streaming from an OpenAI-compatible ``/v1/completions`` endpoint with httpx, timed per chunk.

httpx rather than the openai SDK: the SDK parses and buffers server-sent events before handing
them over, so its chunk times include its own parsing and object building; with httpx each
``data:`` line is timestamped the moment its bytes are read, and the raw JSON keeps
vendor fields (llama.cpp's ``timings``, vLLM's ``usage``) the SDK would drop.

Token counts: the server's ``usage`` when it sends one (``stream_options.include_usage``), else
the model's tokenizer — a local GGUF (``tokenizer=PATH``, vocab only) or the server's tokenize
endpoint (llama-cpp-python ``/extras/tokenize``, llama.cpp and vLLM ``/tokenize``).
"""

from __future__ import annotations

import functools
import importlib
import json
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from bakeoff.backends.base import ModelInfo, ModelSpec
from bakeoff.core.errors import BackendError, ConfigError, MissingDependencyError
from bakeoff.speed.records import StreamTiming

DEFAULT_BASE_URL = "http://127.0.0.1:8000/v1"


def import_httpx() -> Any:
    try:
        return importlib.import_module("httpx")
    except ImportError:
        raise MissingDependencyError("httpx", "speed", "speed runs against HTTP servers") from None


class HttpStreamer:
    """Async client of one server; ``count_tokens`` is synchronous (used to build prompts)."""

    def __init__(self, spec: ModelSpec, concurrency: int) -> None:
        self.httpx = import_httpx()
        self.spec = spec
        self.base_url = spec.options.get("base_url", DEFAULT_BASE_URL).rstrip("/")
        if not self.base_url.startswith(("http://", "https://")):
            raise ConfigError(f"base_url must start with http:// or https://: {self.base_url}")
        self.model = spec.target
        self._timeout = float(spec.options.get("timeout", "600"))
        # One single-connection client per in-flight request, reused: httpcore's shared pool
        # scans every connection on each request, which at 64 streams costs more than the
        # streams themselves (bench/client_overhead.py: ~3× the request rate this way).
        self._idle: list[Any] = []
        self._all: list[Any] = []
        self._counter: Callable[[str], int] | None = None

    # -- tokens -----------------------------------------------------------------------------

    def count_tokens(self, text: str) -> int:
        if self._counter is None:
            self._counter = self._make_counter()
        return self._counter(text)

    def _make_counter(self) -> Callable[[str], int]:
        path = self.spec.options.get("tokenizer")
        if path:
            return _gguf_counter(path)
        root = self.base_url.removesuffix("/v1")
        with self.httpx.Client(timeout=30.0) as client:
            for url, body in (
                (f"{root}/extras/tokenize", _llama_cpp_python_body),
                (f"{root}/tokenize", self._tokenize_body),
            ):
                try:
                    response = client.post(url, json=body(""))
                except self.httpx.ConnectError as exc:
                    raise BackendError(
                        f"cannot reach {root} for '{self.spec.label}': {exc}"
                    ) from None
                except self.httpx.HTTPError:
                    continue
                if response.status_code == 200 and "tokens" in _json_or_empty(response):
                    return _remote_counter(self.httpx, url, body)
        raise BackendError(
            f"cannot count tokens for '{self.spec.label}': the server has no tokenize endpoint; "
            "pass tokenizer=PATH.gguf in the model spec"
        )

    def _tokenize_body(self, text: str) -> dict[str, Any]:
        # llama.cpp's server reads "content", vLLM's "prompt" (+ "model"); each ignores the other.
        return {"content": text, "prompt": text, "model": self.model}

    # -- streaming --------------------------------------------------------------------------

    async def stream(self, prompt: str, max_tokens: int, t_sent: float) -> StreamTiming:
        body = {
            "model": self.model,
            "prompt": prompt,
            "max_tokens": max_tokens,
            "temperature": 0.0,
            "stream": True,
            "stream_options": {"include_usage": True},
            # Speed runs need exactly max_tokens; vLLM and llama.cpp honour this field.
            "ignore_eos": True,
        }
        client = self._idle.pop() if self._idle else self._new_client()
        try:
            return await self._stream(client, body, t_sent)
        finally:
            self._idle.append(client)

    def _new_client(self) -> Any:
        client = self.httpx.AsyncClient(
            timeout=self._timeout, limits=self.httpx.Limits(max_connections=1)
        )
        self._all.append(client)
        return client

    async def _stream(self, client: Any, body: dict[str, Any], t_sent: float) -> StreamTiming:
        events = _SseEvents()
        async with client.stream("POST", f"{self.base_url}/completions", json=body) as resp:
            if resp.status_code != 200:
                detail = (await resp.aread())[:200].decode("utf-8", "replace")
                raise BackendError(f"HTTP {resp.status_code}: {detail}")
            # Raw bytes, split here: one timestamp per network read (events that arrived
            # together share it) and none of httpx's text/line decoding layers in the hot path.
            # The body is read to its end, not left at [DONE]: an unfinished response makes
            # httpx drop the connection instead of reusing it.
            async for raw in resp.aiter_bytes():
                events.feed(raw, time.perf_counter())
        t_end = time.perf_counter() if events.t_done is None else events.t_done
        timings = events.timings
        server: dict[str, Any] = {"source": "server timings", **timings} if timings else {}
        return StreamTiming(
            t_sent=t_sent,
            t_end=t_end,
            chunk_times=tuple(events.times),
            chunk_texts=tuple(events.pieces),
            prompt_tokens=_usage_int(events.usage, "prompt_tokens"),
            output_tokens=_usage_int(events.usage, "completion_tokens"),
            server={**server, "usage_from_server": bool(events.usage)},
        )

    def info(self, n_ctx: int) -> ModelInfo:
        """What the server runs is unknown, unless ``tokenizer=PATH.gguf`` names its weights:
        then their spec feeds the memory estimate."""
        path = self.spec.options.get("tokenizer")
        if not path:
            return ModelInfo(name=self.model, backend="openai", source=self.base_url)
        from bakeoff.speed.llamacpp_stream import model_info_from_gguf, resolve_model_path

        vocab = _gguf_vocab(path)
        gguf = model_info_from_gguf(resolve_model_path(path), vocab.metadata, n_ctx)
        return replace(gguf, name=self.model, backend="openai", source=self.base_url)

    async def aclose(self) -> None:
        for client in self._all:
            await client.aclose()


class _SseEvents:
    """Server-sent events of one completion stream, fed raw bytes as they arrive."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.pieces: list[str] = []
        self.usage: dict[str, Any] = {}
        self.timings: dict[str, Any] = {}
        self.t_done: float | None = None
        self._buffer = b""

    def feed(self, raw: bytes, now: float) -> None:
        *lines, self._buffer = (self._buffer + raw).split(b"\n")
        for line in lines:
            if line.startswith(b"data:"):
                self._event(line[5:].strip(), now)

    def _event(self, payload: bytes, now: float) -> None:
        if payload == b"[DONE]":
            self.t_done = now
            return
        event = json.loads(payload)
        text = _chunk_text(event)
        if text:
            self.times.append(now)
            self.pieces.append(text)
        self.usage = event.get("usage") or self.usage
        self.timings = event.get("timings") or self.timings


def _json_or_empty(response: Any) -> dict[str, Any]:
    try:
        value = response.json()
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _llama_cpp_python_body(text: str) -> dict[str, Any]:
    return {"input": text}


def _usage_int(usage: dict[str, Any], key: str) -> int | None:
    value = usage.get(key)
    return int(value) if isinstance(value, int | float) else None


def _chunk_text(event: dict[str, Any]) -> str:
    choices = event.get("choices") or []
    if not choices:
        return ""
    text = choices[0].get("text")
    return text if isinstance(text, str) else ""


def _remote_counter(
    httpx: Any, url: str, body: Callable[[str], dict[str, Any]]
) -> Callable[[str], int]:
    """Count via the server; the tokens it returns for "" (a BOS, usually) are subtracted."""
    client = httpx.Client(timeout=30.0)

    def tokens(text: str) -> int:
        response = client.post(url, json=body(text))
        response.raise_for_status()
        return len(response.json()["tokens"])

    offset = tokens("")
    return functools.lru_cache(maxsize=65536)(lambda text: tokens(text) - offset)


def _gguf_vocab(path: str) -> Any:
    from bakeoff.speed.llamacpp_stream import import_llama_cpp, resolve_model_path

    llama_cpp = import_llama_cpp()
    return llama_cpp.Llama(model_path=str(resolve_model_path(path)), vocab_only=True, verbose=False)


def _gguf_counter(path: str) -> Callable[[str], int]:
    vocab = _gguf_vocab(path)
    return lambda text: len(vocab.tokenize(text.encode("utf-8"), add_bos=False, special=False))
