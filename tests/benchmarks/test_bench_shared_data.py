"""The loaders on the real shared benchmark copies (LAMBADA, LegalBench, MedQA, MMLU, ARC-Easy).

BAKEOFF_DATA_DIR points at the shared data, as a user's data directory would; each test skips
with a clear reason when the shared data is absent.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.benchmarks.bench_helpers import aggregate, build

from bakeoff.core.types import LoglikelihoodRequest, LoglikelihoodResult


@pytest.fixture(autouse=True)
def data_env(shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BAKEOFF_DATA_DIR", str(shared_data))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return shared_data


def test_lambada_last_word_request_and_metrics() -> None:
    task = build("lambada")
    samples = task.samples()
    assert len(samples) == 5153
    first = samples[0]
    assert first.input.startswith("In my palm is a clear stone, and inside it")  # type: ignore[union-attr]
    assert first.input.endswith("his mouth curved in a confident grin, I don't care about")  # type: ignore[union-attr]
    assert task.requests(first) == [LoglikelihoodRequest(first.input, " signs")]  # type: ignore[arg-type]
    hit = task.score(first, [LoglikelihoodResult(-1.0, True, 1)])
    miss = task.score(samples[1], [LoglikelihoodResult(-3.0, False, 2)])
    assert hit.metric_inputs == {"acc": (1.0,), "perplexity": (-1.0, 1.0)}
    assert miss.correct is False
    inputs = np.array([hit.metric_inputs["perplexity"], miss.metric_inputs["perplexity"]])
    # The harness's perplexity: exp(-mean log-likelihood) = exp(2).
    assert task.metric("perplexity").aggregate(inputs) == pytest.approx(np.exp(2.0))


def test_legalbench_hearsay_prompt_is_legalbench_base_prompt() -> None:
    task = build("legalbench:hearsay")
    assert len(task.samples()) == 95
    sample = task.samples()[0]
    # HazyResearch/legalbench tasks/hearsay/base_prompt.txt with the first test row.
    expected = (
        "Hearsay is an out-of-court statement introduced to prove the truth of the matter "
        "asserted.\n\n"
        "Q: On the issue of whether David is fast, the fact that David set a high school track "
        "record. Is there hearsay?\nA: No\n\n"
        "Q: On the issue of whether Rebecca was ill, the fact that Rebecca told Ronald that she "
        "was unwell. Is there hearsay?\nA: Yes\n\n"
        'Q: To prove that Tim was a soccer fan, the fact that Tim told Jimmy that "Real Madrid '
        'was the best soccer team in the world." Is there hearsay?\nA: No\n\n'
        "Q: When asked by the attorney on cross-examination, Alice testified that she had "
        '"never seen the plaintiff before, and had no idea who she was." Is there hearsay?\n'
        "A: No\n\n"
        "Q: On the issue of whether Martin punched James, the fact that Martin smiled and "
        "nodded when asked if he did so by an officer on the scene. Is there hearsay?\nA: Yes\n\n"
        "Q: On the issue of whether James is an smart individual, the fact that James came first "
        "in his class in law school. Is there hearsay?\nA:"
    )
    assert sample.input == expected
    assert sample.choices == ("Yes", "No")
    assert sample.target == 1
    assert task.config()["shots"] == "all train examples"


def test_legalbench_subset_and_balanced_accuracy() -> None:
    task = build("legalbench")
    per_task: dict[str, int] = {}
    for sample in task.samples():
        name = str(sample.metadata["task"])
        per_task[name] = per_task.get(name, 0) + 1
    assert per_task == {
        "abercrombie": 95,
        "proa": 95,
        "hearsay": 95,
        "diversity_1": 96,
        "personal_jurisdiction": 50,
        "cuad_cap_on_liability": 100,
    }
    assert task.primary_metric == "balanced_acc"
    # Always answering "Yes" on the yes/no tasks and "descriptive" on abercrombie is chance
    # level: balanced accuracy 1/2 on each binary task and 1/5 on abercrombie.
    always_first = [0] * len(task.samples())
    assert aggregate(task, "balanced_acc", always_first) == pytest.approx((5 * 0.5 + 0.2) / 6)
    perfect = [int(s.target) for s in task.samples()]  # type: ignore[arg-type]
    assert aggregate(task, "balanced_acc", perfect) == pytest.approx(1.0)


def test_legalbench_cuad_local_name_and_shots_option() -> None:
    task = build("legalbench:cuad_cap_on_liability,shots=2")
    sample = task.samples()[0]
    assert sample.input.startswith(  # type: ignore[union-attr]
        "Does the clause specify a cap on liability upon the breach of a party\u2019s obligation? "
        "This includes time limitation for the counterparty to bring claims or maximum amount "
        "for recovery.\n\nClause: "
    )
    assert sample.input.count("\nLabel: ") == 2  # type: ignore[union-attr]
    assert sample.input.endswith("\nLabel:")  # type: ignore[union-attr]


def test_medqa_prompt_from_the_csv_dict_literal() -> None:
    task = build("medqa")
    assert len(task.samples()) == 1273
    sample = task.samples()[0]
    assert sample.input.startswith("Question: A junior orthopaedic surgery resident")  # type: ignore[union-attr]
    assert sample.input.endswith(  # type: ignore[union-attr]
        "Which of the following is the correct next action for the resident to take?\n"
        "A. Disclose the error to the patient and put it in the operative report\n"
        "B. Tell the attending that he cannot fail to disclose this mistake\n"
        "C. Report the physician to the ethics committee\n"
        "D. Refuse to dictate the operative report\n"
        "Answer:"
    )
    assert sample.choices == ("A", "B", "C", "D")
    assert sample.target == 1
    assert [r.continuation for r in task.requests(sample)] == [" A", " B", " C", " D"]  # type: ignore[union-attr]


def test_mmlu_subject_zero_and_five_shot() -> None:
    zero = build("mmlu:abstract_algebra")
    assert zero.name == "mmlu:abstract_algebra"
    assert len(zero.samples()) == 100
    description = (
        "The following are multiple choice questions (with answers) about abstract algebra.\n\n"
    )
    assert zero.samples()[0].input.startswith(description)  # type: ignore[union-attr]
    assert zero.samples()[0].input.endswith("\nD. 6\nAnswer:")  # type: ignore[union-attr]
    five = build("mmlu,subject=abstract_algebra,shots=5")
    text = five.samples()[0].input
    assert isinstance(text, str)
    first_dev = (
        "Find all c in Z_3 such that Z_3[x]/(x^2 + c) is a field.\nA. 0\nB. 1\nC. 2\nD. 3\n"
        "Answer: B\n\n"
    )
    assert text.startswith(description + first_dev)
    assert text.count("\nAnswer: ") == 5
    # first_n: the same five dev questions for every test question, whatever the seed.
    other_seed = build("mmlu,subject=abstract_algebra,shots=5,seed=99")
    assert other_seed.samples()[7].metadata["shot_ids"] == five.samples()[7].metadata["shot_ids"]


def test_mmlu_several_subjects_pool() -> None:
    task = build("mmlu,subject=anatomy+astronomy")
    assert len(task.samples()) == 135 + 152
    assert {s.metadata["subject"] for s in task.samples()} == {"anatomy", "astronomy"}


def test_arc_easy_original_jsonl_layout() -> None:
    task = build("arc-easy")
    assert len(task.samples()) == 2376
    sample = task.samples()[0]
    assert sample.id == "test-Mercury_417466"
    assert sample.input == (
        "Question: Which statement best explains why photosynthesis is the foundation of most "
        "food webs?\nAnswer:"
    )
    assert sample.choices[0] == "Sunlight is the source of energy for nearly all ecosystems."
    assert sample.target == 0
    assert [m.name for m in task.metrics] == ["acc", "acc_norm"]


def test_arc_easy_kshot_is_deterministic_under_a_seed() -> None:
    first = build("arc-easy,shots=3,seed=7")
    again = build("arc-easy,shots=3,seed=7")
    other = build("arc-easy,shots=3,seed=8")
    assert [s.input for s in first.samples()[:20]] == [s.input for s in again.samples()[:20]]
    assert [s.input for s in first.samples()[:20]] != [s.input for s in other.samples()[:20]]
    assert first.template_hash() != other.template_hash()
    for sample in first.samples()[:20]:
        shot_ids = sample.metadata["shot_ids"]
        assert len(shot_ids) == 3
        assert len(set(shot_ids)) == 3
        assert all(str(i).startswith("train-") for i in shot_ids)
        assert sample.input.count("\n\nQuestion: ") == 3  # type: ignore[union-attr]
