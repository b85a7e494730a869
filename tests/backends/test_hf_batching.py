"""How the `hf` backend splits work into passes: the batch plan is the cheapest one (checked
against every split of small inputs) and the shared prefix is taken only where it pays."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bakeoff.backends.hf._batching import (
    MIN_SHARED_PREFIX,
    common_prefix_length,
    plan_batches,
    shared_prefix,
)


def _cost(sizes: list[int], batches: list[range], pass_cost: int) -> int:
    return sum(len(rows) * sizes[rows[0]] + pass_cost for rows in batches)


def _all_splits(n: int) -> list[list[range]]:
    """Every way to cut 0..n-1 into consecutive, non-empty runs."""
    splits = []
    for cuts in itertools.product([False, True], repeat=max(n - 1, 0)):
        bounds = [0] + [i + 1 for i, cut in enumerate(cuts) if cut] + [n]
        splits.append([range(a, b) for a, b in itertools.pairwise(bounds)])
    return splits


def _allowed(sizes: list[int], rows: range, budget: int, max_rows: int | None, extra: int) -> bool:
    if len(rows) == 1:
        return True
    if max_rows is not None and len(rows) > max_rows:
        return False
    return len(rows) * (sizes[rows[0]] + extra) <= budget


@settings(max_examples=150, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 400), min_size=1, max_size=9),
    budget=st.integers(50, 3000),
    max_rows=st.one_of(st.none(), st.integers(1, 5)),
    extra=st.integers(0, 100),
    pass_cost=st.integers(0, 200),
)
def test_plan_is_the_cheapest_split_within_the_limits(
    sizes: list[int], budget: int, max_rows: int | None, extra: int, pass_cost: int
) -> None:
    sizes.sort(reverse=True)
    plan = plan_batches(
        sizes, budget=budget, max_rows=max_rows, extra_width=extra, pass_cost=pass_cost
    )
    assert [i for rows in plan for i in rows] == list(range(len(sizes)))
    assert all(_allowed(sizes, rows, budget, max_rows, extra) for rows in plan)
    feasible = [
        split
        for split in _all_splits(len(sizes))
        if all(_allowed(sizes, rows, budget, max_rows, extra) for rows in split)
    ]
    assert _cost(sizes, plan, pass_cost) == min(_cost(sizes, s, pass_cost) for s in feasible)


def test_wide_spread_lengths_are_cut_where_padding_would_cost_more_than_a_pass() -> None:
    sizes = [360, 350, 340, 200, 190, 180, 95, 92, 90]
    plan = plan_batches(sizes, budget=100_000, pass_cost=64)
    assert plan == [range(0, 3), range(3, 6), range(6, 9)]
    # With passes free, every distinct width gets its own batch; with passes dear, one batch.
    assert len(plan_batches(sizes, budget=100_000, pass_cost=0)) == len(set(sizes))
    assert plan_batches(sizes, budget=100_000, pass_cost=10_000) == [range(0, 9)]


def test_a_row_wider_than_the_budget_still_runs_alone() -> None:
    assert plan_batches([900, 10, 10], budget=100, pass_cost=64) == [range(0, 1), range(1, 3)]
    assert plan_batches([], budget=100) == []


def test_unsorted_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="longest first"):
        plan_batches([1, 2], budget=100)


def test_common_prefix_length() -> None:
    assert common_prefix_length([(1, 2, 3), (1, 2, 4), (1, 2)]) == 2
    assert common_prefix_length([(5, 6)]) == 2
    assert common_prefix_length([(1,), (2,)]) == 0
    assert common_prefix_length([]) == 0


SHOTS = tuple(range(100, 140))  # 40 tokens every context starts with


def _contexts(n: int, shots: tuple[int, ...] = SHOTS) -> list[tuple[int, ...]]:
    return [(*shots, 900 + i, 7, 8) for i in range(n)]


def test_shots_shared_by_several_contexts_are_run_once() -> None:
    assert shared_prefix(_contexts(4)) == SHOTS


def test_nothing_is_shared_when_it_saves_less_than_a_pass() -> None:
    assert shared_prefix(_contexts(1)) is None  # one context: nothing to share
    assert shared_prefix(_contexts(2), pass_cost=64) is None  # 40 tokens saved once < 64
    short = tuple(range(MIN_SHARED_PREFIX - 1))
    assert shared_prefix(_contexts(50, short)) is None


def test_every_context_keeps_its_last_token() -> None:
    # One context is the shots alone: the prefix stops a token short of it.
    keys = [SHOTS, *_contexts(5)]
    assert shared_prefix(keys) == SHOTS[:-1]


def test_a_kept_prefix_is_reused_while_it_still_starts_every_context() -> None:
    kept = SHOTS[:-1]  # a cached prefix one token shorter than what they now share
    assert shared_prefix(_contexts(5), cached=kept) == kept
    # Much shorter than what they share: a new, longer prefix is worth a pass.
    assert shared_prefix(_contexts(5), cached=SHOTS[:10]) == SHOTS
    # No longer a prefix of them (another subject): a new one, or none if it does not pay.
    other = tuple(range(500, 540))
    assert shared_prefix(_contexts(5, other), cached=SHOTS) == other
    assert shared_prefix(_contexts(1, other), cached=SHOTS) is None
    # Still usable, and no longer prefix is worth running: keep it even for a single context.
    assert shared_prefix(_contexts(1), cached=SHOTS) == SHOTS


def test_model_loading_draws_no_tqdm_bar(capsys: pytest.CaptureFixture[str]) -> None:
    """transformers' GGUF loader draws a plain tqdm bar that would garble bakeoff's progress."""
    tqdm_auto = pytest.importorskip("tqdm.auto")
    from bakeoff.backends.hf._model import _without_progress_bars

    with _without_progress_bars():
        for _ in tqdm_auto.tqdm(range(3), desc="de-quantizing"):
            pass
    assert "de-quantizing" not in capsys.readouterr().err
    for _ in tqdm_auto.tqdm(range(3), desc="after", mininterval=0):  # restored afterwards
        pass
    assert "after" in capsys.readouterr().err
