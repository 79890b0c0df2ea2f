"""Slashes and their redistribution (PROTOCOL.md §9).

Each offence counts once per (offence, actuary, round) and slashes
base × penalty_bps // 10000, where base is the actuary's stake at S_M minus the slashes
decided at heights ≤ S_M (the same net stake §4 weighs); the month's slashes of one actuary
are capped at that base, applied in order of decision height (ties: the offence order of
§9's list, then round, then key). Slashed sats go to the month's plans pro rata to their
Dreybits with §6's remainder rule, or are carried to the next accepted month with a
non-zero allocation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from drey.rules.reasons import OFFENCES
from drey.rules.results import PenaltyRow, RedistributionRow
from drey.rules.rounds import OffenceEvent

__all__ = ["MonthSlashes", "pro_rata", "redistribute", "slash_month"]


def pro_rata(amount: int, rows: Sequence[tuple[int, int]]) -> list[int]:
    """Split ``amount`` over ``rows`` = (user_id, weight) like §6: ⌊amount × w / W⌋ each,
    then one unit each to the rows with the greatest (amount × w mod W), ties by user_id
    ascending, then row order. All weights 0: every row gets 0."""
    total = sum(w for _, w in rows)
    if total == 0 or amount == 0:
        return [0] * len(rows)
    out = []
    rems = []
    for _, w in rows:
        q, r = divmod(amount * w, total)
        out.append(q)
        rems.append(r)
    left = amount - sum(out)
    order = sorted(range(len(rows)), key=lambda i: (-rems[i], rows[i][0], i))
    for i in order[:left]:
        out[i] += 1
    return out


def slash_month(
    events: Sequence[OffenceEvent],
    *,
    base: Mapping[bytes, int],
    penalty_bps: int,
) -> list[PenaltyRow]:
    """Penalty rows of one month's offences (already once per (offence, actuary, round))."""
    ordered = sorted(
        events, key=lambda e: (e.height, OFFENCES.index(e.offence), e.round, e.actuary)
    )
    taken: dict[bytes, int] = {}
    rows = []
    for e in ordered:
        b = base.get(e.actuary, 0)
        already = taken.get(e.actuary, 0)
        slash = min(b * penalty_bps // 10_000, b - already)
        taken[e.actuary] = already + slash
        rows.append(
            PenaltyRow(e.month, e.round, e.offence, e.actuary, e.height, b, slash, e.detail)
        )
    return rows


@dataclass(frozen=True, slots=True)
class MonthSlashes:
    """One decided month for redistribution: its slashed sats, whether all its offences
    are decided (``settled``), and its accepted rows (user_id, dreybits) if accepted.

    ``funded`` says whether any accepted row has dreybits (``None``: read from ``rows``);
    a caller that knows no sats reach the month (nothing slashed in it or before it) may
    leave ``rows`` empty and give ``funded``: the month's shares are all zero anyway."""

    month: str
    accepted: bool
    settled: bool
    slashed: int
    rows: tuple[tuple[int, int], ...]
    funded: bool | None = None

    @property
    def has_dreybits(self) -> bool:
        if self.funded is not None:
            return self.funded
        return any(d for _, d in self.rows)


def redistribute(
    months: Sequence[MonthSlashes],
) -> tuple[list[RedistributionRow], int, bool]:
    """Credit slashed sats month by month (decided months, in order).

    Returns the rows, the sats still carried after the last month, and whether the carry
    is final. A month whose own slashes or incoming carry are not final yet gets no rows
    (it is reported once settled).
    """
    out: list[RedistributionRow] = []
    carry = 0
    carry_final = True
    for m in months:
        if m.accepted and m.has_dreybits:
            amount = carry + m.slashed
            if m.settled and carry_final:
                shares = pro_rata(amount, m.rows)
                out.extend(
                    RedistributionRow(m.month, user_id, s)
                    for (user_id, _), s in zip(m.rows, shares, strict=True)
                    if s
                )
            carry, carry_final = 0, True
        else:
            carry += m.slashed
            carry_final = carry_final and m.settled
    return out, carry, carry_final
