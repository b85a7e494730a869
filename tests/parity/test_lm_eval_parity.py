"""Proof that bakeoff's `hf` backend + benchmark tasks score like lm-evaluation-harness.

bakeoff's `hf` backend loads the bundled Gemma 3 270M GGUF through transformers (float32); the
harness's HFLM wraps that same model object; both score the same local documents
(../shared/data): LAMBADA, ARC-Easy, MedQA, three MMLU subjects and three LegalBench tasks, the
first BAKEOFF_PARITY_N documents of each (default 100). BAKEOFF_PARITY_MODEL=smollm2-135m for
the smaller bundled model; BAKEOFF_PARITY_LEGAL_SHOTS=K for K LegalBench shots instead of every
train row. Per task: accuracies within 0.5 point and at least 98% of per-sample predictions
identical. The harness side is bench/vs_lm_eval.py's task configs; docs/parity.md has the numbers.
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.helpers import SHARED_DATA

pytestmark = [pytest.mark.slow, pytest.mark.model]

N = int(os.environ.get("BAKEOFF_PARITY_N", "100"))
MODEL = os.environ.get("BAKEOFF_PARITY_MODEL", "gemma3-270m")
# LegalBench shots: every train row by default (LegalBench's protocol); fewer is quicker.
LEGAL_SHOTS = os.environ.get("BAKEOFF_PARITY_LEGAL_SHOTS")


def _skip_without_parity_parts() -> None:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    pytest.importorskip("lm_eval", reason="lm-evaluation-harness not installed (bakeoff[lmeval])")
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared benchmark data not found at {SHARED_DATA}")


@pytest.fixture(scope="module")
def ours() -> Iterator[Any]:
    """bakeoff's `hf` backend on the parity model (loaded once for the module: ~40 s)."""
    _skip_without_parity_parts()
    from bench.vs_lm_eval import resolve_gguf

    from bakeoff.backends.base import open_backend
    from bakeoff.core.errors import BakeoffError
    from bakeoff.core.model import ModelSpec

    try:
        folder, file_name = resolve_gguf(MODEL)
    except BakeoffError as exc:
        pytest.skip(f"model {MODEL} not available: {exc}")
    backend = open_backend(ModelSpec.parse(f"hf:{folder}/{file_name}"))
    yield backend
    backend.close()


@pytest.fixture(scope="module")
def parity(ours: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from bench.vs_lm_eval import build_tasks, harness_model_on, run_bakeoff, run_harness

    shots = int(LEGAL_SHOTS) if LEGAL_SHOTS else None
    tasks = build_tasks(SHARED_DATA, Path(tmp_path_factory.mktemp("harness")), N, None, shots)
    started = time.perf_counter()
    bakeoff = {t.harness_name: run_bakeoff(ours, t) for t in tasks}
    print(f"\nbakeoff hf: {time.perf_counter() - started:.0f} s", flush=True)
    # The harness's HFLM on the very model object bakeoff loaded: same weights, one load.
    started = time.perf_counter()
    harness = run_harness(harness_model_on(ours, batch_size=4), tasks, N)
    print(f"lm-eval hf: {time.perf_counter() - started:.0f} s", flush=True)
    return {"tasks": {t.harness_name: t for t in tasks}, "bakeoff": bakeoff, "harness": harness}


TASKS = [
    "parity_lambada_openai",
    "parity_arc_easy",
    "parity_medqa_4options",
    "parity_mmlu_anatomy",
    "parity_mmlu_high_school_geography",
    "parity_mmlu_marketing",
    "parity_legalbench_hearsay",
    "parity_legalbench_diversity_1",
    "parity_legalbench_abercrombie",
]


@pytest.mark.parametrize("name", TASKS)
def test_accuracy_and_predictions_match_the_harness(parity: dict[str, Any], name: str) -> None:
    from bench.vs_lm_eval import agreement

    ours, ref = parity["bakeoff"][name], parity["harness"][name]
    n = len(parity["tasks"][name].samples)
    assert n == len(ref.predictions) == min(N, n), "both sides must score the same documents"
    print(
        f"{name}: n={n} acc bakeoff {ours.accuracy:.1f} harness {ref.accuracy:.1f} "
        f"same {agreement(ours, ref):.1f}%"
    )
    assert abs(ours.accuracy - ref.accuracy) <= 0.5
    assert agreement(ours, ref) >= 98.0


def test_a_shared_prefix_longer_than_the_sliding_window_changes_no_score(ours: Any) -> None:
    """Gemma 3 attends to the last 512 positions in five layers of six. Documents after a
    ~700-token shared prefix (run once, its keys and values cached) must score as one plain
    forward pass over each whole text scores them, the model's own masks deciding."""
    from bakeoff.core.types import LoglikelihoodRequest, LoglikelihoodResult

    if getattr(ours.config, "text_config", ours.config).model_type != "gemma3_text":
        pytest.skip("the sliding-window case needs Gemma 3")
    shots = "".join(
        f"Case {i}: the tenant paid rent {i} days late; the landlord sent notice {i + 2} "
        f"days later. Was the notice timely? Answer: {'Yes' if i % 2 else 'No'}\n\n"
        for i in range(20)
    )
    requests = [
        LoglikelihoodRequest(f"{shots}Case {q}: the tenant never paid. Answer:", choice)
        for q in ("A", "B", "C")
        for choice in (" Yes", " No", " It depends on the lease")
    ]
    ours._prefix = None
    results = ours.loglikelihood(requests)
    assert ours._prefix is not None
    window = int(getattr(ours.config, "text_config", ours.config).sliding_window)
    assert len(ours._prefix.tokens) > window + 100
    # The KV-cache path (Gemma under flash-attention) must not share it: its sliding window
    # counts cache slots, and left padding between prefix and row would shift it.
    unpacked = copy.copy(ours)
    unpacked.__dict__["packing"] = None
    unpacked._prefix = None
    results_kv = unpacked.loglikelihood(requests)
    assert unpacked._prefix is None
    torch = ours.torch
    for request, result, result_kv in zip(requests, results, results_kv, strict=True):
        assert isinstance(result_kv, LoglikelihoodResult)
        assert isinstance(result, LoglikelihoodResult)
        context, continuation = ours.encode_pair(request.context, request.continuation)
        with torch.inference_mode():
            ids = torch.tensor([(context + continuation)[:-1]])
            logits = ours.model(ids, logits_to_keep=len(continuation)).logits[0].float()
        logprobs = torch.log_softmax(logits, dim=-1).double()
        wanted = torch.tensor(continuation)
        reference = float(logprobs.gather(1, wanted.unsqueeze(1)).sum())
        assert result.logprob == pytest.approx(reference, abs=1e-3)
        assert result_kv.logprob == pytest.approx(reference, abs=1e-3)
        assert result.is_greedy == bool((logprobs.argmax(-1) == wanted).all())
