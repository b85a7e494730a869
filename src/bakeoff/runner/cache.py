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
    RequestFailure,
    Result,
    RollingLoglikelihoodResult,
    Sample,
    TokenizeResult,
    Usage,
    result_to_dict,
)
from bakeoff.storage.base import CacheEntry

KEY_VERSION = 1


def withholds_text(sample: Sample) -> bool:
    """Whether the sample's task marks it ``redact``: no completion text of it may be kept."""
    return sample.metadata.get("redact") is True


def stored_output(result: Result, *, withhold: bool) -> dict[str, JSONValue]:
    """A result as stored next to its sample; for a sample whose text must not be kept, a
    completion is replaced by its length and a sha256 prefix (what the task's details keep for
    an unsafe prompt's completion; a task that may keep the text does so in its details)."""
    output = result_to_dict(result)
    text = output.get("text")
    if withhold and isinstance(text, str):
        output["text"] = None
        output["text_sha256"] = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
        output["text_chars"] = len(text)
    return output


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


def entries(
    backend: str,
    model: str,
    requests: Sequence[Request],
    keys: Sequence[str | None],
    outcomes: Sequence[Result | RequestFailure | None],
    sent: Sequence[int],
) -> list[CacheEntry]:
    """What to keep of the requests at positions ``sent``: each success that has a key."""
    kept = []
    for index in sent:
        key, result = keys[index], outcomes[index]
        if key is None or result is None or isinstance(result, RequestFailure):
            continue
        kind = requests[index].kind.value
        kept.append(CacheEntry(key, backend, model, kind, result_to_json(result)))
    return kept


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
    if isinstance(result, TokenizeResult):
        ids = None if result.token_ids is None else list(result.token_ids)
        return {"kind": "tokenize", "n_tokens": result.n_tokens, "token_ids": ids, "usage": usage}
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
    if kind == "tokenize":
        ids = data.get("token_ids")
        token_ids = None if ids is None else tuple(int(i) for i in ids)
        return TokenizeResult(int(data["n_tokens"]), token_ids, usage)
    raise ValueError(f"unknown cached result kind {kind!r}")
