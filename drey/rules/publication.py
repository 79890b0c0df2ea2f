"""The ``allocation`` publication (PROTOCOL.md §9).

The publication of an accepted month is the first ``allocation`` at a height ≥ D_r (the
accepting round's decision) that carries ≥ t distinct signatures by roster members of
params(M) and equals the accepted lead result (month, round, month_root, n_rows,
months_root, sha256); later ones are ``duplicate``. Its body hashes to ``sha256`` (checked
when parsing), so it is the file the lead committed to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from drey.messages import Allocation, ResolvedParams, Result
from drey.rules.common import verdict
from drey.rules.inputs import PositionedMessage
from drey.rules.results import MessageStatus

__all__ = ["PublicationChoice", "choose_publication", "roster_signers"]


def roster_signers(message: Allocation, params: ResolvedParams) -> int:
    """Distinct roster members among the (already verified) ``sigs``."""
    roster = {e.key for e in params.roster}
    return len({s.actuary for s in message.sigs} & roster)


@dataclass(frozen=True, slots=True)
class PublicationChoice:
    publication: str | None
    statuses: tuple[MessageStatus, ...]


def choose_publication(
    messages: Sequence[PositionedMessage],
    *,
    params: ResolvedParams,
    accepted_round: int,
    decided_height: int,
    lead_result: Result,
) -> PublicationChoice:
    """Statuses of the ``allocation`` messages naming an accepted month (chain order)."""
    assert lead_result.allocation is not None
    want = (
        lead_result.month,
        accepted_round,
        lead_result.month_root,
        lead_result.n_rows,
        lead_result.months_root,
        lead_result.allocation.sha256,
    )
    chosen: str | None = None
    out = []
    for pm in messages:
        msg = pm.message
        assert isinstance(msg, Allocation)
        signers = roster_signers(msg, params)
        if signers < params.threshold:
            out.append(
                verdict(
                    pm,
                    "quarantined",
                    "insufficient_signatures",
                    f"{signers} roster signatures, t = {params.threshold}",
                )
            )
            continue
        got = (msg.month, msg.round, msg.month_root, msg.n_rows, msg.months_root, msg.sha256)
        if got != want:
            out.append(
                verdict(pm, "quarantined", "not_accepted_result", "differs from the lead result")
            )
            continue
        if chosen is not None:
            out.append(verdict(pm, "duplicate", None, f"publication is {chosen}"))
        elif pm.height < decided_height:
            out.append(verdict(pm, "early", None, f"accepted at {decided_height}"))
        else:
            chosen = pm.inscription_id
            out.append(verdict(pm, "valid"))
    return PublicationChoice(chosen, tuple(out))
