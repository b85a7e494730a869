"""Conversation probes: deterministic generation, structure and scoring rules."""

from __future__ import annotations

import pytest

from bakeoff.core.errors import ConfigError
from bakeoff.core.types import GenerationResult
from bakeoff.tasks.conversation import (
    ConversationProbe,
    is_one_capital_word,
    mentions,
)


def test_same_seed_same_conversations_other_seed_different() -> None:
    a, b = ConversationProbe("", {"seed": "3"}), ConversationProbe("", {"seed": "3"})
    c = ConversationProbe("", {"seed": "4"})
    assert a.samples() == b.samples()
    assert [s.input for s in a.samples()] != [s.input for s in c.samples()]


def test_every_kind_at_every_depth_with_the_right_number_of_turns() -> None:
    task = ConversationProbe("", {"n": "2", "depths": "0+3"})
    samples = task.samples()
    assert len(samples) == 2 * 2 * 4
    cells = {(s.metadata["category"], s.metadata["depth"]) for s in samples}
    assert cells == {(k, d) for k in ("fact", "refer_back", "persona", "format") for d in (0, 3)}
    for sample in samples:
        assert isinstance(sample.input, tuple)
        depth = int(sample.metadata["depth"])
        assert len(sample.input) == 2 + 2 * depth + 1
        assert [m.role for m in sample.input[:2]] == ["user", "assistant"]
        assert sample.input[-1].role == "user"
        assert "base_model_caveat" in sample.metadata
    # The first samples cover every kind and depth, so --limit keeps the mix.
    assert {(s.metadata["category"], s.metadata["depth"]) for s in samples[:8]} == cells


def test_fact_is_stated_only_in_the_opening_turn() -> None:
    task = ConversationProbe("", {"n": "3", "depths": "8", "kinds": "fact+refer_back+persona"})
    for sample in task.samples():
        assert isinstance(sample.input, tuple)
        target = str(sample.target)
        holding = [i for i, m in enumerate(sample.input) if mentions(m.content, target)]
        assert holding == [0]


@pytest.mark.parametrize(
    ("reply", "ok"),
    [("ELEPHANT", True), ("  TIGER.\nIt is big.", True), ("Elephant", False), ("BIG CAT", False)],
)
def test_format_rule(reply: str, ok: bool) -> None:
    assert is_one_capital_word(reply) is ok


def test_scoring_uses_whole_word_matches() -> None:
    task = ConversationProbe("", {"n": "1", "depths": "2", "kinds": "fact"})
    sample = task.samples()[0]
    target = str(sample.target)
    right = task.score(sample, [GenerationResult(f"Your code is {target}.")])
    wrong = task.score(sample, [GenerationResult(f"Your code is {target}0.")])
    assert right.correct is True
    assert right.metric_inputs["acc"] == (1.0,)
    assert wrong.correct is False


@pytest.mark.parametrize("options", [{"depths": "two"}, {"kinds": "gossip"}, {"depths": "-1"}])
def test_bad_options_are_config_errors(options: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        ConversationProbe("", options)
