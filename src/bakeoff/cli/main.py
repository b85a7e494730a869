"""Entry point: ``bakeoff <command>``. User mistakes exit 2 with one line, never a traceback.

Start-up stays fast: this module and every parser import neither Rich nor the numeric stack;
each command imports what it needs when it runs (tests/test_architecture.py checks numpy and
scipy stay out).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from bakeoff import __version__
from bakeoff.cli import claims, demo, report, run, runs, serve, speed
from bakeoff.cli.common import stderr_console
from bakeoff.cli.terminal import log_warnings_inertly, markup, plain
from bakeoff.core.errors import BakeoffError

INTERRUPTED_EXIT = 130


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # argparse's own usage errors also exit 2, on one line plus the usage hint. The message
        # may quote an argument as typed (unrecognized arguments), escapes and all.
        self.print_usage(sys.stderr)
        self.exit(2, f"error: {plain(message, multiline=True)}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="bakeoff", description="Compare language models head to head.")
    parser.add_argument("--version", action="version", version=f"bakeoff {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module in (run, report, runs, demo, speed, claims, serve):
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    log_warnings_inertly()
    try:
        code: int = args.handler(args)
    except BakeoffError as exc:
        stderr_console().print(
            f"[bold red]error:[/bold red] {markup(exc, multiline=True)}", soft_wrap=True
        )
        return exc.exit_code
    except KeyboardInterrupt:
        stderr_console().print(
            "interrupted: finished samples are stored; run the same command again to resume"
        )
        return INTERRUPTED_EXIT
    return code


if __name__ == "__main__":
    sys.exit(main())
