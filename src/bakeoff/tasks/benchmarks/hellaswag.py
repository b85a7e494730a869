"""HellaSwag (Rowan/hellaswag), as lm-evaluation-harness's ``hellaswag`` (v1.0).

The harness's ``process_docs``: query = preprocess(activity_label + ": " + ctx_a + " " +
ctx_b.capitalize()), choices = preprocess(each ending), where preprocess strips, turns
" [title]" into ". ", drops any other "[...]" and collapses double spaces. acc and acc_norm;
validation split (test labels are hidden), few-shot from train.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from typing import ClassVar

from bakeoff.tasks.benchmarks._base import BenchmarkTask, as_int, row_id
from bakeoff.tasks.benchmarks._fewshot import Doc
from bakeoff.tasks.benchmarks._loading import Row
from bakeoff.tasks.generic import ACC, ACC_NORM


def preprocess(text: str) -> str:
    text = text.strip()
    # Brackets are artifacts of the WikiHow part of HellaSwag.
    text = text.replace(" [title]", ". ")
    text = re.sub(r"\[.*?\]", "", text)
    return text.replace("  ", " ")


class HellaSwag(BenchmarkTask):
    name = "hellaswag"
    version = "1"
    shots_exclude_doc = True  # the harness YAML sets no test_split
    description = "HellaSwag: commonsense sentence completion (acc, acc_norm)."
    source = "HellaSwag (Zellers et al. 2019), Rowan/hellaswag"
    license = "MIT"
    reference = "lm-eval hellaswag v1.0"
    template = "{preprocess(activity_label + ': ' + ctx_a + ' ' + ctx_b.capitalize())}"
    hub_path = "Rowan/hellaswag"
    split_stems: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "validation": ("hellaswag/validation",),
        "train": ("hellaswag/train",),
    }
    metrics = (ACC, ACC_NORM)
    primary_metric = "acc"

    def to_doc(self, row: Row, index: int, split: str) -> Doc:
        ctx = f"{row['ctx_a']} {str(row['ctx_b']).capitalize()}"
        endings = row["endings"]
        if isinstance(endings, str):  # TSV/CSV cell holding a list literal
            endings = ast.literal_eval(endings)
        choices = tuple(preprocess(str(e)) for e in endings)
        query = preprocess(f"{row['activity_label']}: {ctx}")
        return Doc(row_id(row, index, split), query, choices, as_int(row["label"]))
