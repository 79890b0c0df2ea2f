"""Transaction building blocks: coinbases, witness commitments, P2TR signing, fees.

Spends are described, not signed by hand: :class:`KeyPathSpend` and :class:`ScriptPathSpend`
name the key(s) and the tree; :func:`sign_transaction` computes every BIP341 sighash and fills
the witnesses. Fees are exact because BIP340 signatures have a fixed size: a transaction is
sized with placeholder signatures of the right length, then signed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from math import ceil

from btc import OutPoint, Transaction, TxIn, TxOut
from btc.hashes import sha256d
from devnet.errors import BadArgumentError, TxBuildError
from devnet.tx.keys import KeyPair
from devnet.tx.taproot import (
    SIGHASH_DEFAULT,
    TaprootOutput,
    key_path_keypair,
    schnorr_signature,
    taproot_sighash,
)

COIN = 100_000_000
REGTEST_HALVING_INTERVAL = 150
COINBASE_MATURITY = 100
WITNESS_COMMITMENT_HEADER = bytes.fromhex("aa21a9ed")
MAX_SEQUENCE_NONFINAL = 0xFFFFFFFE
DUST_P2TR = 330  # Core's dust threshold for a P2TR output at the default 3 sat/vB dust relay fee


def block_subsidy(height: int, *, halving_interval: int = REGTEST_HALVING_INTERVAL) -> int:
    """Core's ``GetBlockSubsidy`` (regtest halves every 150 blocks)."""
    halvings = height // halving_interval
    return 0 if halvings >= 64 else (50 * COIN) >> halvings


def script_num(n: int) -> bytes:
    """``CScript() << n``: OP_0, OP_1..OP_16, OP_1NEGATE, or a minimal CScriptNum push."""
    if n == 0:
        return b"\x00"
    if n == -1:
        return b"\x4f"
    if 1 <= n <= 16:
        return bytes((0x50 + n,))
    neg = n < 0
    v = abs(n)
    out = bytearray()
    while v:
        out.append(v & 0xFF)
        v >>= 8
    if out[-1] & 0x80:
        out.append(0x80 if neg else 0)
    elif neg:
        out[-1] |= 0x80
    return bytes((len(out),)) + bytes(out)


def witness_commitment_script(witness_root: bytes, reserved: bytes = bytes(32)) -> bytes:
    """BIP141 commitment output script: OP_RETURN ‖ push36(aa21a9ed ‖ SHA256d(root ‖ nonce))."""
    return b"\x6a\x24" + WITNESS_COMMITMENT_HEADER + sha256d(witness_root + reserved)


def coinbase_transaction(
    height: int,
    value: int,
    script_pubkey: bytes,
    *,
    extranonce: int = 0,
    witness_commitment: bytes | None = None,
    extra_outputs: Sequence[TxOut] = (),
) -> Transaction:
    """A coinbase as Core 30's miner writes it: scriptSig ``<height> <extranonce>`` (BIP34),
    nSequence 0xfffffffe and nLockTime height − 1, the payout first, the witness commitment last
    with a 32-zero-byte reserved value in the coinbase witness."""
    if height < 1:
        raise BadArgumentError(f"coinbase height must be ≥ 1, got {height}")
    script_sig = script_num(height) + script_num(extranonce)
    if len(script_sig) > 100:
        raise BadArgumentError("coinbase scriptSig exceeds 100 bytes")
    outputs = [TxOut(value, script_pubkey), *extra_outputs]
    witness: tuple[bytes, ...] = ()
    if witness_commitment is not None:
        outputs.append(TxOut(0, witness_commitment))
        witness = (bytes(32),)
    txin = TxIn(OutPoint(bytes(32), 0xFFFFFFFF), script_sig, MAX_SEQUENCE_NONFINAL, witness)
    return Transaction(2, (txin,), tuple(outputs), height - 1)


@dataclass(frozen=True, slots=True)
class KeyPathSpend:
    """Spend a P2TR output by its key path: ``key`` is the *internal* key; ``merkle_root`` the
    script tree's root (``None`` for a key-only output)."""

    key: KeyPair
    merkle_root: bytes | None = None
    hash_type: int = SIGHASH_DEFAULT


@dataclass(frozen=True, slots=True)
class ScriptPathSpend:
    """Spend a P2TR output through leaf ``leaf_index`` of ``output``'s tree.

    ``keys`` sign in order; by default the witness stack is their signatures in *reverse* order
    (the last signature pushed is consumed first, so ``<k1> CHECKSIG <k2> CHECKSIGADD ...``
    wants ``[sig_k2, sig_k1]``), then the script and the control block. ``stack`` replaces
    that default: it receives the signatures and returns the items before the script.
    """

    output: TaprootOutput
    leaf_index: int
    keys: tuple[KeyPair, ...]
    hash_type: int = SIGHASH_DEFAULT
    stack: Callable[[list[bytes]], list[bytes]] | None = None

    def witness(self, sigs: list[bytes]) -> tuple[bytes, ...]:
        items = self.stack(sigs) if self.stack is not None else list(reversed(sigs))
        leaf = self.output.leaves[self.leaf_index]
        return (*items, leaf.script, self.output.control_block(self.leaf_index))


Spend = KeyPathSpend | ScriptPathSpend


def _sig_len(hash_type: int) -> int:
    return 64 if hash_type == SIGHASH_DEFAULT else 65


def placeholder_witness(spend: Spend) -> tuple[bytes, ...]:
    """A witness of the final size, for fee computation before signing."""
    if isinstance(spend, KeyPathSpend):
        return (bytes(_sig_len(spend.hash_type)),)
    return spend.witness([bytes(_sig_len(spend.hash_type)) for _ in spend.keys])


def sign_transaction(
    tx: Transaction,
    spent_outputs: Sequence[TxOut],
    spends: Sequence[Spend | None],
) -> Transaction:
    """Fill the witness of every input whose spend is given; ``None`` leaves an input as is.

    ``spent_outputs`` lists the output each input spends (BIP341 commits to all of them).
    """
    if len(spends) != len(tx.inputs):
        raise BadArgumentError(
            f"need one spend (or None) per input: {len(spends)} for {len(tx.inputs)}"
        )
    inputs = list(tx.inputs)
    for i, spend in enumerate(spends):
        if spend is None:
            continue
        if isinstance(spend, KeyPathSpend):
            signer = key_path_keypair(spend.key, spend.merkle_root)
            expected = b"\x51\x20" + signer.xonly
            if spent_outputs[i].script_pubkey != expected:
                raise TxBuildError(
                    f"input {i}: key path key does not match the spent scriptPubKey "
                    f"{spent_outputs[i].script_pubkey.hex()}"
                )
            msg = taproot_sighash(tx, i, spent_outputs, hash_type=spend.hash_type)
            witness: tuple[bytes, ...] = (schnorr_signature(signer, msg, spend.hash_type),)
        else:
            if spent_outputs[i].script_pubkey != spend.output.script_pubkey:
                raise TxBuildError(
                    f"input {i}: taproot tree does not match the spent scriptPubKey "
                    f"{spent_outputs[i].script_pubkey.hex()}"
                )
            leaf = spend.output.leaves[spend.leaf_index]
            msg = taproot_sighash(
                tx, i, spent_outputs, hash_type=spend.hash_type, leaf_hash=leaf.hash
            )
            sigs = [schnorr_signature(k, msg, spend.hash_type) for k in spend.keys]
            witness = spend.witness(sigs)
        inputs[i] = replace(inputs[i], witness=witness)
    return replace(tx, inputs=tuple(inputs))


def fee_for(vsize: int, fee_rate: float) -> int:
    """Fee in sats for ``vsize`` virtual bytes at ``fee_rate`` sat/vB, rounded up."""
    if fee_rate < 0:
        raise BadArgumentError(f"fee rate must be ≥ 0 sat/vB, got {fee_rate}")
    return ceil(vsize * fee_rate - 1e-9)


def with_placeholders(tx: Transaction, spends: Sequence[Spend | None]) -> Transaction:
    inputs = tuple(
        txin if spend is None else replace(txin, witness=placeholder_witness(spend))
        for txin, spend in zip(tx.inputs, spends, strict=True)
    )
    return replace(tx, inputs=inputs)
