"""Tokenizer efficiency: corpora, the table's arithmetic, and the task through the runner."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from tests.helpers import SHARED_DATA
from tests.helpers_scripted_api import LOCAL_URL, ScriptedApi

from bakeoff.backends.base import Backend
from bakeoff.backends.mock import MockBackend
from bakeoff.core.errors import (
    ConfigError,
    DataError,
    ModelNotFoundError,
    UnsupportedRequestError,
)
from bakeoff.core.model import ModelInfo, ModelSpec
from bakeoff.core.records import ResultRecord
from bakeoff.core.types import (
    GenerationResult,
    RequestKind,
    RollingLoglikelihoodResult,
    TokenizeRequest,
    TokenizeResult,
)
from bakeoff.runner.executor import Executor, LocalExecutor
from bakeoff.runner.plan import RunConfig, make_plan
from bakeoff.runner.run import execute_plan
from bakeoff.storage.sqlite import SqliteStore
from bakeoff.tasks.tokenizer_efficiency import (
    TokenCount,
    TokenizerEfficiency,
    efficiency_table,
    format_table,
    load_xcopa_corpus,
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
    assert task.primary_metric == "tokens_vs_en"
    assert task.metrics[0].name == "tokens_vs_en"
    # The baseline comes first in every round, so a --limit keeps it.
    assert [s.id for s in task.samples()[:3]] == ["en-1", "de-1", "zh-1"]
    zh = next(s for s in task.samples() if s.metadata["language"] == "zh")
    assert zh.metadata["whitespace_words"] is False
    # A non-baseline sample also asks for its item in the baseline language; English alone.
    assert [r.text for r in task.requests(zh)] == ["猫在睡觉。", "The cat sleeps."]
    assert [r.text for r in task.requests(task.samples()[0])] == ["The cat sleeps."]
    with pytest.raises(ConfigError, match="baseline language 'fr'"):
        TokenizerEfficiency(str(tmp_path), {"baseline": "fr"})


def test_score_divides_by_the_same_item_in_the_baseline(tmp_path: Path) -> None:
    task = TokenizerEfficiency(str(_corpus(tmp_path)), {})
    de = next(s for s in task.samples() if s.id == "de-1")  # "Die Katze schläft." 18 chars
    score = task.score(
        de, [RollingLoglikelihoodResult(-9.0, 6), RollingLoglikelihoodResult(-7.0, 4)]
    )
    assert score.metric_inputs["tokens_vs_en"] == (6 / 4,)
    assert score.metric_inputs["tokens_per_char"] == (6 / 18,)
    assert score.metric_inputs["tokens_per_word"] == (6 / 3,)
    assert score.metric_inputs["bits_per_byte"] == (-9.0, 19.0)  # "ä" is two UTF-8 bytes
    assert score.details == {"n_tokens": 6, "baseline_tokens": 4, "logprob": -9.0}
    en = task.samples()[0]
    assert task.score(en, [RollingLoglikelihoodResult(-3.0, 4)]).metric_inputs["tokens_vs_en"] == (
        1.0,
    )


def test_misaligned_corpus_is_a_data_error(tmp_path: Path) -> None:
    _corpus(tmp_path)
    (tmp_path / "fr.txt").write_text("Un seul.\n", encoding="utf-8")
    with pytest.raises(DataError, match="not aligned"):
        TokenizerEfficiency(str(tmp_path), {})


def test_xcopa_without_english_falls_back_to_italian_and_says_so(
    shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BAKEOFF_DATA_DIR", str(shared_data))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    task = TokenizerEfficiency("", {"n": "2"})
    assert task.baseline == "it"
    assert task.primary_metric == "tokens_vs_it"
    assert "no English in this corpus" in str(task.manifest()["source"])
    assert len(task.samples()) == 22
    # Item 0 is the same content in every language (aligned by XCOPA's idx), Italian first.
    assert task.samples()[0].id == "it-0"
    assert {s.metadata["item"] for s in task.samples()[:11]} == {"0"}
    with pytest.raises(DataError, match="copa"):
        TokenizerEfficiency("", {"n": "2", "langs": "en+it"})


def test_xcopa_with_copas_english_uses_english_as_baseline(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    # A data folder with the real XCOPA files and COPA's English test items in SuperGLUE's
    # format (idx 0 and 1 of COPA's test split, which XCOPA translated).
    (tmp_path / "xcopa").symlink_to(shared_data / "xcopa")
    (tmp_path / "super_glue" / "copa").mkdir(parents=True)
    (tmp_path / "super_glue" / "copa" / "test.jsonl").write_text(
        '{"premise": "The item was packaged in bubble wrap.", "choice1": "It was fragile.", '
        '"choice2": "It was small.", "question": "cause", "idx": 0, "label": -1}\n'
        '{"premise": "I emptied my pockets.", "choice1": "I retrieved a ticket stub.", '
        '"choice2": "I found a weapon.", "question": "effect", "idx": 1, "label": -1}\n',
        encoding="utf-8",
    )
    task = TokenizerEfficiency("", {"n": "2", "data_dir": str(tmp_path)})
    assert task.baseline == "en"
    assert task.languages[:2] == ["en", "et"]
    assert len(task.languages) == 12
    assert task.primary_metric == "tokens_vs_en"
    assert "COPA's English test items" in str(task.manifest()["source"])
    it0 = next(s for s in task.samples() if s.id == "it-0")
    assert [r.text for r in task.requests(it0)][1] == (
        "The item was packaged in bubble wrap. It was fragile. It was small."
    )


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
    # The mock counts len(text) // 4 tokens per text: check the rows against that rule.
    tokens = {
        lang: [max(1, len(t) // 4) for t in texts]
        for lang, texts in (
            ("en", ("The cat sleeps.", "A red car.")),
            ("de", ("Die Katze schläft.", "Ein rotes Auto.")),
        )
    }
    assert table["en"].tokens == sum(tokens["en"])
    assert table["en"].relative == pytest.approx(1.0)
    expected = sum(d / e for d, e in zip(tokens["de"], tokens["en"], strict=True)) / 2
    assert table["de"].relative == pytest.approx(expected)
    # The stored per-sample metric the report breaks down by language says the same.
    stored = [r.metrics["tokens_vs_en"][0] for r in results if r.sample_id.startswith("de-")]
    assert sum(stored) / len(stored) == pytest.approx(expected)


def test_direct_path_needs_a_counter_that_counts() -> None:
    with pytest.raises(UnsupportedRequestError, match="cannot count tokens"):
        measure_tokenizer_efficiency(lambda text: None, {"en": {"1": "text"}}, "en")
    backend = MockBackend(ModelSpec.parse("mock:a"))
    table = measure_tokenizer_efficiency(backend.count_tokens, {"en": {"1": "12345678"}}, "en")
    assert table["en"].tokens == 2


class _VocabCounter:
    """The llamacpp backend's own count (``LlamaSession.tokenize``, no special tokens) over a
    vocabulary-only load of the GGUF: the cheap path's counts without loading the weights."""

    def __init__(self, llama_cpp: Any, vocab: Any) -> None:
        from bakeoff.backends.llamacpp import LlamaSession

        self._session = SimpleNamespace(ll=llama_cpp, vocab=vocab._model.vocab)
        self._tokenize = LlamaSession.tokenize

    def count_tokens(self, text: str) -> int:
        return len(self._tokenize(self._session, text, add_special=False))


@pytest.mark.parametrize("alias", ["gemma3-270m", "smollm2-135m"])
def test_cheap_path_agrees_with_a_direct_count_where_byte_fallback_differs(alias: str) -> None:
    # zh (CJK, no spaces), ta (Tamil: multi-byte, mostly byte-fallback in a small BPE) and th
    # (Thai: no spaces, combining marks) are where a tokenizer's byte fallback shows, so the
    # figures must still be exact counts there, not only for it/sw.
    llama_cpp = pytest.importorskip("llama_cpp", reason="pip install 'bakeoff[llamacpp]'")
    from bakeoff.backends.models import resolve_model_path

    if not (SHARED_DATA / "xcopa").is_dir():
        pytest.skip(f"shared XCOPA data not found at {SHARED_DATA / 'xcopa'}")
    try:
        path = resolve_model_path(alias)
    except ModelNotFoundError as exc:
        pytest.skip(str(exc))
    vocab = llama_cpp.Llama(str(path), vocab_only=True, verbose=False)

    def direct(text: str) -> int:
        # llama_cpp's public tokenizer, the reference the stored figures must agree with.
        return len(vocab.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    full = load_xcopa_corpus(["it", "zh", "ta", "th"], str(SHARED_DATA))
    corpus = {lang: dict(list(items.items())[:5]) for lang, items in full.items()}
    counter = _VocabCounter(llama_cpp, vocab)
    table = measure_tokenizer_efficiency(counter.count_tokens, corpus, "it")
    base = {item: direct(text) for item, text in corpus["it"].items()}
    for lang in ("zh", "ta", "th"):
        texts = corpus[lang]
        counts = {item: direct(text) for item, text in texts.items()}
        row = table[lang]
        assert row.items == len(texts) == 5
        assert row.tokens == sum(counts.values()), (alias, lang)
        assert row.tokens_per_char == pytest.approx(
            sum(counts[i] / len(t) for i, t in texts.items()) / len(texts)
        )
        assert row.relative == pytest.approx(sum(counts[i] / base[i] for i in texts) / len(texts))
        # Several UTF-8 bytes per character: a count of bytes would be far off the real one.
        assert row.tokens != sum(len(t.encode("utf-8")) for t in texts.values())
    # Chinese and Thai are written without spaces: no per-word figure; Tamil has one.
    assert table["zh"].tokens_per_word is None
    assert table["th"].tokens_per_word is None
    ta = corpus["ta"]
    assert table["ta"].tokens_per_word == pytest.approx(
        sum(direct(t) / len(t.split()) for t in ta.values()) / len(ta)
    )


# -- method=count: tokenize requests through the runner ---------------------------------------


def _run_count(tmp_path: Path, model: str, executor: Executor | None = None) -> list[ResultRecord]:
    (tmp_path / "c").mkdir(parents=True, exist_ok=True)
    task = TokenizerEfficiency(str(_corpus(tmp_path / "c")), {"method": "count"})
    plan = make_plan(RunConfig(models=(ModelSpec.parse(model),)), tasks=[task])
    store = SqliteStore(tmp_path / "t.db")
    try:
        assert execute_plan(plan, store, executor=executor).failed == 0
        return list(store.iter_results(plan.run_id))
    finally:
        store.close()


def test_count_method_asks_for_token_counts_only(tmp_path: Path) -> None:
    corpus = str(_corpus(tmp_path))
    task = TokenizerEfficiency(corpus, {"method": "count"})
    scored = TokenizerEfficiency(corpus, {})
    assert (task.kind, scored.kind) == (RequestKind.TOKENIZE, RequestKind.LOGLIKELIHOOD_ROLLING)
    zh = next(s for s in task.samples() if s.id == "zh-1")
    requests = task.requests(zh)
    assert requests == [TokenizeRequest("猫在睡觉。"), TokenizeRequest("The cat sleeps.")]
    # No likelihood, no bits per byte; another method is another run, while the default
    # keeps the identity runs stored before the option existed had.
    assert [m.name for m in task.metrics] == ["tokens_vs_en", "tokens_per_char", "tokens_per_word"]
    assert task.template_hash() != scored.template_hash()
    assert "method" not in scored.config()
    assert task.config()["method"] == "count"
    score = task.score(zh, [TokenizeResult(6), TokenizeResult(4)])
    assert score.metric_inputs == {"tokens_per_char": (6 / 5,), "tokens_vs_en": (6 / 4,)}
    assert score.details == {"n_tokens": 6, "baseline_tokens": 4}
    with pytest.raises(ConfigError, match="method='bpe' is not one of"):
        TokenizerEfficiency(corpus, {"method": "bpe"})


def test_count_method_through_the_runner_stores_the_mock_counts(tmp_path: Path) -> None:
    records = _run_count(tmp_path, "a=mock:a")
    de = next(r for r in records if r.sample_id == "de-1")
    # The mock counts one token per 4 characters: "Die Katze schläft." 18, "The cat sleeps." 15.
    assert (de.details["n_tokens"], de.details["baseline_tokens"]) == (4, 3)
    assert de.metrics["tokens_vs_en"] == (4 / 3,)
    assert "bits_per_byte" not in de.metrics
    assert [o["kind"] for o in de.outputs] == ["tokenize", "tokenize"]
    assert len(de.outputs[0]["token_ids"]) == 4
    assert (de.prompt_tokens, de.output_tokens) == (0, 0)  # a count runs no model


class _NoTokenizer(Backend):
    """Claims every kind but its tokenizer gives no count (``count_tokens`` left as None)."""

    name = "no-tokenizer"
    supports = frozenset(RequestKind)

    def info(self) -> ModelInfo:
        return ModelInfo(name="x", backend=self.name, source="test")


class _OpenAs(LocalExecutor):
    def __init__(self, make: Callable[[ModelSpec], Backend]) -> None:
        self.make = make

    def open(self, spec: ModelSpec) -> Backend:
        return self.make(spec)


def test_a_backend_that_cannot_count_is_refused_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedRequestError, match=r"'no-tokenizer' \(a\) cannot count tokens"):
        _run_count(tmp_path / "x", "a=mock:a", _OpenAs(_NoTokenizer))
    # An API that tokenizes nothing (the Messages API, the chat API) says so before sending.
    scripted = _OpenAs(lambda spec: ScriptedApi(spec, lambda s, r: GenerationResult("")))
    with pytest.raises(UnsupportedRequestError, match="does not support tokenize requests"):
        _run_count(tmp_path / "y", f"a=openai:x,base_url={LOCAL_URL}", scripted)


@pytest.mark.model
def test_count_method_on_a_real_model_matches_its_tokenizer(tmp_path: Path) -> None:
    llama_cpp = pytest.importorskip("llama_cpp", reason="pip install 'bakeoff[llamacpp]'")
    from bakeoff.backends.models import resolve_model_path

    try:
        path = resolve_model_path("smollm2-135m")
    except ModelNotFoundError as exc:
        pytest.skip(str(exc))
    vocab = llama_cpp.Llama(str(path), vocab_only=True, verbose=False)
    records = _run_count(tmp_path, "smol=llamacpp:smollm2-135m")
    assert len(records) == 6
    for record in records:
        language, item = record.sample_id.split("-")
        lines = (tmp_path / "c" / f"{language}.txt").read_text(encoding="utf-8").splitlines()
        text = lines[int(item) - 1]
        expected = len(vocab.tokenize(text.encode("utf-8"), add_bos=False, special=False))
        assert record.details["n_tokens"] == expected, record.sample_id
