"""Errors raised by the Bitcoin and ord primitives.

Every error here derives from :class:`BtcError`. Decoders raise only :class:`DecodeError`
subclasses, each naming what was wrong and at which byte offset, so a caller can quarantine the
input with a precise reason (``reason``, a stable machine name) instead of crashing. Encoders
raise :class:`EncodeError` for values that cannot be written (also a ``ValueError``).
"""

from __future__ import annotations


class BtcError(Exception):
    """Root of every error raised by :mod:`btc`."""


class DecodeError(BtcError):
    """Bytes that do not decode as the structure they claim to be.

    ``offset`` is the byte position (within the buffer being decoded) where decoding failed.
    """

    reason: str = "malformed"

    def __init__(self, message: str, *, offset: int) -> None:
        super().__init__(f"{message} (at byte {offset})")
        self.offset = offset


class TruncatedError(DecodeError):
    """The buffer ended before the structure did."""

    reason = "truncated"


class TrailingBytesError(DecodeError):
    """The structure ended before the buffer did."""

    reason = "trailing_bytes"


class BadVarintError(DecodeError):
    """A CompactSize integer that is not minimally encoded or exceeds Core's MAX_SIZE."""

    reason = "bad_varint"


class MalformedTransactionError(DecodeError):
    """A transaction that breaks the serialization rules (for example an empty witness flag)."""

    reason = "malformed_transaction"


class MalformedBlockError(DecodeError):
    """A block whose header or transaction list does not decode."""

    reason = "malformed_block"


class TruncatedPushError(DecodeError):
    """A script push whose length runs past the end of the script."""

    reason = "truncated_push"


class BlockCommitmentError(DecodeError):
    """A block whose transactions are not the ones its header commits to (merkle root, or the
    BIP141 witness commitment): bytes altered after the block was mined, or corrupted on the
    way. ``reason`` names the failed check (``bad_merkle_root``, ``mutated_merkle``,
    ``unexpected_witness``, ``bad_witness_nonce``, ``bad_witness_commitment``)."""

    def __init__(self, reason: str, message: str) -> None:
        BtcError.__init__(self, f"{message} ({reason})")
        self.offset = 0
        self.reason = reason


class EncodeError(BtcError, ValueError):
    """A value that cannot be serialized (a push above 520 bytes, an id that is not
    ``<txid>i<n>``, a pointer outside u64)."""
