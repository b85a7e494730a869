"""Records that are stored and read back: runs, their models and tasks, per-sample results."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bakeoff.core.types import JSONValue


@dataclass(frozen=True, slots=True)
class ModelRecord:
    label: str
    spec: str
    backend: str
    info: Mapping[str, JSONValue] = field(default_factory=dict)
    position: int = 0

    @property
    def sha256(self) -> str | None:
        value = self.info.get("sha256")
        return str(value) if value else None

    @property
    def quantization(self) -> str | None:
        value = self.info.get("quantization")
        return str(value) if value else None


@dataclass(frozen=True, slots=True)
class TaskRecord:
    name: str
    version: str
    template_hash: str
    n_samples: int
    manifest: Mapping[str, JSONValue] = field(default_factory=dict)
    position: int = 0


@dataclass(frozen=True, slots=True)
class SampleRecord:
    """A task's sample as stored once per run (so reports can show inputs without the data)."""

    task: str
    sample_id: str
    position: int
    input: JSONValue
    target: JSONValue
    metadata: Mapping[str, JSONValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ResultRecord:
    """One model's outcome on one sample: ``status`` "ok", or "failed" with ``error`` saying why."""

    run_id: str
    model: str
    task: str
    sample_id: str
    status: str
    prediction: str = ""
    target: str = ""
    correct: bool | None = None
    metrics: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    details: Mapping[str, JSONValue] = field(default_factory=dict)
    outputs: tuple[Mapping[str, JSONValue], ...] = ()
    prompt_tokens: int = 0
    output_tokens: int = 0
    prompt_seconds: float | None = None
    output_seconds: float | None = None
    cached_prompt_tokens: int = 0
    error: str | None = None
    created_at: str = ""
    output_tokens_estimated: bool = False
    """``output_tokens`` counts stream chunks, not tokens (see Usage): an estimate."""
    reasoning_tokens: int | None = None
    """The part of ``output_tokens`` spent thinking (see Usage); None: unknown."""
    first_answer_seconds: float | None = None
    """Time to the first answer token (see Usage); None: not measured."""


@dataclass(frozen=True, slots=True)
class RunRecord:
    run_id: str
    name: str
    status: str
    created_at: str
    updated_at: str
    config: Mapping[str, JSONValue]
    manifest: Mapping[str, JSONValue]
    models: tuple[ModelRecord, ...] = ()
    tasks: tuple[TaskRecord, ...] = ()


@dataclass(frozen=True, slots=True)
class RunSummary:
    run_id: str
    name: str
    status: str
    created_at: str
    updated_at: str
    models: tuple[str, ...]
    tasks: tuple[str, ...]
    n_results: int
    n_failed: int
    n_expected: int


def now_iso() -> str:
    """The time stamp every stored record carries (UTC, to the second)."""
    return datetime.now(UTC).isoformat(timespec="seconds")
