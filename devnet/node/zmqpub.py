"""ZMQ notifications published the way bitcoind's ``CZMQNotificationInterface`` does.

Event mapping (Core ``src/zmq/zmqnotificationinterface.cpp``), driven by the kernel's own
validation events through :class:`devnet.chain.ChainListener`:

- ``BlockConnected`` → ``hashtx``/``rawtx`` for each transaction, then ``sequence`` ``<hash>C``;
- ``BlockDisconnected`` → ``hashtx``/``rawtx`` for each transaction, then ``<hash>D``;
- ``UpdatedBlockTip`` (the kernel's ``blockTip`` notification) → ``hashblock``/``rawblock`` for
  the new tip only, and nothing while the node is in initial block download.

Framing is ``[topic][body][uint32 LE counter]`` with one counter per notifier (topic ×
address) starting at 0; hashes are sent in display byte order, as Core reverses them. Notifiers
sharing an address share one PUB socket (Core's ``mapPublishNotifiers``); ``-zmqpub<topic>hwm``
sets SNDHWM (default 1000), TCP keepalive and IPv6 are enabled. No mempool exists, so ``A``/``R``
sequence messages are never produced.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from struct import pack

import zmq

from devnet.chain import BlockEvent, TipEvent
from devnet.errors import BadArgumentError, NodeServeError

TOPICS = ("hashblock", "hashtx", "rawblock", "rawtx", "sequence")
DEFAULT_HWM = 1000


@dataclass(frozen=True, slots=True)
class NotifierConfig:
    topic: str
    address: str
    hwm: int = DEFAULT_HWM

    def __post_init__(self) -> None:
        if self.topic not in TOPICS:
            raise BadArgumentError(f"unknown ZMQ topic {self.topic!r} (known: {', '.join(TOPICS)})")
        if self.hwm < 0:
            raise BadArgumentError(f"ZMQ high water mark must be ≥ 0, got {self.hwm}")
        if "://" not in self.address and not self.address.startswith("unix:"):
            raise BadArgumentError(f"ZMQ address {self.address!r} is not a ZeroMQ endpoint")


class _Notifier:
    def __init__(self, cfg: NotifierConfig, socket: zmq.Socket) -> None:
        self.cfg = cfg
        self.socket = socket
        self.sequence = 0

    def send(self, body: bytes) -> None:
        self.socket.send_multipart(
            [self.cfg.topic.encode(), body, pack("<I", self.sequence)], copy=False
        )
        self.sequence = (self.sequence + 1) & 0xFFFFFFFF


class ZMQPublisher:
    """Bind PUB sockets for ``configs`` and publish chain events (a ``ChainListener``)."""

    def __init__(
        self, configs: Sequence[NotifierConfig], *, context: zmq.Context | None = None
    ) -> None:
        self._own_context = context is None
        self._ctx = context or zmq.Context()
        self._lock = threading.Lock()
        # Core builds notifiers from a std::map keyed by "pub<topic>", so types come sorted.
        ordered = sorted(enumerate(configs), key=lambda ic: (ic[1].topic, ic[0]))
        sockets: dict[str, zmq.Socket] = {}
        self._notifiers: list[_Notifier] = []
        try:
            for _, cfg in ordered:
                address = (
                    "ipc:" + cfg.address[5:] if cfg.address.startswith("unix:") else cfg.address
                )
                sock = sockets.get(address)
                if sock is None:
                    sock = self._ctx.socket(zmq.PUB)
                    sock.setsockopt(zmq.SNDHWM, cfg.hwm)
                    sock.setsockopt(zmq.TCP_KEEPALIVE, 1)
                    sock.setsockopt(zmq.IPV6, 1)
                    sock.setsockopt(zmq.LINGER, 0)
                    try:
                        sock.bind(address)
                    except zmq.ZMQError as exc:
                        sock.close(linger=0)
                        raise NodeServeError(
                            f"cannot bind ZMQ {cfg.topic} to {address}: {exc}"
                        ) from None
                    sockets[address] = sock
                self._notifiers.append(_Notifier(cfg, sock))
        except BaseException:
            for s in sockets.values():
                s.close(linger=0)
            raise
        self._sockets = list(sockets.values())

    def endpoints(self) -> dict[str, str]:
        """Bound endpoint per configured address (resolves ``tcp://127.0.0.1:0``/``*``)."""
        out = {}
        for n in self._notifiers:
            endpoint = n.socket.getsockopt_string(zmq.LAST_ENDPOINT)
            # With ZMQ_IPV6 an IPv4 bind reports an IPv4-mapped address; show it as IPv4.
            out[n.cfg.address] = (
                endpoint.replace("[::ffff:", "").replace("]:", ":", 1)
                if "[::ffff:" in endpoint
                else endpoint
            )
        return out

    def notifications(self) -> list[dict[str, object]]:
        """``getzmqnotifications`` result."""
        return [
            {"type": f"pub{n.cfg.topic}", "address": n.cfg.address, "hwm": n.cfg.hwm}
            for n in self._notifiers
        ]

    # -- ChainListener --------------------------------------------------------------------------
    def block_connected(self, event: BlockEvent) -> None:
        self._transactions(event)
        self._sequence(event.hash, b"C")

    def block_disconnected(self, event: BlockEvent) -> None:
        self._transactions(event)
        self._sequence(event.hash, b"D")

    def tip_updated(self, event: TipEvent) -> None:
        if event.initial_download:
            return
        with self._lock:
            for n in self._notifiers:
                if n.cfg.topic == "hashblock":
                    n.send(event.hash[::-1])
                elif n.cfg.topic == "rawblock":
                    n.send(event.raw)

    def _transactions(self, event: BlockEvent) -> None:
        with self._lock:
            if not any(n.cfg.topic in ("hashtx", "rawtx") for n in self._notifiers):
                return
            for tx in event.block.transactions:
                for n in self._notifiers:
                    if n.cfg.topic == "hashtx":
                        n.send(tx.txid[::-1])
                    elif n.cfg.topic == "rawtx":
                        n.send(tx.serialize())

    def _sequence(self, block_hash: bytes, label: bytes) -> None:
        with self._lock:
            for n in self._notifiers:
                if n.cfg.topic == "sequence":
                    n.send(block_hash[::-1] + label)

    def close(self) -> None:
        with self._lock:
            for s in self._sockets:
                s.close(linger=0)
            self._sockets = []
            if self._own_context:
                self._ctx.term()
