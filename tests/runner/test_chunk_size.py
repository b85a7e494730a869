"""How many samples the runner hands a backend per stored chunk: the backend's own default
(more for one that batches across samples), unless the user says ``--batch-size``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from bakeoff.backends.base import Backend
from bakeoff.backends.mock import MockBackend
from bakeoff.core.model import ModelSpec
from bakeoff.core.types import RequestKind
from bakeoff.runner.executor import LocalExecutor, Outcome
from bakeoff.runner.plan import RunConfig, make_plan
from bakeoff.runner.run import execute_plan
from bakeoff.storage.sqlite import SqliteStore
from bakeoff.tasks.probes import ArithmeticProbe

SPEC = ModelSpec.parse("mock:alpha")


class _Batching(MockBackend):
    def chunk_samples(self, kind: RequestKind) -> int:
        return 5 if kind is RequestKind.GENERATE else 99


class _Recording(LocalExecutor):
    """Opens the given backend class and records how many samples each call carried."""

    def __init__(self, kind: type[MockBackend]) -> None:
        self.kind, self.sizes = kind, []

    def open(self, spec: ModelSpec) -> Backend:
        return self.kind(spec)

    def execute(self, backend: Backend, requests: Sequence[object]) -> list[Outcome]:
        self.sizes.append(len(requests))  # arithmetic: one request per sample
        return super().execute(backend, requests)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "batch_size", "expected"),
    [
        (MockBackend, None, [8, 4]),
        (_Batching, None, [5, 5, 2]),
        (_Batching, 3, [3, 3, 3, 3]),
    ],
)
def test_chunks_follow_the_backend_unless_the_user_says(
    tmp_path: Path, kind: type[MockBackend], batch_size: int | None, expected: list[int]
) -> None:
    task = ArithmeticProbe("", {"n": "12"})
    plan = make_plan(RunConfig(models=(SPEC,), batch_size=batch_size), tasks=[task])
    executor = _Recording(kind)
    store = SqliteStore(tmp_path / "runs.db")
    try:
        execute_plan(plan, store, executor=executor)
    finally:
        store.close()
    assert executor.sizes == expected
