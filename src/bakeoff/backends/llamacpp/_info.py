"""The model's card from its GGUF metadata: architecture, sizes, quantization, license."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from bakeoff.backends import models
from bakeoff.backends.llamacpp._options import LlamaCppOptions
from bakeoff.backends.llamacpp._session import LlamaSession
from bakeoff.core.model import ModelInfo


def model_info(
    backend: str,
    session: LlamaSession,
    path: Path,
    options: LlamaCppOptions,
    *,
    has_chat_template: bool,
    uses_chat_template: bool,
) -> ModelInfo:
    """What the GGUF metadata and the loaded context say about the model."""
    s = session
    meta = s.metadata
    arch = meta.get("general.architecture")

    def number(key: str) -> int | None:
        return _to_int(meta.get(f"{arch}.{key}")) if arch else None

    n_heads, n_layers, n_embd = (
        number("attention.head_count"),
        number("block_count"),
        number("embedding_length"),
    )
    experts = number("expert_count")
    parameters = int(s.ll.llama_model_n_params(s.model))
    return ModelInfo(
        name=meta.get("general.name") or path.stem,
        backend=backend,
        source=str(path),
        sha256=models.file_sha256(path),
        file_bytes=path.stat().st_size,
        quantization=quantization_name(_to_int(meta.get("general.file_type"))),
        architecture=arch,
        parameters=parameters,
        active_parameters=parameters if not experts or experts <= 1 else None,
        n_layers=n_layers,
        n_heads=n_heads,
        n_kv_heads=number("attention.head_count_kv"),
        embedding_length=n_embd,
        head_dim=number("attention.key_length") or _ratio(n_embd, n_heads),
        context_length=number("context_length") or s.n_ctx_train,
        vocab_size=s.n_vocab,
        expert_count=experts,
        expert_used_count=number("expert_used_count"),
        has_chat_template=has_chat_template,
        license=meta.get("general.license"),
        extra={
            "n_ctx": s.n_ctx,
            "n_threads": options.n_threads,
            "n_batch": s.n_batch,
            "chat_format": "template" if uses_chat_template else "transcript",
            "adds_bos": bool(s.ll.llama_vocab_get_add_bos(s.vocab)),
            "size_label": meta.get("general.size_label"),
            "sliding_window": number("attention.sliding_window"),
        },
    )


def _to_int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _ratio(a: int | None, b: int | None) -> int | None:
    return a // b if a and b else None


def quantization_name(file_type: int | None) -> str | None:
    """llama.cpp's LLAMA_FTYPE number (``general.file_type``) as a name, e.g. 15 -> Q4_K_M."""
    if file_type is None:
        return None
    return _FILE_TYPES.get(file_type, f"ftype {file_type}")


# fmt: off
_FILE_TYPES: Mapping[int, str] = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K",
    11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S",
    17: "Q5_K_M", 18: "Q6_K", 19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS",
    23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S",
    29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16", 36: "TQ1_0", 37: "TQ2_0",
    38: "MXFP4_MOE",
}
# fmt: on
