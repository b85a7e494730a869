"""``bakeoff demo``: the whole guide on seeded samples, every section measured or said missing.

The quick tests run the command in-process with scripted models in place of the bundled ones
(the speed lab cannot time those; the real models are the slow test's) on a tiny data folder
laid out like ../shared/data; the slow test runs the real demo offline without data. The real
demo with the shared data is CI's own step (.ci/run: ``bakeoff demo``, then
``python -m tests.cli.demo_guide``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tests.cli.demo_data import write_demo_data
from tests.cli.demo_guide import demo_task_names, model_gaps, unmeasured
from tests.helpers import run_cli

from bakeoff.cli import demo
from bakeoff.cli.main import main
from bakeoff.report.model import build_report
from bakeoff.report.model.view import ReportModel
from bakeoff.storage.sqlite import SqliteStore

MOCKS = ("strong=mock:strong,skill=0.9", "weak=mock:weak,skill=0.2")
NOT_TIMED = [  # what scripted models cannot have: the speed lab times llama.cpp and servers only
    "no speed sweep in the guide",
    "no memory figures for strong",
    "no memory figures for weak",
]


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No data folder, no hub, the bundled models replaced by scripted ones; cwd = tmp_path."""
    monkeypatch.delenv("BAKEOFF_DATA_DIR", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("BAKEOFF_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(demo, "DEFAULT_MODELS", MOCKS)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _stored(db: Path) -> ReportModel:
    store = SqliteStore(db, create=False)
    try:
        return build_report(store, "latest")
    finally:
        store.close()


def test_demo_on_a_tiny_data_folder_measures_every_section(
    offline: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_demo_data(offline / "data")
    assert main(["demo", "--data-dir", str(data)]) == 0
    err = capsys.readouterr().err
    assert "not measured" not in err
    assert f"data from the folder {data}" in err
    report = _stored(offline / "bakeoff.db")
    assert model_gaps(report, demo_task_names()) == NOT_TIMED
    markdown = (offline / "report.md").read_text(encoding="utf-8")
    assert "No data stored" not in markdown
    assert "not available" not in markdown
    # Each sampled task says it is an estimate on a seeded sample (here: the whole tiny set).
    lambada = next(t for t in report.run.tasks if t.name == "lambada")
    assert lambada.n_samples == 6
    assert "all 6 items (sample=40 covers the whole set)" in str(lambada.manifest["source"])
    assert lambada.manifest["data_origins"] == [str(data / "lambada_openai/test.jsonl")]


def test_demo_offline_without_data_lists_each_missing_section_on_one_line(
    offline: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--limit", "2"]) == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err
    missing = [line for line in err.splitlines() if "not measured" in line]
    sections = [line.split(" not measured", 1)[0] for line in missing]
    assert sections == ["benchmarks", "multilingual", "safety"]
    for line in missing:
        assert "--data-dir DIR" in line
        assert "BAKEOFF_DATA_DIR=DIR" in line
    assert "(xcopa: no data found)" in missing[1]
    assert "(xstest, bbq: no data found)" in missing[2]
    assert "skipped" not in err  # the run's own per-task lines are left to these
    report = _stored(offline / "bakeoff.db")
    assert {u.name for u in report.unavailable} == {
        "lambada",
        "mmlu:elementary_mathematics+high_school_geography+marketing+nutrition",
        "arc-easy",
        "medqa",
        "legalbench",
        "xcopa",
        "xstest",
        "bbq",
    }
    # What needs no data is measured: the probes, script copy, the conversation probes.
    assert {t.name for t in report.tasks} == {
        "arithmetic-mc",
        "arithmetic",
        "needle",
        "copy",
        "script-copy",
        "conversation",
    }
    assert report.section_tasks("conversation")
    assert report.section_tasks("multilingual")  # script-copy


def test_the_same_demo_again_resumes_its_run(
    offline: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--limit", "2"]) == 0
    first = capsys.readouterr().err
    assert main(["demo", "--limit", "2"]) == 0
    again = capsys.readouterr().err
    ids = [re.findall(r"^run ([0-9a-f]{12})", text, re.M) for text in (first, again)]
    assert len(ids[0]) == 1
    assert ids[1] == ids[0]
    assert re.search(r"resumed run \w+: 0 samples computed", again), again


def test_samples_by_default_whole_sets_with_full(
    offline: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bakeoff.core.model import ModelSpec
    from bakeoff.runner.plan import RunConfig, make_plan

    monkeypatch.setenv("BAKEOFF_DATA_DIR", str(write_demo_data(offline / "data", n=50)))
    models = tuple(ModelSpec.parse(m) for m in MOCKS)
    sampled = make_plan(RunConfig(models=models, suites=("demo",)))
    whole = make_plan(RunConfig(models=models, suites=("demo-full",)))
    assert len(sampled.samples["lambada"]) == 40
    assert len(whole.samples["lambada"]) == 50
    assert len(sampled.samples["legalbench"]) == 24
    assert len(whole.samples["legalbench"]) == 6 * 50
    assert sampled.run_id != whole.run_id
    # The probes need no data set: the same in both.
    assert sampled.samples["needle"] == whole.samples["needle"]


def test_a_missing_data_folder_is_one_line(offline: Path) -> None:
    done = run_cli("demo", "--data-dir", str(offline / "nowhere"), cwd=offline)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"error: --data-dir {offline / 'nowhere'} is not a folder"
    ]
    assert not (offline / "bakeoff.db").exists()


@pytest.mark.slow
def test_the_real_demo_offline_without_data(tmp_path: Path) -> None:
    """The bundled models, 2 samples per task, no data and no hub: the probes, conversation,
    script copy, speed sweep, memory, cost and recommendation are measured; each section without
    data is one line that says how to give it."""
    pytest.importorskip("llama_cpp", reason="pip install 'bakeoff[llamacpp]'")
    env = {"HF_HUB_OFFLINE": "1", "BAKEOFF_DATA_DIR": "", "BAKEOFF_CACHE_DIR": str(tmp_path)}
    done = run_cli("demo", "--limit", "2", cwd=tmp_path, timeout=1200, env=env)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert len([line for line in done.stderr.splitlines() if "not measured" in line]) == 3
    gaps = unmeasured(tmp_path)
    assert "report.md says 'not available'" in gaps  # the benchmarks table of missing data
    assert not [g for g in gaps if "speed" in g or "memory" in g or "cost" in g], gaps
    assert not [g for g in gaps if "conversation" in g], gaps
