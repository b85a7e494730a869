"""ARC-Easy and ARC-Challenge (allenai/ai2_arc), as lm-evaluation-harness's ``arc_easy`` /
``arc_challenge`` (v1.0): ``Question: {question}\\nAnswer:``, choices the answer texts, gold
``choices.label.index(answerKey)``, acc and acc_norm; test split, few-shot from train.

Reads the hub layout (``question`` a string, ``choices: {text, label}``) and the original ARC
JSONL (``question: {stem, choices: [{text, label}]}``, as in the shared copy). Files are found
under bakeoff's own names (``arc_easy/test``), AI2's (``ARC-Easy/ARC-Easy-Test.jsonl``, as the
release unpacks, ``ARC-Easy-Test.jsonl`` in the folder given, or ``ARC-Easy/Test.jsonl``) and the
hub's (``ARC-Easy/test-00000-of-00001.parquet``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from bakeoff.tasks.benchmarks._base import BenchmarkTask, row_id
from bakeoff.tasks.benchmarks._fewshot import Doc
from bakeoff.tasks.benchmarks._loading import Row
from bakeoff.tasks.generic import ACC, ACC_NORM

_AI2_SPLIT = {"test": "Test", "train": "Train", "validation": "Dev"}


def arc_stems(config: str, short: str) -> dict[str, tuple[str, ...]]:
    """Where a split of ``config`` (ARC-Easy, ARC-Challenge) may lie, for each split: bakeoff's
    layout, AI2's release (unpacked, or its folder given as the data directory) and the hub's."""
    stems: dict[str, tuple[str, ...]] = {}
    for split, ai2 in _AI2_SPLIT.items():
        stems[split] = (
            f"{short}/{split}",
            f"{config}/{config}-{ai2}",
            f"ARC-V1-Feb2018-2/{config}/{config}-{ai2}",
            f"{config}-{ai2}",
            f"{config}/{ai2}",
            f"{config}/{split}-00000-of-00001",
            f"ai2_arc/{config}/{split}-00000-of-00001",
        )
    return stems


class ArcEasy(BenchmarkTask):
    name = "arc-easy"
    version = "1"
    description = "ARC-Easy: grade-school science questions (acc, acc_norm)."
    source = "AI2 Reasoning Challenge (Clark et al. 2018), allenai/ai2_arc"
    license = "CC BY-SA 4.0"
    reference = "lm-eval arc_easy v1.0"
    template = "Question: {question}\nAnswer:"
    hub_path = "allenai/ai2_arc"
    hub_name = "ARC-Easy"
    eval_split = "test"
    fewshot_split = "train"
    split_stems: ClassVar[Mapping[str, tuple[str, ...]]] = arc_stems("ARC-Easy", "arc_easy")
    metrics = (ACC, ACC_NORM)
    primary_metric = "acc"

    def to_doc(self, row: Row, index: int, split: str) -> Doc:
        question = row["question"]
        if isinstance(question, dict):  # original ARC JSONL
            stem = str(question["stem"])
            texts = [str(c["text"]) for c in question["choices"]]
            labels = [str(c["label"]) for c in question["choices"]]
        else:
            stem = str(question)
            texts = [str(t) for t in row["choices"]["text"]]
            labels = [str(label) for label in row["choices"]["label"]]
        gold = labels.index(str(row["answerKey"]))
        return Doc(row_id(row, index, split), f"Question: {stem}\nAnswer:", tuple(texts), gold)


class ArcChallenge(ArcEasy):
    name = "arc-challenge"
    description = "ARC-Challenge: harder grade-school science questions (acc, acc_norm)."
    reference = "lm-eval arc_challenge v1.0"
    hub_name = "ARC-Challenge"
    split_stems: ClassVar[Mapping[str, tuple[str, ...]]] = arc_stems(
        "ARC-Challenge", "arc_challenge"
    )
