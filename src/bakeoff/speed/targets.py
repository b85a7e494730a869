"""One interface over the two ways a model is reached: in-process llama.cpp, or an HTTP server.

Specs: ``llamacpp:PATH|alias[,n_ctx=,n_threads=,n_batch=]`` and
``openai:MODEL[,base_url=http://127.0.0.1:8000/v1,api=completions|chat,tokenizer=PATH.gguf,
pid=N,timeout=S,api_key_env=NAME,allow_http=0]`` (``pid`` names the server process, so its peak
RSS can be read). Any other option is refused, and one that looks like a key with the backends'
message: the spec is stored with the run, so a key in it would be written to the database.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

from bakeoff.backends._api import refuse_key_options
from bakeoff.backends._openai_payloads import DEFAULT_KEY_ENV
from bakeoff.backends._openai_server import auth_headers, endpoint_of
from bakeoff.core.errors import ConfigError
from bakeoff.core.model import ModelInfo, ModelSpec
from bakeoff.core.speed_records import StreamTiming
from bakeoff.speed.http_stream import HttpStreamer, api_of, timeout_of
from bakeoff.speed.llamacpp_stream import LlamaCppStreamer, check_model_target

SUPPORTED = ("llamacpp", "openai")
KNOWN_OPTIONS = {
    "llamacpp": frozenset({"n_ctx", "n_threads", "n_batch"}),
    "openai": frozenset(
        {"base_url", "api", "tokenizer", "pid", "timeout", "api_key_env", "allow_http"}
    ),
}


class Target(Protocol):
    label: str
    in_process: bool  # the model lives in this process (its peak RSS is ours)
    pid: int | None  # else the server process holding it, when known

    def count_tokens(self, text: str) -> int: ...

    async def prepare(self, concurrency: int) -> None:
        """Get ready for ``concurrency`` requests in flight (open connections)."""

    async def stream(self, prompt: str, max_tokens: int) -> StreamTiming: ...

    def info(self) -> ModelInfo: ...

    async def aclose(self) -> None: ...


class LlamaCppTarget:
    """In-process model. Streams run in a worker thread; the model serves one at a time, so at
    concurrency > 1 requests wait inside the "server" (after ``t_sent``), as on a 1-slot server."""

    def __init__(self, spec: ModelSpec, n_ctx: int) -> None:
        self.label = spec.label
        self.streamer = LlamaCppStreamer(spec, n_ctx)
        self.in_process = True
        self.pid: int | None = None

    def count_tokens(self, text: str) -> int:
        return self.streamer.count_tokens(text)

    async def prepare(self, concurrency: int) -> None:
        return None  # one model, one request at a time: nothing to open

    async def stream(self, prompt: str, max_tokens: int) -> StreamTiming:
        t_sent = time.perf_counter()
        return await asyncio.to_thread(self.streamer.stream, prompt, max_tokens, t_sent)

    def info(self) -> ModelInfo:
        return self.streamer.info()

    async def aclose(self) -> None:
        self.streamer.close()


class HttpTarget:
    def __init__(self, spec: ModelSpec, concurrency: int, n_ctx: int = 2048) -> None:
        self.label = spec.label
        self.n_ctx = n_ctx  # for the memory estimate only: the server chose its own
        self.streamer = HttpStreamer(spec, concurrency)
        self.in_process = False
        self.pid = pid_of(spec)

    def count_tokens(self, text: str) -> int:
        return self.streamer.count_tokens(text)

    async def prepare(self, concurrency: int) -> None:
        await self.streamer.prepare(concurrency)

    async def stream(self, prompt: str, max_tokens: int) -> StreamTiming:
        return await self.streamer.stream(prompt, max_tokens, time.perf_counter())

    def info(self) -> ModelInfo:
        return self.streamer.info(self.n_ctx)

    async def aclose(self) -> None:
        await self.streamer.aclose()


def pid_of(spec: ModelSpec) -> int | None:
    raw_pid = spec.options.get("pid")
    try:
        pid = int(raw_pid) if raw_pid else None
    except ValueError:
        pid = 0
    if pid is not None and pid <= 0:
        raise ConfigError(f"model option pid={raw_pid!r} in '{spec.label}' is not a process id")
    return pid


def check_spec(spec: ModelSpec) -> None:
    """Cheap checks before anything is stored: no key in the spec, backend and options known,
    model file present, URL sane."""
    # First, so no later message (which may quote the spec) can echo a key.
    refuse_key_options(spec.backend, spec.options, spec.options.get("api_key_env", DEFAULT_KEY_ENV))
    if spec.backend not in SUPPORTED:
        raise ConfigError(
            f"speed runs support backends {', '.join(SUPPORTED)}; got '{spec.backend}' "
            f"in '{spec.label}'"
        )
    known = KNOWN_OPTIONS[spec.backend]
    unknown = sorted(set(spec.options) - known)
    if unknown:
        raise ConfigError(
            f"unknown {spec.backend} option(s) {', '.join(unknown)} in speed spec "
            f"'{spec.label}'; known: {', '.join(sorted(known))}"
        )
    if spec.backend == "llamacpp":
        check_model_target(spec.target)
        return
    endpoint_of(spec)
    pid_of(spec)
    api_of(spec)
    timeout_of(spec)
    auth_headers(spec)


def open_target(spec: ModelSpec, n_ctx: int, max_concurrency: int) -> Target:
    check_spec(spec)
    if spec.backend == "llamacpp":
        return LlamaCppTarget(spec, n_ctx)
    return HttpTarget(spec, max_concurrency, n_ctx)
