"""The people of the devnet: the founder (trusted dealer), the operator (plan signer and vault
custodian), the customers, and the actuary clients.

Each :class:`ActuaryClient` holds only its own secrets: its BIP340 signing key, its ECVRF key,
its Paillier key share (handed over by the dealer) and its wallet. It decides what to post
from the public state (:class:`~devnet.simulate.oracle.State`, computed from the chain view)
and from the instructions of the scenario director (which role to play in which round). The
one exception, modelled explicitly, is collusion: a lazy copier may obtain another author's
plaintext through :meth:`ActuaryClient.hand_out_result`, a call the director makes between
two clients ("an author can hand out its plaintext", §5).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal, get_args

from btc import OutPoint, Transaction, TxIn, TxOut
from devnet.simulate.calendar import add_months
from devnet.simulate.oracle import MonthState, Package, RoundState, State
from devnet.simulate.posting import Registry, aux_for, envelope_of, inscribe
from devnet.simulate.view import ChainView, Holding
from devnet.tx.build import KeyPathSpend, fee_for, sign_transaction, with_placeholders
from devnet.tx.keys import KeyPair, derive_key
from devnet.tx.taproot import TaprootOutput, p2tr_script
from devnet.tx.wallet import SEQUENCE_RBF, Wallet
from drey.allocation_file import write_allocation_file
from drey.crypto import ecvrf
from drey.crypto.package import lead_part_ad, package_ad, seal, seal_part
from drey.crypto.paillier import (
    PaillierKeyShare,
    decryption_share,
)
from drey.crypto.poseidon import field_from_bytes, field_to_bytes
from drey.election import vrf_alpha
from drey.merkle import MonthTree, month_commitment, month_index
from drey.messages import (
    MAX_INLINE_FILE,
    ActuarySig,
    Allocation,
    AllocationRef,
    Lead,
    LeadPart,
    Message,
    Plan,
    Proof,
    Result,
    Secondary,
    ShareEntry,
    Shares,
    Stake,
    Vrf,
    allocation_digest,
    sign_allocation,
    xonly_public_key,
)
from drey.messages.circuit import CircuitContribution
from drey.proofs import SYSTEM, MonthsAppend, encode_proof, statement, witness
from zk.prover import WarmProver

__all__ = [
    "PART_SIZE",
    "PROOF_DEFECTS",
    "ActuaryClient",
    "Board",
    "Operator",
    "StepContext",
    "month_offset",
    "seeded_rng",
]

ProofDefect = Literal["pairing", "off_curve", "coordinate", "system"]
#: The ``forged_proof`` scenario's defects, one secondary each (roles ``proof_<defect>``).
PROOF_DEFECTS: tuple[ProofDefect, ...] = get_args(ProofDefect)
#: BN254's base field modulus p (a coordinate ≥ p is refused, docs/protocol/proofs.md §3).
FIELD_P = 21888242871839275222246405745257275088696311157297823662689037894645226208583

#: Lead parts carry at most this many bytes of the file each (keeps every reveal standard).
PART_SIZE = 300_000


def seeded_rng(seed: bytes, label: str) -> random.Random:
    """A reproducible RNG per purpose (never shared between purposes or actors)."""
    return random.Random(int.from_bytes(hashlib.sha256(seed + b"/" + label.encode()).digest()))


def secret_for(seed: bytes, label: str) -> bytes:
    return derive_key(seed, label).secret


class Board:
    """Off-chain gossip where roster members leave their allocation signatures for whoever
    publishes (anyone may post the allocation, §9). Entries are stamped with the height of
    the block being built when they were left; a publisher reads only older ones, so the
    order in which clients act inside one block does not matter."""

    def __init__(self) -> None:
        self._sigs: dict[tuple[str, int], dict[bytes, tuple[int, ActuarySig]]] = {}

    def sign(self, month: str, rnd: int, at: int, entry: ActuarySig) -> None:
        self._sigs.setdefault((month, rnd), {}).setdefault(entry.actuary, (at, entry))

    def signatures(self, month: str, rnd: int, before: int) -> list[ActuarySig]:
        return [e for at, e in self._sigs.get((month, rnd), {}).values() if at < before]

    def signed(self, month: str, rnd: int, actuary: bytes) -> bool:
        return actuary in self._sigs.get((month, rnd), {})


class Operator:
    """Signs ``plan`` messages and holds the vault keys (custody is out of v1's scope: the
    devnet vault scripts are key-path P2TR outputs of keys the operator holds; it signs every
    withdrawal asked of it)."""

    def __init__(self, seed: bytes, *, vaults: int = 2) -> None:
        self._plan_secret = secret_for(seed, "operator/plan")
        self.key = xonly_public_key(self._plan_secret)
        self._vault_keys: dict[bytes, KeyPair] = {}
        self.vault_scripts: list[bytes] = []
        for i in range(vaults):
            kp = derive_key(seed, f"operator/vault/{i}")
            script = TaprootOutput(kp.xonly).script_pubkey
            self._vault_keys[script] = kp
            self.vault_scripts.append(script)
        self._spending: set[bytes] = set()

    def sign_plan(self, user_id: int, owner: bytes, outpoint: bytes) -> Plan:
        plan = Plan(user_id=user_id, owner=owner, outpoint=outpoint)
        return plan.signed(self._plan_secret, aux_rand=aux_for(self._plan_secret, plan.digest()))

    def withdraw(self, holdings: list[Holding], destination: bytes) -> Transaction | None:
        """A transaction spending ``holdings`` (vault outputs) to ``destination``, the fee
        taken from the amount; None if one of them is already being spent."""
        if not holdings or any(h.outpoint in self._spending for h in holdings):
            return None
        inputs = tuple(TxIn(OutPoint.deserialize(h.outpoint), b"", SEQUENCE_RBF) for h in holdings)
        spent = [TxOut(h.value, h.script) for h in holdings]
        spends = [KeyPathSpend(self._vault_keys[h.script]) for h in holdings]
        total = sum(h.value for h in holdings)
        draft = Transaction(2, inputs, (TxOut(total, destination),), 0)
        fee = fee_for(with_placeholders(draft, spends).vsize, 1.0)
        tx = sign_transaction(
            Transaction(2, inputs, (TxOut(total - fee, destination),), 0), spent, spends
        )
        self._spending.update(h.outpoint for h in holdings)
        return tx

    def forget_spending(self, view: ChainView) -> None:
        """Drop outpoints whose spend was mined."""
        self._spending = {
            op for op in self._spending if op in view.vault and view.vault[op].spent is None
        }


@dataclass(frozen=True, slots=True)
class StepContext:
    """What an actuary client sees when the block at ``height`` is being built."""

    height: int
    state: State
    view: ChainView
    board: Board
    operator: Operator
    registry: Registry
    last_month: str
    roles: Callable[[bytes, str, int], frozenset[str]]
    withdraw_months: Callable[[bytes], dict[str, str]]
    withhold_target: Callable[[MonthState, RoundState], str | None]
    handout: Callable[[StepContext, MonthState, RoundState, bytes], bytes | None]
    note: Callable[[str, bytes, str, int | None, list[str]], None]


@dataclass(slots=True)
class _Sent:
    ids: dict[tuple[object, ...], list[str]] = field(default_factory=dict)

    def __contains__(self, key: tuple[object, ...]) -> bool:
        return key in self.ids


class ActuaryClient:
    """One actuary: roster index ``index`` (1-based)."""

    def __init__(self, index: int, *, seed: bytes, wallet: Wallet, stake: int) -> None:
        self.index = index
        self.name = f"actuary-{index}"
        self._seed = seed + f"/actuary/{index}".encode()
        self._secret = secret_for(seed, f"actuary/{index}/sign")
        self.key = xonly_public_key(self._secret)
        self._vrf_secret = hashlib.sha256(self._seed + b"/vrf").digest()
        self.vrf_key = ecvrf.public_key(self._vrf_secret)
        self._share: PaillierKeyShare | None = None
        self.wallet = wallet
        self.identity_script = p2tr_script(self.key)
        self.stake_amount = stake
        self._sent = _Sent()
        self._results: dict[tuple[str, int, str], tuple[bytes, bytes | None]] = {}
        self._keys: dict[tuple[str, str, int], bytes] = {}  # (kind, month, round) → k
        #: Protocol v1.1: the prover this actuary proves its results with (``None``: v1's
        #: ``recompute``). The devnet's actuaries share one warm process (a simulation
        #: economy: each would run its own; the proofs are the same, seeded by each secret).
        self.prover: WarmProver | None = None

    # -- setup ----------------------------------------------------------------------------
    def receive_share(self, share: PaillierKeyShare) -> None:
        """The dealer's hand-over of this actuary's Paillier key share (s_i)."""
        if share.index != self.index:
            raise ValueError(f"share {share.index} is not for roster index {self.index}")
        self._share = share

    @property
    def phase2_seed(self) -> bytes:
        """The entropy of this actuary's phase-2 contribution (seeded: a run is reproducible;
        a real actuary draws it from its OS and forgets it)."""
        return secret_for(self._seed, "phase2")

    def sign_contribution(
        self, *, zkey_sha256: bytes, contribution_hash: bytes
    ) -> CircuitContribution:
        """The ``circuit_contribution`` message of this actuary's phase-2 step."""
        msg = CircuitContribution(
            actuary=self.key,
            index=self.index,
            zkey_sha256=zkey_sha256,
            contribution_hash=contribution_hash,
        )
        signed = self._sign(msg)
        assert isinstance(signed, CircuitContribution)
        return signed

    def posted(self, key: tuple[object, ...]) -> bool:
        """Whether this client has posted (or deliberately skipped) ``key``."""
        return key in self._sent

    def sent_ids(self, key: tuple[object, ...]) -> list[str]:
        return list(self._sent.ids.get(key, []))

    # -- helpers ----------------------------------------------------------------------------
    def _rng(self, label: str) -> random.Random:
        return seeded_rng(self._seed, label)

    def _sign(self, msg: Message) -> Message:
        return msg.signed(self._secret, aux_rand=aux_for(self._secret, msg.digest()))  # type: ignore[union-attr]

    def _post(
        self,
        ctx: StepContext,
        messages: list[Message],
        *,
        key: tuple[object, ...],
        kind: str,
        month: str | None,
        rnd: int | None,
        intent: str = "honest",
        **detail: object,
    ) -> list[Transaction]:
        txs: list[Transaction] = []
        ids: list[str] = []
        for msg in messages:
            env = envelope_of(msg)
            t, i = inscribe(
                self.wallet, [env], next_height=ctx.height, destination=self.identity_script
            )
            txs += t
            ids += i
            ctx.registry.record(
                i,
                [env],
                kind=msg.KIND or kind,
                sender=self.name,
                month=month,
                round=rnd,
                intent=intent,
                **detail,
            )
        self._sent.ids[key] = ids
        if intent != "honest":
            ctx.note(intent, self.key, month or "", rnd, ids)
        return txs

    # -- the client's loop ------------------------------------------------------------------
    def step(self, ctx: StepContext) -> list[Transaction]:
        st = ctx.state
        if st.params is None or st.pk is None:
            return []
        txs: list[Transaction] = []
        txs += self._stake_step(ctx)
        for ms in st.months:
            if ms.month > ctx.last_month:
                break
            if ms.settled and (ms.outcome != "accepted" or ms.publication is not None):
                continue
            for rs in ms.rounds:
                txs += self._round_step(ctx, ms, rs)
            txs += self._publication_step(ctx, ms)
        return txs

    def _stake_step(self, ctx: StepContext) -> list[Transaction]:
        st = ctx.state
        txs: list[Transaction] = []
        if ("stake", 0) not in self._sent:
            txs += self._stake(ctx, 0, self.stake_amount)
        for month, why in sorted(ctx.withdraw_months(self.key).items()):
            # Withdraw the main stake output during M (after S_{M−1}), stake again after S_M.
            i = month_offset(st, month)
            if i is None:
                continue
            if ("withdraw", month) not in self._sent and len(st.snapshots) > i:
                holdings = sorted(
                    (h for h in ctx.view.stakes.get(self.key, []) if h.spent is None),
                    key=lambda h: (-h.value, h.outpoint),
                )
                if holdings and holdings[0].height < ctx.height:
                    tx = ctx.operator.withdraw([holdings[0]], self.wallet.script_pubkey)
                    if tx is not None:
                        self._sent.ids[("withdraw", month)] = [tx.txid_hex]
                        ctx.note(why, self.key, month, None, [tx.txid_hex])
                        txs.append(tx)
            # Withdrawn again the month after: stake again only after that one.
            again = add_months(month, 1) in ctx.withdraw_months(self.key)
            if (
                ("withdraw", month) in self._sent
                and ("stake", month) not in self._sent
                and len(st.snapshots) > i + 1
                and not again
            ):
                txs += self._stake(ctx, month, self.stake_amount)
        return txs

    def _stake(self, ctx: StepContext, label: object, amount: int) -> list[Transaction]:
        """A stake transaction: the message names the reveal's first input (a coin chosen
        up front), the vault outputs pay ``amount`` (main output) and 5,000,000 sats."""
        small = 5_000_000
        coin = self.wallet.select_coin(amount + small, next_height=ctx.height)
        stake = self._sign(Stake(actuary=self.key, outpoint=coin.outpoint.serialize()))
        env = envelope_of(stake)
        vaults = ctx.operator.vault_scripts
        t, ids = inscribe(
            self.wallet,
            [env],
            next_height=ctx.height,
            destination=self.identity_script,
            lead_input=coin,
            extra_outputs=(TxOut(amount, vaults[0]), TxOut(small, vaults[0])),
        )
        ctx.registry.record(ids, [env], kind="stake", sender=self.name, stake=amount + small)
        self._sent.ids[("stake", label)] = ids
        return t

    # -- rounds -----------------------------------------------------------------------------
    def _round_step(self, ctx: StepContext, ms: MonthState, rs: RoundState) -> list[Transaction]:
        st = ctx.state
        rp = st.resolved
        assert rp is not None
        h = ctx.height
        month, r = ms.month, rs.round
        me = self.key
        roles = ctx.roles(me, month, r)
        eligible = me in ms.eligible
        txs: list[Transaction] = []
        if rs.seed_hash is None:
            return txs
        # VRF in G + 1 … G + vrf_window.
        if eligible and rs.G + 1 <= h <= rs.vrf_hi and ("vrf", month, r) not in self._sent:
            txs += self._vrf(ctx, rs, month, r, bad="bad_vrf" in roles)
        if "bad_vrf" in roles and h == rs.vrf_hi + 1 and ("late_vrf", month, r) not in self._sent:
            txs += self._vrf(ctx, rs, month, r, late=True)  # the right proof, too late: ignored
        if not rs.lead_known or (rs.decision is not None and rs.RS is None):
            return txs
        # The lead package, first block of the lead window.
        if (
            rs.lead == me
            and rs.lead_package is None
            and rs.lead_lo <= h <= rs.lead_hi
            and ("lead", month, r) not in self._sent
        ):
            if "silent" in roles:
                if ("silent", month, r) not in self._sent:
                    self._sent.ids[("silent", month, r)] = []
                    ctx.note("silent_lead", me, month, r, [])
            else:
                txs += self._lead(ctx, ms, rs, wrong="wrong_table" in roles)
        txs += self._impostor_step(ctx, ms, rs, roles)
        # Secondaries race from L + race_offset.
        if eligible and rs.lead != me and rs.L is not None and rs.X is not None:
            txs += self._secondary_step(ctx, ms, rs, roles)
        # Shares in RS … RS + share_window − 1, for every lead/race/late package.
        if rs.RS is not None and rs.SE is not None:
            txs += self._shares_step(ctx, ms, rs, roles)
        return txs

    def _secondary_step(
        self, ctx: StepContext, ms: MonthState, rs: RoundState, roles: frozenset[str]
    ) -> list[Transaction]:
        rp = ctx.state.resolved
        assert rp is not None and rs.L is not None and rs.X is not None
        h = ctx.height
        month, r = ms.month, rs.round
        opens = rs.L + rp.race_offset
        txs: list[Transaction] = []
        if rs.decision is not None or (rs.RS is not None and h >= rs.RS):
            return txs
        if ("secondary", month, r) in self._sent:
            return txs
        if (
            "early" in roles
            and h == rs.L + 1
            and h < opens
            and ("early", month, r) not in self._sent
        ):
            txs += self._secondary(ctx, ms, rs, key=("early", month, r), intent="early_secondary")
        if h < opens:
            return txs
        if "late" in roles:
            if rs.C is not None and h == rs.C + 1:
                txs += self._secondary(ctx, ms, rs, intent="late_secondary")
            return txs
        if "copy_repost" in roles:
            victim = next(
                (p for p in rs.counting if p.message.actuary != self.key and p.height < h),  # type: ignore[union-attr]
                None,
            )
            if victim is not None:
                src = victim.message
                assert isinstance(src, Secondary)
                msg = self._sign(
                    Secondary(
                        month=month,
                        round=r,
                        actuary=self.key,
                        kem=src.kem,
                        nonce=src.nonce,
                        ct=src.ct,
                    )
                )
                txs += self._post(
                    ctx,
                    [msg],
                    key=("secondary", month, r),
                    kind="secondary",
                    month=month,
                    rnd=r,
                    intent="copy_repost",
                    copied=victim.id,
                )
            return txs
        if "copy_reencrypt" in roles:
            plain = _public_plaintext(ms, rs, self.key) or ctx.handout(ctx, ms, rs, self.key)
            if plain is not None:
                txs += self._seal_and_post(
                    ctx, ms, rs, "secondary", plain, None, intent="copy_reencrypt"
                )
            return txs
        if "wrong_secondary" in roles:
            plain, _ = self._result(ms, rs, "secondary", wrong=True)
            return self._seal_and_post(
                ctx, ms, rs, "secondary", plain, None, intent="wrong_secondary"
            )
        if "key_reuse" in roles and (earlier := self._keys.get(("secondary", month, r - 1))):
            plain, _ = self._result(ms, rs, "secondary")
            return self._seal_and_post(
                ctx, ms, rs, "secondary", plain, None, intent="key_reuse", reuse=earlier
            )
        if "bad_kem" in roles and ("bad_kem", month, r) not in self._sent:
            txs += self._bad_kem(ctx, ms, rs)
        defect = next((d for d in PROOF_DEFECTS if f"proof_{d}" in roles), None)
        if defect is not None:
            plain, _ = self._result(ms, rs, "secondary", defect=defect)
            return self._seal_and_post(
                ctx, ms, rs, "secondary", plain, None, intent=f"proof_{defect}"
            )
        txs += self._secondary(ctx, ms, rs)
        return txs

    def _result(
        self,
        ms: MonthState,
        rs: RoundState,
        kind: str,
        *,
        wrong: bool = False,
        defect: ProofDefect | None = None,
    ) -> tuple[bytes, bytes | None]:
        """This actuary's result plaintext for (M, r) and, for a lead, the allocation file.
        ``defect``: right roots, a proof that does not verify (see :func:`_defective`)."""
        cache_key = (ms.month, rs.round, kind + ("/wrong" if wrong else f"/{defect or ''}"))
        hit = self._results.get(cache_key)
        if hit is not None:
            return hit
        exp = ms.expected
        file: bytes | None = None
        month_root, n_rows, months_root = exp.roots()
        sha = exp.sha256
        if wrong:
            # A wrong table: one Dreybit moved from the first row to the last (or added),
            # with roots and file consistent with it, so only recomputing catches it.
            values = list(exp.dreybits)
            if len(values) >= 2 and values[0] > 0:
                values[0] -= 1
                values[-1] += 1
            else:
                values[0] += 1
            file = write_allocation_file(values)
            sha = hashlib.sha256(file).digest()
            m_idx = month_index(ms.month)
            tree = MonthTree.from_rows([row[0] for row in exp.rows], m_idx, values)
            before = ms.expected.months_tree_before()
            index = m_idx - month_index(_first_month(ms))
            after = before.with_leaf(index, month_commitment(tree.root, len(values)))
            month_root, months_root = field_to_bytes(tree.root), field_to_bytes(after.root)
        elif kind == "lead":
            file = exp.file
        allocation = None
        if kind == "lead":
            assert file is not None
            allocation = AllocationRef(
                sha256=sha, bytes=file if len(file) <= MAX_INLINE_FILE else None
            )
        result = Result(
            month=ms.month,
            round=rs.round,
            actuary=self.key,
            month_root=month_root,
            n_rows=n_rows,
            months_root=months_root,
            proof=self._proof(ms, rs, month_root, n_rows, months_root),
            allocation=allocation,
        )
        if defect is not None:
            result = replace(result, proof=_defective(result.proof, defect))
        signed = result.signed(self._secret, aux_rand=aux_for(self._secret, result.digest()))
        out = (signed.serialize(), file)
        self._results[cache_key] = out
        return out

    def _claim(
        self, ms: MonthState, rs: RoundState, month_root: bytes, n_rows: int, months_root: bytes
    ) -> tuple[MonthsAppend, tuple[int, ...], bytes]:
        """The statement of this actuary's result, its siblings and the proof's seed."""
        history = ms.expected.months_tree_before()
        claim = statement(
            history,
            first_month=_first_month(ms),
            month=ms.month,
            round_=rs.round,
            actuary=self.key,
            month_root=field_from_bytes(month_root),
            n_rows=n_rows,
            new_root=field_from_bytes(months_root),
        )
        seed = aux_for(self._secret, f"proof/{ms.month}/{rs.round}/{months_root.hex()}".encode())
        return claim, witness(history, claim.index), seed

    def _proof(
        self, ms: MonthState, rs: RoundState, month_root: bytes, n_rows: int, months_root: bytes
    ) -> Proof:
        """v1's ``recompute``, or a Groth16 proof that ``months_root`` appends this result's
        commitment to the months history before M (docs/protocol/proofs.md §1)."""
        if self.prover is None:
            return Proof("recompute")
        return encode_proof(
            self.prover.prove(*self._claim(ms, rs, month_root, n_rows, months_root))
        )

    def hand_out_result(self, ms: MonthState, rs: RoundState) -> bytes:
        """Collusion: give this actuary's secondary result plaintext to someone else."""
        return self._result(ms, rs, "secondary")[0]

    def _secondary(
        self,
        ctx: StepContext,
        ms: MonthState,
        rs: RoundState,
        *,
        key: tuple[object, ...] | None = None,
        intent: str = "honest",
    ) -> list[Transaction]:
        plain, _ = self._result(ms, rs, "secondary")
        return self._seal_and_post(ctx, ms, rs, "secondary", plain, None, key=key, intent=intent)

    def _lead(
        self, ctx: StepContext, ms: MonthState, rs: RoundState, *, wrong: bool
    ) -> list[Transaction]:
        plain, file = self._result(ms, rs, "lead", wrong=wrong)
        return self._seal_and_post(
            ctx, ms, rs, "lead", plain, file, intent="wrong_table" if wrong else "honest"
        )

    def _vrf(
        self,
        ctx: StepContext,
        rs: RoundState,
        month: str,
        r: int,
        *,
        bad: bool = False,
        late: bool = False,
    ) -> list[Transaction]:
        """This actuary's VRF for (M, r); ``bad``: a proof that does not verify (one byte of
        s changed), ``late``: the right one after the window (``bad_vrf``)."""
        assert rs.seed_hash is not None
        proof = ecvrf.prove(self._vrf_secret, vrf_alpha(month, r, rs.seed_hash))
        if bad:
            proof = proof[:40] + bytes([proof[40] ^ 1]) + proof[41:]
        vrf = self._sign(Vrf(month=month, round=r, actuary=self.key, proof=proof))
        intent = "late_vrf" if late else "bad_vrf" if bad else "honest"
        key = ("late_vrf" if late else "vrf", month, r)
        return self._post(ctx, [vrf], key=key, kind="vrf", month=month, rnd=r, intent=intent)

    def _impostor_step(
        self, ctx: StepContext, ms: MonthState, rs: RoundState, roles: frozenset[str]
    ) -> list[Transaction]:
        """``impostor``: a non-lead posts a lead package and a part (``not_lead``); the lead
        posts a part outside its package's parts (``bad_part_index``) and, once the race
        opens, a secondary (``not_secondary``)."""
        rp = ctx.state.resolved
        assert rp is not None
        h, month, r = ctx.height, ms.month, rs.round
        txs: list[Transaction] = []
        if "impostor_lead" in roles and h == rs.lead_lo and ("impostor_lead",) not in self._sent:
            plain, file = self._result(ms, rs, "lead")
            txs += self._seal_and_post(
                ctx, ms, rs, "lead", plain, file, key=("impostor_lead",), intent="impostor_lead"
            )
            txs += self._post_part(ctx, ms, rs, 0, intent="impostor_lead")
        lp = rs.lead_package
        if (
            "bad_part" in roles
            and lp is not None
            and lp.height < h <= rs.lead_hi
            and ("bad_part", month, r) not in self._sent
        ):
            lead = lp.pm.message
            assert isinstance(lead, Lead)
            txs += self._post_part(ctx, ms, rs, lead.parts or 0, intent="bad_part")
        if (
            "lead_secondary" in roles
            and rs.L is not None
            and h == rs.L + rp.race_offset
            and ("lead_secondary", month, r) not in self._sent
        ):
            plain, _ = self._result(ms, rs, "secondary")
            txs += self._seal_and_post(
                ctx, ms, rs, "secondary", plain, None, key=("lead_secondary", month, r),
                intent="lead_secondary",
            )  # fmt: skip
        return txs

    def _post_part(
        self, ctx: StepContext, ms: MonthState, rs: RoundState, index: int, *, intent: str
    ) -> list[Transaction]:
        month, r = ms.month, rs.round
        k = secret_for(self._seed, f"part/{month}/{r}/{intent}")
        nonce, ct = seal_part(
            k, b"part", lead_part_ad(month, r, self.key, index), rng=self._rng(intent)
        )
        part = self._sign(
            LeadPart(month=month, round=r, actuary=self.key, index=index, nonce=nonce, ct=ct)
        )
        return self._post(
            ctx, [part], key=(intent, month, r), kind="lead_part", month=month, rnd=r,
            intent=intent,
        )  # fmt: skip

    def _bad_kem(self, ctx: StepContext, ms: MonthState, rs: RoundState) -> list[Transaction]:
        """A secondary whose kem is 0 (ℓ₂ bytes, outside 1 … n² − 1): ``bad_kem``."""
        pk = ctx.state.pk
        assert pk is not None
        plain, _ = self._result(ms, rs, "secondary")
        ad = package_ad("secondary", ms.month, rs.round, self.key)
        sealed, _ = seal(pk, plain, ad, rng=self._rng(f"bad_kem/{ms.month}/{rs.round}"))
        msg = Secondary(
            month=ms.month, round=rs.round, actuary=self.key, kem=bytes(len(sealed.kem)),
            nonce=sealed.nonce, ct=sealed.ct,
        )  # fmt: skip
        return self._post(
            ctx, [self._sign(msg)], key=("bad_kem", ms.month, rs.round), kind="secondary",
            month=ms.month, rnd=rs.round, intent="bad_kem",
        )  # fmt: skip

    def _seal_and_post(
        self,
        ctx: StepContext,
        ms: MonthState,
        rs: RoundState,
        kind: str,
        plain: bytes,
        file: bytes | None,
        *,
        key: tuple[object, ...] | None = None,
        intent: str = "honest",
        reuse: bytes | None = None,
    ) -> list[Transaction]:
        pk = ctx.state.pk
        assert pk is not None
        month, r = ms.month, rs.round
        label = f"{kind}/{month}/{r}/{intent}"
        rng = self._rng(label)
        ad = package_ad(kind, month, r, self.key)  # type: ignore[arg-type]
        sealed, k = seal(pk, plain, ad, key=reuse, rng=rng)
        self._keys.setdefault((kind, month, r), k)
        messages: list[Message] = []
        parts = None
        if kind == "lead" and file is not None and len(file) > MAX_INLINE_FILE:
            chunks = [file[i : i + PART_SIZE] for i in range(0, len(file), PART_SIZE)]
            parts = len(chunks)
            for index, chunk in enumerate(chunks):
                nonce, ct = seal_part(k, chunk, lead_part_ad(month, r, self.key, index), rng=rng)
                messages.append(
                    self._sign(
                        LeadPart(
                            month=month, round=r, actuary=self.key, index=index, nonce=nonce, ct=ct
                        )
                    )
                )
        if kind == "lead":
            pkg: Message = Lead(
                month=month,
                round=r,
                actuary=self.key,
                kem=sealed.kem,
                nonce=sealed.nonce,
                ct=sealed.ct,
                parts=parts,
            )
        else:
            pkg = Secondary(
                month=month,
                round=r,
                actuary=self.key,
                kem=sealed.kem,
                nonce=sealed.nonce,
                ct=sealed.ct,
            )
        return self._post(
            ctx,
            [self._sign(pkg), *messages],
            key=key or (kind, month, r),
            kind=kind,
            month=month,
            rnd=r,
            intent=intent,
        )

    def _shares_step(
        self, ctx: StepContext, ms: MonthState, rs: RoundState, roles: frozenset[str]
    ) -> list[Transaction]:
        assert rs.RS is not None and rs.SE is not None
        h = ctx.height
        month, r = ms.month, rs.round
        txs: list[Transaction] = []
        if ("shares", month, r) in self._sent:
            return txs
        if "premature" in roles and h == rs.RS - 1 and ("premature", month, r) not in self._sent:
            owed = [p for p in rs.owed() if p.height < h]
            if owed:
                txs += self._shares(
                    ctx, ms, rs, owed, key=("premature", month, r), intent="premature_share"
                )
        if not rs.RS <= h <= rs.SE:
            return txs
        owed = rs.owed()
        withheld: str | None = None
        if "withhold" in roles:
            withheld = ctx.withhold_target(ms, rs)
            owed = [p for p in owed if p.id != withheld]
        forge = owed[0].id if "forged" in roles and owed else None
        if "impostor_lead" in roles:
            # A share for this actuary's own impostor lead package: not owed, ignored.
            mine = ctx.view.round_messages("lead", month, r)
            owed = owed + [
                Package(pm, self.key, "lead", "lead")
                for pm in mine
                if pm.message.actuary == self.key  # type: ignore[union-attr]
            ]
        if owed:
            intent = "forged_share" if forge else "few_shares" if withheld else "honest"
            if "impostor_lead" in roles:
                intent = "not_owed_share"
            txs += self._shares(ctx, ms, rs, owed, forge=forge, intent=intent, withheld=withheld)
        return txs

    def _shares(
        self,
        ctx: StepContext,
        ms: MonthState,
        rs: RoundState,
        owed: list[Package],
        *,
        key: tuple[object, ...] | None = None,
        forge: str | None = None,
        intent: str = "honest",
        withheld: str | None = None,
    ) -> list[Transaction]:
        pk = ctx.state.pk
        assert pk is not None and self._share is not None
        month, r = ms.month, rs.round
        entries = []
        for pkg in owed:
            package = pkg.pm.message
            assert isinstance(package, Lead | Secondary)
            kem = int.from_bytes(package.kem, "big")
            ds = decryption_share(pk, self._share, kem, rng=self._rng(f"share/{pkg.id}"))
            share, e, z = ds.serialize(pk)
            if pkg.id == forge:
                # A forged proof: z off by one (right width, wrong response).
                z = ((int.from_bytes(z, "big") + 1) % (1 << (8 * len(z)))).to_bytes(len(z), "big")
            entries.append(ShareEntry(package=pkg.id, share=share, e=e, z=z))
        msg = self._sign(Shares(month=month, round=r, actuary=self.key, shares=tuple(entries)))
        detail: dict[str, object] = {}
        if forge:
            detail["forged"] = forge
        if withheld:
            detail["withheld"] = withheld
        return self._post(
            ctx,
            [msg],
            key=key or ("shares", month, r),
            kind="shares",
            month=month,
            rnd=r,
            intent=intent,
            **detail,
        )

    # -- publication ------------------------------------------------------------------------
    def _publication_step(self, ctx: StepContext, ms: MonthState) -> list[Transaction]:
        rs = ms.accepted()
        if rs is None or rs.lead_package is None or rs.lead_package.result is None:
            return []
        lead = rs.lead_package.result
        month = ms.month
        # Sign what was accepted, after checking it is the month's correct result.
        if not ctx.board.signed(month, rs.round, self.key) and lead.roots() == ms.expected.roots():
            assert lead.allocation is not None
            sha = lead.allocation.sha256
            digest = allocation_digest(month, lead.month_root, lead.months_root, sha)
            entry = sign_allocation(
                self._secret,
                month=month,
                month_root=lead.month_root,
                months_root=lead.months_root,
                sha256=sha,
                aux_rand=aux_for(self._secret, digest),
            )
            ctx.board.sign(month, rs.round, ctx.height, entry)
        if rs.lead != self.key or ms.publication is not None or ("allocation", month) in self._sent:
            return []
        sigs = ctx.board.signatures(month, rs.round, ctx.height)
        rp = ctx.state.resolved
        assert rp is not None
        if len(sigs) < rp.threshold:
            return []
        order = {e.key: e.index for e in rp.roster}
        sigs = sorted(sigs, key=lambda s: order.get(s.actuary, 1 << 30))
        _, file = self._result(ms, rs, "lead")
        assert file is not None and lead.allocation is not None
        alloc = Allocation(
            month=month,
            round=rs.round,
            month_root=lead.month_root,
            n_rows=lead.n_rows,
            months_root=lead.months_root,
            sha256=lead.allocation.sha256,
            sigs=tuple(sigs),
            file=file,
        )
        return self._post(
            ctx, [alloc], key=("allocation", month), kind="allocation", month=month, rnd=rs.round
        )


# ----------------------------------------------------------------------------------------
def _defective(proof: Proof, defect: ProofDefect) -> Proof:
    """The actuary's own proof, broken as ``defect`` says: ``pairing`` (C replaced by A: valid
    points, a failing pairing), ``off_curve`` (A = (1, 1)), ``coordinate`` (A's x = p, out of
    range), ``system`` (``recompute`` under v1.1). On a v1 chain (no prover, the proof is
    ``recompute``) every defect but ``system`` is a proof map of a system v1 does not know."""
    if defect == "system":
        return Proof("recompute")
    if proof.is_recompute:
        return Proof(SYSTEM, (("a", bytes(64)), ("b", bytes(128)), ("c", bytes(64))))
    parts = dict(proof.extra)
    if defect == "pairing":
        parts["c"] = parts["a"]
    elif defect == "off_curve":
        parts["a"] = (1).to_bytes(32, "big") * 2
    else:
        parts["a"] = FIELD_P.to_bytes(32, "big") + parts["a"][32:]  # type: ignore[index]
    return Proof(proof.system, tuple(sorted(parts.items())))


def month_offset(st: State, month: str) -> int | None:
    """Index i of ``month`` such that ``st.snapshots[i]`` is S_{M−1} (i = 0 for the first)."""
    if st.resolved is None:
        return None
    first = st.resolved.first_month
    i = month_index(month) - month_index(first)
    return i if i >= 0 else None


def _first_month(ms: MonthState) -> str:
    tree_size = ms.expected.months_tree.size
    return add_months(ms.month, -(tree_size - 1))


def _public_plaintext(ms: MonthState, rs: RoundState, me: bytes) -> bytes | None:
    """A result of another actuary revealed in an earlier round of M (results are public)."""
    for prev in ms.rounds:
        if prev is rs:
            break
        for pkg in prev.race + prev.late:
            if pkg.actuary != me and pkg.outcome == "result" and pkg.plaintext is not None:
                return pkg.plaintext
    return None
