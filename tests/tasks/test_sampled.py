"""``sample=N``: a seeded, stratified subset of any task, its identity and what the guide says."""

from __future__ import annotations

import pytest

from bakeoff.core.errors import ConfigError
from bakeoff.core.types import Sample
from bakeoff.tasks.catalog import TaskSpec, build_task
from bakeoff.tasks.conversation import ConversationProbe
from bakeoff.tasks.sampled import SampledTask, half_width_at_50, sample_note, seeded_sample


def _samples(groups: dict[str, int]) -> list[Sample]:
    return [
        Sample(f"{group}-{i}", "x", "y", metadata={"language": group})
        for group, n in groups.items()
        for i in range(n)
    ]


def test_the_draw_keeps_every_group_and_depends_on_ids_and_seed_only() -> None:
    population = _samples({"a": 30, "b": 30, "c": 3})
    drawn = seeded_sample(population, 12, seed=0)
    counts = {g: sum(s.metadata["language"] == g for s in drawn) for g in "abc"}
    assert counts == {"a": 5, "b": 4, "c": 3}  # round robin: a small group is taken whole
    assert seeded_sample(list(reversed(population)), 12, seed=0) == drawn  # file order: no matter
    assert seeded_sample(population, 12, seed=1) != drawn
    assert seeded_sample(population, 12, seed=0)[:6] == seeded_sample(population, 6, seed=0)
    assert len(seeded_sample(population, 500, seed=0)) == len(population)


def test_interval_width_is_computed_from_n() -> None:
    assert round(half_width_at_50(40) * 100) == 15
    assert round(half_width_at_50(100) * 100) == 10
    assert round(half_width_at_50(400) * 100) == 5
    note = sample_note(40, 5153, 0)
    assert "40 of the 5,153 items (seed 0)" in note
    assert "estimates" in note
    assert "about ±15 points wide at 50%" in note
    assert sample_note(50, 24, 0) == "all 24 items (sample=50 covers the whole set)"


def test_a_sampled_task_stays_its_class_with_its_own_identity() -> None:
    full = build_task(TaskSpec.parse("conversation,n=3"))
    task = build_task(TaskSpec.parse("conversation,n=3,sample=8"))
    assert isinstance(task, ConversationProbe)
    assert isinstance(task, SampledTask)
    assert task.kind is full.kind
    assert len(task.samples()) == 8
    assert {s.id for s in task.samples()} <= {s.id for s in full.samples()}
    # Every depth and kind is kept (the strata the guide breaks results down by).
    assert {s.metadata["depth"] for s in task.samples()} == {2, 8, 32}
    assert task.template_hash() != full.template_hash()
    assert (
        task.template_hash()
        == build_task(TaskSpec.parse("conversation,n=3,sample=8")).template_hash()
    )
    assert (
        task.template_hash()
        != build_task(TaskSpec.parse("conversation,n=3,sample=8,sample_seed=1")).template_hash()
    )
    manifest = task.manifest()
    assert manifest["template_hash"] == task.template_hash()
    assert manifest["config"] == {**full.config(), "sample": 8, "sample_seed": 0}
    assert manifest["sample"] == {
        "size": 8,
        "requested": 8,
        "population": 36,
        "seed": 0,
        "strata": list(manifest["sample"]["strata"]),  # type: ignore[index, call-overload]
    }
    assert "a seeded sample of 8 of the 36 items (seed 0)" in str(manifest["source"])
    # Requests and scores are the task's own.
    sample = task.samples()[0]
    assert task.requests(sample) == full.requests(sample)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("arithmetic,sample=0", "must be at least 1"),
        ("arithmetic,sample=many", "must be an integer"),
        ("arithmetic,sample_seed=3", "needs sample=N"),
    ],
)
def test_bad_sample_options_are_config_errors(spec: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_task(TaskSpec.parse(spec))
