"""The executor seam: how a batch of requests reaches a backend.

``LocalExecutor`` calls the backend in this process. A distributed executor (Ray: many replicas,
many GPUs) implements the same two methods and lands as one more module.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TypeAlias

from bakeoff.backends.base import Backend, ModelSpec, open_backend
from bakeoff.core.errors import UnsupportedRequestError
from bakeoff.core.types import (
    GenerateRequest,
    LoglikelihoodRequest,
    Request,
    RequestFailure,
    RequestKind,
    Result,
    RollingLoglikelihoodRequest,
)

Outcome: TypeAlias = Result | RequestFailure


class Executor(ABC):
    @abstractmethod
    def open(self, spec: ModelSpec) -> Backend:
        """Make the model ready (load weights, open connections)."""

    @abstractmethod
    def execute(self, backend: Backend, requests: Sequence[Request]) -> list[Outcome]:
        """One outcome per request, in order."""


class LocalExecutor(Executor):
    def open(self, spec: ModelSpec) -> Backend:
        return open_backend(spec)

    def execute(self, backend: Backend, requests: Sequence[Request]) -> list[Outcome]:
        # Group by kind so each backend call sees a homogeneous batch (lets llama.cpp share
        # context prefixes, lets API backends fan requests out concurrently).
        outcomes: list[Outcome | None] = [None] * len(requests)
        for kind in RequestKind:
            indices = [i for i, r in enumerate(requests) if r.kind == kind]
            if not indices:
                continue
            if kind not in backend.supports:
                raise UnsupportedRequestError(backend._unsupported(kind))
            batch = [requests[i] for i in indices]
            results = _dispatch(backend, kind, batch)
            if len(results) != len(batch):
                raise RuntimeError(
                    f"backend {backend.name} returned {len(results)} results for {len(batch)}"
                )
            for index, result in zip(indices, results, strict=True):
                outcomes[index] = result
        return [o for o in outcomes if o is not None]


def _dispatch(backend: Backend, kind: RequestKind, batch: list[Request]) -> Sequence[Outcome]:
    if kind is RequestKind.LOGLIKELIHOOD:
        return backend.loglikelihood([r for r in batch if isinstance(r, LoglikelihoodRequest)])
    if kind is RequestKind.LOGLIKELIHOOD_ROLLING:
        return backend.loglikelihood_rolling(
            [r for r in batch if isinstance(r, RollingLoglikelihoodRequest)]
        )
    return backend.generate([r for r in batch if isinstance(r, GenerateRequest)])
