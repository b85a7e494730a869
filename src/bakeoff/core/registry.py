"""Name -> implementation registries, resolved lazily so that importing bakeoff stays cheap.

Entries are "module:attribute" strings; the module is imported only when the name is used, which
keeps torch, llama_cpp and API SDKs out of the import path of commands that do not need them.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Generic, TypeVar

from bakeoff.core.errors import ConfigError

T = TypeVar("T")


class LazyRegistry(Generic[T]):
    def __init__(self, kind: str) -> None:
        self._kind = kind
        self._entries: dict[str, str] = {}

    def register(self, name: str, target: str) -> None:
        self._entries[name] = target

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def load(self, name: str) -> T:
        try:
            target = self._entries[name]
        except KeyError:
            known = ", ".join(self.names())
            raise ConfigError(f"unknown {self._kind} '{name}' (known: {known})") from None
        module_name, _, attribute = target.partition(":")
        module = importlib.import_module(module_name)
        loaded: T = getattr(module, attribute)
        return loaded
