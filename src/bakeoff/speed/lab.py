"""A speed run: every model × prompt length × load point, stored per request as it finishes.

Order per model: open the target, build a seeded prompt set per load point (warm-up and measured
apart, and no prompt used twice in the sweep: a prompt sent again would be answered from a
server's prefix cache from the second load point on and flatter TTFT), then for each load point
run warm-up + measured requests with the energy meter around the whole scenario (the counters
cannot tell requests apart, so the J/1k-token figure divides by every token of the scenario,
warm-up included), count tokens, store, and read peak memory.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import platform
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bakeoff import __version__
from bakeoff.core.errors import ConfigError
from bakeoff.core.model import ModelSpec
from bakeoff.core.records import now_iso
from bakeoff.core.secrets import redact
from bakeoff.core.speed_records import Scenario, SpeedRecord, counted
from bakeoff.core.types import JSONValue
from bakeoff.speed.load import OnDone, Outcome, run_scenario
from bakeoff.speed.prompts import derive_seed, prompt_set
from bakeoff.speed.resources import (
    POWERCAP,
    EnergyMeter,
    estimate_memory,
    gpu_memory_bytes,
    peak_rss_bytes,
    reset_peak_rss,
)
from bakeoff.speed.targets import Target, check_spec, open_target
from bakeoff.storage.speed_store import SpeedModelRow, SpeedScenarioRow, SpeedStore


@dataclass(frozen=True, slots=True)
class SpeedConfig:
    models: tuple[ModelSpec, ...]
    concurrency: tuple[int, ...] = (1,)
    prompt_lengths: tuple[int, ...] = (128,)
    output_tokens: tuple[int, ...] = (64,)
    requests: int = 8
    warmup: int = 1
    rate: float | None = None
    slo: dict[str, float] = field(default_factory=dict)
    seed: int = 0
    name: str = ""

    def validate(self) -> None:
        for spec in self.models:
            check_spec(spec)
        if len({m.label for m in self.models}) != len(self.models):
            raise ConfigError("two models share a label; name them with label=backend:target")
        if any(c < 1 for c in self.concurrency) or not self.concurrency:
            raise ConfigError("concurrency levels must be positive integers")
        if any(p < 1 for p in self.prompt_lengths) or not self.prompt_lengths:
            raise ConfigError("prompt lengths must be positive integers")
        if any(o < 1 for o in self.output_tokens) or not self.output_tokens:
            raise ConfigError("output lengths must be positive integers")
        if self.requests < 1 or self.warmup < 0:
            raise ConfigError("--requests must be ≥ 1 and --warmup ≥ 0")
        if self.rate is not None and self.rate <= 0:
            raise ConfigError(f"--rate must be positive, got {self.rate}")

    def as_dict(self) -> dict[str, JSONValue]:
        return {
            "models": [m.canonical() for m in self.models],
            "concurrency": list(self.concurrency),
            "prompt_lengths": list(self.prompt_lengths),
            "output_tokens": list(self.output_tokens),
            "requests": self.requests,
            "warmup": self.warmup,
            "rate": self.rate,
            "slo": self.slo,
            "seed": self.seed,
        }

    def scenarios(self) -> list[Scenario]:
        return [
            Scenario(p, o, c, self.rate)
            for p in self.prompt_lengths
            for o in self.output_tokens
            for c in self.concurrency
        ]

    @property
    def n_ctx(self) -> int:
        # Room for the longest prompt, BOS and the answer, with margin for re-tokenisation.
        return max(2048, max(self.prompt_lengths) + max(self.output_tokens) + 64)


@dataclass(slots=True)
class Progress:
    """Callbacks for a live view; all optional."""

    on_scenario: Callable[[str, Scenario, int], None] | None = None
    on_request: OnDone | None = None


def speed_run_id(config: SpeedConfig, created_at: str) -> str:
    payload = json.dumps({"config": config.as_dict(), "at": created_at}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def run_speed(
    config: SpeedConfig,
    store: SpeedStore,
    progress: Progress | None = None,
    rapl_root: Path = POWERCAP,
) -> str:
    """Run the whole sweep, storing as it goes; returns the speed-run id."""
    config.validate()
    created = now_iso()
    run_id = speed_run_id(config, created)
    manifest: dict[str, JSONValue] = {
        "bakeoff_version": __version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "platform": platform.platform(),
        "clock": "time.perf_counter (monotonic)",
    }
    store.create_run(run_id, config.name or f"speed {created}", config.as_dict(), manifest)
    used: set[str] = set()  # every prompt of the sweep so far, all models: none is sent twice
    for position, spec in enumerate(config.models):
        asyncio.run(_run_model(config, spec, position, run_id, store, progress, rapl_root, used))
    return run_id


def scenario_prompts(
    config: SpeedConfig,
    label: str,
    scenario: Scenario,
    count_tokens: Callable[[str], int],
    used: set[str],
) -> list[str]:
    """Warm-up then measured prompts of one load point, each set seeded by everything naming it,
    so the sweep is the same under the same seed and no prompt is reused across load points."""
    return [
        prompt
        for role, n in (("warmup", config.warmup), ("measured", config.requests))
        for prompt in prompt_set(
            count_tokens,
            scenario.prompt_tokens,
            n,
            derive_seed(config.seed, label, scenario.key(), role),
            used,
        )
    ]


async def _run_model(
    config: SpeedConfig,
    spec: ModelSpec,
    position: int,
    run_id: str,
    store: SpeedStore,
    progress: Progress | None,
    rapl_root: Path,
    used: set[str],
) -> None:
    peak_reset = spec.backend != "llamacpp" or reset_peak_rss()
    target = open_target(spec, config.n_ctx, max(config.concurrency))
    try:
        info = target.info()
        estimate = estimate_memory(info, config.n_ctx)
        memory: dict[str, JSONValue] = {
            "weights_bytes": estimate.weights_bytes,
            "kv_bytes_per_token": estimate.kv_bytes_per_token,
            "context": estimate.context,
            "estimate_bytes": estimate.total_bytes,
            "note": estimate.note,
            "peak_rss_note": "" if peak_reset else "process peak: includes earlier models",
        }
        store.save_model(
            run_id, SpeedModelRow(spec.label, spec.canonical(), info.as_dict(), memory), position
        )
        n = config.warmup + config.requests
        # All built before this model's first load point, so a sweep that cannot get enough
        # distinct prompts stops before measuring the model rather than halfway through it.
        scenarios = config.scenarios()
        prompts = [
            scenario_prompts(config, spec.label, s, target.count_tokens, used) for s in scenarios
        ]
        for scenario, scenario_set in zip(scenarios, prompts, strict=True):
            if progress and progress.on_scenario:
                progress.on_scenario(spec.label, scenario, n)
            records, row = await _run_scenario(
                target, scenario, scenario_set, config, progress, rapl_root
            )
            store.save_scenario(run_id, row, records)
    finally:
        await target.aclose()


async def _run_scenario(
    target: Target,
    scenario: Scenario,
    prompts: Sequence[str],
    config: SpeedConfig,
    progress: Progress | None,
    rapl_root: Path,
) -> tuple[list[SpeedRecord], SpeedScenarioRow]:
    await target.prepare(scenario.concurrency)
    meter = EnergyMeter(rapl_root)
    meter.start()
    outcomes = await run_scenario(
        target.stream,
        prompts,
        scenario,
        config.warmup,
        seed=config.seed,
        on_done=progress.on_request if progress else None,
    )
    energy = meter.stop()
    # Counting happens after the load, so tokenizer calls never delay another stream's timing.
    records = [_record(target, scenario, o) for o in outcomes]
    tokens = sum(r.output_tokens for r in records)
    row = SpeedScenarioRow(
        model=target.label,
        scenario=scenario,
        energy={
            "joules": energy.joules,
            "source": energy.source,
            "note": energy.note,
            "output_tokens": tokens,
            "joules_per_1k_tokens": energy.per_1k_tokens(tokens),
        },
        resources={
            "peak_rss_bytes": _peak_rss(target),
            "gpu_memory_bytes": gpu_memory_bytes(target.pid),
        },
    )
    return records, row


def _peak_rss(target: Target) -> int | None:
    if target.in_process:
        return peak_rss_bytes()
    return None if target.pid is None else peak_rss_bytes(target.pid)


def _record(target: Target, scenario: Scenario, o: Outcome) -> SpeedRecord:
    if o.timing is None:
        return SpeedRecord.failure(
            target.label, scenario, o.index, o.warmup, o.t_scheduled, o.t_sent, o.error or "?"
        )
    try:
        counts = counted(o.timing, o.prompt, target.count_tokens)
    except Exception as exc:  # a tokenizer endpoint that fails: the request cannot be counted
        return SpeedRecord.failure(
            target.label, scenario, o.index, o.warmup, o.t_scheduled, o.t_sent,
            redact(f"token counting failed: {type(exc).__name__}: {exc}")[:300],
        )  # fmt: skip
    return SpeedRecord.from_timing(
        target.label, scenario, o.index, o.warmup, o.t_scheduled, o.timing, counts
    )
