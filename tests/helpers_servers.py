"""Real local model servers for the API-backend tests, on 127.0.0.1 and a free port.

* :func:`llama_cpp_python_server`: llama-cpp-python's OpenAI-compatible server on a GGUF file.
* :func:`llama_server`: llama.cpp's own ``llama-server`` binary, which also speaks Anthropic's
  Messages API; found through ``$BAKEOFF_LLAMA_SERVER`` or on ``PATH`` (None when absent).
* :func:`messages_front`: when no ``llama-server`` can be had, a Messages API front for an
  OpenAI-compatible server: it forwards each ``POST /v1/messages`` as a chat completion to the
  real model and writes the answer back as the event stream Anthropic documents (message_start,
  content_block_start, ping, content_block_delta..., content_block_stop, message_delta,
  message_stop), so the Anthropic SDK reads real model output through its own HTTP transport.
* :class:`LoopbackServer`, :class:`QuietHandler` and :func:`serving`: what such an in-process
  server is built on (the front above; scripted servers in tests).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(process: subprocess.Popen[bytes], url: str, log: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"server not ready after {seconds:.0f} s: {log.read_text()[-2000:]}")
        time.sleep(0.25)


@contextmanager
def _process(command: Sequence[str], ready_url: str, log: Path) -> Iterator[None]:
    with log.open("wb") as out:
        process = subprocess.Popen(list(command), stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_ready(process, ready_url, log, 120)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def llama_cpp_python_server(model: str, log: Path, *extra: str) -> Iterator[str]:
    """Yields the ``/v1`` base URL."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        model,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "2048",
        # Its default (True) aborts a running request when the next one arrives: concurrent
        # requests would come back truncated with finish_reason "stop".
        "--interrupt_requests",
        "False",
        # The GGUF's template is not recognised (it falls back to llama-2's).
        "--chat_format",
        "gemma",
        *extra,
    ]
    base_url = f"http://127.0.0.1:{port}/v1"
    with _process(command, f"{base_url}/models", log):
        yield base_url


def llama_server_binary() -> str | None:
    named = os.environ.get("BAKEOFF_LLAMA_SERVER")
    if named:
        return named if Path(named).is_file() else None
    return shutil.which("llama-server")


@contextmanager
def llama_server(binary: str, model: str, log: Path, *extra: str) -> Iterator[str]:
    """llama.cpp's server; yields the root URL (``/v1/messages``, ``/v1/chat/completions``)."""
    port = free_port()
    command = [
        binary,
        "-m",
        model,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "-c",
        "2048",
        "--chat-template",
        "gemma",
        *extra,
    ]
    root = f"http://127.0.0.1:{port}"
    with _process(command, f"{root}/health", log):
        yield root


# --- in-process servers on loopback ------------------------------------------------------------


class QuietHandler(BaseHTTPRequestHandler):
    """One request per connection (close-delimited bodies: no chunked framing), no access log."""

    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        pass


class LoopbackServer:
    """A threaded HTTP server on 127.0.0.1 and a free port, answered by the handler class that
    ``_handler`` returns (set what it reads before calling ``__init__``); ``base_url`` ends in
    ``url_path``. Run it with :func:`serving`."""

    url_path = ""
    server_class: type[ThreadingHTTPServer] = ThreadingHTTPServer

    def __init__(self) -> None:
        self._server = self.server_class(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{self.url_path}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        raise NotImplementedError


Server = TypeVar("Server", bound=LoopbackServer)


@contextmanager
def serving(server: Server) -> Iterator[Server]:
    """Serves ``server`` for the block, then shuts it down."""
    server._thread.start()
    try:
        yield server
    finally:
        server._server.shutdown()
        server._server.server_close()


# --- a Messages API front for an OpenAI-compatible server --------------------------------------


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def _pieces(text: str) -> list[str]:
    """The text in word-sized deltas, as a streaming server sends it."""
    out: list[str] = []
    for word in text.split(" "):
        out.append(word if not out else " " + word)
    return [p for p in out if p] or []


_STOP = {"stop": "end_turn", "length": "max_tokens"}


class MessagesFront(LoopbackServer):
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.requests: list[dict[str, Any]] = []
        super().__init__()

    def _answer(self, body: dict[str, Any]) -> dict[str, Any]:
        messages = [{"role": "system", "content": body["system"]}] if body.get("system") else []
        messages += [{"role": m["role"], "content": m["content"]} for m in body["messages"]]
        upstream = {
            "model": body["model"],
            "messages": messages,
            "max_tokens": body["max_tokens"],
            "temperature": body.get("temperature", 1.0),
            "top_p": body.get("top_p", 1.0),
            "stop": body.get("stop_sequences") or None,
            "repeat_penalty": 1.0,
        }
        request = urllib.request.Request(
            f"{self.upstream}/chat/completions",
            data=json.dumps(upstream).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            answer: dict[str, Any] = json.loads(response.read())
        return answer

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        front = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)))
                front.requests.append(body)
                if self.path.rstrip("/") != "/v1/messages" or not body.get("stream"):
                    self.send_error(404, "only streamed /v1/messages here")
                    return
                answer = front._answer(body)
                choice = answer["choices"][0]
                usage = answer.get("usage") or {}
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                self.wfile.write(self._events(body, choice, usage))
                self.wfile.flush()

            def _events(self, body: dict[str, Any], choice: Any, usage: Any) -> bytes:
                message = {
                    "id": "msg_local",
                    "type": "message",
                    "role": "assistant",
                    "content": [],
                    "model": body["model"],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {"input_tokens": usage.get("prompt_tokens", 0), "output_tokens": 1},
                }
                out = [
                    _sse("message_start", {"type": "message_start", "message": message}),
                    _sse(
                        "content_block_start",
                        {
                            "type": "content_block_start",
                            "index": 0,
                            "content_block": {"type": "text", "text": ""},
                        },
                    ),
                    _sse("ping", {"type": "ping"}),
                ]
                for piece in _pieces(choice["message"]["content"] or ""):
                    delta = {"type": "text_delta", "text": piece}
                    out.append(
                        _sse(
                            "content_block_delta",
                            {"type": "content_block_delta", "index": 0, "delta": delta},
                        )
                    )
                stop = _STOP.get(choice.get("finish_reason"), "end_turn")
                out += [
                    _sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
                    _sse(
                        "message_delta",
                        {
                            "type": "message_delta",
                            "delta": {"stop_reason": stop, "stop_sequence": None},
                            "usage": {"output_tokens": usage.get("completion_tokens", 0)},
                        },
                    ),
                    _sse("message_stop", {"type": "message_stop"}),
                ]
                return b"".join(out)

        return Handler


def messages_front(upstream: str) -> AbstractContextManager[MessagesFront]:
    return serving(MessagesFront(upstream))


# --- a scripted server-sent-events API (reasoning models' streams) ------------------------------


def sse_data(data: dict[str, Any]) -> bytes:
    """One OpenAI-style event (``data:`` only)."""
    return f"data: {json.dumps(data)}\n\n".encode()


def sse_event(event: str, data: dict[str, Any]) -> bytes:
    """One Anthropic-style event (named)."""
    return _sse(event, data)


@dataclass
class SseReply:
    """One response: ``events`` written one at a time, each after its pause in seconds; a
    ``status`` other than 200 sends an error body instead (with the headers)."""

    events: Sequence[tuple[float, bytes]] = ()
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 200


class SseScript(LoopbackServer):
    """Answers each POST with the next ``SseReply`` (``answer(body)`` makes one when given
    instead of a list), records the bodies it was sent, and counts words for ``/extras/tokenize``
    (one token per whitespace-separated word, after a start token, as llama-cpp-python does)."""

    url_path = "/v1"

    def __init__(
        self,
        replies: Sequence[SseReply] = (),
        *,
        answer: Callable[[dict[str, Any]], SseReply] | None = None,
        url_path: str = "/v1",
    ) -> None:
        self.replies = list(replies)
        self.answer = answer
        self.url_path = url_path
        self.bodies: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        super().__init__()

    def _next(self, body: dict[str, Any]) -> SseReply | None:
        with self._lock:
            self.bodies.append(body)
            if self.answer is not None:
                return self.answer(body)
            return self.replies.pop(0) if self.replies else None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)))
                if self.path.endswith("/tokenize"):
                    tokens = [1] * (1 + len(str(body.get("input", "")).split()))
                    self._write(200, {}, json.dumps({"tokens": tokens}).encode())
                    return
                reply = server._next(body)
                if reply is None:
                    self._write(400, {}, b'{"error": {"message": "script exhausted"}}')
                    return
                if reply.status != 200:
                    error = b'{"error": {"type": "rate_limit_error", "message": "slow down"}}'
                    self._write(reply.status, reply.headers, error)
                    return
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                for pause, event in reply.events:
                    time.sleep(pause)
                    self.wfile.write(event)
                    self.wfile.flush()

            def _write(self, status: int, headers: dict[str, str], data: bytes) -> None:
                self.send_response(status)
                self.send_header("content-type", "application/json")
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler
