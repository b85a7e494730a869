"""The hardware section's KV-cache sizes: by hand, and against llama.cpp's own allocation."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from tests.report.report_fixtures import GEMMA, INFO, SMOL

from bakeoff.core.errors import ModelNotFoundError
from bakeoff.core.model import ModelSpec
from bakeoff.core.types import JSONValue
from bakeoff.report.model.hardware import attention, hardware_row

MIB = 2**20


def test_gemma_sliding_window_layers_keep_window_plus_one_batch() -> None:
    info: dict[str, JSONValue] = dict(INFO[GEMMA])
    layout = attention(info)
    assert layout is not None
    # Gemma 3: in every 6 layers, 5 use the window; 18 layers → 15 windowed, 3 full.
    assert (layout.windowed_layers, layout.full_layers, layout.window) == (15, 3, 512)
    row = hardware_row(GEMMA, info)
    per_layer = 2 * 1 * 256 * 2  # K and V × 1 KV head × head dim 256 × f16
    assert row.kv_bytes_per_token == 18 * per_layer
    # Windowed layers hold 512 + 512 (one micro-batch) = 1024 cells, full ones the context.
    assert row.kv_bytes[32768] == per_layer * (3 * 32768 + 15 * 1024)
    assert row.kv_bytes[4096] == per_layer * (3 * 4096 + 15 * 1024)
    assert row.ram_bytes[32768] == INFO[GEMMA]["file_bytes"] + per_layer * (3 * 32768 + 15 * 1024)
    assert row.full_cache_bytes is not None
    assert row.full_cache_bytes[32768] == per_layer * 18 * 32768
    assert "15 of 18 layers" in row.attention


def test_full_attention_and_the_context_window() -> None:
    row = hardware_row(SMOL, INFO[SMOL])
    per_token = 2 * 30 * 3 * 64 * 2  # SmolLM2 stores no head_dim: 576 / 9 heads = 64
    assert row.kv_bytes_per_token == per_token
    assert row.kv_bytes[4096] == per_token * 4096
    assert row.ram_bytes[4096] == INFO[SMOL]["file_bytes"] + per_token * 4096
    assert row.ram_bytes[32768] is None  # beyond its 8,192-token window: not a figure
    assert row.full_cache_bytes is None
    assert "all 30 layers" in row.attention


def test_unknown_sliding_layout_is_an_upper_bound_said_so() -> None:
    info: dict[str, JSONValue] = {**INFO[SMOL], "architecture": "newarch"}
    info["extra"] = {"sliding_window": 1024}
    row = hardware_row("x", info)
    assert row.kv_bytes[4096] == 2 * 30 * 3 * 64 * 2 * 4096  # every layer, whole context
    assert "upper bound" in row.attention
    assert "1,024-token sliding window" in row.attention


# --- against llama.cpp ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BAKEOFF_CACHE_DIR", str(tmp_path_factory.mktemp("bakeoff-cache")))
        yield


@pytest.fixture
def backend(request: pytest.FixtureRequest, isolated_cache: None) -> Iterator[Any]:
    """The llama.cpp backend on a bundled model (its info is what a run stores)."""
    pytest.importorskip("llama_cpp", reason="pip install 'bakeoff[llamacpp]'")
    from bakeoff.backends.llamacpp import LlamaCppBackend
    from bakeoff.backends.models import resolve_model_path

    try:
        resolve_model_path(request.param)
    except ModelNotFoundError as exc:
        pytest.skip(str(exc))
    opened = LlamaCppBackend(ModelSpec.parse(f"llamacpp:{request.param}"))
    yield opened
    opened.close()


def _llama_cpp_kv_bytes(
    backend: Any, n_ctx: int, swa_full: bool, capfd: pytest.CaptureFixture[str]
) -> int:
    """What llama.cpp allocates for the KV cache of a fresh context on the loaded model (read
    from its log)."""
    from llama_cpp import _logger

    ll, model = backend._session.ll, backend._session.model
    params = ll.llama_context_default_params()
    params.n_ctx, params.n_batch, params.n_ubatch, params.n_seq_max = n_ctx, 512, 512, 1
    params.swa_full = swa_full
    capfd.readouterr()
    _logger.set_verbose(True)
    try:
        ctx = ll.llama_init_from_model(model, params)
        ll.llama_free(ctx)
    finally:
        _logger.set_verbose(False)
    log = capfd.readouterr().err
    sizes = re.findall(r"llama_kv_cache: size =\s+([\d.]+) MiB", log)
    assert sizes, log[-2000:]
    return round(sum(float(size) for size in sizes) * MIB)


@pytest.mark.parametrize("backend", ["gemma3-270m"], indirect=True)
def test_gemma_kv_cache_matches_llama_cpp(backend: Any, capfd: pytest.CaptureFixture[str]) -> None:
    row = hardware_row(GEMMA, backend.info().as_dict())
    assert row.full_cache_bytes is not None
    for n_ctx in (4096, 32768):
        assert _llama_cpp_kv_bytes(backend, n_ctx, False, capfd) == row.kv_bytes[n_ctx], n_ctx
        full = _llama_cpp_kv_bytes(backend, n_ctx, True, capfd)
        assert full == row.full_cache_bytes[n_ctx], n_ctx


@pytest.mark.parametrize("backend", ["smollm2-135m"], indirect=True)
def test_smollm_kv_cache_matches_llama_cpp(backend: Any, capfd: pytest.CaptureFixture[str]) -> None:
    row = hardware_row(SMOL, backend.info().as_dict())
    assert _llama_cpp_kv_bytes(backend, 4096, False, capfd) == row.kv_bytes[4096]
    assert _llama_cpp_kv_bytes(backend, 8192, False, capfd) == row.kv_bytes_per_token * 8192
