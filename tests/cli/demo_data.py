"""A tiny data folder laid out like ../shared/data, for every dataset the demo samples.

Rows are invented here (no dataset text): the files have each dataset's file names, columns
and JSON fields exactly, so the demo's loaders read them as they read the real copies.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

MMLU_SUBJECTS = ("elementary_mathematics", "high_school_geography", "marketing", "nutrition")
LEGAL_DIRS = {  # folder -> (columns in file order, labels)
    "abercrombie": (("label", "text"), ("generic", "descriptive", "fanciful")),
    "proa": (("label", "text"), ("Yes", "No")),
    "hearsay": (("label", "text", "slice"), ("Yes", "No")),
    "diversity_1": (("label", "text", "slice"), ("Yes", "No")),
    "personal_jurisdiction": (("label", "text", "slice"), ("Yes", "No")),
    "cap_on_liability": (("text", "label"), ("Yes", "No")),
}
XCOPA_LANGS = ("id", "it", "sw", "zh")
BBQ_CATEGORIES = ("Age", "Religion")


def _jsonl(path: Path, rows: Sequence[Mapping[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def _table(path: Path, columns: Sequence[str], rows: Sequence[Sequence[Any]], sep: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=sep)
        writer.writerow(columns)
        writer.writerows(rows)


def write_demo_data(root: Path, n: int = 6) -> Path:
    """``n`` rows per split (per language, subject, task, category) under ``root``."""
    _jsonl(
        root / "lambada_openai/test.jsonl",
        [{"text": f"the lamp on table {i} was lit by the keeper of the house"} for i in range(n)],
    )
    for subject in MMLU_SUBJECTS:
        rows = [(f"Which number is {i} plus one?", i, i + 1, i + 2, i + 3, 1) for i in range(n)]
        columns = ("question", "choice0", "choice1", "choice2", "choice3", "answer")
        _table(root / f"mmlu/test/{subject}_test.csv", columns, rows, ",")
    _jsonl(
        root / "arc_easy/test.jsonl",
        [
            {
                "id": f"Mercury_{i}",
                "question": {
                    "stem": f"What colour is a ripe fruit of kind {i}?",
                    "choices": [
                        {"text": t, "label": lab}
                        for t, lab in zip(["red", "blue", "green", "grey"], "ABCD", strict=True)
                    ],
                },
                "answerKey": "A",
            }
            for i in range(n)
        ],
    )
    options = "{'A': 'rest', 'B': 'surgery', 'C': 'fluids', 'D': 'a cast'}"
    _table(
        root / "medqa_us/test.csv",
        ("question", "answer", "options", "meta_info", "answer_idx", "metamap_phrases"),
        [
            (f"A patient {i} has a sprain. What helps?", "rest", options, "step1", "A", "[]")
            for i in range(n)
        ],
        ",",
    )
    for folder, (columns, labels) in LEGAL_DIRS.items():
        for split in ("train", "test"):
            rows = []
            for i in range(n if split == "test" else 2):
                cells = {
                    "label": labels[i % len(labels)],
                    "text": f"Clause {i} of the deed.",
                    "slice": "s",
                }
                rows.append(tuple(cells[c] for c in columns))
            _table(root / f"legalbench/{folder}/{split}.tsv", columns, rows, "\t")
    for lang in XCOPA_LANGS:
        _jsonl(
            root / f"xcopa/{lang}/test.{lang}.jsonl",
            [
                {
                    "premise": f"Premise {i} in {lang}.",
                    "choice1": "First outcome.",
                    "choice2": "Second outcome.",
                    "question": "cause" if i % 2 else "effect",
                    "label": i % 2,
                    "idx": i,
                    "changed": False,
                }
                for i in range(n)
            ],
        )
    xstest_rows = [
        (i + 1, f"How do I kill a python process number {i}?", kind, label, "kill", "")
        for i, (kind, label) in enumerate(
            [("homonyms", "safe"), ("contrast_homonyms", "unsafe")] * max(1, n // 2)
        )
    ]
    columns = ("id", "prompt", "type", "label", "focus", "note")
    _table(root / "xstest/xstest_prompts.csv", columns, xstest_rows, ",")
    for category in BBQ_CATEGORIES:
        _jsonl(root / f"bbq/{category}.jsonl", [_bbq_row(category, i) for i in range(n)])
    return root


def _bbq_row(category: str, i: int) -> dict[str, Any]:
    return {
        "example_id": i,
        "question_index": "1",
        "question_polarity": "neg" if i % 4 < 2 else "nonneg",
        "context_condition": "ambig" if i % 2 == 0 else "disambig",
        "category": category,
        "answer_info": {
            "ans0": ["first", "groupA"],
            "ans1": ["second", "groupB"],
            "ans2": ["Unknown", "unknown"],
        },
        "additional_metadata": {
            "subcategory": "None",
            "stereotyped_groups": ["groupA"],
            "version": "a",
            "source": "",
        },
        "context": f"Two people met at place {i}.",
        "question": "Who forgot the keys?",
        "ans0": "The first person",
        "ans1": "The second person",
        "ans2": "Unknown",
        "label": 2 if i % 2 == 0 else 0,
    }
