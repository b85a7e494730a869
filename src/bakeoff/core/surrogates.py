"""Lone surrogates: code points U+D800..U+DFFF that a Python string can hold but UTF-8 cannot.

They reach bakeoff through JSON escapes (``"\\ud800"`` from a server's answer or a data file) and
through command-line arguments that are not UTF-8 (Python decodes those with surrogate escapes).
SQLite, HTML and every HTTP body need UTF-8, so text that holds one would crash whoever writes it
next. Each is replaced by U+FFFD (the replacement character, shown as �) where text comes in and
again where it is stored: the text stays readable, the damage is visible, and nothing crashes.
A valid pair such as ``"\\ud83d\\ude00"`` is not touched: JSON decodes it to one code point.
"""

from __future__ import annotations

import re
from typing import Any

REPLACEMENT = "\ufffd"
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
"""A JSON escape that decodes to a surrogate (alone, or half of a valid pair)."""


def has_lone_surrogates(text: str) -> bool:
    return _LONE_SURROGATE.search(text) is not None


def replace_lone_surrogates(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD (the same object if it has none)."""
    if _LONE_SURROGATE.search(text) is None:
        return text
    return _LONE_SURROGATE.sub(REPLACEMENT, text)


def may_decode_to_surrogates(json_text: str) -> bool:
    """Whether decoding ``json_text`` can give a string with a surrogate (a cheap pre-check)."""
    return _SURROGATE_ESCAPE.search(json_text) is not None


def clean_json_value(value: Any) -> tuple[Any, bool]:
    """(``value`` with lone surrogates replaced in every string and key, whether any was).

    Walks with an explicit stack, not recursion: a document nested as deep as the JSON decoder
    allows must not fail here.
    """
    if isinstance(value, str):
        cleaned = replace_lone_surrogates(value)
        return cleaned, cleaned is not value
    if not isinstance(value, dict | list):
        return value, False
    changed = False
    stack: list[dict[Any, Any] | list[Any]] = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key in [k for k in node if isinstance(k, str) and has_lone_surrogates(k)]:
                node[replace_lone_surrogates(key)] = node.pop(key)
                changed = True
            entries: list[tuple[Any, Any]] = list(node.items())
        else:
            entries = list(enumerate(node))
        for key, item in entries:
            if isinstance(item, str):
                cleaned = replace_lone_surrogates(item)
                if cleaned is not item:
                    node[key] = cleaned
                    changed = True
            elif isinstance(item, dict | list):
                stack.append(item)
    return value, changed
