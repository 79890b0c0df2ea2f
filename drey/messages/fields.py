"""Field codecs shared by every Drey message kind (PROTOCOL.md §1).

A :class:`Codec` turns a decoded CBOR value into its typed Python form (raising
:class:`drey.errors.MessageError` with reason ``bad_field`` and the field's path) and back.
Structural checks only: lengths, ranges, formats, curve membership of x-only keys. Nothing here
knows the chain.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from coincurve import PublicKeyXOnly

from drey.errors import MessageError

__all__ = [
    "BN254_R",
    "INSCRIPTION_ID_RE",
    "MONTH_RE",
    "U32_MAX",
    "U64_MAX",
    "Codec",
    "FieldSpec",
    "bytes_len",
    "bytes_range",
    "field_element",
    "inscription_id",
    "is_inscription_id",
    "is_month",
    "is_xonly_key",
    "list_of",
    "month_text",
    "outpoint_bytes",
    "sig64",
    "text",
    "uint",
    "xonly_key",
]

U32_MAX = 2**32 - 1
U64_MAX = 2**64 - 1
# BN254 scalar field order: Poseidon roots and field elements are below it (§7).
BN254_R = 21888242871839275222246405745257275088548364400416034343698204186575808495617

# [0-9], not \d: \d matches non-ASCII digits.
MONTH_RE = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")
INSCRIPTION_ID_RE = re.compile(r"[0-9a-f]{64}i(0|[1-9][0-9]{0,9})")


def bad(path: str, what: str) -> MessageError:
    return MessageError("bad_field", f"{path}: {what}")


@dataclass(frozen=True, slots=True)
class Codec:
    """How one field travels: ``decode(value, path)`` validates, ``encode(value)`` inverts."""

    decode: Callable[[Any, str], Any]
    encode: Callable[[Any], Any]
    describe: str


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One key of a CBOR map: its codec and whether it may be absent (absent = ``None``)."""

    name: str
    codec: Codec
    optional: bool = False


def _identity(value: Any) -> Any:
    return value


def uint(lo: int = 0, hi: int = U64_MAX) -> Codec:
    """An integer in lo … hi (CBOR major type 0; booleans are not integers)."""

    def decode(value: Any, path: str) -> int:
        if type(value) is not int:
            raise bad(path, f"expected an integer, got {type(value).__name__}")
        if not lo <= value <= hi:
            raise bad(path, f"{value} is outside {lo} … {hi}")
        return value

    return Codec(decode, _identity, f"integer {lo} … {hi}")


def _bytes_check(value: Any, path: str) -> bytes:
    if type(value) is not bytes:
        raise bad(path, f"expected a byte string, got {type(value).__name__}")
    return value


def bytes_len(n: int) -> Codec:
    """A byte string of exactly ``n`` bytes."""

    def decode(value: Any, path: str) -> bytes:
        b = _bytes_check(value, path)
        if len(b) != n:
            raise bad(path, f"expected {n} bytes, got {len(b)}")
        return b

    return Codec(decode, _identity, f"{n} bytes")


def bytes_range(lo: int, hi: int) -> Codec:
    """A byte string of lo … hi bytes."""

    def decode(value: Any, path: str) -> bytes:
        b = _bytes_check(value, path)
        if not lo <= len(b) <= hi:
            raise bad(path, f"expected {lo} … {hi} bytes, got {len(b)}")
        return b

    return Codec(decode, _identity, f"{lo} … {hi} bytes")


def is_xonly_key(value: bytes) -> bool:
    """True if ``value`` is a 32-byte x coordinate of a secp256k1 point (BIP340 lift_x)."""
    if len(value) != 32:
        return False
    try:
        PublicKeyXOnly(value)
    except Exception:  # coincurve raises ValueError/TypeError depending on the failure
        return False
    return True


def _decode_xonly(value: Any, path: str) -> bytes:
    b = _bytes_check(value, path)
    if len(b) != 32:
        raise bad(path, f"expected a 32-byte x-only key, got {len(b)} bytes")
    if not is_xonly_key(b):
        raise bad(path, "not the x coordinate of a secp256k1 point")
    return b


xonly_key = Codec(_decode_xonly, _identity, "32-byte x-only secp256k1 key")
sig64 = bytes_len(64)


def _decode_field_element(value: Any, path: str) -> bytes:
    b = _bytes_check(value, path)
    if len(b) != 32:
        raise bad(path, f"expected 32 bytes, got {len(b)}")
    if int.from_bytes(b, "big") >= BN254_R:
        raise bad(path, "not below the BN254 scalar field order")
    return b


field_element = Codec(_decode_field_element, _identity, "32-byte BN254 field element (BE)")


def is_month(value: object) -> bool:
    """``^[0-9]{4}-(0[1-9]|1[0-2])$`` with year ≥ 1970."""
    return isinstance(value, str) and MONTH_RE.fullmatch(value) is not None and value[:4] >= "1970"


def _decode_month(value: Any, path: str) -> str:
    if type(value) is not str:
        raise bad(path, f"expected month text, got {type(value).__name__}")
    if not is_month(value):
        raise bad(path, f"{value!r} is not a month YYYY-MM with year ≥ 1970")
    return value


month_text = Codec(_decode_month, _identity, "month text YYYY-MM")


def is_inscription_id(value: object) -> bool:
    """``<64 lowercase hex>i<n>``, n a u32 in canonical decimal (no leading zeros)."""
    if not isinstance(value, str) or INSCRIPTION_ID_RE.fullmatch(value) is None:
        return False
    return int(value[65:]) <= U32_MAX


def _decode_inscription_id(value: Any, path: str) -> str:
    if type(value) is not str:
        raise bad(path, f"expected inscription id text, got {type(value).__name__}")
    if not is_inscription_id(value):
        raise bad(path, f"{value[:80]!r} is not an inscription id <64 lowercase hex>i<u32>")
    return value


inscription_id = Codec(_decode_inscription_id, _identity, "inscription id text")
outpoint_bytes = bytes_len(36)


def text(lo: int, hi: int) -> Codec:
    """A text string of lo … hi UTF-8 bytes."""

    def decode(value: Any, path: str) -> str:
        if type(value) is not str:
            raise bad(path, f"expected text, got {type(value).__name__}")
        n = len(value.encode("utf-8"))
        if not lo <= n <= hi:
            raise bad(path, f"text of {n} bytes is outside {lo} … {hi}")
        return value

    return Codec(decode, _identity, f"text of {lo} … {hi} bytes")


def list_of(
    item: Codec,
    *,
    lo: int = 0,
    hi: int = 2**32,
    unique: Callable[[Any], Any] | None = None,
) -> Codec:
    """An array of lo … hi items, decoded to a tuple; ``unique`` maps an item to the value
    that must not repeat (duplicates are refused)."""

    def decode(value: Any, path: str) -> tuple[Any, ...]:
        if type(value) is not list:
            raise bad(path, f"expected an array, got {type(value).__name__}")
        if not lo <= len(value) <= hi:
            raise bad(path, f"array of {len(value)} items is outside {lo} … {hi}")
        out = tuple(item.decode(v, f"{path}[{i}]") for i, v in enumerate(value))
        if unique is not None:
            seen: set[Any] = set()
            for i, v in enumerate(out):
                k = unique(v)
                if k in seen:
                    raise bad(f"{path}[{i}]", f"duplicate {k!r}")
                seen.add(k)
        return out

    def encode(value: Any) -> list[Any]:
        return [item.encode(v) for v in value]

    return Codec(decode, encode, f"array of {item.describe}")
