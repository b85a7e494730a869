"""The benchmark aggregations on hand-checked values, and against scikit-learn/scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from bakeoff.core.errors import ConfigError
from bakeoff.tasks.base import AGGREGATIONS
from bakeoff.tasks.benchmarks._fewshot import Doc, ShotDraw, plain_context


def _agg(name: str, rows: list[tuple[float, ...]]) -> float:
    return AGGREGATIONS[name](np.array(rows, dtype=float))


def test_registered_by_importing_the_catalog() -> None:
    import bakeoff.tasks.catalog  # noqa: F401

    for name in ("balanced_acc", "macro_f1", "pearson", "spearman", "grouped_all"):
        assert name in AGGREGATIONS


def test_balanced_accuracy_hand_checked() -> None:
    # gold 0 0 0 1, pred 0 0 1 1: recall 2/3 and 1 -> 5/6 (plain accuracy would be 3/4)
    assert _agg("balanced_acc", [(0, 0), (0, 0), (1, 0), (1, 1)]) == pytest.approx(5 / 6)
    # A predicted class absent from gold does not count as a class.
    assert _agg("balanced_acc", [(2, 0), (0, 0), (1, 1)]) == pytest.approx((0.5 + 1) / 2)
    # Groups: mean of per-group balanced accuracies (1.0 and 0.5).
    grouped = [(0, 0, 0), (1, 1, 0), (0, 0, 1), (0, 1, 1)]
    assert _agg("balanced_acc", grouped) == pytest.approx(0.75)


def test_balanced_accuracy_matches_scikit_learn() -> None:
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    gold = rng.integers(0, 5, 200)
    pred = np.where(rng.random(200) < 0.4, gold, rng.integers(0, 5, 200))
    expected = metrics.balanced_accuracy_score(gold, pred)
    assert _agg("balanced_acc", list(zip(pred, gold, strict=True))) == pytest.approx(expected)


def test_correlations_match_scipy() -> None:
    rng = np.random.default_rng(1)
    gold = rng.uniform(0, 5, 50)
    pred = gold + rng.normal(0, 1.5, 50)
    rows = list(zip(pred, gold, strict=True))
    assert _agg("pearson", rows) == pytest.approx(stats.pearsonr(pred, gold).statistic)
    assert _agg("spearman", rows) == pytest.approx(stats.spearmanr(pred, gold).statistic)
    assert np.isnan(_agg("pearson", [(1.0, 0.0), (1.0, 2.0)]))


def test_grouped_all_is_multirc_exact_match() -> None:
    rows = [(1, 7), (1, 7), (1, 9), (0, 9), (1, 3)]
    assert _agg("grouped_all", rows) == pytest.approx(2 / 3)


def test_shot_draws_are_one_seeded_stream_and_never_the_document() -> None:
    pool = [Doc(f"d{i}", f"q{i}", ("a", "b"), i % 2) for i in range(30)]
    draw = ShotDraw(pool, 5, 1234, exclude_doc=True)
    again = ShotDraw(pool, 5, 1234, exclude_doc=True)
    picks = [draw.pick(doc) for doc in pool]
    assert picks == [again.pick(doc) for doc in pool]  # seeded: the same prompts every build
    for doc, shots in zip(pool, picks, strict=True):
        assert doc not in shots
        assert len({s.id for s in shots}) == 5
    assert picks[0] != picks[1]  # one stream: consecutive documents get different draws
    other = ShotDraw(pool, 5, 1235, exclude_doc=True)
    assert [other.pick(doc) for doc in pool] != picks
    assert ShotDraw(pool, 3, 0, "first_n").pick(pool[1]) == pool[:3]
    assert ShotDraw(pool, 3, 0, "first_n", exclude_doc=True).pick(pool[1]) == [
        pool[0],
        pool[2],
        pool[3],
    ]
    with pytest.raises(ConfigError, match=r"shots=30 needs 30 \+ 1 .* has 30"):
        ShotDraw(pool, 30, 0, exclude_doc=True)


def test_shot_draws_equal_the_harness_samplers() -> None:
    samplers = pytest.importorskip("lm_eval.api.samplers", reason="lm-eval not installed")
    rows = [{"text": f"q{i}", "label": i % 2} for i in range(25)]
    pool = [Doc(f"d{i}", str(r["text"]), ("a", "b"), int(r["label"])) for i, r in enumerate(rows)]
    # Few-shot split apart from the evaluated one (ARC, GLUE, ...): k draws per document.
    theirs = samplers.ContextSampler(rows, rnd=1234)
    ours = ShotDraw(pool, 4, 1234)
    for doc in pool[:12]:
        assert [d.text for d in ours.pick(doc)] == [r["text"] for r in theirs.sample(4)]
    # Same split (LAMBADA): k + 1 drawn, the document dropped.
    theirs = samplers.ContextSampler(rows, rnd=1234)
    ours = ShotDraw(pool, 3, 1234, exclude_doc=True)
    for row, doc in zip(rows, pool, strict=True):
        expected = [r["text"] for r in theirs.sample(3, eval_doc=row)]
        assert [d.text for d in ours.pick(doc)] == expected
    first = samplers.FirstNSampler(rows, rnd=1234)
    assert [d.text for d in ShotDraw(pool, 5, 0, "first_n").pick(pool[9])] == [
        r["text"] for r in first.sample(5)
    ]


def test_plain_context_layout() -> None:
    shots = [Doc("s1", "Q: one", ("x", "y"), 1), Doc("s2", "Q: two", ("x", "y"), 0)]
    doc = Doc("d", "Q: three", ("x", "y"), 0, description="Describe.\n\n")
    assert plain_context(doc, shots) == "Describe.\n\nQ: one y\n\nQ: two x\n\nQ: three"
    assert plain_context(doc, []) == "Describe.\n\nQ: three"
