"""A small threaded HTTP proxy that injects faults between a client and an upstream server.

Every ``every``-th POST (starting with the ``first``-th) gets a fault, cycling through
``kinds``: ``429`` (with ``Retry-After: 0``), ``500``, ``drop`` (connection closed with no
response), ``stall`` (200 headers of an event stream, then silence until the client gives up)
and ``cut`` (the upstream response is relayed, but the connection is closed half-way through
its first chunk: a stream that ends early without an error). ``400`` (a client error, not
retried) is available but not in the default cycle.
Other requests are forwarded verbatim (streams are relayed as they arrive).

``max_active`` records the most POSTs open at once (the client's real concurrency).

Two extra modes for tests of hostile servers: ``tamper_echo`` rewrites the prompt
log-probabilities of echo requests to -11 (the llama-cpp-python no-BOS bug), and
``reflect_auth`` answers 401 with the received Authorization header in the error message.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlparse

from tests.helpers_servers import LoopbackServer

FAULT_KINDS = ("429", "500", "drop", "stall", "cut")


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (its timeout, a retry) closes the socket mid-relay: expected.
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FaultProxy(LoopbackServer):
    url_path = "/v1"
    server_class = _QuietServer

    def __init__(
        self,
        upstream: str,
        *,
        every: int = 5,
        first: int = 2,
        kinds: Sequence[str] = FAULT_KINDS,
        stall_seconds: float = 30.0,
        tamper_echo: bool = False,
        reflect_auth: bool = False,
        on_headers: Callable[[dict[str, str]], None] | None = None,
    ) -> None:
        parsed = urlparse(upstream)
        self.upstream_host = parsed.hostname or "127.0.0.1"
        self.upstream_port = parsed.port or 80
        self.every = every
        self.first = first
        self.kinds = tuple(kinds)
        self.stall_seconds = stall_seconds
        self.tamper_echo = tamper_echo
        self.reflect_auth = reflect_auth
        self.on_headers = on_headers
        self.posts = 0
        self.active = 0
        self.max_active = 0
        """Most POSTs open at once: how many requests the client really had in flight."""
        self.faults: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        super().__init__()

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()

    def _next_fault(self) -> str | None:
        with self._lock:
            self.posts += 1
            n = self.posts
            if not self.kinds or n < self.first or (n - self.first) % self.every:
                return None
            kind = self.kinds[((n - self.first) // self.every) % len(self.kinds)]
            self.faults[kind] += 1
            return kind

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # one request per connection: close-delimited bodies

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._forward(b"")

            def do_POST(self) -> None:
                with proxy._lock:
                    proxy.active += 1
                    proxy.max_active = max(proxy.max_active, proxy.active)
                try:
                    self._post()
                finally:
                    with proxy._lock:
                        proxy.active -= 1

            def _post(self) -> None:
                if proxy.on_headers is not None:
                    proxy.on_headers({k.lower(): v for k, v in self.headers.items()})
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                if proxy.reflect_auth:
                    auth = self.headers.get("authorization", "")
                    self._json(401, {"error": {"message": f"invalid key: {auth}"}})
                    return
                fault = proxy._next_fault()
                if fault == "429":
                    self._json(429, {"error": {"message": "slow down"}}, {"Retry-After": "0"})
                elif fault == "400":
                    self._json(400, {"error": {"message": "injected bad request"}})
                elif fault == "500":
                    self._json(500, {"error": {"message": "injected server error"}})
                elif fault == "drop":
                    self.close_connection = True
                    self.connection.close()
                elif fault == "stall":
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.end_headers()
                    self.wfile.flush()
                    proxy._stop.wait(proxy.stall_seconds)
                    self.close_connection = True
                elif fault == "cut":
                    self._forward(body, cut=True)
                else:
                    self._forward(body)

            def _json(
                self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
            ) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def _forward(self, body: bytes, cut: bool = False) -> None:
                conn = http.client.HTTPConnection(
                    proxy.upstream_host, proxy.upstream_port, timeout=120
                )
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() not in ("host", "connection", "content-length")
                }
                headers["Connection"] = "close"
                conn.request(self.command, self.path, body=body or None, headers=headers)
                response = conn.getresponse()
                tamper = proxy.tamper_echo and bool(body) and json.loads(body).get("echo") is True
                if tamper:
                    payload = json.loads(response.read())
                    for choice in payload.get("choices", []):
                        values = choice.get("logprobs", {}).get("token_logprobs", [])
                        choice["logprobs"]["token_logprobs"] = [
                            None if v is None else -11.0 for v in values
                        ]
                    self._json(response.status, payload)
                    conn.close()
                    return
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in (
                        "transfer-encoding",
                        "connection",
                        "content-length",
                        "date",
                        "server",
                    ):
                        self.send_header(key, value)
                self.end_headers()
                while True:
                    chunk = response.read1(65536)
                    if not chunk:
                        break
                    if cut:
                        self.wfile.write(chunk[: max(1, len(chunk) // 2)])
                        self.wfile.flush()
                        self.close_connection = True
                        break
                    self.wfile.write(chunk)
                    self.wfile.flush()
                conn.close()

        return Handler


@contextmanager
def fault_proxy(upstream: str, **kwargs: Any) -> Iterator[FaultProxy]:
    proxy = FaultProxy(upstream, **kwargs).start()
    try:
        yield proxy
    finally:
        proxy.stop()
