"""Graded open-ended tasks on their own: data loading, judge prompts, verdict parsing, scoring."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bakeoff.core.errors import ConfigError, DataError
from bakeoff.core.model import ModelSpec
from bakeoff.core.types import (
    GenerateRequest,
    GenerationResult,
    RequestFailure,
)
from bakeoff.scoring.grades import parse_grade
from bakeoff.tasks.catalog import TaskSpec, build_task
from bakeoff.tasks.open_ended import _prompts
from bakeoff.tasks.open_ended._graded import graded_mean
from bakeoff.tasks.open_ended.mt_bench import MtBench, controls
from bakeoff.tasks.open_ended.rubric import RubricTask

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "mt_bench"


def write_mt_bench(folder: Path, more_writing: int = 0) -> Path:
    """Three made-up questions in FastChat's format: writing, math (with a reference), coding;
    then ``more_writing`` writing questions (ids 100, 101, ...)."""
    (folder / "reference_answer").mkdir(parents=True)
    questions = [
        {"question_id": 1, "category": "writing", "turns": ["Write a haiku.", "Now a limerick."]},
        {"question_id": 2, "category": "math", "turns": ["What is 2+2?", "And 3+3?"]},
        {"question_id": 3, "category": "coding", "turns": ["Reverse a list.", "In place?"]},
    ]
    questions += [
        {"question_id": 100 + i, "category": "writing", "turns": [f"Write poem {i}.", "Shorter."]}
        for i in range(more_writing)
    ]
    references = [
        {"question_id": 2, "choices": [{"index": 0, "turns": ["4", "6"]}]},
        {"question_id": 3, "choices": [{"index": 0, "turns": ["xs[::-1]", "xs.reverse()"]}]},
    ]
    (folder / "question.jsonl").write_text("\n".join(json.dumps(q) for q in questions) + "\n")
    (folder / "reference_answer" / "gpt-4.jsonl").write_text(
        "\n".join(json.dumps(r) for r in references) + "\n"
    )
    return folder


@pytest.mark.parametrize(
    ("reply", "grade"),
    [
        ("Fine answer. Rating: [[7]]", 7.0),
        ("Rating: [[ 8.5 ]]", 8.5),
        ('Use "Rating: [[5]]". My verdict: Rating: [[2]]', 2.0),  # the last one is the verdict
        ("I would give it a 7.", None),
        ("Rating: [7]", None),
        ("Rating: [[11]]", None),
        ("Rating: [[0]]", None),
        ("", None),
    ],
)
def test_a_grade_is_read_only_from_double_brackets_in_range(reply: str, grade: float) -> None:
    assert parse_grade(reply) == grade


def test_graded_mean_leaves_out_answers_no_judge_could_grade() -> None:
    values = np.array([[8.0, 1.0], [0.0, 0.0], [4.0, 1.0]])
    assert graded_mean(values) == 6.0  # not (8 + 0 + 4) / 3
    assert np.isnan(graded_mean(np.array([[0.0, 0.0]])))


def test_mt_bench_turns_references_and_prompts(tmp_path: Path) -> None:
    task = MtBench(str(write_mt_bench(tmp_path / "mt")), {"max_tokens": "64"})
    samples = task.samples()
    assert [s.id for s in samples] == ["1", "2", "3"]
    writing, math, _ = samples
    (first,) = task.requests(math)
    assert isinstance(first, GenerateRequest)
    assert [(m.role, m.content) for m in first.prompt] == [("user", "What is 2+2?")]
    answer = GenerationResult("It is 4.")
    (second,) = task.next_turn(math, [answer])
    assert isinstance(second, GenerateRequest)
    # The second turn is a conversation holding the model's own first answer.
    assert [(m.role, m.content) for m in second.prompt] == [
        ("user", "What is 2+2?"),
        ("assistant", "It is 4."),
        ("user", "And 3+3?"),
    ]
    assert second.settings.max_tokens == 64
    assert task.next_turn(math, [answer, GenerationResult("6")]) == []
    # Math gets the reference answers; writing does not.
    task.use_judges([ModelSpec.parse("j=mock:j")])
    math_prompts = task.grade_prompts(math, [answer, GenerationResult("Six.")])
    assert "[The Start of the Reference Answer]\n4\n" in math_prompts[0]
    assert "Reference answer to question 2:\n6" in math_prompts[1]
    assert "### Assistant:\nSix." in math_prompts[1]
    writing_prompts = task.grade_prompts(writing, [answer, GenerationResult("x")])
    assert not any("Reference" in p for p in writing_prompts)
    requests = task.judge_requests(writing, [answer, GenerationResult("x")])
    assert len(requests) == 4  # two turns, then the control pair (better, worse)
    control = writing.metadata["control"]
    assert (control["question_id"], control["better"], control["worse"]) == (2, "4", "xs[::-1]")
    assert math.metadata["control"]["question_id"] == 3  # the controls are taken in turn
    assert len(MtBench(str(tmp_path / "mt"), {"sanity": "0"}).judge_requests(
        writing, [answer, GenerationResult("x")])) == 2  # fmt: skip
    assert all(isinstance(r, GenerateRequest) and r.settings.temperature == 0 for r in requests)


def test_the_judge_prompt_is_versioned_and_hashed_into_the_identity(tmp_path: Path) -> None:
    task = MtBench(str(write_mt_bench(tmp_path / "mt")))
    task.use_judges([ModelSpec.parse("j=mock:j")])
    manifest = task.manifest()
    config = manifest["config"]
    assert config["judge_prompt_version"] == _prompts.JUDGE_PROMPT_VERSION
    assert config["judge_prompt_sha256"] == _prompts.prompt_hash()
    assert manifest["judges"] == {"j": "j=mock:j"}
    other = MtBench(str(tmp_path / "mt"))
    other.use_judges([ModelSpec.parse("k=mock:k")])
    assert other.template_hash() != task.template_hash()  # another judge is another run


def test_unparsable_and_failed_verdicts_are_counted_never_defaulted(tmp_path: Path) -> None:
    task = MtBench(str(write_mt_bench(tmp_path / "mt")))
    task.use_judges([ModelSpec.parse("a=mock:a"), ModelSpec.parse("b=mock:b")])
    sample = task.samples()[0]
    answers = [GenerationResult("one"), GenerationResult("two")]
    verdicts = {
        "a": [GenerationResult("ok. Rating: [[8]]"), GenerationResult("no grade here")],
        "b": [GenerationResult("Rating: [[6]]"), RequestFailure("HTTP 500")],
    }
    score = task.score_judged(sample, answers, verdicts)
    assert score.metric_inputs["turn1"] == (7.0, 1.0)
    assert score.metric_inputs["turn2"] == (0.0, 0.0)  # no judge could grade it: left out
    assert score.metric_inputs["score"] == (7.0, 1.0)
    assert score.metric_inputs["unparsable"] == (0.25,)
    assert score.metric_inputs["judge_failed"] == (0.25,)
    assert score.details["grades"] == {"a": [8.0, None], "b": [6.0, None]}
    assert score.prediction.startswith("one")
    assert score.prediction.endswith("two")


def test_control_pairs_cut_long_references_and_swap_short_ones() -> None:
    long = " ".join(f"word{i}" for i in range(60))
    rows = [(1, "q1", "short"), (2, "q2", long), (3, "q3", "tiny")]
    pairs = controls(rows)
    assert [p["kind"] for p in pairs] == ["other question", "truncated", "other question"]
    assert pairs[0]["worse"] == long
    assert pairs[1]["worse"] == " ".join(f"word{i}" for i in range(20))
    assert pairs[2]["worse"] == "short"  # the next reference, wrapping around


def test_sanity_per_judge_counts_an_unreadable_control_against_it(tmp_path: Path) -> None:
    task = MtBench(str(write_mt_bench(tmp_path / "mt")))
    judges = [ModelSpec.parse(f"{j}=mock:{j}") for j in ("good", "tied", "mute")]
    task.use_judges(judges)
    sample = task.samples()[0]
    turns = [GenerationResult("Rating: [[5]]")] * 2
    verdicts = {
        "good": [*turns, GenerationResult("[[9]]"), GenerationResult("[[2]]")],
        "tied": [*turns, GenerationResult("[[7]]"), GenerationResult("[[7]]")],
        "mute": [*turns, GenerationResult("[[9]]"), GenerationResult("no idea")],
    }
    score = task.score_judged(sample, [GenerationResult("a"), GenerationResult("b")], verdicts)
    assert score.details["sanity"] == {"good": True, "tied": False, "mute": None}
    assert score.metric_inputs["sanity_good"] == (1.0,)
    assert score.metric_inputs["sanity_tied"] == (0.0,)
    assert score.metric_inputs["sanity_mute"] == (0.0,)  # unreadable: against the judge
    assert [m.name for m in task.metrics][-3:] == ["sanity_good", "sanity_tied", "sanity_mute"]
    assert all(m.criterion == "none" for m in task.metrics)  # judged quality: not in profiles
    assert score.metric_inputs["unparsable"] == (0.0,)  # the answers' verdicts all readable


def test_mt_bench_bad_data_and_options(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"question\.jsonl"):
        MtBench(str(tmp_path / "nothing"))
    folder = write_mt_bench(tmp_path / "mt")
    with pytest.raises(ConfigError, match="unknown categories"):
        MtBench(str(folder), {"categories": "poetry"})
    with pytest.raises(ConfigError, match="no option"):
        MtBench(str(folder), {"turns": "3"})
    only_math = MtBench(str(folder), {"categories": "math"})
    assert [s.id for s in only_math.samples()] == ["2"]
    (folder / "reference_answer" / "gpt-4.jsonl").write_text("")
    with pytest.raises(DataError, match="no reference answer for math 2"):
        MtBench(str(folder))


@pytest.mark.skipif(not SHARED.is_dir(), reason="the shared MT-Bench copy is not here")
def test_the_published_mt_bench_loads_80_questions_30_with_references() -> None:
    task = build_task(TaskSpec.parse(f"mt-bench:{SHARED}"))
    samples = task.samples()
    assert len(samples) == 80
    assert sum("reference" in s.metadata for s in samples) == 30
    assert {s.metadata["category"] for s in samples} == {
        "writing", "roleplay", "reasoning", "math", "coding", "extraction", "stem", "humanities"
    }  # fmt: skip


def test_rubric_file_prompts_conversations_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "mine.jsonl"
    rows = [
        {"prompt": "Explain DNS.", "rubric": "Mentions resolvers.", "category": "tech"},
        {
            "messages": [
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello!"},
                {"role": "user", "content": "Plan my week."},
            ],
            "rubric": "Asks about constraints.",
        },
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    task = build_task(TaskSpec.parse(f"rubric:{path},name=mine"))
    assert isinstance(task, RubricTask)
    assert task.name == "mine"
    assert [m.name for m in task.metrics] == ["score", "unparsable", "judge_failed"]
    second = task.samples()[1]
    (prompt,) = task.grade_prompts(second, [GenerationResult("Sure.")])
    assert "[Rubric]\nAsks about constraints." in prompt
    assert "### Assistant:\nHello!" in prompt
    assert prompt.rstrip().endswith("### Assistant:\nSure.\n\n[The End of the Conversation]")
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"prompt": "no rubric"}) + "\n")
    with pytest.raises(DataError, match="rubric"):
        RubricTask(str(bad))
    bad.write_text(
        json.dumps({"messages": [{"role": "assistant", "content": "x"}], "rubric": "r"}) + "\n"
    )
    with pytest.raises(DataError, match="last message must be the user's"):
        RubricTask(str(bad))
