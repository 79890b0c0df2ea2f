"""indexer.node decoders: ZMQ framing, sequence bodies, gap tracking, error mapping."""

from __future__ import annotations

from struct import pack

import pytest
import zmq
from hypothesis import given
from hypothesis import strategies as st

from indexer.errors import IndexerError
from indexer.node import (
    RPCInvalidAddressOrKeyError,
    RPCMethodNotFoundError,
    RPCWarmupError,
    SequenceTracker,
    ZMQDecodeError,
    ZMQSubscriber,
    decode_frames,
    decode_sequence,
)
from indexer.node.errors import RPCError, rpc_error


def test_frames_and_sequence_bodies() -> None:
    h = bytes(range(32))
    assert decode_frames([b"hashblock", h, pack("<I", 7)]) == ("hashblock", h, 7)
    ev = decode_sequence(h + b"C")
    assert (ev.hash, ev.label, ev.mempool_sequence, ev.is_block) == (h[::-1], "C", None, True)
    ev = decode_sequence(h + b"A" + pack("<Q", 2**40))
    assert (ev.label, ev.mempool_sequence, ev.is_block) == ("A", 2**40, False)
    assert ev.hash_hex == h.hex()
    for frames, msg in [
        ([b"hashblock", h], "expected 3 frames"),
        ([b"hashblock", h, b"\x00"], "sequence frame must be 4 bytes"),
        ([b"\xff", h, bytes(4)], "topic frame is not ASCII"),
    ]:
        with pytest.raises(ZMQDecodeError, match=msg):
            decode_frames(frames)
    for body, msg in [
        (h, "too short"),
        (h + b"C" + b"x", "'C' body must be 33 bytes"),
        (h + b"R", "'R' body must be 41 bytes"),
        (h + b"X", "unknown sequence label 0x58 at byte 32"),
    ]:
        with pytest.raises(ZMQDecodeError, match=msg):
            decode_sequence(body)


@given(st.binary(max_size=64))
def test_sequence_decoder_never_crashes(body: bytes) -> None:
    try:
        ev = decode_sequence(body)
    except ZMQDecodeError as exc:
        assert isinstance(exc, IndexerError)
    else:
        assert len(body) in (33, 41) and ev.label in "CDAR"


@given(st.lists(st.integers(0, 5), min_size=1, max_size=50), st.integers(0, 2**32 - 1))
def test_tracker_counts_missed_messages(steps: list[int], start: int) -> None:
    """Sequences advancing by 1 + k (k lost messages) report exactly k, across the u32 wrap."""
    tracker = SequenceTracker()
    assert tracker.observe("rawblock", start) == (0, True, False)
    seq = start
    for lost in steps:
        seq = (seq + 1 + lost) & 0xFFFFFFFF
        assert tracker.observe("rawblock", seq) == (lost, False, False)
    assert tracker.observe("hashblock", 0) == (0, True, False)  # topics are independent


def test_tracker_detects_publisher_restart() -> None:
    tracker = SequenceTracker()
    for s in range(10):
        tracker.observe("sequence", s)
    assert tracker.observe("sequence", 0) == (0, False, True)
    assert tracker.observe("sequence", 1) == (0, False, False)


def test_subscriber_reports_a_gap_on_the_wire() -> None:
    ctx = zmq.Context()
    pub = ctx.socket(zmq.PUB)
    port = pub.bind_to_random_port("tcp://127.0.0.1")
    with ZMQSubscriber(f"tcp://127.0.0.1:{port}", topics=["sequence"], context=ctx) as sub:
        import time

        time.sleep(0.2)
        h = bytes(32)
        for seq in (0, 1, 4):  # 2 and 3 lost
            pub.send_multipart([b"sequence", h + b"C", pack("<I", seq)])
        got = [sub.receive(timeout=2) for _ in range(3)]
        assert [(m.sequence, m.missed) for m in got if m is not None] == [(0, 0), (1, 0), (4, 2)]
    pub.close(linger=0)
    ctx.term()


def test_rpc_error_classes() -> None:
    assert isinstance(rpc_error(-28, "Loading block index…"), RPCWarmupError)
    assert isinstance(rpc_error(-5, "Block not found"), RPCInvalidAddressOrKeyError)
    assert isinstance(rpc_error(-32601, "Method not found"), RPCMethodNotFoundError)
    other = rpc_error(-99, "x", method="m")
    assert type(other) is RPCError and other.code == -99 and "in m" in str(other)
