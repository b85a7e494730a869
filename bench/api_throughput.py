"""Requests/s and the latency bakeoff's API backend adds, at concurrency 1, 16 and 64.

Starts llama-cpp-python's OpenAI-compatible server on the bundled Gemma model (127.0.0.1, a
free port), wrapped in an ASGI middleware that notes, for every POST, when the server got the
request and when it sent the last byte of the answer (``time.monotonic``). bakeoff's
``openai`` backend then sends ``--requests`` short completions per level through
``OpenAICompatBackend.submit`` (what the runner calls), and for each request compares its own
duration (from just before the SDK call to the end of the stream) with the server's:

* requests/s: client completions per second of wall time, next to the server's own rate
  (requests over the span from its first arrival to its last answer);
* added latency: client duration − server duration, per request (median and p95): what the
  SDK, the event loop, the semaphore and loopback HTTP add to every request.

llama-cpp-python's server runs one request at a time, so at 16 and 64 requests queue inside
it: both durations include that wait and the difference stays the client's own cost.

``--instant`` swaps the model server for one that answers every request at once with four
ready-made tokens (same timing middleware): what is left is the client's own cost, plus
uvicorn's, with no model competing for the cores.

Usage: ``python bench/api_throughput.py [--instant] [--requests N] [--max-tokens 4]
[--levels 1,16,64]``.
Figures on a shared 2-core machine are indicative.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bakeoff.backends.models import resolve_model_path
from bakeoff.backends.openai_compat import OpenAICompatBackend
from bakeoff.core.model import ModelSpec
from bakeoff.core.types import GenerateRequest, GenerationResult, GenerationSettings


class ServerTiming:
    """ASGI middleware: one JSON line per POST with the prompt and the server's own times."""

    def __init__(self, app: Any, log: Path) -> None:
        self.app = app
        self.log = log.open("a", buffering=1)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        start = time.monotonic()
        body = bytearray()

        async def receive_body() -> Any:
            message = await receive()
            if message["type"] == "http.request":
                body.extend(message.get("body", b""))
            return message

        async def send_timed(message: Any) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                prompt = json.loads(bytes(body) or b"{}").get("prompt")
                record = {"prompt": prompt, "start": start, "end": time.monotonic()}
                self.log.write(json.dumps(record) + "\n")

        await self.app(scope, receive_body, send_timed)


async def instant_app(scope: Any, receive: Any, send: Any) -> None:
    """No model: every completion streams 4 ready-made tokens at once (isolates the client)."""
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    if scope.get("method") == "GET":
        body = json.dumps({"object": "list", "data": [{"id": "instant", "object": "model"}]})
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body.encode()})
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/event-stream")],
        }
    )
    token = {"id": "x", "object": "text_completion", "created": 0, "model": "instant"}
    events = [{**token, "choices": [{"index": 0, "text": " tok", "finish_reason": None}]}] * 4
    events.append({**token, "choices": [{"index": 0, "text": "", "finish_reason": "length"}]})
    data = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
    await send({"type": "http.response.body", "body": data.encode()})


def serve(port: int, log: Path, instant: bool) -> None:
    import uvicorn

    if instant:
        app: Any = ServerTiming(instant_app, log)
    else:
        from llama_cpp.server.app import create_app
        from llama_cpp.server.settings import ModelSettings, ServerSettings

        model = ModelSettings(
            model=str(resolve_model_path("gemma3-270m")),
            n_ctx=2048,
            chat_format="gemma",
            verbose=False,
        )
        server = ServerSettings(host="127.0.0.1", port=port, interrupt_requests=False)
        app = ServerTiming(create_app(server_settings=server, model_settings=[model]), log)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def _free_port() -> int:
    from tests.helpers_servers import free_port

    return free_port()


def _start_server(log: Path, instant: bool) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    extra = ["--instant"] if instant else []
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port), "--timing-log", str(log), *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base_url}/models", timeout=2):
                return process, base_url
        except OSError:
            time.sleep(0.25)
    process.kill()
    raise SystemExit("server did not start")


def _server_times(log: Path, prompts: set[str]) -> dict[str, tuple[float, float]]:
    found = {}
    for line in log.read_text().splitlines():
        record = json.loads(line)
        if record["prompt"] in prompts:
            found[record["prompt"]] = (record["start"], record["end"])
    return found


def _level(base_url: str, log: Path, concurrency: int, n: int, max_tokens: int) -> str:
    spec = ModelSpec.parse(
        f"b=openai:gemma3-270m,base_url={base_url},api=completions,repeat_penalty=1.0,"
        f"concurrency={concurrency},timeout=600"
    )
    settings = GenerationSettings(max_tokens=max_tokens)
    prompts = [f"Request {concurrency}-{i}. Q: What is {i} + {concurrency}?\nA:" for i in range(n)]
    backend = OpenAICompatBackend(spec)
    try:
        start = time.monotonic()
        outcomes = backend.submit([GenerateRequest(p, settings) for p in prompts]).result()
        wall = time.monotonic() - start
    finally:
        backend.close()
    time.sleep(0.2)  # the middleware writes its last line just after the stream ends
    server = _server_times(log, set(prompts))
    added, failed = [], 0
    for prompt, outcome in zip(prompts, outcomes, strict=True):
        if not isinstance(outcome, GenerationResult) or prompt not in server:
            failed += 1
            continue
        client = (outcome.usage.prompt_seconds or 0.0) + (outcome.usage.output_seconds or 0.0)
        added.append(client - (server[prompt][1] - server[prompt][0]))
    spans = list(server.values())
    server_rate = len(spans) / (max(e for _, e in spans) - min(s for s, _ in spans))
    added.sort()
    p95 = added[min(len(added) - 1, int(0.95 * len(added)))] if added else float("nan")
    return (
        f"concurrency {concurrency:>2}: {n} requests, {n / wall:6.2f} req/s "
        f"(server {server_rate:6.2f} req/s), added latency per request median "
        f"{statistics.median(added) * 1000:6.2f} ms, p95 {p95 * 1000:6.2f} ms, "
        f"retries {backend.retries}, failed {failed}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, help="requests per level (default max(32, 2c))")
    parser.add_argument("--max-tokens", type=int, default=4)
    parser.add_argument("--levels", default="1,16,64")
    parser.add_argument(
        "--instant",
        action="store_true",
        help="a server with no model that answers at once: the client's own cost alone",
    )
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--timing-log", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.timing_log, args.instant)
        return 0
    log = Path(tempfile.mkdtemp(prefix="bakeoff-bench-")) / "server-timing.jsonl"
    process, base_url = _start_server(log, args.instant)
    try:
        _level(base_url, log, 4, 8, args.max_tokens)  # warm-up: model pages, connections
        server = "instant server (no model)" if args.instant else "llama-cpp-python, Gemma 3 270M"
        print(f"{server}, {os.cpu_count()} CPUs, {args.max_tokens} output tokens per request")
        for level in (int(x) for x in args.levels.split(",")):
            n = args.requests or max(32, 2 * level)
            print(_level(base_url, log, level, n, args.max_tokens), flush=True)
    finally:
        process.terminate()
        process.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
