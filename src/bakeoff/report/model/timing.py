"""What the run's own timings say: prompt and generation rates per model, and per-sample latency
compared by a paired t-test."""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
from scipy.stats import ttest_1samp

from bakeoff.core.records import ResultRecord
from bakeoff.report.model.cost import decode_tokens
from bakeoff.report.model.view import ALPHA, NO_DIFFERENCE, LatencyComparison, SpeedSummary
from bakeoff.stats import PairedComparison, holm, mean_interval, rate


def speed_summary(model: str, results: Sequence[ResultRecord]) -> SpeedSummary:
    """Prompt-processing and generation rates from the timings stored with every sample."""
    mine = [r for r in results if r.model == model and r.status == "ok"]
    timed_prompt = [r for r in mine if r.prompt_seconds]
    timed_output = [r for r in mine if r.output_seconds and decode_tokens(r)]
    prompt_tokens = sum(r.prompt_tokens for r in timed_prompt)
    prompt_seconds = sum(r.prompt_seconds or 0.0 for r in timed_prompt)
    output_tokens = sum(decode_tokens(r) for r in timed_output)
    output_seconds = sum(r.output_seconds or 0.0 for r in timed_output)
    return SpeedSummary(
        model=model,
        prompt_tokens=prompt_tokens,
        prompt_seconds=prompt_seconds,
        prompt_tokens_per_second=rate(prompt_tokens, prompt_seconds),
        output_tokens=output_tokens,
        output_seconds=output_seconds,
        output_tokens_per_second=rate(output_tokens, output_seconds),
        output_tokens_estimated=any(r.output_tokens_estimated for r in timed_output),
        first_token_seconds=_median_first_token(mine),
    )


def _median_first_token(records: Sequence[ResultRecord]) -> float | None:
    """Median seconds to the first token per request: a sample's prompt time is that of all its
    requests (a conversation's turns), so it is shared among them."""
    times = [
        r.prompt_seconds / max(len(r.outputs), 1)
        for r in records
        if r.prompt_seconds is not None and r.output_tokens > 0
    ]
    return float(np.median(times)) if times else None


def sample_seconds(records: Iterable[ResultRecord]) -> dict[tuple[str, str], float]:
    """(task, sample) → seconds the model spent on it, for finished samples with timings."""
    return {
        (r.task, r.sample_id): (r.prompt_seconds or 0.0) + (r.output_seconds or 0.0)
        for r in records
        if r.status == "ok" and (r.prompt_seconds is not None or r.output_seconds is not None)
    }


def compare_latency(
    model_a: str,
    model_b: str,
    seconds_a: Mapping[tuple[str, str], float],
    seconds_b: Mapping[tuple[str, str], float],
) -> LatencyComparison | None:
    """Paired t-test on the samples both models were timed on; None with fewer than two.
    (No bootstrap: P(A faster) is not reported, and at 100,000 samples it would cost seconds.)
    """
    shared = sorted(set(seconds_a) & set(seconds_b))
    if len(shared) < 2:
        return None
    a = np.asarray([seconds_a[k] for k in shared], dtype=np.float64)
    b = np.asarray([seconds_b[k] for k in shared], dtype=np.float64)
    differences = a - b
    paired = PairedComparison(
        difference=float(differences.mean()),
        interval=mean_interval(differences),
        p_value=_paired_t_p(differences),
        test="paired t",
        prob_a_better=math.nan,
        n=len(shared),
    )
    return LatencyComparison(
        model_a, model_b, len(shared), float(a.mean()), float(b.mean()), paired
    )


def _paired_t_p(differences: np.ndarray) -> float:
    """Two-sided paired t p-value (scipy's ttest_rel); no spread (to rounding): 1 if there is no
    difference, else 0 (the limit of the t statistic going to infinity)."""
    mean = float(differences.mean())
    if float(np.ptp(differences)) <= 1e-12 * max(1.0, abs(mean)):
        return 1.0 if abs(mean) <= 1e-12 else 0.0
    return float(ttest_1samp(differences, 0.0).pvalue)


def latency_comparisons(
    models: Sequence[str], results: Sequence[ResultRecord]
) -> tuple[LatencyComparison, ...]:
    seconds = {m: sample_seconds(r for r in results if r.model == m) for m in models}
    found = [
        c
        for a, b in itertools.combinations(models, 2)
        if (c := compare_latency(a, b, seconds[a], seconds[b])) is not None
    ]
    adjusted = holm([c.paired.p_value for c in found])
    out = []
    for c, p in zip(found, adjusted, strict=True):
        faster = c.model_a if c.paired.difference < 0 else c.model_b
        verdict = f"{faster} faster" if p < ALPHA and c.paired.difference != 0 else NO_DIFFERENCE
        out.append(dataclasses.replace(c, p_adjusted=p, verdict=verdict))
    return tuple(out)
