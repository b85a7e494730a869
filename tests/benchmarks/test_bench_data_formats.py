"""The benchmark loaders and scorers on small files in the shared copies' exact layouts
(tests/data_formats.py: LAMBADA, LegalBench, MedQA, MMLU, ARC-Easy), so that a clone without
../shared/data still tests them. test_bench_shared_data.py runs the same loaders on the real
files where they are present.

BAKEOFF_DATA_DIR points at the folder, as a user's data folder would."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.benchmarks.bench_helpers import aggregate, build

from bakeoff.core.errors import ConfigError
from bakeoff.core.model import ModelSpec
from bakeoff.core.types import LoglikelihoodRequest, LoglikelihoodResult
from bakeoff.report.model import build_report
from bakeoff.runner.plan import RunConfig, make_plan
from bakeoff.runner.run import execute_plan
from bakeoff.storage.sqlite import SqliteStore


@pytest.fixture(autouse=True)
def data_env(format_data: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BAKEOFF_DATA_DIR", str(format_data))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return format_data


def test_lambada_context_is_every_word_but_the_last() -> None:
    task = build("lambada")
    samples = task.samples()
    assert [s.id for s in samples] == ["test-0", "test-1", "test-2", "test-3"]
    first = samples[0]
    # Split on single spaces only: the blank line and the quotes stay in the context.
    assert first.input == (
        'The keeper climbed the tower every evening.\n\n"Somebody has to do it," she said, and '
        "she lit the"
    )
    assert task.requests(first) == [LoglikelihoodRequest(str(first.input), " lamp")]
    assert task.requests(samples[1]) == [
        LoglikelihoodRequest("Martin counted the coins twice before he paid the", " baker")
    ]


def test_lambada_accuracy_is_greedy_and_perplexity_is_over_the_corpus() -> None:
    task = build("lambada")
    samples = task.samples()
    hit = task.score(samples[0], [LoglikelihoodResult(-0.5, True, 1)])
    miss = task.score(samples[1], [LoglikelihoodResult(-2.5, False, 3)])
    assert (hit.correct, miss.correct) == (True, False)
    assert hit.metric_inputs == {"acc": (1.0,), "perplexity": (-0.5, 1.0)}
    assert (miss.prediction, miss.target) == ("not greedy", "baker")
    rows = np.array([hit.metric_inputs["perplexity"], miss.metric_inputs["perplexity"]])
    # exp(-mean log-likelihood) = exp(1.5), not the mean of per-passage perplexities.
    assert task.metric("perplexity").aggregate(rows) == pytest.approx(np.exp(1.5))
    accuracy = np.array([hit.metric_inputs["acc"], miss.metric_inputs["acc"]])
    assert task.metric("acc").aggregate(accuracy) == pytest.approx(0.5)


def test_legalbench_prompt_is_the_rule_then_every_train_row_then_the_question() -> None:
    task = build("legalbench:hearsay")
    samples = task.samples()
    assert len(samples) == 3
    # The train row's quotes are read as written (LegalBench's TSVs are not quoted).
    assert samples[0].input == (
        "Hearsay is an out-of-court statement introduced to prove the truth of the matter "
        "asserted.\n\n"
        "Q: To prove that Ana can swim, the fact that Ana won a swimming race. Is there "
        "hearsay?\nA: No\n\n"
        'Q: To prove that the bus was late, the fact that Ben told Carla "the bus came at '
        'noon." Is there hearsay?\nA: Yes\n\n'
        "Q: On the issue of whether Dora stole the bike, the fact that Eli told a friend that "
        "Dora had it. Is there hearsay?\nA:"
    )
    assert samples[0].choices == ("Yes", "No")
    assert [s.target for s in samples] == [0, 1, 1]
    assert task.config()["shots"] == "all train examples"
    assert [r.continuation for r in task.requests(samples[0])] == [" Yes", " No"]  # type: ignore[union-attr]


def test_legalbench_subset_interleaves_tasks_and_scores_balanced_accuracy() -> None:
    task = build("legalbench")
    samples = task.samples()
    per_task: dict[str, int] = {}
    for sample in samples:
        name = str(sample.metadata["task"])
        per_task[name] = per_task.get(name, 0) + 1
    assert per_task == {
        "abercrombie": 5,
        "proa": 2,
        "hearsay": 3,
        "diversity_1": 2,
        "personal_jurisdiction": 2,
        "cuad_cap_on_liability": 2,
    }
    # One of each task first, so that --limit 6 covers the whole subset.
    assert [s.metadata["task"] for s in samples[:6]] == list(per_task)
    assert task.primary_metric == "balanced_acc"
    always_first = [0] * len(samples)
    # Chance on every task: 1/2 on the five yes/no tasks, 1/5 on abercrombie ...
    assert aggregate(task, "balanced_acc", always_first) == pytest.approx((5 * 0.5 + 0.2) / 6)
    # ... while plain accuracy counts the samples whose answer is the first choice: 6 of 16.
    assert aggregate(task, "acc", always_first) == pytest.approx(6 / 16)
    perfect = [int(s.target) for s in samples]  # type: ignore[arg-type]
    assert aggregate(task, "balanced_acc", perfect) == pytest.approx(1.0)


def test_legalbench_cuad_task_is_found_without_its_prefix_and_takes_k_shots() -> None:
    task = build("legalbench:cuad_cap_on_liability,shots=2")
    first = task.samples()[0]
    # The folder is cap_on_liability/ and its TSV puts the text before the label.
    assert first.input == (
        "Does the clause specify a cap on liability upon the breach of a party\u2019s obligation? "
        "This includes time limitation for the counterparty to bring claims or maximum amount "
        "for recovery.\n\n"
        "Clause: Liability shall not exceed the fees paid in the prior year.\nLabel: Yes\n\n"
        "Clause: This Agreement is governed by the laws of Ruritania.\nLabel: No\n\n"
        "Clause: Neither party's total liability shall exceed $10,000.\nLabel:"
    )
    assert task.config()["shots"] == 2
    assert [s.target for s in task.samples()] == [0, 1]


def test_legalbench_task_outside_the_subset_takes_its_labels_from_the_data() -> None:
    task = build("legalbench:insurance")
    assert task.name == "legalbench:insurance"
    first, second = task.samples()
    assert first.choices == ("No", "Yes")  # sorted labels seen in train and test
    assert first.input == (
        "The supplier shall keep fire insurance on the premises.\nLabel: Yes\n\n"
        "The buyer shall carry liability insurance of $1,000,000.\nLabel:"
    )
    assert (first.target, second.target) == (1, 0)


def test_medqa_reads_the_options_dict_literal_of_the_csv() -> None:
    task = build("medqa")
    samples = task.samples()
    assert len(samples) == 3
    # A quoted CSV cell (commas) and a dict literal whose value holds an apostrophe.
    assert samples[1].input == (
        "Question: A child has a fever, and the parents ask what to give. What is the most "
        "appropriate?\nA. Aspirin\nB. Paracetamol at the child's dose\nC. Nothing at all\n"
        "D. An antiviral\nAnswer:"
    )
    assert samples[1].choices == ("A", "B", "C", "D")
    assert [s.target for s in samples] == [0, 1, 3]
    assert [r.continuation for r in task.requests(samples[0])] == [" A", " B", " C", " D"]  # type: ignore[union-attr]
    assert aggregate(task, "acc", [0, 1, 3]) == pytest.approx(1.0)
    assert aggregate(task, "acc", [0, 0, 0]) == pytest.approx(1 / 3)


def test_mmlu_zero_shot_prompt_strips_the_question() -> None:
    task = build("mmlu:abstract_algebra")
    samples = task.samples()
    assert len(samples) == 3
    assert samples[2].input == (
        "The following are multiple choice questions (with answers) about abstract algebra.\n\n"
        "Find the identity of (Z, +).\nA. 1\nB. 0\nC. -1\nD. none\nAnswer:"
    )
    assert [s.target for s in samples] == [2, 0, 1]
    assert samples[0].metadata["subject"] == "abstract_algebra"


def test_mmlu_five_shots_are_the_first_five_dev_rows_whatever_the_seed() -> None:
    five = build("mmlu,subject=abstract_algebra,shots=5")
    text = five.samples()[0].input
    assert isinstance(text, str)
    assert text.startswith(
        "The following are multiple choice questions (with answers) about abstract algebra.\n\n"
        "What is the order of the cyclic group Z_3?\nA. 1\nB. 2\nC. 3\nD. 0\nAnswer: C\n\n"
        "What is the order of the cyclic group Z_4?\nA. 1\nB. 2\nC. 4\nD. 0\nAnswer: C\n\n"
    )
    assert text.count("\nAnswer: ") == 5
    assert text.endswith("Z_2 x Z_2 have, counted once each?\nA. 2\nB. 3\nC. 4\nD. 8\nAnswer:")
    other_seed = build("mmlu,subject=abstract_algebra,shots=5,seed=99")
    assert [s.input for s in other_seed.samples()] == [s.input for s in five.samples()]
    with pytest.raises(ConfigError, match="shots=6 needs 6 examples but the few-shot split has 5"):
        build("mmlu,subject=abstract_algebra,shots=6")


def test_mmlu_subjects_pool_in_turn() -> None:
    task = build("mmlu,subject=abstract_algebra+astronomy")
    subjects = [s.metadata["subject"] for s in task.samples()]
    assert subjects == ["abstract_algebra", "astronomy"] * 2 + ["abstract_algebra"]
    astronomy = task.samples()[1]
    assert str(astronomy.input).startswith(
        "The following are multiple choice questions (with answers) about astronomy.\n\n"
        "Which is larger, the Sun or the Moon?\n"
    )
    # One accuracy over all five questions (the harness's size-weighted group mean).
    assert aggregate(task, "acc", [2, 0, 0, 0, 0]) == pytest.approx(3 / 5)


def test_arc_easy_original_layout_with_numbered_and_three_way_choices() -> None:
    task = build("arc-easy")
    first, numbered, three = task.samples()
    assert first.id == "test-Test_1"
    assert first.input == "Question: Which tool measures temperature?\nAnswer:"
    assert first.choices == ("Ruler", "Scale", "Thermometer", "Clock")
    assert first.target == 2
    assert (numbered.choices, numbered.target) == (("4", "6", "8", "10"), 1)
    assert (three.choices, three.target) == (("Gravity", "Light", "Sound"), 0)
    assert [r.continuation for r in task.requests(three)] == [" Gravity", " Light", " Sound"]  # type: ignore[union-attr]


def test_arc_easy_shots_come_from_train_and_follow_the_seed() -> None:
    first = build("arc-easy,shots=2,seed=7")
    again = build("arc-easy,shots=2,seed=7")
    assert [s.input for s in first.samples()] == [s.input for s in again.samples()]
    draws = {
        seed: [
            tuple(s.metadata["shot_ids"]) for s in build(f"arc-easy,shots=2,seed={seed}").samples()
        ]  # type: ignore[arg-type]
        for seed in range(1, 6)
    }
    assert len(set(map(tuple, draws.values()))) > 1  # the seed changes the draw
    train_ids = {"train-Train_1", "train-Train_2", "train-Train_3", "train-Train_4"}
    for sample in first.samples():
        shot_ids = sample.metadata["shot_ids"]
        assert isinstance(shot_ids, list)
        assert len(set(shot_ids)) == 2
        assert set(shot_ids) <= train_ids
        assert str(sample.input).count("\n\nQuestion: ") == 2


def test_every_loader_through_the_runner_store_and_report(tmp_path: Path) -> None:
    tasks = ("arc-easy", "lambada", "legalbench", "medqa", "mmlu:abstract_algebra+astronomy")
    db = tmp_path / "bench.db"
    config = RunConfig(
        models=(ModelSpec.parse("a=mock:a"), ModelSpec.parse("b=mock:b,seed=7")),
        task_specs=tasks,
    )
    store = SqliteStore(db)
    try:
        outcome = execute_plan(make_plan(config), store)
        assert outcome.failed == 0
        assert outcome.computed == 2 * (3 + 4 + 16 + 3 + 5)
        report = build_report(store, store.list_runs()[0].run_id)
    finally:
        store.close()
    by_name = {t.name: t for t in report.tasks}
    assert set(by_name) == set(tasks)
    for name, metric in (
        ("arc-easy", "acc"),
        ("lambada", "acc"),
        ("legalbench", "balanced_acc"),
        ("medqa", "acc"),
        ("mmlu:abstract_algebra+astronomy", "acc"),
    ):
        primary = by_name[name].primary
        assert primary is not None
        assert primary.name == metric
        estimates = [s.interval.estimate for s in primary.scores]
        assert len(estimates) == 2
        assert all(0.0 <= e <= 1.0 for e in estimates), (name, estimates)
