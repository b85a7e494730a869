"""Text from users, stored runs and models, made inert before it reaches the terminal.

A run name, a model label, a task name or an error message may come from anyone: a database
someone sent, a model's answer quoted by a server's error. Printed as is, ``[reverse]`` in it is
Rich markup and an ESC byte starts a terminal control sequence (colours, cursor moves, a new
window title, a hyperlink), so such text could restyle or rewrite what the user reads. Every
such string goes through :func:`plain` (for ``print`` and ``markup=False``) or :func:`markup`
(inside Rich markup, table cells and progress descriptions, which Rich parses as markup).

Light on purpose (``re`` only; Rich is imported when markup is escaped): the command line's
parsers import this module.
"""

from __future__ import annotations

import re

# C0 controls but tab and newline, DEL, C1 controls (0x9b alone starts a sequence on some
# terminals), and the bidirectional overrides and isolates that reorder what is displayed.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_LINE_BREAK = re.compile("[\t\n]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def plain(text: object, *, multiline: bool = False) -> str:
    """``text`` with every control character written out visibly (ESC as ``\\x1b``).

    Names are one line: a tab or newline in them is shown escaped too, so a name cannot fake a
    line of output. ``multiline`` keeps them (error messages that have several lines)."""
    shown = _CONTROL.sub(_visible, str(text))
    return shown if multiline else _LINE_BREAK.sub(_visible, shown)


def markup(text: object, *, multiline: bool = False) -> str:
    """:func:`plain`, then Rich markup escaped: for text inside a markup string or a table."""
    from rich.markup import escape

    return escape(plain(text, multiline=multiline))


def log_warnings_inertly() -> None:
    """Warnings the layers below log (a backend quoting a server's error) reach stderr through
    Python's last-resort handler, message only: it keeps doing that, the message made
    :func:`plain`. (Replacing the handler, not adding one, leaves libraries that set up their own
    logging printing exactly what they printed before.)"""
    import logging

    class _Inert(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            return plain(super().format(record), multiline=True)

    if logging.lastResort is not None:
        logging.lastResort.setFormatter(_Inert("%(message)s"))
