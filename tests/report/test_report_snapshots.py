"""The whole guide of a stored run, byte for byte: every section with data (report_fixtures'
``guide_store``) in Markdown, HTML and JSON, and the speed lab's own report of its speed run
(``bakeoff speed --report``). The report code may be reorganised freely; what it writes for a
stored run may not change unless a snapshot is updated on purpose."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from tests.report.report_fixtures import guide_store
from tests.report.snapshot_check import assert_matches_json_snapshot, assert_matches_snapshot

from bakeoff.report.html import render_html, speed_html_page
from bakeoff.report.json_out import render_json
from bakeoff.report.markdown import render_markdown, speed_markdown
from bakeoff.report.model import ReportModel, build_report
from bakeoff.report.model.speed_lab import SpeedSection, build_speed_section
from bakeoff.storage.speed_store import SpeedStore
from bakeoff.storage.sqlite import SqliteStore


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqliteStore]:
    store = guide_store(tmp_path_factory.mktemp("guide") / "guide.db")
    try:
        yield store
    finally:
        store.close()


@pytest.fixture(scope="module")
def guide(stored: SqliteStore) -> ReportModel:
    return build_report(stored, "latest", price_per_hour=0.5)


@pytest.fixture(scope="module")
def speed_lab(stored: SqliteStore) -> SpeedSection:
    return build_speed_section(SpeedStore(stored))


def test_markdown_guide_is_byte_identical(guide: ReportModel) -> None:
    assert_matches_snapshot(render_markdown(guide), "guide_run.md")


def test_html_guide_is_byte_identical(guide: ReportModel) -> None:
    assert_matches_snapshot(render_html(guide), "guide_run.html")


def test_json_guide_matches_its_snapshot(guide: ReportModel) -> None:
    """As data, floats to 9 significant digits: another numpy or scipy build may move a last
    digit, which the guide never shows."""
    assert_matches_json_snapshot(render_json(guide), "guide_run.json")


def test_speed_lab_report_is_byte_identical(speed_lab: SpeedSection) -> None:
    assert_matches_snapshot(speed_markdown(speed_lab), "speed_lab.md")
    assert_matches_snapshot(speed_html_page(speed_lab), "speed_lab.html")


def test_the_guide_run_fills_every_section(guide: ReportModel) -> None:
    """The snapshot guards each section only if the fixture gives each one data."""
    text = render_markdown(guide)
    assert "No data stored for this section" not in text
    assert "From speed run 5bead5bead5bead5 (lab" in text  # the speed lab's records
    assert "| api-mini | API price |" in text
    assert "| gemma3-270m | hardware price |" in text
    for mark in ("(answer letter)", "‡ prompted through", "~ output tokens estimated", "†"):
        assert mark in text
    for task in ("xstest", "bbq", "tokenizer-efficiency", "conversation", "script-copy"):
        assert f"### {task} (v" in text


def test_a_one_byte_change_fails_the_check(
    guide: ReportModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("UPDATE_SNAPSHOTS", raising=False)  # never write the changed text
    text = render_markdown(guide)
    changed = text.replace("## Safety\n", "## Safety \n", 1)
    assert changed != text
    with pytest.raises(AssertionError, match=r"differs from snapshots/guide_run\.md"):
        assert_matches_snapshot(changed, "guide_run.md")


def test_the_json_check_ignores_float_noise_but_not_a_change(
    guide: ReportModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("UPDATE_SNAPSHOTS", raising=False)  # never write the changed data
    data = json.loads(render_json(guide))
    interval = data["tasks"][0]["metrics"][0]["scores"][0]["interval"]
    estimate = interval["estimate"]
    assert isinstance(estimate, float)
    interval["estimate"] = estimate * (1 + 1e-13)  # what another BLAS build might give
    assert_matches_json_snapshot(json.dumps(data, indent=2), "guide_run.json")
    interval["estimate"] = estimate + 1e-4  # a figure the guide would show differently
    with pytest.raises(AssertionError, match=r"differs from snapshots/guide_run\.json"):
        assert_matches_json_snapshot(json.dumps(data, indent=2), "guide_run.json")
