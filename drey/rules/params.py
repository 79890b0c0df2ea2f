"""Params succession and params(M) (PROTOCOL.md §2).

The first params is the first founder-signed ``params`` without ``effective_month``; its
height is S_{first−1}. A later params is valid iff it is founder-signed, passes
:func:`drey.messages.check_params_succession` against the earlier *valid* ones, and is mined
before S_{E−1}, E its effective_month (else ``stale_params``). params(M) is the valid params
with the greatest effective_month ≤ M (the first counting as effective from first_month).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from drey.messages import Params, ResolvedParams, check_params_succession
from drey.rules.calendar import Snapshots, add_months
from drey.rules.common import verdict
from drey.rules.inputs import Position, PositionedMessage
from drey.rules.results import MessageStatus

__all__ = ["ParamsEntry", "ParamsHistory", "find_first_params", "resolve_params"]


@dataclass(frozen=True, slots=True)
class ParamsEntry:
    """A valid params message; ``effective_month`` is first_month for the first params."""

    inscription_id: str
    position: Position
    params: Params
    resolved: ResolvedParams
    effective_month: str

    @property
    def height(self) -> int:
        return self.position[0]


@dataclass(frozen=True, slots=True)
class ParamsHistory:
    """The valid params in chain order (effective months strictly increase)."""

    entries: tuple[ParamsEntry, ...]

    @property
    def first(self) -> ParamsEntry | None:
        return self.entries[0] if self.entries else None

    def for_month(self, month: str) -> ParamsEntry | None:
        """params(M): the greatest effective_month ≤ M; ``None`` before first_month."""
        found = None
        for entry in self.entries:
            if entry.effective_month <= month:
                found = entry
        return found


def find_first_params(
    messages: Sequence[PositionedMessage], *, founder: bytes
) -> PositionedMessage | None:
    """The first founder-signed params without effective_month (messages in chain order)."""
    for pm in messages:
        msg = pm.message
        if (
            isinstance(msg, Params)
            and msg.verify(founder)
            and check_params_succession(msg, earlier=[]) is None
        ):
            return pm
    return None


def resolve_params(
    messages: Sequence[PositionedMessage], *, founder: bytes, snapshots: Snapshots | None
) -> tuple[ParamsHistory, list[MessageStatus]]:
    """Validity of every params message (chain order) and the resulting history.

    ``snapshots`` (from the first params) decides "mined before S_{E−1}"; ``None`` means no
    snapshot is reached yet.
    """
    valid: list[ParamsEntry] = []
    out: list[MessageStatus] = []
    for pm in messages:
        msg = pm.message
        if not isinstance(msg, Params):
            continue
        if not msg.verify(founder):
            out.append(verdict(pm, "quarantined", "bad_signature", "not signed by the founder"))
            continue
        q = check_params_succession(msg, earlier=[e.params for e in valid])
        if q is not None:
            out.append(verdict(pm, "quarantined", q.reason, q.detail))
            continue
        effective = msg.effective_month or msg.first_month
        if valid:
            prior = add_months(effective, -1)
            s_prior = None if snapshots is None else snapshots.snapshot(prior)
            if s_prior is not None and pm.height >= s_prior:
                out.append(
                    verdict(
                        pm,
                        "quarantined",
                        "stale_params",
                        f"mined at {pm.height}, not before S_{prior} = {s_prior}",
                    )
                )
                continue
        valid.append(ParamsEntry(pm.inscription_id, pm.position, msg, msg.resolved(), effective))
        out.append(verdict(pm, "valid"))
    return ParamsHistory(tuple(valid)), out
