"""The claims check: the shipped example file against a fixed stored demo-shaped run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.helpers import REPO, run_cli
from tests.report.report_fixtures import demo_store

from bakeoff.core.errors import ConfigError
from bakeoff.report.claims import check_claims, load_claims
from bakeoff.report.model import build_report

EXAMPLE = REPO / "examples" / "claims.yaml"
# claim (as written in examples/claims.yaml) → expected verdict on the fixed run
EXPECTED = [
    "contradicted",  # SmolLM2's 92.3% lies outside its measured 40.0 [26.3, 55.4]
    "not measurable",  # GLUE: data not available offline
    "contradicted",  # needle: Gemma 20/30 vs SmolLM2 3/30, significant the other way
    "not measurable",  # arithmetic: 20/40 each, no significant difference
    "contradicted",  # Gemma is timed faster on every sample
    "consistent",  # 32768 / 8192 as in the model files
]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    demo_store(tmp_path / "demo.db").close()
    return tmp_path / "demo.db"


def test_example_claims_get_expected_verdicts(db: Path) -> None:
    from bakeoff.storage.sqlite import SqliteStore

    run, claims = load_claims(EXAMPLE)
    store = SqliteStore(db, create=False)
    try:
        verdicts = check_claims(build_report(store, run or "latest"), store, claims)
    finally:
        store.close()
    assert [v.verdict for v in verdicts] == EXPECTED
    assert "92.3" in verdicts[0].evidence
    assert "outside" in verdicts[0].evidence
    assert "inside" in verdicts[0].evidence  # Gemma's 75% is within its interval
    assert "not available offline" in verdicts[1].evidence
    assert "smallest detectable difference" in verdicts[3].evidence


def test_check_claims_cli_json(db: Path, tmp_path: Path) -> None:
    done = run_cli("check-claims", str(EXAMPLE), "--db", str(db), "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["run"] == "fedcba9876543210"
    assert [v["verdict"] for v in payload["verdicts"]] == EXPECTED


def test_check_claims_cli_table(db: Path, tmp_path: Path) -> None:
    done = run_cli("check-claims", str(EXAMPLE), "fedcba", "--db", str(db), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "contradicted" in done.stdout
    assert "consistent" in done.stdout


def test_malformed_claims_file_is_one_line_error(db: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("claims:\n  - kind: boast\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="kind"):
        load_claims(bad)
    done = run_cli("check-claims", str(bad), "--db", str(db), cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "kind" in done.stderr
