"""The view model of the guide's "Reasoning" section: what thinking cost each model, and whether
it paid off in accuracy.

Built from the stored results (``ResultRecord.reasoning_tokens``, ``first_answer_seconds``) and
the model info's prices. A run in which no answer spent a reasoning token gets ``None``, and the
section renders nothing: every other guide is unchanged. Per model, over its finished results:

* reasoning tokens per answer (mean and median over the answers whose count is known; answers
  whose server reported none and no tokenizer counted are left out and counted apart);
* the share of its output tokens that were reasoning, and of its cost: reasoning tokens at the
  output price over what the answers cost (prompt at the input price, cached input at the
  cache-read price, output at the output price), where an API price is known;
* time to the first token and to the first answer token (medians; the gap is the thinking);
* accuracy against reasoning tokens: the answers scored right or wrong, in bands of reasoning
  tokens (none, 1-99, 100-999, 1,000-9,999, 10,000 and more), each with its n.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bakeoff.core.records import ResultRecord
from bakeoff.core.types import JSONValue

BANDS: tuple[tuple[int, int | None], ...] = (
    (0, 0),
    (1, 99),
    (100, 999),
    (1_000, 9_999),
    (10_000, None),
)
"""Reasoning-token bands for accuracy (inclusive bounds; None: no upper bound)."""


@dataclass(frozen=True, slots=True)
class AccuracyBand:
    low: int
    high: int | None
    n: int
    correct: int

    @property
    def label(self) -> str:
        if self.high == self.low:
            return f"{self.low:,}"
        return f"{self.low:,}+" if self.high is None else f"{self.low:,}-{self.high:,}"

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.n if self.n else None


@dataclass(frozen=True, slots=True)
class ReasoningRow:
    model: str
    setting: str
    """The spec's reasoning settings (``reasoning_effort``, ``thinking_budget``), or ""."""
    answers: int
    """Finished results whose reasoning tokens are known."""
    unknown: int
    """Finished results whose server did not report reasoning tokens (left out of the means)."""
    reasoning_tokens: int
    output_tokens: int
    mean_per_answer: float | None
    median_per_answer: float | None
    output_share: float | None
    """Reasoning tokens / output tokens of the answers with a known count."""
    cost_share: float | None
    """Reasoning's part of what those answers cost; None without an API price."""
    reasoning_usd: float | None
    first_token_seconds: float | None
    first_answer_seconds: float | None
    bands: tuple[AccuracyBand, ...]


@dataclass(frozen=True, slots=True)
class ReasoningSection:
    rows: tuple[ReasoningRow, ...]


def reasoning_section(
    models: Sequence[str],
    info: Mapping[str, Mapping[str, JSONValue]],
    results: Sequence[ResultRecord],
) -> ReasoningSection | None:
    """The section's figures; None when no answer of the run spent a reasoning token."""
    if not any(r.reasoning_tokens for r in results if r.status == "ok"):
        return None
    rows = []
    for model in models:
        mine = [r for r in results if r.model == model and r.status == "ok"]
        rows.append(_row(model, info.get(model, {}), mine))
    return ReasoningSection(tuple(rows))


def _row(model: str, info: Mapping[str, JSONValue], mine: Sequence[ResultRecord]) -> ReasoningRow:
    known = [r for r in mine if r.reasoning_tokens is not None]
    counts = [r.reasoning_tokens or 0 for r in known]
    reasoning = sum(counts)
    output = sum(r.output_tokens for r in known)
    prices = _prices(info)
    total_usd = reasoning_usd = None
    if prices is not None and known:
        price_in, price_out, cache_read = prices
        total_usd = sum(_cost(r, price_in, price_out, cache_read) for r in known)
        reasoning_usd = reasoning * price_out / 1e6
    return ReasoningRow(
        model=model,
        setting=_setting(info),
        answers=len(known),
        unknown=len(mine) - len(known),
        reasoning_tokens=reasoning,
        output_tokens=output,
        mean_per_answer=statistics.fmean(counts) if counts else None,
        median_per_answer=float(statistics.median(counts)) if counts else None,
        output_share=reasoning / output if output else None,
        cost_share=reasoning_usd / total_usd if reasoning_usd is not None and total_usd else None,
        reasoning_usd=reasoning_usd,
        first_token_seconds=_median([r.prompt_seconds for r in mine]),
        first_answer_seconds=_median([r.first_answer_seconds for r in mine]),
        bands=_bands(known),
    )


def _bands(known: Sequence[ResultRecord]) -> tuple[AccuracyBand, ...]:
    scored = [(r.reasoning_tokens or 0, bool(r.correct)) for r in known if r.correct is not None]
    out = []
    for low, high in BANDS:
        inside = [ok for tokens, ok in scored if tokens >= low and (high is None or tokens <= high)]
        if inside:
            out.append(AccuracyBand(low, high, len(inside), sum(inside)))
    return tuple(out)


def _cost(r: ResultRecord, price_in: float, price_out: float, cache_read: float) -> float:
    cached = min(r.cached_prompt_tokens, r.prompt_tokens)
    prompt = (r.prompt_tokens - cached) * price_in + cached * cache_read
    return (prompt + r.output_tokens * price_out) / 1e6


def _prices(info: Mapping[str, JSONValue]) -> tuple[float, float, float] | None:
    """(input, output, cache read) per 1M tokens from the model info; None without an API
    price (a local model costs time, not tokens: its share of cost is not a token share)."""
    extra = info.get("extra")
    found: dict[str, float] = {}
    for key in ("price_input_per_1m", "price_output_per_1m", "price_cache_read_per_1m"):
        for source in (info, extra if isinstance(extra, dict) else {}):
            value = source.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
                found[key] = float(value)
                break
    if "price_input_per_1m" not in found or "price_output_per_1m" not in found:
        return None
    price_in = found["price_input_per_1m"]
    return price_in, found["price_output_per_1m"], found.get("price_cache_read_per_1m", price_in)


def _setting(info: Mapping[str, JSONValue]) -> str:
    extra = info.get("extra")
    if not isinstance(extra, dict):
        return ""
    parts = [
        f"{key}={extra[key]}" for key in ("reasoning_effort", "thinking_budget") if key in extra
    ]
    return ", ".join(parts)


def _median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return float(statistics.median(present)) if present else None
