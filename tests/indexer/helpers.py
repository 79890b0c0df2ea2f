"""Builders for hand-made envelopes and transactions used across indexer tests."""

from __future__ import annotations

from indexer.bitcoin.script import OP_0, OP_CHECKSIG, OP_ENDIF, OP_IF, encode_push
from indexer.bitcoin.transaction import OutPoint, Transaction, TxIn, TxOut


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
