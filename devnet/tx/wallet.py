"""A deterministic P2TR wallet that tracks its own coins as blocks connect and disconnect.

Coins come from blocks the chain reports (``apply_block``/``undo_block``, driven by the
kernel's BlockConnected/BlockDisconnected events), so a reorg restores spent coins and drops
created ones. Transactions built but not yet mined *reserve* their inputs and expose their own
outputs as *unconfirmed* coins, so many transactions (e.g. one commit per inscription) can be
built for one block, each spending the previous one's change. Coinbase coins are spendable
only in a block at least 100 deeper (``COINBASE_MATURITY``).

Limits: one signing method (BIP86-style key path, or the script path of commit outputs this
wallet built). Commit outputs built in an earlier process are not re-derived when a data
directory is reopened. Transactions of disconnected blocks are not kept in a mempool.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from btc import Block, OutPoint, Transaction, TxIn, TxOut
from btc.ord.envelope import Envelope, reveal_script
from devnet.errors import BadArgumentError, InsufficientFundsError, TxBuildError
from devnet.tx.build import (
    COINBASE_MATURITY,
    DUST_P2TR,
    KeyPathSpend,
    ScriptPathSpend,
    Spend,
    fee_for,
    sign_transaction,
    with_placeholders,
)
from devnet.tx.keys import KeyPair, derive_key
from devnet.tx.taproot import TapLeaf, TaprootOutput

DEFAULT_POSTAGE = 10_000  # ord's default postage
SEQUENCE_RBF = 0xFFFFFFFD


@dataclass(frozen=True, slots=True)
class Coin:
    outpoint: OutPoint
    output: TxOut
    height: int | None  # None: created by a transaction built but not mined yet
    coinbase: bool = False

    @property
    def value(self) -> int:
        return self.output.value


@dataclass(frozen=True, slots=True)
class CommitReveal:
    """An inscription pair. Mine ``commit`` before (or in the same block as) ``reveal``."""

    commit: Transaction
    reveal: Transaction
    envelopes: tuple[Envelope, ...]
    commit_output: TaprootOutput
    reveal_key: KeyPair
    reveal_fee: int

    @property
    def transactions(self) -> tuple[Transaction, Transaction]:
        return (self.commit, self.reveal)

    @property
    def inscription_ids(self) -> tuple[str, ...]:
        return tuple(f"{self.reveal.txid_hex}i{i}" for i in range(len(self.envelopes)))

    @property
    def fee(self) -> int:
        """Fee of the reveal (the commit's fee is part of the wallet's accounting)."""
        return self.reveal_fee


@dataclass(slots=True)
class _Built:
    reserved: list[OutPoint] = field(default_factory=list)
    created: list[OutPoint] = field(default_factory=list)


class Wallet:
    """Keys derived from ``seed`` under ``name``; receives on one BIP86-style P2TR script."""

    def __init__(self, seed: bytes, *, name: str = "wallet") -> None:
        self.seed = seed
        self.name = name
        self.key = derive_key(seed, f"{name}/main")
        self.output = TaprootOutput(self.key.xonly)
        self.script_pubkey = self.output.script_pubkey
        self._spends: dict[bytes, Spend] = {self.script_pubkey: KeyPathSpend(self.key)}
        self._coins: dict[OutPoint, Coin] = {}
        self._unconfirmed: dict[OutPoint, Coin] = {}
        self._reserved: set[OutPoint] = set()
        self._built: dict[bytes, _Built] = {}
        self._undo: dict[bytes, list[Coin]] = {}
        self._next_key = 0

    # -- keys ---------------------------------------------------------------------------------
    def new_key(self) -> KeyPair:
        """A fresh deterministic key (``<name>/k/<n>``)."""
        key = derive_key(self.seed, f"{self.name}/k/{self._next_key}")
        self._next_key += 1
        return key

    def new_address(self) -> bytes:
        """A fresh key-path-only P2TR scriptPubKey this wallet watches and can spend."""
        key = self.new_key()
        out = TaprootOutput(key.xonly)
        self.watch(out.script_pubkey, KeyPathSpend(key))
        return out.script_pubkey

    def watch(self, script_pubkey: bytes, spend: Spend) -> None:
        """Track outputs paying ``script_pubkey`` and spend them with ``spend``."""
        self._spends[script_pubkey] = spend

    def is_mine(self, script_pubkey: bytes) -> bool:
        return script_pubkey in self._spends

    # -- coins --------------------------------------------------------------------------------
    def coins(self, *, include_unconfirmed: bool = False) -> list[Coin]:
        out = sorted(self._coins.values(), key=_coin_order)
        if include_unconfirmed:
            out += sorted(self._unconfirmed.values(), key=_coin_order)
        return out

    def balance(self, *, height: int | None = None) -> int:
        """Confirmed value; with ``height``, only coins spendable in a block at that height."""
        return sum(c.value for c in self._coins.values() if height is None or _mature(c, height))

    def spendable(
        self,
        next_height: int,
        *,
        include_unconfirmed: bool = True,
        max_coin_height: int | None = None,
    ) -> list[Coin]:
        """Unreserved coins usable in a block at ``next_height``: confirmed, mature ones first
        (oldest first), then unconfirmed change in creation order."""
        out = [
            c
            for c in sorted(self._coins.values(), key=_coin_order)
            if c.outpoint not in self._reserved
            and _mature(c, next_height)
            and (max_coin_height is None or (c.height is not None and c.height <= max_coin_height))
        ]
        if include_unconfirmed:
            out += [c for c in self._unconfirmed.values() if c.outpoint not in self._reserved]
        return out

    # -- building -----------------------------------------------------------------------------
    def fund(
        self,
        outputs: Sequence[TxOut],
        *,
        next_height: int,
        fee_rate: float = 1.0,
        change_script: bytes | None = None,
        include_unconfirmed: bool = True,
        max_coin_height: int | None = None,
        locktime: int = 0,
    ) -> Transaction:
        """A signed transaction paying ``outputs`` from this wallet's coins, change last.

        ``next_height`` is the height of the block the transaction is meant for (coinbase
        maturity is checked against it). Change below the P2TR dust limit goes to the fee.
        """
        if not outputs:
            raise BadArgumentError("fund() needs at least one output")
        target = sum(o.value for o in outputs)
        if any(o.value < 0 for o in outputs):
            raise BadArgumentError("output values must be ≥ 0")
        change_spk = change_script if change_script is not None else self.script_pubkey
        candidates = self.spendable(
            next_height, include_unconfirmed=include_unconfirmed, max_coin_height=max_coin_height
        )
        chosen: list[Coin] = []
        total = 0
        for coin in candidates:
            chosen.append(coin)
            total += coin.value
            tx, spends, spent = self._draft(chosen, outputs, change_spk, 0, locktime)
            fee = fee_for(with_placeholders(tx, spends).vsize, fee_rate)
            if total - target - fee >= DUST_P2TR:
                tx, spends, spent = self._draft(
                    chosen, outputs, change_spk, total - target - fee, locktime
                )
                break
            # Without change the excess goes to the fee.
            tx, spends, spent = self._draft(chosen, outputs, change_spk, None, locktime)
            if total >= target + fee_for(with_placeholders(tx, spends).vsize, fee_rate):
                break
        else:
            raise InsufficientFundsError(
                f"wallet {self.name!r}: need {target} sats plus fee for a block at height "
                f"{next_height}, have {total} spendable in {len(candidates)} coins"
            )
        signed = sign_transaction(tx, spent, spends)
        self._track_built(signed, [c.outpoint for c in chosen])
        return signed

    def send(
        self, script_pubkey: bytes, value: int, *, next_height: int, fee_rate: float = 1.0
    ) -> Transaction:
        return self.fund([TxOut(value, script_pubkey)], next_height=next_height, fee_rate=fee_rate)

    def split(
        self, count: int, value: int, *, next_height: int, fee_rate: float = 1.0
    ) -> Transaction:
        """One transaction creating ``count`` coins of ``value`` to this wallet (to fund many
        parallel transactions in a later block)."""
        if count < 1:
            raise BadArgumentError(f"split count must be ≥ 1, got {count}")
        return self.fund(
            [TxOut(value, self.script_pubkey)] * count, next_height=next_height, fee_rate=fee_rate
        )

    def select_coin(self, min_value: int, *, next_height: int) -> Coin:
        """Reserve one spendable coin worth at least ``min_value`` (oldest first), e.g. to be
        the first input of a reveal whose envelope must name that input's outpoint. Give it to
        :meth:`inscribe` as ``lead_input`` or free it with :meth:`release`."""
        for coin in self.spendable(next_height):
            if coin.value >= min_value:
                self._reserved.add(coin.outpoint)
                return coin
        raise InsufficientFundsError(
            f"wallet {self.name!r}: no single coin of at least {min_value} sats spendable at "
            f"height {next_height}"
        )

    def release(self, coin: Coin) -> None:
        self._reserved.discard(coin.outpoint)

    def inscribe(
        self,
        envelopes: Sequence[Envelope],
        *,
        next_height: int,
        fee_rate: float = 1.0,
        postage: int = DEFAULT_POSTAGE,
        destination: bytes | Sequence[bytes] | None = None,
        layout: Literal["separate", "shared"] = "separate",
        extra_outputs: Sequence[TxOut] = (),
        lead_input: Coin | None = None,
        change_script: bytes | None = None,
    ) -> CommitReveal:
        """Commit/reveal pair inscribing every envelope in one reveal input.

        ``layout="separate"`` gives each inscription its own ``postage`` output (envelopes
        after the first get ord's pointer to the start of their output unless they set one);
        ``"shared"`` puts all of them on one output. ``destination`` is one scriptPubKey for
        all outputs or one per output (default: this wallet). ``extra_outputs`` follow the
        inscription outputs in the reveal (e.g. a vault deposit).

        ``lead_input`` (a coin of this wallet, see :meth:`select_coin`) becomes the reveal's
        *first* input, ahead of the commit output: its outpoint is known before the commit
        exists, so an envelope can name "the carrying transaction's first input" (Drey
        ``stake``/``plan``). It pays the extra outputs; what is left returns as change
        (``change_script``, default this wallet) unless below dust. The envelopes then sit in
        input 1 (ord: not the first input; a curse before the jubilee height, nothing after).
        """
        if not envelopes:
            raise BadArgumentError("inscribe() needs at least one envelope")
        if postage < DUST_P2TR:
            raise BadArgumentError(f"postage {postage} is below the P2TR dust limit {DUST_P2TR}")
        n_out = len(envelopes) if layout == "separate" else 1
        if destination is None:
            dests = [self.script_pubkey] * n_out
        elif isinstance(destination, bytes):
            dests = [destination] * n_out
        else:
            dests = list(destination)
            if len(dests) != n_out:
                raise BadArgumentError(
                    f"need {n_out} destinations for layout {layout!r}, got {len(dests)}"
                )
        envs = list(envelopes)
        if layout == "separate":
            envs = [
                e if i == 0 or e.pointer is not None else replace(e, pointer=i * postage)
                for i, e in enumerate(envs)
            ]
        lead_spend: Spend | None = None
        if lead_input is not None:
            lead_spend = self._spends.get(lead_input.output.script_pubkey)
            if lead_spend is None:
                raise TxBuildError(f"lead input {lead_input.outpoint} is not this wallet's")
        key = self.new_key()
        script = reveal_script(key.xonly, envs)
        commit_out = TaprootOutput(key.xonly, (TapLeaf(script),))
        spend = ScriptPathSpend(commit_out, 0, (key,))
        outputs = [TxOut(postage, d) for d in dests] + list(extra_outputs)
        lead_value = lead_input.value if lead_input is not None else 0
        leftover = lead_value - sum(o.value for o in extra_outputs)
        if lead_input is not None and leftover >= DUST_P2TR:
            outputs.append(TxOut(leftover, change_script or self.script_pubkey))
        dummy = TxIn(OutPoint(bytes(32), 0), b"", SEQUENCE_RBF)
        inputs = (dummy, dummy) if lead_input is not None else (dummy,)
        spends: list[Spend | None] = [lead_spend, spend] if lead_input is not None else [spend]
        placeholder = Transaction(2, inputs, tuple(outputs), 0)
        reveal_fee = fee_for(with_placeholders(placeholder, spends).vsize, fee_rate)
        commit_value = sum(o.value for o in outputs) - lead_value + reveal_fee
        self.watch(commit_out.script_pubkey, spend)
        commit = self.fund(
            [TxOut(commit_value, commit_out.script_pubkey)],
            next_height=next_height,
            fee_rate=fee_rate,
        )
        commit_txout = commit.outputs[0]
        commit_in = TxIn(OutPoint(commit.txid, 0), b"", SEQUENCE_RBF)
        if lead_input is not None:
            lead_in = TxIn(lead_input.outpoint, b"", SEQUENCE_RBF)
            unsigned = replace(placeholder, inputs=(lead_in, commit_in))
            reveal = sign_transaction(unsigned, [lead_input.output, commit_txout], spends)
            reserved = [lead_input.outpoint, commit_in.prevout]
        else:
            unsigned = replace(placeholder, inputs=(commit_in,))
            reveal = sign_transaction(unsigned, [commit_txout], spends)
            reserved = [commit_in.prevout]
        if reveal.weight > 400_000:
            self.abandon(commit.txid)
            raise TxBuildError(
                f"reveal transaction weighs {reveal.weight} WU, above Core's standard limit "
                "400000 (consensus allows it; split the envelopes to stay relayable)"
            )
        self._track_built(reveal, reserved)
        return CommitReveal(commit, reveal, tuple(envs), commit_out, key, reveal_fee)

    def sign(self, tx: Transaction, spent_outputs: Sequence[TxOut]) -> Transaction:
        """Sign every input that spends a script this wallet knows; leave the others."""
        spends = [self._spends.get(o.script_pubkey) for o in spent_outputs]
        return sign_transaction(tx, spent_outputs, spends)

    def abandon(self, txid: bytes) -> None:
        """Forget a built transaction that will not be mined: release its inputs and drop its
        unconfirmed outputs."""
        built = self._built.pop(txid, None)
        if built is None:
            return
        self._reserved.difference_update(built.reserved)
        for op in built.created:
            self._unconfirmed.pop(op, None)

    def abandon_all(self) -> None:
        for txid in list(self._built):
            self.abandon(txid)

    # -- chain events -------------------------------------------------------------------------
    def apply_block(self, block: Block, block_hash: bytes, height: int) -> None:
        undo: list[Coin] = []
        for tx in block.transactions:
            txid = tx.txid
            if not tx.is_coinbase:
                for txin in tx.inputs:
                    op = txin.prevout
                    coin = self._coins.pop(op, None)
                    if coin is not None:
                        undo.append(coin)
                    self._unconfirmed.pop(op, None)
                    self._reserved.discard(op)
            for vout, out in enumerate(tx.outputs):
                if out.script_pubkey in self._spends:
                    op = OutPoint(txid, vout)
                    self._coins[op] = Coin(op, out, height, tx.is_coinbase)
                    self._unconfirmed.pop(op, None)
            self._built.pop(txid, None)
        self._undo[block_hash] = undo

    def undo_block(self, block: Block, block_hash: bytes) -> None:
        for tx in block.transactions:
            txid = tx.txid
            for vout in range(len(tx.outputs)):
                self._coins.pop(OutPoint(txid, vout), None)
        for coin in self._undo.pop(block_hash, []):
            self._coins[coin.outpoint] = coin

    # -- internals ----------------------------------------------------------------------------
    def _draft(
        self,
        coins: Sequence[Coin],
        outputs: Sequence[TxOut],
        change_spk: bytes,
        change: int | None,
        locktime: int,
    ) -> tuple[Transaction, list[Spend | None], list[TxOut]]:
        outs = list(outputs)
        if change is not None:
            outs.append(TxOut(change, change_spk))
        tx = Transaction(
            2, tuple(TxIn(c.outpoint, b"", SEQUENCE_RBF) for c in coins), tuple(outs), locktime
        )
        spends: list[Spend | None] = []
        for c in coins:
            spend = self._spends.get(c.output.script_pubkey)
            if spend is None:
                raise TxBuildError(f"coin {c.outpoint} pays a script this wallet cannot sign")
            spends.append(spend)
        return tx, spends, [c.output for c in coins]

    def _track_built(self, tx: Transaction, reserved: Iterable[OutPoint]) -> None:
        built = _Built(reserved=list(reserved))
        self._reserved.update(built.reserved)
        txid = tx.txid
        for vout, out in enumerate(tx.outputs):
            if out.script_pubkey in self._spends:
                op = OutPoint(txid, vout)
                self._unconfirmed[op] = Coin(op, out, None)
                built.created.append(op)
        self._built[txid] = built


def _coin_order(c: Coin) -> tuple[int, bytes, int]:
    return (c.height if c.height is not None else 1 << 31, c.outpoint.txid, c.outpoint.vout)


def _mature(coin: Coin, next_height: int) -> bool:
    if coin.height is None:
        return False
    if coin.coinbase:
        return next_height - coin.height >= COINBASE_MATURITY
    return coin.height < next_height
