"""One round of a month, from its seed height to its decision and settlement
(PROTOCOL.md §4, §5, §8, §9).

:func:`evaluate_round` walks the phases in order and stops at the first one that depends on
blocks after the tip (its messages are then ``pending``): VRF window → R and the elected lead
→ lead window (lead package, parts) → race (C, C_s, RS, late) → share window (shares ledger,
reveals, results) → decision (accepted at D_r, or rejected) → settlement at
RS + share_window − 1 (rewards, ``withheld_share``). Offences are reported with the height
at which they are decided, as soon as that height is at or below the tip.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from drey.crypto.paillier import PaillierPublicKey
from drey.messages import Lead, ResolvedParams, Result, Secondary, Shares
from drey.rules.common import verdict
from drey.rules.election import count_vrfs, elect
from drey.rules.inputs import ChainView, Position, PositionedMessage
from drey.rules.race import (
    choose_lead_package,
    choose_lead_parts,
    counting_secondaries,
    first_reaching,
)
from drey.rules.reasons import Offence
from drey.rules.results import (
    Check,
    Decision,
    MessageStatus,
    RacePackage,
    Reveal,
    RewardRow,
    RoundEvaluation,
    ShareRecord,
)
from drey.rules.reveal import (
    Expected,
    Judgement,
    ValidShare,
    judge_result,
    open_package,
    process_shares,
    reveal,
)
from drey.rules.share_proofs import ShareVerifier

__all__ = [
    "EarlierResult",
    "KeyRegistry",
    "MonthContext",
    "OffenceEvent",
    "PriorRounds",
    "RevealedKey",
    "RoundMessages",
    "RoundOutput",
    "evaluate_round",
    "key_reuse_set",
    "race_rewards",
]


@dataclass(frozen=True, slots=True)
class RoundMessages:
    """The messages naming (M, r), each group in chain order."""

    vrfs: tuple[PositionedMessage, ...] = ()
    leads: tuple[PositionedMessage, ...] = ()
    parts: tuple[PositionedMessage, ...] = ()
    secondaries: tuple[PositionedMessage, ...] = ()
    shares: tuple[PositionedMessage, ...] = ()

    def all(self) -> tuple[PositionedMessage, ...]:
        return self.vrfs + self.leads + self.parts + self.secondaries + self.shares


@dataclass(frozen=True, slots=True)
class MonthContext:
    """Everything a round of M reads besides its own messages."""

    month: str
    params: ResolvedParams
    pk: PaillierPublicKey
    roster_index: Mapping[bytes, int]
    vrf_keys: Mapping[bytes, bytes]
    weights: Mapping[bytes, int]
    need: int
    quorum: int
    expected: Expected
    pool_sats: int
    chain: ChainView
    tip: int

    @property
    def eligible(self) -> frozenset[bytes]:
        return frozenset(self.weights)


@dataclass(frozen=True, slots=True)
class EarlierResult:
    """A decrypted, correctly signed result revealed in M (for §8's later-round rule)."""

    actuary: bytes
    roots: tuple[bytes, int, bytes]
    height: int
    round: int


@dataclass(frozen=True, slots=True)
class PriorRounds:
    """What earlier rounds of M leave to round r."""

    missed: frozenset[bytes] = frozenset()
    results: tuple[EarlierResult, ...] = ()
    reveal_heights: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class OffenceEvent:
    month: str
    round: int
    offence: Offence
    actuary: bytes
    height: int
    detail: str = ""


@dataclass(frozen=True, slots=True)
class RevealedKey:
    """A k revealed from ``actuary``'s own package (copies excluded)."""

    actuary: bytes
    height: int
    position: Position
    key: bytes
    package: str


@dataclass(frozen=True, slots=True)
class KeyRegistry:
    """Keys revealed so far, per actuary (months ≤ M; see docs/protocol/rules.md)."""

    keys: Mapping[bytes, tuple[RevealedKey, ...]] = field(default_factory=dict)

    def reused(self, actuary: bytes, key: bytes, height: int, position: Position) -> bool:
        return any(
            r.key == key and (r.height, r.position) < (height, position)
            for r in self.keys.get(actuary, ())
        )

    def with_keys(self, new: Iterable[RevealedKey]) -> KeyRegistry:
        keys = {a: list(v) for a, v in self.keys.items()}
        for r in new:
            keys.setdefault(r.actuary, []).append(r)
        return KeyRegistry({a: tuple(v) for a, v in keys.items()})


def key_reuse_set(before: KeyRegistry, reveals: Sequence[RevealedKey]) -> frozenset[str]:
    """Packages among ``reveals`` whose k was revealed earlier from the same actuary, by
    (reveal height, position), against ``before`` and each other."""
    out = set()
    registry = before
    for r in sorted(reveals, key=lambda x: (x.height, x.position)):
        if registry.reused(r.actuary, r.key, r.height, r.position):
            out.add(r.package)
        registry = registry.with_keys([r])
    return frozenset(out)


@dataclass(frozen=True, slots=True)
class RoundOutput:
    evaluation: RoundEvaluation
    statuses: tuple[MessageStatus, ...]
    offences: tuple[OffenceEvent, ...]
    keys: tuple[RevealedKey, ...]
    key_reuse: frozenset[str]
    results: tuple[EarlierResult, ...]
    rewards: tuple[RewardRow, ...]
    checks: tuple[Check, ...]
    lead_result: Result | None = None


def race_rewards(
    pool_sats: int, lead_bps: int, lead: bytes, race: Sequence[bytes]
) -> list[tuple[bytes, str, int | None, int]]:
    """§9 split: (actuary, role, rank, sats). Lead: pool × lead_bps // 10000; the k agreeing
    race secondaries (in rank order) share the rest as rest × (k − q + 1) // (k(k + 1)/2),
    the remainder to rank 1; k = 0 gives the rest to the lead."""
    lead_sats = pool_sats * lead_bps // 10_000
    rest = pool_sats - lead_sats
    k = len(race)
    if k == 0:
        return [(lead, "lead", None, pool_sats)]
    total = k * (k + 1) // 2
    shares = [rest * (k - q + 1) // total for q in range(1, k + 1)]
    shares[0] += rest - sum(shares)
    out: list[tuple[bytes, str, int | None, int]] = [(lead, "lead", None, lead_sats)]
    out.extend((a, "secondary", q, s) for q, (a, s) in enumerate(zip(race, shares, strict=True), 1))
    return out


@dataclass
class _Work:
    """Mutable accumulator local to one :func:`evaluate_round` call."""

    statuses: dict[str, MessageStatus] = field(default_factory=dict)
    offences: dict[tuple[str, bytes], OffenceEvent] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)

    def put(self, items: Iterable[MessageStatus]) -> None:
        for s in items:
            self.statuses[s.inscription_id] = s

    def rest(self, group: Iterable[PositionedMessage], status: str, detail: str) -> None:
        for pm in group:
            if pm.inscription_id not in self.statuses:
                self.statuses[pm.inscription_id] = verdict(pm, status, None, detail)  # type: ignore[arg-type]

    def offence(self, ev: OffenceEvent) -> None:
        key = (ev.offence, ev.actuary)
        if key not in self.offences or ev.height < self.offences[key].height:
            self.offences[key] = ev


@dataclass(frozen=True, slots=True)
class _Opened:
    package: RacePackage
    pm: PositionedMessage
    reveal_height: int | None
    indices: tuple[int, ...]
    outcome: str
    result: Result | None
    judgement: Judgement | None
    copy_detail: str | None


def evaluate_round(
    ctx: MonthContext,
    round: int,
    seed_height: int,
    msgs: RoundMessages,
    prior: PriorRounds,
    registry: KeyRegistry,
    *,
    key_reuse_override: frozenset[str] | None = None,
    share_verifier: ShareVerifier | None = None,
) -> RoundOutput:
    """Round ``round`` of ``ctx.month`` seeded at ``seed_height`` (G_r)."""
    p = ctx.params
    tip = ctx.tip
    month = ctx.month
    work = _Work()
    ev: dict[str, object] = {
        "month": month,
        "round": round,
        "seed_height": seed_height,
        "seed_hash": None,
    }

    def finish(decision: Decision) -> RoundOutput:
        work.rest(msgs.all(), "pending", "depends on blocks after the tip")
        evaluation = RoundEvaluation(**ev, decision=decision)  # type: ignore[arg-type]
        return RoundOutput(
            evaluation,
            tuple(work.statuses.values()),
            tuple(work.offences.values()),
            (),
            frozenset(),
            (),
            (),
            tuple(work.checks),
        )

    pending = Decision("pending", None, "pending")
    if seed_height > tip:
        return finish(pending)
    seed_hash = ctx.chain.block_hash(seed_height)
    ev["seed_hash"] = seed_hash

    # --- VRF window ------------------------------------------------------------------
    vrf_hi = seed_height + p.vrf_window
    vrfs = count_vrfs(
        msgs.vrfs,
        month=month,
        round=round,
        seed_height=seed_height,
        seed_hash=seed_hash,
        window=p.vrf_window,
        vrf_keys=ctx.vrf_keys,
        eligible=ctx.eligible,
    )
    work.put(vrfs.statuses)
    ev["vrfs"] = vrfs.counted
    if vrf_hi > tip:
        return finish(pending)
    counted = {v.actuary for v in vrfs.counted}
    for actuary in sorted(ctx.eligible - counted):
        work.offence(OffenceEvent(month, round, "vrf_withheld", actuary, vrf_hi))
    weights = tuple((k, 0 if k in prior.missed else w) for k, w in sorted(ctx.weights.items()))
    randomness, lead = elect(
        month=month, round=round, seed_hash=seed_hash, counted=vrfs.counted, weights=weights
    )
    ev.update(randomness=randomness, weights=weights, lead=lead)
    decided_detail = "the round is already decided"
    if lead is None:
        work.rest(msgs.all(), "ignored", decided_detail)
        return finish(Decision("rejected", vrf_hi, "no_candidates"))

    # --- lead window -----------------------------------------------------------------
    lead_window = (vrf_hi + 1, vrf_hi + p.lead_window)
    choice = choose_lead_package(msgs.leads, elected=lead, window=lead_window, paillier=p.paillier)
    work.put(choice.statuses)
    package = choice.package
    if package is None:
        if lead_window[1] > tip:
            return finish(pending)
        parts = choose_lead_parts(msgs.parts, elected=lead, window=lead_window, package=None)
        work.put(parts.statuses)
        work.offence(OffenceEvent(month, round, "missed_lead", lead, lead_window[1]))
        work.rest(msgs.secondaries, "ignored", "the round has no lead package")
        work.rest(msgs.shares, "ignored", "the round has no lead package")
        return finish(Decision("rejected", lead_window[1], "no_lead_package"))
    parts = choose_lead_parts(msgs.parts, elected=lead, window=lead_window, package=package)
    work.put(parts.statuses)
    L = package.height
    ev.update(lead_package=package.inscription_id, lead_height=L)

    # --- race --------------------------------------------------------------------------
    race_open = L + p.race_offset
    race_end = race_open + p.race_window - 1
    ev.update(race_open=race_open, race_end=race_end)
    entries = counting_secondaries(
        msgs.secondaries,
        elected=lead,
        eligible=ctx.eligible,
        race_open=race_open,
        paillier=p.paillier,
    )
    work.put(entries.statuses)
    heights = [pm.height for pm in entries.counting]
    close = first_reaching(heights, start=race_open, end=race_end, target=ctx.quorum, tip=tip)
    if close is None:
        return finish(pending)
    close_s = first_reaching(heights, start=close, end=race_end, target=ctx.need - 1, tip=tip)
    if close_s is None:
        ev["close"] = close
        return finish(pending)
    rs = close_s + p.confirmations
    share_end = rs + p.share_window - 1
    ev.update(close=close, close_s=close_s, reveal_start=rs, share_end=share_end)
    lead_msg = package.message
    assert isinstance(lead_msg, Lead)
    owed: dict[str, RacePackage] = {
        package.inscription_id: RacePackage(
            package.inscription_id, lead, "lead", "lead", L, package.position
        )
    }
    race: list[RacePackage] = []
    late: list[RacePackage] = []
    for pm in entries.counting:
        sec = pm.message
        assert isinstance(sec, Secondary)
        if pm.height >= rs:
            work.put([verdict(pm, "ignored", None, f"at or after RS = {rs}")])
            continue
        if pm.height <= close:
            rp = RacePackage(
                pm.inscription_id,
                sec.actuary,
                "secondary",
                "race",
                pm.height,
                pm.position,
                len(race) + 1,
            )
            race.append(rp)
        else:
            rp = RacePackage(
                pm.inscription_id, sec.actuary, "secondary", "late", pm.height, pm.position
            )
            late.append(rp)
        owed[pm.inscription_id] = rp
    ev.update(race=tuple(race), late=tuple(late))
    post_reveal = any(h <= seed_height for h in prior.reveal_heights)
    ev["post_reveal"] = post_reveal

    # --- shares ------------------------------------------------------------------------
    records: list[ShareRecord] = []
    in_window: list[PositionedMessage] = []
    premature: dict[bytes, PositionedMessage] = {}
    for pm in msgs.shares:
        sh = pm.message
        assert isinstance(sh, Shares)
        index = ctx.roster_index.get(sh.actuary)
        if index is None:
            status, reason, detail = "quarantined", "not_roster", "not a roster member of M"
        elif pm.height < rs:
            status, reason, detail = "premature", None, f"share window opens at RS = {rs}"
            premature.setdefault(sh.actuary, pm)
        elif pm.height > share_end:
            status, reason, detail = "ignored", None, f"share window closed at {share_end}"
        else:
            in_window.append(pm)
            work.put([verdict(pm, "valid")])
            continue
        work.put([verdict(pm, status, reason, detail)])  # type: ignore[arg-type]
        records.extend(
            ShareRecord(
                pm.inscription_id,
                i,
                pm.height,
                pm.position,
                sh.actuary,
                index,
                entry.package,
                status,
                reason,
                detail,  # type: ignore[arg-type]
            )
            for i, entry in enumerate(sh.shares)
        )
    if rs <= tip:
        for actuary, pm in premature.items():
            work.offence(
                OffenceEvent(month, round, "premature_share", actuary, rs, pm.inscription_id)
            )
    if rs - 1 > tip:
        # Late packages may still arrive: the owed set is not final yet.
        ev["shares"] = tuple(records)
        return finish(pending)
    kems = {
        pid: int.from_bytes(pkg_pm.message.kem, "big")  # type: ignore[union-attr]
        for pid, pkg_pm in _package_messages(package, entries.counting, owed).items()
    }
    ledger = process_shares(
        in_window,
        owed=owed,
        kems=kems,
        roster_index=ctx.roster_index,
        paillier=p.paillier,
        pk=ctx.pk,
        verifier=share_verifier,
    )
    records.extend(ledger.records)
    records.sort(key=lambda r: (r.position, r.entry))
    ev["shares"] = tuple(records)
    for rec in ledger.invalid:
        work.offence(
            OffenceEvent(
                month,
                round,
                "invalid_share_proof",
                rec.actuary,
                rec.height,
                f"{rec.shares_id} entry {rec.entry}: {rec.reason}",
            )
        )

    # --- reveals -----------------------------------------------------------------------
    settled = share_end <= tip
    pkg_msgs = _package_messages(package, entries.counting, owed)
    opened: list[_Opened] = []
    new_keys: list[RevealedKey] = []
    reused: set[str] = set()
    for pid, rp in owed.items():
        pm = pkg_msgs[pid]
        opened.append(
            _open(
                ctx,
                rp,
                pm,
                ledger.valid.get(pid, ()),
                parts.parts,
                settled,
                registry,
                key_reuse_override,
                new_keys,
                reused,
            )
        )
    lead_open = opened[0]
    secondaries = opened[1:]
    # A lead whose file travels in parts can be judged only once the lead window (where
    # parts may be mined) is over: its result counts from max(reveal, window end).
    lead_ready = lead_open.reveal_height
    late_parts = False
    if lead_msg.parts is not None and lead_ready is not None and lead_open.outcome == "result":
        lead_ready = max(lead_ready, lead_window[1])
        if lead_ready > share_end:
            late_parts = True
        elif lead_ready > tip:
            lead_open = replace(lead_open, outcome="pending", result=None, judgement=None)
            opened[0] = lead_open

    # --- decision ----------------------------------------------------------------------
    horizon = min(share_end, tip)
    earlier = prior.results

    def counts_at(o: _Opened, h: int) -> bool:
        if not _agrees(o, lead_open) or o.reveal_height is None or o.reveal_height > h:
            return False
        if not post_reveal:
            return True
        assert o.result is not None
        return any(
            e.actuary == o.package.actuary and e.roots == o.result.roots() and e.height <= h
            for e in earlier
        )

    decision = pending
    lead_ok = (
        lead_open.outcome == "result"
        and lead_open.judgement is not None
        and lead_open.judgement.problem is None
        and not late_parts
    )
    if lead_ok and lead_ready is not None and lead_ready <= horizon:
        lh = lead_ready
        events = {lh}
        events.update(
            o.reveal_height
            for o in secondaries
            if o.reveal_height is not None and lh <= o.reveal_height <= horizon
        )
        events.update(e.height for e in earlier if lh <= e.height <= horizon)
        for h in sorted(events):
            support = 1 + sum(counts_at(o, h) for o in secondaries)
            if support >= ctx.need:
                decision = Decision("accepted", h, "agreement", support)
                break
    elif lead_open.outcome == "copy" and lead_open.reveal_height is not None:
        decision = Decision("rejected", lead_open.reveal_height, "invalid_lead_result")
    elif (
        not lead_ok and lead_open.outcome == "result" and not late_parts and lead_ready is not None
    ):
        decision = Decision("rejected", lead_ready, "invalid_lead_result")
    if decision.outcome == "pending" and settled:
        if lead_ok:
            support = 1 + sum(counts_at(o, share_end) for o in secondaries)
            decision = Decision("rejected", share_end, "not_enough_agreement", support)
        elif lead_open.outcome == "key_reuse":
            decision = Decision("rejected", share_end, "lead_key_reuse")
        elif late_parts:
            decision = Decision("rejected", share_end, "lead_parts_after_share_window")
        else:
            decision = Decision("rejected", share_end, "lead_unrevealed")

    # --- statuses of owed packages, offences, results -----------------------------------
    reveals: list[Reveal] = []
    results: list[EarlierResult] = []
    for o in opened:
        rp = o.package
        res = o.result
        status: str
        reason = None
        detail = ""
        if o.outcome == "copy":
            status, reason, detail = "quarantined", "copy", o.copy_detail or ""
        elif o.outcome == "key_reuse":
            status, reason, detail = "quarantined", "key_reuse", "k already revealed"
        elif o.outcome == "unrevealed":
            status, detail = "unrevealed", f"fewer than t valid shares by {share_end}"
        elif o.outcome == "pending":
            status, detail = "pending", "share window still open"
        else:
            status = "late" if rp.role == "late" else "valid"
        work.put([verdict(o.pm, status, reason, detail)])  # type: ignore[arg-type]
        h = o.reveal_height
        if o.outcome == "copy":
            assert h is not None
            work.offence(OffenceEvent(month, round, "copy", rp.actuary, h, o.copy_detail or ""))
            if rp.role == "lead":
                work.offence(
                    OffenceEvent(month, round, "invalid_lead_result", rp.actuary, h, "copy")
                )
        elif o.outcome == "key_reuse":
            assert h is not None
            work.offence(OffenceEvent(month, round, "key_reuse", rp.actuary, h, rp.inscription_id))
        elif (
            o.outcome == "result"
            and o.judgement is not None
            and not (rp.role == "lead" and late_parts)
        ):
            judged_at = lead_ready if rp.role == "lead" else h
            assert judged_at is not None
            if o.judgement.offence:
                name: Offence = (
                    "invalid_lead_result" if rp.role == "lead" else "wrong_secondary_result"
                )
                work.offence(
                    OffenceEvent(
                        month, round, name, rp.actuary, judged_at, o.judgement.problem or ""
                    )
                )
            check_name = "lead_result" if rp.role == "lead" else "secondary_result"
            work.checks.append(
                Check(
                    check_name,
                    month,
                    round,
                    o.judgement.problem is None,
                    f"{rp.inscription_id}: {o.judgement.problem or 'recomputes'}",
                )
            )
        if res is not None and o.outcome == "result" and h is not None:
            results.append(EarlierResult(rp.actuary, res.roots(), h, round))
        reveals.append(
            Reveal(
                package=rp.inscription_id,
                actuary=rp.actuary,
                kind=rp.kind,
                role=rp.role,
                outcome=o.outcome,  # type: ignore[arg-type]
                reveal_height=h,
                share_indices=o.indices,
                month_root=None if res is None else res.month_root,
                n_rows=None if res is None else res.n_rows,
                months_root=None if res is None else res.months_root,
                problem=None if o.judgement is None else o.judgement.problem,
                valid=o.judgement is not None and o.judgement.problem is None,
                agrees=rp.role != "lead" and _agrees(o, lead_open),
                counts=rp.role != "lead" and counts_at(o, horizon),
            )
        )

    # --- settlement ----------------------------------------------------------------------
    rewards: list[RewardRow] = []
    if settled:
        have = {(r.actuary, r.package) for r in records if r.status in ("valid", "duplicate")}
        for entry in p.roster:
            missing = [pid for pid in owed if (entry.key, pid) not in have]
            if missing:
                work.offence(
                    OffenceEvent(
                        month,
                        round,
                        "withheld_share",
                        entry.key,
                        share_end,
                        f"{len(missing)} of {len(owed)} packages",
                    )
                )
        if decision.outcome == "accepted":
            agreeing = [
                o.package.actuary
                for o in secondaries
                if o.package.role == "race" and not post_reveal and counts_at(o, share_end)
            ]
            for actuary, role, rank, sats in race_rewards(
                ctx.pool_sats, p.lead_bps, lead, agreeing
            ):
                rewards.append(RewardRow(month, round, actuary, role, rank, sats))  # type: ignore[arg-type]
    if decision.outcome != "pending":
        work.checks.append(
            Check(
                "round_decision",
                month,
                round,
                decision.outcome == "accepted",
                f"{decision.outcome} at {decision.height}: {decision.reason}",
            )
        )
    work.rest(msgs.all(), "pending", "depends on blocks after the tip")
    evaluation = RoundEvaluation(
        **ev,  # type: ignore[arg-type]
        reveals=tuple(reveals),
        decision=decision,
        settled=settled,
    )
    return RoundOutput(
        evaluation,
        tuple(work.statuses.values()),
        tuple(work.offences.values()),
        tuple(new_keys),
        frozenset(reused),
        tuple(results),
        tuple(rewards),
        tuple(work.checks),
        lead_open.result if lead_ok else None,
    )


def _package_messages(
    package: PositionedMessage,
    counting: Sequence[PositionedMessage],
    owed: Mapping[str, RacePackage],
) -> dict[str, PositionedMessage]:
    by_id = {package.inscription_id: package}
    by_id.update((pm.inscription_id, pm) for pm in counting)
    return {pid: by_id[pid] for pid in owed}


def _agrees(o: _Opened, lead: _Opened) -> bool:
    """A secondary's revealed, correctly signed, v1-proof result with the lead's roots (the
    lead itself revealed with a valid result)."""
    if o.outcome != "result" or o.result is None or o.judgement is None:
        return False
    if lead.outcome != "result" or lead.result is None or lead.judgement is None:
        return False
    if lead.judgement.problem is not None or not o.judgement.recompute:
        return False
    if o.judgement.problem is not None:
        return False
    return o.result.roots() == lead.result.roots()


def _open(
    ctx: MonthContext,
    rp: RacePackage,
    pm: PositionedMessage,
    shares: Sequence[ValidShare],
    parts: Mapping[int, PositionedMessage],
    settled: bool,
    registry: KeyRegistry,
    override: frozenset[str] | None,
    new_keys: list[RevealedKey],
    reused: set[str],
) -> _Opened:
    revealed = reveal(ctx.pk, shares)
    if revealed is None:
        return _Opened(rp, pm, None, (), "unrevealed" if settled else "pending", None, None, None)
    key, height, indices = revealed
    opened = open_package(pm, key, parts=parts if rp.role == "lead" else None)
    if opened.copy is not None:
        return _Opened(rp, pm, height, indices, "copy", None, None, opened.copy)
    assert isinstance(key, bytes)
    new_keys.append(RevealedKey(rp.actuary, height, rp.position, key, rp.inscription_id))
    if override is not None:
        is_reuse = rp.inscription_id in override
    else:
        is_reuse = registry.reused(rp.actuary, key, height, rp.position)
    if is_reuse:
        reused.add(rp.inscription_id)
        return _Opened(rp, pm, height, indices, "key_reuse", None, None, None)
    judgement = judge_result(rp.kind, opened, expected=ctx.expected)
    result = opened.result if isinstance(opened.result, Result) else None
    return _Opened(rp, pm, height, indices, "result", result, judgement, None)
