"""A minimal HTTP/1.1 client for timing streamed responses, on asyncio protocols (stdlib only).

Why not httpx (or the openai SDK): with a stream-based client every chunk is stamped when its
coroutine gets to run, after the event loop has resumed every other stream that became ready
before it and after that stream's own HTTP parsing — at 64 streams whose tokens arrive together
(a batching server decodes them in one step) the last one is stamped many milliseconds late
(bench/client_overhead.py; figures in docs/speed.md). Here each network read is stamped first
thing in ``data_received``, which the event loop calls for every readable socket, and only the
HTTP framing is decoded there; the waiting coroutine wakes once, when the answer is complete,
and the SSE/JSON parsing happens then, without moving any timestamp.

Supported: ``http://`` and ``https://`` (certificate verified), keep-alive, ``Content-Length``,
chunked and close-delimited bodies, informational (1xx) responses skipped. Not supported (not
needed to reach an inference server): proxies, redirects, HTTP/2, compressed bodies (none is
asked for). Where a server lives (``Endpoint``) and the blocking JSON requests that count
tokens are in :mod:`bakeoff.backends._http_json`, shared with the ``openai`` backend.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

from bakeoff.backends._http_json import USER_AGENT, Endpoint


def request_bytes(
    endpoint: Endpoint, path: str, body: bytes, headers: Mapping[str, str] | None = None
) -> bytes:
    """One ``POST`` with a JSON body, ready to write to the socket."""
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {endpoint.host_header}",
        f"User-Agent: {USER_AGENT}",
        "Content-Type: application/json",
        "Accept: text/event-stream",
        f"Content-Length: {len(body)}",
        *(f"{k}: {v}" for k, v in (headers or {}).items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class ProtocolError(Exception):
    """The server's bytes are not HTTP/1.1 as this client understands it."""


class StaleConnectionError(Exception):
    """A kept-alive connection was closed by the server before it answered."""


class ResponseParser:
    """Incremental HTTP/1.1 response parser: feed raw reads, get body bytes back.

    ``status``/``headers`` are set once the head is complete; ``done`` once the body ended
    (``eof()`` ends a close-delimited body). ``keep_alive`` says whether the connection may
    carry another request afterwards.
    """

    def __init__(self) -> None:
        self.status: int | None = None
        self.headers: dict[str, str] = {}
        self.done = False
        self.keep_alive = False
        self._buf = bytearray()
        self._mode = ""  # "chunked", "length" or "close", once the head is read
        self._remaining = 0
        self._state = "size"  # chunked: size → data → crlf → size … → trailer

    def feed(self, data: bytes) -> bytes:
        if self.done:
            if data.strip():
                raise ProtocolError("bytes after the end of the response")
            return b""
        self._buf += data
        if self.status is None and not self._head():
            return b""
        if self._mode == "chunked":
            return self._chunked()
        out = bytes(self._buf)
        self._buf.clear()
        if self._mode == "length":
            if len(out) >= self._remaining:
                out, rest = out[: self._remaining], out[self._remaining :]
                self._remaining = 0
                self.done = True
                if rest.strip():
                    raise ProtocolError("bytes after the end of the response")
            else:
                self._remaining -= len(out)
        return out

    def eof(self) -> None:
        """The server closed the connection: fine for a close-delimited body, else an error."""
        if self.done:
            return
        if self.status is not None and self._mode == "close":
            self.done = True
            return
        where = "before the response head" if self.status is None else "mid-body"
        raise ProtocolError(f"connection closed {where}")

    def _head(self) -> bool:
        while True:
            end = self._buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buf) > 65536:
                    raise ProtocolError("response head larger than 64 KiB")
                return False
            head = bytes(self._buf[:end]).decode("latin-1")
            del self._buf[: end + 4]
            status_line, *header_lines = head.split("\r\n")
            version, _, rest = status_line.partition(" ")
            if not version.startswith("HTTP/1.") or not rest[:3].isdigit():
                raise ProtocolError(f"not an HTTP/1.x response: {status_line[:80]!r}")
            status = int(rest[:3])
            if 100 <= status < 200:  # 100 Continue and friends: the real head follows
                continue
            headers: dict[str, str] = {}
            for line in header_lines:
                name, _, value = line.partition(":")
                key = name.strip().lower()
                value = value.strip()
                headers[key] = f"{headers[key]}, {value}" if key in headers else value
            self.status, self.headers = status, headers
            connection = headers.get("connection", "").lower()
            self.keep_alive = version == "HTTP/1.1" and "close" not in connection
            if "chunked" in headers.get("transfer-encoding", "").lower():
                self._mode = "chunked"
            elif "content-length" in headers:
                try:
                    self._remaining = int(headers["content-length"])
                except ValueError:
                    raise ProtocolError("bad Content-Length") from None
                self._mode = "length"
                self.done = self._remaining == 0
            else:
                self._mode = "close"
                self.keep_alive = False
            return True

    def _chunked(self) -> bytes:
        """Decode what the buffer holds; one pass with an index, the consumed part cut once."""
        buf, pos, out = self._buf, 0, []
        while True:
            if self._state == "data":
                take = min(self._remaining, len(buf) - pos)
                out.append(buf[pos : pos + take])
                pos += take
                self._remaining -= take
                if self._remaining:
                    break
                self._state = "crlf"
            if self._state == "crlf":
                if len(buf) - pos < 2:
                    break
                if buf[pos : pos + 2] != b"\r\n":
                    raise ProtocolError("chunk not followed by CRLF")
                pos += 2
                self._state = "size"
            line_end = buf.find(b"\r\n", pos)
            if line_end < 0:
                break
            line = bytes(buf[pos:line_end])
            pos = line_end + 2
            if self._state == "trailer":
                if not line:  # the empty line after the trailers ends the body
                    self.done = True
                    if buf[pos:].strip():
                        raise ProtocolError("bytes after the end of the response")
                    pos = len(buf)
                    break
                continue
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise ProtocolError(f"bad chunk size line {line[:40]!r}") from None
            if size == 0:
                self._state = "trailer"
            else:
                self._remaining, self._state = size, "data"
        del buf[:pos]
        return b"".join(out)


@dataclass(slots=True)
class Response:
    """A complete answer: status, headers, and the body as (arrival time, bytes) pieces."""

    status: int
    headers: dict[str, str]
    pieces: list[tuple[float, bytes]]
    keep_alive: bool


class Connection(asyncio.Protocol):
    """One TCP (or TLS) connection carrying one request at a time.

    Each read is stamped first thing in ``data_received`` — when the event loop hands the bytes
    over, before any coroutine (this stream's or another's) runs — and its HTTP framing decoded
    there (cheap); the body pieces keep their times. The waiting coroutine is woken once, when
    the answer is complete, so a burst of reads on many streams costs no task switches and
    nothing queued by other streams' parsing can delay a stamp.
    """

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._parser: ResponseParser | None = None
        self._pieces: list[tuple[float, bytes]] = []
        self._got_bytes = False
        self._done: asyncio.Future[Response] | None = None
        self._stray = False  # bytes arrived while no request was in flight

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    @property
    def usable(self) -> bool:
        return not self.closed and not self._stray and self._done is None

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        parser, done = self._parser, self._done
        if parser is None or done is None or done.done():
            self._stray = True
            return
        self._got_bytes = True
        try:
            body = parser.feed(data)
        except ProtocolError as exc:
            done.set_exception(exc)
            return
        if body:
            self._pieces.append((now, body))
        if parser.done:
            self._finish(parser, done)

    def eof_received(self) -> bool:
        self._closed_by_server()
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed_by_server()

    def _closed_by_server(self) -> None:
        self.closed = True
        parser, done = self._parser, self._done
        if parser is None or done is None or done.done():
            return
        if not self._got_bytes:
            done.set_exception(StaleConnectionError("closed before answering"))
            return
        try:
            parser.eof()
        except ProtocolError as exc:
            done.set_exception(exc)
            return
        self._finish(parser, done)

    def _finish(self, parser: ResponseParser, done: asyncio.Future[Response]) -> None:
        assert parser.status is not None
        done.set_result(Response(parser.status, parser.headers, self._pieces, parser.keep_alive))

    async def exchange(self, request: bytes) -> Response:
        """Write ``request`` and wait for the whole answer (its pieces stamped on arrival)."""
        if self.transport is None or not self.usable:
            raise StaleConnectionError("connection closed")
        self._parser = ResponseParser()
        self._pieces = []
        self._got_bytes = False
        done: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        self._done = done
        try:
            self.write(request)
            return await done
        finally:
            self._parser = None
            self._done = None

    def write(self, data: bytes) -> None:
        if self.transport is None or self.closed:
            raise StaleConnectionError("connection closed")
        self.transport.write(data)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


async def open_connection(endpoint: Endpoint, tls: ssl.SSLContext | None) -> Connection:
    loop = asyncio.get_running_loop()
    _, protocol = await loop.create_connection(
        Connection,
        endpoint.host,
        endpoint.port,
        ssl=tls,
        server_hostname=endpoint.host if tls is not None else None,
    )
    return protocol


class ConnectionPool:
    """Kept-alive connections to one endpoint, one request at a time on each.

    A connection the server closed while idle is detected on reuse (``StaleConnectionError`` before
    any byte of the answer) and the request is retried once on a new connection.
    """

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self._tls = ssl.create_default_context() if endpoint.scheme == "https" else None
        self._idle: list[Connection] = []
        self._all: set[Connection] = set()

    async def acquire(self) -> tuple[Connection, bool]:
        """A connection and whether it was reused."""
        while self._idle:
            conn = self._idle.pop()
            if conn.usable:
                return conn, True
            self._discard(conn)
        conn = await open_connection(self.endpoint, self._tls)
        self._all.add(conn)
        return conn, False

    async def prewarm(self, n: int) -> None:
        """Open connections until ``n`` are idle, so measured requests do not pay for connecting
        (a long-running client keeps its connections; a cold start is not what is measured)."""
        self._idle = [c for c in self._idle if c.usable]
        while len(self._idle) < n:
            conn = await open_connection(self.endpoint, self._tls)
            self._all.add(conn)
            self._idle.append(conn)

    def release(self, conn: Connection, reusable: bool) -> None:
        if reusable and conn.usable:
            self._idle.append(conn)
        else:
            self._discard(conn)

    def _discard(self, conn: Connection) -> None:
        conn.close()
        self._all.discard(conn)

    def close(self) -> None:
        for conn in list(self._all):
            self._discard(conn)
        self._idle.clear()
