"""Every family on the two bundled models through make_plan/execute_plan, a SqliteStore and the
report; tokenizer-efficiency figures checked against llama_cpp.Llama.tokenize directly."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bakeoff.backends.base import ModelSpec, open_backend
from bakeoff.core.errors import ModelNotFoundError
from bakeoff.core.records import ResultRecord, SampleRecord
from bakeoff.report.model import build_report
from bakeoff.runner.plan import RunConfig, make_plan
from bakeoff.runner.run import execute_plan
from bakeoff.storage.sqlite import SqliteStore
from bakeoff.tasks.tokenizer_efficiency import (
    load_xcopa_corpus,
    measure_tokenizer_efficiency,
    table_from_records,
)

# A few samples per family and model: ~1 minute on an idle 2-core machine; the longer timeout
# only guards against a machine shared with other heavy jobs.
pytestmark = [pytest.mark.model, pytest.mark.timeout(1500)]

MODELS = ("gemma=llamacpp:gemma3-270m", "smol=llamacpp:smollm2-135m")
LIMIT = 2
TASKS = (
    "xcopa,langs=sw+zh,n=2",
    "tokenizer-efficiency,langs=it+sw+zh,n=2",
    "script-copy,langs=Latin+Cyrillic,n=2",
    "conversation,n=1,depths=2,kinds=fact+format",
    "xstest,max_tokens=12",
    "bbq,categories=Age+Religion",
    "toxicity,n=2,max_tokens=16",
)
EXPECTED = dict.fromkeys(  # samples per model after --limit 2
    ("xcopa", "tokenizer-efficiency", "script-copy", "conversation", "xstest", "bbq", "toxicity"),
    LIMIT,
)


@dataclass
class Stored:
    run_id: str
    samples: dict[str, dict[str, SampleRecord]]
    results: dict[str, list[ResultRecord]]
    model_info: dict[str, dict[str, Any]]
    db: Path


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stored]:
    pytest.importorskip("llama_cpp", reason="pip install 'bakeoff[llamacpp]'")
    from tests.helpers import SHARED_DATA

    from bakeoff.backends.models import resolve_model_path

    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared benchmark data not found at {SHARED_DATA}")
    for alias in ("gemma3-270m", "smollm2-135m"):
        try:
            resolve_model_path(alias)
        except ModelNotFoundError as exc:
            pytest.skip(str(exc))
    folder = tmp_path_factory.mktemp("families")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BAKEOFF_DATA_DIR", str(SHARED_DATA))
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.setenv("BAKEOFF_CACHE_DIR", str(folder / "cache"))
        config = RunConfig(
            models=tuple(ModelSpec.parse(m) for m in MODELS), task_specs=TASKS, limit=LIMIT
        )
        plan = make_plan(config)
        store = SqliteStore(folder / "families.db")
        try:
            outcome = execute_plan(plan, store)
            assert outcome.failed == 0
            assert outcome.computed == 2 * sum(EXPECTED.values())
            samples: dict[str, dict[str, SampleRecord]] = {}
            for record in store.iter_samples(plan.run_id):
                samples.setdefault(record.task, {})[record.sample_id] = record
            results: dict[str, list[ResultRecord]] = {}
            for result in store.iter_results(plan.run_id):
                results.setdefault(result.task, []).append(result)
            run = store.get_run(plan.run_id)
            info = {m.label: dict(m.info) for m in run.models}
        finally:
            store.close()
        yield Stored(plan.run_id, samples, results, info, folder / "families.db")


def test_every_family_stored_for_both_models(stored: Stored) -> None:
    for task, n in EXPECTED.items():
        by_model = [r.model for r in stored.results[task]]
        assert sorted(by_model) == sorted(["gemma"] * n + ["smol"] * n), task
    assert {s.metadata["language"] for s in stored.samples["xcopa"].values()} == {"sw", "zh"}
    assert {s.metadata["context_condition"] for s in stored.samples["bbq"].values()} == {
        "ambig",
        "disambig",
    }
    assert {s.target for s in stored.samples["xstest"].values()} == {"safe", "unsafe"}
    for record in stored.results["xstest"]:
        assert record.details["detector"] == "xstest-strmatch"
    for record in stored.results["bbq"]:
        assert set(record.metrics) == {"acc", "bias_ambig", "bias_disambig"}


def test_chat_probes_are_marked_for_the_base_model(stored: Stored) -> None:
    # Gemma 3 270M has no chat template: the backend renders a plain transcript.
    assert stored.model_info["gemma"]["has_chat_template"] is False
    assert stored.model_info["smol"]["has_chat_template"] is True
    assert all("base_model_caveat" in s.metadata for s in stored.samples["conversation"].values())


def test_report_puts_families_in_their_sections_with_breakdowns(stored: Stored) -> None:
    store = SqliteStore(stored.db, create=False)
    try:
        report = build_report(store, stored.run_id)
    finally:
        store.close()
    sections = {t.name: t.section for t in report.tasks}
    assert sections["xcopa"] == "multilingual"
    assert sections["conversation"] == "conversation"
    assert sections["bbq"] == "safety"
    xcopa = next(t for t in report.tasks if t.name == "xcopa")
    assert any(g.key == "language" and len(g.rows) == 2 for g in xcopa.groups)


def test_tokenizer_figures_agree_with_llama_tokenize(stored: Stored) -> None:
    llama_cpp = pytest.importorskip("llama_cpp")
    from bakeoff.backends.models import resolve_model_path

    samples = stored.samples["tokenizer-efficiency"]
    records = stored.results["tokenizer-efficiency"]
    for label, alias in (("gemma", "gemma3-270m"), ("smol", "smollm2-135m")):
        vocab = llama_cpp.Llama(str(resolve_model_path(alias)), vocab_only=True, verbose=False)
        for record in (r for r in records if r.model == label):
            text = str(samples[record.sample_id].input)
            direct = len(vocab.tokenize(text.encode("utf-8"), add_bos=False, special=False))
            assert record.details["n_tokens"] == direct, (label, record.sample_id)
        # The count_tokens path gives the same table as the stored rolling results.
        corpus = {
            lang: dict(list(items.items())[:1])
            for lang, items in load_xcopa_corpus(["it", "sw"], None).items()
        }
        backend = open_backend(ModelSpec.parse(f"llamacpp:{alias}"))
        try:
            direct_table = measure_tokenizer_efficiency(backend, corpus, "it")
        finally:
            backend.close()
        stored_table = table_from_records(samples, records, "it")[label]
        for lang in ("it", "sw"):
            assert direct_table[lang].tokens_per_char == pytest.approx(
                _first_item_ratio(samples, records, label, lang)
            )
            assert stored_table[lang].items == 1
        assert direct_table["it"].relative == pytest.approx(1.0)


def _first_item_ratio(
    samples: dict[str, SampleRecord], records: list[ResultRecord], model: str, lang: str
) -> float:
    record = next(r for r in records if r.model == model and r.sample_id == f"{lang}-0")
    return float(record.details["n_tokens"]) / int(samples[record.sample_id].metadata["chars"])
