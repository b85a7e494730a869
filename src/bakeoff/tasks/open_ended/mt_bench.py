"""MT-Bench: 80 two-turn questions in 8 categories, each turn graded 1–10 by the run's judges.

Both turns are a real conversation: the model answers the first question, then gets the second
with its own first answer before it (``next_turn``; the backend renders the messages with the
model's chat template). Each answer is graded by every judge (``--judge``); the second with the
whole conversation shown. For math, reasoning and coding the judge also sees the reference
answers (``reference_answer/gpt-4.jsonl``), as MT-Bench does.

Data: ``mt-bench[:DIR]`` where DIR holds ``question.jsonl`` and ``reference_answer/gpt-4.jsonl``
(lm-sys/FastChat's files); default ``$BAKEOFF_DATA_DIR/mt_bench``. Options: ``max_tokens``
(each answer, default 1024), ``judge_max_tokens`` (default 512), ``categories``
(``+``-separated), ``sanity`` (1, the default: every question carries a control pair; 0: none).
Samples keep the file's order, so ``--limit 16`` is its first 16 questions.

Sanity control: with each question, every judge also grades two answers to one of the 30
reference questions (taken in turn, whatever the categories asked): its reference answer, and a
known-worse one, the reference cut to its first third (long references) or the reference answer
of another question. A judge that grades the known-worse one as high or higher fails that
control; its accuracy over the run decides whether the guide may name a winner
(stats/judge_checks.py). The controls are the same texts for every model, so an API judge's
replies about them come from the request cache after the first model.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bakeoff.core.errors import ConfigError, DataError
from bakeoff.core.types import (
    ChatMessage,
    GenerateRequest,
    GenerationResult,
    JSONValue,
    Request,
    Result,
    Sample,
)
from bakeoff.tasks.data import read_jsonl
from bakeoff.tasks.generic import int_option, reject_unknown_options
from bakeoff.tasks.open_ended import _prompts
from bakeoff.tasks.open_ended._graded import GradedTask

CATEGORIES = (
    "writing",
    "roleplay",
    "reasoning",
    "math",
    "coding",
    "extraction",
    "stem",
    "humanities",
)
REFERENCE_CATEGORIES = frozenset({"math", "reasoning", "coding"})
"""Where MT-Bench shows the judge a reference answer."""


def default_folder() -> Path:
    return Path(os.environ.get("BAKEOFF_DATA_DIR", "data")) / "mt_bench"


class MtBench(GradedTask):
    name = "mt-bench"
    version = "1"
    description = (
        "MT-Bench: two-turn open questions (the second turn sees the model's own first answer), "
        "each answer graded 1-10 by the judges; reference answers shown to the judge for math, "
        "reasoning and coding"
    )
    source = (
        "MT-Bench (Zheng et al., 2023), lm-sys/FastChat, Apache-2.0: question.jsonl and the "
        "GPT-4 reference answers"
    )
    grade_names = ("turn1", "turn2")

    def __init__(self, arg: str = "", options: Mapping[str, str] | None = None) -> None:
        options = dict(options or {})
        known = {"max_tokens", "judge_max_tokens", "categories", "sanity"}
        reject_unknown_options(self.name, options, known)
        self.sanity = int_option(options, "sanity", 1, minimum=0, maximum=1) == 1
        super().__init__(options)
        self.categories = _categories(options.get("categories", ""))
        folder = Path(arg) if arg else default_folder()
        self._samples = _load(folder, self.categories, controls_too=self.sanity)

    def samples(self) -> Sequence[Sample]:
        return self._samples

    def requests(self, sample: Sample) -> list[Request]:
        return [GenerateRequest((ChatMessage("user", _turns(sample)[0]),), self.settings)]

    def next_turn(self, sample: Sample, results: Sequence[Result]) -> list[Request]:
        if len(results) != 1:
            return []
        first, second = _turns(sample)
        messages = (
            ChatMessage("user", first),
            ChatMessage("assistant", _text(results[0])),
            ChatMessage("user", second),
        )
        return [GenerateRequest(messages, self.settings)]

    def grade_prompts(self, sample: Sample, results: Sequence[Result]) -> list[str]:
        first, second = _turns(sample)
        answers = [_text(r) for r in results]
        if len(answers) != 2:
            raise ValueError(f"{self.name} {sample.id}: expected 2 answers, got {len(answers)}")
        references = sample.metadata.get("reference")
        conversation = _prompts.conversation_text(
            [
                ChatMessage("user", first),
                ChatMessage("assistant", answers[0]),
                ChatMessage("user", second),
                ChatMessage("assistant", answers[1]),
            ]
        )
        if isinstance(references, list) and len(references) == 2:
            both = f"### Reference answer to question 1:\n{references[0]}\n\n"
            both += f"### Reference answer to question 2:\n{references[1]}"
            return [
                _prompts.WITH_REFERENCE.format(
                    question=first, reference=references[0], answer=answers[0]
                ),
                _prompts.SECOND_TURN_WITH_REFERENCE.format(
                    reference=both, conversation=conversation
                ),
            ]
        return [
            _prompts.GENERAL.format(question=first, answer=answers[0]),
            _prompts.SECOND_TURN.format(conversation=conversation),
        ]

    def has_controls(self) -> bool:
        return self.sanity

    def control_prompts(self, sample: Sample) -> list[str]:
        control = sample.metadata.get("control") if self.sanity else None
        if not isinstance(control, dict):
            return []
        question = str(control["question"])
        return [
            _prompts.GENERAL.format(question=question, answer=control["better"]),
            _prompts.GENERAL.format(question=question, answer=control["worse"]),
        ]

    def config(self) -> dict[str, JSONValue]:
        return {"categories": list(self.categories), "sanity": self.sanity, **self.judge_config()}


def _turns(sample: Sample) -> tuple[str, str]:
    turns = sample.metadata["turns"]
    return str(turns[0]), str(turns[1])


def _text(result: Result) -> str:
    if not isinstance(result, GenerationResult):
        raise TypeError("expected a generation result")
    return result.text


def _categories(raw: str) -> tuple[str, ...]:
    if not raw.strip():
        return CATEGORIES
    chosen = tuple(part.strip() for part in raw.split("+") if part.strip())
    unknown = [c for c in chosen if c not in CATEGORIES]
    if unknown:
        raise ConfigError(
            f"mt-bench: unknown categories {', '.join(unknown)} (known: {', '.join(CATEGORIES)})"
        )
    return chosen


TRUNCATE_FROM = 200
"""A reference of at least this many characters is cut to make a control's worse answer;
a shorter one (a number, a word) is paired with another question's reference instead."""


def controls(rows: Sequence[tuple[Any, str, str]]) -> list[dict[str, JSONValue]]:
    """Control pairs from (question id, first question, first reference answer) rows: the
    i-th is reference i against a cut copy of it (odd i, long references) or against reference
    i + 1 (an answer to another question)."""
    out: list[dict[str, JSONValue]] = []
    for i, (question_id, question, reference) in enumerate(rows):
        if i % 2 and len(reference) >= TRUNCATE_FROM:
            words = reference.split()
            worse, kind = " ".join(words[: max(1, len(words) // 3)]), "truncated"
        else:
            worse, kind = rows[(i + 1) % len(rows)][2], "other question"
        out.append(
            {
                "question_id": question_id,
                "kind": kind,
                "question": question,
                "better": reference,
                "worse": worse,
            }
        )
    return out


def _load(folder: Path, categories: Sequence[str], *, controls_too: bool = True) -> list[Sample]:
    questions = folder / "question.jsonl"
    if not questions.is_file():
        raise DataError(
            f"mt-bench: {questions} not found; give the folder holding FastChat's "
            "question.jsonl and reference_answer/gpt-4.jsonl as mt-bench:DIR, or set "
            "BAKEOFF_DATA_DIR to the folder above mt_bench/"
        )
    references = _references(folder / "reference_answer" / "gpt-4.jsonl")
    samples: list[Sample] = []
    rows = read_jsonl(questions, "MT-Bench questions")
    with_reference = [
        (row.get("question_id"), str(row["turns"][0]), references[row.get("question_id")][0])
        for _, row in rows
        if row.get("category") in REFERENCE_CATEGORIES
        and row.get("question_id") in references
        and isinstance(row.get("turns"), list)
        and row["turns"]
    ]
    pairs = controls(with_reference) if controls_too and with_reference else []
    for lineno, row in rows:
        question_id, category, turns = row.get("question_id"), row.get("category"), row.get("turns")
        if (
            not isinstance(turns, list)
            or len(turns) != 2
            or not all(isinstance(t, str) for t in turns)
        ):
            raise DataError(f"{questions}:{lineno}: expected 'turns' with two questions")
        if category not in categories:
            continue
        metadata: dict[str, JSONValue] = {
            "category": str(category),
            "question_id": question_id,
            "turns": list(turns),
        }
        if category in REFERENCE_CATEGORIES:
            if question_id not in references:
                raise DataError(f"mt-bench: no reference answer for {category} {question_id}")
            metadata["reference"] = references[question_id]
        if pairs:
            metadata["control"] = pairs[len(samples) % len(pairs)]
        samples.append(
            Sample(str(question_id), (ChatMessage("user", turns[0]),), metadata=metadata)
        )
    return samples


def _references(path: Path) -> dict[Any, list[str]]:
    if not path.is_file():
        raise DataError(f"mt-bench: reference answers {path} not found")
    out: dict[Any, list[str]] = {}
    for lineno, row in read_jsonl(path, "MT-Bench reference answers"):
        try:
            turns = row["choices"][0]["turns"]
        except (KeyError, IndexError, TypeError):
            raise DataError(f"{path}:{lineno}: expected choices[0].turns") from None
        out[row.get("question_id")] = [str(t) for t in turns]
    return out
