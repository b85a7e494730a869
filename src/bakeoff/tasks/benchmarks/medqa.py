"""MedQA (USMLE, 4 options), as lm-evaluation-harness's ``medqa_4options``.

Prompt ``Question: {question}\\nA. {a}\\nB. {b}\\nC. {c}\\nD. {d}\\nAnswer:``, choices the letters
A–D (target delimiter " "), acc and acc_norm. Reads the hub copy (GBaker/MedQA-USMLE-4-options-hf:
``sent1``, ``ending0..3``, ``label``) or the original JSONL/CSV layout (``question``, ``options`` as
a dict or a Python dict literal, ``answer_idx`` a letter).
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import ClassVar

from bakeoff.tasks.benchmarks._base import BenchmarkTask, as_int, row_id
from bakeoff.tasks.benchmarks._fewshot import Doc
from bakeoff.tasks.benchmarks._loading import Row
from bakeoff.tasks.generic import ACC, ACC_NORM

LETTERS = ("A", "B", "C", "D")


class MedQA(BenchmarkTask):
    name = "medqa"
    version = "1"
    description = "MedQA USMLE, 4 options: medical licensing exam questions (acc, acc_norm)."
    source = "MedQA (Jin et al. 2021), US 4-option set (GBaker/MedQA-USMLE-4-options-hf)"
    license = "MIT (upstream MedQA)"
    reference = "lm-eval medqa_4options"
    template = "Question: {sent1}\nA. {ending0}\nB. {ending1}\nC. {ending2}\nD. {ending3}\nAnswer:"
    hub_path = "GBaker/MedQA-USMLE-4-options-hf"
    eval_split = "test"
    fewshot_split = "train"
    split_stems: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "test": ("medqa_us/test", "medqa/test"),
        "train": ("medqa_us/train", "medqa/train"),
    }
    metrics = (ACC, ACC_NORM)
    primary_metric = "acc"

    def to_doc(self, row: Row, index: int, split: str) -> Doc:
        question, options, gold = _fields(row)
        answers = "".join(
            f"{letter}. {option}\n" for letter, option in zip(LETTERS, options, strict=True)
        )
        return Doc(
            row_id(row, index, split), f"Question: {question}\n{answers}Answer:", LETTERS, gold
        )


def _fields(row: Row) -> tuple[str, list[str], int]:
    if "sent1" in row:
        return str(row["sent1"]), [str(row[f"ending{i}"]) for i in range(4)], as_int(row["label"])
    options = row["options"]
    if isinstance(options, str):
        options = ast.literal_eval(options)  # the CSV copy stores a Python dict literal
    if not isinstance(options, dict) or sorted(options) != list(LETTERS):
        raise ValueError("'options' must map exactly the letters A-D to answers")
    return (
        str(row["question"]),
        [str(options[k]) for k in LETTERS],
        LETTERS.index(str(row["answer_idx"]).strip()),
    )
