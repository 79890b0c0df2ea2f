"""Resuming an evaluation from its final months instead of the first month.

A month is *final* at tip T when it is decided (accepted or failed) and settled (every share
window over, every offence decided): nothing at heights above T changes it, except a new
message naming it (a late secondary, a second allocation), which still needs a status. So
the month walk's state after a final month — the months tree, the key registry, the height
it was decided at, the penalties, statuses and checks so far — can be kept with the
evaluation (:class:`FinalMonth`) and a later evaluation starts after the longest run of
final months that still holds:

1. the chain still has the block hash the month was final at (a reorg below that height
   removes the month and every later one from the run);
2. no message naming the month sits above that height (chain order is fixed below it, so
   the month's messages are the same ones);
3. the trust anchor and the reference check are the same (``basis``).

Months are walked in order and each final month's state is the walk's state after it, so a
resumed walk is the full walk with its first months skipped; ``tests/drey/rules/
test_resume.py`` checks it against full evaluations over random reorg depths.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from drey.merkle import MonthsTree
from drey.rules.inputs import ChainView, PositionedMessage
from drey.rules.results import Check, MessageStatus, MonthEvaluation, PenaltyRow
from drey.rules.rounds import KeyRegistry

__all__ = ["FinalMonth", "evaluation_basis", "resumable"]


@dataclass(frozen=True, slots=True)
class FinalMonth:
    """One final month and the walk's state after it (see the module docstring)."""

    evaluation: MonthEvaluation
    height: int  # the tip at which the month was first seen final
    block_hash: bytes  # the block at ``height``: the month holds on chains that keep it
    basis: bytes  # :func:`evaluation_basis` of the evaluation that found it
    statuses: tuple[MessageStatus, ...]
    penalties: tuple[PenaltyRow, ...]
    checks: tuple[Check, ...]
    tree: MonthsTree  # the months tree after the month
    registry: KeyRegistry  # keys revealed up to and including the month
    decided_height: int

    @property
    def month(self) -> str:
        return self.evaluation.month


def evaluation_basis(*, founder: bytes, first_params: str, reference_check: bool) -> bytes:
    """What every month of an evaluation rests on besides the chain: a final month kept by an
    evaluation with another trust anchor, first params or formula check is not reused."""
    text = f"{founder.hex()}|{first_params}|{int(reference_check)}"
    return hashlib.sha256(text.encode()).digest()


def is_final(evaluation: MonthEvaluation) -> bool:
    """Decided and settled: nothing above the tip changes it but a new message naming it."""
    return evaluation.outcome != "pending" and evaluation.settled


def resumable(
    kept: Sequence[FinalMonth],
    *,
    chain: ChainView,
    month_messages: Mapping[str, Sequence[PositionedMessage]],
    basis: bytes,
    first_month: str,
    months_in_order: Sequence[str],
) -> tuple[FinalMonth, ...]:
    """The longest leading run of ``kept`` that still holds on ``chain`` (rules 1–3).

    ``months_in_order`` are the months from ``first_month`` on (at least as many as ``kept``);
    a run that does not start at ``first_month`` or skips a month is not used at all.
    """
    run: list[FinalMonth] = []
    for point, month in zip(kept, months_in_order, strict=False):
        if point.month != month or point.basis != basis or not _holds(point, chain):
            break
        if any(pm.height > point.height for pm in month_messages.get(month, ())):
            break
        run.append(point)
    if run and run[0].month != first_month:
        return ()
    return tuple(run)


def _holds(point: FinalMonth, chain: ChainView) -> bool:
    return chain.has(point.height) and chain.block_hash(point.height) == point.block_hash
