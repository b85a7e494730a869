"""``bakeoff serve`` over a fixed stored run: pages, paging in SQL, escaping, headers."""

from __future__ import annotations

import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.report.report_fixtures import GEMMA, OUTCOMES, SMOL, demo_store

from bakeoff.web import queries
from bakeoff.web.app import CSP, App

RUN = "fedcba9876543210"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("web") / "demo.db"
    demo_store(path).close()
    return path


@pytest.fixture(scope="module")
def app(db: Path) -> App:
    return App(db)


def _ids(body: str) -> list[str]:
    return re.findall(r"<td>([a-z-]+-\d{4})</td>", body)


def test_runs_page_lists_the_run(app: App) -> None:
    response = app.handle("/")
    assert response.status == 200
    assert f'href="/run/{RUN}"' in response.body
    assert "demo-fixed" in response.body


def test_comparison_shows_scores_and_disagreements(app: App) -> None:
    body = app.handle(f"/run/{RUN}").body
    assert '<table id="comparison">' in body
    # needle: Gemma 20/30 = 66.7%, SmolLM2 3/30 = 10.0%
    assert "66.7 [" in body
    assert "10.0 [" in body
    n, gemma, smol = OUTCOMES["needle"]
    expected = sum(gemma(i) != smol(i) for i in range(n))
    assert f'disagree=1">{expected}</a>' in body
    assert "data not available offline" in body
    assert "glue" in body


def test_samples_page_through_in_order(app: App) -> None:
    first = app.handle(f"/run/{RUN}/samples?task=arithmetic").body
    ids = _ids(first)
    assert ids == [f"arith-{i:04d}" for i in range(queries.PAGE_SIZE)]
    after = re.search(r'rel="next" href="([^"]+)"', first)
    assert after is not None
    second = app.handle(after.group(1).replace("&amp;", "&")).body
    assert _ids(second) == [f"arith-{i:04d}" for i in range(queries.PAGE_SIZE, 40)]
    assert 'rel="next"' not in second
    back = re.search(r'rel="prev" href="([^"]+)"', second)
    assert back is not None
    assert _ids(app.handle(back.group(1).replace("&amp;", "&")).body) == ids


def test_disagreement_filter(app: App) -> None:
    body = app.handle(f"/run/{RUN}/samples?task=needle&disagree=1").body
    n, gemma, smol = OUTCOMES["needle"]
    expected = [f"needle-{i:04d}" for i in range(n) if gemma(i) != smol(i)]
    assert _ids(body) == expected[: queries.PAGE_SIZE]


def test_model_output_is_escaped(app: App) -> None:
    body = app.handle(f"/run/{RUN}/samples?task=arithmetic&a={SMOL}&b={GEMMA}").body
    assert "&lt;img src=x onerror=&quot;document.title=" in body
    assert "<img" not in body
    assert "<script" not in body


def test_unknown_pages_are_404(app: App) -> None:
    assert app.handle("/run/nope").status == 404
    assert app.handle("/etc/passwd").status == 404
    assert app.handle(f"/run/{RUN}/samples?after=zzz").status == 200  # bad numbers ignored


def test_page_query_uses_limit_and_index(db: Path) -> None:
    conn = queries.connect(db)
    try:
        for disagree in (False, True):
            sql = queries.sample_page_sql(disagree, backwards=False)
            assert sql.rstrip().endswith("LIMIT :limit")
            plan = " ".join(
                str(row[3])
                for row in conn.execute(
                    "EXPLAIN QUERY PLAN " + sql,
                    {"run": RUN, "task": "needle", "a": GEMMA, "b": SMOL, "pos": -1, "limit": 25},
                )
            )
            assert "USING INDEX samples_by_position" in plan, plan
            assert "USE TEMP B-TREE" not in plan  # no sort of the whole task
            assert plan.count("USING INDEX sqlite_autoindex_results_1") == 2, plan
    finally:
        conn.close()


@pytest.fixture
def server(db: Path) -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "bakeoff.cli.main", "serve", "--db", str(db), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert match, line + (process.stderr.read() if process.stderr else "")
        yield match.group(0)
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_served_pages_carry_a_strict_csp(server: str) -> None:
    with urllib.request.urlopen(f"{server}/run/{RUN}/samples?task=arithmetic") as response:
        assert response.headers["Content-Security-Policy"] == CSP
        assert "script-src" not in CSP
        assert "default-src 'none'" in CSP
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "&lt;img" in response.read().decode("utf-8")
    with urllib.request.urlopen(f"{server}/run/{RUN}/guide") as response:
        policy = response.headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy
        assert "script" not in policy
        assert "Where the models disagree" in response.read().decode("utf-8")


def test_serve_with_missing_db_is_one_line_error(tmp_path: Path) -> None:
    from tests.helpers import run_cli

    done = run_cli("serve", "--db", str(tmp_path / "none.db"), "--port", "0", cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "no bakeoff database" in done.stderr
