"""Customers: plans opened, topped up and withdrawn over the run's months (§3).

The schedule is drawn up front from the seed: 40% of users open their plan in the first
month, the others in a uniformly drawn month; every later month a user tops up with
probability 0.3 (another ``plan`` transaction for its user_id and owner), withdraws one
deposit output with probability 0.1, or everything with probability 0.03. Amounts are
log-uniform between 100,000 and 5,000,000 sats; a deposit pays one or (20%) two vault
outputs, spread over the vault scripts. Events land on heights of their month as the time
plan predicts them.

A few funding wallets pay for every customer (100,000 wallets each following every block
would be slow and prove nothing more); each user has its own owner key, which receives the
inscription and its withdrawals. Deposits are signed by the operator (``plan`` is the
operator's message); the reveal's first input is a coin created up front so that the message
can name it (§3). A block's deposits from one funding wallet are batched: one transaction
creates every reveal's first input, one every commit output, then each deposit is one reveal.
Withdrawals spend vault outputs (the operator signs as custodian).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from btc import OutPoint, Transaction, TxIn, TxOut
from btc.ord.envelope import Envelope, reveal_script
from devnet.simulate.actors import Operator, seeded_rng
from devnet.simulate.posting import Registry, envelope_of
from devnet.simulate.view import ChainView
from devnet.tx.build import (
    KeyPathSpend,
    ScriptPathSpend,
    fee_for,
    sign_transaction,
    with_placeholders,
)
from devnet.tx.keys import derive_key
from devnet.tx.taproot import TapLeaf, TaprootOutput, p2tr_script
from devnet.tx.wallet import DEFAULT_POSTAGE, SEQUENCE_RBF, Wallet
from drey.messages import xonly_public_key

__all__ = ["Customers", "Event"]

MIN_DEPOSIT = 100_000
MAX_DEPOSIT = 5_000_000


@dataclass(frozen=True, slots=True)
class Event:
    height: int
    user: int  # index into the user table
    kind: str  # open | top_up | withdraw_one | withdraw_all
    amounts: tuple[int, ...] = ()


class Customers:
    """The customer population and its schedule."""

    def __init__(
        self,
        seed: bytes,
        *,
        users: int,
        month_heights: list[tuple[int, int]],
        vault_scripts: list[bytes],
    ) -> None:
        self._seed = seed
        rng = seeded_rng(seed, "customers")
        ids: set[int] = set()
        self.user_ids: list[int] = []
        while len(self.user_ids) < users:
            uid = rng.getrandbits(64)
            if uid not in ids:
                ids.add(uid)
                self.user_ids.append(uid)
        self._owners: dict[int, bytes] = {}
        self.vault_scripts = vault_scripts
        events: list[Event] = []
        months = len(month_heights)

        def amount() -> int:
            return int(math.exp(rng.uniform(math.log(MIN_DEPOSIT), math.log(MAX_DEPOSIT))))

        def deposit() -> tuple[int, ...]:
            return (amount(), amount()) if rng.random() < 0.2 else (amount(),)

        for u in range(users):
            join = 0 if rng.random() < 0.4 else rng.randrange(months)
            lo, hi = month_heights[join]
            events.append(Event(rng.randint(lo, hi), u, "open", deposit()))
            for m in range(join + 1, months):
                lo, hi = month_heights[m]
                x = rng.random()
                if x < 0.3:
                    events.append(Event(rng.randint(lo, hi), u, "top_up", deposit()))
                elif x < 0.4:
                    events.append(Event(rng.randint(lo, hi), u, "withdraw_one"))
                elif x < 0.43:
                    events.append(Event(rng.randint(lo, hi), u, "withdraw_all"))
        events.sort(key=lambda e: (e.height, e.user))
        self.by_height: dict[int, list[Event]] = {}
        for e in events:
            self.by_height.setdefault(e.height, []).append(e)
        self.total_deposits = sum(sum(e.amounts) for e in events)
        self.event_count = len(events)
        self._opened: set[int] = set()
        self._rng = seeded_rng(seed, "customers/run")
        # Staging key: holds each deposit's first input and commit output for one block.
        self._stage = derive_key(seed, "customers/stage")
        self._stage_script = TaprootOutput(self._stage.xonly).script_pubkey
        self._stage_spend = KeyPathSpend(self._stage)

    def owner(self, user: int) -> bytes:
        key = self._owners.get(user)
        if key is None:
            secret = seeded_rng(self._seed, f"owner/{user}").randbytes(32)
            key = xonly_public_key(secret)
            self._owners[user] = key
        return key

    def transactions(
        self,
        height: int,
        *,
        wallets: list[Wallet],
        operator: Operator,
        view: ChainView,
        registry: Registry,
    ) -> list[Transaction]:
        """The customers' transactions for the block at ``height`` (user u's deposits are
        funded by ``wallets[u % len(wallets)]``)."""
        txs: list[Transaction] = []
        batches: dict[int, list[Event]] = {}
        for e in self.by_height.get(height, []):
            if e.kind in ("open", "top_up"):
                batches.setdefault(e.user % len(wallets), []).append(e)
                self._opened.add(e.user)
                continue
            if e.user not in self._opened:
                continue
            uid = self.user_ids[e.user]
            mine = [h for h in view.deposits.get(uid, []) if h.spent is None and h.height < height]
            if not mine:
                continue
            chosen = [self._rng.choice(mine)] if e.kind == "withdraw_one" else mine
            tx = operator.withdraw(chosen, p2tr_script(self.owner(e.user)))
            if tx is not None:
                txs.append(tx)
        for w, events in sorted(batches.items()):
            txs += self._deposits(events, height, wallets[w], operator, registry)
        return txs

    def _deposits(
        self,
        events: list[Event],
        height: int,
        wallet: Wallet,
        operator: Operator,
        registry: Registry,
    ) -> list[Transaction]:
        """One block's deposits from one funding wallet, batched: a transaction creating
        every reveal's first input (the coin the ``plan`` names), one creating every commit
        output, then one reveal per deposit (plan envelope in input 1, owner postage, vault
        outputs). 2 + n transactions and 2 + 2n signatures instead of 2n and 4n."""
        stage = self._stage
        first_outputs = [TxOut(sum(e.amounts), self._stage_script) for e in events]
        lead_tx = wallet.fund(first_outputs, next_height=height)
        lead_txid = lead_tx.txid  # computed once: Transaction.txid re-serializes each time
        dummy = TxIn(OutPoint(bytes(32), 0), b"", SEQUENCE_RBF)
        plans: list[tuple[Event, Envelope, ScriptPathSpend, tuple[TxOut, ...], int]] = []
        for i, e in enumerate(events):
            owner = self.owner(e.user)
            plan = operator.sign_plan(
                self.user_ids[e.user], owner, OutPoint(lead_txid, i).serialize()
            )
            env = envelope_of(plan)
            commit = TaprootOutput(stage.xonly, (TapLeaf(reveal_script(stage.xonly, [env])),))
            spend = ScriptPathSpend(commit, 0, (stage,))
            vaults = self.vault_scripts
            outputs = (
                TxOut(DEFAULT_POSTAGE, p2tr_script(owner)),
                *(TxOut(a, vaults[(e.user + j) % len(vaults)]) for j, a in enumerate(e.amounts)),
            )
            draft = Transaction(2, (dummy, dummy), outputs, 0)
            fee = fee_for(with_placeholders(draft, [self._stage_spend, spend]).vsize, 1.0)
            plans.append((e, env, spend, outputs, DEFAULT_POSTAGE + fee))
        commit_tx = wallet.fund(
            [TxOut(value, spend.output.script_pubkey) for _, _, spend, _, value in plans],
            next_height=height,
        )
        commit_txid = commit_tx.txid
        txs = [lead_tx, commit_tx]
        for i, (e, env, spend, outputs, _) in enumerate(plans):
            inputs = (
                TxIn(OutPoint(lead_txid, i), b"", SEQUENCE_RBF),
                TxIn(OutPoint(commit_txid, i), b"", SEQUENCE_RBF),
            )
            reveal = sign_transaction(
                Transaction(2, inputs, outputs, 0),
                [lead_tx.outputs[i], commit_tx.outputs[i]],
                [self._stage_spend, spend],
            )
            txs.append(reveal)
            registry.record(
                [f"{reveal.txid_hex}i0"],
                [env],
                kind="plan",
                sender=f"user-{e.user}",
                user_id=self.user_ids[e.user],
                deposit=sum(e.amounts),
            )
        return txs
