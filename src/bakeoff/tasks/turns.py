"""Tasks whose later requests depend on the model's earlier answers (a real conversation).

A second turn must see the model's own first answer, through its chat template: its request
cannot be built before the first answer exists. Such a task implements ``next_turn``; the runner
(runner/turns.py) sends ``requests(sample)`` first, then asks ``next_turn`` with every result so
far, sends what it returns to the same model as another stage of the same chunk, and repeats
until it returns nothing. ``score`` and the judges then get all of the sample's results, in the
order they were asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from bakeoff.core.types import Request, Result, Sample


@runtime_checkable
class MultiTurnTask(Protocol):
    def next_turn(self, sample: Sample, results: Sequence[Result]) -> list[Request]:
        """The requests that follow ``results`` (the sample's answers so far, in order); an
        empty list when the sample is complete. Must be deterministic, like ``requests``."""
        ...
