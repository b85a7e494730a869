"""SuperGLUE tasks on small files in the hub's own format (aps/super_glue)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.benchmarks.bench_helpers import aggregate, build, results_choosing, write_jsonl

from bakeoff.core.types import LoglikelihoodRequest
from bakeoff.tasks.benchmarks.superglue import squad_f1, superglue_score

WSC_ROW = {
    "text": "Mark told Pete many lies about himself, which Pete included in his book. "
    "He should have been more truthful.",
    "span1_index": 0,
    "span2_index": 13,
    "span1_text": "Mark",
    "span2_text": "He",
    "label": 0,
    "idx": 0,
}


@pytest.fixture
def sg_dir(tmp_path: Path) -> Path:
    base = tmp_path / "super_glue"
    write_jsonl(
        base / "boolq/validation.jsonl",
        [{"question": "is the sky blue", "passage": "The sky is blue.", "label": 1, "idx": 0}],
    )
    write_jsonl(
        base / "cb/validation.jsonl",
        [
            {"premise": "P0", "hypothesis": "H0", "label": 0, "idx": 0},
            {"premise": "P1", "hypothesis": "H1", "label": 1, "idx": 1},
            {"premise": "P2", "hypothesis": "H2", "label": 2, "idx": 2},
            {"premise": "P3", "hypothesis": "H3", "label": 0, "idx": 3},
        ],
    )
    write_jsonl(
        base / "copa/validation.jsonl",
        [
            {
                "premise": "My body cast a shadow over the grass.",
                "choice1": "The sun was rising.",
                "choice2": "The grass was cut.",
                "question": "cause",
                "label": 0,
                "idx": 0,
            },
            {
                "premise": "The woman tolerated her friend's difficult behavior.",
                "choice1": "The woman knew her friend was going through a hard time.",
                "choice2": "The woman felt that her friend took advantage of her kindness.",
                "question": "effect",
                "label": 1,
                "idx": 1,
            },
        ],
    )
    idx = {"paragraph": 0, "question": 0, "answer": 0}
    write_jsonl(
        base / "multirc/validation.jsonl",
        [
            {"paragraph": "Para.", "question": "Q1?", "answer": "a", "idx": idx, "label": 1},
            {"paragraph": "Para.", "question": "Q1?", "answer": "b", "idx": idx, "label": 0},
            {"paragraph": "Para.", "question": "Q2?", "answer": "c", "idx": idx, "label": 1},
        ],
    )
    write_jsonl(
        base / "record/validation.jsonl",
        [
            {
                "passage": "The cat sat.\n@highlight\nCats sit\n@highlight\nDogs run",
                "query": "@placeholder sat on the mat",
                "entities": ["cat", "Cat", "cat"],
                "answers": ["cat"],
                "idx": {"passage": 0, "query": 0},
            }
        ],
    )
    write_jsonl(
        base / "rte/validation.jsonl",
        [{"premise": "It rains.", "hypothesis": "It is wet.", "label": 0, "idx": 0}],
    )
    write_jsonl(
        base / "wic/validation.jsonl",
        [
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
    )
    write_jsonl(base / "wsc.fixed/validation.jsonl", [WSC_ROW])
    return tmp_path


def test_boolq_rte_wic_prompts(sg_dir: Path) -> None:
    boolq = build(f"superglue-boolq,data_dir={sg_dir}").samples()[0]
    assert boolq.input == "The sky is blue.\nQuestion: is the sky blue?\nAnswer:"
    assert boolq.choices == ("no", "yes")
    rte = build(f"superglue-rte,data_dir={sg_dir}").samples()[0]
    assert rte.input == "It rains.\nQuestion: It is wet. True or False?\nAnswer:"
    assert rte.choices == ("True", "False")
    wic = build(f"superglue-wic,data_dir={sg_dir}").samples()[0]
    assert wic.input == (
        "Sentence 1: Do you want to come over to my place later?\n"
        "Sentence 2: A political system with no place for the less prominent groups.\n"
        "Question: Is the word 'place' used in the same way in the two sentences above?\nAnswer:"
    )


def test_copa_connector_lowercased_choices_and_double_space(sg_dir: Path) -> None:
    task = build(f"superglue-copa,data_dir={sg_dir}")
    cause, effect = task.samples()
    assert cause.input == "My body cast a shadow over the grass because"
    assert effect.input == "The woman tolerated her friend's difficult behavior therefore"
    assert task.requests(cause) == [
        LoglikelihoodRequest(cause.input, "  the sun was rising."),
        LoglikelihoodRequest(cause.input, "  the grass was cut."),
    ]
    assert effect.target == 1


def test_wsc_marks_the_pronoun(sg_dir: Path) -> None:
    sample = build(f"superglue-wsc,data_dir={sg_dir}").samples()[0]
    assert sample.input == (
        "Passage: Mark told Pete many lies about himself, which Pete included in his book. "
        "*He* should have been more truthful.\n"
        'Question: In the passage above, does the pronoun "*He*" refer to "*Mark*"?\nAnswer:'
    )
    assert sample.choices == ("no", "yes")
    assert sample.target == 0


def test_cb_macro_f1_hand_checked(sg_dir: Path) -> None:
    task = build(f"superglue-cb,data_dir={sg_dir}")
    assert task.samples()[0].input == "P0\nQuestion: H0. True, False, or Neither?\nAnswer:"
    # gold 0 1 2 0, predicted 0 1 1 0: F1 per class 1, 2/3, 0 -> 5/9
    assert aggregate(task, "f1", [0, 1, 1, 0]) == pytest.approx(5 / 9)
    assert aggregate(task, "acc", [0, 1, 1, 0]) == pytest.approx(3 / 4)


def test_cb_macro_f1_matches_scikit_learn(sg_dir: Path) -> None:
    metrics = pytest.importorskip("sklearn.metrics")
    import numpy as np

    task = build(f"superglue-cb,data_dir={sg_dir}")
    golds, preds = np.array([0, 1, 2, 0]), np.array([2, 1, 1, 0])
    expected = np.mean([metrics.f1_score(golds == c, preds == c) for c in range(3)])
    assert aggregate(task, "f1", list(preds)) == pytest.approx(expected)


def test_multirc_label_one_is_yes_and_em_groups_questions(sg_dir: Path) -> None:
    task = build(f"superglue-multirc,data_dir={sg_dir}")
    first = task.samples()[0]
    assert first.input == "Para.\nQuestion: Q1?\nAnswer:"
    assert first.choices == ("a\nIs the answer correct? yes", "a\nIs the answer correct? no")
    assert [s.target for s in task.samples()] == [0, 1, 0]
    # Right on both Q1 options, wrong on Q2: EM 1/2, acc 2/3.
    assert aggregate(task, "em", [0, 1, 1]) == pytest.approx(0.5)
    assert aggregate(task, "acc", [0, 1, 1]) == pytest.approx(2 / 3)
    # F1a, positive = "correct": predicted correct {a}, gold correct {a, c} -> 2/(1+2)
    assert aggregate(task, "f1a", [0, 1, 1]) == pytest.approx(2 / 3)


def test_record_text_choices_and_squad_scoring(sg_dir: Path) -> None:
    task = build(f"superglue-record,data_dir={sg_dir}")
    sample = task.samples()[0]
    assert sample.input == "The cat sat.\n\n  - Cats sit.\n  - Dogs run.\n"
    assert sample.choices == ("  - Cat sat on the mat", "  - cat sat on the mat")
    assert task.requests(sample)[0] == LoglikelihoodRequest(sample.input, "   - Cat sat on the mat")
    score = task.score(sample, results_choosing(2, 0))
    assert score.prediction == "Cat"
    assert score.metric_inputs == {"f1": (1.0,), "em": (1.0,)}  # case folded by SQuAD rules
    assert squad_f1("Barack Obama", "the Obama White House") == pytest.approx(0.4)


def test_superglue_score_averages_eight_tasks() -> None:
    scores = {
        "superglue-boolq": {"acc": 0.6},
        "superglue-cb": {"acc": 0.5, "f1": 0.3},
        "superglue-copa": {"acc": 0.7},
        "superglue-multirc": {"f1a": 0.6, "em": 0.2},
        "superglue-record": {"f1": 0.8, "em": 0.6},
        "superglue-rte": {"acc": 0.5},
        "superglue-wic": {"acc": 0.5},
        "superglue-wsc": {"acc": 0.4},
    }
    # .6 .4 .7 .4 .7 .5 .5 .4 -> 4.2 / 8
    assert superglue_score(scores) == pytest.approx(4.2 / 8)
    del scores["superglue-wsc"]
    assert superglue_score(scores) is None
