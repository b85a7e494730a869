"""Where benchmark data comes from, and what a user sees when it is missing or malformed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tests.benchmarks.bench_helpers import build, write_jsonl
from tests.helpers import run_cli

from bakeoff.core.errors import ConfigError, DataError
from bakeoff.tasks.catalog import build_tasks_lenient

PIQA_ROWS = [
    {"goal": "Open a jar", "sol1": "Twist the lid.", "sol2": "Freeze the jar.", "label": 0},
    {"goal": "Dry a towel", "sol1": "Soak it.", "sol2": "Hang it in the sun.", "label": 1},
]


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    # Never reach for the hub from these tests, online or not.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("BAKEOFF_DATA_DIR", raising=False)


def test_missing_data_names_task_paths_and_fixes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BAKEOFF_DATA_DIR", str(tmp_path))
    with pytest.raises(DataError) as caught:
        build("glue-cola")
    assert str(caught.value) == (
        f"glue-cola: no data: looked for {tmp_path}/glue/cola/validation.{{jsonl,tsv,csv,parquet}}"
        "; offline ($HF_HUB_OFFLINE is set); pass data_dir=DIR (or set $BAKEOFF_DATA_DIR) or "
        "install bakeoff[hub] and go online (hub id nyu-mll/glue, cola)"
    )


def test_missing_data_with_explicit_dir_does_not_go_to_the_hub(tmp_path: Path) -> None:
    with pytest.raises(
        DataError, match=r"^piqa: no data: looked for .*/piqa/validation\.\{jsonl"
    ) as caught:
        build(f"piqa,data_dir={tmp_path}")
    assert "hub" not in str(caught.value)
    assert str(caught.value).endswith("; pass data_dir=DIR")


def test_no_dir_at_all_says_so(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no data_dir given and \\$BAKEOFF_DATA_DIR unset"):
        build("winogrande")


def test_data_dir_may_be_the_eval_file_itself(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "my_piqa.jsonl", PIQA_ROWS)
    task = build(f"piqa,data_dir={path}")
    assert [s.target for s in task.samples()] == [0, 1]
    with pytest.raises(DataError, match=r"piqa: no data: looked for .*/piqa/train"):
        build(f"piqa,data_dir={path},shots=1")


def test_csv_and_parquet_read_like_jsonl(tmp_path: Path) -> None:
    (tmp_path / "piqa").mkdir()
    csv_text = "goal,sol1,sol2,label\n" + "".join(
        f'"{r["goal"]}","{r["sol1"]}","{r["sol2"]}",{r["label"]}\n' for r in PIQA_ROWS
    )
    (tmp_path / "piqa/validation.csv").write_text(csv_text, encoding="utf-8")
    from_csv = build(f"piqa,data_dir={tmp_path}")
    parquet = pytest.importorskip("pyarrow.parquet")
    import pyarrow

    other = tmp_path / "pq"
    (other / "piqa").mkdir(parents=True)
    parquet.write_table(pyarrow.Table.from_pylist(PIQA_ROWS), other / "piqa/validation.parquet")
    from_parquet = build(f"piqa,data_dir={other}")
    assert [s.input for s in from_csv.samples()] == [s.input for s in from_parquet.samples()]
    assert [s.target for s in from_parquet.samples()] == [0, 1]


def test_a_malformed_row_is_named(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "piqa/validation.jsonl", [PIQA_ROWS[0], {"goal": "x", "sol1": "y"}])
    with pytest.raises(
        DataError, match=r"^piqa: validation row 2 is not in the expected format \(KeyError"
    ):
        build(f"piqa,data_dir={tmp_path}")


def test_bad_options_are_config_errors(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "piqa/validation.jsonl", PIQA_ROWS)
    write_jsonl(tmp_path / "piqa/train.jsonl", PIQA_ROWS)
    with pytest.raises(ConfigError, match="task 'piqa' has no option shot"):
        build(f"piqa,data_dir={tmp_path},shot=1")
    with pytest.raises(ConfigError, match="format='html': use one of plain, chat, chat-single"):
        build(f"piqa,data_dir={tmp_path},format=html")
    with pytest.raises(ConfigError, match=r"shots=3 needs 3 \+ 1 .* the few-shot split has 2"):
        build(f"piqa,data_dir={tmp_path},shots=3")
    with pytest.raises(ConfigError, match="mmlu: unknown subject astrology"):
        build("mmlu:astrology")


def test_lenient_build_keeps_what_has_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BAKEOFF_DATA_DIR", str(tmp_path))
    write_jsonl(tmp_path / "piqa/validation.jsonl", PIQA_ROWS)
    tasks, missing = build_tasks_lenient(["piqa", "winogrande"], ["superglue"])
    assert [t.name for t in tasks] == ["piqa"]
    assert [name for name, _ in missing] == [
        "superglue-boolq",
        "superglue-cb",
        "superglue-copa",
        "superglue-multirc",
        "superglue-record",
        "superglue-rte",
        "superglue-wic",
        "superglue-wsc",
        "winogrande",
    ]
    assert all(
        "no data: looked for" in reason and "bakeoff[hub]" in reason for _, reason in missing
    )
    with pytest.raises(ConfigError, match="unknown task"):
        build_tasks_lenient(["no-such-task"], [])


def test_cli_reports_missing_benchmark_data_on_one_line(tmp_path: Path) -> None:
    env = {"BAKEOFF_DATA_DIR": str(tmp_path), "HF_HUB_OFFLINE": "1"}
    result = run_cli(
        "run",
        "-m",
        "mock:a",
        "-t",
        "glue-rte",
        "--db",
        str(tmp_path / "b.db"),
        cwd=tmp_path,
        env={**os.environ, **env},
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    lines = [line for line in (result.stderr + result.stdout).splitlines() if line.strip()]
    assert len(lines) == 1
    assert "glue-rte: no data: looked for" in lines[0]
    assert not (tmp_path / "b.db").exists() or "Traceback" not in result.stderr


def test_duplicate_row_ids_are_a_one_line_data_error(tmp_path: Path) -> None:
    rows = [{**PIQA_ROWS[0], "id": "same"}, {**PIQA_ROWS[1], "id": "same"}]
    write_jsonl(tmp_path / "piqa/validation.jsonl", rows)
    with pytest.raises(DataError, match="piqa: the validation split has two rows with id 'same'"):
        build(f"piqa,data_dir={tmp_path}")
