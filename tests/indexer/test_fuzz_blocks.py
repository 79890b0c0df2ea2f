"""Hostile block bytes through everything the follower does to a block: verify, scan, decode
within the budgets, build tables. Mutations of real mainnet blocks (bit flips, truncations,
insertions, varint rewrites) give a typed DecodeError or rows; never another exception."""

from __future__ import annotations

import contextlib
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from btc.commitments import verify_block
from btc.errors import DecodeError
from btc.scan import scan_block
from indexer.shards import tables_for_blocks

BLOCKS = Path(__file__).resolve().parents[3] / "shared/fixtures/mainnet/blocks"
# The smallest fixture block keeps each example fast; it still holds 13 envelopes.
RAW = (BLOCKS / "840003.bin").read_bytes()
ENVELOPE_AT = RAW.find(b"\x03ord")


def _through_the_follower(raw: bytes) -> None:
    with contextlib.suppress(DecodeError):
        verify_block(raw)
    try:
        scanned = scan_block(raw)
    except DecodeError:
        return
    tables = tables_for_blocks([(1, scanned)])
    assert tables.blocks.num_rows == 1


mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 8 * len(RAW) - 1), st.just(b"")),
    st.tuples(st.just("cut"), st.integers(0, len(RAW)), st.just(b"")),
    st.tuples(st.just("insert"), st.integers(0, len(RAW)), st.binary(min_size=1, max_size=9)),
    st.tuples(
        st.just("varint"),
        st.integers(0, len(RAW) - 9),
        st.sampled_from([b"\xfd\xff\xff", b"\xfe\xff\xff\xff\x7f", b"\xff" * 9, b"\xfd\x01\x00"]),
    ),
)


@given(st.lists(mutation, min_size=1, max_size=3))
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_mutated_mainnet_blocks_give_typed_errors_only(mutations: list) -> None:  # type: ignore[type-arg]
    raw = bytearray(RAW)
    for kind, at, data in mutations:
        if not raw:
            return
        if kind == "flip":
            bit = at % (8 * len(raw))
            raw[bit // 8] ^= 1 << (bit % 8)
        elif kind == "cut":
            del raw[at:]
        elif kind == "insert":
            raw[at:at] = data
        else:
            raw[at : at + len(data)] = data
    _through_the_follower(bytes(raw))


@given(st.integers(0, 4000), st.binary(min_size=1, max_size=64))
@settings(max_examples=150, deadline=None)
def test_rewritten_envelope_bytes_give_typed_errors_or_rows(offset: int, data: bytes) -> None:
    """Bytes rewritten inside the witness of an inscription: the commitment catches it, and
    the scanner, which the follower never reaches with such bytes, still only decodes."""
    assert ENVELOPE_AT > 0
    at = ENVELOPE_AT + offset
    raw = RAW[:at] + data + RAW[at + len(data) :]
    _through_the_follower(raw)
    if raw != RAW:
        try:
            verify_block(raw)
        except DecodeError:
            return
        raise AssertionError("an altered witness passed verification")


@given(st.binary(max_size=2000))
@settings(max_examples=200, deadline=None)
def test_arbitrary_bytes_give_typed_errors_only(data: bytes) -> None:
    _through_the_follower(RAW[:80] + data)
