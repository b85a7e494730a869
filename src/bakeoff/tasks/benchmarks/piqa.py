"""PIQA (baber/piqa), as lm-evaluation-harness's ``piqa`` (v1.0): ``Question: {goal}\\nAnswer:``,
choices ``[sol1, sol2]``, acc and acc_norm; validation split, few-shot from train."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from bakeoff.tasks.benchmarks._base import BenchmarkTask, as_int, row_id
from bakeoff.tasks.benchmarks._fewshot import Doc
from bakeoff.tasks.benchmarks._loading import Row
from bakeoff.tasks.generic import ACC, ACC_NORM


class Piqa(BenchmarkTask):
    name = "piqa"
    version = "1"
    shots_exclude_doc = True  # the harness YAML sets no test_split
    description = "PIQA: physical commonsense, pick the better solution (acc, acc_norm)."
    source = "PIQA (Bisk et al. 2020), baber/piqa"
    license = "AFL-3.0"
    reference = "lm-eval piqa v1.0"
    template = "Question: {goal}\nAnswer:"
    hub_path = "baber/piqa"
    split_stems: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "validation": ("piqa/validation",),
        "train": ("piqa/train",),
    }
    metrics = (ACC, ACC_NORM)
    primary_metric = "acc"

    def to_doc(self, row: Row, index: int, split: str) -> Doc:
        choices = (str(row["sol1"]), str(row["sol2"]))
        return Doc(
            row_id(row, index, split),
            f"Question: {row['goal']}\nAnswer:",
            choices,
            as_int(row["label"]),
        )
