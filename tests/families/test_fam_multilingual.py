"""Multilingual tasks: harness prompt format on real XCOPA rows, ordering, tables, probes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bakeoff.core.errors import ConfigError, DataError
from bakeoff.core.records import ResultRecord, SampleRecord
from bakeoff.core.types import LoglikelihoodResult
from bakeoff.stats import wilson_interval
from bakeoff.tasks.multilingual import (
    Belebele,
    ScriptCopyProbe,
    XCopa,
    Xnli,
    language_table,
    languages_served,
    served_count,
)


@pytest.fixture
def data_env(shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BAKEOFF_DATA_DIR", str(shared_data))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return shared_data


def test_xcopa_prompt_matches_the_harness_format_on_real_rows(data_env: Path) -> None:
    task = XCopa("", {"langs": "et+zh"})
    by_id = {s.id: s for s in task.samples()}
    # et idx 0: premise "Ese oli mullikilesse mässitud.", question "cause" -> connector "sest";
    # the premise loses its final period; the choices their capital first letter.
    et = by_id["et-0"]
    assert et.input == "Ese oli mullikilesse mässitud sest"
    assert et.choices == ("see oli õrn.", "see oli väike.")
    assert et.target == 0
    # As in the harness, a space precedes the connector in every language, Chinese included.
    assert by_id["zh-0"].input == "该物品用气泡包装纸包着 因为"
    assert by_id["zh-1"].input.endswith("所以")  # an "effect" item
    assert task.languages == ["et", "zh"]


def test_xcopa_is_item_major_so_a_limit_keeps_every_language(data_env: Path) -> None:
    samples = XCopa().samples()
    assert len(samples) == 11 * 500
    assert {s.metadata["language"] for s in samples[:11]} == {
        "et",
        "ht",
        "id",
        "it",
        "qu",
        "sw",
        "ta",
        "th",
        "tr",
        "vi",
        "zh",
    }
    assert XCopa("", {"n": "3"}).samples()[-1].id == "zh-2"


def test_unknown_language_and_missing_data_are_user_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ConfigError, match="unknown language xx"):
        XCopa("", {"langs": "xx"})
    with pytest.raises(DataError, match=r"xcopa \[et\]: no data"):
        XCopa("", {"langs": "et", "data_dir": str(tmp_path)})
    with pytest.raises(DataError, match="facebook/xnli"):
        Xnli("", {"langs": "de"})
    with pytest.raises(DataError, match="facebook/belebele"):
        Belebele("", {"langs": "zul_Latn"})


def test_xnli_and_belebele_prompts_from_local_rows(tmp_path: Path) -> None:
    (tmp_path / "xnli" / "de").mkdir(parents=True)
    (tmp_path / "xnli" / "de" / "validation.jsonl").write_text(
        '{"premise": "Er schläft", "hypothesis": "Er ist wach", "label": 2}\n', encoding="utf-8"
    )
    xnli = Xnli("", {"langs": "de", "data_dir": str(tmp_path)}).samples()[0]
    assert xnli.input == "Er schläft, richtig?"
    assert xnli.choices == ("Ja, Er ist wach", "Auch, Er ist wach", "Nein, Er ist wach")
    (tmp_path / "belebele").mkdir()
    (tmp_path / "belebele" / "deu_Latn.jsonl").write_text(
        '{"flores_passage": "P1", "question": " Q? ", "mc_answer1": "a", "mc_answer2": "b", '
        '"mc_answer3": "c", "mc_answer4": "d", "correct_answer_num": "3"}\n',
        encoding="utf-8",
    )
    bele = Belebele("", {"langs": "deu_Latn", "data_dir": str(tmp_path)}).samples()[0]
    assert bele.input == "P: P1\nQ: Q?\nA: a\nB: b\nC: c\nD: d\nAnswer："
    assert (bele.target, bele.metadata["language"]) == (2, "deu_Latn")


def test_script_copy_is_synthetic_deterministic_and_covers_every_script() -> None:
    a = ScriptCopyProbe("", {"n": "2", "seed": "5"})
    assert a.samples() == ScriptCopyProbe("", {"n": "2", "seed": "5"}).samples()
    assert a.samples() != ScriptCopyProbe("", {"n": "2", "seed": "6"}).samples()
    assert all(s.metadata["synthetic"] is True for s in a.samples())
    assert len({s.metadata["language"] for s in a.samples()[:12]}) == 12
    thai = next(s for s in a.samples() if s.metadata["script"] == "Thai")
    prompt = a.prompt(thai)
    assert prompt.endswith(f"Text: {thai.input}\nCopy:")
    assert all("\u0e01" <= ch <= "\u0e7f" or ch in " :\nTextCopy" for ch in prompt)


def _records(outcomes: dict[str, list[int]]) -> tuple[dict[str, SampleRecord], list[ResultRecord]]:
    samples, results = {}, []
    for lang, hits in outcomes.items():
        for i, hit in enumerate(hits):
            sid = f"{lang}-{i}"
            samples[sid] = SampleRecord("t", sid, i, "", 0, {"language": lang})
            results.append(ResultRecord("r", "m", "t", sid, "ok", metrics={"acc": (float(hit),)}))
    return samples, results


def test_language_table_and_languages_served() -> None:
    samples, results = _records({"sw": [1] * 45 + [0] * 5, "zh": [1] * 30 + [0] * 20})
    table = language_table(samples, results)["m"]
    assert table["sw"].estimate == pytest.approx(0.9)
    assert table["sw"].low == pytest.approx(wilson_interval(45, 50).low)
    assert table["zh"].estimate == pytest.approx(0.6)
    # sw's lower bound (~0.79) clears 0.7; zh's point estimate 0.6 does not even reach it.
    assert languages_served(table, 0.7) == ["sw"]
    assert languages_served(table, 0.45) == ["sw", "zh"]
    with pytest.raises(ConfigError):
        languages_served(table, 70)


def test_served_count_by_hand() -> None:
    # Columns (correct, language index, threshold 0.6). Language 0: 45/50 right, Wilson lower
    # bound ~0.79 -> served; language 1: 30/50 (0.6 point estimate, lower bound ~0.46) -> not;
    # language 2: 3/3 (lower bound ~0.44) -> not: a few lucky answers never count.
    rows = [(1, 0)] * 45 + [(0, 0)] * 5 + [(1, 1)] * 30 + [(0, 1)] * 20 + [(1, 2)] * 3
    values = np.array([(hit, lang, 0.6) for hit, lang in rows], dtype=float)
    assert wilson_interval(30, 50).low < 0.6 <= wilson_interval(45, 50).low
    assert wilson_interval(3, 3).low < 0.6
    assert served_count(values) == 1.0
    lenient = values.copy()
    lenient[:, 2] = 0.4
    assert served_count(lenient) == 3.0
    assert np.isnan(served_count(np.zeros((0, 3))))


def test_xcopa_reports_languages_served_at_its_stated_threshold(data_env: Path) -> None:
    task = XCopa("", {"langs": "et+zh", "n": "2", "served": "0.7"})
    assert task.served.name == "languages_served_70pct"
    assert task.metric("languages_served_70pct").aggregation == "languages_served"
    assert "95% Wilson lower bound of at least 70%" in str(task.manifest()["source"])
    assert task.config()["served_threshold"] == 0.7
    zh = next(s for s in task.samples() if s.metadata["language"] == "zh")
    gold = int(zh.target)
    results = [LoglikelihoodResult(-1.0 if i == gold else -9.0, False, 1) for i in range(2)]
    score = task.score(zh, results)
    assert score.metric_inputs["languages_served_70pct"] == (1.0, 1.0, 0.7)
    with pytest.raises(ConfigError, match="between 0 and 1"):
        XCopa("", {"langs": "et", "served": "70"})
