"""Builders for hand-made envelopes and transactions used across indexer tests."""

from __future__ import annotations

from btc.block import Block, BlockHeader, merkle_root
from btc.hashes import sha256d
from btc.script import OP_0, OP_CHECKSIG, OP_ENDIF, OP_IF, encode_push
from btc.transaction import OutPoint, Transaction, TxIn, TxOut


def script(*items: int | bytes) -> bytes:
    """Opcodes as ints, pushes as bytes (minimal push encoding; b"" is OP_0)."""
    out = bytearray()
    for item in items:
        if isinstance(item, int):
            out.append(item)
        elif item == b"":
            out.append(OP_0)
        else:
            out += encode_push(item)
    return bytes(out)


def envelope(*pushes: int | bytes) -> bytes:
    return script(OP_0, OP_IF, b"ord", *pushes, OP_ENDIF)


def reveal_script(*envelopes: bytes) -> bytes:
    return script(b"\x02" * 32, OP_CHECKSIG) + b"".join(envelopes)


def witness_for(tapscript: bytes) -> tuple[bytes, ...]:
    """A script-path witness: signature, tapscript, control block."""
    return (b"\x01" * 64, tapscript, b"\xc0" + b"\x03" * 32)


def tx_with_witnesses(*witnesses: tuple[bytes, ...]) -> Transaction:
    inputs = tuple(
        TxIn(OutPoint(bytes([i + 1]) * 32, i), b"", 0xFFFFFFFD, witness)
        for i, witness in enumerate(witnesses)
    )
    return Transaction(2, inputs, (TxOut(546, b"\x51\x20" + b"\x07" * 32),), 0)


def block_with_commitments(
    txs: list[Transaction] | tuple[Transaction, ...],
    *,
    prev: bytes = bytes(32),
    pay_to: bytes = b"\x51\x20" + b"\xbb" * 32,
    time: int = 1_700_000_000,
) -> Block:
    """A block as a miner builds it: a coinbase (with the BIP141 witness commitment when any
    transaction has a witness), then ``txs``, under a header with their merkle root. Written
    from BIP141 independently of ``btc.commitments``, which it tests."""
    reserved = bytes(32)
    outputs = [TxOut(50, pay_to)]
    witnessed = any(tx.has_witness for tx in txs)
    if witnessed:
        wtxids = [bytes(32)] + [tx.wtxid for tx in txs]
        commitment = sha256d(merkle_root(wtxids) + reserved)
        outputs.append(TxOut(0, bytes.fromhex("6a24aa21a9ed") + commitment))
    coinbase = Transaction(
        2,
        (
            TxIn(
                OutPoint(bytes(32), 0xFFFFFFFF),
                b"\x01\x07",
                0xFFFFFFFF,
                (reserved,) if witnessed else (),
            ),
        ),
        tuple(outputs),
    )
    all_txs = (coinbase, *txs)
    header = BlockHeader(4, prev, merkle_root([t.txid for t in all_txs]), time, 0x207FFFFF, 0)
    return Block(header, all_txs)
