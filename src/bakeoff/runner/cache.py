"""The request cache: an API response kept under a key of everything that decides it.

Key = sha256 of (backend, base URL, model, the full request body as sent: prompt or messages,
decoding settings, endpoint). Options that only change *how* requests are sent (concurrency,
timeouts, retries, rate limits) are not in the body, so changing them keeps the cache.

A sampled request (temperature > 0) is one draw of a random variable: its key also holds the
run's seed, the task, the sample and the request's position within the sample, so draws are
never shared across seeds, samples or repeated requests; greedy requests are shared freely.

Only successful results are cached; failures are always retried. Nothing secret is in a key or
a cached value (the key lives in the client's headers, never in a body).

Samples whose task marks them ``redact`` (XSTest: prompts that may be harmful) are never cached,
neither looked up nor stored: a cached value is the full completion, and the completion to an
unsafe prompt must not be kept anywhere (the task keeps only a digest of it). Their requests are
sent again by every new run; a rerun of a finished run still sends nothing (finished samples are
skipped before the cache is consulted).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from typing import Any

from bakeoff.core.types import (
    GenerateRequest,
    GenerationResult,
    JSONValue,
    LoglikelihoodResult,
    Request,
    Result,
    RollingLoglikelihoodResult,
    Sample,
    Usage,
)

KEY_VERSION = 1


def withholds_text(sample: Sample) -> bool:
    """Whether the sample's task marks it ``redact``: no completion text of it may be kept."""
    return sample.metadata.get("redact") is True


def request_key(
    fingerprint: dict[str, JSONValue],
    request: Request,
    *,
    run_seed: int,
    task: str,
    sample_id: str,
    position: int,
) -> str:
    payload: dict[str, JSONValue] = {"v": KEY_VERSION, **fingerprint}
    if isinstance(request, GenerateRequest) and not request.settings.greedy:
        payload["draw"] = {
            "run_seed": run_seed,
            "task": task,
            "sample": sample_id,
            "position": position,
        }
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def sample_keys(
    fingerprint: Callable[[Request], dict[str, JSONValue]],
    requests: Sequence[Request],
    *,
    run_seed: int,
    task: str,
    sample_id: str,
) -> list[str]:
    """The keys of one sample's requests (their positions tell repeated draws apart)."""
    return [
        request_key(
            fingerprint(request),
            request,
            run_seed=run_seed,
            task=task,
            sample_id=sample_id,
            position=position,
        )
        for position, request in enumerate(requests)
    ]


def result_to_json(result: Result) -> dict[str, Any]:
    usage = result.usage.as_dict()
    if isinstance(result, LoglikelihoodResult):
        return {
            "kind": "loglikelihood",
            "logprob": result.logprob,
            "is_greedy": result.is_greedy,
            "n_tokens": result.n_tokens,
            "usage": usage,
        }
    if isinstance(result, RollingLoglikelihoodResult):
        return {
            "kind": "loglikelihood_rolling",
            "logprob": result.logprob,
            "n_tokens": result.n_tokens,
            "usage": usage,
        }
    return {
        "kind": "generate",
        "text": result.text,
        "finish_reason": result.finish_reason,
        "usage": usage,
    }


def result_from_json(data: dict[str, Any]) -> Result:
    usage = Usage(**data.get("usage", {}))
    kind = data.get("kind")
    if kind == "loglikelihood":
        return LoglikelihoodResult(
            float(data["logprob"]), bool(data["is_greedy"]), int(data["n_tokens"]), usage
        )
    if kind == "loglikelihood_rolling":
        return RollingLoglikelihoodResult(float(data["logprob"]), int(data["n_tokens"]), usage)
    if kind == "generate":
        return GenerationResult(str(data["text"]), str(data["finish_reason"]), usage)
    raise ValueError(f"unknown cached result kind {kind!r}")
