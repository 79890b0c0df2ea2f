"""CompactSize ("varint") integers as Bitcoin Core serializes them.

Reading follows Core's ``ReadCompactSize(range_check=true)``: the encoding must be minimal and
the value at most ``MAX_SIZE`` (0x02000000), otherwise :class:`BadVarintError`.
"""

from __future__ import annotations

from struct import pack, unpack_from

from btc.errors import BadVarintError, TruncatedError

MAX_SIZE = 0x02000000


def read_compact_size(
    buf: bytes | memoryview, pos: int, *, range_check: bool = True
) -> tuple[int, int]:
    """Return ``(value, position after it)``."""
    end = len(buf)
    if pos >= end:
        raise TruncatedError("missing CompactSize", offset=pos)
    first = buf[pos]
    if first < 0xFD:
        return first, pos + 1
    if first == 0xFD:
        if pos + 3 > end:
            raise TruncatedError("truncated CompactSize (need 2 bytes)", offset=pos)
        value = buf[pos + 1] | (buf[pos + 2] << 8)
        if value < 0xFD:
            raise BadVarintError(f"non-canonical CompactSize {value} in 3 bytes", offset=pos)
        new_pos = pos + 3
    elif first == 0xFE:
        if pos + 5 > end:
            raise TruncatedError("truncated CompactSize (need 4 bytes)", offset=pos)
        (value,) = unpack_from("<I", buf, pos + 1)
        if value < 0x10000:
            raise BadVarintError(f"non-canonical CompactSize {value} in 5 bytes", offset=pos)
        new_pos = pos + 5
    else:
        if pos + 9 > end:
            raise TruncatedError("truncated CompactSize (need 8 bytes)", offset=pos)
        (value,) = unpack_from("<Q", buf, pos + 1)
        if value < 0x100000000:
            raise BadVarintError(f"non-canonical CompactSize {value} in 9 bytes", offset=pos)
        new_pos = pos + 9
    if range_check and value > MAX_SIZE:
        raise BadVarintError(f"CompactSize {value} exceeds MAX_SIZE {MAX_SIZE}", offset=pos)
    return value, new_pos


def encode_compact_size(value: int) -> bytes:
    """The minimal CompactSize encoding of ``value`` (0 ≤ value < 2**64)."""
    if value < 0:
        raise ValueError("CompactSize cannot be negative")
    if value < 0xFD:
        return bytes((value,))
    if value <= 0xFFFF:
        return b"\xfd" + pack("<H", value)
    if value <= 0xFFFFFFFF:
        return b"\xfe" + pack("<I", value)
    if value <= 0xFFFFFFFFFFFFFFFF:
        return b"\xff" + pack("<Q", value)
    raise ValueError("CompactSize must be < 2**64")
