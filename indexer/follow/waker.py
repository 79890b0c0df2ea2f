"""What wakes the follower: ZMQ block events (``hashblock``, ``sequence`` ``C``/``D``), or a
poll timer. Mempool events on ``sequence`` are counted but never wake it.

Notifications are only a hint that the chain may have changed; the follower then asks the node
(RPC) for the truth, so a lost message costs latency, never correctness. Losses are still
detected and logged: Core numbers messages per notifier, and the per-topic counters are kept
across re-subscriptions, so messages published while the subscriber was away show up as a gap
on the next message (``zmq_gap``), and a publisher restart (counter going back) as
``zmq_publisher_restarted``. When the poll timer keeps finding blocks ZMQ never announced,
the subscriber is re-created (``zmq_resubscribe``).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from indexer.follow.logs import event
from indexer.node import SequenceTracker, ZMQMessage, ZMQSubscriber
from indexer.node.errors import NodeError

WAKE_TOPICS = ("sequence", "hashblock")


@dataclass(slots=True)
class _Batch:
    """What the messages of one wait brought (owned by one :meth:`Waker.wait` call)."""

    count: int = 0
    missed: int = 0
    restarted: bool = False
    wake: bool = False
    first_ns: int = 0


@dataclass(frozen=True, slots=True)
class Wake:
    reason: str  # "zmq" | "timer" | "stop"
    messages: int = 0
    missed: int = 0
    restarted: bool = False
    received_ns: int = 0  # monotonic_ns of the first message (0 for the timer)


class Waker:
    """Waits for the next reason to look at the node. Not thread-safe (ZMQ sockets)."""

    def __init__(
        self,
        endpoints: tuple[str, ...],
        *,
        log: logging.Logger,
        stop: threading.Event,
        rcvhwm: int = 0,
    ) -> None:
        self._endpoints = endpoints
        self._stop = stop
        self._log = log
        self._rcvhwm = rcvhwm
        self._tracker = SequenceTracker()
        self._sub: ZMQSubscriber | None = None
        self.messages = 0
        self.gaps = 0
        self.missed = 0
        self.resubscribes = 0
        self._silent_finds = 0
        if endpoints:
            self._subscribe()

    def _subscribe(self) -> None:
        try:
            self._sub = ZMQSubscriber(self._endpoints, topics=WAKE_TOPICS, rcvhwm=self._rcvhwm)
        except NodeError as exc:
            event(self._log, logging.WARNING, "zmq_unavailable", reason=str(exc))
            self._sub = None
            return
        # Keep counting across re-subscriptions, so messages lost meanwhile show as a gap.
        self._sub.tracker = self._tracker

    def resubscribe(self) -> None:
        """Drop the SUB socket and connect a new one (what a restarted subscriber does)."""
        self.close()
        self.resubscribes += 1
        if self._endpoints:
            self._subscribe()

    def close(self) -> None:
        if self._sub is not None:
            self._sub.close()
            self._sub = None

    def wait(self, timeout: float) -> Wake:
        """The next wake-up: at the first block event (``hashblock``, or ``sequence`` ``C``/``D``;
        then drain what else is queued), or after ``timeout`` seconds. Mempool events
        (``sequence`` ``A``/``R``, hundreds a second on mainnet) never wake the follower."""
        deadline = time.monotonic() + timeout
        batch = _Batch()
        while True:
            if self._stop.is_set():
                return Wake("stop")
            if batch.wake:
                self._drain(batch)
                self.messages += batch.count
                self.missed += batch.missed
                self._silent_finds = 0
                return Wake("zmq", batch.count, batch.missed, batch.restarted, batch.first_ns)
            left = deadline - time.monotonic()
            if left <= 0:
                self.messages += batch.count
                return Wake("timer")
            if self._sub is None:
                self._stop.wait(min(left, 0.25))
                continue
            try:
                # Short slices keep a stop request (SIGTERM) answered within a quarter second.
                msg = self._sub.receive(min(left, 0.25))
            except NodeError as exc:
                event(self._log, logging.WARNING, "zmq_bad_message", reason=str(exc))
                batch.wake = True
                continue
            if msg is not None:
                self._take(msg, batch)

    def _drain(self, batch: _Batch) -> None:
        assert self._sub is not None
        while True:
            try:
                msg = self._sub.receive(0)
            except NodeError:
                return
            if msg is None:
                return
            self._take(msg, batch)

    def _take(self, msg: ZMQMessage, batch: _Batch) -> None:
        """Count ``msg`` into ``batch``; a block event, a publisher restart or a gap that may
        have hidden a block event sets ``batch.wake``."""
        batch.count += 1
        batch.first_ns = batch.first_ns or msg.received_ns
        if msg.restarted:
            batch.restarted = batch.wake = True
            event(
                self._log,
                logging.INFO,
                "zmq_publisher_restarted",
                topic=msg.topic,
                sequence=msg.sequence,
            )
        if msg.missed:
            batch.missed += msg.missed
            self.gaps += 1
            # hashblock carries only blocks: a gap there lost one. sequence also counts
            # mempool events, so its gaps matter only when hashblock is not there to tell.
            blocks_lost = msg.topic != "sequence" or "hashblock" not in self._tracker.last
            if blocks_lost:
                batch.wake = True
            event(
                self._log,
                logging.WARNING if blocks_lost else logging.DEBUG,
                "zmq_gap",
                topic=msg.topic,
                missed=msg.missed,
                sequence=msg.sequence,
                action="reconciling with the node's tip"
                if blocks_lost
                else "hashblock covers blocks",
            )
        if msg.topic == "sequence":
            try:
                is_block = msg.sequence_event().is_block
            except NodeError as exc:
                event(self._log, logging.WARNING, "zmq_bad_message", reason=str(exc))
                is_block = True
            batch.wake = batch.wake or is_block
        else:
            batch.wake = True

    def found_blocks_on_timer(self) -> None:
        """The poll timer found blocks ZMQ did not announce; re-subscribe after a few."""
        if not self._endpoints:
            return
        self._silent_finds += 1
        if self._silent_finds >= 3:
            event(
                self._log,
                logging.WARNING,
                "zmq_resubscribe",
                reason="the node advanced three times without a notification",
            )
            self._silent_finds = 0
            self.resubscribe()

    def __enter__(self) -> Waker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
