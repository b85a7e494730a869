"""Requests built by bakeoff equal those lm-evaluation-harness builds, on the same documents.

Runs the harness's own task YAMLs (its doc_to_text/doc_to_choice functions, its
``construct_requests``) on small files in the hub formats, with ``dataset_path: json`` pointing
at them, and compares every (context, continuation) pair character for character. Skipped when
lm-eval is not installed (it is a test-only extra).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from tests.benchmarks.bench_helpers import build, write_jsonl

lm_eval = pytest.importorskip("lm_eval")
task_module = pytest.importorskip("lm_eval.api.task")
yaml_loader = pytest.importorskip("lm_eval.tasks._yaml_loader")

HARNESS_TASKS = Path(lm_eval.__file__).parent / "tasks"

ROWS: dict[str, list[dict[str, Any]]] = {
    "cola": [{"sentence": "Bill sang himself hoarse.", "label": 1, "idx": 0}],
    "sst2": [{"sentence": "a gorgeous , witty film", "label": 1, "idx": 0}],
    "mrpc": [{"sentence1": "He said hi.", "sentence2": "He greeted.", "label": 1, "idx": 0}],
    "qqp": [{"question1": "Why?", "question2": "How come?", "label": 1, "idx": 0}],
    "mnli": [
        {"premise": "A man eats.", "hypothesis": "Someone eats", "label": 0, "idx": 0},
        {"premise": "A man eats.", "hypothesis": " Nobody eats. ", "label": 2, "idx": 1},
    ],
    "qnli": [{"question": "Who?", "sentence": "Me.", "label": 0, "idx": 0}],
    "pair": [{"sentence1": "It rains.", "sentence2": "It is wet.", "label": 0, "idx": 0}],
    "boolq": [{"question": "is it", "passage": "It is.", "label": 1, "idx": 0}],
    "cb": [{"premise": "P.", "hypothesis": "H", "label": 2, "idx": 0}],
    "copa": [
        {
            "premise": "My body cast a shadow over the grass.",
            "choice1": "The sun was rising.",
            "choice2": "The grass was cut.",
            "question": "cause",
            "label": 0,
            "idx": 0,
        }
    ],
    "multirc": [
        {
            "paragraph": "Para.",
            "question": "Q?",
            "answer": "a",
            "idx": {"paragraph": 0, "question": 0, "answer": 0},
            "label": 1,
        }
    ],
    "sg_rte": [{"premise": "It rains.", "hypothesis": "It is wet.", "label": 0, "idx": 0}],
    "wic": [
        {
            "word": "place",
            "sentence1": "Do you want to come over to my place later?",
            "sentence2": "A political system with no place for the less prominent groups.",
            "start1": 31,
            "end1": 36,
            "start2": 27,
            "end2": 32,
            "label": 0,
            "idx": 0,
        }
    ],
    "wsc": [
        {
            "text": "Mark told Pete many lies about himself, which Pete included in his book. "
            "He should n't have been so ( untruthful ) .",
            "span1_index": 0,
            "span2_index": 13,
            "span1_text": "Mark",
            "span2_text": "He",
            "label": 0,
            "idx": 0,
        }
    ],
    "arc": [
        {
            "id": "Mercury_1",
            "question": "Which is a gas?",
            "choices": {"text": ["ice", "steam", "rock"], "label": ["A", "B", "C"]},
            "answerKey": "B",
        },
        {
            "id": "NY_2",
            "question": "Pick two.",
            "choices": {"text": ["one", "two"], "label": ["1", "2"]},
            "answerKey": "2",
        },
    ],
    "piqa": [{"goal": "Open a jar", "sol1": "Twist.", "sol2": "Freeze.", "label": 0}],
    "hellaswag": [
        {
            "ind": 92,
            "activity_label": "Home and Garden",
            "ctx_a": "[header] How to clean a pan [title] Soak it.",
            "ctx_b": "",
            "endings": ["[step] Scrub it.", "Burn it.", "Paint  it.", "Sell it."],
            "label": "0",
        }
    ],
    "winogrande": [
        {
            "sentence": "Sarah was a better surgeon than Maria so _ got the harder cases.",
            "option1": "Sarah",
            "option2": "Maria",
            "answer": "1",
        }
    ],
    "medqa": [
        {
            "sent1": "What is 2+2?",
            "ending0": "3",
            "ending1": "4",
            "ending2": "5",
            "ending3": "22",
            "label": 1,
        }
    ],
    "lambada": [{"text": "The cat sat on the mat and then the cat"}],
}

# (bakeoff task, harness YAML, rows, bakeoff's local stem for the evaluated split)
CASES = [
    ("glue-cola", "glue/cola/default.yaml", "cola", "glue/cola/validation"),
    ("glue-sst2", "glue/sst2/default.yaml", "sst2", "glue/sst2/validation"),
    ("glue-mrpc", "glue/mrpc/default.yaml", "mrpc", "glue/mrpc/validation"),
    ("glue-qqp", "glue/qqp/default.yaml", "qqp", "glue/qqp/validation"),
    ("glue-mnli", "glue/mnli/default.yaml", "mnli", "glue/mnli/validation_matched"),
    ("glue-mnli-mm", "glue/mnli/mismatch.yaml", "mnli", "glue/mnli/validation_mismatched"),
    ("glue-qnli", "glue/qnli/default.yaml", "qnli", "glue/qnli/validation"),
    ("glue-rte", "glue/rte/default.yaml", "pair", "glue/rte/validation"),
    ("glue-wnli", "glue/wnli/default.yaml", "pair", "glue/wnli/validation"),
    ("superglue-boolq", "super_glue/boolq/default.yaml", "boolq", "super_glue/boolq/validation"),
    ("superglue-cb", "super_glue/cb/default.yaml", "cb", "super_glue/cb/validation"),
    ("superglue-copa", "super_glue/copa/default.yaml", "copa", "super_glue/copa/validation"),
    (
        "superglue-multirc",
        "super_glue/multirc/default.yaml",
        "multirc",
        "super_glue/multirc/validation",
    ),
    ("superglue-rte", "super_glue/rte/default.yaml", "sg_rte", "super_glue/rte/validation"),
    ("superglue-wic", "super_glue/wic/default.yaml", "wic", "super_glue/wic/validation"),
    ("superglue-wsc", "super_glue/wsc/default.yaml", "wsc", "super_glue/wsc.fixed/validation"),
    ("arc-easy", "arc/arc_easy.yaml", "arc", "arc_easy/test"),
    ("arc-challenge", "arc/arc_challenge.yaml", "arc", "arc_challenge/test"),
    ("piqa", "piqa/piqa.yaml", "piqa", "piqa/validation"),
    ("hellaswag", "hellaswag/hellaswag.yaml", "hellaswag", "hellaswag/validation"),
    ("winogrande", "winogrande/default.yaml", "winogrande", "winogrande/validation"),
    ("medqa", "medqa/medqa.yaml", "medqa", "medqa/test"),
    ("lambada", "lambada/lambada_openai.yaml", "lambada", "lambada_openai/test"),
]


def harness_requests(
    yaml_path: Path, files: Mapping[str, Path], default: Path, num_fewshot: int = 0
) -> tuple[list[list[tuple[str, str]]], list[Any]]:
    """Per document: the (context, continuation) pairs the harness sends, and its gold."""
    logging.getLogger("lm_eval").setLevel(logging.ERROR)
    config = yaml_loader.load_yaml(yaml_path, resolve_func=True)
    split_keys = ("training_split", "validation_split", "test_split", "fewshot_split")
    splits = {config[k] for k in split_keys if config.get(k)}
    data_files = {s: str(files.get(s, default)) for s in splits}
    config = {
        **config,
        "dataset_path": "json",
        "dataset_name": None,
        "dataset_kwargs": {"data_files": data_files},
    }
    if num_fewshot:
        config["num_fewshot"] = num_fewshot
    task = task_module.ConfigurableTask(config=config)
    task.build_all_requests(limit=None, rank=0, world_size=1)
    per_doc: dict[int, list[Any]] = {}
    for instance in sorted(task.instances, key=lambda i: (i.doc_id, i.idx)):
        per_doc.setdefault(instance.doc_id, []).append(tuple(instance.args))
    golds = []
    for doc in task.eval_docs:
        gold = task.doc_to_target(doc)
        if task.multiple_input:  # WinoGrande: the gold index is what doc_to_text returns
            gold = task.doc_to_text(doc)
        elif isinstance(gold, str) and task.OUTPUT_TYPE == "multiple_choice":
            gold = task.doc_to_choice(doc).index(gold)  # as the harness's process_results does
        golds.append(gold)
    return [per_doc[i] for i in sorted(per_doc)], golds


def bakeoff_requests(spec: str) -> tuple[list[list[tuple[str, str]]], list[Any]]:
    task = build(spec)
    requests = [
        [(r.context, r.continuation) for r in task.requests(s)]  # type: ignore[union-attr]
        for s in task.samples()
    ]
    return requests, [s.target for s in task.samples()]


@pytest.mark.parametrize(("name", "yaml", "rows", "stem"), CASES, ids=[c[0] for c in CASES])
def test_zero_shot_requests_equal_the_harness(
    name: str, yaml: str, rows: str, stem: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    path = write_jsonl(tmp_path / f"{stem}.jsonl", ROWS[rows])
    ours, our_gold = bakeoff_requests(f"{name},data_dir={tmp_path}")
    theirs, their_gold = harness_requests(HARNESS_TASKS / yaml, {}, path)
    assert ours == theirs
    if name == "superglue-multirc":
        # Documented difference: the harness's YAML makes "no" gold for label 1 (correct).
        assert [1 - int(g) for g in their_gold] == our_gold
    elif name == "lambada":
        assert their_gold == [" cat"]
    else:
        assert [int(g) for g in their_gold] == our_gold


def test_mmlu_five_shot_requests_equal_the_harness(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    dev = [
        {
            "question": f" Dev question {i}? ",
            "subject": "anatomy",
            "choices": [f"a{i}", f"b{i}", f"c{i}", f"d{i}"],
            "answer": i % 4,
        }
        for i in range(6)
    ]
    test = [
        {
            "question": "Which bone?",
            "subject": "anatomy",
            "choices": ["femur", "tibia", "ulna", "skull"],
            "answer": 2,
        },
        {
            "question": "Which organ?",
            "subject": "anatomy",
            "choices": ["heart", "lung", "liver", "skin"],
            "answer": 0,
        },
    ]
    dev_path = write_jsonl(tmp_path / "mmlu/dev/anatomy_dev.jsonl", dev)
    test_path = write_jsonl(tmp_path / "mmlu/test/anatomy_test.jsonl", test)
    ours, our_gold = bakeoff_requests(f"mmlu:anatomy,shots=5,data_dir={tmp_path}")
    theirs, their_gold = harness_requests(
        HARNESS_TASKS / "mmlu/default/mmlu_anatomy.yaml",
        {"dev": dev_path, "test": test_path},
        test_path,
        num_fewshot=5,
    )
    assert ours == theirs
    assert our_gold == [int(g) for g in their_gold]
