"""Routing and the HTTP server of ``bakeoff serve`` (standard library: http.server + sqlite3).

Routes: ``/`` runs · ``/run/ID`` comparison · ``/run/ID/samples`` paged samples side by side ·
``/run/ID/guide`` the full HTML guide · ``/static/style.css``. Every response carries a strict
Content-Security-Policy: no script may run, nothing may be fetched from another origin.

Every request gets an answer: a parameter out of range is a 400, a request whose ``Host`` is not
this machine's name for the server a 403 (a page on another site that has its name resolve to
127.0.0.1, "DNS rebinding", would otherwise read every stored run), and anything that fails
while answering a 500 page that names the problem in one line, never a traceback.
"""

from __future__ import annotations

import ipaddress
import sqlite3
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from bakeoff.core.errors import BakeoffError
from bakeoff.storage._health import as_store_error
from bakeoff.storage.sqlite import SqliteStore
from bakeoff.web import pages, queries

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
# The guide is one self-contained file with an inline stylesheet and inline SVG; still no script.
GUIDE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
GUIDE_WAIT_S = 3.0
"""How long a request for the guide waits for it to be built before answering "building"."""
MAX_CACHED = 64
"""Comparisons kept in memory (each a few numbers per task)."""
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
MAX_POSITION = 2**63 - 1
"""Sample positions are SQLite integers: a page parameter beyond them is a 400, not a crash."""
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARD_ADDRESSES = frozenset({"", "0.0.0.0", "::"})


class BadRequestError(Exception):
    """A request parameter that cannot be answered (the message says which): HTTP 400."""


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: str
    content_type: str = "text/html; charset=utf-8"
    csp: str = CSP


_Render = Callable[[sqlite3.Connection], Response]


@dataclass
class App:
    """Answers requests from the database at ``db``; opened read-only per request."""

    db: Path
    _guides: dict[str, str] = field(default_factory=dict)
    _stats: dict[str, list[queries.TaskStats]] = field(default_factory=dict)
    _building: dict[str, threading.Thread] = field(default_factory=dict)
    _failed: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        # Opening the store once applies pending migrations (the paging index of 0003).
        SqliteStore(self.db, create=False).close()

    def handle(self, target: str) -> Response:
        try:
            return self._route(target)
        except BadRequestError as error:
            return Response(400, pages.error_page(str(error), "bad request"))

    def _route(self, target: str) -> Response:
        split = urlsplit(target)
        parts = [unquote(p) for p in split.path.split("/") if p]
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        if not parts:
            return self._with_conn(
                lambda conn: Response(200, pages.runs_page(queries.list_runs(conn)))
            )
        if parts == ["static", "style.css"]:
            return Response(200, pages.CSS, "text/css; charset=utf-8")
        if parts[0] == "run" and len(parts) in (2, 3):
            view = parts[2] if len(parts) == 3 else "comparison"
            if view in ("comparison", "samples", "guide"):
                return self._run_view(parts[1], view, query)
        return _not_found("no such page")

    def _with_conn(self, render: _Render) -> Response:
        conn = queries.connect(self.db)
        try:
            return render(conn)
        finally:
            conn.close()

    def _run_view(self, run_id: str, view: str, query: Mapping[str, str]) -> Response:
        if view == "guide":
            return self._guide(run_id)

        def render(conn: sqlite3.Connection) -> Response:
            run = queries.get_run(conn, run_id)
            if run is None:
                return _not_found(f"no run {run_id}")
            if len(run.models) < 2:
                return Response(
                    200,
                    pages.page(run.run_id, "<p>This run has one model: nothing to compare.</p>"),
                )
            pair = _pair(run.models, query)
            if view == "comparison":
                stats = self._task_stats(conn, run.run_id, pair)
                missing = queries.manifest(conn, run.run_id).get("unavailable_tasks") or []
                unavailable = [m for m in missing if isinstance(m, dict)]
                return Response(200, pages.comparison_page(run, pair, stats, unavailable))
            return _samples(conn, run, pair, query)

        return self._with_conn(render)

    def _task_stats(
        self, conn: sqlite3.Connection, run_id: str, pair: tuple[str, str]
    ) -> list[queries.TaskStats]:
        """The comparison's aggregates (one pass over the run's outcomes), kept until the run
        changes: at 100,000 samples they take a few hundred milliseconds to compute."""
        key = f"{run_id}:{queries.run_version(conn, run_id)}:{pair[0]}\x00{pair[1]}"
        with self._lock:
            cached = self._stats.get(key)
        if cached is None:
            cached = queries.task_stats(conn, run_id, *pair)
            with self._lock:
                if len(self._stats) >= MAX_CACHED:
                    self._stats.clear()
                self._stats[key] = cached
        return cached

    def _guide(self, run_id: str) -> Response:
        """The full guide, built once per state of the run (rebuilt when results were added).

        It is built in a background thread: a request waits up to ``GUIDE_WAIT_S`` for it, and
        when the run is too large for that (100,000 samples take about a minute) it gets a page
        that says so and reloads itself, so no request holds a connection for the whole build.
        """
        conn = queries.connect(self.db)
        try:
            run = queries.get_run(conn, run_id)
            version = queries.run_version(conn, run_id) if run else ""
        finally:
            conn.close()
        if run is None:
            return _not_found(f"no run {run_id}")
        key = f"{run.run_id}:{version}"
        with self._lock:
            job = self._building.get(key)
            if key not in self._guides and key not in self._failed and job is None:
                job = threading.Thread(target=self._build_guide, args=(run.run_id, key))
                job.daemon = True
                self._building[key] = job
                job.start()
        if job is not None:
            job.join(GUIDE_WAIT_S)
        with self._lock:
            guide, failure = self._guides.get(key), self._failed.get(key)
        if failure is not None:
            return Response(500, pages.error_page(failure, "error"))
        if guide is None:
            return Response(200, pages.building_page(run.run_id, run.name))
        return Response(200, guide, csp=GUIDE_CSP)

    def _build_guide(self, run_id: str, key: str) -> None:
        from bakeoff.report.html import render_html  # numpy/scipy: only for the guide
        from bakeoff.report.model import build_report

        guide, failure = None, None
        try:
            store = SqliteStore(self.db, create=False)
            try:
                guide = render_html(build_report(store, run_id))
            finally:
                store.close()
        except Exception as exc:  # shown on the page instead of dying silently in the thread
            failure = f"the guide could not be built: {exc}"
        with self._lock:
            for cache in (self._guides, self._failed):
                for old in [k for k in cache if k.startswith(f"{run_id}:")]:
                    del cache[old]
            if guide is not None:
                self._guides[key] = guide
            if failure is not None:
                self._failed[key] = failure
            self._building.pop(key, None)


def _pair(models: tuple[str, ...], query: Mapping[str, str]) -> tuple[str, str]:
    a = query.get("a") if query.get("a") in models else models[0]
    b = query.get("b") if query.get("b") in models else next(m for m in models if m != a)
    if a == b:
        raise BadRequestError(f"a and b name the same model ({a}): pick two different models")
    return str(a), str(b)


def _int(query: Mapping[str, str], key: str, minimum: int) -> int | None:
    value = query.get(key)
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except ValueError:  # not a number, or more digits than Python converts
        number = None
    if number is None or not minimum <= number <= MAX_POSITION:
        shown = value if len(value) <= 40 else value[:40] + "…"
        raise BadRequestError(
            f"{key}={shown!r}: a sample position from {minimum} to {MAX_POSITION}"
        )
    return number


def _samples(
    conn: sqlite3.Connection,
    run: queries.RunRow,
    pair: tuple[str, str],
    query: Mapping[str, str],
) -> Response:
    task = query.get("task") if query.get("task") in run.tasks else run.tasks[0]
    task = str(task)
    disagree = query.get("disagree") == "1"
    before, after = _int(query, "before", 0), _int(query, "after", -1)
    size = queries.PAGE_SIZE
    # One row more than shown says whether there is a page beyond this one.
    rows = queries.sample_page(
        conn,
        run.run_id,
        task,
        pair,
        after=after if after is not None else -1,
        before=before,
        disagree_only=disagree,
        limit=size + 1,
    )
    if before is not None:
        has_prev, rows = len(rows) > size, rows[-size:]
        has_next = True
    else:
        has_next, rows = len(rows) > size, rows[:size]
        has_prev = after is not None and after >= 0
    total = queries.count_samples(conn, run.run_id, task)
    return Response(
        200,
        pages.samples_page(
            run,
            task,
            pair,
            rows,
            total=total,
            disagree_only=disagree,
            has_prev=has_prev,
            has_next=has_next,
        ),
    )


def _not_found(message: str) -> Response:
    return Response(404, pages.error_page(message))


def host_allowed(host_header: str | None, bound: str) -> bool:
    """Whether a request's ``Host`` names this server: a loopback name, the address it is bound
    to, or (bound to every interface) any IP address. A browser always sends the name it
    resolved, so a rebinding attacker's page arrives with its own domain and is refused; an IP
    literal cannot be rebound. A request without the header (HTTP/1.0 tools) is let through:
    no browser sends one."""
    if host_header is None:
        return True
    try:
        name = urlsplit(f"//{host_header.strip()}").hostname
    except ValueError:  # an unclosed "[" and the like
        return False
    if not name:
        return False
    bound = bound.strip("[]").lower()
    if name in LOOPBACK_NAMES or name == bound:
        return True
    if bound in WILDCARD_ADDRESSES:
        try:
            ipaddress.ip_address(name)
        except ValueError:
            return False
        return True
    return False


def _failure(app: App, error: Exception) -> Response:
    """The 500 page: one line naming the problem; the traceback goes nowhere."""
    if isinstance(error, sqlite3.Error):
        translated = as_store_error(app.db, error)
        message = str(translated) if translated else f"database error: {error}"
    elif isinstance(error, BakeoffError):
        message = str(error)
    else:
        message = f"internal error ({type(error).__name__}): see the terminal running serve"
    print(f"serve: {message.splitlines()[0] if message else ''}", file=sys.stderr, flush=True)
    return Response(500, pages.error_page(message, "error"))


class _Handler(BaseHTTPRequestHandler):
    app: App
    bound_host: str
    server_version = "bakeoff"
    sys_version = ""

    def do_GET(self) -> None:
        self._respond(self._answer())

    def do_HEAD(self) -> None:
        self._respond(self._answer(), body=False)

    def _answer(self) -> Response:
        if not host_allowed(self.headers.get("Host"), self.bound_host):
            return Response(
                403,
                pages.error_page(
                    "this server answers requests for localhost, 127.0.0.1 or [::1] "
                    "(or the address it listens on) only",
                    "forbidden",
                ),
            )
        try:
            return self.app.handle(self.path)
        except Exception as error:  # every request gets an answer, never a dropped connection
            return _failure(self.app, error)

    def _respond(self, response: Response, body: bool = True) -> None:
        data = response.body.encode("utf-8")
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Content-Security-Policy", response.csp)
        for name, value in HEADERS.items():
            self.send_header(name, value)
        self.end_headers()
        if body:
            self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass  # quiet: the CLI prints the address; request logs would drown it


def make_server(app: App, host: str, port: int) -> ThreadingHTTPServer:
    handler = type("Handler", (_Handler,), {"app": app, "bound_host": host})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server
