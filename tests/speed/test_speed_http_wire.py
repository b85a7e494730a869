"""The speed client's HTTP/1.1 response parser, fed the bytes split at every possible boundary
(as network reads deliver them), and its endpoint parsing."""

from __future__ import annotations

import pytest

from bakeoff.backends._http_json import Endpoint
from bakeoff.core.errors import ConfigError
from bakeoff.speed.http_wire import ProtocolError, ResponseParser, request_bytes

BODY = b'data: {"choices": [{"text": "h\xc3\xa9"}]}\n\ndata: [DONE]\n\n'


def _chunked(body: bytes, sizes: tuple[int, ...]) -> bytes:
    out, at = b"", 0
    for i, size in enumerate(sizes):
        part = body[at : at + size]
        at += size
        ext = b";name=x" if i == 0 else b""  # chunk extensions are allowed and ignored
        out += f"{len(part):X}".encode() + ext + b"\r\n" + part + b"\r\n"
    return out + b"0\r\nx-trailer: 1\r\n\r\n"


def _feed_all_splits(raw: bytes) -> list[tuple[ResponseParser, bytes]]:
    """Parse ``raw`` cut into two reads at every position, and into one read per byte."""
    results = []
    cuts = [[raw[:i], raw[i:]] for i in range(len(raw) + 1)]
    cuts.append([raw[i : i + 1] for i in range(len(raw))])
    for reads in cuts:
        parser = ResponseParser()
        body = b"".join(parser.feed(r) for r in reads)
        results.append((parser, body))
    return results


def test_chunked_body_survives_every_split() -> None:
    raw = (
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
        + _chunked(BODY, (7, 30, len(BODY) - 37))
    )
    for parser, body in _feed_all_splits(raw):
        assert parser.status == 200  # the 100 Continue head was skipped
        assert parser.headers["content-type"] == "text/event-stream"
        assert body == BODY
        assert parser.done
        assert parser.keep_alive


def test_content_length_and_close_delimited_bodies() -> None:
    raw = b"HTTP/1.1 503 Busy\r\nContent-Length: 5\r\nConnection: close\r\n\r\nslow!"
    for parser, body in _feed_all_splits(raw):
        assert (parser.status, body, parser.done, parser.keep_alive) == (503, b"slow!", True, False)
    parser = ResponseParser()
    assert parser.feed(b"HTTP/1.0 200 OK\r\n\r\nsome") == b"some"
    assert parser.feed(b" more") == b" more"
    assert not parser.done
    parser.eof()  # no length and no chunking: the body ends when the server closes
    assert parser.done
    assert not parser.keep_alive


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"SSH-2.0-OpenSSH\r\n\r\n", "not an HTTP/1.x response"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "bad chunk size"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY", "not followed by CRLF"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nabc", "bytes after the end"),
    ],
)
def test_malformed_responses_are_protocol_errors(raw: bytes, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        ResponseParser().feed(raw)


def test_connection_closed_mid_body_is_an_error() -> None:
    parser = ResponseParser()
    parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
    with pytest.raises(ProtocolError, match="mid-body"):
        parser.eof()
    with pytest.raises(ProtocolError, match="before the response head"):
        ResponseParser().eof()


def test_endpoint_and_request_bytes() -> None:
    endpoint = Endpoint.parse("https://example.org/v1/")
    assert (endpoint.host, endpoint.port, endpoint.prefix) == ("example.org", 443, "/v1")
    assert endpoint.root == "https://example.org"
    local = Endpoint.parse("http://[::1]:8080/v1")
    assert local.host_header == "[::1]:8080"
    request = request_bytes(local, "/v1/completions", b'{"a": 1}', {"Authorization": "Bearer k"})
    head, body = request.split(b"\r\n\r\n")
    assert head.split(b"\r\n")[0] == b"POST /v1/completions HTTP/1.1"
    assert b"Host: [::1]:8080" in head
    assert b"Content-Length: 8" in head
    assert b"Authorization: Bearer k" in head
    assert body == b'{"a": 1}'
    for bad in ("ftp://x", "http://", "http://host:port/v1"):
        with pytest.raises(ConfigError, match="base_url"):
            Endpoint.parse(bad)
