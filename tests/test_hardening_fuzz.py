"""Fuzzing what a user hands bakeoff (issue 20): JSONL, CSV and YAML inputs to the commands, and
the query parameters of ``bakeoff serve``.

Every input ends in exit status 0 or 2 — never an exception out of ``main`` (which the
terminal would show as a traceback) — and an input that is refused leaves the database as it
was. Every request to ``serve`` gets a 200, 400 or 404 page without a traceback. The commands
run in this process (``bakeoff.cli.main.main``), so a few hundred inputs take seconds.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import io
import json
import sqlite3
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bakeoff.cli.main import main
from bakeoff.web.app import App, make_server

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def workspace() -> Iterator[Path]:
    """A folder with ``base.db``: one stored run of two mock models, the run inputs refer to."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        code, err = _bakeoff(root, "run", "-m", "a=mock:a", "-m", "b=mock:b",
                             "-t", "arithmetic,n=8", "-t", "copy,n=4")  # fmt: skip
        assert code == 0, err
        yield root


def _bakeoff(root: Path, *args: str) -> tuple[int, str]:
    """(exit status, stderr) of one command on ``root/base.db``; an exception fails the test."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main([*args, "--db", str(root / "base.db")])
        except SystemExit as exit_:  # argparse's own usage errors
            code = exit_.code if isinstance(exit_.code, int) else 2
    return code, err.getvalue()


def _state(db: Path) -> str:
    """Everything stored, as a digest: equal digests, equal databases."""
    conn = sqlite3.connect(f"{db.absolute().as_uri()}?mode=ro", uri=True)
    try:
        return hashlib.sha256("\n".join(conn.iterdump()).encode()).hexdigest()
    finally:
        conn.close()


def _check(root: Path, *args: str) -> int:
    before = _state(root / "base.db")
    code, err = _bakeoff(root, *args)
    event(f"exit {code}")  # --hypothesis-show-statistics: how many inputs ran, how many refused
    assert code in (0, 2), err
    assert "Traceback" not in err
    if code == 2:  # one line says why (warnings may come before it)
        lines = [line for line in err.splitlines() if line.strip()]
        assert [line for line in lines if line.startswith("error:")] == lines[-1:], err
        assert _state(root / "base.db") == before, f"a refused input changed the database: {args}"
    return code


# --- inputs ------------------------------------------------------------------------------------

TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
NASTY = st.sampled_from(
    ["", " ", "[]", "{}", "null", "\x00", "\ud800", "\\ud800", "9" * 5000, "-1", "1e400",
     "NaN", '"', "\n", "[" * 3000, "{" * 3000, "a,b", '{"A": "x"}', "{'A': 'x', 'B': 'y'}"]
)  # fmt: skip
SCALAR = st.one_of(TEXT, NASTY, st.integers(), st.floats(allow_nan=True), st.booleans(), st.none())
JSON_VALUE = st.recursive(
    SCALAR,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)
FIELDS = st.sampled_from(
    ["id", "prompt", "target", "question", "choices", "answer", "input", "output", "label",
     "options", "gold", "context", "query"]
)  # fmt: skip
CHOICES = st.lists(TEXT | NASTY, min_size=0, max_size=5)
# Near misses of the two formats (mostly well formed, some field off), and anything at all.
JSON_OBJECT = st.one_of(
    st.fixed_dictionaries(
        {"prompt": TEXT | NASTY, "target": TEXT | st.lists(TEXT, max_size=3) | JSON_VALUE},
        optional={"id": SCALAR},
    ),
    st.fixed_dictionaries(
        {"question": TEXT | NASTY, "choices": CHOICES, "answer": st.integers(-2, 6) | TEXT},
        optional={"id": SCALAR},
    ),
    st.dictionaries(FIELDS, JSON_VALUE, max_size=5),
)


def _jsonl_line(value: Any, raw: str | None) -> str:
    return raw if raw is not None else json.dumps(value, allow_nan=True)


@FUZZ
@given(
    kind=st.sampled_from(["mc", "gen"]),
    rows=st.lists(st.tuples(JSON_OBJECT, st.none() | NASTY | TEXT), min_size=1, max_size=4),
)
def test_jsonl_inputs(workspace: Path, kind: str, rows: list[tuple[Any, str | None]]) -> None:
    data = workspace / "fuzz.jsonl"
    data.write_text(
        "\n".join(_jsonl_line(value, raw) for value, raw in rows) + "\n",
        encoding="utf-8",
        errors="surrogatepass",
    )
    _check(workspace, "run", "-m", "a=mock:a", "-t", f"{kind}:{data},name=fuzz")


CSV_COLUMNS = st.sampled_from(
    ["question", "options", "answer_idx", "answer", "sent1", "ending0", "label", "A", "B", "C",
     "D", "choice0", "id"]
)  # fmt: skip
CELL = st.one_of(TEXT, NASTY.filter(lambda s: "\ud800" not in s))


def _csv_text(header: list[str], rows: list[list[str]]) -> str:
    def cell(value: str) -> str:
        return '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"\n') else value

    return "".join(",".join(cell(v) for v in line) + "\n" for line in [header, *rows])


@FUZZ
@given(
    task=st.sampled_from(["medqa,shots=0", "mmlu:anatomy,shots=0"]),
    header=st.lists(CSV_COLUMNS, min_size=1, max_size=6),
    rows=st.lists(st.lists(CELL, max_size=7), min_size=1, max_size=3),
    junk=st.none() | st.binary(max_size=20),
)
def test_csv_inputs(
    workspace: Path, task: str, header: list[str], rows: list[list[str]], junk: bytes | None
) -> None:
    data = workspace / "fuzz.csv"
    data.write_bytes(_csv_text(header, rows).encode("utf-8") + (junk or b""))
    _check(workspace, "run", "-m", "a=mock:a", "-t", f"{task},data_dir={data},name=fuzz")


YAML_KEYS = st.sampled_from(
    ["profiles", "claims", "run", "kind", "claim", "model", "than", "task", "value", "quality",
     "speed", "cost", "models", "rows", "input", "output", "a", "b", "latest"]
)  # fmt: skip
WEIGHT = st.one_of(st.floats(allow_nan=True), st.integers(-3, 10), TEXT, st.booleans())
PROFILES = st.dictionaries(
    TEXT, st.dictionaries(st.sampled_from(["quality", "speed", "cost", "size"]), WEIGHT), max_size=3
)
CLAIM = st.fixed_dictionaries(
    {"claim": TEXT, "kind": st.sampled_from(["better", "score", "lower_latency", "spec", "table"])},
    optional={
        "model": st.sampled_from(["a", "b", "c"]) | TEXT,
        "than": st.sampled_from(["a", "b"]) | TEXT,
        "task": st.sampled_from(["copy", "arithmetic", "nope"]),
        "value": SCALAR,
        "rows": st.dictionaries(TEXT, st.lists(SCALAR, max_size=3), max_size=2),
        "models": st.lists(TEXT, max_size=3),
    },
)
GOOD_CLAIM = st.fixed_dictionaries(
    {
        "claim": TEXT,
        "kind": st.just("better"),
        "task": st.sampled_from(["copy", "arithmetic"]),
        "model": st.sampled_from(["a", "b"]),
        "than": st.sampled_from(["a", "b"]),
    }
)
PRICES = st.dictionaries(
    TEXT, st.dictionaries(st.sampled_from(["input", "output"]), WEIGHT | SCALAR), max_size=2
)
YAML_VALUE = st.recursive(
    SCALAR.filter(lambda v: not (isinstance(v, str) and "\ud800" in v)),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(YAML_KEYS, inner, max_size=4),
    max_leaves=10,
)


RAW_YAML = st.one_of(
    st.binary(max_size=30),
    st.sampled_from(
        [b"\xff\xfe", "vitesse: \xe9lev\xe9e".encode("latin-1"), b"a: [", b"&a [*a]",
         b"a: !!python/object:os.system ls", b"- - - - -", b'"\\ud800": 1', b"\x00"]
    ),
)  # fmt: skip


@FUZZ
@given(
    command=st.sampled_from(["weights", "claims", "prices"]),
    document=st.one_of(
        PROFILES,
        st.dictionaries(TEXT, st.fixed_dictionaries({"quality": st.integers(0, 5)}), min_size=1),
        st.fixed_dictionaries({"claims": st.lists(CLAIM, max_size=3)}),
        st.fixed_dictionaries({"claims": st.lists(GOOD_CLAIM, min_size=1, max_size=2)}),
        PRICES,
        YAML_VALUE,
    ),
    raw=st.none() | RAW_YAML,
)
def test_yaml_inputs(workspace: Path, command: str, document: Any, raw: bytes | None) -> None:
    path = workspace / "fuzz.yaml"
    text = yaml.safe_dump(document, allow_unicode=True).encode("utf-8") if raw is None else raw
    path.write_bytes(text)
    out = workspace / "out"
    args = {
        "weights": ("report", "--weights", str(path), "--out-dir", str(out)),
        "claims": ("check-claims", str(path)),
        "prices": ("run", "-m", "a=mock:a", "-t", "copy,n=2,name=fuzz", "--prices", str(path)),
    }[command]
    _check(workspace, *args)


# --- serve ------------------------------------------------------------------------------------

PARAM_VALUE = st.one_of(
    TEXT,
    NASTY,
    st.integers().map(str),
    st.sampled_from(["a", "b", "copy", "1", "-1", "99999999999999999999999", str(2**63), "-2"]),
)


@pytest.fixture(scope="module")
def served(workspace: Path) -> Iterator[tuple[int, str]]:
    """A server on the workspace's database, and its run's id."""
    conn = sqlite3.connect(workspace / "base.db")
    try:
        (run_id,) = conn.execute("SELECT run_id FROM runs ORDER BY created_at LIMIT 1").fetchone()
    finally:
        conn.close()
    server = make_server(App(workspace / "base.db"), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1]), str(run_id)
    finally:
        server.shutdown()
        server.server_close()


@settings(FUZZ, max_examples=300)
@given(
    view=st.sampled_from(["", "/samples", "/samples", "/nope"]),
    params=st.dictionaries(
        st.sampled_from(["a", "b", "task", "after", "before", "disagree", "x"]) | TEXT,
        PARAM_VALUE,
        max_size=5,
    ),
    run=st.none() | TEXT,
)
def test_serve_query_parameters(
    served: tuple[int, str], view: str, params: dict[str, str], run: str | None
) -> None:
    port, run_id = served
    path = f"/run/{quote(run if run is not None else run_id, safe='')}{view}"
    query = urlencode({k: v.encode("utf-8", "surrogatepass") for k, v in params.items()})
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", f"{path}?{query}")
        response = connection.getresponse()
        body = response.read().decode("utf-8")
    finally:
        connection.close()
    assert response.status in (200, 400, 404), (path, params, body[:500])
    assert "Traceback" not in body


def test_serving_left_the_database_as_it_was(workspace: Path, served: tuple[int, str]) -> None:
    before = _state(workspace / "base.db")
    port, run_id = served
    for path in ("/", f"/run/{run_id}", f"/run/{run_id}/samples?after=3"):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", path)
        assert connection.getresponse().status == 200
        connection.close()
    assert _state(workspace / "base.db") == before
