"""The HTTP path end to end against a small real server on loopback (no model needed):
prompt building via the tokenize endpoint, streaming, token counts, failures counted apart,
chat deltas with reasoning, stale keep-alive connections, timeouts and mid-stream errors."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bakeoff.core.model import ModelSpec
from bakeoff.core.speed_records import SpeedRecord
from bakeoff.speed.lab import SpeedConfig, run_speed
from bakeoff.speed.metrics import request_metrics, summarize
from bakeoff.storage.speed_store import SpeedStore
from bakeoff.storage.sqlite import SqliteStore

TOKEN_GAP = 0.01


class FakeServer:
    """``/extras/tokenize``: BOS + one token per word. Completions behave by ``model``:

    * ``m``: five one-word tokens ``TOKEN_GAP`` apart, no usage; every third answers HTTP 500;
    * ``think`` (chat only): a role-only delta, two ``reasoning_content`` deltas, three
      ``content`` deltas, then usage (5 completion tokens);
    * ``stale``: a kept-alive connection answers only its first completion; later requests on
      it are read and the connection is closed unanswered (a server's idle timeout racing the
      client's reuse);
    * ``hang``: never answers;
    * ``midfail``: two tokens, then an error event;
    * ``echokey``: quotes the request's Authorization header back, as careless servers do: in
      an HTTP 401 body (every third request), in an error event mid-stream (every third), or
      not at all (five tokens).
    """

    def __init__(self) -> None:
        self.port = 0
        self.completions = 0
        self.connections = 0
        self.paths: list[str] = []
        self.authorizations: list[str] = []  # the Authorization header of every completion
        self.first_write: dict[str, float] = {}  # prompt → when its first generated delta left
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
        self.connections += 1
        answered = 0
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode()
                length = int(head.lower().split("content-length:")[1].split("\r\n")[0])
                body = json.loads(await reader.readexactly(length))
                path = head.split(" ")[1]
                self.paths.append(path)
                headers = {
                    k.strip().lower(): v.strip()
                    for k, _, v in (line.partition(":") for line in head.split("\r\n")[1:])
                    if k
                }
                if path == "/extras/tokenize":
                    tokens = [1] * (len(body["input"].split()) + 1)
                    self._send_json(writer, 200, {"tokens": tokens})
                elif body["model"] == "stale" and answered:
                    writer.close()
                    return
                else:
                    answered += 1
                    await self._complete(writer, body, path, headers.get("authorization", ""))
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

    async def _complete(
        self, writer: asyncio.StreamWriter, body: dict[str, object], path: str, auth: str
    ) -> None:
        self.completions += 1
        self.authorizations.append(auth)
        model = body["model"]
        if model == "hang":
            await asyncio.sleep(3600)
        if model == "m" and self.completions % 3 == 0:
            self._send_json(writer, 500, {"error": "overloaded"})
            return
        if model == "echokey" and self.completions % 3 == 1:
            self._send_json(writer, 401, {"error": {"message": f"key not accepted: {auth}"}})
            return
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                     b"transfer-encoding: chunked\r\n\r\n")  # fmt: skip
        events: list[dict[str, object]]
        if model == "think":
            assert path == "/v1/chat/completions"
            assert body["messages"] == [{"role": "user", "content": body_prompt(body)}]
            deltas = [{"role": "assistant"}, {"reasoning_content": " r0"},
                      {"reasoning_content": " r1"}, {"content": " c0"}, {"content": " c1"},
                      {"content": " c2"}]  # fmt: skip
            events = [{"choices": [{"delta": d, "index": 0}]} for d in deltas]
            events.append({"choices": [], "usage": {"prompt_tokens": 21, "completion_tokens": 5}})
        elif model == "midfail":
            events = [{"choices": [{"text": " w0"}]}, {"choices": [{"text": " w1"}]},
                      {"error": {"message": "out of memory"}}]  # fmt: skip
        elif model == "echokey" and self.completions % 3 == 2:
            events = [{"choices": [{"text": " w0"}]}, {"error": {"message": f"bad {auth}"}}]
        else:
            events = [{"choices": [{"text": f" w{i}"}]} for i in range(5)]
        prompt = body_prompt(body)
        for event in events:
            await asyncio.sleep(TOKEN_GAP)
            if prompt not in self.first_write and "role" not in str(event):
                self.first_write[prompt] = time.perf_counter()
            writer.write(_chunk(f"data: {json.dumps(event)}\n\n".encode()))
            await writer.drain()
        writer.write(_chunk(b"data: [DONE]\n\n") + _chunk(b""))


def body_prompt(body: dict[str, object]) -> str:
    if "prompt" in body:
        return str(body["prompt"])
    messages = body["messages"]
    assert isinstance(messages, list)
    return str(messages[0]["content"])


def _chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


@pytest.fixture
def fake_server() -> Iterator[FakeServer]:
    with FakeServer() as server:
        yield server


def _run(tmp_path: Path, spec: str, **config: object) -> list[SpeedRecord]:
    store = SqliteStore(tmp_path / "s.db")
    speed = SpeedStore(store)
    settings: dict[str, object] = {"concurrency": (1,), "prompt_lengths": (16,),
                                   "output_tokens": (5,), "requests": 4, "warmup": 0}  # fmt: skip
    settings.update(config)
    records = speed.records(
        run_speed(SpeedConfig(models=(ModelSpec.parse(spec),), **settings), speed)
    )  # type: ignore[arg-type]
    store.close()
    return sorted(records, key=lambda r: (r.scenario.concurrency, r.index))


def test_http_speed_run_counts_tokens_and_failures(fake_server: FakeServer, tmp_path: Path) -> None:
    spec = f"fake=openai:m,base_url=http://127.0.0.1:{fake_server.port}/v1"
    records = _run(tmp_path, spec, concurrency=(1, 3), requests=6)
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
        assert r.server["usage_from_server"] is False
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
    # Keep-alive: 12 completions (failures included) and the tokenizer's calls over at most
    # one connection per concurrent stream plus the tokenizer's own.
    assert fake_server.connections <= 3 + 1


def test_chat_reasoning_tokens_count_for_ttft(fake_server: FakeServer, tmp_path: Path) -> None:
    spec = f"openai:think,api=chat,base_url=http://127.0.0.1:{fake_server.port}/v1"
    records = _run(tmp_path, spec)
    assert all(r.status == "ok" for r in records), [r.error for r in records]
    assert "/v1/chat/completions" in fake_server.paths
    for r in records:
        assert r.output_tokens == 5  # the server's usage: reasoning tokens included
        assert r.prompt_tokens == 21  # usage wins over the tokenizer (16 + chat template)
        assert r.server["usage_from_server"] is True
        assert (
            len(r.chunk_times) == 5
        )  # two reasoning + three content deltas; the role delta is none
        # Order only (a loaded machine may deliver several deltas in one read): the first
        # chunk is the first reasoning delta; test_speed_sse.py checks its time exactly.
        assert r.chunk_times == tuple(sorted(r.chunk_times))
        assert request_metrics(r).server_ttft >= TOKEN_GAP


def test_stale_keep_alive_connection_is_retried_fresh(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    spec = f"openai:stale,base_url=http://127.0.0.1:{fake_server.port}/v1"
    records = _run(tmp_path, spec)
    assert [r.status for r in records] == ["ok"] * 4, [r.error for r in records]
    assert fake_server.completions == 4  # each answered once, on a fresh connection
    assert fake_server.connections == 4 + 1  # + the tokenizer's


def test_timeout_and_mid_stream_error_are_failures(fake_server: FakeServer, tmp_path: Path) -> None:
    port = fake_server.port
    hang = _run(
        tmp_path, f"openai:hang,timeout=0.3,base_url=http://127.0.0.1:{port}/v1", requests=2
    )
    assert [r.status for r in hang] == ["failed", "failed"]
    assert all("no complete answer within 0.3 s" in (r.error or "") for r in hang)
    (tmp_path / "s.db").unlink()
    mid = _run(tmp_path, f"openai:midfail,base_url=http://127.0.0.1:{port}/v1", requests=2)
    assert [r.status for r in mid] == ["failed", "failed"]
    assert all("server error mid-stream" in (r.error or "") and "out of memory" in (r.error or "")
               for r in mid)  # fmt: skip


def test_unreachable_server_is_a_one_line_error(tmp_path: Path) -> None:
    from tests.helpers import run_cli

    result = run_cli("speed", "-m", "openai:m,base_url=http://127.0.0.1:9/v1", "--db", "s.db",
                     cwd=tmp_path)  # fmt: skip
    assert result.returncode == 2
    assert "cannot reach http://127.0.0.1:9" in result.stderr
    assert "Traceback" not in result.stderr


ENV_SECRET = "sk-FAKE-speed-env-5c2e81d7"
KEYRING_SECRET = "sk-FAKE-speed-keyring-93ab04f6"


def test_fake_keys_appear_in_no_file_a_speed_run_writes(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    """One key from the environment, one from a keyring; the server quotes the key back in
    error answers (an HTTP 401 body, an error event mid-stream). The run, its report and
    ``--show`` write nothing that contains either key; HOME and TMPDIR point inside the folder
    searched, so whatever the commands write lands there."""
    from tests.helpers import run_cli, sealed_env

    work, env = sealed_env(tmp_path, {"bakeoff/BAKEOFF_SPEED_RING_KEY": KEYRING_SECRET})
    env["BAKEOFF_SPEED_ENV_KEY"] = ENV_SECRET
    base = f"base_url=http://127.0.0.1:{fake_server.port}/v1"
    commands = [
        ("speed", "-m", f"e=openai:echokey,{base},api_key_env=BAKEOFF_SPEED_ENV_KEY",
         "-m", f"k=openai:echokey,{base},api_key_env=BAKEOFF_SPEED_RING_KEY",
         "--prompt-lengths", "16", "--output-tokens", "5", "--requests", "6", "--warmup", "1",
         "--db", "s.db", "--report", "run"),
        ("speed", "--show", "--db", "s.db", "--report", "show"),
    ]  # fmt: skip
    for index, command in enumerate(commands):
        done = run_cli(*command, cwd=work, env=env)
        (work / f"command{index}.out").write_text(done.stdout + done.stderr)
        assert done.returncode == 0, done.stderr
    # Both keys really went out (so the server could, and did, quote them back)...
    assert set(fake_server.authorizations) == {f"Bearer {ENV_SECRET}", f"Bearer {KEYRING_SECRET}"}
    with sqlite3.connect(work / "s.db") as conn:
        (work / "db.dump").write_text("\n".join(conn.iterdump()))
        errors = [e for (e,) in conn.execute("SELECT error FROM speed_requests") if e]
    # ...the quotes were stored as failures, with the key replaced...
    assert len(errors) == 2 * 5  # 2 × 7 requests (warm-up included): 2 of every 3 echo the key
    assert all("[redacted]" in e for e in errors), errors
    assert any("HTTP 401" in e for e in errors)
    assert any("mid-stream" in e for e in errors)
    # ...and no file the commands wrote holds either key.
    files = [p for p in work.rglob("*") if p.is_file()]
    assert {"s.db", "run.md", "run.html", "show.md", "db.dump"} <= {p.name for p in files}
    leaks = [
        str(p) for p in files for s in (ENV_SECRET, KEYRING_SECRET) if s.encode() in p.read_bytes()
    ]
    assert leaks == []
