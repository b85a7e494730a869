"""GLUE tasks on small files in the hub's own format: prompts, choices, scoring, averages."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from tests.benchmarks.bench_helpers import aggregate, build, results_choosing, write_jsonl

from bakeoff.core.types import LoglikelihoodRequest
from bakeoff.tasks.benchmarks.glue import glue_score


@pytest.fixture
def glue_dir(tmp_path: Path) -> Path:
    write_jsonl(
        tmp_path / "glue/cola/validation.jsonl",
        [
            {"sentence": "The sailors rode the breeze clear of the rocks.", "label": 1, "idx": 0},
            {"sentence": "The more we study verbs, the crazier they get.", "label": 1, "idx": 1},
            {"sentence": "Sue gave to Bill a book.", "label": 0, "idx": 2},
            {"sentence": "They drank the pub.", "label": 0, "idx": 3},
            {"sentence": "Bill sang himself hoarse.", "label": 1, "idx": 4},
        ],
    )
    write_jsonl(
        tmp_path / "glue/cola/train.jsonl",
        [{"sentence": f"Train sentence {i}.", "label": i % 2, "idx": i} for i in range(20)],
    )
    write_jsonl(
        tmp_path / "glue/mrpc/validation.jsonl",
        [
            {"sentence1": "He said hi.", "sentence2": "He greeted.", "label": 1, "idx": 0},
            {"sentence1": "It rained.", "sentence2": "It was sunny.", "label": 0, "idx": 1},
            {"sentence1": "A cat.", "sentence2": "A feline.", "label": 1, "idx": 2},
            {"sentence1": "Up.", "sentence2": "Down.", "label": 0, "idx": 3},
        ],
    )
    write_jsonl(
        tmp_path / "glue/mnli/validation_matched.jsonl",
        [
            {"premise": "A man eats.", "hypothesis": "Someone eats", "label": 0, "idx": 0},
            {"premise": "A man eats.", "hypothesis": " Nobody eats. ", "label": 2, "idx": 1},
        ],
    )
    write_jsonl(
        tmp_path / "glue/mnli/validation_mismatched.jsonl",
        [{"premise": "P.", "hypothesis": "H?", "label": 1, "idx": 7}],
    )
    write_jsonl(
        tmp_path / "glue/stsb/validation.jsonl",
        [
            {"sentence1": "A", "sentence2": "B", "label": 0.0, "idx": 0},
            {"sentence1": "C", "sentence2": "D", "label": 2.4, "idx": 1},
            {"sentence1": "E", "sentence2": "F", "label": 5.0, "idx": 2},
        ],
    )
    return tmp_path


def test_cola_prompt_choices_and_requests_match_the_harness(glue_dir: Path) -> None:
    task = build(f"glue-cola,data_dir={glue_dir}")
    sample = task.samples()[0]
    assert sample.id == "validation-0"
    assert sample.input == (
        "The sailors rode the breeze clear of the rocks.\n"
        "Question: Does this sentence make sense?\nAnswer:"
    )
    assert sample.choices == ("no", "yes")
    assert sample.target == 1
    assert task.requests(sample) == [
        LoglikelihoodRequest(sample.input, " no"),
        LoglikelihoodRequest(sample.input, " yes"),
    ]


def test_cola_mcc_on_a_hand_checked_confusion_matrix(glue_dir: Path) -> None:
    task = build(f"glue-cola,data_dir={glue_dir}")
    # gold 1 1 0 0 1, predicted 1 1 1 0 0: tp=2 tn=1 fp=1 fn=1 -> (2-1)/sqrt(3*3*2*2) = 1/6
    assert aggregate(task, "mcc", [1, 1, 1, 0, 0]) == pytest.approx(1 / 6)
    assert aggregate(task, "acc", [1, 1, 1, 0, 0]) == pytest.approx(3 / 5)
    assert aggregate(task, "mcc", [1, 1, 0, 0, 1]) == pytest.approx(1.0)


def test_mrpc_prompt_and_f1(glue_dir: Path) -> None:
    task = build(f"glue-mrpc,data_dir={glue_dir}")
    assert task.samples()[0].input == (
        "Sentence 1: He said hi.\nSentence 2: He greeted.\n"
        "Question: Do both sentences mean the same thing?\nAnswer:"
    )
    # gold 1 0 1 0, predicted 1 1 0 0: tp=1 fp=1 fn=1 -> F1 = 2/(2+1+1) = 0.5
    assert aggregate(task, "f1", [1, 1, 0, 0]) == pytest.approx(0.5)
    assert [m.name for m in task.metrics] == ["acc", "f1"]


def test_mnli_adds_a_period_only_when_missing(glue_dir: Path) -> None:
    task = build(f"glue-mnli,data_dir={glue_dir}")
    first, second = task.samples()
    assert first.input == "A man eats.\nQuestion: Someone eats. True, False or Neither?\nAnswer:"
    assert second.input == "A man eats.\nQuestion: Nobody eats. True, False or Neither?\nAnswer:"
    assert first.choices == ("True", "Neither", "False")
    assert second.target == 2
    mismatched = build(f"glue-mnli-mm,data_dir={glue_dir}")
    assert mismatched.samples()[0].id == "validation_mismatched-7"


def test_stsb_predicts_the_expected_score(glue_dir: Path) -> None:
    task = build(f"glue-stsb,data_dir={glue_dir}")
    sample = task.samples()[1]
    assert [r.continuation for r in task.requests(sample)] == [f" {k}" for k in range(6)]  # type: ignore[union-attr]
    # Equal probability on "2" and "4", nothing elsewhere: expected score 3.
    from bakeoff.core.types import LoglikelihoodResult

    logprobs = [-50.0, -50.0, -0.7, -50.0, -0.7, -50.0]
    results = [LoglikelihoodResult(lp, False, 1) for lp in logprobs]
    score = task.score(sample, results)
    assert score.metric_inputs["pearson"][0] == pytest.approx(3.0, abs=1e-6)
    assert score.metric_inputs["pearson"][1] == pytest.approx(2.4)


def test_stsb_correlations_on_hand_checked_values(glue_dir: Path) -> None:
    task = build(f"glue-stsb,data_dir={glue_dir}")
    # Predicting the argmax 0, 1, 5 for gold 0, 2.4, 5: ranks agree perfectly.
    assert aggregate(task, "spearman", [0, 1, 5]) == pytest.approx(1.0)
    pearson = aggregate(task, "pearson", [0, 1, 5])
    assert 0.9 < pearson < 1.0


def test_fewshot_context_is_laid_out_like_the_harness(glue_dir: Path) -> None:
    task = build(f"glue-cola,data_dir={glue_dir},shots=2,seed=3")
    sample = task.samples()[3]
    shots = sample.metadata["shot_ids"]
    assert len(shots) == 2
    blocks = sample.input.split("\n\n")  # type: ignore[union-attr]
    assert len(blocks) == 3
    for block in blocks[:2]:
        assert block.startswith("Train sentence ")
        number = int(block.split()[2].rstrip("."))
        answer = "yes" if number % 2 else "no"
        assert block.endswith(f"\nQuestion: Does this sentence make sense?\nAnswer: {answer}")
    assert blocks[2] == "They drank the pub.\nQuestion: Does this sentence make sense?\nAnswer:"


def test_glue_score_averages_like_the_leaderboard() -> None:
    scores = {
        "glue-cola": {"mcc": 0.5},
        "glue-sst2": {"acc": 0.9},
        "glue-mrpc": {"acc": 0.8, "f1": 0.6},
        "glue-stsb": {"pearson": 0.4, "spearman": 0.2},
        "glue-qqp": {"acc": 0.7, "f1": 0.5},
        "glue-mnli": {"acc": 0.6},
        "glue-mnli-mm": {"acc": 0.4},
        "glue-qnli": {"acc": 0.5},
        "glue-rte": {"acc": 0.6},
        "glue-wnli": {"acc": 0.3},
    }
    # tasks: .5 .9 .7 .3 .6 .5 .5 .6 .3 -> mean 4.9 / 9
    assert glue_score(scores) == pytest.approx(4.9 / 9)
    del scores["glue-wnli"]
    assert glue_score(scores) is None
    scores["glue-wnli"] = {"acc": math.nan}
    assert glue_score(scores) is None


def test_hub_format_tsv_and_csv_read_the_same(tmp_path: Path) -> None:
    rows = "sentence\tlabel\tidx\nGood film.\t1\t0\nBad film.\t0\t1\n"
    (tmp_path / "glue/sst2").mkdir(parents=True)
    (tmp_path / "glue/sst2/validation.tsv").write_text(rows, encoding="utf-8")
    task = build(f"glue-sst2,data_dir={tmp_path}")
    assert [s.target for s in task.samples()] == [1, 0]
    assert task.samples()[0].input == (
        "Good film.\nQuestion: Is this sentence positive or negative?\nAnswer:"
    )
    assert task.samples()[0].choices == ("negative", "positive")
    score = task.score(task.samples()[0], results_choosing(2, 1))
    assert score.correct is True
    assert score.prediction == "positive"
