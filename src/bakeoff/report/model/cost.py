"""Cost from measured time: compute-seconds per 1M tokens, and dollars with an hourly price.

Self-hosting cost = hardware price per hour × the time the run measured, so it holds for this
machine running one request at a time (batching serves many requests at once and costs less per
token; the speed lab measures that). API models priced per token (``price_input_per_1m`` and
``price_output_per_1m`` in the model info) are costed from the tokens they used instead.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bakeoff.core.records import ResultRecord
from bakeoff.core.types import JSONValue


@dataclass(frozen=True, slots=True)
class TaskCost:
    task: str
    seconds: float
    tokens: int
    correct: int
    usd: float | None
    output_tokens_estimated: bool = False
    """Some generated tokens are counts of stream chunks (see CostRow)."""

    @property
    def usd_per_correct(self) -> float | None:
        return self.usd / self.correct if self.usd is not None and self.correct else None


@dataclass(frozen=True, slots=True)
class PhaseCost:
    """Prompt processing or generation: tokens, the seconds they took, and their price."""

    tokens: int
    seconds: float
    usd_per_1m: float | None

    @property
    def seconds_per_1m(self) -> float | None:
        return self.seconds / self.tokens * 1e6 if self.tokens and self.seconds > 0 else None


@dataclass(frozen=True, slots=True)
class CostRow:
    model: str
    tokens: int
    seconds: float
    seconds_per_1m_tokens: float | None
    usd_per_1m_tokens: float | None
    """Blended over this run's mix of prompt and generated tokens."""
    basis: str
    """"hardware price" (self-hosting, from --price-per-hour), "API price", or "time only"."""
    tasks: tuple[TaskCost, ...]
    prompt: PhaseCost | None = None
    output: PhaseCost | None = None
    output_tokens_estimated: bool = False
    """Some generated tokens are counts of stream chunks (the server reported none and no
    tokenizer counted them): the generated-token count, every figure per token and an API
    price's dollars are estimates, marked in the guide."""


def _price(info: Mapping[str, JSONValue], key: str) -> float | None:
    extra = info.get("extra")
    for source in (info, extra if isinstance(extra, dict) else {}):
        value = source.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
            return float(value)
    return None


def cost_row(
    model: str,
    info: Mapping[str, JSONValue],
    results: Sequence[ResultRecord],
    price_per_hour: float | None,
    task_order: Sequence[str] = (),
) -> CostRow:
    mine = [r for r in results if r.model == model and r.status == "ok"]
    order = {name: index for index, name in enumerate(task_order)}
    price_in, price_out = _price(info, "price_input_per_1m"), _price(info, "price_output_per_1m")
    per_task: dict[str, list[ResultRecord]] = defaultdict(list)
    for record in mine:
        per_task[record.task].append(record)
    basis = (
        "API price"
        if price_in is not None and price_out is not None
        else "hardware price"
        if price_per_hour is not None
        else "time only"
    )

    def usd(records: Sequence[ResultRecord], seconds: float) -> float | None:
        if basis == "API price":
            tokens_in = sum(r.prompt_tokens for r in records)
            tokens_out = sum(r.output_tokens for r in records)
            return (tokens_in * (price_in or 0.0) + tokens_out * (price_out or 0.0)) / 1e6
        if basis == "hardware price":
            return seconds / 3600.0 * (price_per_hour or 0.0)
        return None

    tasks = []
    for task, records in sorted(per_task.items(), key=lambda item: order.get(item[0], 0)):
        seconds = _seconds(records)
        tasks.append(
            TaskCost(
                task,
                seconds,
                _tokens(records),
                sum(1 for r in records if r.correct),
                usd(records, seconds),
                _estimated(records),
            )
        )
    tokens, seconds = _tokens(mine), _seconds(mine)
    total_usd = usd(mine, seconds)
    return CostRow(
        model=model,
        tokens=tokens,
        seconds=seconds,
        seconds_per_1m_tokens=seconds / tokens * 1e6 if tokens and seconds > 0 else None,
        usd_per_1m_tokens=total_usd / tokens * 1e6 if tokens and total_usd is not None else None,
        basis=basis,
        tasks=tuple(tasks),
        prompt=_phase(mine, "prompt", basis, price_in, price_per_hour),
        output=_phase(mine, "output", basis, price_out, price_per_hour),
        output_tokens_estimated=_estimated(mine),
    )


def decode_tokens(record: ResultRecord) -> int:
    """Tokens generated in ``output_seconds``: when the backend timed the first token apart
    (``prompt_seconds`` set, it ends at the first token), the ones after it; else all of them."""
    if record.prompt_seconds is None:
        return record.output_tokens
    return max(record.output_tokens - 1, 0)


def _phase(
    records: Sequence[ResultRecord],
    phase: str,
    basis: str,
    api_price: float | None,
    price_per_hour: float | None,
) -> PhaseCost:
    if phase == "prompt":
        timed = [r for r in records if r.prompt_seconds]
        tokens = sum(r.prompt_tokens for r in timed)
        seconds = sum(r.prompt_seconds or 0.0 for r in timed)
    else:
        timed = [r for r in records if r.output_seconds and decode_tokens(r)]
        tokens = sum(decode_tokens(r) for r in timed)
        seconds = sum(r.output_seconds or 0.0 for r in timed)
    usd = None
    if basis == "API price":
        usd = api_price
    elif basis == "hardware price" and tokens and seconds > 0:
        usd = seconds / tokens * 1e6 / 3600.0 * (price_per_hour or 0.0)
    return PhaseCost(tokens, seconds, usd)


def _estimated(records: Sequence[ResultRecord]) -> bool:
    return any(r.output_tokens_estimated for r in records)


def _tokens(records: Sequence[ResultRecord]) -> int:
    return sum(r.prompt_tokens + r.output_tokens for r in records)


def _seconds(records: Sequence[ResultRecord]) -> float:
    return sum((r.prompt_seconds or 0.0) + (r.output_seconds or 0.0) for r in records)
