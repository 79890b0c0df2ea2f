"""What wakes the follower: ZMQ ``sequence``/``hashblock`` messages, or a poll timer.

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
from indexer.node import SequenceTracker, ZMQSubscriber
from indexer.node.errors import NodeError

WAKE_TOPICS = ("sequence", "hashblock")


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
        """The next wake-up: at the first ZMQ message (then drain what else is queued), or
        after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        msg = None
        while msg is None:
            left = deadline - time.monotonic()
            if self._stop.is_set():
                return Wake("stop")
            if left <= 0:
                return Wake("timer")
            if self._sub is None:
                self._stop.wait(min(left, 0.25))
                continue
            try:
                # Short slices keep a stop request (SIGTERM) answered within a quarter second.
                msg = self._sub.receive(min(left, 0.25))
            except NodeError as exc:
                event(self._log, logging.WARNING, "zmq_bad_message", reason=str(exc))
                return Wake("zmq")
        first_ns = msg.received_ns
        count, missed, restarted = 0, 0, False
        while msg is not None:
            count += 1
            if msg.missed:
                missed += msg.missed
                self.gaps += 1
                event(
                    self._log,
                    logging.WARNING,
                    "zmq_gap",
                    topic=msg.topic,
                    missed=msg.missed,
                    sequence=msg.sequence,
                    action="reconciling with the node's tip",
                )
            if msg.restarted:
                restarted = True
                event(
                    self._log,
                    logging.INFO,
                    "zmq_publisher_restarted",
                    topic=msg.topic,
                    sequence=msg.sequence,
                )
            try:
                msg = self._sub.receive(0)
            except NodeError:
                msg = None
        self.messages += count
        self.missed += missed
        self._silent_finds = 0
        return Wake("zmq", count, missed, restarted, first_ns)

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
