"""Requests built by bakeoff equal those lm-evaluation-harness builds, on the same documents.

Runs the harness's own task YAMLs (its doc_to_text/doc_to_choice functions, its
``construct_requests``) on small files in the hub formats, with ``dataset_path: json`` pointing
at them, and compares every (context, continuation) pair character for character. Skipped when
lm-eval is not installed (it is a test-only extra).
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from tests.benchmarks.bench_helpers import build, write_jsonl
from tests.benchmarks.hub_rows import CASES, ROWS

from bakeoff.core.chat import ChatLoglikelihoodRequest
from bakeoff.core.types import LoglikelihoodResult

lm_eval = pytest.importorskip("lm_eval")
task_module = pytest.importorskip("lm_eval.api.task")
yaml_loader = pytest.importorskip("lm_eval.tasks._yaml_loader")

HARNESS_TASKS = Path(lm_eval.__file__).parent / "tasks"

_LAST_TASK: list[Any] = []  # the harness task objects harness_requests built, last one last


def render_chat(history: list[dict[str, str]], add_generation_prompt: bool = True) -> str:
    """A stand-in chat template: shows exactly which messages reach the model's template."""
    return json.dumps({"messages": history, "generation_prompt": add_generation_prompt})


def harness_requests(
    yaml_path: Path,
    files: Mapping[str, Path],
    default: Path,
    num_fewshot: int = 0,
    chat: str = "plain",
) -> tuple[list[list[tuple[str, str]]], list[Any]]:
    """Per document: the (context, continuation) pairs the harness sends, and its gold.

    ``chat``: ``plain``; ``chat`` (``--apply_chat_template``, multi-turn shots, the harness's
    default with it) or ``chat-singleturn``, with ``render_chat`` as the model's template.
    The few-shot seed is the evaluator's default, 1234.
    """
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
    _LAST_TASK.append(task)
    task.set_fewshot_seed(seed=1234)  # what simple_evaluate does (fewshot_random_seed)
    task.build_all_requests(
        limit=None,
        rank=0,
        world_size=1,
        apply_chat_template=chat != "plain",
        fewshot_as_multiturn=chat == "chat",
        chat_template=render_chat if chat != "plain" else None,
    )
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


def _as_pair(request: Any) -> tuple[str, str]:
    if isinstance(request, ChatLoglikelihoodRequest):
        history = [{"role": m.role, "content": m.content} for m in request.messages]
        return render_chat(history), request.continuation
    return request.context, request.continuation


def bakeoff_requests(spec: str) -> tuple[list[list[tuple[str, str]]], list[Any]]:
    task = build(spec)
    requests = [[_as_pair(r) for r in task.requests(s)] for s in task.samples()]
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


# k-shot and chat cases: (bakeoff task, harness YAML, rows, evaluated stem, few-shot stem or None
# when the few-shot split is the evaluated one, the field varied to make distinct rows).
SHOT_CASES = [
    ("arc-easy", "arc/arc_easy.yaml", "arc", "arc_easy/test", "arc_easy/train", "question"),
    (
        "glue-rte",
        "glue/rte/default.yaml",
        "pair",
        "glue/rte/validation",
        "glue/rte/train",
        "sentence1",
    ),
    (
        "superglue-copa",
        "super_glue/copa/default.yaml",
        "copa",
        "super_glue/copa/validation",
        "super_glue/copa/train",
        "premise",
    ),
    (
        "winogrande",
        "winogrande/default.yaml",
        "winogrande",
        "winogrande/validation",
        "winogrande/train",
        "sentence",
    ),
    ("lambada", "lambada/lambada_openai.yaml", "lambada", "lambada_openai/test", None, "text"),
]
HARNESS_SPLIT = {"arc-easy": "train", "glue-rte": "train", "superglue-copa": "train"}


def _variants(rows: list[dict[str, Any]], field: str, n: int, tag: str) -> list[dict[str, Any]]:
    """n distinct rows made from the case's rows (``field`` prefixed, ids kept unique)."""
    out = []
    for i in range(n):
        row = dict(rows[i % len(rows)])
        row[field] = f"{tag}{i} {row[field]}"
        for key in ("id", "idx"):
            if key in row:
                row[key] = f"{tag}{i}" if key == "id" else i
        out.append(row)
    return out


@pytest.mark.parametrize("fmt", ["plain", "chat", "chat-singleturn"])
@pytest.mark.parametrize(
    ("name", "yaml", "rows", "stem", "shot_stem", "field"),
    SHOT_CASES,
    ids=[c[0] for c in SHOT_CASES],
)
def test_k_shot_and_chat_requests_equal_the_harness(
    name: str,
    yaml: str,
    rows: str,
    stem: str,
    shot_stem: str | None,
    field: str,
    fmt: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Random shots from the harness's seeded stream (k + 1 drawn minus the document when the
    few-shot split is the evaluated one), and the chat layouts of --apply_chat_template."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    test_path = write_jsonl(tmp_path / f"{stem}.jsonl", _variants(ROWS[rows], field, 6, "T"))
    files: dict[str, Path] = {}
    if shot_stem is not None:
        train = write_jsonl(tmp_path / f"{shot_stem}.jsonl", _variants(ROWS[rows], field, 9, "S"))
        files = {"train": train}
    ours, our_gold = bakeoff_requests(f"{name},data_dir={tmp_path},shots=3,format={fmt}")
    theirs, their_gold = harness_requests(HARNESS_TASKS / yaml, files, test_path, 3, chat=fmt)
    assert ours == theirs
    if name != "lambada":
        assert [int(g) for g in their_gold] == our_gold


@pytest.mark.parametrize("fmt", ["chat", "chat-singleturn"])
def test_mmlu_chat_puts_the_description_in_a_system_message_like_the_harness(
    fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    rows = [
        {
            "question": f"Q{i}?",
            "subject": "anatomy",
            "choices": ["a", "b", "c", "d"],
            "answer": i % 4,
        }
        for i in range(4)
    ]
    dev_path = write_jsonl(tmp_path / "mmlu/dev/anatomy_dev.jsonl", rows)
    test_path = write_jsonl(tmp_path / "mmlu/test/anatomy_test.jsonl", rows[:2])
    ours, _ = bakeoff_requests(f"mmlu:anatomy,shots=2,format={fmt},data_dir={tmp_path}")
    theirs, _ = harness_requests(
        HARNESS_TASKS / "mmlu/default/mmlu_anatomy.yaml",
        {"dev": dev_path, "test": test_path},
        test_path,
        num_fewshot=2,
        chat=fmt,
    )
    assert ours == theirs
    first = json.loads(ours[0][0][0])["messages"]
    assert first[0]["role"] == "system"
    assert "about anatomy" in first[0]["content"]
    assert [r[1] for r in ours[0]] == ["A", "B", "C", "D"]  # no target delimiter in chat


SCORE_CASES = [c for c in CASES if c[0] in {"arc-easy", "hellaswag", "piqa", "medqa"}] + [
    c for c in CASES if c[0] in {"superglue-copa", "superglue-cb", "glue-cola", "glue-mnli"}
]


@pytest.mark.parametrize(
    ("name", "yaml", "rows", "stem"), SCORE_CASES, ids=[c[0] for c in SCORE_CASES]
)
def test_per_sample_scores_equal_the_harness_process_results(
    name: str, yaml: str, rows: str, stem: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """acc, acc_norm (log-likelihood / choice length in characters) and the (pred, gold) pairs
    of corpus metrics, from the harness's own process_results on the same log-likelihoods;
    log-likelihoods drawn from a few integers, so that ties (first maximum wins) occur."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    path = write_jsonl(tmp_path / f"{stem}.jsonl", ROWS[rows])
    task = build(f"{name},data_dir={tmp_path}")
    harness_requests(HARNESS_TASKS / yaml, {}, path)
    harness = _LAST_TASK[-1]
    rng = random.Random(7)
    checked = 0
    for doc, sample in zip(harness.eval_docs, task.samples(), strict=True):
        for _ in range(40):
            lls = [float(-rng.choice((1, 2, 3, 6, 9))) for _ in sample.choices]
            theirs = harness.process_results(doc, [(ll, False) for ll in lls])
            results = [LoglikelihoodResult(ll, False, 1) for ll in lls]
            ours = task.score(sample, results).metric_inputs
            for metric in ("acc", "acc_norm"):
                if metric in theirs and metric in ours:
                    assert ours[metric] == (float(theirs[metric]),), (metric, lls)
                    checked += 1
            for metric in ("f1", "mcc"):
                if metric in theirs and metric in ours:
                    gold, pred = theirs[metric]  # the harness stores (gold, pred)
                    assert ours[metric][:2] == (float(pred), float(gold)), (metric, lls)
                    checked += 1
    assert checked > 0
