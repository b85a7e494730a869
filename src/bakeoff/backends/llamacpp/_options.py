"""The ``llamacpp:`` spec's options, checked before anything is loaded (preflight too)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from bakeoff.core.errors import ConfigError
from bakeoff.core.model import ModelSpec

_OPTIONS = ("n_ctx", "n_threads", "n_batch", "seed", "chat", "repack")
_CHAT_MODES = ("auto", "on", "off")
_DEFAULT_N_BATCH = 512


@dataclass(frozen=True, slots=True)
class LlamaCppOptions:
    n_ctx: int | None  # None: the model's context, at most 4096
    n_threads: int
    n_batch: int
    seed: int
    chat: str
    repack: bool = False


def parse_options(spec: ModelSpec) -> LlamaCppOptions:
    unknown = sorted(set(spec.options) - set(_OPTIONS))
    if unknown:
        raise ConfigError(
            f"llamacpp backend has no option {', '.join(unknown)} (allowed: {', '.join(_OPTIONS)})"
        )
    chat = spec.options.get("chat", "auto")
    if chat not in _CHAT_MODES:
        raise ConfigError(f"llamacpp option chat={chat!r}: use one of {', '.join(_CHAT_MODES)}")
    repack = spec.options.get("repack", "off")
    if repack not in ("on", "off"):
        raise ConfigError(f"llamacpp option repack={repack!r}: use on or off")
    n_ctx = spec.options.get("n_ctx")
    return LlamaCppOptions(
        n_ctx=_int_option("n_ctx", n_ctx, minimum=8) if n_ctx is not None else None,
        n_threads=_int_option("n_threads", spec.options.get("n_threads"), os.cpu_count() or 1),
        n_batch=_int_option("n_batch", spec.options.get("n_batch"), _DEFAULT_N_BATCH, minimum=8),
        seed=_int_option("seed", spec.options.get("seed"), 0, minimum=0),
        chat=chat,
        repack=repack == "on",
    )


def _int_option(name: str, raw: str | None, default: int = 0, minimum: int = 1) -> int:
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise ConfigError(f"llamacpp option {name}={raw!r}: use an integer >= {minimum}")
    return value
