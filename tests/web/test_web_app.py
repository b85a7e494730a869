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


def test_comparison_paired_tests_match_scipy_and_statsmodels(app: App) -> None:
    from scipy.stats import binomtest
    from statsmodels.stats.multitest import multipletests

    body = app.handle(f"/run/{RUN}").body
    raw, gemma_ahead = {}, {}
    for task, (n, gemma, smol) in OUTCOMES.items():
        only_gemma = sum(gemma(i) and not smol(i) for i in range(n))
        only_smol = sum(smol(i) and not gemma(i) for i in range(n))
        raw[task] = binomtest(only_gemma, only_gemma + only_smol).pvalue  # exact McNemar
        gemma_ahead[task] = only_gemma > only_smol
    adjusted = multipletests(list(raw.values()), method="holm")[1]
    for task, p in zip(raw, adjusted, strict=True):
        row = re.search(rf"<tr><td>{re.escape(task)}</td>.*?</tr>", body)
        assert row is not None, task
        shown = "&lt;0.001" if p < 0.001 else f"{p:.3f}"
        assert f'<td class="num">{shown}</td>' in row.group(0), (task, p)
        if p < 0.05:
            winner = GEMMA if gemma_ahead[task] else SMOL
            assert f"{winner} better</strong>" in row.group(0), task
        else:
            assert "no significant difference" in row.group(0), task
    assert "Holm" in body


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


def test_a_multiple_choice_target_shows_its_text_with_letter_and_index(app: App) -> None:
    """The target is stored as the right option's index; the page shows the option's text (what
    the models answer with) and names the option beside it."""
    from bakeoff.tasks.probes import ArithmeticChoiceProbe

    body = app.handle(f"/run/{RUN}/samples?task=arithmetic-mc").body
    first = ArithmeticChoiceProbe("", {"n": str(OUTCOMES["arithmetic-mc"][0])}).samples()[0]
    assert isinstance(first.target, int)
    answer = first.choices[first.target]
    assert answer != str(first.target)  # the text, not the index, or the test proves nothing
    letter = "ABCDEFGH"[first.target]
    expected = (
        f'<td><pre>{answer}</pre><span class="muted">choice {letter}, index {first.target} '
        f"of {len(first.choices)}</span></td>"
    )
    assert expected in body
    # A task whose target is text is shown as stored, with no option named.
    assert "choice A, index" not in app.handle(f"/run/{RUN}/samples?task=arithmetic").body


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


def test_long_inputs_keep_both_ends() -> None:
    from bakeoff.web.pages import MAX_CELL_CHARS, cell_text

    prompt = "HAYSTACK START " + "x" * 5000 + " Question: what is the secret?"
    shown = cell_text(prompt)
    assert len(shown) < MAX_CELL_CHARS + 40
    assert shown.startswith("HAYSTACK START")
    assert shown.endswith("Question: what is the secret?")  # the question stays visible
    assert f"[… {len(prompt) - MAX_CELL_CHARS:,} characters …]" in shown
    assert cell_text("short") == "short"


def test_unknown_pages_are_404(app: App) -> None:
    assert app.handle("/run/nope").status == 404
    assert app.handle("/etc/passwd").status == 404
    assert app.handle(f"/run/{RUN}/samples?after=zzz").status == 400  # not a position


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


def test_guide_is_rebuilt_when_the_run_changes(tmp_path: Path) -> None:
    from bakeoff.storage.sqlite import SqliteStore

    path = tmp_path / "demo.db"
    demo_store(path).close()
    app = App(path)
    first = app.handle(f"/run/{RUN}/guide").body
    assert app.handle(f"/run/{RUN}/guide").body is first  # cached
    store = SqliteStore(path, create=False)
    try:
        store.set_status(RUN, "interrupted")
    finally:
        store.close()
    second = app.handle(f"/run/{RUN}/guide").body
    assert "status <strong>interrupted</strong>" in second
    assert "status <strong>complete</strong>" in first


def test_large_guide_is_built_in_the_background(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading
    import time

    from bakeoff.web import app as web_app

    path = tmp_path / "demo.db"
    demo_store(path).close()
    app = App(path)
    release, builds = threading.Event(), []
    build = App._build_guide

    def slow_build(self: App, run_id: str, key: str) -> None:
        builds.append(key)
        release.wait(30)
        build(self, run_id, key)

    monkeypatch.setattr(App, "_build_guide", slow_build)
    monkeypatch.setattr(web_app, "GUIDE_WAIT_S", 0.05)
    first = app.handle(f"/run/{RUN}/guide")
    assert first.status == 200
    assert "is being built" in first.body
    assert '<meta http-equiv="refresh" content="5">' in first.body
    assert first.csp == CSP  # the waiting page is an ordinary page of the app
    assert "is being built" in app.handle(f"/run/{RUN}/guide").body
    release.set()
    deadline = time.monotonic() + 60
    while "is being built" in (body := app.handle(f"/run/{RUN}/guide").body):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert "Where the models disagree" in body
    assert len(builds) == 1  # one build, however many requests waited for it


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
