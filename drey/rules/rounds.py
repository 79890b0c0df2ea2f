"""One round of a month, from its seed height to its decision and settlement
(PROTOCOL.md §4, §5, §8, §9).

:func:`evaluate_round` runs the phases in order and stops at the first one that depends on
blocks after the tip (its messages are then ``pending``). Each phase is a function with a
frozen result:

======================  =====================================================================
VRFs (§4)               :func:`~drey.rules.election.count_vrfs`, :func:`vrf_withheld`,
                        :func:`election_weights`, :func:`~drey.rules.election.elect`
lead (§5)               :func:`~drey.rules.race.choose_lead_package`, ``choose_lead_parts``
race (§8)               :func:`race_standing` (C, C_s), :func:`owed_packages` (race, late)
shares, reveals (§8)    :func:`share_window`, :func:`~drey.rules.reveal.process_shares`,
                        :func:`reveal_packages`, :func:`lead_standing`, :class:`Agreement`
decision (§9)           :func:`drey.rules.decision.decide` (the named ladder)
verdicts (§9)           :func:`package_verdicts` (statuses, offences, checks, reveal rows)
settlement (§9)         :func:`drey.rules.settlement.withheld_shares`, :func:`round_rewards`
======================  =====================================================================

Offences are reported with the height at which they are decided, as soon as that height is
at or below the tip.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from drey.crypto.paillier import PaillierPublicKey
from drey.messages import Lead, ResolvedParams, Result, Secondary, Shares
from drey.rules.common import Clock, verdict
from drey.rules.decision import LeadStanding, decide, no_candidates, no_lead_package
from drey.rules.election import count_vrfs, elect
from drey.rules.inputs import ChainView, Position, PositionedMessage
from drey.rules.race import (
    RaceEntries,
    choose_lead_package,
    choose_lead_parts,
    counting_secondaries,
    first_reaching,
)
from drey.rules.reasons import Offence, Status
from drey.rules.results import (
    Check,
    CountedVrf,
    Decision,
    MessageStatus,
    RacePackage,
    Reveal,
    RevealOutcome,
    RewardRow,
    RoundEvaluation,
    ShareRecord,
)
from drey.rules.reveal import (
    Expected,
    Judgement,
    ProofRule,
    ShareLedger,
    ValidShare,
    judge_result,
    open_package,
    process_shares,
    reveal,
)
from drey.rules.settlement import race_rewards, withheld_shares
from drey.rules.share_proofs import ShareVerifier

__all__ = [
    "Agreement",
    "EarlierResult",
    "KeyRegistry",
    "MonthContext",
    "OffenceEvent",
    "OwedPackages",
    "PackageVerdicts",
    "PriorRounds",
    "RaceStanding",
    "RevealedKey",
    "Reveals",
    "RoundMessages",
    "RoundOutput",
    "ShareWindow",
    "election_weights",
    "evaluate_round",
    "key_reuse_set",
    "lead_standing",
    "owed_packages",
    "package_verdicts",
    "race_standing",
    "reveal_packages",
    "round_rewards",
    "share_window",
    "vrf_withheld",
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
    clock: Clock  # the tip; what the month waits for is remembered
    proofs: ProofRule | None = None  # v1.1: params(M) names a circuit

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


@dataclass
class _Work:
    """What one :func:`evaluate_round` call has decided so far: statuses (a later verdict for
    the same message replaces an earlier one), offences (the earliest per (offence, actuary))
    and checks. Local to the call; every phase returns frozen results that go in here."""

    statuses: dict[str, MessageStatus] = field(default_factory=dict)
    offences: dict[tuple[str, bytes], OffenceEvent] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)

    def put(self, items: Iterable[MessageStatus]) -> None:
        for s in items:
            self.statuses[s.inscription_id] = s

    def rest(self, group: Iterable[PositionedMessage], status: Status, detail: str) -> None:
        """``status`` for every message of ``group`` that has none yet."""
        for pm in group:
            if pm.inscription_id not in self.statuses:
                self.statuses[pm.inscription_id] = verdict(pm, status, None, detail)

    def offence(self, ev: OffenceEvent) -> None:
        key = (ev.offence, ev.actuary)
        if key not in self.offences or ev.height < self.offences[key].height:
            self.offences[key] = ev

    def output(
        self,
        evaluation: RoundEvaluation,
        msgs: RoundMessages,
        *,
        reveals: Reveals | None = None,
        results: Sequence[EarlierResult] = (),
        rewards: Sequence[RewardRow] = (),
        lead_result: Result | None = None,
    ) -> RoundOutput:
        """The round's output; messages still without a status depend on later blocks."""
        self.rest(msgs.all(), "pending", "depends on blocks after the tip")
        return RoundOutput(
            evaluation,
            tuple(self.statuses.values()),
            tuple(self.offences.values()),
            () if reveals is None else reveals.new_keys,
            frozenset() if reveals is None else reveals.reused,
            tuple(results),
            tuple(rewards),
            tuple(self.checks),
            lead_result,
        )


# --- the phases ---------------------------------------------------------------------------


def election_weights(
    weights: Mapping[bytes, int], missed: frozenset[bytes]
) -> tuple[tuple[bytes, int], ...]:
    """§4: the draw's weights, by key; an actuary that missed a lead earlier in M weighs 0."""
    return tuple((k, 0 if k in missed else w) for k, w in sorted(weights.items()))


def vrf_withheld(eligible: frozenset[bytes], counted: Iterable[CountedVrf]) -> list[bytes]:
    """§9 ``vrf_withheld``: the eligible actuaries with no counted VRF (decided when the VRF
    window closes)."""
    return sorted(eligible - {v.actuary for v in counted})


@dataclass(frozen=True, slots=True)
class RaceStanding:
    """§8's race so far: its window, the counting secondaries, C (the race quorum reached)
    and C_s (need − 1 reached), each ``None`` while it depends on later blocks."""

    race_open: int
    race_end: int
    entries: RaceEntries
    close: int | None
    close_s: int | None


def race_standing(
    ctx: MonthContext, *, lead: bytes, lead_height: int
) -> Callable[[Sequence[PositionedMessage]], RaceStanding]:
    """§8: the race opens at L + race_offset and lasts race_window blocks; C is the first
    height at which the counting secondaries reach the race quorum, C_s (from C on) the first
    at which they reach need − 1."""
    p = ctx.params
    race_open = lead_height + p.race_offset
    race_end = race_open + p.race_window - 1

    def standing(secondaries: Sequence[PositionedMessage]) -> RaceStanding:
        entries = counting_secondaries(
            secondaries,
            elected=lead,
            eligible=ctx.eligible,
            race_open=race_open,
            paillier=p.paillier,
        )
        heights = [pm.height for pm in entries.counting]
        close = first_reaching(
            heights, start=race_open, end=race_end, target=ctx.quorum, clock=ctx.clock
        )
        close_s = (
            None
            if close is None
            else first_reaching(
                heights, start=close, end=race_end, target=ctx.need - 1, clock=ctx.clock
            )
        )
        return RaceStanding(race_open, race_end, entries, close, close_s)

    return standing


@dataclass(frozen=True, slots=True)
class OwedPackages:
    """§8: the packages the round's shares must open, in order: the lead's, then the race
    (mined by C, ranked) and late (after C, before RS) secondaries. Secondaries at or after RS
    are ignored."""

    owed: Mapping[str, RacePackage]
    race: tuple[RacePackage, ...]
    late: tuple[RacePackage, ...]
    ignored: tuple[MessageStatus, ...]


def owed_packages(
    package: PositionedMessage,
    *,
    lead: bytes,
    counting: Sequence[PositionedMessage],
    close: int,
    rs: int,
) -> OwedPackages:
    owed = {
        package.inscription_id: RacePackage(
            package.inscription_id, lead, "lead", "lead", package.height, package.position
        )
    }
    race: list[RacePackage] = []
    late: list[RacePackage] = []
    ignored: list[MessageStatus] = []
    for pm in counting:
        sec = pm.message
        assert isinstance(sec, Secondary)
        if pm.height >= rs:
            ignored.append(verdict(pm, "ignored", None, f"at or after RS = {rs}"))
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
    return OwedPackages(owed, tuple(race), tuple(late), tuple(ignored))


@dataclass(frozen=True, slots=True)
class ShareWindow:
    """§8's share window [RS, RS + share_window − 1] applied to the round's ``shares``
    messages: those inside go on to the ledger; the others keep their status (``not_roster``,
    ``premature``, ``ignored``) and their entries are recorded as such. ``premature`` is the
    first premature message per actuary (for ``premature_share``)."""

    in_window: tuple[PositionedMessage, ...]
    records: tuple[ShareRecord, ...]
    premature: Mapping[bytes, PositionedMessage]
    statuses: tuple[MessageStatus, ...]


def share_window(
    shares: Sequence[PositionedMessage],
    *,
    roster_index: Mapping[bytes, int],
    rs: int,
    share_end: int,
) -> ShareWindow:
    in_window: list[PositionedMessage] = []
    records: list[ShareRecord] = []
    premature: dict[bytes, PositionedMessage] = {}
    statuses: list[MessageStatus] = []
    for pm in shares:
        sh = pm.message
        assert isinstance(sh, Shares)
        index = roster_index.get(sh.actuary)
        status: Literal["quarantined", "premature", "ignored"]  # entry and message status alike
        if index is None:
            status, reason, detail = "quarantined", "not_roster", "not a roster member of M"
        elif pm.height < rs:
            status, reason, detail = "premature", None, f"share window opens at RS = {rs}"
            premature.setdefault(sh.actuary, pm)
        elif pm.height > share_end:
            status, reason, detail = "ignored", None, f"share window closed at {share_end}"
        else:
            in_window.append(pm)
            statuses.append(verdict(pm, "valid"))
            continue
        statuses.append(verdict(pm, status, reason, detail))
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
                detail,
            )
            for i, entry in enumerate(sh.shares)
        )
    return ShareWindow(tuple(in_window), tuple(records), premature, tuple(statuses))


@dataclass(frozen=True, slots=True)
class _Opened:
    package: RacePackage
    pm: PositionedMessage
    reveal_height: int | None
    indices: tuple[int, ...]
    outcome: RevealOutcome
    result: Result | None
    judgement: Judgement | None
    copy_detail: str | None


@dataclass(frozen=True, slots=True)
class Reveals:
    """§8 reveals: every owed package opened (or not) with its valid shares; the keys k
    revealed from an actuary's own package and the packages whose k was revealed before."""

    opened: tuple[_Opened, ...]
    new_keys: tuple[RevealedKey, ...]
    reused: frozenset[str]

    @property
    def lead(self) -> _Opened:
        return self.opened[0]

    @property
    def secondaries(self) -> tuple[_Opened, ...]:
        return self.opened[1:]


def reveal_packages(
    ctx: MonthContext,
    owed: Mapping[str, RacePackage],
    package_messages: Mapping[str, PositionedMessage],
    ledger: ShareLedger,
    *,
    parts: Mapping[int, PositionedMessage],
    settled: bool,
    registry: KeyRegistry,
    override: frozenset[str] | None,
) -> Reveals:
    opened: list[_Opened] = []
    new_keys: list[RevealedKey] = []
    reused: set[str] = set()
    for pid, rp in owed.items():
        o, key = _open(
            ctx,
            rp,
            package_messages[pid],
            ledger.valid.get(pid, ()),
            parts,
            settled,
            registry,
            override,
        )
        opened.append(o)
        if key is not None:
            new_keys.append(key)
        if o.outcome == "key_reuse":
            reused.add(pid)
    return Reveals(tuple(opened), tuple(new_keys), frozenset(reused))


def lead_standing(
    lead_open: _Opened, *, with_parts: bool, lead_end: int, share_end: int, clock: Clock
) -> tuple[LeadStanding, _Opened]:
    """The lead as the decision sees it. A lead whose file travels in parts can be judged only
    once the lead window (where parts may be mined) is over: its result counts from
    max(reveal, window end); after the share window it never counts; above the tip it is
    still pending (the returned package says so)."""
    ready = lead_open.reveal_height
    late_parts = False
    if with_parts and ready is not None and lead_open.outcome == "result":
        ready = max(ready, lead_end)
        if ready > share_end:
            late_parts = True
        elif not clock.reached(ready):
            lead_open = replace(lead_open, outcome="pending", result=None, judgement=None)
    valid = lead_open.judgement is not None and lead_open.judgement.problem is None
    standing = LeadStanding(lead_open.outcome, lead_open.reveal_height, ready, valid, late_parts)
    return standing, lead_open


@dataclass(frozen=True, slots=True)
class Agreement:
    """§8/§9 agreement with the lead. After a reveal earlier in M (``post_reveal``), §8's
    later-round rule applies: a secondary counts only with a result it already revealed, with
    the same roots, in an earlier round of M."""

    lead: _Opened
    post_reveal: bool
    earlier: tuple[EarlierResult, ...]

    def counts_at(self, o: _Opened, height: int) -> bool:
        if not _agrees(o, self.lead) or o.reveal_height is None or o.reveal_height > height:
            return False
        if not self.post_reveal:
            return True
        assert o.result is not None
        roots = o.result.roots()
        return any(
            e.actuary == o.package.actuary and e.roots == roots and e.height <= height
            for e in self.earlier
        )

    def support_at(self, secondaries: Iterable[_Opened], height: int) -> int:
        """1 (the lead) + the secondaries that count at ``height``."""
        return 1 + sum(self.counts_at(o, height) for o in secondaries)


@dataclass(frozen=True, slots=True)
class PackageVerdicts:
    """Per owed package: its status, its offences (``copy``, ``key_reuse``,
    ``invalid_lead_result``, ``wrong_secondary_result``), the recompute check, the reveal
    row, and its result for later rounds of M."""

    statuses: tuple[MessageStatus, ...]
    offences: tuple[OffenceEvent, ...]
    checks: tuple[Check, ...]
    reveals: tuple[Reveal, ...]
    results: tuple[EarlierResult, ...]


def package_verdicts(
    reveals: Reveals,
    *,
    lead: LeadStanding,
    agreement: Agreement,
    month: str,
    round: int,
    share_end: int,
    horizon: int,
) -> PackageVerdicts:
    statuses: list[MessageStatus] = []
    offences: list[OffenceEvent] = []
    checks: list[Check] = []
    rows: list[Reveal] = []
    results: list[EarlierResult] = []
    for o in reveals.opened:
        rp = o.package
        statuses.append(_package_status(o, share_end))
        h = o.reveal_height
        if o.outcome == "copy":
            assert h is not None
            offences.append(OffenceEvent(month, round, "copy", rp.actuary, h, o.copy_detail or ""))
            if rp.role == "lead":
                offences.append(
                    OffenceEvent(month, round, "invalid_lead_result", rp.actuary, h, "copy")
                )
        elif o.outcome == "key_reuse":
            assert h is not None
            offences.append(
                OffenceEvent(month, round, "key_reuse", rp.actuary, h, rp.inscription_id)
            )
        elif (
            o.outcome == "result"
            and o.judgement is not None
            and not (rp.role == "lead" and lead.late_parts)
        ):
            judged_at = lead.ready if rp.role == "lead" else h
            assert judged_at is not None
            if o.judgement.offence:
                name: Offence = (
                    "invalid_lead_result" if rp.role == "lead" else "wrong_secondary_result"
                )
                offences.append(
                    OffenceEvent(
                        month, round, name, rp.actuary, judged_at, o.judgement.problem or ""
                    )
                )
            checks.append(
                Check(
                    "lead_result" if rp.role == "lead" else "secondary_result",
                    month,
                    round,
                    o.judgement.problem is None,
                    f"{rp.inscription_id}: {o.judgement.problem or 'recomputes'}",
                )
            )
        res = o.result
        if res is not None and o.outcome == "result" and h is not None:
            results.append(EarlierResult(rp.actuary, res.roots(), h, round))
        rows.append(
            Reveal(
                package=rp.inscription_id,
                actuary=rp.actuary,
                kind=rp.kind,
                role=rp.role,
                outcome=o.outcome,
                reveal_height=h,
                share_indices=o.indices,
                month_root=None if res is None else res.month_root,
                n_rows=None if res is None else res.n_rows,
                months_root=None if res is None else res.months_root,
                problem=None if o.judgement is None else o.judgement.problem,
                proof_system=None if res is None else res.proof.system,
                proof=None if o.judgement is None else o.judgement.proof,
                valid=o.judgement is not None and o.judgement.problem is None,
                agrees=rp.role != "lead" and _agrees(o, agreement.lead),
                counts=rp.role != "lead" and agreement.counts_at(o, horizon),
            )
        )
    return PackageVerdicts(
        tuple(statuses), tuple(offences), tuple(checks), tuple(rows), tuple(results)
    )


def _package_status(o: _Opened, share_end: int) -> MessageStatus:
    """An owed package's own status: ``copy`` and ``key_reuse`` quarantine it; unrevealed by
    the window's end, ``unrevealed``; else ``late`` or ``valid`` by its role."""
    if o.outcome == "copy":
        return verdict(o.pm, "quarantined", "copy", o.copy_detail or "")
    if o.outcome == "key_reuse":
        return verdict(o.pm, "quarantined", "key_reuse", "k already revealed")
    if o.outcome == "unrevealed":
        return verdict(o.pm, "unrevealed", None, f"fewer than t valid shares by {share_end}")
    if o.outcome == "pending":
        return verdict(o.pm, "pending", None, "share window still open")
    return verdict(o.pm, "late" if o.package.role == "late" else "valid")


def round_rewards(
    ctx: MonthContext,
    round: int,
    *,
    lead: bytes,
    reveals: Reveals,
    agreement: Agreement,
    share_end: int,
) -> list[RewardRow]:
    """§9 rewards of an accepted round: the lead and the race secondaries that agree with it
    by the share window's end (late ones earn nothing; none after a reveal earlier in M)."""
    agreeing = [
        o.package.actuary
        for o in reveals.secondaries
        if o.package.role == "race"
        and not agreement.post_reveal
        and agreement.counts_at(o, share_end)
    ]
    return [
        RewardRow(ctx.month, round, actuary, role, rank, sats)
        for actuary, role, rank, sats in race_rewards(
            ctx.pool_sats, ctx.params.lead_bps, lead, agreeing
        )
    ]


# --- the round ----------------------------------------------------------------------------


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
    """Round ``round`` of ``ctx.month`` seeded at ``seed_height`` (G_r): the phases in order,
    each stopping the round as ``pending`` when it depends on blocks after the tip."""
    p, clock, month = ctx.params, ctx.clock, ctx.month
    work = _Work()
    known = RoundEvaluation(month, round, seed_height, None)
    if not clock.reached(seed_height):
        return work.output(known, msgs)
    seed_hash = ctx.chain.block_hash(seed_height)
    # Results are public for round r iff a package of an earlier round was revealed by G_r:
    # known at G_r, whatever the round reaches.
    post_reveal = any(h <= seed_height for h in prior.reveal_heights)
    known = replace(known, seed_hash=seed_hash, post_reveal=post_reveal)

    # VRF window (§4): the counted VRFs, then R and the elected lead.
    vrf_end = seed_height + p.vrf_window
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
    known = replace(known, vrfs=vrfs.counted)
    if not clock.reached(vrf_end):
        return work.output(known, msgs)
    for actuary in vrf_withheld(ctx.eligible, vrfs.counted):
        work.offence(OffenceEvent(month, round, "vrf_withheld", actuary, vrf_end))
    weights = election_weights(ctx.weights, prior.missed)
    randomness, lead = elect(
        month=month, round=round, seed_hash=seed_hash, counted=vrfs.counted, weights=weights
    )
    known = replace(known, randomness=randomness, weights=weights, lead=lead)
    if lead is None:
        work.rest(msgs.all(), "ignored", "the round is already decided")
        return work.output(replace(known, decision=no_candidates(vrf_end)), msgs)

    # Lead window (§5): the lead package and its parts.
    lead_window = (vrf_end + 1, vrf_end + p.lead_window)
    choice = choose_lead_package(msgs.leads, elected=lead, window=lead_window, paillier=p.paillier)
    work.put(choice.statuses)
    package = choice.package
    if package is None and not clock.reached(lead_window[1]):
        return work.output(known, msgs)
    parts = choose_lead_parts(msgs.parts, elected=lead, window=lead_window, package=package)
    work.put(parts.statuses)
    if package is None:
        work.offence(OffenceEvent(month, round, "missed_lead", lead, lead_window[1]))
        work.rest(msgs.secondaries, "ignored", "the round has no lead package")
        work.rest(msgs.shares, "ignored", "the round has no lead package")
        return work.output(replace(known, decision=no_lead_package(lead_window[1])), msgs)
    known = replace(known, lead_package=package.inscription_id, lead_height=package.height)
    led = _Led(
        ctx,
        round,
        msgs,
        prior,
        registry,
        key_reuse_override,
        share_verifier,
        lead,
        package,
        parts.parts,
        lead_window[1],
    )
    return _race_and_shares(led, work, known)


@dataclass(frozen=True, slots=True)
class _Led:
    """A round with a lead package: what its race, shares, reveals and decision read."""

    ctx: MonthContext
    round: int
    msgs: RoundMessages
    prior: PriorRounds
    registry: KeyRegistry
    override: frozenset[str] | None
    verifier: ShareVerifier | None
    lead: bytes
    package: PositionedMessage
    parts: Mapping[int, PositionedMessage]
    lead_end: int


def _race_and_shares(led: _Led, work: _Work, known: RoundEvaluation) -> RoundOutput:
    """Race (§8), then the share window and the shares ledger."""
    ctx, round, msgs, lead, package = (
        led.ctx,
        led.round,
        led.msgs,
        led.lead,
        led.package,
    )
    p, clock, month = ctx.params, ctx.clock, ctx.month

    # Race (§8): C, C_s, RS, and the packages owed shares.
    race = race_standing(ctx, lead=lead, lead_height=package.height)(msgs.secondaries)
    work.put(race.entries.statuses)
    known = replace(known, race_open=race.race_open, race_end=race.race_end)
    if race.close is None:
        return work.output(known, msgs)
    if race.close_s is None:
        return work.output(replace(known, close=race.close), msgs)
    rs = race.close_s + p.confirmations
    share_end = rs + p.share_window - 1
    known = replace(
        known, close=race.close, close_s=race.close_s, reveal_start=rs, share_end=share_end
    )
    owed = owed_packages(
        package, lead=lead, counting=race.entries.counting, close=race.close, rs=rs
    )
    work.put(owed.ignored)
    known = replace(known, race=owed.race, late=owed.late)

    # Share window (§8): out-of-window shares, then (once the owed set is final) the ledger.
    window = share_window(msgs.shares, roster_index=ctx.roster_index, rs=rs, share_end=share_end)
    work.put(window.statuses)
    if clock.reached(rs):
        for actuary, pm in window.premature.items():
            work.offence(
                OffenceEvent(month, round, "premature_share", actuary, rs, pm.inscription_id)
            )
    if not clock.reached(rs - 1):  # late packages may still arrive: the owed set is not final yet
        return work.output(replace(known, shares=window.records), msgs)
    package_messages = _package_messages(package, race.entries.counting, owed.owed)
    ledger = process_shares(
        window.in_window,
        owed=owed.owed,
        kems={pid: _kem(pm) for pid, pm in package_messages.items()},
        roster_index=ctx.roster_index,
        paillier=p.paillier,
        pk=ctx.pk,
        verifier=led.verifier,
    )
    records = sorted(window.records + ledger.records, key=lambda r: (r.position, r.entry))
    known = replace(known, shares=tuple(records))
    for rec in ledger.invalid:
        detail = f"{rec.shares_id} entry {rec.entry}: {rec.reason}"
        work.offence(
            OffenceEvent(month, round, "invalid_share_proof", rec.actuary, rec.height, detail)
        )
    return _reveal_decide_settle(led, work, known, owed.owed, package_messages, ledger, records)


def _reveal_decide_settle(
    led: _Led,
    work: _Work,
    known: RoundEvaluation,
    owed: Mapping[str, RacePackage],
    package_messages: Mapping[str, PositionedMessage],
    ledger: ShareLedger,
    records: Sequence[ShareRecord],
) -> RoundOutput:
    """Reveals (§8), the decision (§9), the packages' verdicts and the settlement (§9)."""
    ctx, round, msgs = led.ctx, led.round, led.msgs
    clock, month = ctx.clock, ctx.month
    assert known.share_end is not None
    share_end = known.share_end
    lead_msg = led.package.message
    assert isinstance(lead_msg, Lead)
    settled = clock.reached(share_end)
    reveals = reveal_packages(
        ctx,
        owed,
        package_messages,
        ledger,
        parts=led.parts,
        settled=settled,
        registry=led.registry,
        override=led.override,
    )
    standing, lead_open = lead_standing(
        reveals.lead,
        with_parts=lead_msg.parts is not None,
        lead_end=led.lead_end,
        share_end=share_end,
        clock=clock,
    )
    reveals = replace(reveals, opened=(lead_open, *reveals.secondaries))
    agreement = Agreement(lead_open, known.post_reveal, led.prior.results)
    # Below the share end, what the decision reads above the tip is a lead's readiness, which
    # lead_standing asked the clock about.
    horizon = min(share_end, clock.tip)
    decision = decide(
        standing,
        events=[
            *(o.reveal_height for o in reveals.secondaries if o.reveal_height is not None),
            *(e.height for e in led.prior.results),
        ],
        support_at=lambda h: agreement.support_at(reveals.secondaries, h),
        need=ctx.need,
        horizon=horizon,
        share_end=share_end,
        settled=settled,
    )
    verdicts = package_verdicts(
        reveals,
        lead=standing,
        agreement=agreement,
        month=month,
        round=round,
        share_end=share_end,
        horizon=horizon,
    )
    work.put(verdicts.statuses)
    for event in verdicts.offences:
        work.offence(event)
    work.checks.extend(verdicts.checks)

    rewards = _settle(
        led, work, decision, reveals, agreement, owed, records, share_end=share_end, settled=settled
    )
    evaluation = replace(known, reveals=verdicts.reveals, decision=decision, settled=settled)
    return work.output(
        evaluation,
        msgs,
        reveals=reveals,
        results=verdicts.results,
        rewards=rewards,
        lead_result=lead_open.result if standing.counts else None,
    )


def _settle(
    led: _Led,
    work: _Work,
    decision: Decision,
    reveals: Reveals,
    agreement: Agreement,
    owed: Mapping[str, RacePackage],
    records: Sequence[ShareRecord],
    *,
    share_end: int,
    settled: bool,
) -> list[RewardRow]:
    """Settlement (§9) at RS + share_window − 1 (``withheld_share``, the rewards of an
    accepted round), and the round's decision check once it is decided."""
    ctx, round, lead = led.ctx, led.round, led.lead
    p, month = ctx.params, ctx.month
    rewards: list[RewardRow] = []
    if settled:
        for actuary, detail in withheld_shares(p.roster, list(owed), records):
            work.offence(OffenceEvent(month, round, "withheld_share", actuary, share_end, detail))
        if decision.outcome == "accepted":
            rewards = round_rewards(
                ctx, round, lead=lead, reveals=reveals, agreement=agreement, share_end=share_end
            )
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
    return rewards


def _kem(pm: PositionedMessage) -> int:
    msg = pm.message
    assert isinstance(msg, Lead | Secondary)
    return int.from_bytes(msg.kem, "big")


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
    if lead.judgement.problem is not None or not o.judgement.proof_ok:
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
) -> tuple[_Opened, RevealedKey | None]:
    """One owed package opened with its valid shares: the key k revealed from it (if it is the
    actuary's own package) beside the outcome (§8: copy, key reuse, result, unrevealed)."""
    revealed = reveal(ctx.pk, shares)
    if revealed is None:
        return _Opened(
            rp, pm, None, (), "unrevealed" if settled else "pending", None, None, None
        ), None
    key, height, indices = revealed
    opened = open_package(pm, key, parts=parts if rp.role == "lead" else None)
    if opened.copy is not None:
        return _Opened(rp, pm, height, indices, "copy", None, None, opened.copy), None
    assert isinstance(key, bytes)
    new_key = RevealedKey(rp.actuary, height, rp.position, key, rp.inscription_id)
    if override is not None:
        is_reuse = rp.inscription_id in override
    else:
        is_reuse = registry.reused(rp.actuary, key, height, rp.position)
    if is_reuse:
        return _Opened(rp, pm, height, indices, "key_reuse", None, None, None), new_key
    judgement = judge_result(rp.kind, opened, expected=ctx.expected, proofs=ctx.proofs)
    result = opened.result if isinstance(opened.result, Result) else None
    return _Opened(rp, pm, height, indices, "result", result, judgement, None), new_key
