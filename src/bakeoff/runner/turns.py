"""Later turns: requests that depend on the model's own earlier answers (tasks/turns.py).

A multi-turn task's chunk goes to its model in stages: the first turn's requests, then, once
they are back, each sample's next turn (built by the task from those answers), and so on until
the task asks for nothing more; only then is the chunk judged and stored. Each stage is sent like
the first (the executor, the request cache under the request's position in the sample, the
budget). A kill between stages loses the chunk only, and every reply that came back is already in
the request cache, so the resume pays for nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence

from bakeoff.backends._api import ApiBackend
from bakeoff.backends.base import Backend
from bakeoff.core.types import Request, RequestFailure, Result
from bakeoff.runner import cache
from bakeoff.runner.chunk import Chunk
from bakeoff.storage.base import Store
from bakeoff.tasks.base import Task
from bakeoff.tasks.turns import MultiTurnTask


def next_requests(task: Task, chunk: Chunk) -> list[list[Request]] | None:
    """Each sample's next turn (empty for a sample that failed or is complete); None when no
    sample has one."""
    if not isinstance(task, MultiTurnTask):
        return None
    more: list[list[Request]] = []
    for position, sample in enumerate(chunk.samples):
        outcomes = chunk.sample_outcomes(position)
        if any(isinstance(o, RequestFailure) for o in outcomes):
            more.append([])  # stored as failed; a rerun asks its first turn again
            continue
        results: list[Result] = [o for o in outcomes if not isinstance(o, RequestFailure)]
        more.append(task.next_turn(sample, results))
    return more if any(more) else None


def keys(
    task: Task,
    chunk: Chunk,
    more: Sequence[Sequence[Request]],
    backend: Backend | None,
    run_seed: int,
) -> list[str | None]:
    """Cache keys of the new requests (None where nothing is cached: a local backend, the
    cache off, a sample whose text is withheld), positioned after the sample's earlier ones."""
    out: list[str | None] = []
    for position, sample in enumerate(chunk.samples):
        before = len(chunk.per_sample[position])
        for offset, request in enumerate(more[position]):
            if not isinstance(backend, ApiBackend) or cache.withholds_text(sample):
                out.append(None)
                continue
            out.append(
                cache.request_key(
                    backend.fingerprint(request),
                    request,
                    run_seed=run_seed,
                    task=task.name,
                    sample_id=sample.id,
                    position=before + offset,
                )
            )
    return out


def answer_from_cache(chunk: Chunk, store: Store) -> int:
    """Fill the new requests the request cache answers, leave the rest to send; the hits."""
    keys = [k for k in (chunk.keys[i] for i in chunk.send) if k]
    hits = store.cached_responses(keys) if keys else {}
    for index in chunk.send:
        key = chunk.keys[index]
        chunk.outcomes[index] = cache.result_from_json(hits[key]) if key in hits else None
    found = sum(chunk.outcomes[i] is not None for i in chunk.send)
    chunk.send = [i for i in chunk.send if chunk.outcomes[i] is None]
    return found
