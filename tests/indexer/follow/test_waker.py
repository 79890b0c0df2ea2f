"""The waker over a real ZMQ socket, fed Core-format frames ``[topic][body][uint32 LE seq]``:
block events wake the follower, mempool churn does not, and gaps wake it only when they may
have hidden a block."""

from __future__ import annotations

import logging
import struct
import threading
import time
from collections.abc import Iterator

import pytest
import zmq

from indexer.follow.waker import Waker


class Publisher:
    def __init__(self) -> None:
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.PUB)
        self.sock.bind("tcp://127.0.0.1:0")
        self.endpoint = self.sock.getsockopt_string(zmq.LAST_ENDPOINT)
        self.seq: dict[str, int] = {}

    def send(self, topic: str, body: bytes, *, skip: int = 0) -> None:
        n = self.seq.get(topic, -1) + 1 + skip
        self.seq[topic] = n
        self.sock.send_multipart([topic.encode(), body, struct.pack("<I", n)])

    def mempool(self, label: str = "A", *, skip: int = 0) -> None:
        self.send("sequence", b"\x11" * 32 + label.encode() + struct.pack("<Q", 7), skip=skip)

    def block(self, label: str = "C") -> None:
        self.send("sequence", b"\x22" * 32 + label.encode())

    def close(self) -> None:
        self.sock.close(0)
        self.ctx.term()


@pytest.fixture
def wired() -> Iterator[tuple[Publisher, Waker]]:
    pub = Publisher()
    waker = Waker((pub.endpoint,), log=logging.getLogger("indexer.follow"), stop=threading.Event())
    # Slow joiner: send block events until one arrives, so the subscription is live.
    deadline = time.monotonic() + 10
    while waker.wait(0.05).reason != "zmq":
        assert time.monotonic() < deadline, "subscriber never connected"
        pub.block()
    while waker.wait(0.05).reason == "zmq":
        pass
    yield pub, waker
    waker.close()
    pub.close()


def test_mempool_churn_never_wakes_but_a_block_does(wired) -> None:  # type: ignore[no-untyped-def]
    pub, waker = wired
    for i in range(200):
        pub.mempool("A" if i % 2 else "R")
    assert waker.wait(0.5).reason == "timer"
    for _ in range(50):
        pub.mempool()
    pub.block("C")
    wake = waker.wait(2.0)
    assert wake.reason == "zmq" and wake.messages >= 1
    pub.block("D")  # a disconnection (reorg) wakes it too
    assert waker.wait(2.0).reason == "zmq"


def test_sequence_gaps_wake_only_without_hashblock(wired, caplog) -> None:  # type: ignore[no-untyped-def]
    pub, waker = wired
    caplog.set_level(logging.DEBUG, logger="indexer.follow")
    pub.mempool(skip=5)  # five sequence messages lost: block events among them, maybe
    wake = waker.wait(1.0)
    assert wake.reason == "zmq" and wake.missed == 5
    gap = [r for r in caplog.records if r.getMessage() == "zmq_gap"][-1]
    assert gap.levelno == logging.WARNING
    # Once hashblock is heard from, it alone says whether blocks were lost.
    pub.send("hashblock", b"\x33" * 32)
    assert waker.wait(1.0).reason == "zmq"
    caplog.clear()
    pub.mempool(skip=9)
    assert waker.wait(0.5).reason == "timer"
    gap = [r for r in caplog.records if r.getMessage() == "zmq_gap"][-1]
    assert gap.levelno == logging.DEBUG and gap.fields["missed"] == 9  # type: ignore[attr-defined]
    pub.send("hashblock", b"\x44" * 32, skip=1)  # a lost hashblock is a lost block
    assert waker.wait(1.0).reason == "zmq"
