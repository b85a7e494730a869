"""``bakeoff serve``: browse stored runs, compare two models, page through their outputs."""

from __future__ import annotations

import argparse
from pathlib import Path

from bakeoff.cli.common import add_db_option
from bakeoff.cli.terminal import plain
from bakeoff.core.errors import ConfigError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("serve", help="browse stored runs in a web browser")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8000, help="port (0 = any free port)")
    add_db_option(parser)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from bakeoff.web.app import App, make_server

    if not 0 <= args.port <= 65535:
        raise ConfigError(f"--port must be 0..65535, got {args.port}")
    app = App(Path(args.db))
    try:
        server = make_server(app, args.host, args.port)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from None
    host, port = server.server_address[:2]
    # Tests and scripts read this line to find the port when --port 0 was given.
    print(f"serving {plain(args.db)} on http://{plain(host)}:{port} (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0
