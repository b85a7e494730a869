"""The API machinery's pure logic, no server: rate limits, cache keys, prices, budget, answer
letters, key lookup and redaction. (The same pieces run against real servers in
tests/api/test_api_runs.py.)"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from pathlib import Path

import pytest

from bakeoff.backends._api import TokenBucket, estimate_tokens
from bakeoff.backends.base import Backend
from bakeoff.core import secrets
from bakeoff.core.errors import ConfigError
from bakeoff.core.model import ModelInfo, ModelSpec
from bakeoff.core.types import (
    ChatMessage,
    GenerateRequest,
    GenerationResult,
    GenerationSettings,
    LoglikelihoodRequest,
    LoglikelihoodResult,
    Sample,
    Usage,
)
from bakeoff.pricing import catalog as catalog_module
from bakeoff.pricing.catalog import ModelRef, PriceCatalog, read_override_file
from bakeoff.runner import cache, fallback
from bakeoff.runner.budget import Budget, is_metered, model_ref, price_for
from bakeoff.runner.executor import LocalExecutor
from bakeoff.runner.plan import RunConfig, make_plan
from bakeoff.runner.run import RunOptions, execute_plan
from bakeoff.storage.base import CacheEntry
from bakeoff.storage.sqlite import SqliteStore
from bakeoff.tasks.probes import ArithmeticProbe

# --- rate limits --------------------------------------------------------------------------------


class _FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_token_bucket_spaces_requests_to_the_per_minute_rate() -> None:
    time = _FakeTime()
    bucket = TokenBucket(60, clock=time.clock, sleep=time.sleep)  # 1 a second, 10 s of burst

    async def take(n: int) -> None:
        for _ in range(n):
            await bucket.take(1)

    asyncio.run(take(10))
    assert time.now == 0.0, "a 10-second burst goes at once"
    asyncio.run(take(30))
    assert time.now == pytest.approx(30.0), "then one per second"
    assert bucket.waited == pytest.approx(30.0)


def test_token_bucket_big_request_waits_for_a_full_bucket_and_refunds() -> None:
    time = _FakeTime()
    bucket = TokenBucket(6000, clock=time.clock, sleep=time.sleep)  # 100 a second, 1000 burst
    asyncio.run(bucket.take(800))
    asyncio.run(bucket.take(5000))  # larger than the bucket: waits until full, then goes
    assert time.now == pytest.approx(8.0)
    assert bucket.level == pytest.approx(1000 - 5000)
    bucket.give_back(4000)  # the server used fewer tokens than estimated
    assert bucket.level == pytest.approx(0.0)
    asyncio.run(bucket.take(100))
    assert time.now == pytest.approx(9.0), "the average rate holds after the big one"


def test_token_estimates() -> None:
    settings = GenerationSettings(max_tokens=32)
    assert estimate_tokens(GenerateRequest("x" * 400, settings)) == (101, 32)
    chat = GenerateRequest((ChatMessage("user", "x" * 96),), settings)
    assert estimate_tokens(chat) == (26, 32)
    assert estimate_tokens(LoglikelihoodRequest("a" * 10, "b" * 6)) == (5, 1)


# --- cache keys -----------------------------------------------------------------------------------


def _fingerprint(model: str = "m", base_url: str = "http://h/v1", **body: object) -> dict:
    return {"backend": "openai", "base_url": base_url, "model": model, "body": body}


def _key(fp: dict, request: GenerateRequest, **where: object) -> str:
    place = {"run_seed": 0, "task": "t", "sample_id": "s1", "position": 0, **where}
    return cache.request_key(fp, request, **place)  # type: ignore[arg-type]


def test_cache_key_holds_model_url_and_body_and_separates_sampled_draws() -> None:
    greedy = GenerateRequest("hi", GenerationSettings(temperature=0.0))
    sampled = GenerateRequest("hi", GenerationSettings(temperature=0.7, seed=1))
    fp = _fingerprint(prompt="hi")
    assert _key(fp, greedy) == _key(fp, greedy)
    assert _key(fp, greedy) != _key(_fingerprint(model="other", prompt="hi"), greedy)
    assert _key(fp, greedy) != _key(_fingerprint(base_url="http://x/v1", prompt="hi"), greedy)
    assert _key(fp, greedy) != _key(_fingerprint(prompt="ho"), greedy)
    # Greedy answers are shared across seeds and samples; sampled draws never are.
    assert _key(fp, greedy) == _key(fp, greedy, run_seed=1, sample_id="s2", position=3)
    draws = {
        _key(fp, sampled, **where)
        for where in (
            {},
            {"run_seed": 1},
            {"sample_id": "s2"},
            {"position": 1},
            {"task": "u"},
        )
    }
    assert len(draws) == 5


def test_cached_results_round_trip_through_sqlite(tmp_path: Path) -> None:
    results = [
        GenerationResult(" 42", "stop", Usage(12, 2, 0.1, 0.2, 0)),
        LoglikelihoodResult(-1.25, True, 3, Usage(9, 0, 0.05, 0.0, 4)),
    ]
    store = SqliteStore(tmp_path / "c.db")
    try:
        entries = [
            CacheEntry(f"k{i}", "openai", "m", "generate", cache.result_to_json(r))
            for i, r in enumerate(results)
        ]
        store.cache_responses(entries)
        store.cache_responses(entries)  # the first answer stays
        found = store.cached_responses(["k0", "k1", "missing"])
    finally:
        store.close()
    assert sorted(found) == ["k0", "k1"]
    assert [cache.result_from_json(found[f"k{i}"]) for i in range(2)] == results


# --- prices ---------------------------------------------------------------------------------------


def test_catalog_prices_cloud_models_by_host_and_leaves_local_ones_alone() -> None:
    catalog = PriceCatalog.load()
    assert catalog.source.startswith("models.dev")
    openai = catalog.lookup(ModelRef("g", "openai", "gpt-4o-mini", "https://api.openai.com/v1"))
    assert openai is not None
    assert (openai.input_per_1m, openai.output_per_1m) == (0.15, 0.6)
    dated = catalog.lookup(
        ModelRef("c", "anthropic", "claude-haiku-4-5-20991231", "https://api.anthropic.com")
    )
    assert dated is not None, "a dated model id falls back to its undated entry"
    groq = ModelRef("q", "openai", "no-such-model", "https://api.groq.com/openai/v1")
    assert catalog.provider(groq) == "groq"
    assert catalog.lookup(groq) is None
    local = ModelRef("l", "openai", "gpt-4o-mini", "http://127.0.0.1:8000/v1")
    assert catalog.lookup(local) is None, "a local server is not billed per token"
    assert catalog.lookup(ModelRef("x", "llamacpp", "gemma3-270m")) is None


def test_override_file_wins_by_label_provider_model_or_model(tmp_path: Path) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text(
        "g: {input: 1, output: 2}\n"
        "openai:gpt-4o-mini: {input: 3, output: 4}\n"
        "my-local-model: {input: 0.5, output: 0.5}\n"
    )
    catalog = PriceCatalog.load(str(path))
    cloud = "https://api.openai.com/v1"
    by_label = catalog.lookup(ModelRef("g", "openai", "gpt-4o-mini", cloud))
    by_qualified = catalog.lookup(ModelRef("h", "openai", "gpt-4o-mini", cloud))
    by_model = catalog.lookup(ModelRef("h", "openai", "my-local-model", "http://127.0.0.1:1/v1"))
    assert by_label is not None
    assert by_label.input_per_1m == 1.0
    assert by_qualified is not None
    assert by_qualified.output_per_1m == 4.0
    assert by_model is not None
    assert by_model.cost(2_000_000, 0) == pytest.approx(1.0)
    assert by_model.source == f"override file {path}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("g: 3\n", "must be {input"),
        ("g: {input: -1, output: 2}\n", "must be a number >= 0"),
        ("g: {input: 1, output: 2, cached: 1}\n", "must be {input"),
        ("[1, 2]\n", "expected a mapping"),
        ("g: {input: [\n", "not valid YAML"),
    ],
)
def test_bad_override_file_is_a_one_line_config_error(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        read_override_file(path)


def test_full_models_dev_database_is_read_without_its_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "_db.sqlite"
    with sqlite3.connect(db) as conn:
        conn.executescript(
            "CREATE TABLE metadata (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
            "INSERT INTO metadata VALUES ('generated_at', '2030-01-02T00:00:00+00:00');"
            "CREATE TABLE pricing (model_full_id TEXT, experimental_mode_name TEXT, "
            "min_context INTEGER, cost_input REAL, cost_output REAL);"
            "INSERT INTO pricing VALUES ('openai:gpt-9', NULL, 0, 7.0, 70.0);"
            "INSERT INTO pricing VALUES ('openai:gpt-9', NULL, 200000, 14.0, 140.0);"
        )
    monkeypatch.setenv("BAKEOFF_MODELS_DEV_DB", str(db))
    catalog = PriceCatalog.load()
    price = catalog.lookup(ModelRef("g", "openai", "gpt-9", "https://api.openai.com/v1"))
    assert catalog.source == "models.dev 2030-01-02 (_db.sqlite)"
    assert price is not None
    assert (price.input_per_1m, price.output_per_1m) == (7.0, 70.0)


def test_max_cost_needs_a_price_for_paid_apis_only() -> None:
    catalog = PriceCatalog({}, {"api.openai.com": "openai"}, "empty")
    paid = ModelSpec.parse("openai:gpt-unknown")
    local = ModelSpec.parse("openai:m,base_url=http://127.0.0.1:9/v1")
    assert is_metered(paid)
    assert not is_metered(local)
    assert not is_metered(ModelSpec.parse("llamacpp:gemma3-270m"))
    with pytest.raises(ConfigError, match="--max-cost needs a price for model 'gpt-unknown'"):
        price_for(paid, catalog, required=True)
    assert price_for(paid, catalog, required=False) is None
    assert price_for(local, catalog, required=True) is None


def test_budget_reserves_worst_case_and_settles_on_actual_spend() -> None:
    budget = Budget(1.0)
    assert budget.try_reserve(0.6)
    assert not budget.try_reserve(0.5), "0.6 reserved + 0.5 > 1.0"
    budget.settle(0.6, 0.2)  # the chunk cost less than its worst case
    assert budget.try_reserve(0.5)
    budget.settle(0.5, 0.5)
    assert budget.spent == pytest.approx(0.7)
    assert not budget.try_reserve(0.31)
    assert budget.try_reserve(0.0), "cached work is free, even with the budget spent"
    assert Budget(None).try_reserve(1e9)
    with pytest.raises(ConfigError):
        Budget(-1.0)


def test_max_cost_covers_the_whole_run_across_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.helpers_scripted_api import ScriptedExecutor
    from tests.runner.test_cache_withheld_text import SPEC

    from bakeoff.core.errors import BudgetExceededError
    from bakeoff.core.types import Request
    from bakeoff.runner.budget import estimate

    def priced(spec: ModelSpec, request: Request) -> GenerationResult:
        # Reports exactly the worst case reserved for it, so a chunk costs what it reserves.
        return GenerationResult("1", "stop", Usage(*estimate_tokens(request)))

    monkeypatch.delenv("BAKEOFF_PRICES", raising=False)
    prices = PriceCatalog({}, {}, "none", {"s": (1000.0, 2000.0)}, "test prices")
    task = ArithmeticProbe("", {"n": "6"})
    price = prices.lookup(model_ref(SPEC))

    def cost(n: int) -> float:  # of the first n samples
        return estimate([r for s in task.samples()[:n] for r in task.requests(s)]).usd(price)

    plan = make_plan(RunConfig(models=(SPEC,), batch_size=2, name="budget"), tasks=[task])
    store = SqliteStore(tmp_path / "b.db")

    def run(max_cost: float) -> tuple[ScriptedExecutor, RunOptions]:
        executor = ScriptedExecutor(priced)
        options = RunOptions(max_cost=max_cost, prices=prices)
        return executor, options

    try:
        budget = cost(4)  # two chunks of three
        executor, options = run(budget)
        with pytest.raises(BudgetExceededError):
            execute_plan(plan, store, executor=executor, options=options)
        assert len(executor.backends[0].prompts) == 4
        # The same budget again: the run already spent it, so nothing more goes out.
        executor, options = run(budget)
        with pytest.raises(BudgetExceededError) as stopped:
            execute_plan(plan, store, executor=executor, options=options)
        assert executor.backends[0].prompts == []
        message = str(stopped.value)
        assert f"the --max-cost ${budget:.4f} budget is spent" in message
        assert f"${budget:.4f} spent on this run so far ($0.0000 now)" in message
        # A higher budget finishes the run, counting the earlier spend in the run's total.
        executor, options = run(cost(6))
        outcome = execute_plan(plan, store, executor=executor, options=options)
        assert len(executor.backends[0].prompts) == 2
        assert (outcome.failed, outcome.skipped, outcome.computed) == (0, 4, 2)
        assert outcome.spent_usd == pytest.approx(cost(6) - cost(4))
        assert outcome.run_spent_usd == pytest.approx(cost(6))
    finally:
        store.close()


# --- answer letters -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("B", 1),
        (" (c) because", 2),
        ("A. 42", 0),
        ("The answer is D.", 3),
        ("Answer: b", 1),
        ("E", None),
        ("I think so", None),
        ("", None),
    ],
)
def test_parse_letter(reply: str, expected: int | None) -> None:
    assert fallback.parse_letter(reply, 4) == expected


def test_letter_formulation_scores_with_the_tasks_own_metrics() -> None:
    from bakeoff.tasks.generic import MultipleChoiceTask

    class Tiny(MultipleChoiceTask):
        name = "tiny"

        def samples(self) -> list[Sample]:
            return [Sample("q1", "Capital of France?", 1, ("Rome", "Paris", "Oslo"))]

    task = Tiny()
    (sample,) = task.samples()
    request = fallback.letter_request(task, sample)
    assert request is not None
    assert isinstance(request.prompt, tuple)
    prompt = request.prompt[0].content
    assert "Capital of France?" in prompt
    assert "B. Paris" in prompt
    assert "C. Oslo" in prompt
    right = fallback.score(task, sample, [GenerationResult("B")])
    wrong = fallback.score(task, sample, [GenerationResult("A")])
    mute = fallback.score(task, sample, [GenerationResult("no idea")])
    assert right.correct
    assert right.metric_inputs["acc"] == (1.0,)
    assert right.metric_inputs["acc_norm"] == (1.0,)
    assert not wrong.correct
    assert wrong.prediction == "Rome"
    assert not mute.correct
    assert mute.details["letter"] is None
    assert right.details["formulation"] == fallback.FORMULATION
    assert fallback.letter_request(ArithmeticProbe("", {"n": "2"}), sample) is None


# --- keys ---------------------------------------------------------------------------------------


def test_key_from_environment_then_keyring_and_redacted_from_logs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    keyring = pytest.importorskip("keyring")
    from tests.helpers_keyring import FileKeyring

    store = FileKeyring(tmp_path / "keyring.json")
    store.set_password(secrets.KEYRING_SERVICE, "BAKEOFF_TEST_KEY", "sk-from-keyring-5678")
    previous = keyring.get_keyring()
    keyring.set_keyring(store)
    try:
        monkeypatch.delenv("BAKEOFF_TEST_KEY", raising=False)
        assert secrets.api_key("BAKEOFF_TEST_KEY") == "sk-from-keyring-5678"
        assert secrets.api_key("BAKEOFF_TEST_KEY", use_keyring=False) is None
        monkeypatch.setenv("BAKEOFF_TEST_KEY", "sk-from-env-1234")
        assert secrets.api_key("BAKEOFF_TEST_KEY") == "sk-from-env-1234"
    finally:
        keyring.set_keyring(previous)
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("openai._base_client").debug(
            "Request options: %s", {"headers": {"Authorization": "Bearer sk-from-keyring-5678"}}
        )
    assert "sk-from-keyring-5678" not in caplog.text
    assert "[redacted]" in caplog.text
    assert secrets.redact(json.dumps({"k": "sk-from-env-1234"})) == '{"k": "[redacted]"}'


def _shipped_catalog(monkeypatch: pytest.MonkeyPatch) -> PriceCatalog:
    """The snapshot bakeoff ships, even where the full models.dev database is installed."""
    monkeypatch.delenv("BAKEOFF_MODELS_DEV_DB", raising=False)
    monkeypatch.setattr(catalog_module, "_models_dev_db", lambda: None)
    return PriceCatalog.load()


def test_api_model_info_takes_the_catalog_context_window_with_its_source(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("anthropic", reason="pip install 'bakeoff[anthropic]'")
    from bakeoff.backends.anthropic_messages import AnthropicBackend

    catalog = _shipped_catalog(monkeypatch)
    spec = ModelSpec.parse("claude=anthropic:claude-haiku-4-5")
    info = AnthropicBackend(spec).info().as_dict()
    assert info["context_length"] is None  # the Messages API reports no specs
    specs = catalog.specs(model_ref(spec))
    assert specs is not None
    filled = specs.fill(info)
    mark = "catalog: models.dev snapshot 2026-08-18"
    assert filled["context_length"] == 200_000
    assert filled["extra"]["max_output_tokens"] == 64_000
    assert filled["extra"]["open_weights"] is False
    assert filled["extra"]["spec_sources"]["context_length"] == mark
    assert filled["extra"]["api"] == "messages"  # the backend's own extra is kept
    # A dated name finds its undated entry, as prices do.
    dated = catalog.specs(ModelRef("c", "anthropic", "claude-sonnet-4-5-20990101"))
    assert dated is not None
    assert dated.context == 1_000_000


def test_server_reported_specs_win_and_unknown_or_local_models_stay_unknown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    catalog = _shipped_catalog(monkeypatch)
    openai = "https://api.openai.com/v1"
    specs = catalog.specs(ModelRef("g", "openai", "gpt-4o-mini", openai))
    assert specs is not None
    assert specs.context == 128_000
    served = ModelInfo(
        "gpt-4o-mini", "openai", openai, context_length=32_768, extra={"max_output_tokens": 999}
    )
    filled = specs.fill(served.as_dict())
    assert filled["context_length"] == 32_768
    assert filled["extra"]["max_output_tokens"] == 999
    assert "context_length" not in filled["extra"]["spec_sources"]
    assert "max_output_tokens" not in filled["extra"]["spec_sources"]
    assert catalog.specs(ModelRef("g", "openai", "gpt-unknown", openai)) is None
    # A server on this machine runs whatever file it loaded, whatever it calls it.
    local = ModelRef("g", "openai", "gpt-4o-mini", "http://127.0.0.1:8080/v1")
    assert catalog.specs(local) is None


def test_runner_stores_catalog_specs_in_the_model_info(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.helpers_scripted_api import ScriptedApi

    class _Gpt(ScriptedApi):
        def info(self) -> ModelInfo:
            return ModelInfo(name="gpt-4o-mini", backend="openai", source="scripted")

    class _Executor(LocalExecutor):
        def open(self, spec: ModelSpec) -> Backend:
            return _Gpt(spec, lambda _, __: GenerationResult("1", "stop", Usage(3, 1)))

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-sent")
    spec = ModelSpec.parse("gpt=openai:gpt-4o-mini")
    plan = make_plan(
        RunConfig(models=(spec,), name="specs"), tasks=[ArithmeticProbe("", {"n": "1"})]
    )
    db = tmp_path / "b.db"
    store = SqliteStore(db)
    try:
        options = RunOptions(prices=_shipped_catalog(monkeypatch))
        execute_plan(plan, store, executor=_Executor(), options=options)
    finally:
        store.close()
    with sqlite3.connect(db) as conn:
        (text,) = conn.execute("SELECT info_json FROM run_models WHERE label = 'gpt'").fetchone()
    info = json.loads(text)
    assert info["context_length"] == 128_000
    assert info["extra"]["spec_sources"]["context_length"].startswith("catalog: models.dev")
    assert "price_input_per_1m" in info["extra"]
    # The guide's specs table shows them, and says they come from the catalog.
    from tests.helpers import stored_report

    from bakeoff.report.markdown import render_markdown

    text = render_markdown(stored_report(db, "specs"))
    assert "| context window | 128,000 |" in text
    assert f"| output limit | {info['extra']['max_output_tokens']:,} |" in text
    assert "| open weights | no |" in text
    assert (
        "gpt's context window, output limit, open weights are from the catalog: models.dev" in text
    )
