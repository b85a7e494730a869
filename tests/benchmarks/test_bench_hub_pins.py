"""Hub datasets pinned to a commit in the user's cache, and where every split came from.

No network here: ``datasets`` and ``huggingface_hub`` are replaced by recording fakes, so the
test checks what bakeoff asks them for (the pinned revision) and what it records.
"""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from bakeoff.tasks.benchmarks import _hub, _loading
from bakeoff.tasks.benchmarks._loading import HubSplit, SplitSource, load_split, recording_origins
from bakeoff.tasks.catalog import TaskSpec, build_task

COMMIT = "0123456789abcdef0123456789abcdef01234567"


class _FakeHub:
    def __init__(self) -> None:
        self.resolved: list[str] = []
        self.loaded: list[tuple[str, str | None, str, str | None]] = []

    def modules(self) -> tuple[types.ModuleType, types.ModuleType]:
        hub, fake = types.ModuleType("huggingface_hub"), self

        class HfApi:
            def dataset_info(self, repo_id: str) -> Any:
                fake.resolved.append(repo_id)
                return types.SimpleNamespace(sha=COMMIT)

        hub.HfApi = HfApi  # type: ignore[attr-defined]
        datasets = types.ModuleType("datasets")

        def load_dataset(
            path: str, name: str | None, *, split: str, revision: str | None = None
        ) -> list[dict[str, Any]]:
            fake.loaded.append((path, name, split, revision))
            return [{"text": f"row {i} of {path} at the end"} for i in range(3)]

        datasets.load_dataset = load_dataset  # type: ignore[attr-defined]
        return hub, datasets


@pytest.fixture
def fake_hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> _FakeHub:
    fake = _FakeHub()
    hub, datasets = fake.modules()
    monkeypatch.setitem(sys.modules, "huggingface_hub", hub)
    monkeypatch.setitem(sys.modules, "datasets", datasets)
    monkeypatch.setattr(_loading, "_hub_offline_reason", lambda: None)
    monkeypatch.setattr(_loading, "_datasets_installed", lambda: True)
    monkeypatch.setenv("BAKEOFF_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("BAKEOFF_DATA_DIR", raising=False)
    return fake


def test_the_first_load_pins_the_commit_and_later_loads_ask_for_it(
    fake_hub: _FakeHub, tmp_path: Path
) -> None:
    source = SplitSource("t", ("nowhere/test",), HubSplit("org/set", "cfg", "test"))
    with recording_origins() as origins:
        rows = load_split(source, None)
        load_split(source, None)
    assert len(rows) == 3
    assert fake_hub.resolved == ["org/set"]  # asked once, then read from the pin file
    assert fake_hub.loaded == [("org/set", "cfg", "test", COMMIT)] * 2
    pins = json.loads((tmp_path / "cache" / "hub-revisions.json").read_text())
    assert pins == {"org/set": COMMIT}
    assert origins == [f"hub org/set/cfg:test@{COMMIT}"] * 2


def test_a_revision_the_task_names_wins_over_the_pin(fake_hub: _FakeHub) -> None:
    source = SplitSource("t", (), HubSplit("org/set", None, "test", revision="v1.0"))
    load_split(source, None)
    assert fake_hub.loaded == [("org/set", None, "test", "v1.0")]
    assert fake_hub.resolved == []


def test_cache_folder_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("BAKEOFF_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert _hub.pins_path() == tmp_path / "bakeoff" / "hub-revisions.json"


def test_a_sampled_benchmark_from_the_hub_records_its_commit(fake_hub: _FakeHub) -> None:
    task = build_task(TaskSpec.parse("lambada,sample=2"))
    manifest = task.manifest()
    assert manifest["data_origins"] == [f"hub EleutherAI/lambada_openai/default:test@{COMMIT}"]
    assert "a seeded sample of 2 of the 3 items" in str(manifest["source"])


def test_local_files_are_recorded_as_paths(tmp_path: Path) -> None:
    folder = tmp_path / "lambada_openai"
    folder.mkdir()
    (folder / "test.jsonl").write_text('{"text": "one two three"}\n', encoding="utf-8")
    task = build_task(TaskSpec.parse(f"lambada,data_dir={tmp_path},sample=5"))
    assert task.manifest()["data_origins"] == [str(folder / "test.jsonl")]
