"""A ZMQ subscriber for Bitcoin Core's notifications (doc/zmq.md).

Core publishes three-frame messages ``[topic][body][uint32 LE sequence]``; the sequence counts
messages per notifier (one per topic and address) from 0 when bitcoind starts, so a jump means
lost messages (the PUB socket drops when its high-water mark is reached, or the subscriber
joined late). :class:`SequenceTracker` detects that per topic; a counter going *down* means the
publisher restarted.

Bodies: ``hashblock``/``hashtx`` carry 32 bytes in display order (reversed relative to the
internal order; Core's ``interface_zmq.py`` checks ``body.hex() == getblockhash(...)``),
``rawblock``/``rawtx`` the serialized object, ``sequence`` ``<32-byte hash, display order>`` then
a label: ``C`` block connected, ``D`` block disconnected, ``A`` tx added to / ``R`` removed from
the mempool, the latter two followed by a uint64 LE mempool sequence.

``hashblock``/``rawblock`` announce only the new tip of each tip update (a reorg is one
notification), and nothing while the node is in initial block download; ``sequence`` reports
every block connection and disconnection, in order, IBD or not.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from struct import unpack
from typing import Literal

import zmq

from btc.hashes import hash_to_hex
from indexer.node.errors import NodeConnectionError, ZMQDecodeError

TOPICS = ("hashblock", "hashtx", "rawblock", "rawtx", "sequence")
BLOCK_TOPICS = ("hashblock", "rawblock", "sequence")


@dataclass(frozen=True, slots=True)
class SequenceEvent:
    """A decoded ``sequence`` body. ``hash`` is in internal byte order."""

    hash: bytes
    label: Literal["C", "D", "A", "R"]
    mempool_sequence: int | None = None

    @property
    def hash_hex(self) -> str:
        return hash_to_hex(self.hash)

    @property
    def is_block(self) -> bool:
        return self.label in ("C", "D")


@dataclass(frozen=True, slots=True)
class ZMQMessage:
    """One notification. ``missed`` counts messages of this topic lost just before it;
    ``first`` marks the first message seen on the topic; ``restarted`` that the publisher's
    counter went backwards (a new bitcoind process). ``received_ns`` is ``time.monotonic_ns()``
    at receipt."""

    topic: str
    body: bytes
    sequence: int
    missed: int = 0
    first: bool = False
    restarted: bool = False
    received_ns: int = 0

    @property
    def hash(self) -> bytes:
        """Internal-order hash of a ``hashblock``/``hashtx``/``sequence`` message."""
        if self.topic in ("hashblock", "hashtx"):
            if len(self.body) != 32:
                raise ZMQDecodeError(f"{self.topic} body must be 32 bytes, got {len(self.body)}")
            return self.body[::-1]
        if self.topic == "sequence":
            return decode_sequence(self.body).hash
        raise ZMQDecodeError(f"topic {self.topic!r} carries no hash")

    @property
    def hash_hex(self) -> str:
        return hash_to_hex(self.hash)

    def sequence_event(self) -> SequenceEvent:
        if self.topic != "sequence":
            raise ZMQDecodeError(f"topic {self.topic!r} is not 'sequence'")
        return decode_sequence(self.body)


def decode_frames(frames: Sequence[bytes]) -> tuple[str, bytes, int]:
    """``[topic, body, seq]`` to ``(topic, body, seq)``; raises :class:`ZMQDecodeError`."""
    if len(frames) != 3:
        raise ZMQDecodeError(f"expected 3 frames [topic][body][sequence], got {len(frames)}")
    topic_b, body, seq_b = frames
    if len(seq_b) != 4:
        raise ZMQDecodeError(f"sequence frame must be 4 bytes (uint32 LE), got {len(seq_b)}")
    try:
        topic = bytes(topic_b).decode("ascii")
    except UnicodeDecodeError:
        raise ZMQDecodeError(f"topic frame is not ASCII: {bytes(topic_b)[:32]!r}") from None
    return topic, bytes(body), unpack("<I", seq_b)[0]


def decode_sequence(body: bytes) -> SequenceEvent:
    """``hash ‖ 'C'|'D'`` (33 bytes) or ``hash ‖ 'A'|'R' ‖ u64 LE`` (41 bytes)."""
    if len(body) < 33:
        raise ZMQDecodeError(f"sequence body too short: {len(body)} bytes, need ≥ 33")
    label = chr(body[32])
    h = body[:32][::-1]
    if label in ("C", "D"):
        if len(body) != 33:
            raise ZMQDecodeError(f"sequence {label!r} body must be 33 bytes, got {len(body)}")
        return SequenceEvent(h, label)  # type: ignore[arg-type]
    if label in ("A", "R"):
        if len(body) != 41:
            raise ZMQDecodeError(f"sequence {label!r} body must be 41 bytes, got {len(body)}")
        return SequenceEvent(h, label, unpack("<Q", body[33:])[0])  # type: ignore[arg-type]
    raise ZMQDecodeError(f"unknown sequence label {body[32]:#04x} at byte 32")


@dataclass(slots=True)
class SequenceTracker:
    """Per-topic message counters (uint32, wrapping)."""

    last: dict[str, int] = field(default_factory=dict)

    def observe(self, topic: str, seq: int) -> tuple[int, bool, bool]:
        """Record ``seq`` for ``topic``; return ``(missed, first, restarted)``."""
        prev = self.last.get(topic)
        self.last[topic] = seq
        if prev is None:
            return 0, True, False
        expected = (prev + 1) & 0xFFFFFFFF
        if seq == expected:
            return 0, False, False
        if seq < expected and expected - seq < 1 << 31:
            # Counter went backwards (not a wrap): the publisher restarted and counts from 0.
            return seq, False, True
        return (seq - expected) & 0xFFFFFFFF, False, False


class ZMQSubscriber:
    """SUB socket connected to ``address`` (e.g. ``tcp://127.0.0.1:28332``) for ``topics``.

    ``rcvhwm=0`` means no receive limit (so drops, if any, happen at the publisher and show as
    gaps). Not thread-safe (ZMQ sockets belong to one thread).
    """

    def __init__(
        self,
        address: str | Sequence[str],
        *,
        topics: Sequence[str] = BLOCK_TOPICS,
        context: zmq.Context[zmq.Socket[bytes]] | None = None,
        rcvhwm: int = 0,
    ) -> None:
        self._own_context = context is None
        self._ctx = context or zmq.Context()
        self._sock = self._ctx.socket(zmq.SUB)
        self._sock.setsockopt(zmq.RCVHWM, rcvhwm)
        self._sock.setsockopt(zmq.LINGER, 0)
        for topic in topics:
            self._sock.setsockopt(zmq.SUBSCRIBE, topic.encode())
        addresses = [address] if isinstance(address, str) else list(address)
        try:
            for a in addresses:
                self._sock.connect(a)
        except zmq.ZMQError as exc:
            self.close()
            raise NodeConnectionError(f"cannot connect ZMQ SUB to {addresses}: {exc}") from None
        self.tracker = SequenceTracker()

    def receive(self, timeout: float | None = None) -> ZMQMessage | None:
        """The next message, or ``None`` after ``timeout`` seconds (``None``: wait forever)."""
        ms = -1 if timeout is None else max(0, int(timeout * 1000))
        if not self._sock.poll(ms):
            return None
        frames = self._sock.recv_multipart(copy=True)
        now = time.monotonic_ns()
        topic, body, seq = decode_frames(frames)
        missed, first, restarted = self.tracker.observe(topic, seq)
        return ZMQMessage(topic, body, seq, missed, first, restarted, now)

    def drain(self, *, timeout: float = 0.2) -> list[ZMQMessage]:
        """Every message arriving until ``timeout`` seconds pass without one."""
        out = []
        while (msg := self.receive(timeout)) is not None:
            out.append(msg)
        return out

    def __iter__(self) -> Iterator[ZMQMessage]:
        while True:
            msg = self.receive()
            if msg is not None:
                yield msg

    def close(self) -> None:
        self._sock.close(linger=0)
        if self._own_context:
            self._ctx.term()

    def __enter__(self) -> ZMQSubscriber:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
