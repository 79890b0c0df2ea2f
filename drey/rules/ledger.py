"""Stakes and deposits (PROTOCOL.md §3) and the formula's input rows (§6).

A ``stake`` / ``plan`` binds its carrying transaction: its ``outpoint`` must be that
transaction's first input's previous outpoint; at most one stake/plan per transaction
(otherwise all are quarantined). The transaction's outputs paying a vault script of the
params in force at its height are that actuary's stake or that user's deposits. An output
counts at height h iff it was created at a height ≤ h and not spent at a height ≤ h.

Binding resumes. A stake's or plan's verdict depends only on what is mined at or below its
height: its own transaction, the first params, the params of the month containing its height
(fixed before that month's snapshot, §2), its signature, and the owners bound before it.
So the verdicts and owners of the bindings at heights ≤ H hold on every chain that keeps the
block at H. :class:`BindingPoint` keeps them with the tip's block hash; a later binding on a
chain that still has that block starts after them, and only the holdings' spends (which a
later block can add) are read again for the kept bindings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TypeVar

from drey.formula.reference import FormulaRow
from drey.messages import Plan, ResolvedParams, Stake
from drey.rules.calendar import Snapshots, months_between
from drey.rules.common import verdict
from drey.rules.inputs import ChainView, Position, PositionedMessage
from drey.rules.memo import Memo, memo_key
from drey.rules.results import MessageStatus

__all__ = [
    "U64_LIMIT",
    "BindingPoint",
    "Holding",
    "Ledger",
    "bind_stakes_and_plans",
    "formula_rows",
]

U64_LIMIT = 1 << 64


@dataclass(frozen=True, slots=True)
class Holding:
    """A vault output attributed to an actuary (stake) or a user (deposit)."""

    outpoint: bytes
    height: int
    value: int
    spent: int | None

    def counts_at(self, height: int) -> bool:
        return self.height <= height and (self.spent is None or self.spent > height)

    def heights_counted(self, lo: int, hi: int) -> int:
        """How many heights in lo … hi this output counts at."""
        start = max(lo, self.height)
        end = hi if self.spent is None else min(hi, self.spent - 1)
        return max(0, end - start + 1)


def _sum_at(holdings: Sequence[Holding], height: int) -> int:
    return sum(h.value for h in holdings if h.counts_at(height))


@dataclass(frozen=True, slots=True)
class Ledger:
    """Every bound vault output, by actuary and by user_id; ``owners`` is each user's
    owner key (from its first valid plan)."""

    stakes: Mapping[bytes, tuple[Holding, ...]]
    deposits: Mapping[int, tuple[Holding, ...]]
    owners: Mapping[int, bytes]

    def stake_at(self, actuary: bytes, height: int) -> int:
        return _sum_at(self.stakes.get(actuary, ()), height)

    def deposit_at(self, user_id: int, height: int) -> int:
        return _sum_at(self.deposits.get(user_id, ()), height)

    def total_deposits_at(self, height: int) -> int:
        total = 0
        for holdings in self.deposits.values():  # Holding.counts_at, inlined (hot per month)
            for h in holdings:
                if h.height <= height and (h.spent is None or h.spent > height):
                    total += h.value
        return total

    def first_deposit(self, user_id: int) -> int | None:
        holdings = self.deposits.get(user_id, ())
        return min((h.height for h in holdings), default=None)


@dataclass(frozen=True, slots=True)
class BindingPoint:
    """The verdicts of every stake and plan at heights ≤ ``height`` and the owners they bound
    (see the module docstring): what a later binding resumes from."""

    height: int
    block_hash: bytes  # the block at ``height``: the point holds on chains that keep it
    first_position: Position
    count: int  # stake and plan messages at heights ≤ height
    statuses: tuple[MessageStatus, ...]  # theirs, in chain order
    owners: Mapping[int, bytes]
    kept: int = 0  # how many of the verdicts came from the point this binding resumed from
    # The ledger at ``height``: a later binding takes its holdings and applies the spends
    # above ``height`` instead of reading every binding's outputs again. Not compared, and not
    # saved with the point (a point read back from a file reads the outputs again).
    ledger: Ledger | None = field(default=None, compare=False, repr=False)

    def holds(self, bindings: Sequence[PositionedMessage], chain: ChainView) -> bool:
        """Whether ``bindings`` (chain order) start with this point's, on a chain that still
        has its block."""
        if not chain.has(self.height) or chain.block_hash(self.height) != self.block_hash:
            return False
        if len(bindings) < self.count:
            return False
        last = self.statuses[-1].inscription_id if self.statuses else None
        if last is not None and bindings[self.count - 1].inscription_id != last:
            return False
        return len(bindings) == self.count or bindings[self.count].height > self.height


# Long on purpose: §3 in one pass (one binding per transaction, the ladder of refusals, the
# holdings of those that bind), resumed from a point when one holds.
def bind_stakes_and_plans(
    messages: Sequence[PositionedMessage],
    chain: ChainView,
    *,
    first_position: Position | None,
    params_at: Callable[[int], ResolvedParams],
    tip: int,
    memo: Memo | None = None,
    resume: BindingPoint | None = None,
) -> tuple[Ledger, list[MessageStatus], BindingPoint | None]:
    """Apply §3 to the stake and plan messages (chain order) and build the ledger.

    ``params_at(h)`` gives the params of the month containing h. Messages positioned before
    the first params (or when there is none) are ``ignored``: no roster or operator exists
    yet. Spends after ``tip`` are not known yet and are ignored. ``memo`` keeps plan
    signature checks by content (a plan's fields and the operator key). ``resume`` is the
    point of an earlier binding: its verdicts are kept when it holds on ``chain`` (same first
    params), with the same result as binding every message again. Returns the ledger, the
    statuses and the point at ``tip`` (``None`` without first params).
    """
    bindings = [pm for pm in messages if isinstance(pm.message, Stake | Plan)]
    stakes: dict[bytes, Sequence[Holding]] = {}
    deposits: dict[int, Sequence[Holding]] = {}
    owners: dict[int, bytes] = {}
    out: list[MessageStatus] = []
    vaults = _Vaults(params_at)
    if (
        resume is not None
        and first_position is not None
        and resume.first_position == first_position
        and resume.holds(bindings, chain)
    ):
        owners = dict(resume.owners)
        out = list(resume.statuses)
        # A point unpickled from before points kept a ledger has no such slot set.
        kept_ledger: Ledger | None = getattr(resume, "ledger", None)
        if kept_ledger is not None:
            spent = _spends_between(chain, after=resume.height, tip=tip)
            stakes = _respent(kept_ledger.stakes, spent)
            deposits = _respent(kept_ledger.deposits, spent)
        else:
            for pm, status in zip(bindings, resume.statuses, strict=False):
                if status.status == "valid":
                    _hold(pm, _vault_holdings(pm, chain, vault=vaults(pm.height), tip=tip),
                          stakes=stakes, deposits=deposits)  # fmt: skip
    start = len(out)
    # One transaction's bindings share its height: all of them are kept, or none.
    per_tx: dict[bytes, int] = {}
    for pm in bindings[start:]:
        per_tx[pm.txid] = per_tx.get(pm.txid, 0) + 1
    for pm in bindings[start:]:
        msg = pm.message
        assert isinstance(msg, Stake | Plan)
        after_first = first_position is not None and pm.position >= first_position
        params = params_at(pm.height) if after_first else None
        refusal = binding_refusal(
            pm, per_tx=per_tx[pm.txid], first_position=first_position, params=params,
            owners=owners, memo=memo,
        )  # fmt: skip
        if refusal is not None:
            out.append(refusal)
            continue
        assert params is not None
        if isinstance(msg, Plan):
            owners[msg.user_id] = msg.owner
        holdings = _vault_holdings(pm, chain, vault=vaults(pm.height), tip=tip)
        _hold(pm, holdings, stakes=stakes, deposits=deposits)
        out.append(verdict(pm, "valid"))
    ledger = Ledger(
        stakes=MappingProxyType({k: tuple(v) for k, v in stakes.items()}),
        deposits=MappingProxyType({k: tuple(v) for k, v in deposits.items()}),
        owners=MappingProxyType(owners),
    )
    point = None
    if first_position is not None and chain.has(tip):
        point = BindingPoint(
            height=tip,
            block_hash=chain.block_hash(tip),
            first_position=first_position,
            count=len(bindings),
            statuses=tuple(out),
            owners=MappingProxyType(dict(owners)),
            kept=start,
            ledger=ledger,
        )
    return ledger, out, point


def _spends_between(chain: ChainView, *, after: int, tip: int) -> Mapping[bytes, int]:
    """The spends mined at heights after … tip (a resumed ledger's holdings know the rest)."""
    return {outpoint: h for outpoint, h in chain.spends.items() if after < h <= tip}


def _respent(
    holdings: Mapping[_Owner, tuple[Holding, ...]], spent: Mapping[bytes, int]
) -> dict[_Owner, Sequence[Holding]]:
    """``holdings`` with the outputs in ``spent`` marked spent at its height (the owners with
    none of them keep their tuples)."""
    out: dict[_Owner, Sequence[Holding]] = dict(holdings)
    if not spent:
        return out
    for owner, held in holdings.items():
        if any(h.outpoint in spent for h in held):
            out[owner] = tuple(
                Holding(h.outpoint, h.height, h.value, spent[h.outpoint])
                if h.outpoint in spent
                else h
                for h in held
            )
    return out


class _Vaults:
    """The vault scripts of the params in force at a height, one set per params (bindings
    come in chain order: a run of one height asks once)."""

    def __init__(self, params_at: Callable[[int], ResolvedParams]) -> None:
        self._params_at = params_at
        self._sets: dict[int, tuple[ResolvedParams, frozenset[bytes]]] = {}
        self._last: tuple[int, frozenset[bytes]] | None = None

    def __call__(self, height: int) -> frozenset[bytes]:
        if self._last is not None and self._last[0] == height:
            return self._last[1]
        params = self._params_at(height)
        known = self._sets.get(id(params))
        if known is None or known[0] is not params:
            known = (params, frozenset(params.vault))
            self._sets[id(params)] = known
        self._last = (height, known[1])
        return known[1]


_Owner = TypeVar("_Owner", bytes, int)  # an actuary's key, a user's id


def _hold(
    pm: PositionedMessage,
    holdings: list[Holding],
    *,
    stakes: dict[bytes, Sequence[Holding]],
    deposits: dict[int, Sequence[Holding]],
) -> None:
    msg = pm.message
    if isinstance(msg, Stake):
        _extend(stakes, msg.actuary, holdings)
    else:
        assert isinstance(msg, Plan)
        _extend(deposits, msg.user_id, holdings)


def _extend(
    by_owner: dict[_Owner, Sequence[Holding]], owner: _Owner, holdings: list[Holding]
) -> None:
    """Append to the owner's list (a resumed ledger's tuple becomes a list the first time)."""
    held: Sequence[Holding] | None = by_owner.get(owner)
    if isinstance(held, list):
        held.extend(holdings)
    else:
        by_owner[owner] = [*(held or ()), *holdings]


def binding_refusal(
    pm: PositionedMessage,
    *,
    per_tx: int,
    first_position: Position | None,
    params: ResolvedParams | None,
    owners: Mapping[int, bytes],
    memo: Memo | None,
) -> MessageStatus | None:
    """§3's ladder for one stake or plan, first refusal wins: one binding per transaction
    (``multiple_bindings``), after the first params (else ``ignored``), a plan signed by the
    operator (``bad_signature``), bound to its own transaction's first input
    (``outpoint_mismatch``), a stake by a roster actuary (``not_roster``), a user keeping
    its first owner (``owner_mismatch``). None when the message binds."""
    msg = pm.message
    assert isinstance(msg, Stake | Plan)
    if per_tx > 1:
        detail = f"{per_tx} stake/plan messages in transaction {pm.txid[::-1].hex()}"
        return verdict(pm, "quarantined", "multiple_bindings", detail)
    if first_position is None or params is None or pm.position < first_position:
        return verdict(pm, "ignored", None, "before the first params")
    if isinstance(msg, Plan) and not _plan_signed(msg, params.operator, memo):
        return verdict(pm, "quarantined", "bad_signature", "plan not signed by operator")
    if msg.outpoint != pm.first_input_prevout:
        detail = "outpoint is not the carrying transaction's first input prevout"
        return verdict(pm, "quarantined", "outpoint_mismatch", detail)
    if isinstance(msg, Stake) and msg.actuary not in {e.key for e in params.roster}:
        return verdict(pm, "quarantined", "not_roster", "actuary is not in the roster")
    if isinstance(msg, Plan):
        known = owners.get(msg.user_id)
        if known is not None and known != msg.owner:
            detail = f"user {msg.user_id} belongs to {known.hex()}"
            return verdict(pm, "quarantined", "owner_mismatch", detail)
    return None


def _vault_holdings(
    pm: PositionedMessage, chain: ChainView, *, vault: frozenset[bytes], tip: int
) -> list[Holding]:
    """The outputs of the binding's transaction paying a vault script (§3), each with the
    height that spent it (spends after ``tip`` are not known yet)."""
    holdings = []
    for o in chain.outputs_by_txid.get(pm.txid, ()):
        if o.script in vault and o.height == pm.height:
            spent = chain.spent_at(o.outpoint)
            if spent is not None and spent > tip:
                spent = None
            holdings.append(Holding(o.outpoint, o.height, o.value, spent))
    return holdings


def _plan_signed(plan: Plan, operator: bytes, memo: Memo | None) -> bool:
    if memo is None:
        return plan.verify(operator)
    # Every field of the plan (``v`` and ``kind`` are constants of the class), signature
    # included: a few microseconds against ~70 µs for the CBOR preimage and the BIP340 check.
    key = memo_key("plan-signature/1", operator, plan.user_id, plan.owner, plan.outpoint, plan.sig)
    return memo.get_or_compute(key, lambda: plan.verify(operator))


def formula_rows(
    ledger: Ledger, *, month: str, snapshots: Snapshots
) -> tuple[list[FormulaRow], bool]:
    """§6 input rows of ``month`` (whose snapshot must be known) and whether it overflows.

    One row per user_id whose first deposit is at a height ≤ S_M, by user_id: sat_blocks =
    Σ_{S_{M−1} < h ≤ S_M} deposit balance at h (computed per output as value × heights
    counted); age = whole months from the month containing the first deposit to M. A
    sat_blocks ≥ 2^64 makes the month ``overflow`` (the row keeps the exact value).
    """
    s = snapshots.snapshot(month)
    prev = snapshots.previous(month)
    assert s is not None and prev is not None
    rows: list[FormulaRow] = []
    overflow = False
    # Ages as month offsets from the first month: the same as months_between(month of the
    # first deposit, month), without formatting a month string per user.
    offset = months_between(snapshots.first_month, month)
    lo = prev + 1
    for user_id in sorted(ledger.deposits):
        holdings = ledger.deposits[user_id]
        first = min((h.height for h in holdings), default=None)
        if first is None or first > s:
            continue
        sat_blocks = 0
        for h in holdings:  # Holding.heights_counted, inlined: this loop runs per user per month
            start = lo if lo > h.height else h.height
            end = s if h.spent is None or h.spent > s else h.spent - 1
            if end >= start:
                sat_blocks += h.value * (end - start + 1)
        if sat_blocks >= U64_LIMIT:
            overflow = True
        age = offset - snapshots.month_offset(first)
        rows.append((user_id, sat_blocks, age))
    return rows, overflow
