"""Tasks: deterministic probes, generic file tasks and their scoring, on hand-checked examples."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from bakeoff.core.errors import ConfigError, DataError
from bakeoff.core.types import (
    GenerationResult,
    LoglikelihoodResult,
    RollingLoglikelihoodResult,
)
from bakeoff.tasks.base import MetricSpec
from bakeoff.tasks.catalog import TaskSpec, build_task, build_tasks, expand
from bakeoff.tasks.generic import JsonlMultipleChoiceTask, PerplexityTask
from bakeoff.tasks.probes import ArithmeticProbe, NeedleProbe


@pytest.mark.parametrize("name", ["arithmetic", "arithmetic-mc", "needle", "copy"])
def test_probes_are_deterministic_under_a_seed(name: str) -> None:
    first = build_task(TaskSpec(name, "", {"seed": "7", "n": "10"}))
    again = build_task(TaskSpec(name, "", {"seed": "7", "n": "10"}))
    other = build_task(TaskSpec(name, "", {"seed": "8", "n": "10"}))
    assert [s.id for s in first.samples()] == [s.id for s in again.samples()]
    assert [first.requests(s) for s in first.samples()] == [
        again.requests(s) for s in again.samples()
    ]
    assert [first.requests(s) for s in first.samples()] != [
        other.requests(s) for s in other.samples()
    ]
    assert first.template_hash() == again.template_hash()


def test_arithmetic_targets_are_right() -> None:
    for sample in ArithmeticProbe("", {"n": "50"}).samples():
        assert isinstance(sample.input, str)
        a, op, b = sample.input.split()
        expected = {"+": int(a) + int(b), "-": int(a) - int(b), "*": int(a) * int(b)}[op]
        assert sample.target == str(expected)


def test_arithmetic_scoring_extracts_the_number() -> None:
    task = ArithmeticProbe("", {"n": "1"})
    sample = task.samples()[0]
    right = task.score(sample, [GenerationResult(f" {sample.target}\nQ: next")])
    wrong = task.score(sample, [GenerationResult(" 12345")])
    assert right.correct
    assert right.metric_inputs["exact_match"] == (1.0,)
    assert not wrong.correct
    assert wrong.metric_inputs["exact_match"] == (0.0,)


def test_needle_places_fact_at_each_depth() -> None:
    task = NeedleProbe("", {"n": "5", "words": "200"})
    positions = []
    for sample in task.samples():
        assert isinstance(sample.input, str)
        context = sample.input.split("\n\nQuestion:")[0]
        fact = f"is {sample.target}."
        positions.append(context.index(fact) / len(context))
    assert positions == sorted(positions)
    assert positions[0] < 0.1
    assert positions[-1] > 0.9
    assert [s.metadata["depth"] for s in task.samples()] == [0.0, 0.25, 0.5, 0.75, 1.0]


def test_multiple_choice_acc_and_acc_norm(tmp_path: Path) -> None:
    data = tmp_path / "q.jsonl"
    data.write_text('{"id": "q1", "question": "Pick", "choices": ["a", "bbbbbbbb"], "answer": 1}\n')
    task = JsonlMultipleChoiceTask(str(data), {})
    sample = task.samples()[0]
    requests = task.requests(sample)
    assert [r.continuation for r in requests] == [" a", " bbbbbbbb"]
    assert requests[0].context == "Pick\nAnswer:"
    # Choice 0 wins on raw log-likelihood; choice 1 wins per byte (-4/9 > -2/2).
    score = task.score(
        sample, [LoglikelihoodResult(-2.0, False, 1), LoglikelihoodResult(-4.0, False, 3)]
    )
    assert score.metric_inputs == {"acc": (0.0,), "acc_norm": (1.0,)}
    assert score.prediction == "a"
    assert score.target == "bbbbbbbb"


def test_multiple_choice_answer_may_be_text(tmp_path: Path) -> None:
    data = tmp_path / "q.jsonl"
    data.write_text('{"question": "Q", "choices": ["x", "y"], "answer": "y"}\n')
    assert JsonlMultipleChoiceTask(str(data), {}).samples()[0].target == 1


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"question": "Q", "choices": ["x"], "answer": 0}', "list of 2+ strings"),
        ('{"question": "Q", "choices": ["x", "y"], "answer": 5}', "out of range"),
        ('{"question": "Q", "choices": ["x", "y"], "answer": "z"}', "index or one of"),
        ('["not", "an", "object"]', "expected a JSON object"),
    ],
)
def test_multiple_choice_bad_lines(tmp_path: Path, line: str, message: str) -> None:
    data = tmp_path / "q.jsonl"
    data.write_text(line + "\n")
    with pytest.raises(DataError, match=re.escape(message)) as info:
        JsonlMultipleChoiceTask(str(data), {})
    assert f"{data}:1" in str(info.value)


def test_missing_file_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not found"):
        JsonlMultipleChoiceTask(str(tmp_path / "none.jsonl"), {})


def test_perplexity_metrics_by_hand(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("one two three four")
    (tmp_path / "b.txt").write_text("five six")
    task = PerplexityTask(str(tmp_path), {})
    samples = task.samples()
    scores = [
        task.score(samples[0], [RollingLoglikelihoodResult(-8.0, 5)]),
        task.score(samples[1], [RollingLoglikelihoodResult(-4.0, 3)]),
    ]
    rows = {m.name: np.array([s.metric_inputs[m.name] for s in scores]) for m in task.metrics}
    # 12 nats over 6 words; over 18 + 8 = 26 bytes.
    assert task.metric("word_perplexity").aggregate(rows["word_perplexity"]) == pytest.approx(
        np.exp(12 / 6)
    )
    assert task.metric("byte_perplexity").aggregate(rows["byte_perplexity"]) == pytest.approx(
        np.exp(12 / 26)
    )
    assert task.metric("bits_per_byte").aggregate(rows["bits_per_byte"]) == pytest.approx(
        12 / 26 / np.log(2)
    )


def test_corpus_aggregations_match_sklearn_definitions() -> None:
    pred_gold = np.array([[1, 1], [1, 0], [0, 0], [0, 1], [1, 1], [0, 0]], dtype=float)
    # tp=2 fp=1 fn=1 tn=2
    assert MetricSpec("f1", aggregation="f1").aggregate(pred_gold) == pytest.approx(2 * 2 / 6)
    mcc = (2 * 2 - 1 * 1) / np.sqrt(3 * 3 * 3 * 3)
    assert MetricSpec("mcc", aggregation="mcc").aggregate(pred_gold) == pytest.approx(mcc)


def test_task_spec_parsing_and_suites() -> None:
    spec = TaskSpec.parse("mc:data/q.jsonl,name=mine")
    assert spec == TaskSpec("mc", "data/q.jsonl", {"name": "mine"})
    assert [s.name for s in expand([], ["demo"])] == [
        "arithmetic-mc",
        "arithmetic",
        "needle",
        "copy",
        "script-copy",
        "conversation",
        "lambada",
        "mmlu",
        "arc-easy",
        "medqa",
        "legalbench",
        "xcopa",
        "xstest",
        "bbq",
    ]
    with pytest.raises(ConfigError, match="expected key=value"):
        TaskSpec.parse("arithmetic,n")
    with pytest.raises(ConfigError, match="has no option"):
        build_tasks(["arithmetic,colour=red"], [])
