"""Fixtures for the devnet tests: chains in temporary data directories, a served node."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest

from btc.ord.envelope import Envelope
from devnet.chain import Chain
from devnet.node.server import DevNode
from devnet.node.zmqpub import TOPICS, NotifierConfig
from devnet.tx.wallet import CommitReveal
from indexer.node import RPCClient, ZMQSubscriber

from ..btc.ord_checks import Ord
from ..core.bitcoind import Bitcoind

CBOR_METADATA = bytes.fromhex("a2616b6464726579617601")  # {"k": "drey", "v": 1}


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[Chain]:
    """A fresh devnet with 101 blocks (one mature coinbase)."""
    c = Chain.create(tmp_path / "dd", seed=b"test-seed")
    c.mine(101)
    yield c
    c.close()


def sample_envelopes() -> list[Envelope]:
    return [
        Envelope(body=b"hello, drey", content_type="text/plain;charset=utf-8"),
        Envelope(
            body=bytes(range(256)) * 5,  # 1280 bytes: three body chunks
            content_type="application/cbor",
            metaprotocol="drey/1",
            metadata=CBOR_METADATA * 60,  # 660 bytes: two tag-5 chunks
        ),
        Envelope(body=None, content_type="text/plain", content_encoding="br"),
        Envelope(
            body=b"child",
            content_type="text/plain",
            parents=("a" * 64 + "i0", "b" * 64 + "i300"),
            delegate="c" * 64 + "i1",
        ),
    ]


@pytest.fixture(scope="session")
def envelopes() -> list[Envelope]:
    return sample_envelopes()


@pytest.fixture(scope="session")
def ord_decoder() -> type[Ord]:
    return Ord


@dataclass
class Served:
    """A node serving the ``served`` chain, reached with the follower's clients: the dev node,
    or a real bitcoind given the same blocks by ``submitblock``. ``chain`` is the devnet that
    made the blocks (for the dev node, the chain it serves); the methods below change the chain
    the same way on both, so a conformance test reads the same on either."""

    kind: Literal["dev node", "bitcoind"]
    chain: Chain
    rpc: RPCClient
    sub: ZMQSubscriber
    zmq_address: str  # where the subscriber connected
    zmq_configured: str  # the address as the node reports it (getzmqnotifications)
    inscriptions: CommitReveal
    port: int
    cookie_file: Path
    node: DevNode | None = None
    core: Bitcoind | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def cookie(self) -> str:
        return self.cookie_file.read_text()

    def publish(self) -> None:
        """Give the node what the devnet mined (bitcoind; the dev node serves it already)."""
        if self.core is not None:
            self.core.sync_from(self.chain)

    def catch_up(self) -> None:
        """Give the devnet what reached the node by ``submitblock``, so it builds on it."""
        if self.core is not None:
            self.core.sync_to(self.chain)

    def mine_now(self) -> None:
        """One block stamped now (the node leaves initial block download)."""
        now = max(int(time.time()), self.chain.tip.median_time_past + 1)
        if self.core is None:
            self.rpc.call("devnet_mine", 1, [now])
        else:
            self.chain.mine(1, times=[now])
            self.publish()

    def inscribe_text(self, text: str, *, at: int) -> str:
        """A text/plain inscription mined in one block stamped ``at``; its reveal's txid."""
        if self.core is None:
            envelope = {"content_type": "text/plain", "body_text": text}
            return str(self.rpc.call("devnet_inscribe", [envelope], {"time": at})["reveal"])
        cr = self.chain.inscribe([Envelope(body=text.encode(), content_type="text/plain")], time=at)
        self.publish()
        return cr.reveal.txid_hex

    def reorg(self, fork_height: int) -> list[str]:
        """A competing branch on ``fork_height``, one block longer; its block hashes."""
        if self.core is None:
            return list(self.rpc.call("devnet_reorg", fork_height)["blocks"])
        blocks = self.chain.fork(fork_height)
        self.publish()
        return [b.header.hash_hex for b in blocks]


def _served_chain(datadir: Path) -> tuple[Chain, CommitReveal]:
    chain = Chain.create(datadir, seed=b"served")
    chain.mine(101)
    cr = chain.inscribe(sample_envelopes(), fee_rate=2.0)
    chain.mine(2)
    return chain, cr


def _subscribe(address: str) -> ZMQSubscriber:
    sub = ZMQSubscriber(address, topics=TOPICS)
    time.sleep(0.3)  # ZMQ slow joiner: let the subscription reach the publisher
    return sub


@pytest.fixture(scope="module")
def dev_served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The dev node serving a chain with inscriptions, with RPC (cookie), REST and every ZMQ
    topic on one loopback address; the subscriber is connected before any notification is
    published. For the dev node's own behaviour (its controls, its knobs)."""
    chain, cr = _served_chain(tmp_path_factory.mktemp("served") / "dd")
    node = DevNode(
        chain,
        rpc_port=0,
        rest=True,
        zmq=[NotifierConfig(t, "tcp://127.0.0.1:0") for t in TOPICS],
    )
    node.start()
    address = node.zmq_endpoints()["tcp://127.0.0.1:0"]
    sub = _subscribe(address)
    rpc = RPCClient(node.url, cookie_file=chain.datadir.cookie_file)
    cookie = chain.datadir.cookie_file
    yield Served("dev node", chain, rpc, sub, address, "tcp://127.0.0.1:0", cr, node.port, cookie,
                 node=node)  # fmt: skip
    rpc.close()
    sub.close()
    node.stop()
    chain.close()


def _core_served(tmp: Path, binary: Path) -> Iterator[Served]:
    """bitcoind with RPC (cookie), REST, every ZMQ topic on one address and ``-txindex`` (the
    dev node answers ``getrawtransaction`` as a node with a transaction index does), given the
    served chain's blocks after the subscriber connected."""
    chain, cr = _served_chain(tmp / "dd")
    core = Bitcoind(binary, tmp / "core", zmq="both")
    extra = [f"-zmqpub{t}={core.zmq_url}" for t in ("hashtx", "rawblock", "rawtx")]
    core.extra_args = (*extra, "-txindex=1")
    try:
        # A new data directory connects its genesis block at start and publishes it (counters
        # 0) before anyone can subscribe; restarted, Core has it and counts from 0 again.
        core.start().stop()
        core.start()
        sub = _subscribe(core.zmq_url)
        core.sync_from(chain)
        deadline = time.monotonic() + 30
        while not core.rpc.call("getindexinfo", "txindex")["txindex"]["synced"]:
            assert time.monotonic() < deadline, "bitcoind's txindex never synced"
            time.sleep(0.05)
        yield Served("bitcoind", chain, core.client(), sub, core.zmq_url, core.zmq_url, cr,
                     core.rpc_port, core.cookie, core=core)  # fmt: skip
        sub.close()
    finally:
        core.kill()
        chain.close()


@pytest.fixture(
    scope="module", params=["dev node", pytest.param("bitcoind", marks=pytest.mark.core)]
)
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[Served]:  # fmt: skip
    """The conformance fixture: every test taking it runs against the dev node and against a
    real bitcoind holding the same chain; a difference is a failing test or a documented
    exception (``served.kind``)."""
    if request.param == "dev node":
        yield request.getfixturevalue("dev_served")
        return
    binary = request.getfixturevalue("bitcoind_binary")
    yield from _core_served(tmp_path_factory.mktemp("served-core"), binary)
