"""The driver: every rule of PROTOCOL.md applied to the chain up to a tip.

:func:`evaluate` is pure: the same chain view, messages and tip give the same
:class:`~drey.rules.results.Evaluation`. Months are walked in order because month M + 1
depends on A_M (its start) and on the slashes decided up to S_{M+1}; the first month that
cannot be decided at the tip is reported with what is known so far and every later month is
pending. Things decided at heights ≤ tip do not change when the tip grows (same chain).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from drey.crypto.groth16 import Verifier
from drey.crypto.paillier import PaillierPublicKey
from drey.crypto.poseidon import field_to_bytes
from drey.formula.reference import FormulaRow
from drey.merkle import MonthsTree
from drey.messages import (
    Allocation,
    CircuitContribution,
    CircuitManifest,
    FormulaManifest,
    Lead,
    LeadPart,
    Params,
    Quarantine,
    ResolvedParams,
    Result,
    Secondary,
    Shares,
    Vrf,
)
from drey.rules.advance import Steady
from drey.rules.calendar import Snapshots, add_months, months_between, snapshot_heights
from drey.rules.circuit import load_verifier
from drey.rules.common import Clock, verdict
from drey.rules.election import need_for, race_quorum, roster_stakes
from drey.rules.formula import (
    FormulaResult,
    MonthRoots,
    compute_allocation,
    load_module,
    month_roots,
    rows_digest,
)
from drey.rules.inputs import (
    ChainView,
    FormulaPartInscription,
    PositionedMessage,
    sort_messages,
)
from drey.rules.ledger import BindingPoint, Ledger, bind_stakes_and_plans, formula_rows
from drey.rules.memo import Memo
from drey.rules.params import ParamsEntry, ParamsHistory, find_first_params, resolve_params
from drey.rules.penalties import MonthSlashes, redistribute, slash_month
from drey.rules.publication import choose_publication
from drey.rules.results import (
    Check,
    Evaluation,
    MessageStatus,
    MonthEvaluation,
    MonthOutcome,
    PenaltyRow,
    RewardRow,
    RosterStake,
    RoundEvaluation,
)
from drey.rules.resume import FinalMonth, evaluation_basis, is_final, resumable
from drey.rules.reveal import Expected, ProofRule
from drey.rules.rounds import (
    KeyRegistry,
    MonthContext,
    PriorRounds,
    RoundMessages,
    RoundOutput,
    evaluate_round,
    key_reuse_set,
)
from drey.rules.share_proofs import ShareVerifier

__all__ = ["evaluate"]

# Protocol v1.1's ceremony steps are checked with the circuit a params names, which the rules
# do not do yet (docs/protocol/proofs.md, status): until then such a message is used by nothing.
CONTRIBUTION_UNUSED = "a phase-2 contribution that no params' circuit lists"

_ROUND_KINDS = (Vrf, Lead, LeadPart, Secondary, Shares)


@dataclass
class _Groups:
    """Round messages of one month by round, and its allocations (chain order)."""

    rounds: dict[int, dict[str, list[PositionedMessage]]] = field(default_factory=dict)
    allocations: list[PositionedMessage] = field(default_factory=list)

    def add(self, pm: PositionedMessage) -> None:
        msg = pm.message
        if isinstance(msg, Allocation):
            self.allocations.append(pm)
            return
        kind = {Vrf: "vrfs", Lead: "leads", LeadPart: "parts", Secondary: "secondaries"}.get(
            type(msg), "shares"
        )
        rnd = msg.round  # type: ignore[union-attr]
        self.rounds.setdefault(rnd, {}).setdefault(kind, []).append(pm)

    def round(self, r: int) -> RoundMessages:
        g = self.rounds.get(r, {})
        return RoundMessages(
            vrfs=tuple(g.get("vrfs", ())),
            leads=tuple(g.get("leads", ())),
            parts=tuple(g.get("parts", ())),
            secondaries=tuple(g.get("secondaries", ())),
            shares=tuple(g.get("shares", ())),
        )

    def all(self) -> list[PositionedMessage]:
        out = [pm for g in self.rounds.values() for ms in g.values() for pm in ms]
        return out + self.allocations


def _resume_point(
    resume_from: Evaluation | None,
    *,
    chain: ChainView,
    groups: dict[str, _Groups],
    basis: bytes,
    first_month: str,
) -> tuple[FinalMonth, ...]:
    """The final months of ``resume_from`` that still hold (none without an earlier run)."""
    kept = resume_from.final_months if resume_from is not None else ()
    return resumable(
        kept,
        chain=chain,
        month_messages={m: g.all() for m, g in groups.items()},
        basis=basis,
        first_month=first_month,
        months_in_order=[add_months(first_month, i) for i in range(len(kept))],
    )


def evaluate(
    chain: ChainView,
    messages: Sequence[PositionedMessage],
    *,
    founder: bytes,
    tip_height: int,
    formula_parts: Iterable[FormulaPartInscription] = (),
    reference_check: bool = True,
    share_verifier: ShareVerifier | None = None,
    memo: Memo | None = None,
    resume_from: Evaluation | None = None,
) -> Evaluation:
    """Apply PROTOCOL.md to ``messages`` (any order; those above the tip are left out) on
    ``chain`` up to ``tip_height``.

    ``founder`` is the trust anchor; ``formula_parts`` the non-Drey inscriptions a formula
    manifest may name; ``reference_check`` also runs the Python formula beside the inscribed
    module (the alarm). ``share_verifier`` verifies decryption-share proofs (default: serial,
    on ``memo``). ``memo`` keeps share-proof verdicts, plan signature checks, formula runs and
    month trees by content across evaluations (default: a fresh one). ``resume_from`` is an
    earlier evaluation of the same network: the walk starts after its final months that still
    hold on ``chain`` (:mod:`drey.rules.resume`), with the same result as a full walk.
    """
    memo = memo if memo is not None else Memo()
    tip = min(tip_height, chain.tip)
    clock = Clock(tip)
    msgs = sort_messages([m for m in messages if m.height <= tip])
    statuses: dict[str, MessageStatus] = {}

    def put(items: Iterable[MessageStatus]) -> None:
        statuses.update((s.inscription_id, s) for s in items)

    put(
        verdict(pm, "quarantined", pm.message.reason, pm.message.detail)
        for pm in msgs
        if isinstance(pm.message, Quarantine)
    )
    anchor = _trust_anchor(chain, msgs, founder=founder, tip=tip)
    put(anchor.statuses)
    first, snapshots, history = anchor.first, anchor.snapshots, anchor.history
    if first is None or snapshots is None or history.first is None:
        return _without_first_params(chain, clock, msgs, statuses)

    params_at = _ParamsAt(snapshots, history)
    ledger, binding_statuses, binding = bind_stakes_and_plans(
        msgs,
        chain,
        first_position=first.position,
        params_at=lambda h: params_at(h).resolved,
        tip=tip,
        memo=memo,
        # An evaluation saved before binding points were kept has none.
        resume=getattr(resume_from, "binding", None),
    )
    put(binding_statuses)
    first_month = history.first.params.first_month
    groups, early = _group_by_month(msgs, first=first, first_month=first_month)
    put(early)
    walker = _MonthWalker(
        chain=chain,
        clock=clock,
        snapshots=snapshots,
        history=history,
        ledger=ledger,
        manifests=anchor.manifests,
        parts={p.inscription_id: p for p in formula_parts},
        reference_check=reference_check,
        share_verifier=share_verifier or ShareVerifier(memo=memo),
        memo=memo,
    )
    basis = evaluation_basis(
        founder=founder, first_params=first.inscription_id, reference_check=reference_check
    )
    resume = _resume_point(
        resume_from, chain=chain, groups=groups, basis=basis, first_month=first_month
    )
    walk = walker.walk(
        groups,
        first_month=first_month,
        first=first,
        first_entry=history.first,
        resume=resume,
        basis=basis,
    )
    put(walk.statuses)
    put(_undecided(groups, statuses, walk.pending_month))
    put(
        verdict(pm, "ignored", None, "not a message the rules use")
        for pm in msgs
        if pm.inscription_id not in statuses  # pragma: no cover - defensive
    )
    steady = _steady(chain, clock, snapshots)
    return _result(clock, first.inscription_id, first_month, msgs, statuses, walk, binding, steady)


def _without_first_params(
    chain: ChainView,
    clock: Clock,
    msgs: Sequence[PositionedMessage],
    statuses: dict[str, MessageStatus],
) -> Evaluation:
    """No valid first params yet: every message not judged already is ignored."""
    for pm in msgs:
        if pm.inscription_id not in statuses:
            statuses[pm.inscription_id] = verdict(pm, "ignored", None, "before the first params")
    return _result(clock, None, None, msgs, statuses, None, None, _steady(chain, clock, None))


def _steady(chain: ChainView, clock: Clock, snapshots: Snapshots | None) -> Steady | None:
    """What :func:`drey.rules.advance.advance` needs (``None`` on a view without the tip)."""
    if not chain.has(clock.tip):
        return None
    return Steady(chain.block_hash(clock.tip), snapshots, clock.waiting_for)


class _ParamsAt:
    """params(M) of the month holding a height, each month looked up once (§2)."""

    def __init__(self, snapshots: Snapshots, history: ParamsHistory) -> None:
        self._snapshots = snapshots
        self._history = history
        self._by_offset: dict[int, ParamsEntry] = {}

    def __call__(self, height: int) -> ParamsEntry:
        offset = self._snapshots.month_offset(height)
        entry = self._by_offset.get(offset)
        if entry is None:
            entry = self._history.for_month(self._snapshots.month_of_height(height))
            assert entry is not None
            self._by_offset[offset] = entry
        return entry


@dataclass(frozen=True, slots=True)
class _TrustAnchor:
    """§2 from the founder key: the first valid params (and the snapshots it fixes), the
    params history, the founder-signed formula manifests, and the statuses of all three."""

    first: PositionedMessage | None
    snapshots: Snapshots | None
    history: ParamsHistory
    manifests: Mapping[str, PositionedMessage]
    statuses: tuple[MessageStatus, ...]


def _trust_anchor(
    chain: ChainView, msgs: Sequence[PositionedMessage], *, founder: bytes, tip: int
) -> _TrustAnchor:
    params_msgs = [pm for pm in msgs if isinstance(pm.message, Params)]
    first = find_first_params(params_msgs, founder=founder)
    snapshots = None
    if first is not None:
        fm = first.message
        assert isinstance(fm, Params)
        snapshots = snapshot_heights(chain, first_month=fm.first_month, base=first.height, tip=tip)
    history, statuses = resolve_params(params_msgs, founder=founder, snapshots=snapshots)
    out = list(statuses)
    manifests: dict[str, PositionedMessage] = {}
    for pm in msgs:
        if isinstance(pm.message, FormulaManifest | CircuitManifest):
            if pm.message.verify(founder):
                manifests[pm.inscription_id] = pm
                out.append(verdict(pm, "valid"))
            else:
                out.append(verdict(pm, "quarantined", "bad_signature", "not signed by the founder"))
    out.extend(_contribution_statuses(msgs, history, manifests))
    return _TrustAnchor(first, snapshots, history, manifests, tuple(out))


def _contribution_statuses(
    msgs: Sequence[PositionedMessage],
    history: ParamsHistory,
    manifests: Mapping[str, PositionedMessage],
) -> list[MessageStatus]:
    """A ``circuit_contribution`` is valid when a valid params' circuit lists it at position
    i (from 1) and it is roster member i's, signed by that member (proofs.md §5); any other
    is ignored, saying why."""
    contributions = {
        pm.inscription_id: pm for pm in msgs if isinstance(pm.message, CircuitContribution)
    }
    listed: dict[str, str | None] = {}
    for entry in history.entries:
        manifest = manifests.get(entry.params.circuit or "")
        if manifest is None or not isinstance(manifest.message, CircuitManifest):
            continue
        roster = {e.index: e.key for e in entry.params.roster}
        for i, cid in enumerate(manifest.message.contributions, start=1):
            listed[cid] = _contribution_problem(contributions.get(cid), i, roster.get(i))
    out: list[MessageStatus] = []
    for cid, pm in contributions.items():
        problem = listed.get(cid, CONTRIBUTION_UNUSED)
        out.append(
            verdict(pm, "valid") if problem is None else verdict(pm, "ignored", None, problem)
        )
    return out


def _contribution_problem(
    pm: PositionedMessage | None, index: int, roster_key: bytes | None
) -> str | None:
    if pm is None or not isinstance(pm.message, CircuitContribution):
        return CONTRIBUTION_UNUSED
    c = pm.message
    if c.index != index or roster_key is None or c.actuary != roster_key:
        return f"listed at {index}, but not roster member {index}'s contribution"
    if not c.verify(c.actuary):
        return "not signed by its actuary"
    return None


def _group_by_month(
    msgs: Sequence[PositionedMessage], *, first: PositionedMessage, first_month: str
) -> tuple[dict[str, _Groups], list[MessageStatus]]:
    """Round messages and allocations by the month they name; those before the first params
    or naming a month before first_month are ignored."""
    groups: dict[str, _Groups] = {}
    ignored: list[MessageStatus] = []
    for pm in msgs:
        msg = pm.message
        if not isinstance(msg, (*_ROUND_KINDS, Allocation)):
            continue
        if pm.position < first.position:
            ignored.append(verdict(pm, "ignored", None, "before the first params"))
        elif msg.month < first_month:
            ignored.append(verdict(pm, "ignored", None, f"{msg.month} is before first_month"))
        else:
            groups.setdefault(msg.month, _Groups()).add(pm)
    return groups, ignored


def _undecided(
    groups: Mapping[str, _Groups],
    statuses: Mapping[str, MessageStatus],
    pending_month: str | None,
) -> list[MessageStatus]:
    """Messages of the pending month and later ones, which no month evaluation reached."""
    out = []
    for m, g in groups.items():
        for pm in g.all():
            if pm.inscription_id in statuses:
                continue
            if pending_month is not None and m >= pending_month:
                out.append(verdict(pm, "pending", None, f"{m} is not decided yet"))
            else:  # pragma: no cover - every evaluated month assigns its messages
                out.append(verdict(pm, "ignored", None, "not evaluated"))
    return out


@dataclass(frozen=True, slots=True)
class _Walk:
    months: tuple[MonthEvaluation, ...]
    statuses: tuple[MessageStatus, ...]
    penalties: tuple[PenaltyRow, ...]
    checks: tuple[Check, ...]
    pending_month: str | None
    final_months: tuple[FinalMonth, ...] = ()


def _result(
    clock: Clock,
    first_id: str | None,
    first_month: str | None,
    msgs: Sequence[PositionedMessage],
    statuses: Mapping[str, MessageStatus],
    walk: _Walk | None,
    binding: BindingPoint | None,
    steady: Steady | None,
) -> Evaluation:
    """The evaluation of a walk (``None``: no first params, nothing walked)."""
    walk = walk or _Walk(months=(), statuses=(), penalties=(), checks=(), pending_month=None)
    months = walk.months
    ordered = tuple(statuses[pm.inscription_id] for pm in msgs)
    roots = tuple((m.month, m.months_root) for m in months if m.months_root is not None)
    decided = [m for m in months if m.outcome != "pending"]
    rows, carried, _final = redistribute(_month_slashes(decided))
    return Evaluation(
        tip_height=clock.tip,
        first_params=first_id,
        first_month=first_month,
        statuses=ordered,
        months=months,
        pending_month=walk.pending_month,
        months_roots=roots,
        penalties=walk.penalties,
        redistribution=tuple(rows),
        carried=carried,
        checks=walk.checks,
        by_id=MappingProxyType({s.inscription_id: s for s in ordered}),
        final_months=walk.final_months,
        binding=binding,
        steady=steady,
    )


def _month_slashes(decided: Sequence[MonthEvaluation]) -> list[MonthSlashes]:
    """The decided months for redistribution. Until something is slashed no sats are
    shared, so the months before the first slash carry no rows (at 100,000 users, building
    them was most of the redistribution's time)."""
    out = []
    slashed = 0
    for m in decided:
        accepted = m.outcome == "accepted"
        slashed += m.slashed
        dreybits = m.dreybits or ()
        rows = (
            tuple((r[0], d) for r, d in zip(m.rows, dreybits, strict=False))
            if accepted and slashed
            else ()
        )
        funded = accepted and any(dreybits[: len(m.rows)])
        out.append(MonthSlashes(m.month, accepted, m.settled, m.slashed, rows, funded))
    return out


@dataclass(frozen=True, slots=True)
class _MonthOut:
    evaluation: MonthEvaluation
    statuses: tuple[MessageStatus, ...]
    penalties: tuple[PenaltyRow, ...]
    checks: tuple[Check, ...]
    registry: KeyRegistry
    tree: MonthsTree


@dataclass
class _WalkState:
    """What the month walk carries from one month to the next, and what it has found."""

    month: str
    prev_decided: int
    tree: MonthsTree
    registry: KeyRegistry
    months: list[MonthEvaluation] = field(default_factory=list)
    statuses: list[MessageStatus] = field(default_factory=list)
    penalties: list[PenaltyRow] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    finals: list[FinalMonth] = field(default_factory=list)
    all_final: bool = True  # every month so far is final

    @classmethod
    def start(cls, first_height: int, first_entry: ParamsEntry, first_month: str) -> _WalkState:
        tree = MonthsTree.empty(depth=first_entry.resolved.months_depth)
        return cls(first_month, first_height, tree, KeyRegistry())

    def resume(self, point: FinalMonth) -> None:
        self.months.append(point.evaluation)
        self.statuses.extend(point.statuses)
        self.penalties.extend(point.penalties)
        self.checks.extend(point.checks)
        self.finals.append(point)
        self.tree, self.registry = point.tree, point.registry
        self.prev_decided = point.decided_height
        self.month = add_months(point.month, 1)

    def add(self, out: _MonthOut) -> None:
        self.months.append(out.evaluation)
        self.statuses.extend(out.statuses)
        self.penalties.extend(out.penalties)
        self.checks.extend(out.checks)
        self.registry = out.registry

    def final_point(self, out: _MonthOut, tip: int, tip_hash: bytes, basis: bytes) -> FinalMonth:
        assert out.evaluation.decided_height is not None
        return FinalMonth(
            evaluation=out.evaluation,
            height=tip,
            block_hash=tip_hash,
            basis=basis,
            statuses=out.statuses,
            penalties=out.penalties,
            checks=out.checks,
            tree=out.tree,
            registry=out.registry,
            decided_height=out.evaluation.decided_height,
        )

    def next_month(self, out: _MonthOut) -> None:
        self.tree = out.tree
        assert out.evaluation.decided_height is not None
        self.prev_decided = out.evaluation.decided_height
        self.month = add_months(self.month, 1)

    def result(self) -> _Walk:
        return _Walk(
            tuple(self.months),
            tuple(self.statuses),
            tuple(self.penalties),
            tuple(self.checks),
            self.month,
            tuple(self.finals),
        )


@dataclass
class _MonthWalker:
    """Per-evaluation caches (modules, Paillier keys, share verifications) and the month
    rules. Lives for one :func:`evaluate` call."""

    chain: ChainView
    clock: Clock
    snapshots: Snapshots
    history: ParamsHistory
    ledger: Ledger
    manifests: Mapping[str, PositionedMessage]
    parts: Mapping[str, FormulaPartInscription]
    reference_check: bool
    modules: dict[tuple[str, str], bytes | str] = field(default_factory=dict)
    keys: dict[str, PaillierPublicKey] = field(default_factory=dict)
    verifiers: dict[tuple[str, str], Verifier | str] = field(default_factory=dict)
    share_verifier: ShareVerifier = field(default_factory=ShareVerifier)
    memo: Memo = field(default_factory=Memo)

    def walk(
        self,
        groups: Mapping[str, _Groups],
        *,
        first_month: str,
        first: PositionedMessage,
        first_entry: ParamsEntry,
        resume: Sequence[FinalMonth] = (),
        basis: bytes = b"",
    ) -> _Walk:
        """Months in order from first_month: M + 1 starts at A_M and sees the slashes decided
        by S_{M+1}, so the walk stops at the first month that is not decided (or has no
        snapshot yet). ``resume`` is a leading run of final months (checked by the caller):
        the walk starts with their results and the state after the last of them."""
        walked = _WalkState.start(first.height, first_entry, first_month)
        for point in resume:
            walked.resume(point)
        while self.snapshots.snapshot(walked.month) is not None:
            out = self.month(
                walked.month,
                groups=groups.get(walked.month, _Groups()),
                prev_decided=walked.prev_decided,
                tree=walked.tree,
                registry=walked.registry,
                penalties=walked.penalties,
            )
            walked.add(out)
            if out.evaluation.outcome == "pending":
                break
            if walked.all_final and is_final(out.evaluation):
                tip = self.clock.tip
                tip_hash = self.chain.block_hash(tip)
                walked.finals.append(walked.final_point(out, tip, tip_hash, basis))
            else:
                walked.all_final = False
            walked.next_month(out)
        return walked.result()

    def month(
        self,
        month: str,
        *,
        groups: _Groups,
        prev_decided: int,
        tree: MonthsTree,
        registry: KeyRegistry,
        penalties: Sequence[PenaltyRow],
    ) -> _MonthOut:
        """Month M from B_M to its outcome: the start (§4), a failure at the start, else the
        formula and roots (§6, §7), the rounds (§8, §9), the publication and the slashes."""
        start = self._start(month, prev_decided=prev_decided, tree=tree, penalties=penalties)
        if start.failure is not None:
            return self._failed_at_start(start, groups, tree, registry)
        formula, roots, checks = self._formula_and_roots(start, tree)
        p = start.params
        ctx = self._context(start, formula, roots, tree)
        outputs, outcome, decided = self._rounds(ctx, groups, start.start, registry)
        statuses: dict[str, MessageStatus] = {}
        for out in outputs:
            statuses.update((s.inscription_id, s) for s in out.statuses)
            checks.extend(out.checks)
        last = outputs[-1].evaluation.round if outputs else -1
        statuses.update(_unstarted_rounds(groups, after=last, outcome=outcome, p=p))
        accepted_round = outputs[-1].evaluation.round if outcome == "accepted" else None
        lead_result = outputs[-1].lead_result if outcome == "accepted" else None
        publication, pub_statuses, pub_checks = _publication(
            groups, start, outcome, accepted_round, decided, lead_result
        )
        statuses.update((s.inscription_id, s) for s in pub_statuses)
        checks.extend(pub_checks)
        month_penalties = slash_month(
            [e for out in outputs for e in out.offences],
            base={r.key: r.weight for r in start.roster},
            penalty_bps=p.penalty_bps,
        )
        after, months_root = _tree_after(outcome, roots, tree, start.leaf_index)
        if outcome != "pending":
            checks.append(
                Check(
                    "month_outcome",
                    month,
                    accepted_round,
                    outcome == "accepted",
                    f"{outcome} at {decided}",
                )
            )
        evaluation = start.evaluation(
            dreybits=formula.dreybits,
            formula_source=formula.source,
            month_root=roots.month_root,
            n_rows=roots.n_rows,
            commitment=field_to_bytes(roots.commitment),
            rounds=tuple(o.evaluation for o in outputs),
            outcome=outcome,
            decided_height=decided,
            accepted_round=accepted_round,
            months_root=months_root,
            publication=publication,
            rewards=tuple(r for out in outputs for r in out.rewards),
            rewards_final=outcome == "accepted" and outputs[-1].evaluation.settled,
            slashed=sum(r.slash for r in month_penalties),
            settled=outcome != "pending"
            and all(o.evaluation.settled or o.evaluation.reveal_start is None for o in outputs),
        )
        return _MonthOut(
            evaluation,
            tuple(statuses.values()),
            tuple(month_penalties),
            tuple(checks),
            registry.with_keys(k for out in outputs for k in out.keys),
            after,
        )

    def _context(
        self, start: MonthStart, formula: FormulaResult, roots: MonthRoots, tree: MonthsTree
    ) -> MonthContext:
        """What every round of the month is judged against: params(M), the expected result
        (§8 agreement), weights, need and quorum (§9), and under v1.1 the proof rule (the
        circuit's verifier and the months history before M)."""
        p = start.params
        proofs = None
        if p.circuit is not None:
            first_month = self.history.entries[0].params.first_month
            proofs = ProofRule(self._verifier(p.circuit, start.entry), tree, first_month)
        return MonthContext(
            month=start.month,
            params=p,
            pk=self._pk(start.entry),
            roster_index={e.key: e.index for e in p.roster},
            vrf_keys={e.key: e.vrf_key for e in p.roster},
            weights=start.weights,
            need=start.need,
            quorum=start.quorum,
            expected=Expected(formula.dreybits, roots.month_root, roots.n_rows, roots.months_root),
            pool_sats=start.pool_sats,
            chain=self.chain,
            clock=self.clock,
            proofs=proofs,
        )

    def _start(
        self,
        month: str,
        *,
        prev_decided: int,
        tree: MonthsTree,
        penalties: Sequence[PenaltyRow],
    ) -> MonthStart:
        """§4 at B_M: the params in force, the roster's stakes at S_M less the slashes decided
        by then, eligibility, need and race quorum, the formula rows and the fee pool."""
        snapshot = self.snapshots.snapshot(month)
        prev_snapshot = self.snapshots.previous(month)
        assert snapshot is not None and prev_snapshot is not None
        entry = self.history.for_month(month)
        assert entry is not None
        p = entry.resolved
        slashed: dict[bytes, int] = {}
        for row in penalties:
            if row.height <= snapshot:
                slashed[row.actuary] = slashed.get(row.actuary, 0) + row.slash
        roster = roster_stakes(
            p, stake_at=lambda k: self.ledger.stake_at(k, snapshot), slashed=slashed
        )
        rows, overflow = formula_rows(self.ledger, month=month, snapshots=self.snapshots)
        first_month = self.history.entries[0].params.first_month
        return MonthStart(
            month=month,
            entry=entry,
            prev_snapshot=prev_snapshot,
            snapshot=snapshot,
            start=max(snapshot, prev_decided),
            roster=tuple(roster),
            rows=tuple(rows),
            overflow=overflow,
            leaf_index=months_between(first_month, month),
            tree_full=months_between(first_month, month) >= tree.capacity,
            pool_sats=self.ledger.total_deposits_at(snapshot) * p.fee_bps // 10_000,
        )

    def _failed_at_start(
        self, start: MonthStart, groups: _Groups, tree: MonthsTree, registry: KeyRegistry
    ) -> _MonthOut:
        """§4: a month with no eligible actuary, an overflowing sat block or a full months
        tree fails at B_M; its leaf is 0 (unless the tree is full) and it has no rounds."""
        reason = start.failure
        statuses = _fallback_statuses(
            groups, start.roster, f"{start.month} failed at B_M: {reason}"
        )
        check = Check(
            "month_outcome", start.month, None, False, f"failed at {start.start}: {reason}"
        )
        after = tree if start.tree_full else tree.with_leaf(start.leaf_index, 0)
        evaluation = start.evaluation(
            dreybits=None,
            formula_source="none",
            month_root=None,
            n_rows=len(start.rows),
            commitment=None,
            rounds=(),
            outcome="failed",
            decided_height=start.start,
            accepted_round=None,
            months_root=field_to_bytes(after.root),
            settled=True,
        )
        return _MonthOut(evaluation, statuses, (), (check,), registry, after)

    def _formula_and_roots(
        self, start: MonthStart, tree: MonthsTree
    ) -> tuple[FormulaResult, MonthRoots, list[Check]]:
        """§6 and §7: the inscribed module on the month's rows (beside the Python reference,
        the alarm), then the month tree, its commitment and the months tree with its leaf."""
        p, month = start.params, start.month
        digest = rows_digest(start.rows)
        formula = compute_allocation(
            start.rows,
            pool=p.dreybits_per_month,
            module=self._module(p.formula, start.entry),
            reference=self.reference_check,
            memo=self.memo,
            digest=digest,
        )
        checks = [
            Check(
                "formula_module",
                month,
                None,
                formula.module_problem is None,
                formula.module_problem or f"module {p.formula} ran",
            )
        ]
        if formula.reference_match is not None:
            checks.append(
                Check(
                    "formula_reference",
                    month,
                    None,
                    formula.reference_match,
                    "module and Python reference agree"
                    if formula.reference_match
                    else "ALARM: module output differs from the Python reference",
                )
            )
        roots = month_roots(
            start.rows,
            formula.dreybits,
            month=month,
            leaf_index=start.leaf_index,
            history=tree,
            memo=self.memo,
            digest=digest,
        )
        return formula, roots, checks

    def _rounds(
        self, ctx: MonthContext, groups: _Groups, start: int, registry: KeyRegistry
    ) -> tuple[list[RoundOutput], MonthOutcome, int | None]:
        """Run the rounds; redo them once if key reuse judged in reveal order across the
        month's rounds differs from what the sequential pass saw (see rules.md)."""
        override: frozenset[str] | None = None
        for _ in range(3):
            outputs, outcome, decided = self._round_pass(ctx, groups, start, registry, override)
            keys = [k for out in outputs for k in out.keys]
            truth = key_reuse_set(registry, keys)
            used = frozenset().union(*(out.key_reuse for out in outputs))
            if truth == used:
                break
            override = truth
        return outputs, outcome, decided

    def _round_pass(
        self,
        ctx: MonthContext,
        groups: _Groups,
        start: int,
        registry: KeyRegistry,
        override: frozenset[str] | None,
    ) -> tuple[list[RoundOutput], MonthOutcome, int | None]:
        p = ctx.params
        outputs: list[RoundOutput] = []
        prior = PriorRounds()
        seed = start + p.confirmations - 1
        decided: int | None = None
        for r in range(p.max_rounds):
            out = evaluate_round(
                ctx,
                r,
                seed,
                groups.round(r),
                prior,
                registry,
                key_reuse_override=override,
                share_verifier=self.share_verifier,
            )
            outputs.append(out)
            registry = registry.with_keys(out.keys)
            ev: RoundEvaluation = out.evaluation
            d = ev.decision
            if d.outcome == "pending":
                return outputs, "pending", None
            assert d.height is not None
            decided = d.height
            if d.outcome == "accepted":
                return outputs, "accepted", decided
            missed = prior.missed
            if d.reason == "no_lead_package" and ev.lead is not None:
                missed = missed | {ev.lead}
            prior = PriorRounds(
                missed,
                prior.results + out.results,
                prior.reveal_heights
                + tuple(v.reveal_height for v in ev.reveals if v.reveal_height is not None),
            )
            seed = d.height + p.confirmations - 1
        return outputs, "failed", decided

    def _module(self, formula_id: str, entry: ParamsEntry) -> bytes | str:
        key = (formula_id, entry.inscription_id)
        if key not in self.modules:
            self.modules[key] = load_module(
                formula_id, manifests=self.manifests, parts=self.parts, params_height=entry.height
            )
        return self.modules[key]

    def _verifier(self, circuit_id: str, entry: ParamsEntry) -> Verifier | str:
        key = (circuit_id, entry.inscription_id)
        if key not in self.verifiers:
            self.verifiers[key] = load_verifier(
                circuit_id,
                manifests=self.manifests,
                parts=self.parts,
                params_height=entry.height,
                months_depth=entry.resolved.months_depth,
            )
        return self.verifiers[key]

    def _pk(self, entry: ParamsEntry) -> PaillierPublicKey:
        if entry.inscription_id not in self.keys:
            p = entry.resolved
            self.keys[entry.inscription_id] = PaillierPublicKey.from_params(
                n=p.paillier.n,
                v=p.paillier.v,
                vks=[e.vk for e in p.roster],
                threshold=p.threshold,
            )
        return self.keys[entry.inscription_id]


@dataclass(frozen=True, slots=True)
class MonthStart:
    """Month M at B_M (§4): what every later phase of the month reads."""

    month: str
    entry: ParamsEntry
    prev_snapshot: int
    snapshot: int
    start: int
    roster: tuple[RosterStake, ...]
    rows: tuple[FormulaRow, ...]
    overflow: bool
    leaf_index: int
    tree_full: bool
    pool_sats: int

    @property
    def params(self) -> ResolvedParams:
        return self.entry.resolved

    @property
    def weights(self) -> dict[bytes, int]:
        return {r.key: r.weight for r in self.roster if r.eligible}

    @property
    def eligible(self) -> int:
        return len(self.weights)

    @property
    def need(self) -> int:
        return need_for(self.params, self.eligible)

    @property
    def quorum(self) -> int:
        return race_quorum(self.eligible)

    @property
    def failure(self) -> str | None:
        """Why M fails at B_M, if it does: ``no_quorum``, ``overflow``, ``tree_full``."""
        if self.eligible == 0:
            return "no_quorum"
        if self.overflow:
            return "overflow"
        return "tree_full" if self.tree_full else None

    def evaluation(
        self,
        *,
        dreybits: tuple[int, ...] | None,
        formula_source: Literal["module", "reference", "none"],
        month_root: bytes | None,
        n_rows: int,
        commitment: bytes | None,
        rounds: tuple[RoundEvaluation, ...],
        outcome: MonthOutcome,
        decided_height: int | None,
        accepted_round: int | None,
        months_root: bytes | None,
        publication: str | None = None,
        rewards: tuple[RewardRow, ...] = (),
        rewards_final: bool = False,
        slashed: int = 0,
        settled: bool = False,
    ) -> MonthEvaluation:
        """The month's evaluation: these start facts and what the month came to."""
        p = self.params
        return MonthEvaluation(
            month=self.month,
            params_id=self.entry.inscription_id,
            params=p,
            prev_snapshot=self.prev_snapshot,
            snapshot=self.snapshot,
            start=self.start,
            roster=self.roster,
            eligible=self.eligible,
            need=self.need,
            race_quorum=self.quorum,
            no_quorum=self.eligible == 0,
            overflow=self.overflow,
            under_threshold=self.eligible < p.threshold,
            rows=self.rows,
            dreybits=dreybits,
            formula_source=formula_source,
            month_root=month_root,
            n_rows=n_rows,
            commitment=commitment,
            pool_sats=self.pool_sats,
            rounds=rounds,
            outcome=outcome,
            decided_height=decided_height,
            accepted_round=accepted_round,
            months_root=months_root,
            publication=publication,
            rewards=rewards,
            rewards_final=rewards_final,
            slashed=slashed,
            settled=settled,
        )


def _unstarted_rounds(
    groups: _Groups, *, after: int, outcome: str, p: ResolvedParams
) -> list[tuple[str, MessageStatus]]:
    """Messages of rounds after the last evaluated one: ``pending`` while M is pending and the
    round may still exist (r < max_rounds), else ``ignored`` (the round does not exist)."""
    out = []
    for r, g in groups.rounds.items():
        if r <= after:
            continue
        for ms in g.values():
            for pm in ms:
                if outcome == "pending" and r < p.max_rounds:
                    status = verdict(pm, "pending", None, "round not started")
                else:
                    status = verdict(pm, "ignored", None, f"round {r} does not exist")
                out.append((pm.inscription_id, status))
    return out


def _publication(
    groups: _Groups,
    start: MonthStart,
    outcome: str,
    accepted_round: int | None,
    decided: int | None,
    lead_result: Result | None,
) -> tuple[str | None, tuple[MessageStatus, ...], tuple[Check, ...]]:
    """§9 publication of an accepted month (the first valid ``allocation``), or the statuses
    of the month's allocations when it is pending or failed."""
    if outcome == "accepted" and decided is not None and lead_result is not None:
        assert accepted_round is not None
        pub = choose_publication(
            groups.allocations,
            params=start.params,
            accepted_round=accepted_round,
            decided_height=decided,
            lead_result=lead_result,
        )
        check = Check(
            "publication",
            start.month,
            accepted_round,
            pub.publication is not None,
            pub.publication or "no publication yet",
        )
        return pub.publication, tuple(pub.statuses), (check,)
    if outcome == "pending":
        statuses = [verdict(pm, "pending", None, "month pending") for pm in groups.allocations]
    else:
        statuses = [
            verdict(pm, "ignored", None, f"{start.month} failed") for pm in groups.allocations
        ]
    return None, tuple(statuses), ()


def _tree_after(
    outcome: str, roots: MonthRoots, tree: MonthsTree, leaf_index: int
) -> tuple[MonthsTree, bytes | None]:
    """§7: the months tree after M: with the month's commitment when accepted, 0 when it
    failed, unchanged (and no root yet) while it is pending."""
    if outcome == "accepted":
        return roots.tree, roots.months_root
    if outcome == "failed":
        after = tree.with_leaf(leaf_index, 0)
        return after, field_to_bytes(after.root)
    return tree, None


def _fallback_statuses(
    groups: _Groups, roster: Sequence[RosterStake], detail: str
) -> tuple[MessageStatus, ...]:
    """Statuses of a month without rounds: quarantine what is plainly not allowed
    (precedence), ignore the rest."""
    eligible = {r.key for r in roster if r.eligible}
    members = {r.key for r in roster}
    out = []
    for pm in groups.all():
        msg = pm.message
        if isinstance(msg, Vrf | Secondary) and msg.actuary not in eligible:
            out.append(verdict(pm, "quarantined", "not_eligible", detail))
        elif isinstance(msg, Shares) and msg.actuary not in members:
            out.append(verdict(pm, "quarantined", "not_roster", detail))
        else:
            out.append(verdict(pm, "ignored", None, detail))
    return tuple(out)
