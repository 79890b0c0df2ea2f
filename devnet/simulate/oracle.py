"""The simulator's own bookkeeping of the protocol (PROTOCOL.md §4–§9), from what was mined.

This is deliberately *not* ``drey.rules``: it is the independent oracle the answer key comes
from. It uses the protocol library's primitives (ECVRF, the lead draw, Paillier combination,
package decryption, the result checks, the allocation file reader, Poseidon trees), never its
rules engine. Honest actuary clients read the same state to decide what to do next (it is
public: it uses nothing but the chain view).

:meth:`Oracle.evaluate` recomputes the state as of the view's tip. Values that depend on
blocks after the tip stay ``None`` (pending). Expensive steps (share proofs, VRF proofs,
combinations, decryptions, month allocations) are cached, and a month is frozen once it is
settled, published and ten blocks deep.

Decisions where PROTOCOL.md is silent follow docs/protocol/rules.md (the rules engine's
documented choices; docs/simulator.md lists them), so that producer and verifier agree while
the answer key stays an independent computation:

- a round whose lead draw has all weights 0 fails at G_r + vrf_window;
- "results are public" for round r iff a package of an earlier round of M was revealed at a
  height ≤ G_r; then race rewards are 0 (k = 0, the rest goes to the lead) and a secondary
  counts for agreement only with a result of an earlier round of M, revealed by the height
  considered, with the same roots;
- the base of a slash is the actuary's weight at S_M (stake minus earlier slashes, floored at
  0); an actuary's slashes in one month are capped at that base, applied in decision order;
- decision heights: vrf_withheld at G + vrf_window, missed_lead at the end of the lead window,
  invalid_lead_result / wrong_secondary_result / copy / key_reuse at the package's reveal (a
  lead with parts: not before the lead window's end), premature_share at RS,
  invalid_share_proof at the shares message, withheld_share at RS + share_window − 1;
- a shares message before RS is ``premature``, after the window ``ignored``; share proofs are
  checked before duplicates; a lead that reuses a key is rejected at the share window's end.
"""

from __future__ import annotations

import bisect
from collections import ChainMap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from devnet.simulate.calendar import add_months, month_end
from devnet.simulate.public import Expected, PublicComputations
from devnet.simulate.view import ChainView, Posted
from drey.allocation_file import FileProblem, read_allocation_file
from drey.crypto import ecvrf
from drey.crypto.groth16 import ProofError, Verifier
from drey.crypto.package import DecryptFailure, decrypt_package, lead_part_ad, package_ad
from drey.crypto.paillier import DecryptionShare, PaillierPublicKey, combine_shares, verify_share
from drey.crypto.poseidon import field_from_bytes, poseidon2
from drey.election import draw_lead, election_randomness, vrf_alpha
from drey.errors import CryptoError
from drey.merkle import MonthsTree, month_index
from drey.messages import (
    Allocation,
    Lead,
    LeadPart,
    Paillier,
    Params,
    Quarantine,
    ResolvedParams,
    Result,
    Secondary,
    Shares,
    Vrf,
    assemble_lead_file,
    check_kem,
    check_result,
    check_share_entry,
)
from drey.proofs import decode_proof

__all__ = [
    "OFFENCE_ORDER",
    "MonthState",
    "Offence",
    "Oracle",
    "Package",
    "RoundState",
    "ShareLedgerEntry",
    "State",
]

OFFENCE_ORDER = (
    "missed_lead",
    "invalid_lead_result",
    "wrong_secondary_result",
    "copy",
    "key_reuse",
    "premature_share",
    "invalid_share_proof",
    "withheld_share",
    "vrf_withheld",
)

Outcome = Literal["result", "copy", "key_reuse", "unrevealed", "pending"]


@dataclass(slots=True)
class Offence:
    offence: str
    actuary: bytes
    month: str
    round: int
    height: int
    slash: int = 0


@dataclass(slots=True)
class ShareLedgerEntry:
    shares_id: str
    entry: int
    height: int
    position: tuple[int, int, int]
    actuary: bytes
    package: str
    status: str  # valid | duplicate | premature | ignored | quarantined
    reason: str | None = None


#: A secondary result's problems that are its actuary's offence (wrong_secondary_result).
OFFENDING = ("wrong_roots", "bad_proof")


@dataclass(slots=True)
class Package:
    """A package owed shares (the lead package, a race or a late secondary)."""

    pm: Posted
    actuary: bytes
    kind: Literal["lead", "secondary"]
    role: Literal["lead", "race", "late"]
    rank: int | None = None
    shares: list[tuple[tuple[int, int, int], int, DecryptionShare]] = field(default_factory=list)
    outcome: Outcome = "pending"
    reveal_height: int | None = None
    share_indices: tuple[int, ...] = ()
    key: bytes | None = None
    result: Result | None = None
    problem: str | None = None
    valid: bool = False
    agrees: bool = False
    counts: bool = False
    plaintext: bytes | None = None
    #: The proof as the chain's rules take it: v1's ``recompute``, or a v1.1 proof that
    #: verified (``proof_reason`` says why not).
    proof_ok: bool = False
    proof_reason: str | None = None
    proof_checked: bool = False

    @property
    def id(self) -> str:
        return self.pm.id

    @property
    def height(self) -> int:
        return self.pm.height

    def roots(self) -> tuple[bytes, int, bytes] | None:
        return None if self.result is None else self.result.roots()


@dataclass(slots=True)
class RoundState:
    month: str
    round: int
    G: int
    seed_hash: bytes | None = None
    vrfs: dict[bytes, Posted] = field(default_factory=dict)
    randomness: bytes | None = None
    weights: list[tuple[bytes, int]] = field(default_factory=list)
    lead: bytes | None = None
    lead_known: bool = False
    lead_lo: int = 0
    lead_hi: int = 0
    vrf_hi: int = 0
    lead_package: Package | None = None
    parts: dict[int, Posted] = field(default_factory=dict)
    L: int | None = None
    X: int | None = None
    C: int | None = None
    C_s: int | None = None
    RS: int | None = None
    SE: int | None = None
    counting: list[Posted] = field(default_factory=list)
    race: list[Package] = field(default_factory=list)
    late: list[Package] = field(default_factory=list)
    public: bool = False
    ledger: list[ShareLedgerEntry] = field(default_factory=list)
    decision: Literal["accepted", "rejected"] | None = None
    decision_reason: str = ""
    D: int | None = None
    support: int = 0
    settled: bool = False
    rewards: list[tuple[bytes, str, int | None, int]] = field(default_factory=list)
    offences: list[Offence] = field(default_factory=list)

    def owed(self) -> list[Package]:
        return ([self.lead_package] if self.lead_package else []) + self.race + self.late

    def package(self, package_id: str) -> Package | None:
        for p in self.owed():
            if p.id == package_id:
                return p
        return None


@dataclass(slots=True)
class MonthState:
    month: str
    S_prev: int
    S: int
    A_prev: int
    B: int
    roster: list[
        tuple[int, bytes, int, int, int, bool]
    ]  # index, key, stake, slashed, weight, eligible
    eligible: list[bytes]
    E: int
    m: int
    need: int
    under_threshold: bool
    expected: Expected
    pool_sats: int
    rounds: list[RoundState] = field(default_factory=list)
    outcome: Literal["accepted", "failed", "no_quorum", "overflow"] | None = None
    decided_height: int | None = None
    accepted_round: int | None = None
    leaf: int | None = None
    months_tree_after: MonthsTree | None = None
    offences: list[Offence] = field(default_factory=list)
    settled: bool = False
    settle_height: int | None = None
    publication: Posted | None = None
    slashed_total: int = 0
    credited: dict[int, int] = field(default_factory=dict)
    carried_in: int = 0
    carried_out: int = 0
    redistribution_final: bool = False

    def weight(self, key: bytes) -> int:
        for _, k, _, _, w, _ in self.roster:
            if k == key:
                return w
        return 0

    def is_eligible(self, key: bytes) -> bool:
        return key in self.eligible

    def accepted(self) -> RoundState | None:
        return None if self.accepted_round is None else self.rounds[self.accepted_round]


@dataclass(slots=True)
class State:
    """The protocol as of ``tip``."""

    tip: int
    params: Posted | None
    resolved: ResolvedParams | None
    pk: PaillierPublicKey | None
    snapshots: list[int]
    months: list[MonthState]
    open_month: str | None
    statuses: Mapping[str, tuple[str, str | None]]
    months_roots: list[tuple[str, bytes]]
    carried: int = 0

    def month(self, month: str) -> MonthState | None:
        for m in self.months:
            if m.month == month:
                return m
        return None

    def roster_index(self, key: bytes) -> int | None:
        if self.resolved is None:
            return None
        for e in self.resolved.roster:
            if e.key == key:
                return e.index
        return None


class Oracle:
    """Evaluates the chain view; see the module docstring."""

    def __init__(
        self, *, founder: bytes, public: PublicComputations, proofs: Verifier | None = None
    ) -> None:
        self.founder = founder
        self.public = public
        #: v1.1: the verifier of the circuit the params name (the setup the simulator ran);
        #: ``None``: a v1 network, only ``recompute``.
        self.proofs = proofs
        self._vrf: dict[tuple[str, bytes], bytes | None] = {}
        self._share_ok: dict[tuple[str, int, str], bool] = {}
        self._proof_ok: dict[tuple[bytes, bytes], tuple[bool, str | None]] = {}
        self._keys: dict[tuple[str, tuple[str, ...]], bytes | DecryptFailure] = {}
        self._frozen: dict[
            str, tuple[int, bytes, MonthState, dict[str, tuple[str, str | None]]]
        ] = {}
        self._pai: Paillier | None = None
        self._snapshots: dict[tuple[str, int], tuple[int, bytes]] = {}
        self._credits: dict[tuple[str, int, bytes], dict[int, int]] = {}

    # ------------------------------------------------------------------------------------
    def evaluate(self, view: ChainView) -> State:
        tip = view.tip
        statuses: dict[str, tuple[str, str | None]] = {}
        params_pm = view.params
        if params_pm is None:
            return State(tip, None, None, None, [], [], None, ChainMap(statuses), [])
        params = params_pm.message
        assert isinstance(params, Params)
        rp = params.resolved()
        self._pai = params.paillier
        pk = PaillierPublicKey.from_params(
            n=params.paillier.n,
            v=params.paillier.v,
            vks=[e.vk for e in params.roster],
            threshold=params.threshold,
        )
        snapshots = [params_pm.height]
        months: list[MonthState] = []
        tree = MonthsTree.empty(depth=rp.months_depth)
        prev_decided = params_pm.height
        month = rp.first_month
        slash_events: list[tuple[int, bytes, int]] = []  # (height, actuary, sats)
        carried = 0
        carry_final = True
        roots: list[tuple[str, bytes]] = []
        open_month: str | None = None
        earlier_keys: dict[bytes, list[tuple[int, tuple[int, int, int], bytes]]] = {}
        while True:
            s = self._snapshot(view, snapshots[-1], month)
            if s is None:
                open_month = month
                break
            snapshots.append(s)
            frozen = self._reusable(view, month)
            if frozen is not None:
                ms, local = frozen
                statuses.update(local)
                for frozen_round in ms.rounds:
                    _remember_keys(frozen_round, earlier_keys)
            else:
                local = {}
                ms = self._month(
                    view,
                    month=month,
                    rp=rp,
                    pk=pk,
                    snapshots=snapshots,
                    prev_decided=prev_decided,
                    tree=tree,
                    slash_events=slash_events,
                    earlier_keys=earlier_keys,
                    statuses=local,
                )
                statuses.update(local)
                self._freeze(view, month, ms, local)
            for off in ms.offences:
                if off.slash:
                    slash_events.append((off.height, off.actuary, off.slash))
            # Redistribution (§9): the month's slashes plus what earlier months carried.
            ms.carried_in = carried
            if ms.settled and carry_final:
                carried = self._redistribute(month, ms, carried)
            else:
                carry_final = False
            months.append(ms)
            if ms.outcome is None or ms.months_tree_after is None:
                break
            tree = ms.months_tree_after
            roots.append((month, _fe(tree.root)))
            prev_decided = ms.decided_height  # type: ignore[assignment]
            month = add_months(month, 1)
        # Allocation messages of months never evaluated stay pending.
        for m_msgs in view.allocations.values():
            for pm in m_msgs:
                statuses.setdefault(pm.id, ("pending", None))
        # The view's statuses (final when decoded) are not copied: a chain map looks them up.
        merged = ChainMap(statuses, view.base_status)
        return State(tip, params_pm, rp, pk, snapshots, months, open_month, merged, roots, carried)

    def _reusable(
        self, view: ChainView, month: str
    ) -> tuple[MonthState, dict[str, tuple[str, str | None]]] | None:
        """A month frozen earlier whose freeze block is still on the chain (nothing a reorg
        above it can change), with its statuses."""
        frozen = self._frozen.get(month)
        if (
            frozen is not None
            and frozen[0] <= view.tip
            and view.hash(frozen[0]) == frozen[1]
            and frozen[2].months_tree_after is not None
        ):
            return frozen[2], frozen[3]
        return None

    def _freeze(
        self,
        view: ChainView,
        month: str,
        ms: MonthState,
        statuses: dict[str, tuple[str, str | None]],
    ) -> None:
        """Keep a settled (and, if accepted, published) month once 10 blocks bury it."""
        if not (
            ms.settled
            and ms.settle_height is not None
            and (ms.outcome != "accepted" or ms.publication is not None)
        ):
            return
        last = max(ms.settle_height, ms.publication.height if ms.publication is not None else 0)
        if view.tip >= last + 10:
            self._frozen[month] = (last + 10, view.hash(last + 10), ms, statuses)

    def _redistribute(self, month: str, ms: MonthState, carried: int) -> int:
        """§9 redistribution: the month's slashes plus what earlier months carried go pro rata
        to an accepted month's users, or carry on; returns what carries to the next month."""
        pool = ms.slashed_total + carried
        total_dreybits = ms.expected.dreybits_total if ms.outcome == "accepted" else 0
        ms.redistribution_final = True
        if ms.outcome == "accepted" and total_dreybits > 0:
            credit_key = (month, pool, ms.expected.sha256)
            credited = self._credits.get(credit_key)
            if credited is None:
                credited = _pro_rata(pool, ms.expected, total_dreybits)
                self._credits[credit_key] = credited
            ms.credited = credited
            ms.carried_out = 0
            return 0
        ms.credited = {}
        ms.carried_out = pool
        return pool

    # ------------------------------------------------------------------------------------
    def _snapshot(self, view: ChainView, prev: int, month: str) -> int | None:
        """S_M: the first h > S_{M−1} with MTP(h) ≥ the end of M (cached per block hash)."""
        hit = self._snapshots.get((month, prev))
        if hit is not None and hit[0] <= view.tip and view.hash(hit[0]) == hit[1]:
            return hit[0]
        end = month_end(month)
        for h in range(prev + 1, view.tip + 1):
            if view.mtp(h) >= end:
                self._snapshots[(month, prev)] = (h, view.hash(h))
                return h
        return None

    def _month(
        self,
        view: ChainView,
        *,
        month: str,
        rp: ResolvedParams,
        pk: PaillierPublicKey,
        snapshots: list[int],
        prev_decided: int,
        tree: MonthsTree,
        slash_events: list[tuple[int, bytes, int]],
        earlier_keys: dict[bytes, list[tuple[int, tuple[int, int, int], bytes]]],
        statuses: dict[str, tuple[str, str | None]],
    ) -> MonthState:
        """Month M from its snapshot to its outcome: start (§4), rounds (§8, §9), the months
        tree after it (§7), slashes and the publication (§9)."""
        ms = self._month_start(
            view, month=month, rp=rp, snapshots=snapshots, prev_decided=prev_decided,
            tree=tree, slash_events=slash_events,
        )  # fmt: skip
        m_idx = month_index(month) - month_index(rp.first_month)
        if ms.E == 0 or ms.expected.overflow:
            ms.outcome = "no_quorum" if ms.E == 0 else "overflow"
            ms.decided_height = ms.B
            ms.leaf = 0
            ms.months_tree_after = tree.with_leaf(m_idx, 0)
            ms.settled = True
            ms.settle_height = ms.B
            self._round_statuses(view, ms, statuses, rp)
            return ms
        self._play_rounds(view, ms, rp=rp, pk=pk, earlier_keys=earlier_keys)
        if ms.outcome is not None:
            ms.leaf = ms.expected.commitment if ms.outcome == "accepted" else 0
            ms.months_tree_after = (
                ms.expected.months_tree if ms.outcome == "accepted" else tree.with_leaf(m_idx, 0)
            )
        ms.settled = ms.outcome is not None and all(r.settled for r in ms.rounds)
        if ms.settled:
            ms.settle_height = max(
                max((r.SE or 0) for r in ms.rounds), max((r.D or 0) for r in ms.rounds)
            )
        _slash(ms, rp)
        if ms.outcome == "accepted":
            ms.publication = self._publication(view, ms, rp, statuses)
        elif ms.outcome is not None:
            for pm in view.allocations.get(month, []):
                statuses[pm.id] = ("ignored", None)
        self._round_statuses(view, ms, statuses, rp)
        return ms

    def _month_start(
        self,
        view: ChainView,
        *,
        month: str,
        rp: ResolvedParams,
        snapshots: list[int],
        prev_decided: int,
        tree: MonthsTree,
        slash_events: list[tuple[int, bytes, int]],
    ) -> MonthState:
        """§4 at S_M: each roster member's stake minus the slashes decided by then, who is
        eligible, E, m, need, B_M; and what the month should compute (the public side)."""
        s_prev, s = snapshots[-2], snapshots[-1]
        roster = []
        for e in rp.roster:
            stake = view.stake_at(e.key, s)
            slashed = sum(x for h, a, x in slash_events if a == e.key and h <= s)
            weight = max(0, stake - slashed)
            roster.append((e.index, e.key, stake, slashed, weight, weight >= rp.min_stake))
        eligible = sorted(k for _, k, _, _, _, ok in roster if ok)
        n_elig = len(eligible)
        num, den = rp.supermajority
        expected = self.public.expected(
            view,
            month=month,
            snapshots=snapshots,
            pool=rp.dreybits_per_month,
            months_tree=tree,
            first_month=rp.first_month,
        )
        return MonthState(
            month=month,
            S_prev=s_prev,
            S=s,
            A_prev=prev_decided,
            B=max(s, prev_decided),
            roster=roster,
            eligible=eligible,
            E=n_elig,
            m=0 if n_elig <= 1 else (n_elig - 1) // 2 + 1,
            need=(num * n_elig + den - 1) // den,
            under_threshold=n_elig < rp.threshold,
            expected=expected,
            pool_sats=expected.total_deposits * rp.fee_bps // 10_000,
        )

    def _play_rounds(
        self,
        view: ChainView,
        ms: MonthState,
        *,
        rp: ResolvedParams,
        pk: PaillierPublicKey,
        earlier_keys: dict[bytes, list[tuple[int, tuple[int, int, int], bytes]]],
    ) -> None:
        """Rounds 0, 1, … until one is accepted, one is undecided at the tip, or max_rounds
        fail the month (§9); each round's seed height follows the previous decision."""
        missed: set[bytes] = set()
        g = ms.B + rp.confirmations - 1
        for r in range(rp.max_rounds):
            rs = RoundState(month=ms.month, round=r, G=g)
            ms.rounds.append(rs)
            self._round(view, ms, rs, rp=rp, pk=pk, missed=missed, earlier_keys=earlier_keys)
            _remember_keys(rs, earlier_keys)
            if rs.decision is None:
                return
            if rs.decision == "accepted":
                ms.outcome = "accepted"
                ms.decided_height = rs.D
                ms.accepted_round = r
                return
            g = rs.D + rp.confirmations - 1  # type: ignore[operator]
        ms.outcome = "failed"
        ms.decided_height = ms.rounds[-1].D

    # ------------------------------------------------------------------------------------
    def _round(
        self,
        view: ChainView,
        ms: MonthState,
        rs: RoundState,
        *,
        rp: ResolvedParams,
        pk: PaillierPublicKey,
        missed: set[bytes],
        earlier_keys: dict[bytes, list[tuple[int, tuple[int, int, int], bytes]]],
    ) -> None:
        """Round r of M as the simulator books it, phase by phase; each phase returns False
        when what follows depends on blocks after the tip."""
        g = rs.G
        if view.tip < g:
            return
        rs.seed_hash = view.hash(g)
        rs.vrf_hi = g + rp.vrf_window
        # Public regime: a package of an earlier round of M revealed by G_r.
        rs.public = any(
            p.reveal_height is not None and p.reveal_height <= g
            for prev in ms.rounds[:-1]
            for p in prev.owed()
        )
        if not self._round_vrfs(view, ms, rs, rp=rp, missed=missed):
            return
        if not self._round_lead(view, ms, rs, rp=rp, missed=missed):
            return
        if not self._round_race(view, ms, rs, rp=rp):
            return
        counted = self._round_shares(view, ms, rs, rp=rp, pk=pk)
        self._round_decision(view, ms, rs, rp=rp, pk=pk, earlier_keys=earlier_keys)
        self._round_settlement(view, ms, rs, rp=rp, counted=counted)

    def _round_vrfs(
        self,
        view: ChainView,
        ms: MonthState,
        rs: RoundState,
        *,
        rp: ResolvedParams,
        missed: set[bytes],
    ) -> bool:
        """§4: counted VRFs, R, the weights and the lead; ``vrf_withheld``."""
        tip, month, r, g, vw = view.tip, ms.month, rs.round, rs.G, rp.vrf_window
        assert rs.seed_hash is not None
        # VRFs (§4).
        roster_vrf = {e.key: e.vrf_key for e in rp.roster}
        alpha = vrf_alpha(month, r, rs.seed_hash)
        for pm in view.round_messages("vrf", month, r):
            msg = pm.message
            assert isinstance(msg, Vrf)
            if msg.actuary not in ms.eligible or msg.actuary in rs.vrfs:
                continue
            if not g + 1 <= pm.height <= g + vw:
                continue
            if self._vrf_beta(pm, roster_vrf[msg.actuary], alpha) is not None:
                rs.vrfs[msg.actuary] = pm
        if tip < g + vw:
            return False
        betas = [self._vrf[(rs.vrfs[k].id, alpha)] for k in rs.vrfs]
        rs.randomness = election_randomness(month, r, rs.seed_hash, betas)  # type: ignore[arg-type]
        rs.weights = [(k, 0 if k in missed else ms.weight(k)) for k in ms.eligible]
        rs.lead = draw_lead(rs.randomness, rs.weights)
        rs.lead_known = True
        for k in ms.eligible:
            if k not in rs.vrfs:
                rs.offences.append(Offence("vrf_withheld", k, month, r, g + vw))
        if rs.lead is None:
            rs.decision, rs.D, rs.decision_reason = "rejected", g + vw, "all weights zero"
            rs.settled = True
            return False
        return True

    def _round_lead(
        self,
        view: ChainView,
        ms: MonthState,
        rs: RoundState,
        *,
        rp: ResolvedParams,
        missed: set[bytes],
    ) -> bool:
        """§5: the lead package and its parts; ``missed_lead``."""
        tip, month, r, g = view.tip, ms.month, rs.round, rs.G
        vw, lw = rp.vrf_window, rp.lead_window
        assert rs.lead is not None  # _round_vrfs stops the round without a lead
        lo, hi = g + vw + 1, g + vw + lw
        rs.lead_lo, rs.lead_hi = lo, hi
        for pm in view.round_messages("lead", month, r):
            msg = pm.message
            assert isinstance(msg, Lead)
            if msg.actuary != rs.lead or not lo <= pm.height <= hi:
                continue
            if check_kem(msg, paillier=_paillier(view)) is not None:
                continue
            rs.lead_package = Package(pm, msg.actuary, "lead", "lead")
            break
        if rs.lead_package is None:
            if tip >= hi:
                rs.decision, rs.D, rs.decision_reason = "rejected", hi, "no lead package"
                rs.offences.append(Offence("missed_lead", rs.lead, month, r, hi))
                missed.add(rs.lead)
                rs.settled = True
            return False
        lead_msg = rs.lead_package.pm.message
        assert isinstance(lead_msg, Lead)
        if lead_msg.parts is not None:
            for pm in view.round_messages("lead_part", month, r):
                part = pm.message
                assert isinstance(part, LeadPart)
                if part.actuary != rs.lead or not lo <= pm.height <= hi:
                    continue
                if part.index < lead_msg.parts and part.index not in rs.parts:
                    rs.parts[part.index] = pm
        return True

    def _round_race(
        self, view: ChainView, ms: MonthState, rs: RoundState, *, rp: ResolvedParams
    ) -> bool:
        """§8: counting secondaries, C, C_s, RS, the race and late packages."""
        tip, month, r = view.tip, ms.month, rs.round
        ro, rw, sw, c = rp.race_offset, rp.race_window, rp.share_window, rp.confirmations
        assert rs.lead_package is not None
        rs.L = L = rs.lead_package.height
        rs.X = X = L + ro + rw - 1
        # Counting secondaries (§8).
        seen: set[bytes] = set()
        for pm in view.round_messages("secondary", month, r):
            msg = pm.message
            assert isinstance(msg, Secondary)
            if msg.actuary == rs.lead or msg.actuary not in ms.eligible:
                continue
            if check_kem(msg, paillier=_paillier(view)) is not None:
                continue
            if pm.height < L + ro or msg.actuary in seen:
                continue
            seen.add(msg.actuary)
            rs.counting.append(pm)
        heights = [pm.height for pm in rs.counting]
        rs.C = _first_reaching(heights, L + ro, X, ms.m, tip)
        if rs.C is None:
            return False
        rs.C_s = _first_reaching(heights, rs.C, X, ms.need - 1, tip)
        if rs.C_s is None:
            return False
        rs.RS = RS = rs.C_s + c
        rs.SE = RS + sw - 1
        for pm in rs.counting:
            msg = pm.message
            if pm.height <= rs.C:
                rs.race.append(Package(pm, msg.actuary, "secondary", "race"))  # type: ignore[union-attr]
            elif pm.height < RS:
                rs.late.append(Package(pm, msg.actuary, "secondary", "late"))  # type: ignore[union-attr]
        for rank, p in enumerate(rs.race, start=1):
            p.rank = rank
        # Late packages may still come before RS − 1; shares cannot be valid before RS anyway.
        return tip >= RS - 1

    def _round_shares(
        self,
        view: ChainView,
        ms: MonthState,
        rs: RoundState,
        *,
        rp: ResolvedParams,
        pk: PaillierPublicKey,
    ) -> set[tuple[bytes, str]]:
        """§8: the shares ledger; ``premature_share``, ``invalid_share_proof``. Returns the
        (actuary, package) pairs with a counted share."""
        month, r = ms.month, rs.round
        assert rs.RS is not None and rs.SE is not None
        RS, SE = rs.RS, rs.SE
        # Shares ledger (§8).
        owed = {p.id: p for p in rs.owed()}
        roster_idx = {e.key: e.index for e in rp.roster}
        counted: set[tuple[bytes, str]] = set()
        premature: set[bytes] = set()
        invalid: set[bytes] = set()
        for pm in view.round_messages("shares", month, r):
            msg = pm.message
            assert isinstance(msg, Shares)
            index = roster_idx.get(msg.actuary)
            if index is None:
                continue
            for i, entry in enumerate(msg.shares):
                row = ShareLedgerEntry(
                    pm.id, i, pm.height, pm.position, msg.actuary, entry.package, "valid"
                )
                rs.ledger.append(row)
                if pm.height < RS:
                    row.status = "premature"
                    if msg.actuary not in premature:
                        # Decided at RS: the moment the share is certainly premature.
                        premature.add(msg.actuary)
                        rs.offences.append(Offence("premature_share", msg.actuary, month, r, RS))
                    continue
                if pm.height > SE:
                    row.status = "ignored"
                    continue
                pkg = owed.get(entry.package)
                if pkg is None:
                    row.status, row.reason = "ignored", "not_owed"
                    continue
                size = check_share_entry(
                    entry, paillier=_paillier(view), roster_size=len(rp.roster)
                )
                if size is not None:
                    row.status, row.reason = "quarantined", size.reason
                else:
                    ds = self._share(pk, pm, i, index, pkg)
                    if ds is None:
                        row.status, row.reason = "quarantined", "invalid_share_proof"
                    elif (msg.actuary, entry.package) in counted:
                        row.status = "duplicate"
                        continue
                    else:
                        counted.add((msg.actuary, entry.package))
                        pkg.shares.append((pm.position, index, ds))
                        continue
                if msg.actuary not in invalid:
                    invalid.add(msg.actuary)
                    rs.offences.append(
                        Offence("invalid_share_proof", msg.actuary, month, r, pm.height)
                    )
        return counted

    def _round_decision(
        self,
        view: ChainView,
        ms: MonthState,
        rs: RoundState,
        *,
        rp: ResolvedParams,
        pk: PaillierPublicKey,
        earlier_keys: dict[bytes, list[tuple[int, tuple[int, int, int], bytes]]],
    ) -> None:
        """§8 reveals and §9 results, agreement and the decision."""
        tip, month, r = view.tip, ms.month, rs.round
        assert rs.RS is not None and rs.SE is not None and rs.lead_package is not None
        RS, SE = rs.RS, rs.SE
        assert rs.lead is not None
        lead_msg = rs.lead_package.pm.message
        assert isinstance(lead_msg, Lead)
        # Reveals (§8) and results (§5, §9).
        for pkg in rs.owed():
            self._reveal(view, ms, rs, pkg, rp=rp, pk=pk, earlier_keys=earlier_keys)
        lead_pkg = rs.lead_package
        lead_roots = lead_pkg.roots() if lead_pkg.outcome == "result" else None
        for pkg in rs.race + rs.late:
            if pkg.outcome != "result" or pkg.result is None:
                continue
            pkg.agrees = lead_roots is not None and pkg.proof_ok and pkg.roots() == lead_roots
        # Decision (§9). A lead whose file travels in parts is judged once the lead window
        # (where parts may still come) is over.
        judged = None
        if lead_pkg.reveal_height is not None and lead_pkg.outcome != "key_reuse":
            judged = lead_pkg.reveal_height
            if lead_msg.parts is not None:
                judged = max(judged, rs.lead_hi)
        for h in range(RS, min(SE, tip) + 1):
            if judged is None or judged > h:
                continue
            if not lead_pkg.valid:
                rs.decision, rs.D = "rejected", judged
                rs.decision_reason = "invalid lead result"
                rs.offences.append(Offence("invalid_lead_result", rs.lead, month, r, judged))
                break
            support = 1 + sum(1 for p in rs.race + rs.late if self._counts(ms, rs, p, h))
            if support >= ms.need:
                rs.decision, rs.D, rs.support = "accepted", h, support
                rs.decision_reason = "lead valid, supermajority agrees"
                break
        if rs.decision is None and tip >= SE:
            rs.decision, rs.D = "rejected", SE
            rs.decision_reason = {
                "unrevealed": "lead unrevealed",
                "key_reuse": "lead key reuse",
            }.get(lead_pkg.outcome, "not enough agreement")
        for pkg in rs.race + rs.late:
            pkg.counts = self._counts(ms, rs, pkg, SE if tip >= SE else tip)

    def _round_settlement(
        self,
        view: ChainView,
        ms: MonthState,
        rs: RoundState,
        *,
        rp: ResolvedParams,
        counted: set[tuple[bytes, str]],
    ) -> None:
        """§9 at RS + share_window − 1: ``withheld_share`` and the rewards."""
        tip, month, r = view.tip, ms.month, rs.round
        assert rs.SE is not None and rs.lead is not None
        SE = rs.SE
        # Settlement at RS + share_window − 1: rewards and withheld_share.
        if tip >= SE:
            rs.settled = True
            for e in rp.roster:
                if any((e.key, p.id) not in counted for p in rs.owed()):
                    rs.offences.append(Offence("withheld_share", e.key, month, r, SE))
            if rs.decision == "accepted":
                lead_sats = ms.pool_sats * rp.lead_bps // 10_000
                rest = ms.pool_sats - lead_sats
                agreeing = (
                    []
                    if rs.public
                    else [p for p in rs.race if p.counts and p.reveal_height is not None]
                )
                n_agree = len(agreeing)
                if n_agree == 0:
                    rs.rewards = [(rs.lead, "lead", None, lead_sats + rest)]
                else:
                    weights_sum = n_agree * (n_agree + 1) // 2
                    shares = [
                        rest * (n_agree - q + 1) // weights_sum for q in range(1, n_agree + 1)
                    ]
                    shares[0] += rest - sum(shares)
                    rs.rewards = [(rs.lead, "lead", None, lead_sats)] + [
                        (p.actuary, "secondary", q, shares[q - 1])
                        for q, p in enumerate(agreeing, start=1)
                    ]

    def _vrf_beta(self, pm: Posted, vrf_key: bytes, alpha: bytes) -> bytes | None:
        key = (pm.id, alpha)
        if key not in self._vrf:
            msg = pm.message
            assert isinstance(msg, Vrf)
            self._vrf[key] = ecvrf.verify(vrf_key, msg.proof, alpha)
        return self._vrf[key]

    def _share(
        self, pk: PaillierPublicKey, pm: Posted, i: int, index: int, pkg: Package
    ) -> DecryptionShare | None:
        """The entry as a verified decryption share of ``pkg``'s kem, or None."""
        msg = pm.message
        assert isinstance(msg, Shares)
        entry = msg.shares[i]
        try:
            ds = DecryptionShare.deserialize(pk, index, entry.share, entry.e, entry.z)
        except CryptoError:
            return None
        kem = pkg.pm.message.kem  # type: ignore[union-attr]
        key = (pm.id, i, pkg.id)
        ok = self._share_ok.get(key)
        if ok is None:
            ok = verify_share(pk, int.from_bytes(kem, "big"), ds)
            self._share_ok[key] = ok
        return ds if ok else None

    def _counts(self, ms: MonthState, rs: RoundState, pkg: Package, h: int) -> bool:
        """Does this race/late result count for agreement with the lead at height h?"""
        if not pkg.agrees or pkg.reveal_height is None or pkg.reveal_height > h:
            return False
        if not rs.public:
            return True
        for prev in ms.rounds:
            if prev is rs:
                break
            for p in prev.owed():
                if (
                    p.actuary == pkg.actuary
                    and p.outcome == "result"
                    and p.reveal_height is not None
                    and p.reveal_height <= h
                    and p.roots() == pkg.roots()
                ):
                    return True
        return False

    def _reveal(
        self,
        view: ChainView,
        ms: MonthState,
        rs: RoundState,
        pkg: Package,
        *,
        rp: ResolvedParams,
        pk: PaillierPublicKey,
        earlier_keys: dict[bytes, list[tuple[int, tuple[int, int, int], bytes]]],
    ) -> None:
        tip = view.tip
        chosen = _first_distinct_shares(pkg.shares, rp.threshold)
        if len(chosen) < rp.threshold:
            pkg.outcome = "unrevealed" if rs.SE is not None and tip >= rs.SE else "pending"
            return
        pkg.reveal_height = chosen[-1][0][0]
        pkg.share_indices = tuple(i for _, i, _ in chosen)
        msg = pkg.pm.message
        assert isinstance(msg, Lead | Secondary)
        key = self._package_key(pk, pkg.id, chosen)
        if isinstance(key, DecryptFailure):
            pkg.outcome, pkg.problem = "copy", f"fails to decrypt: {key.reason}"
            rs.offences.append(Offence("copy", pkg.actuary, ms.month, rs.round, pkg.reveal_height))
            return
        pkg.key = key
        ad = package_ad(pkg.kind, ms.month, rs.round, pkg.actuary)
        plain = decrypt_package(key, msg.nonce, msg.ct, ad)
        if isinstance(plain, DecryptFailure):
            pkg.outcome, pkg.problem = "copy", f"fails to decrypt: {plain.reason}"
            rs.offences.append(Offence("copy", pkg.actuary, ms.month, rs.round, pkg.reveal_height))
            return
        pkg.plaintext = plain
        for h, pos, k in earlier_keys.get(pkg.actuary, ()):
            if k == key and (h, pos) < (pkg.reveal_height, pkg.pm.position):
                pkg.outcome = "key_reuse"
                rs.offences.append(
                    Offence("key_reuse", pkg.actuary, ms.month, rs.round, pkg.reveal_height)
                )
                return
        checked = check_result(plain, package=msg)
        if isinstance(checked, Quarantine) and checked.reason == "result_copy":
            pkg.outcome, pkg.problem = "copy", checked.detail
            rs.offences.append(Offence("copy", pkg.actuary, ms.month, rs.round, pkg.reveal_height))
            return
        pkg.outcome = "result"
        if isinstance(checked, Quarantine):
            pkg.problem = checked.reason
            if pkg.kind == "secondary":
                rs.offences.append(
                    Offence(
                        "wrong_secondary_result", pkg.actuary, ms.month, rs.round, pkg.reveal_height
                    )
                )
            return
        pkg.result = checked
        exp = ms.expected
        pkg.proof_ok, pkg.proof_reason = self._proof(ms, rs, checked)
        pkg.proof_checked = self.proofs is not None
        if checked.roots() != exp.roots():
            pkg.problem = "wrong_roots"
        elif self.proofs is not None and not pkg.proof_ok:
            pkg.problem = f"bad_proof: {pkg.proof_reason}"
        elif not pkg.proof_ok:
            pkg.problem = "unknown_proof_system"
        if pkg.kind == "secondary":
            if pkg.problem is not None and pkg.problem.split(":")[0] in OFFENDING:
                rs.offences.append(
                    Offence(
                        "wrong_secondary_result", pkg.actuary, ms.month, rs.round, pkg.reveal_height
                    )
                )
            pkg.valid = pkg.problem is None
            return
        # The lead: the whole §9 validity.
        if pkg.problem is None:
            pkg.problem = _lead_file_problem(key, ms, rs, pkg, checked)
        pkg.valid = pkg.problem is None

    def _proof(self, ms: MonthState, rs: RoundState, result: Result) -> tuple[bool, str | None]:
        """Whether the result's proof is what the chain accepts, and why not: v1 takes only
        ``recompute``; v1.1 a Groth16 proof of the append of the result's own claims to the
        months history before M (docs/protocol/proofs.md §1), public inputs built here."""
        if self.proofs is None:
            return result.proof.is_recompute, None
        # The verdict depends on the result and the history before M (the tree after M
        # without its last leaf): kept, since the state is re-evaluated at every block.
        key = (result.digest(), ms.expected.months_root)
        if key not in self._proof_ok:
            self._proof_ok[key] = self._verify_proof(ms, rs, result)
        return self._proof_ok[key]

    def _verify_proof(
        self, ms: MonthState, rs: RoundState, result: Result
    ) -> tuple[bool, str | None]:
        assert self.proofs is not None
        try:
            proof = decode_proof(result.proof)
        except ProofError as exc:
            return False, exc.reason
        before = ms.expected.months_tree_before()
        key = result.actuary
        tie = poseidon2(
            poseidon2(int.from_bytes(key[:16], "big"), int.from_bytes(key[16:], "big")),
            poseidon2(month_index(ms.month), rs.round),
        )
        inputs = (
            before.size,
            before.root,
            field_from_bytes(result.month_root),
            result.n_rows,
            field_from_bytes(result.months_root),
            tie,
        )
        verdict = self.proofs.verify(proof, inputs)
        return verdict.ok, verdict.reason

    def _package_key(
        self, pk: PaillierPublicKey, package_id: str, chosen: list[_ChosenShare]
    ) -> bytes | DecryptFailure:
        """The package key the chosen shares combine to (§8), once per package and shares."""
        cache_key = (package_id, tuple(f"{p}" for p, _, _ in chosen))
        key = self._keys.get(cache_key)
        if key is None:
            try:
                m = combine_shares(pk, [ds for _, _, ds in chosen])
            except CryptoError as exc:  # pragma: no cover - t distinct verified shares
                key = DecryptFailure("bad_key", str(exc))
            else:
                key = m.to_bytes(32, "big") if m < 1 << 256 else DecryptFailure("key_out_of_range")
            self._keys[cache_key] = key
        return key

    # ------------------------------------------------------------------------------------
    def _publication(
        self,
        view: ChainView,
        ms: MonthState,
        rp: ResolvedParams,
        statuses: dict[str, tuple[str, str | None]],
    ) -> Posted | None:
        rs = ms.accepted()
        assert rs is not None and rs.lead_package is not None and rs.D is not None
        lead = rs.lead_package.result
        assert lead is not None and lead.allocation is not None
        roster = {e.key for e in rp.roster}
        found: Posted | None = None
        for pm in view.allocations.get(ms.month, []):
            msg = pm.message
            assert isinstance(msg, Allocation)
            signers = {s.actuary for s in msg.sigs if s.actuary in roster}
            if pm.height < rs.D:
                statuses[pm.id] = ("early", None)
            elif len(signers) < rp.threshold:
                statuses[pm.id] = ("quarantined", "insufficient_signatures")
            elif (
                msg.round != rs.round
                or (msg.month_root, msg.n_rows, msg.months_root) != lead.roots()
                or msg.sha256 != lead.allocation.sha256
            ):
                statuses[pm.id] = ("quarantined", "not_accepted_result")
            elif found is None:
                found = pm
                statuses[pm.id] = ("valid", None)
            else:
                statuses[pm.id] = ("duplicate", None)
        return found

    def _round_statuses(
        self,
        view: ChainView,
        ms: MonthState,
        statuses: dict[str, tuple[str, str | None]],
        rp: ResolvedParams,
    ) -> None:
        """§1 statuses of the month's vrf, lead, lead_part, secondary and shares messages."""
        roster = {e.key for e in rp.roster}
        vrf_keys = {e.key: e.vrf_key for e in rp.roster}
        rounds = ms.rounds
        existing = {rs.round: rs for rs in rounds}
        closed = ms.outcome is not None
        for kind, month, r in [k for k in view.by_round if k[1] == ms.month]:
            rs = existing.get(r)
            for pm in view.by_round[(kind, month, r)]:
                if rs is None:
                    statuses[pm.id] = ("ignored", None) if closed else ("pending", None)
                    continue
                statuses[pm.id] = self._status(kind, pm, ms, rs, roster, vrf_keys)

    # Long on purpose: §1's status of each round message kind, one branch per kind in the
    # order the rules engine checks them, so the two can be read side by side.
    def _status(
        self,
        kind: str,
        pm: Posted,
        ms: MonthState,
        rs: RoundState,
        roster: set[bytes],
        vrf_keys: dict[bytes, bytes],
    ) -> tuple[str, str | None]:
        msg = pm.message
        paillier = self._pai
        if kind == "shares":
            assert isinstance(msg, Shares)
            if msg.actuary not in roster:
                return ("quarantined", "not_roster")
            if rs.RS is None or rs.SE is None:
                return ("ignored", None) if rs.decision is not None else ("pending", None)
            if pm.height < rs.RS:
                return ("premature", None)
            return ("ignored", None) if pm.height > rs.SE else ("valid", None)
        if kind == "vrf":
            assert isinstance(msg, Vrf)
            if msg.actuary not in ms.eligible:
                return ("quarantined", "not_eligible")
            if rs.seed_hash is None:
                return ("pending", None)
            if rs.vrfs.get(msg.actuary) is pm:
                return ("valid", None)
            alpha = vrf_alpha(ms.month, rs.round, rs.seed_hash)
            if self._vrf_beta(pm, vrf_keys[msg.actuary], alpha) is None:
                return ("quarantined", "bad_vrf_proof")
            if msg.actuary in rs.vrfs:
                return ("duplicate", None)
            return ("early", None) if pm.height <= rs.G else ("ignored", None)
        if not rs.lead_known:
            return ("pending", None)
        if kind == "lead":
            assert isinstance(msg, Lead)
            if msg.actuary != rs.lead:
                return ("quarantined", "not_lead")
            lp = rs.lead_package
            if lp is not None and lp.pm is pm:
                return _package_status(lp, "valid")
            if paillier is not None and check_kem(msg, paillier=paillier) is not None:
                return ("quarantined", "bad_kem")
            if lp is not None and pm.position > lp.pm.position:
                return ("duplicate", None)
            if pm.height < rs.lead_lo:
                return ("early", None)
            return ("ignored", None) if rs.decision is not None or lp else ("pending", None)
        if kind == "lead_part":
            assert isinstance(msg, LeadPart)
            if msg.actuary != rs.lead:
                return ("quarantined", "not_lead")
            lp = rs.lead_package
            if lp is not None:
                parts = lp.pm.message.parts  # type: ignore[union-attr]
                if parts is None or msg.index >= parts:
                    return ("quarantined", "bad_part_index")
            if rs.parts.get(msg.index) is pm:
                return ("valid", None)
            return ("duplicate", None) if msg.index in rs.parts else ("ignored", None)
        assert isinstance(msg, Secondary)
        if msg.actuary == rs.lead:
            return ("quarantined", "not_secondary")
        if msg.actuary not in ms.eligible:
            return ("quarantined", "not_eligible")
        if paillier is not None and check_kem(msg, paillier=paillier) is not None:
            return ("quarantined", "bad_kem")
        for pkg in rs.race:
            if pkg.pm is pm:
                return _package_status(pkg, "valid")
        for pkg in rs.late:
            if pkg.pm is pm:
                return _package_status(pkg, "late")
        if rs.L is None:
            return ("ignored", None) if rs.decision is not None else ("pending", None)
        if any(p is pm for p in rs.counting):
            return ("ignored", None) if rs.RS is not None else ("pending", None)
        first = next(
            (p for p in rs.counting if p.message.actuary == msg.actuary),  # type: ignore[union-attr]
            None,
        )
        if first is not None and pm.position > first.position:
            return ("duplicate", None)
        return ("early", None)


# ----------------------------------------------------------------------------------------
def _paillier(view: ChainView) -> Paillier:
    assert view.params is not None
    return view.params.message.paillier  # type: ignore[union-attr]


def _fe(x: int) -> bytes:
    return x.to_bytes(32, "big")


def _first_reaching(heights: list[int], lo: int, hi: int, target: int, tip: int) -> int | None:
    """First h in [lo, hi] at which the number of heights ≤ h is ≥ target; hi if none by hi;
    None while undecided at ``tip``."""
    ordered = sorted(heights)
    for h in range(lo, min(hi, tip) + 1):
        if bisect.bisect_right(ordered, h) >= target:
            return h
    return hi if tip >= hi else None


def _remember_keys(
    rs: RoundState, earlier: dict[bytes, list[tuple[int, tuple[int, int, int], bytes]]]
) -> None:
    for pkg in rs.owed():
        # Keys of the actuary's own packages (copies excluded) count for key reuse.
        if (
            pkg.outcome in ("result", "key_reuse")
            and pkg.key is not None
            and pkg.reveal_height is not None
        ):
            earlier.setdefault(pkg.actuary, []).append(
                (pkg.reveal_height, pkg.pm.position, pkg.key)
            )


def _pro_rata(pool: int, expected: Expected, total: int) -> dict[int, int]:
    """Credit ``pool`` sats to the month's users pro rata to their Dreybits, with §6's
    remainder rule (remainder desc, then user_id asc)."""
    out: dict[int, int] = {}
    rems = []
    given = 0
    for (user_id, _, _), d in zip(expected.rows, expected.dreybits, strict=True):
        q, rem = divmod(pool * d, total)
        out[user_id] = q
        given += q
        rems.append((-rem, user_id))
    rems.sort()
    for _, user_id in rems[: pool - given]:
        out[user_id] += 1
    return {u: v for u, v in out.items() if v}


def _package_status(pkg: Package, base: str) -> tuple[str, str | None]:
    if pkg.outcome == "copy":
        return ("quarantined", "copy")
    if pkg.outcome == "key_reuse":
        return ("quarantined", "key_reuse")
    if pkg.outcome == "unrevealed":
        return ("unrevealed", None)
    if pkg.outcome == "pending":
        return ("pending", None)
    return (base, None)


_ChosenShare = tuple[tuple[int, int, int], int, DecryptionShare]


def _first_distinct_shares(shares: Iterable[_ChosenShare], threshold: int) -> list[_ChosenShare]:
    """The first ``threshold`` shares in chain order with distinct share indices (§8)."""
    chosen: list[_ChosenShare] = []
    indices: set[int] = set()
    for item in sorted(shares, key=lambda x: x[0]):
        if item[1] not in indices:
            indices.add(item[1])
            chosen.append(item)
            if len(chosen) == threshold:
                break
    return chosen


def _lead_file_problem(
    key: bytes, ms: MonthState, rs: RoundState, pkg: Package, checked: Result
) -> str | None:
    """What is wrong with the lead's allocation file (§9): inline or reassembled from its
    ``lead_part`` ciphertexts, readable, and the expected Dreybits; None when it is right."""
    alloc = checked.allocation
    assert alloc is not None
    lead_msg = pkg.pm.message
    assert isinstance(lead_msg, Lead)
    if lead_msg.parts is None:
        if alloc.bytes is None:
            return None
        file = alloc.bytes
    else:
        plains: dict[int, bytes] = {}
        for index, ppm in rs.parts.items():
            part = ppm.message
            assert isinstance(part, LeadPart)
            ad = lead_part_ad(ms.month, rs.round, pkg.actuary, index)
            plain = decrypt_package(key, part.nonce, part.ct, ad)
            if not isinstance(plain, DecryptFailure):
                plains[index] = plain
        assembled = assemble_lead_file(plains, parts=lead_msg.parts, sha256=alloc.sha256)
        if isinstance(assembled, Quarantine):
            return "lead_parts"
        file = assembled
    values = read_allocation_file(file, n_rows=checked.n_rows, sha256=alloc.sha256)
    if isinstance(values, FileProblem):
        return f"file_{values.reason}"
    if tuple(values) != ms.expected.dreybits:
        return "wrong_allocation"
    return None


def _slash(ms: MonthState, rp: ResolvedParams) -> None:
    """§9 slashes: offences in decision order, each penalty_bps of the weight, capped per
    month at the weight."""
    offences = sorted(
        (o for r in ms.rounds for o in r.offences),
        key=lambda o: (o.height, o.round, OFFENCE_ORDER.index(o.offence), o.actuary),
    )
    used: dict[bytes, int] = {}
    for off in offences:
        base = ms.weight(off.actuary)
        amount = base * rp.penalty_bps // 10_000
        amount = min(amount, base - used.get(off.actuary, 0))
        off.slash = max(0, amount)
        used[off.actuary] = used.get(off.actuary, 0) + off.slash
    ms.offences = offences
    ms.slashed_total = sum(o.slash for o in offences)
