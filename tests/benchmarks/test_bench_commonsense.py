"""HellaSwag, PIQA and WinoGrande on small files in their hub formats."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.benchmarks.bench_helpers import aggregate, build, results_choosing, write_jsonl

from bakeoff.core.types import LoglikelihoodRequest

WINO = [
    {
        "sentence": "Sarah was a much better surgeon than Maria so _ always got the harder cases.",
        "option1": "Sarah",
        "option2": "Maria",
        "answer": "1",
    },
    {
        "sentence": "The trophy doesn't fit into the suitcase because the _ is too small.",
        "option1": "trophy",
        "option2": "suitcase",
        "answer": "2",
    },
]


def test_hellaswag_preprocessing_like_the_harness(tmp_path: Path) -> None:
    write_jsonl(
        tmp_path / "hellaswag/validation.jsonl",
        [
            {
                "ind": 24,
                "activity_label": "Roof shingle removal",
                "ctx_a": "A man is sitting on a roof.",
                "ctx_b": "he",
                "endings": [
                    "is using wrap to wrap a pair of skis.",
                    "is ripping level tiles off.",
                    "is holding a rubik's cube.",
                    "starts pulling up roofing on a roof.",
                ],
                "label": "3",
            },
            {
                "ind": 92,
                "activity_label": "Home and Garden",
                "ctx_a": "[header] How to clean a pan [title] Soak it.",
                "ctx_b": "",
                "endings": ["[step] Scrub it.", "Burn it.", "Paint  it.", "Sell it."],
                "label": "0",
            },
        ],
    )
    task = build(f"hellaswag,data_dir={tmp_path}")
    roof, wikihow = task.samples()
    assert roof.id == "validation-24"
    assert roof.input == "Roof shingle removal: A man is sitting on a roof. He"
    assert roof.target == 3
    assert task.requests(roof)[3] == LoglikelihoodRequest(
        roof.input, " starts pulling up roofing on a roof."
    )
    assert wikihow.input == "Home and Garden: How to clean a pan. Soak it."
    # "[step]" is dropped but its following space stays, exactly as the harness's preprocess.
    assert wikihow.choices == (" Scrub it.", "Burn it.", "Paint it.", "Sell it.")
    assert [m.name for m in task.metrics] == ["acc", "acc_norm"]


def test_acc_norm_divides_by_choice_characters(tmp_path: Path) -> None:
    write_jsonl(
        tmp_path / "piqa/validation.jsonl",
        [{"goal": "Dry a towel", "sol1": "sun", "sol2": "hang it in the sun", "label": 1}],
    )
    task = build(f"piqa,data_dir={tmp_path}")
    sample = task.samples()[0]
    assert sample.input == "Question: Dry a towel\nAnswer:"
    from bakeoff.core.types import LoglikelihoodResult

    # -6 over 3 chars (-2/char) vs -18 over 18 chars (-1/char): acc picks 0, acc_norm picks 1.
    results = [LoglikelihoodResult(-6.0, False, 1), LoglikelihoodResult(-18.0, False, 4)]
    score = task.score(sample, results)
    assert score.metric_inputs == {"acc": (0.0,), "acc_norm": (1.0,)}


def test_winogrande_partial_evaluation_requests(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "winogrande/validation.jsonl", WINO)
    task = build(f"winogrande,data_dir={tmp_path}")
    sample = task.samples()[0]
    assert task.requests(sample) == [
        LoglikelihoodRequest(
            "Sarah was a much better surgeon than Maria so Sarah", " always got the harder cases."
        ),
        LoglikelihoodRequest(
            "Sarah was a much better surgeon than Maria so Maria", " always got the harder cases."
        ),
    ]
    assert [s.target for s in task.samples()] == [0, 1]
    assert aggregate(task, "acc", [0, 0]) == pytest.approx(0.5)


def test_winogrande_fewshot_shows_the_filled_sentence(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "winogrande/validation.jsonl", WINO[:1])
    # The harness draws shots + 1 (it then drops the evaluated document): two train rows.
    write_jsonl(tmp_path / "winogrande/train.jsonl", WINO[1:] * 2)
    task = build(f"winogrande,data_dir={tmp_path},shots=1")
    request = task.requests(task.samples()[0])[1]
    assert request == LoglikelihoodRequest(
        "The trophy doesn't fit into the suitcase because the suitcase is too small.\n\n"
        "Sarah was a much better surgeon than Maria so Maria",
        " always got the harder cases.",
    )
    score = task.score(task.samples()[0], results_choosing(2, 0))
    assert score.correct is True
