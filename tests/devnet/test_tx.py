"""Taproot signing and envelopes, checked against Core's own script interpreter (the kernel)."""

from __future__ import annotations

import pbk
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from btc import OutPoint, Transaction, TxIn, TxOut
from btc.script import OP_CHECKSIG, OP_CHECKSIGADD, encode_script
from devnet.errors import BadArgumentError
from devnet.node.encoding import descriptor_checksum, encode_base58check, encode_segwit_address
from devnet.tx.build import (
    KeyPathSpend,
    ScriptPathSpend,
    block_subsidy,
    coinbase_transaction,
    script_num,
    sign_transaction,
)
from devnet.tx.keys import derive_key, verify_schnorr
from devnet.tx.taproot import (
    SIGHASH_ALL,
    SIGHASH_ANYONECANPAY,
    SIGHASH_DEFAULT,
    SIGHASH_NONE,
    SIGHASH_SINGLE,
    TapLeaf,
    TaprootOutput,
    taproot_sighash,
)

OP_NUMEQUAL = 0x9C
FLAGS = pbk.ScriptVerificationFlags.ALL


def kernel_verify(tx: Transaction, spent: list[TxOut]) -> list[bool]:
    """Core's ``VerifyScript`` for every input (via libbitcoinkernel)."""
    ktx = pbk.Transaction(tx.serialize())
    outs = [pbk.TransactionOutput(pbk.ScriptPubkey(o.script_pubkey), o.value) for o in spent]
    pre = pbk.script.PrecomputedTransactionData(ktx, outs)
    results = []
    for i, o in enumerate(spent):
        try:
            results.append(
                bool(pbk.ScriptPubkey(o.script_pubkey).verify(o.value, ktx, pre, i, FLAGS))
            )
        except pbk.ScriptVerifyException:
            results.append(False)
    return results


def test_schnorr_is_deterministic_and_verifies() -> None:
    k1 = derive_key(b"seed", "a")
    assert derive_key(b"seed", "a") == k1
    assert derive_key(b"seed", "b").secret != k1.secret
    msg = bytes(range(32))
    sig = k1.sign(msg)
    assert sig == k1.sign(msg)
    assert verify_schnorr(k1.xonly, msg, sig)
    assert not verify_schnorr(k1.xonly, bytes(32), sig)


HASH_TYPES = [
    SIGHASH_DEFAULT,
    SIGHASH_ALL,
    SIGHASH_NONE,
    SIGHASH_SINGLE,
    SIGHASH_ALL | SIGHASH_ANYONECANPAY,
    SIGHASH_NONE | SIGHASH_ANYONECANPAY,
    SIGHASH_SINGLE | SIGHASH_ANYONECANPAY,
]


@settings(max_examples=40, deadline=None)
@given(
    hash_types=st.lists(st.sampled_from(HASH_TYPES), min_size=1, max_size=4),
    amounts=st.lists(st.integers(1, 21_000_000 * 10**8), min_size=4, max_size=4),
    locktime=st.integers(0, 0xFFFFFFFF),
    version=st.integers(1, 3),
)
def test_key_path_sighash_matches_core(
    hash_types: list[int], amounts: list[int], locktime: int, version: int
) -> None:
    keys = [derive_key(b"kp", str(i)) for i in range(len(hash_types))]
    outputs = [TaprootOutput(k.xonly) for k in keys]
    spent = [TxOut(amounts[i], outputs[i].script_pubkey) for i in range(len(keys))]
    tx = Transaction(
        version,
        tuple(
            TxIn(OutPoint(bytes([i + 1]) * 32, i), b"", 0xFFFFFFFD - i) for i in range(len(keys))
        ),
        tuple(TxOut(1000 + i, b"\x51\x20" + bytes([i]) * 32) for i in range(len(keys))),
        locktime,
    )
    spends = [KeyPathSpend(k, None, ht) for k, ht in zip(keys, hash_types, strict=True)]
    signed = sign_transaction(tx, spent, spends)
    assert all(kernel_verify(signed, spent))
    # Changing an amount the signatures commit to breaks every non-ANYONECANPAY input, and the
    # ANYONECANPAY input whose own amount changed.
    wrong = [TxOut(spent[0].value + 1, spent[0].script_pubkey), *spent[1:]]
    verdict = kernel_verify(signed, wrong)
    for i, ht in enumerate(hash_types):
        expect_ok = bool(ht & SIGHASH_ANYONECANPAY) and i != 0
        assert verdict[i] is expect_ok


def test_script_path_single_and_multisig_leaves_verify_in_core() -> None:
    internal = derive_key(b"sp", "internal")
    a, b, c = (derive_key(b"sp", n) for n in "abc")
    leaf_single = TapLeaf(encode_script(a.xonly, OP_CHECKSIG))
    leaf_multi = TapLeaf(
        encode_script(b.xonly, OP_CHECKSIG, c.xonly, OP_CHECKSIGADD, 0x52, OP_NUMEQUAL)
    )
    leaf_other = TapLeaf(encode_script(c.xonly, OP_CHECKSIG))
    out = TaprootOutput(internal.xonly, (leaf_single, leaf_multi, leaf_other))
    spent = [TxOut(50_000, out.script_pubkey)] * 4
    tx = Transaction(
        2,
        tuple(TxIn(OutPoint(bytes([9]) * 32, i)) for i in range(4)),
        tuple(TxOut(10_000 + i, out.script_pubkey) for i in range(3)),
        0,
    )
    spends = [
        ScriptPathSpend(out, 0, (a,)),
        ScriptPathSpend(out, 1, (b, c)),
        ScriptPathSpend(out, 2, (c,), hash_type=SIGHASH_SINGLE | SIGHASH_ANYONECANPAY),
        KeyPathSpend(internal, out.merkle_root),
    ]
    signed = sign_transaction(tx, spent, spends)
    assert kernel_verify(signed, spent) == [True, True, True, True]
    # A signature by the wrong key fails in Core.
    bad = sign_transaction(tx, spent, [ScriptPathSpend(out, 0, (b,)), None, None, None])
    assert kernel_verify(bad, spent)[0] is False


def test_sighash_rejects_bad_arguments() -> None:
    tx = Transaction(2, (TxIn(OutPoint(bytes(32), 0)),), (), 0)
    with pytest.raises(BadArgumentError, match="invalid taproot hash type"):
        taproot_sighash(tx, 0, [TxOut(1, b"")], hash_type=0x04)
    with pytest.raises(BadArgumentError, match="one spent output per input"):
        taproot_sighash(tx, 0, [])
    with pytest.raises(BadArgumentError, match="SIGHASH_SINGLE input 0 has no matching output"):
        taproot_sighash(tx, 0, [TxOut(1, b"")], hash_type=SIGHASH_SINGLE)


def test_coinbase_and_subsidy() -> None:
    assert [block_subsidy(h) for h in (1, 149, 150, 299, 300)] == [
        50 * 10**8,
        50 * 10**8,
        25 * 10**8,
        25 * 10**8,
        1_250_000_000,
    ]
    assert block_subsidy(150 * 64) == 0
    assert script_num(1) == b"\x51" and script_num(17) == b"\x01\x11"
    assert script_num(128) == b"\x02\x80\x00" and script_num(-1) == b"\x4f"
    cb = coinbase_transaction(101, 5, b"\x51", witness_commitment=b"\x6a")
    assert cb.is_coinbase and cb.locktime == 100 and cb.inputs[0].sequence == 0xFFFFFFFE
    assert cb.inputs[0].script_sig == b"\x01\x65\x00" and cb.inputs[0].witness == (bytes(32),)


def test_encodings_match_published_vectors() -> None:
    # BIP380, BIP173, BIP350.
    assert descriptor_checksum("raw(deadbeef)") == "89f8spxm"
    prog = bytes.fromhex("751e76e8199196d454941c45d1b3a323f1433bd6")
    assert encode_segwit_address("bc", 0, prog) == "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
    assert (
        encode_segwit_address("bc", 1, prog + prog)
        == "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y"
    )
    # The well-known mainnet P2PKH of hash160 0.
    assert encode_base58check(bytes(21)) == "1111111111111111111114oLvT2"
