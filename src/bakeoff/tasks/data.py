"""Reading local dataset files with errors that name the file and line."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bakeoff.core.errors import DataError
from bakeoff.core.surrogates import clean_json_value, may_decode_to_surrogates

log = logging.getLogger(__name__)


def existing_file(path: str | Path, what: str) -> Path:
    resolved = Path(path).expanduser()
    if not resolved.exists():
        raise DataError(f"{what} not found: {resolved}")
    if not resolved.is_file():
        raise DataError(f"{what} is not a file: {resolved}")
    return resolved


def read_jsonl(path: str | Path, what: str = "dataset file") -> list[tuple[int, dict[str, Any]]]:
    """Return (line number, object) pairs; blank lines are skipped, anything else must parse."""
    resolved = existing_file(path, what)
    return list(_iter_jsonl(resolved))


def _iter_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        with path.open(encoding="utf-8") as handle:
            for lineno, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                obj = _decode_line(line, path, lineno)
                if not isinstance(obj, dict):
                    raise DataError(f"{path}:{lineno}: expected a JSON object per line")
                yield lineno, obj
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror}") from None


def _decode_line(line: str, path: Path, lineno: int) -> Any:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{lineno}: malformed JSON ({exc.msg})") from None
    except RecursionError:
        raise DataError(f"{path}:{lineno}: JSON nested too deeply") from None
    except ValueError as exc:  # an integer of more digits than Python converts (4,300)
        raise DataError(f"{path}:{lineno}: unreadable JSON ({exc})") from None
    if may_decode_to_surrogates(line):
        obj, replaced = clean_json_value(obj)
        if replaced:
            log.warning(
                "%s:%d: text with a lone surrogate escape (\\uD800-\\uDFFF): "
                "each replaced by U+FFFD",
                path,
                lineno,
            )
    return obj


def require_field(
    obj: dict[str, Any], names: tuple[str, ...], path: Path | str, lineno: int
) -> Any:
    """The first of ``names`` present in ``obj``; DataError naming the line otherwise."""
    for name in names:
        if name in obj:
            return obj[name]
    wanted = " or ".join(f"'{n}'" for n in names)
    raise DataError(f"{path}:{lineno}: missing field {wanted}")
