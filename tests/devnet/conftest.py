"""Fixtures for the devnet tests: chains in temporary data directories, a served node."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from devnet.chain import Chain
from devnet.node.server import DevNode
from devnet.node.zmqpub import TOPICS, NotifierConfig
from devnet.tx.envelope import Envelope
from devnet.tx.wallet import CommitReveal
from indexer.bitcoin import Transaction
from indexer.inscriptions import Inscription, envelopes_from_tapscript, tapscript_from_witness
from indexer.node import RPCClient, ZMQSubscriber

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


class Ord:
    """The project's inscription decoder (indexer.inscriptions, ord 0.27 rules) applied to what
    the devnet wrote."""

    @staticmethod
    def decode_script(script: bytes, input_index: int = 0) -> list[Inscription]:
        return [Inscription.from_envelope(e) for e in envelopes_from_tapscript(script, input_index)]

    @staticmethod
    def decode_tx(tx: Transaction) -> list[Inscription]:
        out: list[Inscription] = []
        for i, txin in enumerate(tx.inputs):
            script = tapscript_from_witness(txin.witness)
            if script is not None:
                out += Ord.decode_script(script, i)
        return out

    @staticmethod
    def assert_same(found: Inscription, env: Envelope) -> None:
        """Every field the envelope wrote reads back as ord reads it."""

        def text(v: str | bytes | None) -> bytes | None:
            return v.encode() if isinstance(v, str) else v

        assert found.body == env.body
        assert found.content_type_raw == text(env.content_type)
        assert found.metaprotocol_raw == text(env.metaprotocol)
        assert found.content_encoding_raw == text(env.content_encoding)
        assert found.metadata == env.metadata
        assert found.pointer == env.pointer
        assert [str(p) for p in found.parents] == list(env.parents)
        assert (str(found.delegate) if found.delegate else None) == env.delegate
        # Chunked metadata and several parents are repeated tags: ord flags a duplicate field.
        repeated = (env.metadata is not None and len(env.metadata) > 520) or len(env.parents) > 1
        expected = ("duplicate_field",) if repeated else ()
        assert found.flags == expected


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
