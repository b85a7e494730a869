"""What reasoning models cost: cached input at the catalog's cache-read price, the blended 3:1
price, the thinking budget reserved and estimated, and ``bakeoff run --dry-run`` for a frontier
pair (both in the offline catalog) printing tokens and dollars with the reasoning budget."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tests.helpers import run_cli

from bakeoff.core.model import ModelSpec
from bakeoff.core.types import GenerateRequest, GenerationSettings, TokenizeRequest, Usage
from bakeoff.pricing.catalog import ModelRef, Price, PriceCatalog
from bakeoff.runner.budget import actual_cost, estimate, reasoning_budget, reserve_usd

OPUS = ModelRef("opus", "anthropic", "claude-opus-4-7")
GPT = ModelRef("gpt", "openai", "gpt-5.3-chat-latest", "https://api.openai.com/v1")


def test_the_offline_catalog_has_cache_read_prices() -> None:
    catalog = PriceCatalog.load()
    opus, gpt = catalog.lookup(OPUS), catalog.lookup(GPT)
    assert opus is not None
    assert gpt is not None
    assert (opus.input_per_1m, opus.output_per_1m, opus.cache_read_per_1m) == (5.0, 25.0, 0.5)
    assert (gpt.input_per_1m, gpt.output_per_1m, gpt.cache_read_per_1m) == (1.75, 14.0, 0.175)
    assert opus.info_fields()["price_cache_read_per_1m"] == 0.5


def test_cached_input_is_priced_at_the_cache_read_price() -> None:
    price = Price(2.0, 8.0, "test", cache_read_per_1m=0.5)
    # 1M prompt tokens of which 600k came from the cache, 100k output.
    assert price.cost(1_000_000, 100_000, 600_000) == pytest.approx(0.8 + 0.3 + 0.8)
    unknown = Price(2.0, 8.0, "test")  # no cache price known: cached tokens pay as input
    assert unknown.cost(1_000_000, 0, 600_000) == pytest.approx(2.0)
    request = GenerateRequest("hi")
    usage = Usage(prompt_tokens=1_000_000, output_tokens=0, cached_prompt_tokens=1_000_000)
    assert actual_cost(price, request, usage) == pytest.approx(0.5)


def test_blended_price_is_three_input_to_one_output() -> None:
    assert Price(5.0, 25.0, "t").blended_per_1m == pytest.approx(10.0)
    assert Price(1.75, 14.0, "t").blended_per_1m == pytest.approx(4.8125)


def test_the_thinking_budget_is_reserved_as_output() -> None:
    spec = ModelSpec.parse("anthropic:claude-opus-4-7,thinking_budget=2048")
    assert reasoning_budget(spec) == 2048
    assert reasoning_budget(ModelSpec.parse("anthropic:claude-opus-4-7")) == 0
    requests = [
        GenerateRequest("x" * 400, GenerationSettings(max_tokens=100)),
        TokenizeRequest("y"),
    ]
    tokens = estimate(requests, 2048)
    assert (tokens.prompt_tokens, tokens.max_output_tokens, tokens.reasoning_tokens) == (
        101,
        100,
        2048,  # the generation's only: a token count thinks nothing
    )
    price = Price(5.0, 25.0, "t")

    class Run:
        def __init__(self) -> None:
            self.spec, self.price = spec, price

    assert reserve_usd(requests, Run()) == pytest.approx((101 * 5 + (100 + 2048) * 25) / 1e6)


def test_dry_run_of_a_frontier_pair_prints_tokens_and_dollars_with_reasoning(
    tmp_path: Path,
) -> None:
    # The dry run opens both API clients.
    for sdk in ("anthropic", "openai"):
        pytest.importorskip(sdk, reason=f"pip install 'bakeoff[{sdk}]'")
    env = {"OPENAI_API_KEY": "sk-FAKE-dry", "ANTHROPIC_API_KEY": "sk-ant-FAKE-dry"}
    env = {k: v for k, v in {**os.environ, **env}.items() if k not in ("BAKEOFF_PRICES",)}
    done = run_cli(
        "run",
        "--db",
        str(tmp_path / "b.db"),
        "--dry-run",
        "-m",
        "anthropic:claude-opus-4-7,thinking_budget=2048",
        "-m",
        "openai:gpt-5.3-chat-latest,reasoning_effort=medium,thinking_budget=1024",
        "-t",
        "arithmetic,n=20",
        cwd=tmp_path,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    opus = next(line for line in lines if "claude-opus-4-7-think2048:" in line)
    gpt = next(line for line in lines if "gpt-5.3-chat-latest-medium-think1024:" in line)
    # arithmetic: max_tokens 8 per answer; 20 requests x the thinking budget of reasoning.
    assert "≤ 160 output tokens + ≤ 40,960 reasoning" in opus
    assert "$5 / $25 per 1M, cached input $0.5, blended 3:1 $10 " in opus
    assert "≤ 160 output tokens + ≤ 20,480 reasoning" in gpt
    assert "$1.75 / $14 per 1M, cached input $0.175, blended 3:1 $4.812 " in gpt
    prompt = int(opus.split("to send ≈ ")[1].split(" prompt")[0].replace(",", ""))
    expected = (prompt * 5.0 + (160 + 40_960) * 25.0) / 1e6
    assert f"cost ≤ ${expected:.4f}" in opus
    assert not (tmp_path / "b.db").exists()  # a dry run writes nothing
