"""Python reference of the v1 formula (PROTOCOL.md §6), exact integer arithmetic.

weight = sat_blocks × (24 + min(age, 24)); dreybits = ⌊pool × weight / Σweight⌋; the
remainder pool − Σ⌊…⌋ goes one Dreybit each to the rows with the greatest
(pool × weight mod Σweight), ties broken by user_id ascending and then by row position
(the last only matters for repeated user_ids, which real input never has; the module does the
same). All weights zero: every row gets 0.

Limits: user_id and sat_blocks u64, age u32, 0 ≤ pool < 2^63 (the ABI's non-negative i64;
params bound it below 2^58). Python integers make every intermediate exact.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from drey.errors import FormulaError

__all__ = [
    "ROW_BYTES",
    "FormulaRow",
    "allocate_reference",
    "decode_output",
    "encode_rows",
    "weight",
]

FormulaRow = tuple[int, int, int]  # (user_id u64, sat_blocks u64, age u32)
ROW_BYTES = 20
_ROW = struct.Struct("<QQI")
_U64 = 2**64
_U32 = 2**32
_POOL_LIMIT = 2**63


def weight(sat_blocks: int, age: int) -> int:
    """sat_blocks × (24 + min(age, 24))."""
    return sat_blocks * (24 + min(age, 24))


def _check(rows: Sequence[FormulaRow], pool: int) -> None:
    if len(rows) >= _U32:
        raise FormulaError(f"{len(rows)} rows: at most 2^32 − 1")
    if not 0 <= pool < _POOL_LIMIT:
        raise FormulaError(f"pool {pool} is outside 0 … 2^63 − 1")
    for i, (user_id, sat_blocks, age) in enumerate(rows):
        if not (0 <= user_id < _U64 and 0 <= sat_blocks < _U64 and 0 <= age < _U32):
            raise FormulaError(f"row {i} ({user_id}, {sat_blocks}, {age}) is not (u64, u64, u32)")


def allocate_reference(rows: Sequence[FormulaRow], *, pool: int) -> list[int]:
    """Dreybits per row, in row order. Raises :class:`FormulaError` on out-of-range input."""
    _check(rows, pool)
    weights = [s * (24 + (a if a < 24 else 24)) for _, s, a in rows]
    total = sum(weights)
    if total == 0:
        return [0] * len(rows)
    out: list[int] = []
    rems: list[int] = []
    for w in weights:
        q, r = divmod(pool * w, total)
        out.append(q)
        rems.append(r)
    k = pool - sum(out)
    if k:
        # One integer key per row, (remainder, ~user_id, ~index) packed so that a plain
        # descending sort gives (remainder desc, user_id asc, index asc): ~3× faster than
        # sorting tuples. Keys are unique (the index is in them).
        keys = [
            (r << 96) | ((_U64 - 1 - row[0]) << 32) | (_U32 - 1 - i)
            for i, (r, row) in enumerate(zip(rems, rows, strict=True))
        ]
        keys.sort(reverse=True)
        for key in keys[:k]:
            out[_U32 - 1 - (key & 0xFFFFFFFF)] += 1
    return out


def encode_rows(rows: Sequence[FormulaRow]) -> bytes:
    """The module's input: 20 bytes per row, little-endian (user_id u64, sat_blocks u64,
    age u32). Raises :class:`FormulaError` on out-of-range values."""
    try:
        return b"".join([_ROW.pack(*row) for row in rows])
    except struct.error as exc:
        raise FormulaError(f"row does not fit (u64, u64, u32): {exc}") from None


def decode_output(data: bytes, rows: int) -> list[int]:
    """The module's output: ``rows`` u64 little-endian."""
    if len(data) != 8 * rows:
        raise FormulaError(f"output of {len(data)} bytes for {rows} rows")
    return list(struct.unpack(f"<{rows}Q", data))
