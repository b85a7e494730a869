"""Tokenizer efficiency: corpora, the table's arithmetic, and the task through the runner."""

from __future__ import annotations

from pathlib import Path

import pytest

from bakeoff.backends.base import ModelSpec
from bakeoff.backends.mock import MockBackend
from bakeoff.core.errors import ConfigError, DataError, UnsupportedRequestError
from bakeoff.runner.plan import RunConfig, make_plan
from bakeoff.runner.run import execute_plan
from bakeoff.storage.sqlite import SqliteStore
from bakeoff.tasks.tokenizer_efficiency import (
    TokenCount,
    TokenizerEfficiency,
    efficiency_table,
    format_table,
    measure_tokenizer_efficiency,
    table_from_records,
)


def _corpus(tmp_path: Path) -> Path:
    (tmp_path / "en.txt").write_text("The cat sleeps.\nA red car.\n", encoding="utf-8")
    (tmp_path / "de.txt").write_text("Die Katze schläft.\nEin rotes Auto.\n", encoding="utf-8")
    (tmp_path / "zh.txt").write_text("猫在睡觉。\n一辆红色的车。\n", encoding="utf-8")
    return tmp_path


def test_efficiency_table_arithmetic_by_hand() -> None:
    counts = [
        TokenCount("en", "1", 4, 16, 3),
        TokenCount("en", "2", 2, 10, 3),
        TokenCount("sw", "1", 8, 20, 4),
        TokenCount("sw", "2", 6, 12, 2),
        TokenCount("zh", "1", 6, 5, None),
    ]
    table = efficiency_table(counts, "en")
    assert table["en"].relative == pytest.approx(1.0)
    assert table["sw"].relative == pytest.approx((8 / 4 + 6 / 2) / 2)
    assert table["sw"].tokens_per_char == pytest.approx((8 / 20 + 6 / 12) / 2)
    assert table["sw"].tokens_per_word == pytest.approx((8 / 4 + 6 / 2) / 2)
    assert table["zh"].tokens_per_word is None
    assert table["zh"].relative == pytest.approx(6 / 4)  # only item 1 is shared
    assert "sw" in format_table(table, "en")


def test_text_corpus_task_and_baseline(tmp_path: Path) -> None:
    task = TokenizerEfficiency(str(_corpus(tmp_path)), {})
    assert task.baseline == "en"
    assert task.languages == ["de", "en", "zh"]
    zh = next(s for s in task.samples() if s.metadata["language"] == "zh")
    assert zh.metadata["whitespace_words"] is False
    with pytest.raises(ConfigError, match="baseline language 'fr'"):
        TokenizerEfficiency(str(tmp_path), {"baseline": "fr"})


def test_misaligned_corpus_is_a_data_error(tmp_path: Path) -> None:
    _corpus(tmp_path)
    (tmp_path / "fr.txt").write_text("Un seul.\n", encoding="utf-8")
    with pytest.raises(DataError, match="not aligned"):
        TokenizerEfficiency(str(tmp_path), {})


def test_xcopa_default_baseline_is_italian(
    shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BAKEOFF_DATA_DIR", str(shared_data))
    task = TokenizerEfficiency("", {"n": "2"})
    assert task.baseline == "it"
    assert len(task.samples()) == 22
    # Item 0 is the same content in every language (aligned by XCOPA's idx).
    assert {s.metadata["item"] for s in task.samples()[:11]} == {"0"}


def test_runner_path_stores_token_counts_the_table_reads(tmp_path: Path) -> None:
    (tmp_path / "c").mkdir()
    task = TokenizerEfficiency(str(_corpus(tmp_path / "c")), {})
    plan = make_plan(RunConfig(models=(ModelSpec.parse("mock:a"),)), tasks=[task])
    store = SqliteStore(tmp_path / "t.db")
    try:
        assert execute_plan(plan, store).failed == 0
        samples = {s.sample_id: s for s in store.iter_samples(plan.run_id)}
        results = list(store.iter_results(plan.run_id))
    finally:
        store.close()
    table = table_from_records(samples, results, "en")["a"]
    # The mock counts len(text) // 4 tokens per text: check one row against that rule.
    en_tokens = [max(1, len(t) // 4) for t in ("The cat sleeps.", "A red car.")]
    assert table["en"].tokens == sum(en_tokens)
    assert table["en"].relative == pytest.approx(1.0)


def test_direct_path_needs_a_backend_that_counts_tokens() -> None:
    backend = MockBackend(ModelSpec.parse("mock:a"))
    with pytest.raises(UnsupportedRequestError, match="cannot count tokens"):
        measure_tokenizer_efficiency(backend, {"en": {"1": "text"}}, "en")
