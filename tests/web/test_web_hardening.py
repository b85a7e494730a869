"""``bakeoff serve`` answers every request (issue 20, items 5, 6, 7, 13): a number out of range
is a 400, a failure while answering a 500 page without a traceback, a foreign ``Host`` a 403;
a database path with ``#`` is opened as named, read-only; a model is not compared with itself.
"""

from __future__ import annotations

import http.client
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest
from tests.report.report_fixtures import GEMMA, SMOL, demo_store

from bakeoff.web import queries
from bakeoff.web.app import App, make_server

RUN = "fedcba9876543210"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("web") / "demo.db"
    demo_store(path).close()
    with closing(sqlite3.connect(path)) as conn:  # the WAL moves into the file: copies are whole
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@contextmanager
def _serving(app: App, host: str = "127.0.0.1") -> Iterator[int]:
    server = make_server(app, host, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def _get(port: int, path: str, host: str | None = None) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.putrequest("GET", path, skip_host=host is not None)
        if host is not None:
            connection.putheader("Host", host)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8")
    finally:
        connection.close()


@pytest.mark.parametrize(
    "query",
    [
        "after=99999999999999999999999",
        "before=99999999999999999999999",
        "after=-2",
        "before=-1",
        "after=zzz",
        "after=" + "9" * 5000,
    ],
)
def test_page_numbers_out_of_range_are_a_400(db: Path, query: str) -> None:
    response = App(db).handle(f"/run/{RUN}/samples?task=arithmetic&{query}")
    assert response.status == 400
    assert "sample position" in response.body
    assert len(response.body) < 2000


def test_page_numbers_in_range_still_page(db: Path) -> None:
    app = App(db)
    assert app.handle(f"/run/{RUN}/samples?task=arithmetic&after=-1").status == 200
    assert app.handle(f"/run/{RUN}/samples?task=arithmetic&after={2**63 - 1}").status == 200
    assert app.handle(f"/run/{RUN}/samples?task=arithmetic&before=30").status == 200


def test_the_server_answers_an_overflowing_number_instead_of_dropping_it(db: Path) -> None:
    with _serving(App(db)) as port:
        status, body = _get(port, f"/run/{RUN}/samples?after=99999999999999999999999")
    assert status == 400
    assert "Traceback" not in body


def test_a_database_damaged_while_serving_gets_a_500_page_naming_it(
    db: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "copy.db"
    copy.write_bytes(db.read_bytes())
    app = App(copy)  # intact when serve starts
    with closing(sqlite3.connect(copy)) as conn:
        root_page = conn.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'runs'"
        ).fetchone()[0]
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    with copy.open("r+b") as handle:  # junk over the runs table's first page
        handle.seek(page_size * (root_page - 1))
        handle.write(b"\xa5" * page_size)
    with _serving(app) as port:
        for path in ("/", f"/run/{RUN}", f"/run/{RUN}/samples"):
            status, body = _get(port, path)
            assert status == 500, (path, body)
            assert "damaged" in body
            assert "PRAGMA integrity_check" in body
            assert "Traceback" not in body


def test_an_unexpected_failure_is_a_500_page_without_traceback(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object) -> object:
        raise OverflowError("Python int too large to convert to SQLite INTEGER")

    monkeypatch.setattr(queries, "list_runs", broken)
    with _serving(App(db)) as port:
        status, body = _get(port, "/")
    assert status == 500
    assert "internal error (OverflowError)" in body
    assert "Traceback" not in body
    assert "File " not in body


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("localhost:{port}", 200),
        ("127.0.0.1:{port}", 200),
        ("[::1]:{port}", 200),
        ("LOCALHOST", 200),
        ("rebind.attacker.example:{port}", 403),
        ("127.0.0.1.nip.io:{port}", 403),
        ("192.168.1.20:{port}", 403),
        ("[::1", 403),
        ("", 403),
    ],
)
def test_only_this_machines_names_are_served(db: Path, host: str, status: int) -> None:
    with _serving(App(db)) as port:
        got, body = _get(port, f"/run/{RUN}", host=host.format(port=port))
    assert got == status, body
    if status == 403:
        assert GEMMA not in body


def test_bound_to_every_interface_an_ip_address_is_served_a_name_is_not(db: Path) -> None:
    with _serving(App(db), host="0.0.0.0") as port:
        assert _get(port, "/", host=f"192.168.1.20:{port}")[0] == 200
        assert _get(port, "/", host=f"rebind.attacker.example:{port}")[0] == 403


def test_a_path_with_hash_and_question_mark_is_opened_read_only(db: Path, tmp_path: Path) -> None:
    odd = tmp_path / "we#ird?%41.db"
    odd.write_bytes(db.read_bytes())
    response = App(odd).handle("/")
    assert response.status == 200
    assert RUN[:12] in response.body
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(odd.name)) == []
    conn = queries.connect(odd)
    try:
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            conn.execute("DELETE FROM runs")
    finally:
        conn.close()


def test_a_model_is_not_compared_with_itself(db: Path) -> None:
    app = App(db)
    for view in ("", "/samples"):
        response = app.handle(f"/run/{RUN}{view}?a={SMOL}&b={SMOL}")
        assert response.status == 400
        assert "same model" in response.body
    assert app.handle(f"/run/{RUN}?a={SMOL}&b={GEMMA}").status == 200
    assert app.handle(f"/run/{RUN}?a={SMOL}").status == 200  # b: the other model
