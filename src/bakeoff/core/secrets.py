"""API keys: where they come from (environment, then the system keyring) and keeping them out of
everything bakeoff writes.

Keys are never accepted on the command line (shell history, ``ps``, the run manifest's command
line). Every key that is read is remembered here; from then on any log record whose rendered
message contains it is rewritten with the key replaced by ``[redacted]`` (this covers the SDKs'
own debug logs of request options), and :func:`redact` does the same for error messages that
quote a server's reply.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
from typing import Any

REDACTED = "[redacted]"
KEYRING_SERVICE = "bakeoff"
"""Keyring entries: service ``bakeoff``, user name = the environment variable's name."""

_secrets: set[str] = set()
_lock = threading.Lock()
_factory_installed = False


def api_key(env_name: str, *, use_keyring: bool = True) -> str | None:
    """The key from ``$env_name``, else from the keyring entry (bakeoff, env_name); None if neither.

    The keyring is only asked when the environment has no key, and any keyring failure (no
    backend installed, locked store) counts as "no key there".
    """
    value = os.environ.get(env_name) or (_from_keyring(env_name) if use_keyring else None)
    if value:
        remember(value)
    return value or None


def _from_keyring(env_name: str) -> str | None:
    try:
        keyring: Any = importlib.import_module("keyring")
        value = keyring.get_password(KEYRING_SERVICE, env_name)
    except Exception:  # no keyring package, no backend, locked or broken store
        return None
    return str(value) if value else None


def remember(secret: str) -> None:
    """Redact ``secret`` from every log record and every :func:`redact` call from now on."""
    global _factory_installed
    if len(secret) < 4:  # too short to redact without mangling ordinary text
        return
    with _lock:
        _secrets.add(secret)
        if not _factory_installed:
            _install_record_factory()
            _factory_installed = True


def redact(text: str) -> str:
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def _install_record_factory() -> None:
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to logging's own error path
            return record
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return record

    logging.setLogRecordFactory(factory)
