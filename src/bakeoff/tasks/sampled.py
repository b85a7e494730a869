"""``sample=N``: any task measured on a small, fixed, seeded subset of its samples.

``bakeoff demo`` runs its benchmarks this way (``lambada,sample=40``), so that a whole guide
fits in a few minutes on a laptop. The figures are then estimates on a sample: the task's source
line says so, with the width of the 95% interval that n gives for an accuracy near 50%.

The draw depends on the samples' ids and the seed only (``sample_seed=``, default 0), never on
the order of the data file or on whether it came from the hub or a local copy. Samples are
grouped by the metadata the guide breaks results down by (language, subject, LegalBench task,
category, context condition, depth, script); each group is ordered by a hash of (seed, id) and
the groups are taken in turn, so every group keeps its share and a ``--limit`` on top still
covers them all. A task built with ``sample=`` is another run than the full task: the sample
size and seed are part of its configuration, hence of the run's identity.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence

from bakeoff.core.errors import ConfigError
from bakeoff.core.types import JSONValue, Sample
from bakeoff.tasks.base import Task

STRATA = ("language", "subject", "task", "category", "context_condition", "depth", "script")
"""Metadata keys a sample is grouped by before the draw (those it carries)."""


def seeded_sample(samples: Sequence[Sample], size: int, seed: int) -> list[Sample]:
    """``size`` of ``samples`` (all of them when there are fewer), drawn as the module says."""
    groups: dict[tuple[str, ...], list[Sample]] = {}
    for sample in samples:
        key = tuple(str(sample.metadata.get(k)) for k in STRATA)
        groups.setdefault(key, []).append(sample)
    for members in groups.values():
        members.sort(key=lambda s: _draw_key(seed, s.id))
    drawn: list[Sample] = []
    queues = [groups[key] for key in sorted(groups)]  # not file order: the ids decide
    depth = 0
    while len(drawn) < size and any(depth < len(q) for q in queues):
        drawn.extend(q[depth] for q in queues if depth < len(q))
        depth += 1
    return drawn[:size]


def _draw_key(seed: int, sample_id: str) -> str:
    return hashlib.sha256(f"bakeoff-sample:{seed}:{sample_id}".encode()).hexdigest()


def half_width_at_50(n: int) -> float:
    """Half the width of the 95% Wilson interval of an accuracy of 50% over n samples."""
    from bakeoff.stats import wilson_interval  # scipy: only when a sampled task is described

    interval = wilson_interval(n // 2, n)
    return (interval.high - interval.low) / 2


def sample_note(size: int, population: int, seed: int) -> str:
    """What the guide says of a sampled task: its n, that its figures are estimates, and the
    width of the interval that n gives."""
    if size >= population:
        return f"all {population:,} items (sample={size} covers the whole set)"
    points = half_width_at_50(size) * 100
    return (
        f"a seeded sample of {size:,} of the {population:,} items (seed {seed}), so the figures "
        f"are estimates: with n={size} a 95% interval is about ±{points:.0f} points wide at 50%"
    )


class SampledTask(Task):
    """What a task measured on a sample adds to its own class: the drawn samples, the sample in
    its configuration (hence the run's identity) and the sample note in its manifest.

    :func:`sampled` turns a built task into one: it stays an instance of its own class (the
    runner and the plan check task types and protocols: multi-turn, judge-graded), now through a
    subclass that puts this class first in the method order.
    """

    sample_size: int
    sample_seed: int
    population: int
    data_origins: tuple[str, ...]
    _drawn: list[Sample]

    def samples(self) -> Sequence[Sample]:
        return self._drawn

    def config(self) -> dict[str, JSONValue]:
        return {**super().config(), "sample": self.sample_size, "sample_seed": self.sample_seed}

    def manifest(self) -> dict[str, JSONValue]:
        out = super().manifest()
        note = sample_note(self.sample_size, self.population, self.sample_seed)
        source = str(out.get("source") or "").rstrip(". ")
        out["source"] = f"{source}. Measured on {note}" if source else f"Measured on {note}"
        out["sample"] = {
            "size": len(self._drawn),
            "requested": self.sample_size,
            "population": self.population,
            "seed": self.sample_seed,
            "strata": list(STRATA),
        }
        if self.data_origins:
            out["data_origins"] = list(self.data_origins)
        return out


@functools.cache
def _sampled_class(task_class: type[Task]) -> type[SampledTask]:
    return type(
        f"Sampled{task_class.__name__}", (SampledTask, task_class), {"__module__": __name__}
    )


def sampled(task: Task, size: int, seed: int = 0, origins: Sequence[str] = ()) -> SampledTask:
    """``task``, just built, now measured on a seeded sample of ``size`` of its samples."""
    if size < 1:
        raise ConfigError(f"task '{task.name}': sample={size} must be at least 1")
    population = list(task.samples())
    task.__class__ = _sampled_class(type(task))
    assert isinstance(task, SampledTask)
    task.sample_size, task.sample_seed = size, seed
    task.population = len(population)
    task.data_origins = tuple(dict.fromkeys(origins))
    task._drawn = seeded_sample(population, size, seed)
    return task
