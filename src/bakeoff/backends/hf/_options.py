"""The ``hf:`` spec: its options, and where the weights are (folder, GGUF file or hub id)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bakeoff.backends import models
from bakeoff.core.errors import ConfigError, ModelNotFoundError
from bakeoff.core.model import ModelSpec

_DTYPES = ("float32", "bfloat16", "float16")
_OPTIONS = {"gguf_file", "dtype", "device", "batch_size", "max_length", "threads"}


@dataclass(frozen=True, slots=True)
class HFOptions:
    """Parsed ``hf:`` spec: where the weights are and how to run them."""

    pretrained: str
    gguf_file: str | None
    dtype: str
    device: str
    batch_size: int | None  # None = auto
    max_length: int | None
    threads: int | None = None  # None = torch's default


def parse_options(spec: ModelSpec) -> HFOptions:
    unknown = sorted(set(spec.options) - _OPTIONS)
    if unknown:
        allowed = ", ".join(sorted(_OPTIONS))
        raise ConfigError(f"hf backend has no option {', '.join(unknown)} (allowed: {allowed})")
    dtype = spec.options.get("dtype", "float32")
    if dtype not in _DTYPES:
        raise ConfigError(f"hf option dtype={dtype!r}: use one of {', '.join(_DTYPES)}")
    device = spec.options.get("device", "auto")
    if device not in ("auto", "cpu", "cuda") and not device.startswith("cuda:"):
        raise ConfigError(f"hf option device={device!r}: use auto, cpu, cuda or cuda:N")
    pretrained, gguf_file = resolve_target(spec.target, spec.options.get("gguf_file"))
    return HFOptions(
        pretrained=pretrained,
        gguf_file=gguf_file,
        dtype=dtype,
        device=device,
        batch_size=_positive_or_auto(spec.options.get("batch_size", "auto"), "batch_size"),
        max_length=_positive_or_auto(spec.options.get("max_length", "auto"), "max_length"),
        threads=_positive_or_auto(spec.options.get("threads", "auto"), "threads"),
    )


def _positive_or_auto(raw: str, name: str) -> int | None:
    if raw == "auto":
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"hf option {name}={raw!r}: use auto or a positive integer")
    return int(raw)


def resolve_target(target: str, gguf_file: str | None) -> tuple[str, str | None]:
    """(directory or hub id, GGUF file name in it) for a target and an optional ``gguf_file``."""
    if target in models.list_aliases():  # the bundled GGUF files, shared with llama.cpp
        path = models.resolve_model_path(target)
        return str(path.parent), path.name
    path = Path(target).expanduser()
    if path.is_file():
        if gguf_file is not None:
            raise ConfigError(f"hf target {target} is a file: drop gguf_file or give its folder")
        if path.suffix.lower() != ".gguf":
            raise ConfigError(f"hf target {target} is a file but not .gguf: give a model folder")
        return str(path.resolve().parent), path.name
    if path.is_dir():
        if gguf_file is not None and not (path / gguf_file).is_file():
            raise ModelNotFoundError(f"GGUF file {gguf_file} not found in {path}")
        return str(path.resolve()), gguf_file
    if target.startswith((".", "/", "~")) or target.lower().endswith(".gguf"):
        raise ModelNotFoundError(f"model not found: {target}")
    return target, gguf_file  # a hub id; loading it needs the network or the hub cache
