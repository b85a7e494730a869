"""The recommendation rests only on what was measured, and only on differences that are real."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.report.report_fixtures import GEMMA, SMOL, demo_store

from bakeoff.report.model import ReportModel, build_report
from bakeoff.report.model.profiles import load_weights, score_profiles
from bakeoff.report.recommendation import recommendation, recommendation_items
from bakeoff.storage.sqlite import SqliteStore

VALUES: dict[str, dict[str, float | None]] = {
    # a: a little more accurate, a little slower; b: the other way round.
    "a": {"quality": 0.52, "safety": None, "speed": 50.0, "latency": 0.11, "cost": None},
    "b": {"quality": 0.50, "safety": None, "speed": 100.0, "latency": 0.1, "cost": None},
}


def _never(criterion: str, leader: str, other: str) -> bool:
    return False


def _always(criterion: str, leader: str, other: str) -> bool:
    return True


def _latency_only(criterion: str, leader: str, other: str) -> bool:
    return criterion == "latency"


def test_unmeasured_criterion_gets_no_score_and_no_winner() -> None:
    (result,) = score_profiles(["a", "b"], VALUES, {"safe": {"safety": 0.7, "quality": 0.3}})
    assert result.missing == ("safety",)
    assert result.winner is None
    assert result.scores == {"a": None, "b": None}


def test_lead_from_an_insignificant_quality_difference_names_no_winner() -> None:
    profile = {"accuracy": {"quality": 0.9, "latency": 0.1}}
    # Point estimates favour a (0.52 vs 0.50 outweighs b's latency at these weights) ...
    (backed,) = score_profiles(["a", "b"], VALUES, profile, _always)
    assert backed.winner == "a"
    # ... but with no paired test behind the quality lead, b would win on latency: no verdict.
    (unbacked,) = score_profiles(["a", "b"], VALUES, profile, _latency_only)
    assert unbacked.winner is None
    assert unbacked.undecided == ("a", "b")


def test_lead_that_survives_equal_quality_is_kept() -> None:
    # b leads on (tested) latency even with the qualities taken as equal: b wins.
    profile = {"edge": {"quality": 0.3, "latency": 0.7}}
    (result,) = score_profiles(["a", "b"], VALUES, profile, _latency_only)
    assert result.winner == "b"
    assert result.undecided == ()
    # With the latency difference not significant either, nothing is left to decide on.
    (untested,) = score_profiles(["a", "b"], VALUES, profile, _never)
    assert untested.winner is None
    assert untested.undecided == ("b", "a")


def test_swing_weights_let_the_first_priority_decide() -> None:
    # A 2x faster model cannot outweigh a (tested) accuracy lead weighted eight times more.
    values: dict[str, dict[str, float | None]] = {
        "accurate": {"quality": 0.62, "speed": 50.0},
        "fast": {"quality": 0.58, "speed": 100.0},
    }
    (result,) = score_profiles(
        ["accurate", "fast"], values, {"p": {"quality": 0.8, "speed": 0.2}}, _always
    )
    assert result.scores == {"accurate": pytest.approx(0.8), "fast": pytest.approx(0.2)}
    assert result.winner == "accurate"


def test_tie_names_no_winner() -> None:
    same: dict[str, dict[str, float | None]] = {
        m: {"quality": 0.5, "latency": 0.1} for m in ("a", "b")
    }
    (result,) = score_profiles(["a", "b"], same, {"p": {"quality": 1, "latency": 1}}, _always)
    assert result.winner is None


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    store = demo_store(tmp_path / "demo.db")
    yield store
    store.close()


def _profile_sentences(report: ReportModel) -> dict[str, str]:
    """Profile name → what the recommendation says for it (after the weights)."""
    found = (re.match(r"“([^”]+)” \([^)]*\): (.+)", item) for item in recommendation_items(report))
    return {m.group(1): m.group(2) for m in found if m}


def test_recommendation_on_the_fixed_run(store: SqliteStore) -> None:
    report = build_report(store, "latest")
    sentences = _profile_sentences(report)
    assert list(sentences) == ["accuracy first", "latency / edge", "cost", "safety"]
    # Safety was not measured: the sentence names no model, says so, and how to measure it.
    assert GEMMA not in sentences["safety"]
    assert SMOL not in sentences["safety"]
    assert "not measured" in sentences["safety"]
    assert "bakeoff run" in sentences["safety"]
    # Gemma's quality lead is backed by two significant paired comparisons.
    assert sentences["accuracy first"].startswith(GEMMA)
    assert "glue" in recommendation(report)  # the unavailable task is named as left out


def test_recommendation_follows_the_users_profiles(store: SqliteStore, tmp_path: Path) -> None:
    weights = tmp_path / "w.yaml"
    weights.write_text(
        "tiny devices: {memory: 1}\ncareful: {safety: 1}\nsmart: {quality: 1}\n",
        encoding="utf-8",
    )
    report = build_report(store, "latest", profiles=load_weights(weights))
    sentences = _profile_sentences(report)
    assert list(sentences) == ["tiny devices", "careful", "smart"]
    assert sentences["tiny devices"].startswith(SMOL)  # the smaller file
    assert "not measured" in sentences["careful"]
    assert sentences["smart"].startswith(GEMMA)
