"""A round's decision (PROTOCOL.md §9 "Acceptance"): accepted at D_r, or rejected and why.

The ladder, in the order it is applied (docs/protocol/rules.md, "Rejection reasons"):

1. :func:`accepted_by_agreement`: accepted at the first height ≥ the lead's readiness at which
   1 + the agreeing secondaries reach ``need``.
2. :func:`rejected_at_lead_reveal`: the lead's package is a copy, or its result is invalid:
   rejected at the lead's reveal height (``invalid_lead_result``).
3. :func:`rejected_at_share_end`: once the share window is over (RS + share_window − 1),
   ``not_enough_agreement``, ``lead_key_reuse``, ``lead_parts_after_share_window`` or
   ``lead_unrevealed`` (no penalty to the lead for the last three but key reuse's own offence).

Until one of them applies the round is ``pending``. Rounds without a lead are decided earlier,
by :func:`no_candidates` and :func:`no_lead_package`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from drey.rules.results import Decision, RevealOutcome

__all__ = [
    "PENDING",
    "LeadStanding",
    "accepted_by_agreement",
    "decide",
    "no_candidates",
    "no_lead_package",
    "rejected_at_lead_reveal",
    "rejected_at_share_end",
]

PENDING = Decision("pending", None, "pending")


@dataclass(frozen=True, slots=True)
class LeadStanding:
    """What the decision needs to know of the lead's package.

    ``ready``: the height from which its result counts (its reveal, or for a lead whose file
    travels in parts, max(reveal, end of the lead window)); ``late_parts``: that height is
    after the share window; ``valid``: revealed with a result that is valid in every §9 way.
    """

    outcome: RevealOutcome
    reveal_height: int | None
    ready: int | None
    valid: bool
    late_parts: bool

    @property
    def counts(self) -> bool:
        """The lead's result can carry the round (revealed, valid, parts in time)."""
        return self.outcome == "result" and self.valid and not self.late_parts


def no_candidates(vrf_end: int) -> Decision:
    """§4: no counted VRF with weight: nobody is elected; rejected when R would be known."""
    return Decision("rejected", vrf_end, "no_candidates")


def no_lead_package(lead_end: int) -> Decision:
    """§9: "A round with no lead package is decided at G_r + vrf_window + lead_window"."""
    return Decision("rejected", lead_end, "no_lead_package")


def accepted_by_agreement(
    lead: LeadStanding,
    *,
    events: Iterable[int],
    support_at: Callable[[int], int],
    need: int,
    horizon: int,
) -> Decision | None:
    """§9: accepted at D_r = the first h ≥ RS at which the lead is revealed with a valid result
    and 1 + the agreeing race and late secondaries ≥ ``need``. Support changes only at
    ``events`` (reveal heights); only heights up to ``horizon`` (min(share end, tip)) are
    known."""
    if not lead.counts or lead.ready is None or lead.ready > horizon:
        return None
    for height in sorted({lead.ready, *(h for h in events if lead.ready <= h <= horizon)}):
        support = support_at(height)
        if support >= need:
            return Decision("accepted", height, "agreement", support)
    return None


def rejected_at_lead_reveal(lead: LeadStanding) -> Decision | None:
    """§9: "rejected: at the lead's reveal height if its result is invalid" (a copy counts as
    invalid; a lead with parts is judged from its readiness height)."""
    if lead.outcome == "copy" and lead.reveal_height is not None:
        return Decision("rejected", lead.reveal_height, "invalid_lead_result")
    if (
        lead.outcome == "result"
        and not lead.valid
        and not lead.late_parts
        and lead.ready is not None
    ):
        return Decision("rejected", lead.ready, "invalid_lead_result")
    return None


def rejected_at_share_end(lead: LeadStanding, *, share_end: int, support: int) -> Decision:
    """§9: "else at RS + share_window − 1 (not enough agreement, or the lead unrevealed)",
    with the reason named precisely (docs/protocol/rules.md)."""
    if lead.counts:
        return Decision("rejected", share_end, "not_enough_agreement", support)
    if lead.outcome == "key_reuse":
        return Decision("rejected", share_end, "lead_key_reuse")
    if lead.late_parts:
        return Decision("rejected", share_end, "lead_parts_after_share_window")
    return Decision("rejected", share_end, "lead_unrevealed")


def decide(
    lead: LeadStanding,
    *,
    events: Iterable[int],
    support_at: Callable[[int], int],
    need: int,
    horizon: int,
    share_end: int,
    settled: bool,
) -> Decision:
    """The ladder above; ``settled`` means the share window is over at the tip."""
    decision = accepted_by_agreement(
        lead, events=events, support_at=support_at, need=need, horizon=horizon
    )
    if decision is None and not lead.counts:
        decision = rejected_at_lead_reveal(lead)
    if decision is not None:
        return decision
    if settled:
        return rejected_at_share_end(lead, share_end=share_end, support=support_at(share_end))
    return PENDING
