"""A chunk: samples of one task sent to one model together, and what came back for them."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Sequence
from dataclasses import dataclass, field

from bakeoff.core.types import Request, Sample
from bakeoff.runner.executor import Outcome
from bakeoff.runner.judging import JudgeBatch


@dataclass(slots=True)
class Chunk:
    """Samples sent together: their requests, cache keys, and outcomes as they arrive; for a
    judged task, then each judge's batch about them (its second stage)."""

    samples: Sequence[Sample]
    per_sample: list[list[Request]]
    flat: list[Request]
    keys: list[str | None]
    outcomes: list[Outcome | None]
    send: list[int]
    reserved: float = 0.0
    future: concurrent.futures.Future[list[Outcome]] | None = None
    judged: list[int] = field(default_factory=list)
    """Positions of the samples judged (those whose model requests all succeeded)."""
    batches: list[JudgeBatch] = field(default_factory=list)
    judging: int = 0
    """Judge batches still to come back."""

    def sample_outcomes(self, position: int) -> list[Outcome]:
        start = sum(len(r) for r in self.per_sample[:position])
        mine = self.outcomes[start : start + len(self.per_sample[position])]
        return [o for o in mine if o is not None]

    def add_requests(self, more: Sequence[Sequence[Request]], keys: Sequence[str | None]) -> None:
        """Append ``more[i]`` to sample i's requests (a later turn; ``keys`` flat, in sample
        order): what came back stays, and only the new requests are to be sent."""
        flat: list[Request] = []
        all_keys: list[str | None] = []
        outcomes: list[Outcome | None] = []
        send: list[int] = []
        new_keys = iter(keys)
        start = 0
        for position, requests in enumerate(self.per_sample):
            end = start + len(requests)
            flat += requests
            all_keys += self.keys[start:end]
            outcomes += self.outcomes[start:end]
            for request in more[position]:
                send.append(len(flat))
                flat.append(request)
                all_keys.append(next(new_keys))
                outcomes.append(None)
            self.per_sample[position] = [*requests, *more[position]]
            start = end
        self.flat, self.keys, self.outcomes, self.send = flat, all_keys, outcomes, send
