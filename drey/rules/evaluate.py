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

from drey.crypto.paillier import PaillierPublicKey
from drey.crypto.poseidon import field_to_bytes
from drey.merkle import MonthsTree
from drey.messages import (
    Allocation,
    FormulaManifest,
    Lead,
    LeadPart,
    Params,
    Quarantine,
    Secondary,
    Shares,
    Vrf,
)
from drey.rules.calendar import Snapshots, add_months, months_between, snapshot_heights
from drey.rules.common import verdict
from drey.rules.election import need_for, race_quorum, roster_stakes
from drey.rules.formula import compute_allocation, load_module, month_roots, rows_digest
from drey.rules.inputs import (
    ChainView,
    FormulaPartInscription,
    PositionedMessage,
    sort_messages,
)
from drey.rules.ledger import Ledger, bind_stakes_and_plans, formula_rows
from drey.rules.memo import Memo
from drey.rules.params import ParamsEntry, ParamsHistory, find_first_params, resolve_params
from drey.rules.penalties import MonthSlashes, redistribute, slash_month
from drey.rules.publication import choose_publication
from drey.rules.results import (
    Check,
    Evaluation,
    MessageStatus,
    MonthEvaluation,
    PenaltyRow,
    RosterStake,
    RoundEvaluation,
)
from drey.rules.reveal import Expected
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
) -> Evaluation:
    """Apply PROTOCOL.md to ``messages`` (any order; those above the tip are left out) on
    ``chain`` up to ``tip_height``.

    ``founder`` is the trust anchor; ``formula_parts`` are the non-Drey inscriptions a
    formula manifest may name (id → height and fields); ``reference_check`` also runs the
    Python formula beside the inscribed module (the alarm comparison). ``share_verifier``
    verifies decryption-share proofs (default: a serial one on ``memo``); pass one to verify on
    worker processes. ``memo`` keeps share-proof verdicts, plan signature checks, formula runs
    and month trees by content (default: a fresh one); pass one to keep them across
    evaluations.
    """
    memo = memo if memo is not None else Memo()
    tip = min(tip_height, chain.tip)
    msgs = sort_messages([m for m in messages if m.height <= tip])
    statuses: dict[str, MessageStatus] = {}
    checks: list[Check] = []

    def put(items: Iterable[MessageStatus]) -> None:
        for s in items:
            statuses[s.inscription_id] = s

    for pm in msgs:
        if isinstance(pm.message, Quarantine):
            put([verdict(pm, "quarantined", pm.message.reason, pm.message.detail)])

    params_msgs = [pm for pm in msgs if isinstance(pm.message, Params)]
    first = find_first_params(params_msgs, founder=founder)
    snapshots = None
    if first is not None:
        fm = first.message
        assert isinstance(fm, Params)
        snapshots = snapshot_heights(chain, first_month=fm.first_month, base=first.height, tip=tip)
    history, params_statuses = resolve_params(params_msgs, founder=founder, snapshots=snapshots)
    put(params_statuses)

    manifests: dict[str, PositionedMessage] = {}
    for pm in msgs:
        if isinstance(pm.message, FormulaManifest):
            if pm.message.verify(founder):
                manifests[pm.inscription_id] = pm
                put([verdict(pm, "valid")])
            else:
                put([verdict(pm, "quarantined", "bad_signature", "not signed by the founder")])

    if first is None or snapshots is None or history.first is None:
        for pm in msgs:
            if pm.inscription_id not in statuses:
                put([verdict(pm, "ignored", None, "before the first params")])
        return _result(tip, None, None, msgs, statuses, [], None, [], checks)

    first_entry = history.first
    first_month = first_entry.params.first_month

    entries_by_offset: dict[int, ParamsEntry] = {}  # a month's params, looked up once

    def params_at(height: int) -> ParamsEntry:
        offset = snapshots.month_offset(height)
        entry = entries_by_offset.get(offset)
        if entry is None:
            entry = history.for_month(snapshots.month_of_height(height))
            assert entry is not None
            entries_by_offset[offset] = entry
        return entry

    ledger, binding_statuses = bind_stakes_and_plans(
        msgs,
        chain,
        first_position=first.position,
        params_at=lambda h: params_at(h).resolved,
        tip=tip,
        memo=memo,
    )
    put(binding_statuses)

    groups: dict[str, _Groups] = {}
    for pm in msgs:
        msg = pm.message
        if not isinstance(msg, (*_ROUND_KINDS, Allocation)):
            continue
        if pm.position < first.position:
            put([verdict(pm, "ignored", None, "before the first params")])
        elif msg.month < first_month:
            put([verdict(pm, "ignored", None, f"{msg.month} is before first_month")])
        else:
            groups.setdefault(msg.month, _Groups()).add(pm)

    walker = _MonthWalker(
        chain=chain,
        tip=tip,
        snapshots=snapshots,
        history=history,
        ledger=ledger,
        manifests=manifests,
        parts={p.inscription_id: p for p in formula_parts},
        reference_check=reference_check,
        share_verifier=share_verifier or ShareVerifier(memo=memo),
        memo=memo,
    )
    months_out: list[MonthEvaluation] = []
    penalties: list[PenaltyRow] = []
    prev_decided = first.height
    tree = MonthsTree.empty(depth=first_entry.resolved.months_depth)
    registry = KeyRegistry()
    pending_month: str | None = None
    month = first_month
    while True:
        if snapshots.snapshot(month) is None:
            pending_month = month
            break
        out = walker.month(
            month,
            groups=groups.get(month, _Groups()),
            prev_decided=prev_decided,
            tree=tree,
            registry=registry,
            penalties=penalties,
        )
        months_out.append(out.evaluation)
        put(out.statuses)
        penalties.extend(out.penalties)
        checks.extend(out.checks)
        registry = out.registry
        if out.evaluation.outcome == "pending":
            pending_month = month
            break
        tree = out.tree
        assert out.evaluation.decided_height is not None
        prev_decided = out.evaluation.decided_height
        month = add_months(month, 1)

    for m, g in groups.items():
        for pm in g.all():
            if pm.inscription_id in statuses:
                continue
            if pending_month is not None and m >= pending_month:
                put([verdict(pm, "pending", None, f"{m} is not decided yet")])
            else:  # pragma: no cover - every evaluated month assigns its messages
                put([verdict(pm, "ignored", None, "not evaluated")])
    for pm in msgs:
        if pm.inscription_id not in statuses:  # pragma: no cover - defensive
            put([verdict(pm, "ignored", None, "not a message the rules use")])

    return _result(
        tip,
        first.inscription_id,
        first_month,
        msgs,
        statuses,
        months_out,
        pending_month,
        penalties,
        checks,
    )


def _result(
    tip: int,
    first_id: str | None,
    first_month: str | None,
    msgs: Sequence[PositionedMessage],
    statuses: Mapping[str, MessageStatus],
    months: Sequence[MonthEvaluation],
    pending_month: str | None,
    penalties: Sequence[PenaltyRow],
    checks: Sequence[Check],
) -> Evaluation:
    ordered = tuple(statuses[pm.inscription_id] for pm in msgs)
    roots = tuple((m.month, m.months_root) for m in months if m.months_root is not None)
    decided = [m for m in months if m.outcome != "pending"]
    rows, carried, _final = redistribute(
        [
            MonthSlashes(
                m.month,
                m.outcome == "accepted",
                m.settled,
                m.slashed,
                tuple((r[0], d) for r, d in zip(m.rows, m.dreybits or (), strict=False))
                if m.outcome == "accepted"
                else (),
            )
            for m in decided
        ]
    )
    return Evaluation(
        tip_height=tip,
        first_params=first_id,
        first_month=first_month,
        statuses=ordered,
        months=tuple(months),
        pending_month=pending_month,
        months_roots=roots,
        penalties=tuple(penalties),
        redistribution=tuple(rows),
        carried=carried,
        checks=tuple(checks),
        by_id=MappingProxyType({s.inscription_id: s for s in ordered}),
    )


@dataclass(frozen=True, slots=True)
class _MonthOut:
    evaluation: MonthEvaluation
    statuses: tuple[MessageStatus, ...]
    penalties: tuple[PenaltyRow, ...]
    checks: tuple[Check, ...]
    registry: KeyRegistry
    tree: MonthsTree


@dataclass
class _MonthWalker:
    """Per-evaluation caches (modules, Paillier keys, share verifications) and the month
    rules. Lives for one :func:`evaluate` call."""

    chain: ChainView
    tip: int
    snapshots: Snapshots
    history: ParamsHistory
    ledger: Ledger
    manifests: Mapping[str, PositionedMessage]
    parts: Mapping[str, FormulaPartInscription]
    reference_check: bool
    modules: dict[tuple[str, str], bytes | str] = field(default_factory=dict)
    keys: dict[str, PaillierPublicKey] = field(default_factory=dict)
    share_verifier: ShareVerifier = field(default_factory=ShareVerifier)
    memo: Memo = field(default_factory=Memo)

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
        weights = {r.key: r.weight for r in roster if r.eligible}
        eligible = len(weights)
        need = need_for(p, eligible)
        quorum = race_quorum(eligible)
        rows, overflow = formula_rows(self.ledger, month=month, snapshots=self.snapshots)
        start = max(snapshot, prev_decided)
        first_month = self.history.entries[0].params.first_month
        leaf_index = months_between(first_month, month)
        full = leaf_index >= tree.capacity
        pool_sats = self.ledger.total_deposits_at(snapshot) * p.fee_bps // 10_000
        checks: list[Check] = []
        statuses: dict[str, MessageStatus] = {}
        base = {
            "month": month,
            "params_id": entry.inscription_id,
            "params": p,
            "prev_snapshot": prev_snapshot,
            "snapshot": snapshot,
            "start": start,
            "roster": roster,
            "eligible": eligible,
            "need": need,
            "race_quorum": quorum,
            "no_quorum": eligible == 0,
            "overflow": overflow,
            "under_threshold": eligible < p.threshold,
            "rows": tuple(rows),
            "pool_sats": pool_sats,
        }
        if eligible == 0 or overflow or full:
            reason = "no_quorum" if eligible == 0 else "overflow" if overflow else "tree_full"
            self._fallback(groups, roster, statuses, f"{month} failed at B_M: {reason}")
            checks.append(
                Check("month_outcome", month, None, False, f"failed at {start}: {reason}")
            )
            after = tree.with_leaf(leaf_index, 0) if not full else tree
            evaluation = MonthEvaluation(
                **base,  # type: ignore[arg-type]
                dreybits=None,
                formula_source="none",
                month_root=None,
                n_rows=len(rows),
                commitment=None,
                rounds=(),
                outcome="failed",
                decided_height=start,
                accepted_round=None,
                months_root=field_to_bytes(after.root),
                settled=True,
            )
            return _MonthOut(
                evaluation, tuple(statuses.values()), (), tuple(checks), registry, after
            )

        module = self._module(p.formula, entry)
        digest = rows_digest(rows)
        formula = compute_allocation(
            rows,
            pool=p.dreybits_per_month,
            module=module,
            reference=self.reference_check,
            memo=self.memo,
            digest=digest,
        )
        checks.append(
            Check(
                "formula_module",
                month,
                None,
                formula.module_problem is None,
                formula.module_problem or f"module {p.formula} ran",
            )
        )
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
            rows,
            formula.dreybits,
            month=month,
            leaf_index=leaf_index,
            history=tree,
            memo=self.memo,
            digest=digest,
        )
        expected = Expected(formula.dreybits, roots.month_root, roots.n_rows, roots.months_root)
        ctx = MonthContext(
            month=month,
            params=p,
            pk=self._pk(entry),
            roster_index={e.key: e.index for e in p.roster},
            vrf_keys={e.key: e.vrf_key for e in p.roster},
            weights=weights,
            need=need,
            quorum=quorum,
            expected=expected,
            pool_sats=pool_sats,
            chain=self.chain,
            tip=self.tip,
        )
        outputs, outcome, decided = self._rounds(ctx, groups, start, registry)
        for out in outputs:
            for s in out.statuses:
                statuses[s.inscription_id] = s
            checks.extend(out.checks)
        new_registry = registry.with_keys(k for out in outputs for k in out.keys)
        # Rounds that never existed (or not yet).
        last = outputs[-1].evaluation.round if outputs else -1
        for r, g in groups.rounds.items():
            if r <= last:
                continue
            for ms in g.values():
                for pm in ms:
                    if outcome == "pending" and r < p.max_rounds:
                        statuses[pm.inscription_id] = verdict(
                            pm, "pending", None, "round not started"
                        )
                    else:
                        statuses[pm.inscription_id] = verdict(
                            pm, "ignored", None, f"round {r} does not exist"
                        )
        accepted_round = None
        lead_result = None
        if outcome == "accepted":
            accepted_round = outputs[-1].evaluation.round
            lead_result = outputs[-1].lead_result
        publication = None
        if outcome == "accepted" and decided is not None and lead_result is not None:
            assert accepted_round is not None
            pub = choose_publication(
                groups.allocations,
                params=p,
                accepted_round=accepted_round,
                decided_height=decided,
                lead_result=lead_result,
            )
            publication = pub.publication
            for s in pub.statuses:
                statuses[s.inscription_id] = s
            checks.append(
                Check(
                    "publication",
                    month,
                    accepted_round,
                    publication is not None,
                    publication or "no publication yet",
                )
            )
        else:
            for pm in groups.allocations:
                if outcome == "pending":
                    statuses[pm.inscription_id] = verdict(pm, "pending", None, "month pending")
                else:
                    statuses[pm.inscription_id] = verdict(pm, "ignored", None, f"{month} failed")
        events = [e for out in outputs for e in out.offences]
        month_penalties = slash_month(
            events, base={r.key: r.weight for r in roster}, penalty_bps=p.penalty_bps
        )
        rewards = tuple(r for out in outputs for r in out.rewards)
        settled = outcome != "pending" and all(
            o.evaluation.settled or o.evaluation.reveal_start is None for o in outputs
        )
        if outcome == "accepted":
            after = roots.tree
            months_root: bytes | None = roots.months_root
        elif outcome == "failed":
            after = tree.with_leaf(leaf_index, 0)
            months_root = field_to_bytes(after.root)
        else:
            after = tree
            months_root = None
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
        evaluation = MonthEvaluation(
            **base,  # type: ignore[arg-type]
            dreybits=formula.dreybits,
            formula_source=formula.source,
            month_root=roots.month_root,
            n_rows=roots.n_rows,
            commitment=field_to_bytes(roots.commitment),
            rounds=tuple(o.evaluation for o in outputs),
            outcome=outcome,  # type: ignore[arg-type]
            decided_height=decided,
            accepted_round=accepted_round,
            months_root=months_root,
            publication=publication,
            rewards=rewards,
            rewards_final=outcome == "accepted" and outputs[-1].evaluation.settled,
            slashed=sum(r.slash for r in month_penalties),
            settled=settled,
        )
        return _MonthOut(
            evaluation,
            tuple(statuses.values()),
            tuple(month_penalties),
            tuple(checks),
            new_registry,
            after,
        )

    def _rounds(
        self, ctx: MonthContext, groups: _Groups, start: int, registry: KeyRegistry
    ) -> tuple[list[RoundOutput], str, int | None]:
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
    ) -> tuple[list[RoundOutput], str, int | None]:
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

    def _fallback(
        self,
        groups: _Groups,
        roster: Sequence[RosterStake],
        statuses: dict[str, MessageStatus],
        detail: str,
    ) -> None:
        """Statuses of a month without rounds: quarantine what is plainly not allowed
        (precedence), ignore the rest."""
        eligible = {r.key for r in roster if r.eligible}
        members = {r.key for r in roster}
        for pm in groups.all():
            msg = pm.message
            if isinstance(msg, Vrf | Secondary) and msg.actuary not in eligible:
                statuses[pm.inscription_id] = verdict(pm, "quarantined", "not_eligible", detail)
            elif isinstance(msg, Shares) and msg.actuary not in members:
                statuses[pm.inscription_id] = verdict(pm, "quarantined", "not_roster", detail)
            else:
                statuses[pm.inscription_id] = verdict(pm, "ignored", None, detail)

    def _module(self, formula_id: str, entry: ParamsEntry) -> bytes | str:
        key = (formula_id, entry.inscription_id)
        if key not in self.modules:
            self.modules[key] = load_module(
                formula_id, manifests=self.manifests, parts=self.parts, params_height=entry.height
            )
        return self.modules[key]

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
