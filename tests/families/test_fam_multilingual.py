"""Multilingual tasks: harness prompt format on real XCOPA rows, ordering, tables, probes."""

from __future__ import annotations

from pathlib import Path

import pytest

from bakeoff.core.errors import ConfigError, DataError
from bakeoff.core.records import ResultRecord, SampleRecord
from bakeoff.stats import wilson_interval
from bakeoff.tasks.multilingual import (
    Belebele,
    ScriptCopyProbe,
    XCopa,
    Xnli,
    language_table,
    languages_served,
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
