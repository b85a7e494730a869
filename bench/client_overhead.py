"""The speed client's own overhead, against a local server that streams pre-made tokens instantly.

A raw asyncio HTTP/1.1 server (separate process, 127.0.0.1 only) answers every
``POST /v1/completions`` with ``--tokens`` SSE events and a usage event, with no model behind
them. It notes, on ``time.perf_counter`` (CLOCK_MONOTONIC: one clock for both processes), when
it had read each request and when it wrote each event. The client is bakeoff's own:
``HttpTarget.stream`` driven by ``speed.load.run_scenario``, exactly as ``bakeoff speed`` runs.

Two phases, both at ``--concurrency`` (default 64) requests in flight:

1. instant: every answer written at once; closed loop. Gives the largest request rate the client
   can drive here (client and server share this machine's cores) and the client's CPU time per
   request (``time.process_time``: what the client itself burns, whatever else runs here).
   Saturated, the client is the queue, so latency in this phase is queueing (Little's law).
2. paced: the same pre-made tokens, one every ``--pace-ms`` per stream (a server decoding at
   1000/pace tok/s per stream; all streams emit together, as a batching server does). The
   client is not saturated, so what it adds to each figure is its overhead:
   added TTFT = (client first-chunk time − server first write) + (server read − client t_sent),
   added E2E  = (client end time − server last write)      + (server read − client t_sent),
   i.e. client TTFT/E2E minus the server's own TTFT/E2E of that request. That splits into the
   machine's share — the kernel and, on a busy machine, waiting for a CPU: server read − client
   write, and client wakeup (``epoll`` returning, timed by an instrumented selector) − server
   write — and the client's own share: client t_sent → request written, and wakeup → chunk
   stamped. The last line reports the client's own share of the added E2E latency; the total is
   printed above it, with the run-queue wait per wakeup (``/proc/self/schedstat``) that explains
   the difference on a shared machine.

Usage: ``python bench/client_overhead.py [--requests 2000] [--concurrency 64] [--tokens 32]``.
Last line: ``overhead X ms`` (median of the client's own added E2E latency per request, paced
phase).
Figures from a shared machine are indicative; the load average is printed with them.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import multiprocessing as mp
import os
import platform
import selectors
import statistics
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bakeoff.core.model import ModelSpec
from bakeoff.core.speed_records import Scenario
from bakeoff.speed import http_wire
from bakeoff.speed.load import Outcome, run_scenario
from bakeoff.speed.targets import HttpTarget

HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
    b"transfer-encoding: chunked\r\nconnection: keep-alive\r\n\r\n"
)
Log = dict[str, tuple[float, list[float]]]  # prompt → (request read, event write times)


def _schedstat() -> tuple[int, int] | None:
    """(ns waited on a run queue, timeslices) of this process so far, where Linux says."""
    try:
        _, wait, slices = Path("/proc/self/schedstat").read_text().split()[:3]
    except (OSError, ValueError):
        return None
    return int(wait), int(slices)


def _wait_per_wakeup(start: tuple[int, int] | None, end: tuple[int, int] | None) -> str:
    if start is None or end is None or end[1] <= start[1]:
        return "n/a"
    return f"{(end[0] - start[0]) / (end[1] - start[1]) / 1e6:.3f} ms"


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
    log: Log = {}
    paced_from: list[tuple[int, int] | None] = []

    async def respond(prompt: str, received: float, writer: asyncio.StreamWriter) -> None:
        pace_ms = float(prompt.split(":")[0][1:]) if prompt.startswith("p") else 0.0
        if pace_ms and not paced_from:
            paced_from.append(_schedstat())
        if pace_ms == 0.0:
            # One write: every event leaves at once, as fast as the socket takes them.
            log[prompt] = (received, [time.perf_counter()] * (n_tokens + 1))
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
        log[prompt] = (received, times)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:  # keep-alive: one request after another on this connection
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            body = json.loads(await reader.readexactly(length))
            await respond(body["prompt"], time.perf_counter(), writer)

    async def guarded(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await handle(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(guarded, "127.0.0.1", 0, backlog=1024)
    port_out.send(server.sockets[0].getsockname()[1])
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, stop.recv)  # the client says when it is done
    stop.send((log, _wait_per_wakeup(paced_from[0] if paced_from else None, _schedstat())))
    server.close()


def _server_main(port_out: Connection, stop: Connection, n_tokens: int) -> None:
    asyncio.run(_serve(port_out, stop, n_tokens))


class _TimedSelector(selectors.DefaultSelector):  # type: ignore[misc,valid-type]
    """The event loop's selector, noting when each ``select`` returned (the loop woke up)."""

    def __init__(self, wakeups: list[float]) -> None:
        super().__init__()
        self.wakeups = wakeups

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = super().select(timeout)
        self.wakeups.append(time.perf_counter())
        return ready


class _Client:
    """The bench's view of the client: outcomes, loop wakeups, and when each request was
    written to its socket (``Connection.write`` wrapped; the prompt is read back from the
    bytes after the write, so the wrapper never delays it)."""

    def __init__(self) -> None:
        self.wakeups: list[float] = []
        self.written: dict[str, float] = {}
        original = http_wire.Connection.write

        def write(conn: http_wire.Connection, data: bytes) -> None:
            now = time.perf_counter()
            original(conn, data)
            self.written[json.loads(data.split(b"\r\n\r\n", 1)[1])["prompt"]] = now

        http_wire.Connection.write = write  # type: ignore[method-assign]

    def run(
        self, port: int, prompts: list[str], concurrency: int, tokens: int
    ) -> tuple[list[Outcome], float]:
        loop = asyncio.SelectorEventLoop(_TimedSelector(self.wakeups))
        try:
            return loop.run_until_complete(_drive(port, prompts, concurrency, tokens))
        finally:
            loop.close()

    def woke(self, t: float) -> float:
        """The loop's last wakeup at or before ``t``."""
        i = bisect.bisect_right(self.wakeups, t)
        return self.wakeups[i - 1] if i else t


async def _drive(
    port: int, prompts: list[str], concurrency: int, tokens: int
) -> tuple[list[Outcome], float]:
    """Outcomes, and the client's CPU seconds over the measured (non-warm-up) requests."""
    spec = ModelSpec.parse(f"bench=openai:bench,base_url=http://127.0.0.1:{port}/v1")
    client = HttpTarget(spec, concurrency)
    scenario = Scenario(8, tokens, concurrency)
    try:
        # Warm-up first, on its own: it opens the connections the measured requests reuse.
        warm = await run_scenario(client.stream, prompts[:concurrency], scenario, concurrency)
        cpu = time.process_time()
        measured = await run_scenario(client.stream, prompts[concurrency:], scenario, 0)
        return warm + measured, time.process_time() - cpu
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
    load_before = os.getloadavg()
    port_in, port_out = mp.Pipe(duplex=False)
    ctl_client, ctl_server = mp.Pipe()
    server = mp.Process(target=_server_main, args=(port_out, ctl_server, args.tokens), daemon=True)
    server.start()
    try:
        if not port_in.poll(30):
            raise SystemExit("bench server did not start")
        port = port_in.recv()
        n = args.concurrency
        client = _Client()
        instant, cpu = client.run(port, [f"i{i}" for i in range(args.requests + n)], n, args.tokens)
        pace = f"p{args.pace_ms:g}"
        before = _schedstat()
        paced, _ = client.run(
            port, [f"{pace}:{i}" for i in range(args.paced_requests + n)], n, args.tokens
        )
        client_wait = _wait_per_wakeup(before, _schedstat())
        ctl_client.send("done")
        log, server_wait = ctl_client.recv()
    finally:
        server.join(timeout=10)
        if server.is_alive():
            server.terminate()
    load = (load_before, os.getloadavg())
    return _report(args, instant, paced, log, cpu, load, (client_wait, server_wait), client)


def _added(outcomes: list[Outcome], log: Log, client: _Client) -> dict[str, list[float]]:
    """Per measured request, in ms: added TTFT and E2E, and their parts (module docstring)."""
    keys = ("ttft", "e2e", "chunk", "to_server", "to_client", "own_send", "own_recv", "own")
    out: dict[str, list[float]] = {k: [] for k in keys}
    for o in outcomes:
        if o.warmup or o.timing is None or not o.timing.chunk_times:
            continue
        received, written = log[o.prompt]
        t = o.timing
        sent = received - t.t_sent  # client t_sent → server has read the request
        out["ttft"].append(1000 * (t.chunk_times[0] - written[0] + sent))
        out["e2e"].append(1000 * (t.t_end - written[-1] + sent))
        gaps = [c - w for c, w in zip(t.chunk_times, written, strict=False)]
        out["chunk"].append(1000 * sum(gaps) / len(gaps))
        wrote = client.written[o.prompt]
        woke = client.woke(t.t_end)
        out["to_server"].append(1000 * (received - wrote))
        out["to_client"].append(1000 * (woke - written[-1]))
        out["own_send"].append(1000 * (wrote - t.t_sent))
        out["own_recv"].append(1000 * (t.t_end - woke))
        out["own"].append(1000 * (wrote - t.t_sent + t.t_end - woke))
    return out


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} ms" if values else "n/a"


def _report(
    args: argparse.Namespace,
    instant: list[Outcome],
    paced: list[Outcome],
    log: Log,
    cpu: float,
    load: tuple[tuple[float, float, float], tuple[float, float, float]],
    waits: tuple[str, str],
    client: _Client,
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
    saturated = _added(instant, log, client)
    a = _added(paced, log, client)
    c = args.concurrency
    print(
        f"machine: {os.cpu_count()} cores ({platform.machine()}, {platform.processor() or '?'}), "
        "client and server sharing them; indicative figures"
    )
    print(f"load average (1 min) before/after: {load[0][0]:.1f} / {load[1][0]:.1f}")
    print(f"{len(failed)} failed requests; {args.tokens} tokens per request")
    print(f"instant server, closed loop at concurrency {c}, {len(measured)} requests:")
    print(f"  largest request rate: {rate:,.0f} requests/s ({rate * args.tokens:,.0f} tok/s)")
    print(f"  client CPU per request: {1000 * cpu / len(measured):.3f} ms")
    print(f"  saturated, the client is the queue: E2E added median {_median(saturated['e2e'])}")
    print(f"{c} streams in flight, tokens every {args.pace_ms:g} ms, {len(a['e2e'])} requests:")
    print(f"  added TTFT per request: median {_median(a['ttft'])}")
    print(f"  added E2E per request: median {_median(a['e2e'])}")
    print(f"  token chunk stamped after its write: median {_median(a['chunk'])}")
    print(
        f"  machine's share: request to server {_median(a['to_server'])}, "
        f"last event to client wakeup {_median(a['to_client'])}"
    )
    print(f"  run-queue wait per wakeup (schedstat): client {waits[0]}, server {waits[1]}")
    print(
        f"  client's own share: t_sent → written {_median(a['own_send'])}, "
        f"wakeup → end stamped {_median(a['own_recv'])}"
    )
    if not a["own"]:
        print("no paced request finished")
        return 1
    print(f"overhead {statistics.median(a['own']):.3f} ms")
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
