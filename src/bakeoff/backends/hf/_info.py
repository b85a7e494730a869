"""Model facts that transformers' config leaves out or hides: active parameters, the
license (GGUF metadata or the model card), the weights' digest."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any


def active_parameters(config: Any, parameters: int) -> int | None:
    """Parameters used per token: all of them for a dense model. For a mixture of experts None
    (shown as "unknown"), as the llamacpp backend does: the routed share depends on how each
    architecture names and sizes its expert and shared layers, and a wrong guess is worse."""
    experts = int_attr(config, "num_local_experts", "num_experts", "n_routed_experts")
    return parameters if experts is None or experts <= 1 else None


def gguf_license(path: Path) -> str | None:
    """The GGUF metadata key ``general.license`` (transformers drops it when dequantizing)."""
    try:
        import gguf

        field = gguf.GGUFReader(path).fields.get("general.license")
        value = field.contents() if field is not None else None
    except (ImportError, OSError, ValueError):
        return None
    return (value.strip() or None) if isinstance(value, str) else None


def readme_license(folder: str) -> str | None:
    """``license:`` from the YAML front matter of a model folder's README.md (a Hugging Face
    model card), a scalar or the first item of a list; None without a local card."""
    try:
        text = (Path(folder) / "README.md").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return None
    front = []
    for line in lines[1:]:
        if line.strip() == "---":
            break
        front.append(line)
    for index, line in enumerate(front):
        if not line.startswith("license:"):
            continue
        value = line.partition(":")[2].strip()
        if not value and index + 1 < len(front):
            value = front[index + 1].strip().removeprefix("- ").strip()
        return value.strip("'\"") or None
    return None


def int_attr(config: Any, *names: str) -> int | None:
    for name in names:
        value = getattr(config, name, None)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
