"""Transactions: immutable data with exact Bitcoin Core (de)serialization.

Deserialization follows Core's ``UnserializeTransaction``: the segwit marker is an empty input
vector followed by a flags byte; flag bit 0 means witnesses follow; a witness flag with every
witness empty ("superfluous witness record") and unknown flag bits are errors. CompactSizes must be
minimal. On valid input ``Transaction.deserialize(tx.serialize()) == tx`` and
``Transaction.deserialize(b).serialize() == b``.
"""

from __future__ import annotations

from dataclasses import dataclass
from struct import pack, unpack_from

from btc.compact_size import encode_compact_size, read_compact_size
from btc.errors import MalformedTransactionError, TrailingBytesError, TruncatedError
from btc.hashes import hash_to_hex, sha256d

NULL_TXID = bytes(32)
WITNESS_SCALE_FACTOR = 4


@dataclass(frozen=True, slots=True)
class OutPoint:
    """A reference to a transaction output: txid in internal byte order and output index."""

    txid: bytes
    vout: int

    @property
    def is_null(self) -> bool:
        """True for the coinbase's null prevout."""
        return self.txid == NULL_TXID and self.vout == 0xFFFFFFFF

    def serialize(self) -> bytes:
        return self.txid + pack("<I", self.vout)

    @classmethod
    def deserialize(cls, data: bytes) -> OutPoint:
        if len(data) != 36:
            raise TruncatedError(f"outpoint must be 36 bytes, got {len(data)}", offset=0)
        return cls(bytes(data[:32]), unpack_from("<I", data, 32)[0])

    def __str__(self) -> str:
        return f"{hash_to_hex(self.txid)}:{self.vout}"


@dataclass(frozen=True, slots=True)
class TxIn:
    prevout: OutPoint
    script_sig: bytes = b""
    sequence: int = 0xFFFFFFFF
    witness: tuple[bytes, ...] = ()


@dataclass(frozen=True, slots=True)
class TxOut:
    value: int
    script_pubkey: bytes

    def serialize(self) -> bytes:
        return (
            pack("<q", self.value)
            + encode_compact_size(len(self.script_pubkey))
            + self.script_pubkey
        )


@dataclass(frozen=True, slots=True)
class Transaction:
    version: int
    inputs: tuple[TxIn, ...]
    outputs: tuple[TxOut, ...]
    locktime: int = 0

    # -- identity ---------------------------------------------------------------------------
    @property
    def has_witness(self) -> bool:
        return any(txin.witness for txin in self.inputs)

    @property
    def is_coinbase(self) -> bool:
        return len(self.inputs) == 1 and self.inputs[0].prevout.is_null

    @property
    def txid(self) -> bytes:
        """Double SHA-256 of the serialization without witnesses, internal byte order."""
        return sha256d(self.serialize(include_witness=False))

    @property
    def wtxid(self) -> bytes:
        return sha256d(self.serialize())

    @property
    def txid_hex(self) -> str:
        return hash_to_hex(self.txid)

    @property
    def size(self) -> int:
        return len(self.serialize())

    @property
    def weight(self) -> int:
        base = len(self.serialize(include_witness=False))
        return base * (WITNESS_SCALE_FACTOR - 1) + self.size

    @property
    def vsize(self) -> int:
        return (self.weight + WITNESS_SCALE_FACTOR - 1) // WITNESS_SCALE_FACTOR

    # -- serialization ----------------------------------------------------------------------
    def serialize(self, *, include_witness: bool = True) -> bytes:
        witness = include_witness and self.has_witness
        parts: list[bytes] = [pack("<i", self.version)]
        if witness:
            parts.append(b"\x00\x01")
        parts.append(encode_compact_size(len(self.inputs)))
        for txin in self.inputs:
            parts.append(txin.prevout.serialize())
            parts.append(encode_compact_size(len(txin.script_sig)))
            parts.append(txin.script_sig)
            parts.append(pack("<I", txin.sequence))
        parts.append(encode_compact_size(len(self.outputs)))
        parts.extend(txout.serialize() for txout in self.outputs)
        if witness:
            for txin in self.inputs:
                parts.append(encode_compact_size(len(txin.witness)))
                for item in txin.witness:
                    parts.append(encode_compact_size(len(item)))
                    parts.append(item)
        parts.append(pack("<I", self.locktime))
        return b"".join(parts)

    @classmethod
    def deserialize(cls, data: bytes | memoryview) -> Transaction:
        """Decode exactly one transaction; trailing bytes are an error."""
        tx, end = cls.parse(data, 0)
        if end != len(data):
            raise TrailingBytesError(f"{len(data) - end} bytes after the transaction", offset=end)
        return tx

    @classmethod
    def parse(cls, buf: bytes | memoryview, pos: int) -> tuple[Transaction, int]:
        """Decode one transaction starting at ``pos``; return it and the position after it."""
        buf = bytes(buf) if isinstance(buf, memoryview) else buf
        start = pos
        _need(buf, pos, 4, "version")
        (version,) = unpack_from("<i", buf, pos)
        pos += 4
        inputs, pos = _read_inputs(buf, pos)
        flags = 0
        if not inputs:
            _need(buf, pos, 1, "segwit flags")
            flags = buf[pos]
            pos += 1
            if flags != 0:
                inputs, pos = _read_inputs(buf, pos)
                outputs, pos = _read_outputs(buf, pos)
            else:
                outputs = []
        else:
            outputs, pos = _read_outputs(buf, pos)
        if flags & 1:
            flags ^= 1
            witnessed: list[TxIn] = []
            any_witness = False
            for txin in inputs:
                count, pos = read_compact_size(buf, pos)
                items = []
                for _ in range(count):
                    n, pos = read_compact_size(buf, pos)
                    _need(buf, pos, n, "witness item")
                    items.append(buf[pos : pos + n])
                    pos += n
                any_witness = any_witness or count > 0
                witnessed.append(TxIn(txin.prevout, txin.script_sig, txin.sequence, tuple(items)))
            if not any_witness:
                raise MalformedTransactionError("superfluous witness record", offset=start)
            inputs = witnessed
        if flags:
            raise MalformedTransactionError(
                f"unknown transaction optional data (flags {flags:#x})", offset=start + 4
            )
        _need(buf, pos, 4, "locktime")
        (locktime,) = unpack_from("<I", buf, pos)
        return cls(version, tuple(inputs), tuple(outputs), locktime), pos + 4


def _need(buf: bytes, pos: int, n: int, what: str) -> None:
    if pos + n > len(buf):
        raise TruncatedError(
            f"truncated {what}: need {n} bytes, {max(len(buf) - pos, 0)} left", offset=pos
        )


def _read_inputs(buf: bytes, pos: int) -> tuple[list[TxIn], int]:
    count, pos = read_compact_size(buf, pos)
    inputs = []
    for _ in range(count):
        _need(buf, pos, 36, "outpoint")
        prevout = OutPoint(buf[pos : pos + 32], unpack_from("<I", buf, pos + 32)[0])
        pos += 36
        n, pos = read_compact_size(buf, pos)
        _need(buf, pos, n + 4, "scriptSig and sequence")
        script_sig = buf[pos : pos + n]
        pos += n
        (sequence,) = unpack_from("<I", buf, pos)
        pos += 4
        inputs.append(TxIn(prevout, script_sig, sequence))
    return inputs, pos


def _read_outputs(buf: bytes, pos: int) -> tuple[list[TxOut], int]:
    count, pos = read_compact_size(buf, pos)
    outputs = []
    for _ in range(count):
        _need(buf, pos, 8, "output value")
        (value,) = unpack_from("<q", buf, pos)
        pos += 8
        n, pos = read_compact_size(buf, pos)
        _need(buf, pos, n, "scriptPubKey")
        outputs.append(TxOut(value, buf[pos : pos + n]))
        pos += n
    return outputs, pos
