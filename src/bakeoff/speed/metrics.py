"""Metric math on per-request records: TTFT, ITL, TPOT, E2E, throughputs and goodput.

Definitions (docs/speed.md has the long form and where they come from):

* queue   = t_sent − t_scheduled: time the request waited in the client for a concurrency slot.
* TTFT    = t_first_chunk − t_scheduled (queue included, as a user sees it);
  server TTFT = t_first_chunk − t_sent (queue excluded) is reported next to it.
* engine queue = time a request waited inside the engine before its prompt was processed, where
  the engine says (in-process llama.cpp serves one request at a time); NaN otherwise.
* E2E     = t_end − t_scheduled (queue included).
* ITL     = gaps between consecutive text chunks after the first; a gap that delivered k tokens
  counts as k inter-token latencies of gap/k, so multi-token chunks do not inflate the figure.
* TPOT    = (t_end − t_first_chunk) / (output_tokens − 1) — vLLM's TPOT, GenAI-Perf's ITL.
* output tok/s per request = output_tokens / E2E (LLMPerf); aggregate output tok/s and
  requests/s divide totals by the measured window (first arrival → last completion).
* goodput = requests/s that met every SLO bound (failed requests and requests that produced no
  token never do).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from bakeoff.core.errors import ConfigError
from bakeoff.core.speed_records import SpeedRecord
from bakeoff.stats.latency import LatencySummary, summarize_latencies

SLO_KEYS = ("ttft", "itl", "tpot", "e2e")
_DURATION_RE = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(ms|s|us)?\s*$")
_UNIT = {"ms": 1e-3, "s": 1.0, "us": 1e-6, None: 1e-3}


@dataclass(frozen=True, slots=True)
class RequestMetrics:
    """Derived figures of one successful request (seconds; NaN where undefined)."""

    queue: float
    ttft: float
    server_ttft: float
    engine_queue: float
    e2e: float
    tpot: float
    itls: tuple[float, ...]
    output_tps: float
    prompt_tps: float
    generation_tps: float
    prompt_tokens: int
    output_tokens: int
    ttfat: float = math.nan
    """Time to the first answer token (after any thinking); = ttft for a model that did not
    think first."""
    itls_answer: tuple[float, ...] = ()
    itls_reasoning: tuple[float, ...] = ()
    """The inter-token latencies while answering and while thinking (the gap between the last
    thinking chunk and the first answer chunk belongs to neither)."""

    @property
    def mean_itl(self) -> float:
        return sum(self.itls) / len(self.itls) if self.itls else math.nan


def request_metrics(record: SpeedRecord) -> RequestMetrics:
    """Figures of one ok record; raises ValueError for a failed one (callers filter first)."""
    if record.status != "ok" or record.t_sent is None or record.t_end is None:
        raise ValueError("metrics are defined for successful requests only")
    nan = math.nan
    n_out = record.output_tokens
    first = record.chunk_times[0] if record.chunk_times else nan
    e2e = record.t_end - record.t_scheduled
    server_ttft = first - record.t_sent
    decode = record.t_end - first
    tpot = decode / (n_out - 1) if n_out > 1 else nan
    wait_ms = record.server.get("engine_wait_ms")
    engine_queue = float(wait_ms) / 1000 if isinstance(wait_ms, int | float) else nan
    # Prompt processing starts when the engine takes the request up, where it says when.
    prompt_time = server_ttft - (engine_queue if math.isfinite(engine_queue) else 0.0)
    thinking = reasoning_chunks(record)
    times, tokens = record.chunk_times, record.chunk_tokens
    return RequestMetrics(
        queue=record.t_sent - record.t_scheduled,
        ttft=first - record.t_scheduled,
        server_ttft=server_ttft,
        engine_queue=engine_queue,
        e2e=e2e,
        tpot=tpot,
        itls=inter_token_latencies(record.chunk_times, record.chunk_tokens),
        output_tps=_ratio(n_out, e2e),
        prompt_tps=_ratio(record.prompt_tokens, prompt_time),
        generation_tps=_ratio(n_out - 1, decode) if n_out > 1 else nan,
        prompt_tokens=record.prompt_tokens,
        output_tokens=n_out,
        ttfat=times[thinking] - record.t_scheduled if thinking < len(times) else nan,
        itls_answer=inter_token_latencies(times[thinking:], tokens[thinking:]),
        itls_reasoning=inter_token_latencies(times[:thinking], tokens[:thinking]),
    )


def reasoning_chunks(record: SpeedRecord) -> int:
    """How many of the record's chunks came before the answer (0: it did not think first)."""
    value = record.server.get("reasoning_chunks")
    return int(value) if isinstance(value, int) and value > 0 else 0


def inter_token_latencies(times: Sequence[float], tokens: Sequence[int]) -> tuple[float, ...]:
    """Gaps between chunks after the first, each split evenly over the tokens it delivered.

    The first chunk is excluded: its latency is TTFT. ``tokens[i]`` below 1 counts as 1 (a chunk
    with text carries at least part of a token).
    """
    out: list[float] = []
    for i in range(1, len(times)):
        k = max(tokens[i] if i < len(tokens) else 1, 1)
        out.extend([(times[i] - times[i - 1]) / k] * k)
    return tuple(out)


def _ratio(numerator: float, seconds: float) -> float:
    if not math.isfinite(seconds) or seconds <= 0:
        return math.nan
    return numerator / seconds


def parse_slo(text: str | None) -> dict[str, float]:
    """``ttft=500ms,itl=50ms`` → ``{"ttft": 0.5, "itl": 0.05}`` (seconds; bare numbers are ms)."""
    if not text:
        return {}
    slo: dict[str, float] = {}
    for item in text.split(","):
        key, eq, value = item.partition("=")
        key = key.strip().lower()
        match = _DURATION_RE.match(value)
        if not eq or key not in SLO_KEYS or match is None:
            raise ConfigError(
                f"bad SLO item '{item.strip()}': expected one of {', '.join(SLO_KEYS)} "
                "= a duration such as 500ms or 2s"
            )
        slo[key] = float(match.group(1)) * _UNIT[match.group(2)]
    return slo


def meets_slo(metrics: RequestMetrics, slo: Mapping[str, float]) -> bool:
    """Whether one request met every bound; ``itl`` is checked on the request's mean ITL.

    A bound on a figure the request cannot have (ITL of a one-token answer) is met vacuously.
    A request that produced no token (no chunk, so TTFT is NaN) meets no SLO: its NaN TTFT is
    not a fast first token, and a request with no output is not good output whatever its E2E.
    """
    if slo and math.isnan(metrics.ttft):
        return False
    values = {
        "ttft": metrics.ttft,
        "itl": metrics.mean_itl,
        "tpot": metrics.tpot,
        "e2e": metrics.e2e,
    }
    return all(math.isnan(values[k]) or values[k] <= bound for k, bound in slo.items())


@dataclass(slots=True)
class ScenarioSummary:
    """Aggregate of the measured (non-warm-up) requests of one model × scenario."""

    n_ok: int
    n_failed: int
    window: float
    requests_per_s: float
    output_tps: float
    goodput: float | None
    output_tokens: int
    latency: dict[str, LatencySummary] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)


REASONING_FIELDS = ("ttfat", "itl_answer", "itl_reasoning")
"""Figures a scenario gets only when some request thought before answering (time to first
answer token; inter-token latency answering and thinking): others keep their summaries as is."""
LATENCY_FIELDS = (
    "ttft",
    "server_ttft",
    "queue",
    "engine_queue",
    "itl",
    "tpot",
    "e2e",
    "output_tps",
    "prompt_tps",
    "generation_tps",
)


def summarize(records: Iterable[SpeedRecord], slo: Mapping[str, float]) -> ScenarioSummary:
    """Summaries of the measured requests; warm-up ones are dropped, failures counted apart."""
    measured = [r for r in records if not r.warmup]
    ok = [r for r in measured if r.status == "ok"]
    failed = [r for r in measured if r.status != "ok"]
    per = [request_metrics(r) for r in ok]
    window = _window(measured)
    errors: dict[str, int] = {}
    for record in failed:
        errors[record.error or "unknown"] = errors.get(record.error or "unknown", 0) + 1
    fields: tuple[str, ...] = LATENCY_FIELDS
    if any(reasoning_chunks(r) for r in ok):
        fields = (*fields, *REASONING_FIELDS)
    latency = {name: summarize_latencies(_column(per, name), failed=0) for name in fields}
    n_good = sum(meets_slo(m, slo) for m in per)
    return ScenarioSummary(
        n_ok=len(ok),
        n_failed=len(failed),
        window=window,
        requests_per_s=_ratio(len(ok), window),
        output_tps=_ratio(sum(m.output_tokens for m in per), window),
        goodput=_ratio(n_good, window) if slo else None,
        output_tokens=sum(m.output_tokens for m in per),
        latency=latency,
        errors=errors,
    )


def _column(per: Sequence[RequestMetrics], name: str) -> list[float]:
    if name == "itl":
        return [v for m in per for v in m.itls]  # pooled over every token, like vLLM
    if name in ("itl_answer", "itl_reasoning"):
        return [v for m in per for v in getattr(m, name.replace("itl", "itls"))]
    return [float(getattr(m, name)) for m in per]


def _window(records: Sequence[SpeedRecord]) -> float:
    """First scheduled arrival → last completion among the measured requests."""
    ends = [r.t_end for r in records if r.t_end is not None]
    if not records or not ends:
        return math.nan
    return max(ends) - min(r.t_scheduled for r in records)
