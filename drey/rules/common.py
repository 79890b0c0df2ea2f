"""Small helpers shared by the rule modules: status rows for messages, the tip's clock."""

from __future__ import annotations

from dataclasses import dataclass

from drey.messages import Quarantine
from drey.rules.inputs import PositionedMessage
from drey.rules.reasons import Status
from drey.rules.results import MessageStatus

__all__ = ["Clock", "verdict"]


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


@dataclass(slots=True)
class Clock:
    """The tip, and the lowest height above it that a rule asked about.

    Every rule that depends on the chain's growth asks :meth:`reached` whether a height is at
    or below the tip; a height it is not is remembered. The lowest such height,
    :attr:`waiting_for`, is the first tip at which some rule could read differently: every tip
    below it, on the same chain with no new message and no vault activity, gives the same
    evaluation (``drey.rules.advance``). One clock lives for one evaluation.
    """

    tip: int
    waiting_for: int | None = None

    def reached(self, height: int) -> bool:
        """Whether ``height`` is at or below the tip (a height above it is remembered)."""
        if height <= self.tip:
            return True
        if self.waiting_for is None or height < self.waiting_for:
            self.waiting_for = height
        return False
