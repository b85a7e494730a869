"""Prompt sets of a sweep: no prompt is sent twice (a server's prefix cache would answer it and
flatter TTFT), and the same seed gives the same prompts. The sweep runs through the real lab
against an instant in-memory target, so the prompts checked are the ones actually sent."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import pytest

from bakeoff.core.errors import ConfigError
from bakeoff.core.model import ModelInfo, ModelSpec
from bakeoff.core.speed_records import Scenario, StreamTiming
from bakeoff.speed import lab
from bakeoff.speed.lab import Progress, SpeedConfig, run_speed
from bakeoff.speed.load import Outcome
from bakeoff.speed.prompts import prompt_set
from bakeoff.storage.speed_store import SpeedStore
from bakeoff.storage.sqlite import SqliteStore


def _words(text: str) -> int:
    """A tokenizer of one token per word, so prompt lengths are checkable by eye."""
    return len(text.split())


class _InstantTarget:
    """Answers every request at once with ``max_tokens`` one-token chunks."""

    in_process = False
    pid = None

    def __init__(self, spec: ModelSpec) -> None:
        self.label = spec.label

    def count_tokens(self, text: str) -> int:
        return _words(text)

    async def prepare(self, concurrency: int) -> None:
        return None

    async def stream(self, prompt: str, max_tokens: int) -> StreamTiming:
        now = time.perf_counter()
        return StreamTiming(now, now, (now,) * max_tokens, (" w",) * max_tokens,
                            _words(prompt), max_tokens)  # fmt: skip

    def info(self) -> ModelInfo:
        return ModelInfo(name=self.label, backend="openai", source="test")

    async def aclose(self) -> None:
        return None


Sent = tuple[str, str, bool, str]  # model, load point, warm-up?, prompt


def _sweep(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int) -> list[Sent]:
    monkeypatch.setattr(lab, "open_target", lambda spec, n_ctx, c: _InstantTarget(spec))
    sent: list[Sent] = []
    current: list[str] = []

    def on_scenario(label: str, scenario: Scenario, n: int) -> None:
        current[:] = [label, scenario.key()]

    def on_request(outcome: Outcome) -> None:
        assert outcome.error is None
        sent.append((current[0], current[1], outcome.warmup, outcome.prompt))

    config = SpeedConfig(
        # Two labels on one server: a sweep comparing, say, its chat and completions APIs.
        models=tuple(
            ModelSpec.parse(f"{label}=openai:m,base_url=http://127.0.0.1:9/v1")
            for label in ("a", "b")
        ),
        concurrency=(1, 2, 4),
        prompt_lengths=(8, 16),
        output_tokens=(2, 4),
        requests=5,
        warmup=2,
        seed=seed,
    )
    store = SqliteStore(tmp_path / f"seed{seed}-{time.monotonic_ns()}.db")
    try:
        run_speed(config, SpeedStore(store), Progress(on_scenario, on_request))
    finally:
        store.close()
    return sorted(sent)  # completion order within a load point is the load's, not the seed's


def test_no_prompt_repeats_across_the_load_points_of_a_sweep(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = _sweep(tmp_path, monkeypatch, seed=3)
    assert len(sent) == 2 * 12 * 7  # models × load points × (warm-up + measured)
    assert len({(m, point) for m, point, _, _ in sent}) == 2 * 12
    for _, point, _, prompt in sent:
        assert _words(prompt) == int(point.split("-")[0][1:])  # p8 / p16: the asked length
    prompts = sorted(prompt for *_, prompt in sent)
    assert len(set(prompts)) == len(prompts), "a prompt was sent twice"
    # Nor does one prompt start with another whole one (a prefix cache would skip it).
    assert not any(b.startswith(a + " ") for a, b in itertools.pairwise(prompts))


def test_the_same_seed_sends_the_same_prompts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _sweep(tmp_path, monkeypatch, seed=3)
    assert _sweep(tmp_path, monkeypatch, seed=3) == first
    other = {prompt for *_, prompt in _sweep(tmp_path, monkeypatch, seed=4)}
    assert other.isdisjoint(prompt for *_, prompt in first)


def test_prompt_sets_skip_used_prompts_and_say_when_none_are_left() -> None:
    used: set[str] = set()
    first = prompt_set(_words, 1, 60, seed=0, used=used)
    assert len(set(first)) == 60
    assert used == set(first)
    # The same seed again, with the first set used: the draws that collide are replaced.
    second = prompt_set(_words, 1, 30, seed=0, used=used)
    assert len(set(second)) == 30
    assert not set(second) & set(first)
    assert prompt_set(_words, 1, 30, seed=0) == first[:30]  # without ``used``: as before
    # One-word prompts from a 124-word list: 200 distinct ones cannot exist.
    with pytest.raises(ConfigError, match="cannot make 200 prompts of 1 tokens"):
        prompt_set(_words, 1, 200, seed=0)
