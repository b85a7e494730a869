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
    "contradicted",  # table, arithmetic-mc: SmolLM2's 92.3% lies outside 40.0 [26.3, 55.4]
    "not measurable",  # table, GLUE: data not available offline
    "consistent",  # table, needle: 70 and 12 lie inside 66.7 [48.8, 80.8] and 10.0 [3.5, 25.6]
    "consistent",  # table, context: 32K and 8K are 32,768 and 8,192 rounded
    "consistent",  # table, parameters: 270M and 135M are 268.1M and 134.5M rounded
    "contradicted",  # needle: Gemma 20/30 vs SmolLM2 3/30, significant the other way
    "not measurable",  # arithmetic: 20/40 each, no significant difference
    "contradicted",  # Gemma is timed faster on every sample
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
    assert "2.4% off a rounded claim" in verdicts[3].evidence
    assert "smallest detectable difference" in verdicts[6].evidence


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


def test_specs_compare_as_numbers_with_rounding(db: Path, tmp_path: Path) -> None:
    from bakeoff.storage.sqlite import SqliteStore

    claims = tmp_path / "specs.yaml"
    claims.write_text(
        "claims:\n"
        "  - {kind: spec, field: context_length, values: {gemma3-270m: 32768}}\n"
        "  - {kind: spec, field: context_length, values: {gemma3-270m: 32000}}\n"  # exact: no
        "  - {kind: spec, field: parameters, values: {gemma3-270m: 300M}}\n"  # 11% off
        "  - {kind: spec, field: license, values: {gemma3-270m: Gemma}}\n"
        "  - {kind: spec, field: n_layers, values: {gemma3-270m: 18}}\n"
        "  - {kind: spec, field: expert_count, values: {gemma3-270m: 8}}\n",
        encoding="utf-8",
    )
    _, loaded = load_claims(claims)
    store = SqliteStore(db, create=False)
    try:
        verdicts = [v.verdict for v in check_claims(build_report(store, "latest"), store, loaded)]
    finally:
        store.close()
    assert verdicts == [
        "consistent",
        "contradicted",
        "contradicted",
        "consistent",
        "consistent",
        "not measurable",  # the model file does not say
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("claims:\n  - kind: boast\n", "kind"),
        ("claims:\n  - {kind: score, task: needle, scores: {a: lots}}\n", "not a number"),
        ("claims:\n  - {kind: better, task: needle, model: a}\n", "needs than"),
        ("claims:\n  - {kind: table, models: [a, b], rows: {needle: [1]}}\n", "one value per"),
        ("claims: 3\n", "expected a list"),
        ("claims: [\n", "not valid YAML"),
    ],
)
def test_malformed_claims_are_refused_when_read(tmp_path: Path, body: str, message: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_claims(bad)


def test_malformed_claims_file_is_one_line_error(db: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("claims:\n  - kind: boast\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="kind"):
        load_claims(bad)
    done = run_cli("check-claims", str(bad), "--db", str(db), cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "kind" in done.stderr


@pytest.mark.slow
def test_example_claims_against_a_real_demo_run(tmp_path: Path) -> None:
    """The bundled models, 3 samples per task: the spec rows are decided by the real GGUF
    metadata, GLUE is not in the demo suite; the rest depend on what the models answer."""
    pytest.importorskip("llama_cpp", reason="pip install 'bakeoff[llamacpp]'")
    demo = run_cli("demo", "--limit", "3", "--db", "demo.db", cwd=tmp_path, timeout=1200)
    assert demo.returncode in (0, 1), demo.stderr  # 1: some sample failed, still reported
    done = run_cli(
        "check-claims", str(EXAMPLE), "--db", "demo.db", "--format", "json", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    verdicts = [v["verdict"] for v in json.loads(done.stdout)["verdicts"]]
    assert len(verdicts) == len(EXPECTED)
    assert verdicts[1] == "not measurable"  # GLUE
    assert verdicts[3:5] == ["consistent", "consistent"]  # context window and parameters
    assert set(verdicts) <= {"consistent", "contradicted", "not measurable"}
    assert (tmp_path / "report.html").exists()
