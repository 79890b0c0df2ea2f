"""Tagged hashes and fixed-width integer encodings (PROTOCOL.md §1).

``H_tag(tag)(x) = SHA256(SHA256(tag) ‖ SHA256(tag) ‖ x)`` as in BIP340. Every integer that
enters a hash or signature preimage is big-endian with a fixed width: counters and ``round``
as u32, Paillier values in ℓ₁ / ℓ₂ bytes (see :mod:`drey.crypto.paillier`).
"""

from __future__ import annotations

import hashlib
import re

from drey.errors import EncodingError

__all__ = [
    "U32_MAX",
    "bytes_for_bits",
    "int_from_fixed",
    "int_to_fixed",
    "month_bytes",
    "tagged_hash",
    "u32be",
]

U32_MAX = 2**32 - 1
_MONTH_RE = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")


def tagged_hash(tag: str, data: bytes) -> bytes:
    """BIP340 tagged hash: SHA256(SHA256(tag) ‖ SHA256(tag) ‖ data), 32 bytes.

    ``tag`` must be ASCII (every Drey tag is, e.g. ``"drey/1/share"``).
    """
    try:
        tag_bytes = tag.encode("ascii")
    except UnicodeEncodeError as exc:
        raise EncodingError(f"tag {tag!r} is not ASCII") from exc
    tag_digest = hashlib.sha256(tag_bytes).digest()
    return hashlib.sha256(tag_digest + tag_digest + data).digest()


def bytes_for_bits(bits: int) -> int:
    """⌈bits / 8⌉: the byte width of a value of ``bits`` bits."""
    if bits < 0:
        raise EncodingError(f"negative bit count {bits}")
    return (bits + 7) // 8


def int_to_fixed(x: int, width: int) -> bytes:
    """``x`` big-endian in exactly ``width`` bytes.

    Raises :class:`EncodingError` if ``x`` is negative or needs more than ``width`` bytes.
    """
    if width < 0:
        raise EncodingError(f"negative width {width}")
    if x < 0:
        raise EncodingError(f"cannot encode negative integer in {width} bytes")
    if x.bit_length() > 8 * width:
        raise EncodingError(
            f"integer of {x.bit_length()} bits does not fit in {width} bytes ({8 * width} bits)"
        )
    return x.to_bytes(width, "big")


def int_from_fixed(data: bytes, width: int) -> int:
    """Read a big-endian integer that must be exactly ``width`` bytes long."""
    if len(data) != width:
        raise EncodingError(f"expected exactly {width} bytes, got {len(data)}")
    return int.from_bytes(data, "big")


def u32be(x: int) -> bytes:
    """``x`` as 4 bytes big-endian; raises :class:`EncodingError` outside 0 … 2^32 − 1."""
    if not 0 <= x <= U32_MAX:
        raise EncodingError(f"{x} is not a u32 (0 … {U32_MAX})")
    return x.to_bytes(4, "big")


def month_bytes(month: str) -> bytes:
    """``month`` as ASCII for a preimage; raises :class:`EncodingError` unless it matches
    ``^[0-9]{4}-(0[1-9]|1[0-2])$`` with year ≥ 1970 (§1)."""
    if not isinstance(month, str) or not _MONTH_RE.fullmatch(month) or int(month[:4]) < 1970:
        raise EncodingError(f"month {month!r} is not YYYY-MM with year ≥ 1970")
    return month.encode("ascii")
