"""Deterministic CBOR for Drey messages (PROTOCOL.md §1, RFC 8949 §4.2.1).

The data model is deliberately small: unsigned and negative integers (−2^64 … 2^64 − 1),
byte strings, text strings, arrays, maps, ``false``, ``true`` and ``null``. Everything else is
refused: floats (including half/single/double), tags (so no bignums: big numbers travel as
byte strings), indefinite lengths, other simple values and reserved additional-info values.

:func:`encode_cbor` produces the one deterministic encoding: definite lengths, shortest heads,
map keys sorted by their encoded bytes (bytewise; for text keys this is shorter-first, then
bytewise). :func:`decode_cbor` accepts exactly the encodings :func:`encode_cbor` would produce,
so ``encode_cbor(decode_cbor(b)) == b`` for every accepted ``b``.

Limits: nesting of arrays and maps at most :data:`MAX_DEPTH` (16) levels, the outermost
container counting as level 1; by default every map key, at every level, must be a text string.
The decoder raises only :class:`drey.errors.CborError`, whatever the input bytes.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Literal

from drey.errors import CborEncodeError, CborError

__all__ = [
    "MAX_DEPTH",
    "CborErrorCode",
    "CborValue",
    "decode_cbor",
    "encode_cbor",
]

MAX_DEPTH = 16

CborValue = int | bytes | str | list["CborValue"] | dict[str, "CborValue"] | bool | None

CborErrorCode = Literal[
    "truncated",  # input ends inside an item
    "trailing_bytes",  # bytes left after the top-level item
    "non_shortest",  # an integer, length or count not in its shortest head
    "unsorted_keys",  # map keys not in ascending order of their encoded bytes
    "duplicate_key",  # the same key twice in one map
    "float",  # half, single or double precision float
    "tag",  # any tag (major type 6), bignums included
    "indefinite_length",  # indefinite-length string, array or map, or a stray break
    "simple_value",  # a simple value other than false, true, null
    "reserved",  # additional information 28..30, or 31 where it has no meaning
    "too_deep",  # more than MAX_DEPTH nested arrays/maps
    "non_text_key",  # a map key that is not a text string (when text keys are required)
    "invalid_utf8",  # a text string that is not valid UTF-8
]

_U64_LIMIT = 1 << 64
_HEAD_WIDTH = {24: 1, 25: 2, 26: 4, 27: 8}
_MIN_FOR_WIDTH = {1: 24, 2: 1 << 8, 4: 1 << 16, 8: 1 << 32}
_MAJOR_NAME = {
    0: "unsigned integer",
    1: "negative integer",
    2: "byte string",
    3: "text string",
    4: "array",
    5: "map",
    6: "tag",
    7: "simple/float",
}


# --------------------------------------------------------------------------------------------
# Encoder
# --------------------------------------------------------------------------------------------


def _head(major: int, arg: int) -> bytes:
    m = major << 5
    if arg < 24:
        return bytes((m | arg,))
    if arg < 1 << 8:
        return bytes((m | 24, arg))
    if arg < 1 << 16:
        return bytes((m | 25,)) + arg.to_bytes(2, "big")
    if arg < 1 << 32:
        return bytes((m | 26,)) + arg.to_bytes(4, "big")
    return bytes((m | 27,)) + arg.to_bytes(8, "big")


def _encode(value: object, out: bytearray, depth: int, path: str) -> None:
    # bool before int: bool is a subclass of int.
    if value is False:
        out.append(0xF4)
    elif value is True:
        out.append(0xF5)
    elif value is None:
        out.append(0xF6)
    elif isinstance(value, int):
        if 0 <= value < _U64_LIMIT:
            out += _head(0, value)
        elif -_U64_LIMIT <= value < 0:
            out += _head(1, -1 - value)
        else:
            raise CborEncodeError(
                f"integer at {path} is outside −2^64 … 2^64 − 1 (big numbers travel as bytes)"
            )
    elif isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
        out += _head(2, len(data))
        out += data
    elif isinstance(value, str):
        try:
            data = value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise CborEncodeError(f"text at {path} is not encodable as UTF-8: {exc}") from exc
        out += _head(3, len(data))
        out += data
    elif isinstance(value, list | tuple):
        if depth >= MAX_DEPTH:
            raise CborEncodeError(f"array at {path} nests deeper than {MAX_DEPTH} levels")
        out += _head(4, len(value))
        for i, item in enumerate(value):
            _encode(item, out, depth + 1, f"{path}[{i}]")
    elif isinstance(value, dict):
        if depth >= MAX_DEPTH:
            raise CborEncodeError(f"map at {path} nests deeper than {MAX_DEPTH} levels")
        items: list[tuple[bytes, bytes]] = []
        for key, item in value.items():
            if isinstance(key, bool) or not isinstance(key, int | str | bytes):
                raise CborEncodeError(
                    f"map key {key!r} at {path} is not an integer, text or byte string"
                )
            kbuf = bytearray()
            _encode(key, kbuf, MAX_DEPTH, f"{path} key {key!r}")
            vbuf = bytearray()
            _encode(item, vbuf, depth + 1, f"{path}.{key!s}")
            items.append((bytes(kbuf), bytes(vbuf)))
        items.sort(key=lambda kv: kv[0])
        for (k1, _), (k2, _) in pairwise(items):
            if k1 == k2:
                raise CborEncodeError(f"map at {path} has two keys encoding to {k1.hex()}")
        out += _head(5, len(items))
        for kbytes, vbytes in items:
            out += kbytes
            out += vbytes
    else:
        raise CborEncodeError(f"cannot encode {type(value).__name__} at {path} as Drey CBOR")


def encode_cbor(value: object) -> bytes:
    """Encode ``value`` as deterministic CBOR (RFC 8949 §4.2.1).

    Accepts int (−2^64 … 2^64 − 1), bytes-like, str, list/tuple, dict, bool and None, nested at
    most :data:`MAX_DEPTH` levels. Map keys are sorted by their encoded bytes. Raises
    :class:`drey.errors.CborEncodeError` for anything else (floats included).
    """
    out = bytearray()
    _encode(value, out, 0, "$")
    return bytes(out)


# --------------------------------------------------------------------------------------------
# Decoder
# --------------------------------------------------------------------------------------------


class _Decoder:
    __slots__ = ("data", "end", "text_keys")

    def __init__(self, data: bytes, text_keys: bool) -> None:
        self.data = data
        self.end = len(data)
        self.text_keys = text_keys

    def fail(self, code: CborErrorCode, offset: int, message: str) -> CborError:
        return CborError(code, offset, message)

    def head(self, pos: int) -> tuple[int, int, int]:
        """Read an item head at ``pos``: (major, argument, position after the head)."""
        data = self.data
        if pos >= self.end:
            raise self.fail("truncated", pos, "input ends where an item was expected")
        ib = data[pos]
        major = ib >> 5
        info = ib & 0x1F
        if major == 6:
            raise self.fail("tag", pos, f"tags are not allowed (initial byte 0x{ib:02x})")
        if major == 7:
            if info in (20, 21, 22):
                return 7, info, pos + 1
            if info in (25, 26, 27):
                raise self.fail("float", pos, f"floats are not allowed (initial byte 0x{ib:02x})")
            if info == 31:
                raise self.fail("indefinite_length", pos, "break byte 0xff outside any item")
            if info in (28, 29, 30):
                raise self.fail("reserved", pos, f"reserved additional information {info}")
            raise self.fail(
                "simple_value", pos, f"simple value (initial byte 0x{ib:02x}) is not allowed"
            )
        if info < 24:
            return major, info, pos + 1
        if info == 31:
            if major in (2, 3, 4, 5):
                raise self.fail(
                    "indefinite_length",
                    pos,
                    f"indefinite-length {_MAJOR_NAME[major]} is not allowed",
                )
            raise self.fail("reserved", pos, f"additional information 31 on a {_MAJOR_NAME[major]}")
        if info > 27:
            raise self.fail("reserved", pos, f"reserved additional information {info}")
        width = _HEAD_WIDTH[info]
        start = pos + 1
        if start + width > self.end:
            raise self.fail(
                "truncated",
                pos,
                f"{_MAJOR_NAME[major]} head needs {width} argument bytes, {self.end - start} left",
            )
        arg = int.from_bytes(data[start : start + width], "big")
        if arg < _MIN_FOR_WIDTH[width]:
            raise self.fail(
                "non_shortest",
                pos,
                f"{_MAJOR_NAME[major]} argument {arg} encoded in {width} bytes",
            )
        return major, arg, start + width

    def item(self, pos: int, depth: int) -> tuple[CborValue, int]:
        major, arg, p = self.head(pos)
        if major == 0:
            return arg, p
        if major == 1:
            return -1 - arg, p
        if major == 2 or major == 3:
            if arg > self.end - p:
                raise self.fail(
                    "truncated",
                    pos,
                    f"{_MAJOR_NAME[major]} of {arg} bytes, {self.end - p} left",
                )
            raw = self.data[p : p + arg]
            if major == 2:
                return raw, p + arg
            try:
                return raw.decode("utf-8"), p + arg
            except UnicodeDecodeError as exc:
                raise self.fail(
                    "invalid_utf8", pos, f"text string is not valid UTF-8 ({exc.reason})"
                ) from None
        if major == 7:
            return (False, True, None)[arg - 20], p
        # Arrays and maps.
        if depth >= MAX_DEPTH:
            raise self.fail(
                "too_deep", pos, f"{_MAJOR_NAME[major]} nests deeper than {MAX_DEPTH} levels"
            )
        if major == 4:
            # Each element takes at least one byte: refuse absurd counts before looping.
            if arg > self.end - p:
                raise self.fail(
                    "truncated", pos, f"array of {arg} items, only {self.end - p} bytes left"
                )
            items: list[CborValue] = []
            for _ in range(arg):
                value, p = self.item(p, depth + 1)
                items.append(value)
            return items, p
        # major == 5
        if arg > (self.end - p) // 2:
            raise self.fail("truncated", pos, f"map of {arg} pairs, only {self.end - p} bytes left")
        result: dict[str, CborValue] = {}
        seen: set[bytes] = set()
        prev: bytes | None = None
        for _ in range(arg):
            kpos = p
            key, p = self.item(p, MAX_DEPTH - 1)
            kraw = self.data[kpos:p]
            if self.text_keys and not isinstance(key, str):
                raise self.fail(
                    "non_text_key",
                    kpos,
                    f"map key of type {type(key).__name__} where text keys are required",
                )
            if isinstance(key, bool) or not isinstance(key, int | str | bytes):
                raise self.fail(
                    "non_text_key",
                    kpos,
                    f"map key of type {type(key).__name__}: only integer, text and byte keys",
                )
            if kraw in seen:
                raise self.fail("duplicate_key", kpos, f"duplicate map key {key!r}")
            if prev is not None and kraw < prev:
                raise self.fail(
                    "unsorted_keys",
                    kpos,
                    f"map key {key!r} sorts before the previous key (bytewise encoded order)",
                )
            seen.add(kraw)
            prev = kraw
            value, p = self.item(p, depth + 1)
            result[key] = value  # type: ignore[index]
        return result, p


def decode_cbor(data: bytes, *, text_keys: bool = True) -> CborValue:
    """Decode exactly one deterministically encoded CBOR item filling all of ``data``.

    Maps decode to ``dict``, arrays to ``list``, byte strings to ``bytes``. With ``text_keys``
    (the default, as every Drey map requires) any non-text map key is refused; without it,
    integer, byte and text keys are allowed (arrays/maps as keys never are).

    Raises :class:`drey.errors.CborError` (and nothing else) with a code from
    :data:`CborErrorCode` and the offending offset.
    """
    raw = bytes(data)
    dec = _Decoder(raw, text_keys)
    value, pos = dec.item(0, 0)
    if pos != len(raw):
        raise CborError("trailing_bytes", pos, f"{len(raw) - pos} bytes after the top-level item")
    return value
