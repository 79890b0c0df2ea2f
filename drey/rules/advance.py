"""Carrying an evaluation over blocks that change nothing it reads.

An evaluation at tip T reads the blocks above T in five ways only:

1. new messages (Drey inscriptions) and formula parts;
2. vault activity: an output paid to a vault, a vault output spent (§3's holdings);
3. the calendar: a block whose MTP reaches a month's end is that month's snapshot S_M (§2);
4. the heights the rules wait for: a round's seed block, the end of a VRF, lead, race or
   share window, a lead's readiness (§4, §5, §8, §9). Each rule asks the evaluation's
   :class:`~drey.rules.common.Clock` whether its height is reached, and the clock keeps the
   lowest height that is not (``Steady.waiting_for``);
5. the tip's own block, which the binding point names (``drey.rules.ledger``).

So when the chain still has T's block and blocks T + 1 … T' bring no message, no formula
part, no vault output or spend and no snapshot, and T' is below the height the rules wait
for, the evaluation at T' is the evaluation at T with T' as its tip and the binding point
moved to T' (:func:`advance`). That is what a block with no Drey message costs: a scan of
the new blocks, not a walk. ``tests/drey/rules/test_advance.py`` checks it against full
evaluations at every tip of the devnet's scenarios.

An evaluation saved before this was kept has no :class:`Steady` and is never advanced.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from drey.rules.calendar import Snapshots, extend_snapshots
from drey.rules.inputs import ChainView, FormulaPartInscription, PositionedMessage
from drey.rules.results import Evaluation

__all__ = ["Steady", "advance", "carried"]


@dataclass(frozen=True, slots=True)
class Steady:
    """What an evaluation needs to be advanced: its tip's block hash, the snapshots it found
    (``None`` before the first params) and the lowest height above its tip that a rule waits
    for (``None``: no rule waits for one)."""

    tip_hash: bytes
    snapshots: Snapshots | None
    waiting_for: int | None

    def waits_at_or_below(self, tip: int) -> bool:
        return self.waiting_for is not None and self.waiting_for <= tip


def advance(
    evaluation: Evaluation,
    chain: ChainView,
    messages: Sequence[PositionedMessage],
    *,
    tip_height: int,
    formula_parts: Iterable[FormulaPartInscription] = (),
) -> Evaluation | None:
    """The evaluation of ``messages`` on ``chain`` at ``tip_height``, from ``evaluation`` at a
    lower tip without walking, or ``None`` when the blocks between change something it reads
    (see the module docstring): then :func:`~drey.rules.evaluate.evaluate` it. The arguments
    are those ``evaluate`` would take."""
    steady = getattr(evaluation, "steady", None)  # None on an evaluation saved before it
    old, tip = evaluation.tip_height, min(tip_height, chain.tip)
    if steady is None or tip < old or not _still_has(chain, old, steady.tip_hash):
        return None
    if steady.waits_at_or_below(tip) or not _same_messages(evaluation, messages, old, tip):
        return None
    if _vault_activity(chain, old, tip) or any(old < p.height <= tip for p in formula_parts):
        return None
    if steady.snapshots is not None:
        grown = extend_snapshots(chain, steady.snapshots, after=old, tip=tip)
        if grown != steady.snapshots:
            return None
    if tip == old:
        return evaluation
    return carried(evaluation, tip=tip, tip_hash=chain.block_hash(tip))


def carried(evaluation: Evaluation, *, tip: int, tip_hash: bytes) -> Evaluation:
    """``evaluation`` with ``tip`` (whose block is ``tip_hash``) as its tip: the last step of
    :func:`advance`, for a caller that checked the blocks between before (one that saved
    only the new tip: ``pipelines.evaluation.CarriedTip``)."""
    steady = evaluation.steady
    assert steady is not None, "only an evaluation with a steady state is carried"
    binding = evaluation.binding
    if binding is not None:
        binding = replace(binding, height=tip, block_hash=tip_hash, kept=binding.count)
    return replace(
        evaluation, tip_height=tip, binding=binding, steady=replace(steady, tip_hash=tip_hash)
    )


def _still_has(chain: ChainView, height: int, block_hash: bytes) -> bool:
    return chain.has(height) and chain.block_hash(height) == block_hash


def _same_messages(
    evaluation: Evaluation, messages: Sequence[PositionedMessage], old: int, tip: int
) -> bool:
    """No message above ``old`` up to ``tip``, and as many at or below it as the evaluation
    has statuses (the chain below ``old`` is the same, so they are the same messages)."""
    below = 0
    for m in messages:
        if m.height <= old:
            below += 1
        elif m.height <= tip:
            return False
    return below == len(evaluation.statuses)


def _vault_activity(chain: ChainView, old: int, tip: int) -> bool:
    """Whether a vault output was paid or spent at a height in ``old + 1`` … ``tip``."""
    if any(old < h <= tip for h in chain.spends.values()):
        return True
    return any(old < o.height <= tip for o in chain.vault_outputs)
