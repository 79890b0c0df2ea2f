"""Deterministic CBOR: encoder against cbor2, strict decoder on adversarial input."""

from __future__ import annotations

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drey.cbor import MAX_DEPTH, decode_cbor, encode_cbor
from drey.errors import CborEncodeError, CborError

ints = st.integers(min_value=-(2**64), max_value=2**64 - 1)
scalars = ints | st.binary(max_size=300) | st.text(max_size=40) | st.booleans() | st.none()
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=30), inner, max_size=6)
    ),
    max_leaves=30,
)


@given(values)
@settings(max_examples=400)
def test_encoding_matches_cbor2_canonical_and_roundtrips(value: object) -> None:
    data = encode_cbor(value)
    assert data == cbor2.dumps(value, canonical=True)
    assert decode_cbor(data) == value
    assert cbor2.loads(data) == value


@given(st.binary(max_size=200))
@settings(max_examples=2000)
def test_decoder_raises_only_its_own_error_and_accepts_only_canonical(data: bytes) -> None:
    try:
        value = decode_cbor(data)
    except CborError as exc:
        assert exc.code and 0 <= exc.offset <= len(data)
        return
    # Whatever is accepted is the one deterministic encoding of its value.
    assert encode_cbor(value) == data


@given(values)
@settings(max_examples=300)
def test_mutations_of_valid_encodings_never_crash(value: object) -> None:
    data = bytearray(encode_cbor(value))
    for i in range(0, len(data), max(1, len(data) // 8)):
        mutated = bytearray(data)
        mutated[i] ^= 0x5A
        try:
            decoded = decode_cbor(bytes(mutated))
        except CborError:
            continue
        assert encode_cbor(decoded) == bytes(mutated)


@pytest.mark.parametrize(
    ("hex_input", "code"),
    [
        ("", "truncated"),
        ("1a0000", "truncated"),  # u32 head cut short
        ("43aabb", "truncated"),  # byte string of 3, 2 bytes left
        ("9bffffffffffffffff", "truncated"),  # absurd array count: no allocation
        ("bbffffffffffffffff", "truncated"),  # absurd map count
        ("0000", "trailing_bytes"),
        ("1817", "non_shortest"),  # 23 in a 1-byte argument
        ("190017", "non_shortest"),
        ("1a0000ffff", "non_shortest"),
        ("1b00000000ffffffff", "non_shortest"),
        ("3817", "non_shortest"),  # negative integer
        ("5801ff", "non_shortest"),  # byte string length
        ("780161", "non_shortest"),  # text length
        ("9800", "non_shortest"),  # array count
        ("b800", "non_shortest"),  # map count
        ("a26161006162", "truncated"),  # map missing its last value
        ("a2616200616100", "unsorted_keys"),  # "b" before "a"
        ("a262616100616200", "unsorted_keys"),  # longer key before shorter one
        ("a2616100616101", "duplicate_key"),
        ("f93c00", "float"),  # half
        ("fa3f800000", "float"),  # single
        ("fb3ff0000000000000", "float"),  # double
        ("c11a514b67b0", "tag"),  # epoch time
        ("c249010000000000000000", "tag"),  # bignum 2^64
        ("c349010000000000000000", "tag"),  # negative bignum
        ("5f41aaff", "indefinite_length"),
        ("7f6161ff", "indefinite_length"),
        ("9f01ff", "indefinite_length"),
        ("bf616101ff", "indefinite_length"),
        ("ff", "indefinite_length"),  # stray break
        ("f7", "simple_value"),  # undefined
        ("e0", "simple_value"),
        ("f820", "simple_value"),
        ("1c", "reserved"),
        ("3d", "reserved"),
        ("fc", "reserved"),
        ("1f", "reserved"),  # 31 on an integer
        ("a10101", "non_text_key"),
        ("a1410101", "non_text_key"),
        ("62c328", "invalid_utf8"),
        ("63eda080", "invalid_utf8"),  # UTF-16 surrogate
        ("62c0af", "invalid_utf8"),  # overlong
    ],
)
def test_each_rejection_has_its_code(hex_input: str, code: str) -> None:
    with pytest.raises(CborError) as info:
        decode_cbor(bytes.fromhex(hex_input))
    assert info.value.code == code
    assert code in str(info.value)


def test_depth_limit_is_sixteen_levels_in_both_directions() -> None:
    ok: object = 0
    for _ in range(MAX_DEPTH):
        ok = [ok]
    assert decode_cbor(encode_cbor(ok)) == ok
    too_deep = [ok]
    with pytest.raises(CborEncodeError):
        encode_cbor(too_deep)
    with pytest.raises(CborError) as info:
        decode_cbor(b"\x81" * (MAX_DEPTH + 1) + b"\x00")
    assert info.value.code == "too_deep"
    nested_maps = b"\xa1\x61a" * (MAX_DEPTH + 1) + b"\x00"
    with pytest.raises(CborError) as info:
        decode_cbor(nested_maps)
    assert info.value.code == "too_deep"


def test_integer_range_is_exactly_u64_and_minus_two_to_the_64() -> None:
    for value in (2**64 - 1, -(2**64), 0, -1, 23, 24, 255, 256, 65535, 65536, 2**32):
        assert decode_cbor(encode_cbor(value)) == value
    for value in (2**64, -(2**64) - 1):
        with pytest.raises(CborEncodeError):
            encode_cbor(value)


def test_encoder_refuses_floats_and_foreign_types() -> None:
    for value in (1.5, {1.0: 1}, {(1, 2): 3}, {"a": object()}, {True: 1}):
        with pytest.raises(CborEncodeError):
            encode_cbor(value)


def test_keys_sort_by_encoded_bytes() -> None:
    data = encode_cbor({"bb": 1, "a": 2, "c": 3, "": 4})
    assert list(decode_cbor(data)) == ["", "a", "c", "bb"]
    assert data == bytes.fromhex("a4600461610261630362626201")


def test_non_text_keys_allowed_only_when_asked() -> None:
    data = encode_cbor({1: "x", b"k": 2, "t": 3})
    with pytest.raises(CborError):
        decode_cbor(data)
    assert decode_cbor(data, text_keys=False) == {1: "x", b"k": 2, "t": 3}
    with pytest.raises(CborError) as info:
        decode_cbor(bytes.fromhex("a1f501"), text_keys=False)
    assert info.value.code == "non_text_key"
