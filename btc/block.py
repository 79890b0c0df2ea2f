"""Block headers and blocks: immutable data with exact (de)serialization."""

from __future__ import annotations

from dataclasses import dataclass
from struct import pack, unpack_from

from btc.compact_size import encode_compact_size, read_compact_size
from btc.errors import TrailingBytesError, TruncatedError
from btc.hashes import hash_to_hex, sha256d
from btc.transaction import Transaction

HEADER_SIZE = 80


@dataclass(frozen=True, slots=True)
class BlockHeader:
    version: int
    prev_hash: bytes  # internal byte order
    merkle_root: bytes  # internal byte order
    time: int
    bits: int
    nonce: int

    def serialize(self) -> bytes:
        return (
            pack("<i", self.version)
            + self.prev_hash
            + self.merkle_root
            + pack("<III", self.time, self.bits, self.nonce)
        )

    @classmethod
    def deserialize(cls, data: bytes | memoryview, pos: int = 0) -> BlockHeader:
        if len(data) - pos < HEADER_SIZE:
            raise TruncatedError(f"block header needs 80 bytes, {len(data) - pos} left", offset=pos)
        (version,) = unpack_from("<i", data, pos)
        time, bits, nonce = unpack_from("<III", data, pos + 68)
        return cls(
            version,
            bytes(data[pos + 4 : pos + 36]),
            bytes(data[pos + 36 : pos + 68]),
            time,
            bits,
            nonce,
        )

    @property
    def hash(self) -> bytes:
        return sha256d(self.serialize())

    @property
    def hash_hex(self) -> str:
        return hash_to_hex(self.hash)

    @property
    def target(self) -> int:
        """The proof-of-work target that ``bits`` encodes."""
        exponent = self.bits >> 24
        mantissa = self.bits & 0x007FFFFF
        return (
            mantissa >> (8 * (3 - exponent)) if exponent <= 3 else mantissa << (8 * (exponent - 3))
        )


@dataclass(frozen=True, slots=True)
class Block:
    header: BlockHeader
    transactions: tuple[Transaction, ...]

    @property
    def hash(self) -> bytes:
        return self.header.hash

    def serialize(self) -> bytes:
        return (
            self.header.serialize()
            + encode_compact_size(len(self.transactions))
            + b"".join(tx.serialize() for tx in self.transactions)
        )

    @classmethod
    def deserialize(cls, data: bytes | memoryview) -> Block:
        data = bytes(data)
        header = BlockHeader.deserialize(data)
        count, pos = read_compact_size(data, HEADER_SIZE)
        txs = []
        for _ in range(count):
            tx, pos = Transaction.parse(data, pos)
            txs.append(tx)
        if pos != len(data):
            raise TrailingBytesError(
                f"{len(data) - pos} bytes after the last transaction", offset=pos
            )
        return cls(header, tuple(txs))

    def compute_merkle_root(self) -> bytes:
        return merkle_root([tx.txid for tx in self.transactions])

    def compute_witness_merkle_root(self) -> bytes:
        """Witness merkle root (BIP141): the coinbase's wtxid counts as 32 zero bytes."""
        return merkle_root([bytes(32)] + [tx.wtxid for tx in self.transactions[1:]])


def merkle_root(hashes: list[bytes]) -> bytes:
    """Bitcoin's merkle root: pairs hashed with SHA256d, odd levels duplicate their last hash."""
    if not hashes:
        return bytes(32)
    level = list(hashes)
    while len(level) > 1:
        if len(level) % 2:
            level.append(level[-1])
        level = [sha256d(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]
