"""The stranger: anyone with bitcoin and no roster key, inscribing what the protocol must refuse.

It plays the scenarios that need no roster member (docs/simulator.md "Hostile months"):

- ``stranger@M.R``: malformed ``drey/1`` envelopes (not CBOR, an unknown kind, a wrong content
  type, a content encoding); a params it signed itself; well-formed messages under its own key
  (a VRF and a secondary: ``not_eligible``; a lead and a part: ``not_lead``; shares and a stake:
  ``not_roster``).
- ``replay@M.R``: byte-identical copies of the round's honest messages (a VRF, the lead package,
  a secondary, shares inside the share window and after it, the publication): anyone can
  re-inscribe a signed message, so each copy is a ``duplicate`` (or ``ignored``).
- ``bindings@M``: §3's binding rules, with the operator's own signatures where it signs: a plan
  naming another outpoint than its first input (``outpoint_mismatch``), two plans in one
  transaction (``multiple_bindings``), a plan moving a user to another owner
  (``owner_mismatch``), a plan the stranger signed (``bad_signature``), an actuary's stake
  message copied into another transaction (``outpoint_mismatch``).
- ``params_replay@M``: the first params re-inscribed byte for byte (``bad_params``: a later
  params needs an effective month) and, signed by the founder, params effective from the first
  month again (``stale_params``).
- ``forged_publication@M``: the accepted publication with another round (the signatures do
  not cover the round, the result is not the accepted one: ``not_accepted_result``), and one
  signed by the stranger alone (``insufficient_signatures``).

Every inscription is recorded with the status the stranger expects (``expect`` in the
registry's detail); the answer key's cross-check compares it with the bookkeeping's verdict.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace

from btc import Transaction, TxOut
from btc.ord.envelope import Envelope
from devnet.simulate.actors import StepContext, month_offset, secret_for, seeded_rng
from devnet.simulate.calendar import add_months
from devnet.simulate.config import MONTH_SCENARIOS
from devnet.simulate.director import Trigger
from devnet.simulate.oracle import MonthState, RoundState
from devnet.simulate.posting import aux_for, envelope_of, inscribe
from devnet.simulate.view import Posted
from devnet.tx.taproot import p2tr_script
from devnet.tx.wallet import Coin, Wallet
from drey.cbor import decode_cbor, encode_cbor
from drey.crypto import ecvrf
from drey.crypto.package import lead_part_ad, package_ad, seal, seal_part
from drey.election import vrf_alpha
from drey.messages import (
    Allocation,
    Lead,
    LeadPart,
    Message,
    Params,
    Plan,
    Secondary,
    ShareEntry,
    Shares,
    Stake,
    Vrf,
    sign_allocation,
    xonly_public_key,
)

__all__ = ["Stranger"]

Expect = tuple[str, str | None]
#: Malformed ``drey/1`` envelopes: (what is wrong, envelope fields, the parse verdict).
MALFORMED: tuple[tuple[str, dict[str, object], Expect], ...] = (
    ("not_cbor", {"body": b"\xa1", "content_type": "application/cbor"}, ("quarantined", "bad_cbor")),
    (
        "unknown_kind",
        {"body": b"\xa2akdnopeav\x01", "content_type": "application/cbor"},
        ("quarantined", "unknown_kind"),
    ),
    ("text_body", {"body": b"hello", "content_type": "text/plain"}, ("quarantined", "bad_content_type")),
    ("forbidden", {"body": b"\xff\x00", "content_type": "application/cbor"}, ("quarantined", "forbidden_cbor")),
    ("not_a_map", {"body": b"\x01", "content_type": "application/cbor"}, ("quarantined", "not_a_map")),
    ("version", {"body": bytes.fromhex("a2617602646b696e6463767266"), "content_type": "application/cbor"},
     ("quarantined", "bad_version")),
    ("twice", {"body": bytes.fromhex("a2617601617601"), "content_type": "application/cbor"},
     ("quarantined", "duplicate_key")),
    ("long_head", {"body": bytes.fromhex("a161761801"), "content_type": "application/cbor"},
     ("quarantined", "non_canonical_cbor")),
    ("deep", {"body": bytes.fromhex("a16176") + b"\x81" * 17 + b"\x01", "content_type": "application/cbor"},
     ("quarantined", "too_deep")),
    ("fields", {"body": bytes.fromhex("a2617601646b696e6463767266"), "content_type": "application/cbor"},
     ("quarantined", "missing_field")),
    ("no_body", {"body": None, "content_type": "application/cbor"}, ("quarantined", "missing_body")),
    ("no_metadata", {"body": b"PAR1", "content_type": "application/vnd.apache.parquet"},
     ("quarantined", "missing_metadata")),
    ("delegate", {"body": b"\xa0", "content_type": "application/cbor", "delegate": "00" * 32 + "i0"},
     ("quarantined", "has_delegate")),
    ("drey_2", {"body": b"\xa0", "content_type": "application/cbor", "metaprotocol": "drey/2"},
     ("quarantined", "bad_metaprotocol")),
    (
        "encoded",
        {"body": b"\xa0", "content_type": "application/cbor", "content_encoding": "br"},
        ("quarantined", "has_content_encoding"),
    ),
)  # fmt: skip
_STAKE = 20_000_000
_DEPOSIT = 1_000_000


class Stranger:
    """Plays the stranger scenarios of ``triggers`` from its own wallet and keys."""

    def __init__(
        self,
        seed: bytes,
        *,
        wallet: Wallet,
        triggers: list[Trigger],
        founder_sign: Callable[[Params], Params],
        first_params: Callable[[], Posted],
    ) -> None:
        self.name = "stranger"
        self._secret = secret_for(seed, "stranger/sign")
        self.key = xonly_public_key(self._secret)
        self._vrf_secret = hashlib.sha256(seed + b"/stranger/vrf").digest()
        self.wallet = wallet
        self.script = p2tr_script(self.key)
        self._triggers = triggers
        self._founder_sign = founder_sign
        self._first_params = first_params
        self._done: set[tuple[str, str]] = set()
        self._user = int.from_bytes(hashlib.sha256(seed + b"/stranger/user").digest()[:8], "big")

    # -- the loop ---------------------------------------------------------------------------
    def step(self, ctx: StepContext) -> list[Transaction]:
        st = ctx.state
        if st.params is None or st.pk is None:
            return []
        txs: list[Transaction] = []
        for t in self._triggers:
            name = t.spec.name
            if name in ("bindings", "params_replay"):
                if _during(ctx, t.month):
                    txs += getattr(self, f"_{name}")(ctx, t)
                continue
            ms = st.month(t.month)
            if ms is None:
                continue
            if name == "forged_publication":
                txs += self._forged_publication(ctx, t, ms)
                continue
            if t.spec.round < len(ms.rounds):
                rs = ms.rounds[t.spec.round]
                txs += getattr(self, f"_{name}")(ctx, t, ms, rs)
        return txs

    def _once(self, t: Trigger, act: str) -> bool:
        """True the first time ``act`` of ``t`` is asked (so each act happens once)."""
        key = (t.spec.label(), act)
        if key in self._done:
            return False
        self._done.add(key)
        return True

    def _post(
        self,
        ctx: StepContext,
        t: Trigger,
        envelopes: list[Envelope],
        *,
        intent: str,
        kind: str,
        expect: Expect,
        lead_input: Coin | None = None,
        extra_outputs: tuple[TxOut, ...] = (),
    ) -> list[Transaction]:
        txs, ids = inscribe(
            self.wallet,
            envelopes,
            next_height=ctx.height,
            destination=self.script,
            lead_input=lead_input,
            extra_outputs=extra_outputs,
        )
        rnd = None if t.spec.name in MONTH_SCENARIOS else t.spec.round
        ctx.registry.record(
            ids, envelopes, kind=kind, sender=self.name, month=t.month, round=rnd,
            intent=intent, expect=list(expect),
        )  # fmt: skip
        t.events.append({"intent": intent, "actor": None, "round": rnd, "ids": ids})
        return txs

    def _signed(self, msg: Message) -> Message:
        return msg.signed(self._secret, aux_rand=aux_for(self._secret, msg.digest()))  # type: ignore[union-attr]

    # -- stranger ---------------------------------------------------------------------------
    def _stranger(
        self, ctx: StepContext, t: Trigger, ms: MonthState, rs: RoundState
    ) -> list[Transaction]:
        h, month, r = ctx.height, ms.month, rs.round
        txs: list[Transaction] = []
        not_eligible: Expect = ("quarantined", "not_eligible")
        if rs.seed_hash is not None and h > rs.G and self._once(t, "open"):
            for what, fields, expect in MALFORMED:
                env = Envelope(**{"metaprotocol": "drey/1", **fields})  # type: ignore[arg-type]
                txs += self._post(
                    ctx, t, [env], intent=f"malformed_{what}", kind="malformed", expect=expect
                )
            proof = ecvrf.prove(self._vrf_secret, vrf_alpha(month, r, rs.seed_hash))
            vrf = self._signed(Vrf(month=month, round=r, actuary=self.key, proof=proof))
            txs += self._post(
                ctx, t, [envelope_of(vrf)], intent="stranger_vrf", kind="vrf", expect=not_eligible
            )
            for what, env, expect in _altered(vrf):
                txs += self._post(
                    ctx, t, [env], intent=f"malformed_{what}", kind="malformed", expect=expect
                )
            own = self._signed_params(ctx)
            txs += self._post(
                ctx,
                t,
                [envelope_of(own)],
                intent="stranger_params",
                kind="params",
                expect=("quarantined", "bad_signature"),
            )
            txs += self._stake(ctx, t)
        if rs.lead_known and h >= rs.lead_lo and self._once(t, "lead"):
            lead, part = self._package(ctx, ms, rs, "lead"), self._part(month, r)
            txs += self._post(
                ctx,
                t,
                [envelope_of(lead)],
                intent="stranger_lead",
                kind="lead",
                expect=("quarantined", "not_lead"),
            )
            txs += self._post(
                ctx,
                t,
                [envelope_of(part)],
                intent="stranger_part",
                kind="lead_part",
                expect=("quarantined", "not_lead"),
            )
        if rs.L is not None and h > rs.L and self._once(t, "secondary"):
            sec = self._package(ctx, ms, rs, "secondary")
            txs += self._post(
                ctx,
                t,
                [envelope_of(sec)],
                intent="stranger_secondary",
                kind="secondary",
                expect=not_eligible,
            )
        if (
            rs.RS is not None
            and h >= rs.RS
            and rs.lead_package is not None
            and self._once(t, "shares")
        ):
            entry = ShareEntry(package=rs.lead_package.id, share=b"\x01", e=bytes(32), z=b"\x01")
            shares = self._signed(Shares(month=month, round=r, actuary=self.key, shares=(entry,)))
            txs += self._post(
                ctx,
                t,
                [envelope_of(shares)],
                intent="stranger_shares",
                kind="shares",
                expect=("quarantined", "not_roster"),
            )
        return txs

    def _signed_params(self, ctx: StepContext) -> Params:
        first = self._first_params().message
        assert isinstance(first, Params)
        later = replace(first, effective_month=add_months(ctx.last_month, 1), sig=None)
        signed = self._signed(later)
        assert isinstance(signed, Params)
        return signed

    def _package(self, ctx: StepContext, ms: MonthState, rs: RoundState, kind: str) -> Message:
        pk = ctx.state.pk
        assert pk is not None
        ad = package_ad(kind, ms.month, rs.round, self.key)  # type: ignore[arg-type]
        sealed, _ = seal(
            pk, b"not a result", ad, rng=seeded_rng(self._secret, f"{kind}/{ms.month}")
        )
        cls = Lead if kind == "lead" else Secondary
        fields = {"month": ms.month, "round": rs.round, "actuary": self.key}
        return self._signed(cls(**fields, kem=sealed.kem, nonce=sealed.nonce, ct=sealed.ct))  # type: ignore[arg-type]

    def _part(self, month: str, r: int) -> Message:
        k = secret_for(self._secret, f"part/{month}/{r}")
        nonce, ct = seal_part(
            k, b"part", lead_part_ad(month, r, self.key, 0), rng=seeded_rng(k, "n")
        )
        return self._signed(
            LeadPart(month=month, round=r, actuary=self.key, index=0, nonce=nonce, ct=ct)
        )

    def _stake(self, ctx: StepContext, t: Trigger) -> list[Transaction]:
        """A stake under the stranger's key, bound correctly but outside the roster."""
        coin = self.wallet.select_coin(_STAKE + 100_000, next_height=ctx.height)
        stake = self._signed(Stake(actuary=self.key, outpoint=coin.outpoint.serialize()))
        vault = ctx.operator.vault_scripts[0]
        return self._post(
            ctx, t, [envelope_of(stake)], intent="stranger_stake", kind="stake",
            expect=("quarantined", "not_roster"), lead_input=coin,
            extra_outputs=(TxOut(_STAKE, vault),),
        )  # fmt: skip

    # -- replay -----------------------------------------------------------------------------
    def _replay(
        self, ctx: StepContext, t: Trigger, ms: MonthState, rs: RoundState
    ) -> list[Transaction]:
        h = ctx.height
        dup: Expect = ("duplicate", None)
        picks: list[tuple[str, Posted | None, Expect]] = []
        first_vrf = min(rs.vrfs.values(), key=lambda pm: pm.position, default=None)
        if first_vrf is not None and first_vrf.height < h <= rs.vrf_hi:
            picks.append(("replay_vrf", first_vrf, dup))
        lp = rs.lead_package
        if lp is not None and lp.height < h:
            picks.append(("replay_lead", lp.pm, dup))
        counted = rs.counting[0] if rs.counting else None
        if counted is not None and counted.height < h and (rs.RS is None or h < rs.RS):
            picks.append(("replay_secondary", counted, dup))
        if rs.RS is not None and rs.SE is not None:
            assert ctx.state.resolved is not None
            roster = {e.key for e in ctx.state.resolved.roster}
            shares = [pm for pm in ctx.view.round_messages("shares", ms.month, rs.round)
                      if rs.RS <= pm.height < h and pm.message.actuary in roster]  # type: ignore[union-attr]  # fmt: skip
            if shares and h <= rs.SE:
                picks.append(("replay_shares", shares[0], ("valid", None)))
            if shares and h == rs.SE + 1:
                picks.append(("replay_late_shares", shares[0], ("ignored", None)))
        pub = ms.publication
        if pub is not None and pub.height < h:
            picks.append(("replay_allocation", pub, dup))
        txs: list[Transaction] = []
        for intent, pm, expect in picks:
            if pm is not None and self._once(t, intent):
                kind = pm.kind or "unknown"
                txs += self._post(ctx, t, [_copy(pm)], intent=intent, kind=kind, expect=expect)
        return txs

    # -- bindings ---------------------------------------------------------------------------
    def _bindings(self, ctx: StepContext, t: Trigger) -> list[Transaction]:
        op = ctx.operator
        vault = (TxOut(_DEPOSIT, op.vault_scripts[0]),)
        h = ctx.height
        txs: list[Transaction] = []
        owner_a, owner_b = (xonly_public_key(secret_for(self._secret, f"owner/{x}")) for x in "ab")
        if self._once(t, "open"):
            # A plan of the stranger's own user, bound as §3 says (the user is a customer now).
            coin = self.wallet.select_coin(_DEPOSIT + 100_000, next_height=h)
            plan = op.sign_plan(self._user, owner_a, coin.outpoint.serialize())
            txs += self._post(
                ctx,
                t,
                [envelope_of(plan)],
                intent="bound_plan",
                kind="plan",
                expect=("valid", None),
                lead_input=coin,
                extra_outputs=vault,
            )
            # Names a coin that is not the transaction's first input.
            coin, other = self._two_coins(h)
            plan = op.sign_plan(self._user + 1, owner_a, other.outpoint.serialize())
            txs += self._post(
                ctx,
                t,
                [envelope_of(plan)],
                intent="plan_outpoint",
                kind="plan",
                expect=("quarantined", "outpoint_mismatch"),
                lead_input=coin,
                extra_outputs=vault,
            )
            # Two plans in one transaction.
            coin = self.wallet.select_coin(_DEPOSIT + 100_000, next_height=h)
            two = [
                envelope_of(op.sign_plan(self._user + i, owner_a, coin.outpoint.serialize()))
                for i in (2, 3)
            ]
            txs += self._post(
                ctx,
                t,
                two,
                intent="two_plans",
                kind="plan",
                expect=("quarantined", "multiple_bindings"),
                lead_input=coin,
                extra_outputs=vault,
            )
            # Signed by the stranger, not by the operator.
            coin = self.wallet.select_coin(_DEPOSIT + 100_000, next_height=h)
            forged = Plan(user_id=self._user + 4, owner=owner_a, outpoint=coin.outpoint.serialize())
            txs += self._post(
                ctx,
                t,
                [envelope_of(self._signed(forged))],
                intent="forged_plan",
                kind="plan",
                expect=("quarantined", "bad_signature"),
                lead_input=coin,
                extra_outputs=vault,
            )
            txs += self._copied_stake(ctx, t)
        elif ctx.view.owners.get(self._user) == owner_a and self._once(t, "owner"):
            coin = self.wallet.select_coin(_DEPOSIT + 100_000, next_height=h)
            plan = op.sign_plan(self._user, owner_b, coin.outpoint.serialize())
            txs += self._post(
                ctx,
                t,
                [envelope_of(plan)],
                intent="owner_change",
                kind="plan",
                expect=("quarantined", "owner_mismatch"),
                lead_input=coin,
                extra_outputs=vault,
            )
        return txs

    def _two_coins(self, h: int) -> tuple[Coin, Coin]:
        """A coin to spend first and another one only to be named (released again)."""
        first = self.wallet.select_coin(_DEPOSIT + 100_000, next_height=h)
        other = self.wallet.select_coin(1, next_height=h)
        self.wallet.release(other)
        return first, other

    def _copied_stake(self, ctx: StepContext, t: Trigger) -> list[Transaction]:
        """An actuary's stake message, byte for byte, in a transaction of the stranger's."""
        stakes = ctx.view.by_kind.get("stake", [])
        if not stakes:
            return []
        coin = self.wallet.select_coin(_STAKE + 100_000, next_height=ctx.height)
        return self._post(
            ctx, t, [_copy(stakes[0])], intent="copied_stake", kind="stake",
            expect=("quarantined", "outpoint_mismatch"), lead_input=coin,
            extra_outputs=(TxOut(_STAKE, ctx.operator.vault_scripts[0]),),
        )  # fmt: skip

    # -- params replay ----------------------------------------------------------------------
    def _params_replay(self, ctx: StepContext, t: Trigger) -> list[Transaction]:
        if not self._once(t, "replay"):
            return []
        first = self._first_params()
        txs = self._post(ctx, t, [_copy(first)], intent="params_copy", kind="params",
                         expect=("quarantined", "bad_params"))  # fmt: skip
        msg = first.message
        assert isinstance(msg, Params)
        again = self._founder_sign(replace(msg, effective_month=msg.first_month, sig=None))
        txs += self._post(ctx, t, [envelope_of(again)], intent="params_stale", kind="params",
                          expect=("quarantined", "stale_params"))  # fmt: skip
        return txs

    # -- forged publication -----------------------------------------------------------------
    def _forged_publication(
        self, ctx: StepContext, t: Trigger, ms: MonthState
    ) -> list[Transaction]:
        pub = ms.publication
        if pub is None or pub.height >= ctx.height or not self._once(t, "forge"):
            return []
        real = pub.message
        assert isinstance(real, Allocation)
        other_round = replace(real, round=real.round + 1)
        own = sign_allocation(
            self._secret, month=real.month, month_root=real.month_root,
            months_root=real.months_root, sha256=real.sha256,
            aux_rand=aux_for(self._secret, real.sha256),
        )  # fmt: skip
        alone = replace(real, sigs=(own,))
        txs = self._post(
            ctx,
            t,
            [envelope_of(other_round)],
            intent="allocation_other_round",
            kind="allocation",
            expect=("quarantined", "not_accepted_result"),
        )
        txs += self._post(
            ctx,
            t,
            [envelope_of(alone)],
            intent="allocation_one_sig",
            kind="allocation",
            expect=("quarantined", "insufficient_signatures"),
        )
        env = envelope_of(real)
        other_body = replace(env, body=(env.body or b"") + b"\x00")
        txs += self._post(
            ctx, t, [other_body], intent="allocation_other_body", kind="malformed",
            expect=("quarantined", "body_hash_mismatch"),
        )  # fmt: skip
        return txs


def _copy(pm: Posted) -> Envelope:
    """The envelope of ``pm`` again, byte for byte."""
    insc = pm.inscription
    return Envelope(
        body=insc.body,
        content_type=insc.content_type_raw,
        metaprotocol=insc.metaprotocol_raw,
        metadata=insc.metadata,
    )


def _altered(msg: Message) -> list[tuple[str, Envelope, Expect]]:
    """``msg`` re-encoded with a field it does not know, and with a month out of range."""
    env = envelope_of(msg)
    fields = decode_cbor(env.body or b"")
    assert isinstance(fields, dict)
    extra = encode_cbor({**fields, "zz": 1})
    bad_month = encode_cbor({**fields, "month": "2024-13"})
    return [
        ("unknown_field", replace(env, body=extra), ("quarantined", "unknown_field")),
        ("bad_field", replace(env, body=bad_month), ("quarantined", "bad_field")),
    ]


def _during(ctx: StepContext, month: str) -> bool:
    """Whether the block being built lies in ``month`` (S_{M−1} two blocks deep, S_M not yet)."""
    st = ctx.state
    i = month_offset(st, month)
    return i is not None and len(st.snapshots) == i + 1 and ctx.height >= st.snapshots[i] + 2
