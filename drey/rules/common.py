"""Small helpers shared by the rule modules: status rows for messages."""

from __future__ import annotations

from drey.messages import Quarantine
from drey.rules.inputs import PositionedMessage
from drey.rules.reasons import Status
from drey.rules.results import MessageStatus

__all__ = ["verdict"]


def verdict(
    pm: PositionedMessage,
    status: Status,
    reason: str | None = None,
    detail: str = "",
) -> MessageStatus:
    """A :class:`MessageStatus` for ``pm``, with the month and round it names (if any)."""
    msg = pm.message
    month = None if isinstance(msg, Quarantine) else getattr(msg, "month", None)
    rnd = None if isinstance(msg, Quarantine) else getattr(msg, "round", None)
    if msg.__class__.__name__ in ("Params", "FormulaManifest", "CircuitManifest"):
        month = None
    return MessageStatus(
        inscription_id=pm.inscription_id,
        position=pm.position,
        kind=pm.kind,
        month=month,
        round=rnd,
        status=status,
        reason=reason,
        detail=detail,
    )
