"""The HTTP path end to end against a small real server on loopback (no model needed):
prompt building via the tokenize endpoint, streaming, token counts, failures counted apart."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bakeoff.backends.base import ModelSpec
from bakeoff.speed.lab import SpeedConfig, run_speed
from bakeoff.speed.metrics import request_metrics, summarize
from bakeoff.storage.speed_store import SpeedStore
from bakeoff.storage.sqlite import SqliteStore

TOKEN_GAP = 0.01


class FakeServer:
    """``/extras/tokenize``: BOS + one token per word. ``/v1/completions``: five one-word
    tokens ``TOKEN_GAP`` apart, no usage; every third completion answers HTTP 500."""

    def __init__(self) -> None:
        self.port = 0
        self.completions = 0
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> FakeServer:
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode()
                length = int(head.lower().split("content-length:")[1].split("\r\n")[0])
                body = json.loads(await reader.readexactly(length))
                path = head.split(" ")[1]
                if path == "/extras/tokenize":
                    tokens = [1] * (len(body["input"].split()) + 1)
                    self._send_json(writer, 200, {"tokens": tokens})
                else:
                    await self._complete(writer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    @staticmethod
    def _send_json(writer: asyncio.StreamWriter, status: int, payload: object) -> None:
        data = json.dumps(payload).encode()
        writer.write(
            f"HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n"
            f"content-length: {len(data)}\r\n\r\n".encode()
            + data
        )

    async def _complete(self, writer: asyncio.StreamWriter) -> None:
        self.completions += 1
        if self.completions % 3 == 0:
            self._send_json(writer, 500, {"error": "overloaded"})
            return
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                     b"transfer-encoding: chunked\r\n\r\n")  # fmt: skip
        for i in range(5):
            await asyncio.sleep(TOKEN_GAP)
            event = json.dumps({"choices": [{"text": f" w{i}"}]})
            writer.write(_chunk(f"data: {event}\n\n".encode()))
            await writer.drain()
        writer.write(_chunk(b"data: [DONE]\n\n") + _chunk(b""))


def _chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


@pytest.fixture
def fake_server() -> Iterator[FakeServer]:
    pytest.importorskip("httpx", reason="needs pip install 'bakeoff[speed]'")
    with FakeServer() as server:
        yield server


def test_http_speed_run_counts_tokens_and_failures(fake_server: FakeServer, tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.db")
    speed = SpeedStore(store)
    spec = ModelSpec.parse(f"fake=openai:m,base_url=http://127.0.0.1:{fake_server.port}/v1")
    config = SpeedConfig(models=(spec,), concurrency=(1, 3), prompt_lengths=(16,),
                         output_tokens=5, requests=6, warmup=0)  # fmt: skip
    records = speed.records(run_speed(config, speed))
    store.close()
    assert len(records) == 12
    assert fake_server.completions == 12
    failed = [r for r in records if r.status == "failed"]
    assert len(failed) == 4  # every third completion
    assert all(r.error is not None and "HTTP 500" in r.error for r in failed)
    ok = [r for r in records if r.status == "ok"]
    for r in ok:
        # No usage in the stream: counted by the server's tokenizer (BOS subtracted).
        assert r.output_tokens == 5
        assert r.prompt_tokens == 16  # the synthetic prompt has exactly 16 one-token words
        m = request_metrics(r)
        assert len(m.itls) == 4  # the first token is TTFT's, not an inter-token latency
        assert sum(m.itls) == pytest.approx(r.chunk_times[-1] - r.chunk_times[0])
        # Causal bounds only (a loaded machine may bunch chunks together): the server sleeps
        # TOKEN_GAP before each token, so nothing can arrive earlier than that.
        assert m.server_ttft >= TOKEN_GAP
        assert m.e2e >= 5 * TOKEN_GAP
    for concurrency in (1, 3):
        summary = summarize([r for r in records if r.scenario.concurrency == concurrency], {})
        assert summary.n_ok + summary.n_failed == 6
        assert summary.output_tokens == 5 * summary.n_ok
