"""Pairwise verdicts: both orders resolved into one outcome, the judge's position bias, and
win / tie / loss with a paired interval and test.

A judge shown answers X and Y names the better *position* (``FIRST``, ``SECOND``, ``TIE``) or
nothing readable (``None``). Every pair is judged in both orders (A first, then B first), since
judges prefer a position (Zheng et al., 2023, "Judging LLM-as-a-judge"). :func:`resolve` turns
the two verdicts into one outcome for A: a win or a loss only when both orders name the same
answer; a pair whose orders disagree is a tie (and counted as inconsistent); a pair with an
unreadable verdict is unresolved, counted apart, never a tie.

:func:`position_bias` measures the judge: its consistency (share of readable pairs whose two
orders name the same answer, or both a tie) and its first-position preference (share of readable
single verdicts that chose the first position, among those that chose a side; 0.5 is no
preference). A judge that always picks the first position has consistency 0 and preference 1,
and every pair it judges is a tie.

:func:`win_tie_loss` scores A per prompt 1 / ½ / 0 (win / tie / loss): the win rate is their
mean, with a Student t interval over prompts (the prompts are the paired unit), and the test is
the exact sign test on wins against losses (ties carry no information about the direction),
which is McNemar's exact test on the discordant pairs.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass

from bakeoff.stats.intervals import Interval, mean_interval
from bakeoff.stats.paired import mcnemar_exact


class Position(enum.StrEnum):
    FIRST = "first"
    SECOND = "second"
    TIE = "tie"


class Outcome(enum.StrEnum):
    """What a pair judged in both orders means for A."""

    WIN = "win"
    TIE = "tie"
    LOSS = "loss"


@dataclass(frozen=True, slots=True)
class Resolved:
    outcome: Outcome | None
    """None when a verdict could not be read (unresolved, counted apart)."""
    consistent: bool | None
    """Whether both orders named the same answer (None when unresolved)."""


def resolve(a_first: Position | None, b_first: Position | None) -> Resolved:
    """One pair: ``a_first`` the verdict with A shown first, ``b_first`` with B shown first."""
    if a_first is None or b_first is None:
        return Resolved(None, None)
    a_says = _for_a(a_first, a_is_first=True)
    b_says = _for_a(b_first, a_is_first=False)
    if a_says == b_says:
        return Resolved(a_says, True)
    return Resolved(Outcome.TIE, False)


def _for_a(verdict: Position, *, a_is_first: bool) -> Outcome:
    if verdict is Position.TIE:
        return Outcome.TIE
    a_won = (verdict is Position.FIRST) == a_is_first
    return Outcome.WIN if a_won else Outcome.LOSS


@dataclass(frozen=True, slots=True)
class PositionBias:
    consistency: float
    """Share of readable pairs whose two orders agree (NaN with none)."""
    first_position: float
    """Share of single verdicts naming the first position among those naming a side (NaN: none
    did)."""
    pairs: int
    """Readable pairs (both orders readable)."""
    unreadable: int
    """Single verdicts with nothing readable."""


def position_bias(pairs: Sequence[tuple[Position | None, Position | None]]) -> PositionBias:
    readable = [(x, y) for x, y in pairs if x is not None and y is not None]
    consistent = sum(bool(resolve(x, y).consistent) for x, y in readable)
    singles = [v for pair in pairs for v in pair]
    sided = [v for v in singles if v in (Position.FIRST, Position.SECOND)]
    return PositionBias(
        consistency=consistent / len(readable) if readable else math.nan,
        first_position=sum(v is Position.FIRST for v in sided) / len(sided) if sided else math.nan,
        pairs=len(readable),
        unreadable=sum(v is None for v in singles),
    )


@dataclass(frozen=True, slots=True)
class WinTieLoss:
    wins: int
    ties: int
    losses: int
    unresolved: int
    win_rate: Interval
    """A's mean per-prompt score (win 1, tie ½, loss 0) with a Student t interval."""
    p_value: float
    """Exact sign test, wins against losses (McNemar's exact test)."""

    @property
    def n(self) -> int:
        return self.wins + self.ties + self.losses


SCORES = {Outcome.WIN: 1.0, Outcome.TIE: 0.5, Outcome.LOSS: 0.0}


def win_tie_loss(outcomes: Sequence[Outcome | None], level: float = 0.95) -> WinTieLoss:
    resolved = [o for o in outcomes if o is not None]
    wins = sum(o is Outcome.WIN for o in resolved)
    losses = sum(o is Outcome.LOSS for o in resolved)
    return WinTieLoss(
        wins=wins,
        ties=len(resolved) - wins - losses,
        losses=losses,
        unresolved=len(outcomes) - len(resolved),
        win_rate=mean_interval([SCORES[o] for o in resolved], level),
        p_value=mcnemar_exact(wins, losses),
    )
