"""A round's settlement at RS + share_window − 1 (PROTOCOL.md §9 "Rewards", "Offences"):
the race pool split, and ``withheld_share`` for roster members who owed a share they never
gave. Evaluated "over everything revealed by then", so only once the share window is over.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

from drey.messages import RosterEntry
from drey.rules.results import ShareRecord

__all__ = ["race_rewards", "withheld_shares"]


def race_rewards(
    pool_sats: int, lead_bps: int, lead: bytes, race: Sequence[bytes]
) -> list[tuple[bytes, Literal["lead", "secondary"], int | None, int]]:
    """§9 split: (actuary, role, rank, sats). Lead: pool × lead_bps // 10000; the k agreeing
    race secondaries (in rank order) share the rest as rest × (k − q + 1) // (k(k + 1)/2),
    the remainder to rank 1; k = 0 gives the rest to the lead."""
    lead_sats = pool_sats * lead_bps // 10_000
    rest = pool_sats - lead_sats
    k = len(race)
    if k == 0:
        return [(lead, "lead", None, pool_sats)]
    total = k * (k + 1) // 2
    shares = [rest * (k - q + 1) // total for q in range(1, k + 1)]
    shares[0] += rest - sum(shares)
    out: list[tuple[bytes, Literal["lead", "secondary"], int | None, int]] = [
        (lead, "lead", None, lead_sats)
    ]
    out.extend((a, "secondary", q, s) for q, (a, s) in enumerate(zip(race, shares, strict=True), 1))
    return out


def withheld_shares(
    roster: Iterable[RosterEntry], owed: Sequence[str], records: Iterable[ShareRecord]
) -> list[tuple[bytes, str]]:
    """§9 ``withheld_share``: each roster member with no valid (or duplicate, i.e. valid but
    repeated) share for some owed package, with a detail "n of m packages"."""
    have = {(r.actuary, r.package) for r in records if r.status in ("valid", "duplicate")}
    out = []
    for entry in roster:
        missing = [pid for pid in owed if (entry.key, pid) not in have]
        if missing:
            out.append((entry.key, f"{len(missing)} of {len(owed)} packages"))
    return out
