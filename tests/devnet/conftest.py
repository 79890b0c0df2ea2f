"""Fixtures for the devnet tests: chains in temporary data directories, a served node."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from btc.ord.envelope import Envelope
from devnet.chain import Chain
from devnet.node.server import DevNode
from devnet.node.zmqpub import TOPICS, NotifierConfig
from devnet.tx.wallet import CommitReveal
from indexer.node import RPCClient, ZMQSubscriber

from ..btc.ord_checks import Ord

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
    chain: Chain
    node: DevNode
    rpc: RPCClient
    sub: ZMQSubscriber
    zmq_address: str
    inscriptions: CommitReveal


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A chain with inscriptions, served with RPC (cookie), REST and every ZMQ topic on one
    loopback address; the subscriber is connected before any notification is published."""
    datadir = tmp_path_factory.mktemp("served") / "dd"
    chain = Chain.create(datadir, seed=b"served")
    chain.mine(101)
    cr = chain.inscribe(sample_envelopes(), fee_rate=2.0)
    chain.mine(2)
    node = DevNode(
        chain,
        rpc_port=0,
        rest=True,
        zmq=[NotifierConfig(t, "tcp://127.0.0.1:0") for t in TOPICS],
    )
    node.start()
    address = node.zmq_endpoints()["tcp://127.0.0.1:0"]
    sub = ZMQSubscriber(address, topics=TOPICS)
    time.sleep(0.3)  # ZMQ slow joiner: let the subscription reach the publisher
    rpc = RPCClient(node.url, cookie_file=chain.datadir.cookie_file)
    yield Served(chain, node, rpc, sub, address, cr)
    rpc.close()
    sub.close()
    node.stop()
    chain.close()
