"""A scenario builder for tests and the devnet simulator: a chain with Drey messages, played
like honest actuary clients would, with knobs to vary one thing at a time.

Not for production keys: every secret is derived from a seed. The Paillier dealing is the
caller's (tests load the cached 512-bit test keys; see tests/drey/crypto/test_paillier.py).

Typical use::

    sb = ScenarioBuilder(ScenarioKeys.make(dealing), snapshots=[30, 90])
    sb.setup(stakes={1: 5_000, 2: 5_000, ...}, plans={7: 20_000})
    rec = sb.play_round("2025-01", 0)          # VRFs, lead, secondaries, shares, publication
    ev = sb.evaluate()

``play_round`` uses :func:`drey.rules.evaluate` to learn what a client would (G_r, the
elected lead, the race close, RS) and posts messages at the earliest allowed heights unless a
:class:`RoundPlan` says otherwise. Lower-level methods (``inscribe``, ``vrf``, ``package``,
``shares``, ``allocation``…) build anything else, including adversarial messages.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from drey.allocation_file import write_allocation_file
from drey.crypto import ecvrf
from drey.crypto.package import lead_part_ad, package_ad, seal, seal_part
from drey.crypto.paillier import PaillierDealing, decryption_share
from drey.crypto.poseidon import field_to_bytes
from drey.election import vrf_alpha
from drey.formula import FormulaPart, allocate_reference, module_bytes, module_sha256
from drey.merkle import MonthsTree, MonthTree
from drey.messages import (
    Allocation,
    AllocationRef,
    FormulaManifest,
    Lead,
    LeadPart,
    Message,
    Paillier,
    Params,
    Plan,
    Proof,
    Result,
    RosterEntry,
    Secondary,
    ShareEntry,
    Shares,
    Stake,
    Vrf,
    sign_allocation,
    xonly_public_key,
)
from drey.messages.reasons import Quarantine
from drey.rules.calendar import add_months, month_end_timestamp, month_index, months_between
from drey.rules.evaluate import evaluate
from drey.rules.inputs import ChainView, FormulaPartInscription, PositionedMessage, VaultOutput
from drey.rules.memo import Memo
from drey.rules.results import Evaluation, MonthEvaluation, RoundEvaluation

__all__ = [
    "VAULT_SCRIPT",
    "ActuaryKeys",
    "RoundPlan",
    "RoundRecord",
    "ScenarioBuilder",
    "ScenarioKeys",
    "expected_result",
    "replace_result",
]

VAULT_SCRIPT = bytes.fromhex("5120") + hashlib.sha256(b"drey test vault").digest()
_SECP_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def _secret(seed: bytes, label: str) -> bytes:
    counter = 0
    while True:
        digest = hashlib.sha256(seed + label.encode() + counter.to_bytes(4, "big")).digest()
        if 0 < int.from_bytes(digest, "big") < _SECP_N:
            return digest
        counter += 1  # pragma: no cover - probability 2^-128


@dataclass(frozen=True, slots=True)
class ActuaryKeys:
    """A roster member's keys (``index`` 1-based)."""

    index: int
    secret: bytes
    key: bytes
    vrf_secret: bytes
    vrf_key: bytes


@dataclass(frozen=True, slots=True)
class ScenarioKeys:
    """Founder, operator, plan owners and N actuaries derived from ``seed``; the Paillier
    dealing's N fixes the roster size."""

    founder_secret: bytes
    founder: bytes
    operator_secret: bytes
    operator: bytes
    actuaries: tuple[ActuaryKeys, ...]
    dealing: PaillierDealing
    seed: bytes

    @classmethod
    def make(cls, dealing: PaillierDealing, *, seed: bytes = b"drey-rules-test") -> ScenarioKeys:
        founder = _secret(seed, "founder")
        operator = _secret(seed, "operator")
        actuaries = []
        for i in range(1, dealing.public.players + 1):
            sk = _secret(seed, f"actuary {i}")
            vsk = hashlib.sha256(seed + f"vrf {i}".encode()).digest()
            actuaries.append(ActuaryKeys(i, sk, xonly_public_key(sk), vsk, ecvrf.public_key(vsk)))
        return cls(
            founder,
            xonly_public_key(founder),
            operator,
            xonly_public_key(operator),
            tuple(actuaries),
            dealing,
            seed,
        )

    def actuary(self, index: int) -> ActuaryKeys:
        return self.actuaries[index - 1]

    def by_key(self, key: bytes) -> ActuaryKeys:
        return next(a for a in self.actuaries if a.key == key)

    def owner(self, user_id: int) -> bytes:
        return xonly_public_key(_secret(self.seed, f"owner {user_id}"))


@dataclass(frozen=True, slots=True)
class RoundPlan:
    """How a round is played; the defaults are the honest, earliest schedule.

    Indices are roster indices (1-based). ``lead_result`` / ``secondary_result`` rewrite a
    result before it is signed (e.g. a wrong root). Offsets are extra blocks after the
    earliest allowed height. ``secondary_keys`` seals with a chosen k (key reuse);
    ``after_lead(builder, lead_package)`` runs once the lead package is mined, before the
    race is observed (to add copies, early packages …).
    """

    vrf_skip: frozenset[int] = frozenset()
    lead_posts: bool = True
    lead_offset: int = 0
    lead_result: Callable[[Result], Result] | None = None
    secondaries: frozenset[int] | None = None
    secondary_offsets: Mapping[int, int] = field(default_factory=dict)
    secondary_result: Mapping[int, Callable[[Result], Result]] = field(default_factory=dict)
    secondary_keys: Mapping[int, bytes] = field(default_factory=dict)
    after_lead: Callable[[ScenarioBuilder, PositionedMessage], None] | None = None
    share_skip: frozenset[int] = frozenset()
    share_offset: int = 0
    publish: bool = True


@dataclass(frozen=True, slots=True)
class RoundRecord:
    """What :meth:`ScenarioBuilder.play_round` posted (ids by role) and the round as the
    rules engine saw it last."""

    month: str
    round: int
    seed_height: int
    lead: int | None
    lead_package: str | None
    secondaries: Mapping[int, str]
    shares: Mapping[int, str]
    publication: str | None
    evaluation: RoundEvaluation


def expected_result(
    month_eval: MonthEvaluation, ev: Evaluation, *, depth: int
) -> tuple[list[int], bytes, int, bytes, bytes]:
    """What an honest actuary computes for a month (producer side, from the engine's input
    rows): (dreybits, month_root, n_rows, months_root, file)."""
    rows = list(month_eval.rows)
    dreybits = allocate_reference(rows, pool=month_eval.params.dreybits_per_month)
    tree = MonthTree.from_rows([r[0] for r in rows], month_index(month_eval.month), dreybits)
    history = MonthsTree.empty(depth=depth)
    for m in ev.months:
        if m.month == month_eval.month:
            break
        leaf = 0
        if m.outcome == "accepted" and m.commitment is not None:
            leaf = int.from_bytes(m.commitment, "big")
        history = history.with_leaf(months_between(ev.first_month or m.month, m.month), leaf)
    index = months_between(ev.first_month or month_eval.month, month_eval.month)
    after = history.with_leaf(index, tree.commitment)
    file = write_allocation_file(dreybits)
    return (
        dreybits,
        field_to_bytes(tree.root),
        len(rows),
        field_to_bytes(after.root),
        file,
    )


class ScenarioBuilder:
    """Mutable builder of a chain view and its messages (heights from 0)."""

    def __init__(
        self,
        keys: ScenarioKeys,
        *,
        first_month: str = "2025-01",
        snapshots: Sequence[int] = (40,),
        params_height: int = 2,
        params_overrides: Mapping[str, object] | None = None,
        rng_seed: int = 1,
        before_params: Callable[[ScenarioBuilder], Mapping[str, object]] | None = None,
    ) -> None:
        """``before_params`` inscribes what the params will name (a circuit manifest) and
        returns the params fields naming it."""
        self.keys = keys
        self.first_month = first_month
        self.snapshot_plan = tuple(snapshots)
        self.rng = random.Random(rng_seed)
        self.tip = 0
        self.messages: list[PositionedMessage] = []
        self.outputs: list[VaultOutput] = []
        self.spends: dict[bytes, int] = {}
        self.formula_parts: list[FormulaPartInscription] = []
        self._tx_count: dict[int, int] = {}
        self._counter = 0
        self.package_keys: dict[str, bytes] = {}
        self.params_height = params_height
        overrides = dict(params_overrides or {})
        self.formula_id = self._inscribe_formula(height=1)
        if before_params is not None:
            overrides |= before_params(self)
        self.params_message = self.make_params(**overrides)
        self.params_pm = self.inscribe(params_height, self.params_message)

    # --- chain -------------------------------------------------------------------------

    def time_at(self, height: int) -> int:
        """Header time: each planned S_M is the first height where MTP reaches the end of
        M (times jump past the boundary 5 blocks before S_M)."""
        prev_jump = 0
        prev_time = month_end_timestamp(add_months(self.first_month, -1))
        for i, s in enumerate(self.snapshot_plan):
            jump = s - 5
            if height < jump:
                return prev_time + (height - prev_jump)
            prev_jump = jump
            prev_time = month_end_timestamp(add_months(self.first_month, i))
        return prev_time + (height - prev_jump)

    def block_hash(self, height: int) -> bytes:
        return hashlib.sha256(b"block" + self.keys.seed + height.to_bytes(8, "big")).digest()

    def extend_to(self, height: int) -> None:
        self.tip = max(self.tip, height)

    def chain(self, tip: int | None = None) -> ChainView:
        top = self.tip if tip is None else tip
        return ChainView(
            base_height=0,
            block_hashes=tuple(self.block_hash(h) for h in range(top + 1)),
            times=tuple(self.time_at(h) for h in range(top + 1)),
            vault_outputs=tuple(o for o in self.outputs if o.height <= top),
            spends={k: v for k, v in self.spends.items() if v <= top},
        )

    def evaluate(self, tip: int | None = None, *, memo: Memo | None = None) -> Evaluation:
        top = self.tip if tip is None else tip
        return evaluate(
            self.chain(top),
            self.messages,
            founder=self.keys.founder,
            tip_height=top,
            formula_parts=self.formula_parts,
            memo=memo,
        )

    def _next_txid(self) -> bytes:
        self._counter += 1
        return hashlib.sha256(b"tx" + self.keys.seed + self._counter.to_bytes(8, "big")).digest()

    def funding_outpoint(self) -> bytes:
        self._counter += 1
        digest = hashlib.sha256(b"funding" + self._counter.to_bytes(8, "big")).digest()
        return digest + bytes(4)

    def inscribe(
        self,
        height: int,
        message: Message | Quarantine,
        *,
        vault_values: Sequence[int] = (),
        first_input_prevout: bytes | None = None,
        txid: bytes | None = None,
        inscription_index: int = 0,
        script: bytes = VAULT_SCRIPT,
    ) -> PositionedMessage:
        """Mine ``message`` in a new transaction at ``height`` (or in ``txid`` if given, an
        existing one), with vault outputs of ``vault_values`` sats."""
        if txid is None:
            txid = self._next_txid()
            tx_index = self._tx_count.get(height, 0) + 1
            self._tx_count[height] = tx_index
        else:
            tx_index = next(m.tx_index for m in self.messages if m.txid == txid)
        prevout = first_input_prevout
        if prevout is None:
            existing = next((m for m in self.messages if m.txid == txid), None)
            prevout = existing.first_input_prevout if existing else self.funding_outpoint()
        for vout, value in enumerate(vault_values):
            self.outputs.append(
                VaultOutput(
                    txid + vout.to_bytes(4, "little"),
                    height,
                    tx_index,
                    value,
                    script,
                    txid,
                    prevout,
                )
            )
        pm = PositionedMessage(
            height=height,
            tx_index=tx_index,
            inscription_index=inscription_index,
            inscription_id=f"{txid[::-1].hex()}i{inscription_index}",
            txid=txid,
            first_input_prevout=prevout,
            message=message,
        )
        self.messages.append(pm)
        self.extend_to(height)
        return pm

    def _inscribe_formula(self, *, height: int) -> str:
        txid = self._next_txid()
        part_id = f"{txid[::-1].hex()}i0"
        self.formula_parts.append(
            FormulaPartInscription(
                part_id, height, FormulaPart("application/wasm", None, None, None, module_bytes())
            )
        )
        manifest = FormulaManifest("drey-v1", 1, module_sha256(), (part_id,)).signed(
            self.keys.founder_secret
        )
        return self.inscribe(height, manifest).inscription_id

    # --- setup -------------------------------------------------------------------------

    def make_params(self, **overrides: object) -> Params:
        """Founder-signed params over the scenario's keys (small windows by default)."""
        pk = self.keys.dealing.public
        roster = tuple(
            RosterEntry(a.index, a.key, a.vrf_key, pk.vk_bytes(a.index))
            for a in self.keys.actuaries
        )
        values: dict[str, object] = {
            "first_month": self.first_month,
            "vault": (VAULT_SCRIPT,),
            "operator": self.keys.operator,
            "roster": roster,
            "paillier": Paillier(n=pk.n_bytes(), v=pk.v_bytes()),
            "threshold": pk.threshold,
            "min_stake": 1_000,
            "dreybits_per_month": 1_000_000,
            "fee_bps": 100,
            "penalty_bps": 1_000,
            "lead_bps": 6_000,
            "formula": self.formula_id,
            "confirmations": 2,
            "race_offset": 2,
            "vrf_window": 2,
            "lead_window": 3,
            "race_window": 4,
            "share_window": 3,
            "max_rounds": 3,
        }
        values.update(overrides)
        return Params(**values).signed(self.keys.founder_secret)  # type: ignore[arg-type]

    @property
    def params(self) -> Params:
        return self.params_message

    def stake(self, actuary: int, value: int, height: int) -> PositionedMessage:
        a = self.keys.actuary(actuary)
        prevout = self.funding_outpoint()
        msg = Stake(a.key, prevout).signed(a.secret)
        return self.inscribe(height, msg, vault_values=(value,), first_input_prevout=prevout)

    def plan(
        self, user_id: int, value: int, height: int, *, owner: bytes | None = None
    ) -> PositionedMessage:
        prevout = self.funding_outpoint()
        msg = Plan(user_id, owner or self.keys.owner(user_id), prevout).signed(
            self.keys.operator_secret
        )
        return self.inscribe(height, msg, vault_values=(value,), first_input_prevout=prevout)

    def withdraw(self, pm: PositionedMessage, height: int, *, vout: int = 0) -> None:
        """Spend the ``vout``-th vault output of ``pm``'s transaction at ``height``."""
        self.spends[pm.txid + vout.to_bytes(4, "little")] = height
        self.extend_to(height)

    def setup(
        self,
        *,
        stakes: Mapping[int, int] | None = None,
        plans: Mapping[int, int] | None = None,
        height: int = 3,
    ) -> None:
        """Stakes (actuary index → sats; default 10,000 each) and plans (user_id → sats;
        default three users) at ``height``."""
        if stakes is None:
            stakes = {a.index: 10_000 for a in self.keys.actuaries}
        if plans is None:
            plans = {101: 50_000, 102: 20_000, 103: 30_000}
        for index, value in stakes.items():
            self.stake(index, value, height)
        for user_id, value in plans.items():
            self.plan(user_id, value, height)

    # --- producer helpers ----------------------------------------------------------------

    def vrf(
        self, month: str, round: int, actuary: int, seed_height: int, height: int
    ) -> PositionedMessage:
        a = self.keys.actuary(actuary)
        proof = ecvrf.prove(a.vrf_secret, vrf_alpha(month, round, self.block_hash(seed_height)))
        return self.inscribe(height, Vrf(month, round, a.key, proof).signed(a.secret))

    def result(
        self,
        month: str,
        round: int,
        actuary: int,
        *,
        roots: tuple[bytes, int, bytes],
        file: bytes | None = None,
    ) -> Result:
        """A result (unsigned); ``file`` makes it a lead result with inline bytes."""
        a = self.keys.actuary(actuary)
        alloc = None
        if file is not None:
            alloc = AllocationRef(hashlib.sha256(file).digest(), file)
        return Result(month, round, a.key, roots[0], roots[1], roots[2], Proof("recompute"), alloc)

    def package(
        self,
        kind: str,
        month: str,
        round: int,
        actuary: int,
        result: Result | bytes,
        height: int,
        *,
        sign_result: bool = True,
        parts: int | None = None,
        key: bytes | None = None,
    ) -> PositionedMessage:
        """Seal ``result`` (signed by ``actuary`` unless already bytes) in a lead or
        secondary package mined at ``height``; remembers k by inscription id."""
        a = self.keys.actuary(actuary)
        plaintext = result
        if isinstance(result, Result):
            plaintext = (result.signed(a.secret) if sign_result else result).serialize()
        assert isinstance(plaintext, bytes)
        ad = package_ad(kind, month, round, a.key)  # type: ignore[arg-type]
        sealed, k = seal(self.keys.dealing.public, plaintext, ad, key=key, rng=self.rng)
        if kind == "lead":
            msg: Message = Lead(month, round, a.key, sealed.kem, sealed.nonce, sealed.ct, parts)
        else:
            msg = Secondary(month, round, a.key, sealed.kem, sealed.nonce, sealed.ct)
        pm = self.inscribe(height, msg.signed(a.secret))  # type: ignore[attr-defined]
        self.package_keys[pm.inscription_id] = k
        return pm

    def lead_part(
        self, package: PositionedMessage, index: int, plaintext: bytes, height: int
    ) -> PositionedMessage:
        lead = package.message
        assert isinstance(lead, Lead)
        a = self.keys.by_key(lead.actuary)
        ad = lead_part_ad(lead.month, lead.round, lead.actuary, index)
        nonce, ct = seal_part(
            self.package_keys[package.inscription_id], plaintext, ad, rng=self.rng
        )
        msg = LeadPart(lead.month, lead.round, lead.actuary, index, nonce, ct).signed(a.secret)
        return self.inscribe(height, msg)

    def share_entry(self, actuary: int, package: PositionedMessage) -> ShareEntry:
        pkg = package.message
        assert isinstance(pkg, Lead | Secondary)
        pk = self.keys.dealing.public
        ds = decryption_share(
            pk, self.keys.dealing.share(actuary), int.from_bytes(pkg.kem, "big"), rng=self.rng
        )
        share, e, z = ds.serialize(pk)
        return ShareEntry(package.inscription_id, share, e, z)

    def shares(
        self,
        month: str,
        round: int,
        actuary: int,
        packages: Sequence[PositionedMessage],
        height: int,
        *,
        entries: Sequence[ShareEntry] | None = None,
    ) -> PositionedMessage:
        a = self.keys.actuary(actuary)
        items = (
            tuple(entries)
            if entries is not None
            else tuple(self.share_entry(actuary, p) for p in packages)
        )
        return self.inscribe(height, Shares(month, round, a.key, items).signed(a.secret))

    def allocation(
        self,
        month: str,
        round: int,
        *,
        roots: tuple[bytes, int, bytes],
        file: bytes,
        signers: Sequence[int],
        height: int,
    ) -> PositionedMessage:
        sha = hashlib.sha256(file).digest()
        sigs = tuple(
            sign_allocation(
                self.keys.actuary(i).secret,
                month=month,
                month_root=roots[0],
                months_root=roots[2],
                sha256=sha,
            )
            for i in signers
        )
        msg = Allocation(month, round, roots[0], roots[1], roots[2], sha, sigs, file=file)
        return self.inscribe(height, msg)

    def message(self, inscription_id: str) -> PositionedMessage:
        return next(m for m in self.messages if m.inscription_id == inscription_id)

    # --- honest round ----------------------------------------------------------------------

    def _round(self, month: str, round: int) -> tuple[Evaluation, MonthEvaluation, RoundEvaluation]:
        ev = self.evaluate()
        mev = ev.month(month)
        return ev, mev, mev.rounds[round]

    def play_round(self, month: str, round: int = 0, plan: RoundPlan | None = None) -> RoundRecord:
        """Play round ``round`` of ``month`` as honest clients (varied by ``plan``) and
        extend the chain to its decision (or the end of its share window)."""
        plan = plan or RoundPlan()
        index = months_between(self.first_month, month)
        self.extend_to(self.snapshot_plan[index])
        ev, mev, rnd = self._round(month, round)
        p = mev.params
        g = rnd.seed_height
        eligible = [r for r in mev.roster if r.eligible]
        self.extend_to(g)
        for r in eligible:
            if r.index not in plan.vrf_skip:
                self.vrf(month, round, r.index, g, g + 1)
        self.extend_to(g + p.vrf_window)
        ev, mev, rnd = self._round(month, round)
        if rnd.lead is None:
            return RoundRecord(month, round, g, None, None, {}, {}, None, rnd)
        lead = self.keys.by_key(rnd.lead).index
        _dreybits, month_root, n_rows, months_root, file = expected_result(
            mev, ev, depth=p.months_depth
        )
        roots = (month_root, n_rows, months_root)
        lead_pm = None
        if plan.lead_posts:
            res = self.result(month, round, lead, roots=roots, file=file)
            if plan.lead_result is not None:
                res = plan.lead_result(res)
            lead_pm = self.package(
                "lead", month, round, lead, res, g + p.vrf_window + 1 + plan.lead_offset
            )
        else:
            self.extend_to(g + p.vrf_window + p.lead_window)
            ev, mev, rnd = self._round(month, round)
            return RoundRecord(month, round, g, lead, None, {}, {}, None, rnd)
        if plan.after_lead is not None:
            plan.after_lead(self, lead_pm)
        race_open = lead_pm.height + p.race_offset
        posting = plan.secondaries
        if posting is None:
            posting = frozenset(r.index for r in eligible if r.index != lead)
        secondaries: dict[int, str] = {}
        for i in sorted(posting - {lead}):
            res = self.result(month, round, i, roots=roots)
            if i in plan.secondary_result:
                res = plan.secondary_result[i](res)
            h = race_open + plan.secondary_offsets.get(i, 0)
            key = plan.secondary_keys.get(i)
            pm = self.package("secondary", month, round, i, res, h, key=key)
            secondaries[i] = pm.inscription_id
        self.extend_to(max([race_open, *(self.message(s).height for s in secondaries.values())]))
        ev, mev, rnd = self._round(month, round)
        if rnd.reveal_start is None:
            self.extend_to(race_open + p.race_window - 1)
            ev, mev, rnd = self._round(month, round)
        assert rnd.reveal_start is not None
        self.extend_to(rnd.reveal_start - 1)
        ev, mev, rnd = self._round(month, round)
        owed = [self.message(pid) for pid in self._owed(rnd)]
        share_height = rnd.reveal_start + plan.share_offset
        posted: dict[int, str] = {}
        for entry in p.roster:
            if entry.index in plan.share_skip:
                continue
            posted[entry.index] = self.shares(
                month, round, entry.index, owed, share_height
            ).inscription_id
        self.extend_to(share_height)
        ev, mev, rnd = self._round(month, round)
        if rnd.decision.outcome == "pending":
            assert rnd.share_end is not None
            self.extend_to(rnd.share_end)
            ev, mev, rnd = self._round(month, round)
        publication = None
        if plan.publish and rnd.decision.outcome == "accepted":
            assert rnd.decision.height is not None
            signers = [r.index for r in eligible][: p.threshold]
            if len(signers) < p.threshold:
                signers = [e.index for e in p.roster][: p.threshold]
            publication = self.allocation(
                month,
                round,
                roots=roots,
                file=file,
                signers=signers,
                height=max(self.tip, rnd.decision.height),
            ).inscription_id
        return RoundRecord(
            month,
            round,
            g,
            lead,
            lead_pm.inscription_id,
            secondaries,
            posted,
            publication,
            rnd,
        )

    @staticmethod
    def _owed(rnd: RoundEvaluation) -> list[str]:
        assert rnd.lead_package is not None
        return [rnd.lead_package, *(p.inscription_id for p in rnd.race + rnd.late)]

    def play_month(self, month: str, plans: Sequence[RoundPlan] = ()) -> list[RoundRecord]:
        """Play rounds until the month is decided (plans[r] for round r, honest after)."""
        out = []
        r = 0
        while True:
            plan = plans[r] if r < len(plans) else RoundPlan()
            rec = self.play_round(month, r, plan)
            out.append(rec)
            d = rec.evaluation.decision
            if d.outcome == "accepted":
                return out
            ev = self.evaluate()
            if ev.month(month).outcome != "pending":
                return out
            r += 1
            if d.height is not None:
                self.extend_to(d.height + ev.month(month).params.confirmations - 1)


def replace_result(**changes: object) -> Callable[[Result], Result]:
    """A ``RoundPlan`` result rewrite that replaces fields (e.g. ``month_root=``)."""

    def rewrite(result: Result) -> Result:
        return replace(result, **changes)  # type: ignore[arg-type]

    return rewrite
