"""The speed client's own overhead, against a local server that streams pre-made tokens instantly.

A raw asyncio HTTP/1.1 server (separate process, 127.0.0.1 only) answers every
``POST /v1/completions`` with ``--tokens`` SSE events and a usage event, written back to back with
no model behind them, and notes (``time.perf_counter``, CLOCK_MONOTONIC: one clock for both
processes) when it wrote the first and the last event of each request. The client is bakeoff's
own: ``HttpTarget.stream`` driven by ``speed.load.run_scenario``.

* rate: requests/s the client completes in a closed loop at ``--concurrency`` (default 64) —
  the largest request rate it can drive on this machine (the server shares the cores).
* added latency per request: client time of the first chunk − server write time of the first
  event (TTFT error) and client end of stream − server write time of the last event (E2E error),
  at the same concurrency. Both are what the client adds to any figure it reports.

Usage: ``python bench/client_overhead.py [--requests 2000] [--concurrency 64] [--tokens 32]``.
Last line: ``overhead X ms`` (median added E2E latency per request). Timings on a shared machine
are indicative.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import statistics
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bakeoff.backends.base import ModelSpec
from bakeoff.speed.load import Outcome, run_scenario
from bakeoff.speed.records import Scenario
from bakeoff.speed.targets import HttpTarget

HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
    b"transfer-encoding: chunked\r\nconnection: keep-alive\r\n\r\n"
)


def _chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def _events(n_tokens: int) -> list[bytes]:
    token = {"choices": [{"text": " tok", "index": 0, "finish_reason": None}]}
    usage = {"choices": [], "usage": {"prompt_tokens": 8, "completion_tokens": n_tokens}}
    lines = [json.dumps(token)] * n_tokens + [json.dumps(usage), "[DONE]"]
    return [_chunk(f"data: {line}\n\n".encode()) for line in lines]


async def _serve(port_out: Connection, stop: Connection, n_tokens: int) -> None:
    events = _events(n_tokens)
    instant = HEAD + b"".join(events) + _chunk(b"")
    log: dict[str, list[float]] = {}

    async def respond(prompt: str, writer: asyncio.StreamWriter) -> None:
        pace_ms = float(prompt.split(":")[0][1:]) if prompt.startswith("p") else 0.0
        if pace_ms == 0.0:
            # One write: every event leaves at once, as fast as the socket takes them.
            log[prompt] = [time.perf_counter()] * (n_tokens + 1)
            writer.write(instant)
            await writer.drain()
            return
        writer.write(HEAD)
        times = []
        for event in events[:-2]:  # token events, one every pace_ms, like a decoding server
            await asyncio.sleep(pace_ms / 1000)
            times.append(time.perf_counter())
            writer.write(event)
            await writer.drain()
        times.append(time.perf_counter())
        writer.write(events[-2] + events[-1] + _chunk(b""))
        await writer.drain()
        log[prompt] = times

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:  # keep-alive: one request after another on this connection
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            body = json.loads(await reader.readexactly(length))
            await respond(body["prompt"], writer)

    async def guarded(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await handle(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(guarded, "127.0.0.1", 0)
    port_out.send(server.sockets[0].getsockname()[1])
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, stop.recv)  # the client says when it is done
    stop.send(log)
    server.close()


def _server_main(port_out: Connection, stop: Connection, n_tokens: int) -> None:
    asyncio.run(_serve(port_out, stop, n_tokens))


async def _drive(port: int, prompts: list[str], concurrency: int, tokens: int) -> list[Outcome]:
    spec = ModelSpec.parse(f"bench=openai:bench,base_url=http://127.0.0.1:{port}/v1")
    client = HttpTarget(spec, concurrency)
    try:
        return await run_scenario(
            client.stream, prompts, Scenario(8, tokens, concurrency), n_warmup=concurrency
        )
    finally:
        await client.aclose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="instant phase")
    parser.add_argument("--paced-requests", type=int, default=256, help="paced phase")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--pace-ms", type=float, default=20.0, help="paced phase token gap")
    args = parser.parse_args(argv)
    port_in, port_out = mp.Pipe(duplex=False)
    ctl_client, ctl_server = mp.Pipe()
    server = mp.Process(target=_server_main, args=(port_out, ctl_server, args.tokens), daemon=True)
    server.start()
    try:
        if not port_in.poll(30):
            raise SystemExit("bench server did not start")
        port = port_in.recv()
        n = args.concurrency
        instant = asyncio.run(
            _drive(port, [f"i{i}" for i in range(args.requests + n)], n, args.tokens)
        )
        paced = asyncio.run(
            _drive(
                port,
                [f"p{args.pace_ms:g}:{i}" for i in range(args.paced_requests + n)],
                n,
                args.tokens,
            )
        )
        ctl_client.send("done")
        log: dict[str, list[float]] = ctl_client.recv()
    finally:
        server.join(timeout=10)
        if server.is_alive():
            server.terminate()
    return _report(args, instant, paced, log)


def _added(outcomes: list[Outcome], log: dict[str, list[float]]) -> tuple[list[float], list[float]]:
    """Per request: mean (client receipt − server write) over its token chunks, and the same for
    the end of the stream, in ms."""
    per_chunk, end = [], []
    for o in outcomes:
        if o.warmup or o.timing is None or not o.timing.chunk_times:
            continue
        written = log[o.prompt]
        gaps = [c - w for c, w in zip(o.timing.chunk_times, written, strict=False)]
        per_chunk.append(1000 * sum(gaps) / len(gaps))
        end.append(1000 * (o.timing.t_end - written[-1]))
    return per_chunk, end


def _report(
    args: argparse.Namespace,
    instant: list[Outcome],
    paced: list[Outcome],
    log: dict[str, list[float]],
) -> int:
    failed = [o for o in instant + paced if o.timing is None]
    measured = [o for o in instant if not o.warmup and o.timing is not None]
    if not measured:
        print(f"all requests failed: {failed[0].error if failed else '?'}")
        return 1
    window = max(o.timing.t_end for o in measured if o.timing) - min(
        o.t_scheduled for o in measured
    )
    rate = len(measured) / window
    _, sat_end = _added(instant, log)
    chunk, end = _added(paced, log)
    c = args.concurrency
    print(f"machine: {os.cpu_count()} cores, client and server sharing them; indicative figures")
    print(f"{len(failed)} failed requests; {args.tokens} tokens per request")
    print(f"instant server, closed loop at concurrency {c}, {len(measured)} requests:")
    print(f"  largest request rate: {rate:,.0f} requests/s ({rate * args.tokens:,.0f} tok/s),")
    print(f"  i.e. {1000 / rate:.3f} ms of client work per request")
    print(f"  added E2E latency when saturated: median {statistics.median(sat_end):.3f} ms")
    print(f"{c} streams in flight, tokens every {args.pace_ms:g} ms, {len(chunk)} requests:")
    print(f"  added latency per token chunk: median {statistics.median(chunk):.3f} ms")
    print(f"  added latency at end of stream: median {statistics.median(end):.3f} ms")
    print(f"overhead {statistics.median(chunk):.3f} ms")
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
