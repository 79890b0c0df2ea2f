"""Block commitments: real blocks pass, and every way of altering a block's bytes that keeps
its header (and so its hash) is caught by the merkle root or the BIP141 witness commitment."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from btc import Block, OutPoint, Transaction, TxIn, TxOut
from btc.block_hashes import (
    block_roots,
    block_spans,
    merkle_root_mutated,
    native_sha256d,
)
from btc.commitments import verify_block
from btc.compact_size import read_compact_size
from btc.errors import BlockCommitmentError, DecodeError, MalformedBlockError
from btc.hashes import sha256d
from btc.scan import scan_block

from .blocks import block_with_commitments, envelope, reveal_script, witness_for

BLOCKS = Path(__file__).resolve().parents[3] / "shared/fixtures/mainnet/blocks"


def _reason(raw: bytes) -> str:
    """The failed check's name, the same from the native kernel and from pure Python."""
    reasons = set()
    for kernel in ("native", "python"):
        with pytest.raises(BlockCommitmentError) as info:
            verify_block(raw, kernel=kernel)
        reasons.add(info.value.reason)
    assert len(reasons) == 1, reasons
    return reasons.pop()


def _inscribing_tx(body: bytes, n: int = 1) -> Transaction:
    tapscript = reveal_script(envelope(b"\x01", b"text/plain", b"", body))
    return Transaction(
        2,
        (TxIn(OutPoint(bytes([n]) * 32, 0), b"", 0xFFFFFFFD, witness_for(tapscript)),),
        (TxOut(546, b"\x51\x20" + b"\x07" * 32),),
    )


def test_every_mainnet_fixture_block_verifies() -> None:
    paths = sorted(BLOCKS.glob("*.bin"))
    assert len(paths) == 8
    for path in paths:
        raw = path.read_bytes()
        verify_block(raw, kernel="native")
        verify_block(raw, kernel="python")
        assert scan_block(raw).tx_count > 1000


def test_one_flipped_bit_in_a_mainnet_inscription_body_is_caught() -> None:
    raw = bytearray((BLOCKS / "840003.bin").read_bytes())
    found = scan_block(bytes(raw)).inscriptions[0].inscription
    assert found.body
    at = bytes(raw).find(found.body[:40])
    assert at > 0
    raw[at + 5] ^= 0x01
    # The header, so the block hash, is unchanged; only the witness commitment notices.
    assert _reason(bytes(raw)) == "bad_witness_commitment"
    assert scan_block(bytes(raw)).hash == scan_block((BLOCKS / "840003.bin").read_bytes()).hash


def test_a_flipped_bit_in_an_output_breaks_the_merkle_root() -> None:
    good = block_with_commitments([_inscribing_tx(b"hello")])
    tx = good.transactions[1]
    changed = replace(tx, outputs=(TxOut(547, tx.outputs[0].script_pubkey),))
    raw = Block(good.header, (good.transactions[0], changed)).serialize()
    assert _reason(raw) == "bad_merkle_root"


def test_a_changed_body_in_a_hand_made_block_breaks_the_witness_commitment() -> None:
    good = block_with_commitments([_inscribing_tx(b"hello")])
    assert scan_block(good.serialize()).inscriptions[0].inscription.body == b"hello"
    forged = block_with_commitments([_inscribing_tx(b"HELLO")])
    raw = Block(good.header, (good.transactions[0], forged.transactions[1])).serialize()
    assert _reason(raw) == "bad_witness_commitment"


def test_duplicated_transactions_keeping_the_merkle_root_are_caught() -> None:
    # CVE-2012-2459: [cb, a, b] and [cb, a, b, b] have the same merkle root.
    a, b = _inscribing_tx(b"a", 1), _inscribing_tx(b"b", 2)
    good = block_with_commitments([a, b])
    mutated = Block(good.header, (*good.transactions, b))
    root, flag = merkle_root_mutated([t.txid for t in mutated.transactions])
    assert root == good.header.merkle_root and flag
    assert _reason(mutated.serialize()) == "mutated_merkle"


def test_witness_without_a_commitment_is_caught() -> None:
    plain = Transaction(
        2, (TxIn(OutPoint(b"\x05" * 32, 0), b"", 0xFFFFFFFD),), (TxOut(1, b"\x51"),)
    )
    good = block_with_commitments([plain])
    assert scan_block(good.serialize()).tx_count == 2
    # Same txids (witness is not in them), so the header still matches: a witness appears.
    witnessed = replace(plain, inputs=(replace(plain.inputs[0], witness=(b"\x01",)),))
    raw = Block(good.header, (good.transactions[0], witnessed)).serialize()
    assert _reason(raw) == "unexpected_witness"


def test_a_bad_witness_reserved_value_is_caught() -> None:
    good = block_with_commitments([_inscribing_tx(b"x")])
    cb = good.transactions[0]
    bad_cb = replace(cb, inputs=(replace(cb.inputs[0], witness=(bytes(31),)),))
    raw = Block(good.header, (bad_cb, good.transactions[1])).serialize()
    assert _reason(raw) == "bad_witness_nonce"


def test_witness_flag_with_empty_stacks_is_malformed() -> None:
    good = block_with_commitments([_inscribing_tx(b"x")])
    raw = bytearray(good.serialize())
    tx = good.transactions[1]
    # Re-serialize tx 1 with the marker and flag but an empty witness stack.
    body = tx.serialize(include_witness=False)
    with_flag = body[:4] + b"\x00\x01" + body[4:-4] + b"\x00" + body[-4:]
    start = raw.find(tx.serialize())
    raw[start:] = with_flag
    with pytest.raises(MalformedBlockError, match="witness flag but no witness items"):
        scan_block(bytes(raw))
    with pytest.raises(BlockCommitmentError):
        verify_block(bytes(raw))


def test_merkle_root_matches_the_plain_definition() -> None:
    hashes = [sha256d(bytes([i])) for i in range(7)]
    level = hashes
    while len(level) > 1:
        level = [*level, level[-1]] if len(level) % 2 else level
        level = [sha256d(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
    assert merkle_root_mutated(hashes) == (level[0], False)


@given(st.binary(max_size=300))
@settings(max_examples=300, deadline=None)
def test_native_sha256d_matches_hashlib(data: bytes) -> None:
    for shani in (False, True):
        got = native_sha256d(data, shani=shani)
        if got is not None:  # SHA-NI only where the CPU has it
            assert got == sha256d(data)


def test_native_and_python_roots_agree_on_every_fixture_block() -> None:
    for path in sorted(BLOCKS.glob("*.bin")):
        raw = path.read_bytes()
        count, _ = read_compact_size(raw, 80)
        spans = block_spans(raw, count, kernel="native")
        assert spans is not None
        assert block_spans(raw, count, kernel="python") == spans
        assert block_roots(raw, spans, kernel="native") == block_roots(raw, spans, kernel="python")


@given(st.binary(min_size=81, max_size=400), st.integers(0, 2**32 - 1))
@settings(max_examples=400, deadline=None)
def test_hostile_bytes_give_typed_errors_and_every_altered_bit_is_caught(
    data: bytes, bit: int
) -> None:
    """The native span walker reads hostile bytes: arbitrary bytes and truncations raise
    only DecodeError subclasses, and any bit flipped after the header is detected."""
    good = block_with_commitments([_inscribing_tx(data[:40])]).serialize()
    for raw in (data, good[: bit % len(good)]):
        count = int.from_bytes(raw[80:81], "little") or 1
        assert block_spans(raw, count, kernel="native") == block_spans(raw, count, kernel="python")
        with contextlib.suppress(DecodeError):
            verify_block(raw)
    at = 80 + (bit // 8) % (len(good) - 80)
    flipped = bytearray(good)
    flipped[at] ^= 1 << (bit % 8)
    with pytest.raises(DecodeError):
        verify_block(bytes(flipped))
