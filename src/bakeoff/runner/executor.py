"""The executor seam: how a batch of requests reaches a backend.

``LocalExecutor`` calls the backend in this process. A distributed executor (Ray: many replicas,
many GPUs) implements the same methods and lands as one more module.

``submit`` returns a future, so the runner can keep several chunks in flight: a backend that
sends requests concurrently (the API backends: ``submit`` + ``concurrency``) gets enough work to
keep ``concurrency`` requests on the wire; any other backend runs the chunk right away and
hands back a finished future, one chunk at a time as before.
"""

from __future__ import annotations

import concurrent.futures
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Protocol, TypeAlias, runtime_checkable

from bakeoff.backends.base import Backend, open_backend
from bakeoff.core.errors import UnsupportedRequestError
from bakeoff.core.model import ModelSpec
from bakeoff.core.types import (
    GenerateRequest,
    LoglikelihoodRequest,
    Request,
    RequestFailure,
    RequestKind,
    Result,
    RollingLoglikelihoodRequest,
    TokenizeRequest,
)

Outcome: TypeAlias = Result | RequestFailure


@runtime_checkable
class ConcurrentBackend(Protocol):
    """A backend that takes batches asynchronously (see backends/_api.py)."""

    @property
    def concurrency(self) -> int: ...

    def submit(self, requests: Sequence[Request]) -> concurrent.futures.Future[list[Outcome]]: ...


class Executor(ABC):
    @abstractmethod
    def open(self, spec: ModelSpec) -> Backend:
        """Make the model ready (load weights, open connections)."""

    @abstractmethod
    def execute(self, backend: Backend, requests: Sequence[Request]) -> list[Outcome]:
        """One outcome per request, in order."""

    def submit(
        self, backend: Backend, requests: Sequence[Request]
    ) -> concurrent.futures.Future[list[Outcome]]:
        """Like ``execute``, but the outcomes may arrive later (default: computed now)."""
        future: concurrent.futures.Future[list[Outcome]] = concurrent.futures.Future()
        try:
            future.set_result(self.execute(backend, requests))
        except Exception as error:  # surfaces from future.result(), in the runner's thread
            future.set_exception(error)
        return future

    def max_in_flight(self, backend: Backend) -> int:
        """How many requests are worth having submitted at once (1: one chunk at a time)."""
        return 1


class LocalExecutor(Executor):
    def open(self, spec: ModelSpec) -> Backend:
        return open_backend(spec)

    def execute(self, backend: Backend, requests: Sequence[Request]) -> list[Outcome]:
        if isinstance(backend, ConcurrentBackend):
            return backend.submit(requests).result()
        # Group by kind so each backend call sees a homogeneous batch (lets llama.cpp share
        # context prefixes).
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

    def submit(
        self, backend: Backend, requests: Sequence[Request]
    ) -> concurrent.futures.Future[list[Outcome]]:
        if isinstance(backend, ConcurrentBackend):
            return backend.submit(requests)
        return super().submit(backend, requests)

    def max_in_flight(self, backend: Backend) -> int:
        if isinstance(backend, ConcurrentBackend):
            # Twice the concurrency: the next requests are queued while the last ones finish.
            return 2 * max(1, backend.concurrency)
        return 1


def _dispatch(backend: Backend, kind: RequestKind, batch: list[Request]) -> Sequence[Outcome]:
    if kind is RequestKind.LOGLIKELIHOOD:
        return backend.loglikelihood([r for r in batch if isinstance(r, LoglikelihoodRequest)])
    if kind is RequestKind.LOGLIKELIHOOD_ROLLING:
        return backend.loglikelihood_rolling(
            [r for r in batch if isinstance(r, RollingLoglikelihoodRequest)]
        )
    if kind is RequestKind.TOKENIZE:
        return backend.tokenize([r for r in batch if isinstance(r, TokenizeRequest)])
    return backend.generate([r for r in batch if isinstance(r, GenerateRequest)])
