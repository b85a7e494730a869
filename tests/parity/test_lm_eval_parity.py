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

import os
import time
from pathlib import Path
from typing import Any

import pytest
from tests.helpers import SHARED_DATA

pytestmark = [pytest.mark.slow, pytest.mark.model]

N = int(os.environ.get("BAKEOFF_PARITY_N", "100"))
MODEL = os.environ.get("BAKEOFF_PARITY_MODEL", "gemma3-270m")
# LegalBench shots: every train row by default (LegalBench's protocol); fewer is quicker.
LEGAL_SHOTS = os.environ.get("BAKEOFF_PARITY_LEGAL_SHOTS")


@pytest.fixture(scope="module")
def parity(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    pytest.importorskip("lm_eval", reason="lm-evaluation-harness not installed (bakeoff[lmeval])")
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared benchmark data not found at {SHARED_DATA}")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from bench.vs_lm_eval import (
        build_tasks,
        harness_model_on,
        resolve_gguf,
        run_bakeoff,
        run_harness,
    )

    from bakeoff.backends.base import ModelSpec, open_backend
    from bakeoff.core.errors import BakeoffError

    shots = int(LEGAL_SHOTS) if LEGAL_SHOTS else None
    tasks = build_tasks(SHARED_DATA, Path(tmp_path_factory.mktemp("harness")), N, None, shots)
    try:
        folder, file_name = resolve_gguf(MODEL)
    except BakeoffError as exc:
        pytest.skip(f"model {MODEL} not available: {exc}")
    ours = open_backend(ModelSpec.parse(f"hf:{folder}/{file_name}"))
    started = time.perf_counter()
    bakeoff = {t.harness_name: run_bakeoff(ours, t) for t in tasks}
    print(f"\nbakeoff hf: {time.perf_counter() - started:.0f} s", flush=True)
    # The harness's HFLM on the very model object bakeoff loaded: same weights, one load.
    started = time.perf_counter()
    harness = run_harness(harness_model_on(ours, batch_size=4), tasks, N)
    print(f"lm-eval hf: {time.perf_counter() - started:.0f} s", flush=True)
    ours.close()
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
