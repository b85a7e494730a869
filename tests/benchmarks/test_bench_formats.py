"""Benchmark identity and formats: metadata in the manifest, the template hash, chat requests."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.benchmarks.bench_helpers import build, write_jsonl

from bakeoff.core.chat import ChatLoglikelihoodRequest, transcript
from bakeoff.core.types import ChatMessage, LoglikelihoodRequest
from bakeoff.tasks.base import TASKS
from bakeoff.tasks.benchmarks._base import BenchmarkTask
from bakeoff.tasks.catalog import SUITES

ARC = [
    {
        "id": f"q{i}",
        "question": f"Question {i}?",
        "choices": {"text": ["one", "two", "three"], "label": ["A", "B", "C"]},
        "answerKey": "ABC"[i % 3],
    }
    for i in range(6)
]


@pytest.fixture
def arc_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    write_jsonl(tmp_path / "arc_easy/test.jsonl", ARC[:3])
    write_jsonl(tmp_path / "arc_easy/train.jsonl", ARC[3:])
    return tmp_path


def test_every_benchmark_declares_its_metadata() -> None:
    names = {*SUITES["guide"], "mmlu", "arc-easy", "arc-challenge", "hellaswag", "piqa"}
    names.add("winogrande")
    for name in sorted(names):
        cls = TASKS.load(name)
        assert isinstance(cls, type)
        assert issubclass(cls, BenchmarkTask), name
        for field in ("source", "license", "reference", "eval_split", "fewshot_split"):
            assert getattr(cls, field), f"{name}: {field} is empty"
        assert cls.version, name
        assert cls.metrics, name


def test_manifest_records_license_splits_reference_and_template_hash(arc_dir: Path) -> None:
    manifest = build(f"arc-easy,data_dir={arc_dir}").manifest()
    assert manifest["license"] == "CC BY-SA 4.0"
    assert manifest["splits"] == {"eval": "test", "fewshot": "train"}
    assert manifest["reference"] == "lm-eval arc_easy v1.0"
    assert manifest["hub"] == "allenai/ai2_arc:ARC-Easy"
    assert [m["name"] for m in manifest["metrics"]] == ["acc", "acc_norm"]
    assert len(str(manifest["template_hash"])) == 16


def test_template_hash_changes_with_format_shots_and_seed(arc_dir: Path) -> None:
    hashes = {
        spec: build(f"arc-easy,data_dir={arc_dir}{spec}").template_hash()
        for spec in ("", ",format=chat", ",format=chat-singleturn", ",shots=2", ",shots=2,seed=7")
    }
    assert len(set(hashes.values())) == len(hashes)
    assert build(f"arc-easy,data_dir={arc_dir}").template_hash() == hashes[""]


def test_chat_format_sends_messages_and_drops_the_target_delimiter(arc_dir: Path) -> None:
    task = build(f"arc-easy,data_dir={arc_dir},format=chat,shots=2")
    sample = task.samples()[0]
    requests = task.requests(sample)
    assert all(isinstance(r, ChatLoglikelihoodRequest) for r in requests)
    first = requests[0]
    assert isinstance(first, ChatLoglikelihoodRequest)
    assert [m.role for m in first.messages] == ["user", "assistant", "user", "assistant", "user"]
    assert first.messages[-1] == ChatMessage("user", "Question: Question 0?\nAnswer:")
    assert [r.continuation for r in requests] == ["one", "two", "three"]  # type: ignore[union-attr]
    # Backends that do not render messages score the plain transcript.
    assert first.context == transcript(first.messages)
    assert first.context.endswith("User: Question: Question 0?\nAnswer:\nAssistant:")
    plain_task = build(f"arc-easy,data_dir={arc_dir}")
    plain = plain_task.requests(plain_task.samples()[0])[0]
    assert type(plain) is LoglikelihoodRequest
    assert plain == LoglikelihoodRequest("Question: Question 0?\nAnswer:", " one")


def test_transcript_is_the_one_the_model_backends_use() -> None:
    llamacpp = pytest.importorskip("bakeoff.backends.llamacpp")
    messages = (ChatMessage("system", "Be brief."), ChatMessage("user", "Hi?"))
    assert transcript(messages) == llamacpp.plain_transcript(messages)
