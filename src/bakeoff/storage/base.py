"""The Store interface. SQLite implements it first; PostgreSQL can land as one more file."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from bakeoff.core.records import (
    ModelRecord,
    ResultRecord,
    RunRecord,
    RunSummary,
    SampleRecord,
    TaskRecord,
)


@dataclass(frozen=True, slots=True)
class CacheEntry:
    """One API response kept under its request key (see runner/cache.py)."""

    key: str
    backend: str
    model: str
    kind: str
    result: dict[str, Any]


class Store(ABC):
    """Durable home of runs and per-sample results.

    Contract the runner relies on: ``save_results`` is atomic per call (all records or none), and a
    stored "ok" result is never replaced — saving it again is a no-op — while a "failed" one is
    replaced by a later attempt. Together these make resume exact: nothing lost, nothing twice.
    """

    @abstractmethod
    def create_or_resume_run(
        self,
        run: RunRecord,
        models: Sequence[ModelRecord],
        tasks: Sequence[TaskRecord],
        samples: Sequence[SampleRecord],
    ) -> bool:
        """Store a new run, or check an existing one matches. True if it already existed."""

    @abstractmethod
    def record_model_info(self, run_id: str, label: str, info: dict[str, Any]) -> None:
        """Store a model's info; ConfigError if its sha256 differs from the one stored before."""

    @abstractmethod
    def set_status(self, run_id: str, status: str) -> None: ...

    @abstractmethod
    def finished_sample_ids(self, run_id: str, model: str, task: str) -> set[str]:
        """Ids of samples with an "ok" result for this model and task."""

    @abstractmethod
    def save_results(self, records: Sequence[ResultRecord]) -> None: ...

    @abstractmethod
    def list_runs(self) -> list[RunSummary]: ...

    @abstractmethod
    def get_run(self, run_id: str) -> RunRecord:
        """The run with this id, or the only run starting with it; "latest" = newest."""

    @abstractmethod
    def iter_results(
        self, run_id: str, task: str | None = None, model: str | None = None
    ) -> Iterator[ResultRecord]: ...

    @abstractmethod
    def iter_samples(self, run_id: str, task: str | None = None) -> Iterator[SampleRecord]: ...

    @abstractmethod
    def close(self) -> None: ...

    # -- request cache (optional: a store without one caches nothing) ------------------------

    def cached_responses(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Stored responses for these request keys (missing keys are left out)."""
        return {}

    def cache_responses(self, entries: Sequence[CacheEntry]) -> None:  # noqa: B027 - optional
        """Store responses under their request keys (first answer kept: keys are exact)."""
