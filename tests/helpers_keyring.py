"""A keyring backend kept in a JSON file, so tests exercise bakeoff's real keyring lookup.

Select it in a subprocess with ``PYTHON_KEYRING_BACKEND=tests.helpers_keyring.FileKeyring`` and
``BAKEOFF_TEST_KEYRING=/path/file.json`` (keep that file outside what a test searches for keys).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from jaraco.classes.properties import classproperty
from keyring.backend import KeyringBackend


class FileKeyring(KeyringBackend):
    @classproperty
    def priority(cls) -> float:  # noqa: N805 - a class property
        # Viable only where a test asked for it: keyring probes every backend class it has seen.
        if "BAKEOFF_TEST_KEYRING" not in os.environ:
            raise RuntimeError("test keyring: set BAKEOFF_TEST_KEYRING to use it")
        return 1.0

    def __init__(self, path: str | Path | None = None) -> None:
        super().__init__()
        self.path = Path(path or os.environ.get("BAKEOFF_TEST_KEYRING", "/nonexistent.json"))

    def _load(self) -> dict[str, str]:
        if not self.path.exists():
            return {}
        data: dict[str, str] = json.loads(self.path.read_text())
        return data

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}/{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        data = self._load()
        data[f"{service}/{username}"] = password
        self.path.write_text(json.dumps(data))

    def delete_password(self, service: str, username: str) -> None:
        data = self._load()
        data.pop(f"{service}/{username}", None)
        self.path.write_text(json.dumps(data))
