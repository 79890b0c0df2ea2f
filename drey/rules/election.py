"""Eligibility, VRF counting and the lead draw (PROTOCOL.md §4).

Eligible for M: roster members of params(M) whose stake at S_M minus the slashes decided at
heights ≤ S_M is ≥ min_stake. VRFs count only from eligible actuaries, in blocks
G_r + 1 … G_r + vrf_window, the first valid one each. R and the draw are
:func:`drey.election.election_randomness` / :func:`drey.election.draw_lead`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from drey.crypto import ecvrf
from drey.election import draw_lead, election_randomness, vrf_alpha
from drey.messages import ResolvedParams, Vrf
from drey.rules.common import verdict
from drey.rules.inputs import PositionedMessage
from drey.rules.results import CountedVrf, MessageStatus, RosterStake

__all__ = [
    "VrfCount",
    "count_vrfs",
    "elect",
    "need_for",
    "race_quorum",
    "roster_stakes",
]


def roster_stakes(
    params: ResolvedParams,
    *,
    stake_at: Callable[[bytes], int],
    slashed: Mapping[bytes, int],
) -> tuple[RosterStake, ...]:
    """Every roster member with its stake at S_M, the slashes decided ≤ S_M and the
    resulting weight max(0, stake − slashed); eligible iff weight ≥ min_stake."""
    out = []
    for entry in params.roster:
        stake = stake_at(entry.key)
        cut = slashed.get(entry.key, 0)
        weight = max(0, stake - cut)
        out.append(
            RosterStake(entry.index, entry.key, stake, cut, weight, weight >= params.min_stake)
        )
    return tuple(out)


def need_for(params: ResolvedParams, eligible: int) -> int:
    """need = ⌈num × E / den⌉ = (num × E + den − 1) // den (§8)."""
    num, den = params.supermajority
    return (num * eligible + den - 1) // den


def race_quorum(eligible: int) -> int:
    """m = ⌊(E − 1)/2⌋ + 1, and 0 when E = 1 (§8)."""
    return 0 if eligible <= 1 else (eligible - 1) // 2 + 1


@dataclass(frozen=True, slots=True)
class VrfCount:
    counted: tuple[CountedVrf, ...]
    statuses: tuple[MessageStatus, ...]


def count_vrfs(
    messages: Sequence[PositionedMessage],
    *,
    month: str,
    round: int,
    seed_height: int,
    seed_hash: bytes,
    window: int,
    vrf_keys: Mapping[bytes, bytes],
    eligible: frozenset[bytes],
) -> VrfCount:
    """§4 over the ``vrf`` messages of (M, r) in chain order.

    Status per message, by §1's precedence: ``quarantined: not_eligible`` (not an eligible
    actuary), ``quarantined: bad_vrf_proof`` (does not verify for alpha of G_r), ``duplicate``
    (the actuary already has a counted VRF), ``early`` (at or before G_r), ``ignored`` (after
    G_r + vrf_window), else ``valid`` and counted. Final as soon as the message is mined.
    """
    alpha = vrf_alpha(month, round, seed_hash)
    lo, hi = seed_height + 1, seed_height + window
    counted: dict[bytes, CountedVrf] = {}
    statuses = []
    for pm in messages:
        msg = pm.message
        assert isinstance(msg, Vrf)
        if msg.actuary not in eligible:
            statuses.append(verdict(pm, "quarantined", "not_eligible", "not eligible for M"))
            continue
        beta = ecvrf.verify(vrf_keys[msg.actuary], msg.proof, alpha)
        if beta is None:
            statuses.append(
                verdict(pm, "quarantined", "bad_vrf_proof", f"alpha of G_{round} = {seed_height}")
            )
            continue
        if msg.actuary in counted:
            statuses.append(verdict(pm, "duplicate", None, "a VRF already counts"))
        elif pm.height < lo:
            statuses.append(verdict(pm, "early", None, f"VRF window opens at {lo}"))
        elif pm.height > hi:
            statuses.append(verdict(pm, "ignored", None, f"VRF window closed at {hi}"))
        else:
            counted[msg.actuary] = CountedVrf(msg.actuary, pm.inscription_id, pm.height, beta)
            statuses.append(verdict(pm, "valid"))
    return VrfCount(tuple(counted.values()), tuple(statuses))


def elect(
    *,
    month: str,
    round: int,
    seed_hash: bytes,
    counted: Sequence[CountedVrf],
    weights: Sequence[tuple[bytes, int]],
) -> tuple[bytes, bytes | None]:
    """(R, elected lead or ``None`` when every weight is 0)."""
    randomness = election_randomness(month, round, seed_hash, [v.beta for v in counted])
    return randomness, draw_lead(randomness, list(weights))
