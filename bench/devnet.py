"""Devnet benchmarks: mining + kernel validation, RPC throughput, ZMQ latency.

    uv run python bench/devnet.py [--empty 500] [--inscription-blocks 5] [--rpc-seconds 3]

Figures:
- empty blocks/s: ``Chain.mine`` (build, grind, ``process_block``, state update) per block;
- 100-inscription blocks: building 100 commit/reveal pairs (wallet + BIP340 signing) and
  validating the 201-transaction block, timed separately;
- RPC calls/s: sequential ``getblockcount`` and ``getblock <hash> 1`` over one keep-alive
  connection, and 100-call ``getblockhash`` batches (calls/s counted per call);
- ZMQ latency: from just before ``submit_block`` (which calls the kernel's ``process_block``)
  to receipt of the ``sequence`` ``C`` and ``hashblock`` messages by a subscriber thread in the
  same process (same monotonic clock), over blocks stamped near now (out of IBD).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

# This script is named like the package it measures: keep its own directory off sys.path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from btc.ord.envelope import Envelope  # noqa: E402
from devnet.chain import Chain  # noqa: E402
from devnet.node.server import DevNode  # noqa: E402
from devnet.node.zmqpub import NotifierConfig  # noqa: E402
from indexer.node import RPCClient, ZMQSubscriber  # noqa: E402


def bench_empty(root: Path, n: int) -> float:
    with Chain.create(root / "empty", seed="bench") as chain:
        start = time.perf_counter()
        chain.mine(n)
        return n / (time.perf_counter() - start)


def bench_inscriptions(root: Path, blocks: int, per_block: int) -> tuple[float, float, int]:
    with Chain.create(root / "insc", seed="bench") as chain:
        chain.mine(101 + blocks)
        build = validate = 0.0
        size = 0
        for b in range(blocks):
            t0 = time.perf_counter()
            txs = []
            for i in range(per_block):
                cr = chain.wallet.inscribe(
                    [
                        Envelope(
                            body=f"drey message {b}/{i} ".encode() * 20,
                            content_type="application/cbor",
                            metaprotocol="drey/1",
                            metadata=bytes(64),
                        )
                    ],
                    next_height=chain.height + 1,
                )
                txs += cr.transactions
            t1 = time.perf_counter()
            block = chain.mine_block(txs)
            t2 = time.perf_counter()
            build += t1 - t0
            validate += t2 - t1
            size = len(block.serialize())
        return blocks / build, blocks / validate, size


def bench_rpc(root: Path, seconds: float) -> dict[str, float]:
    out = {}
    with Chain.create(root / "rpc", seed="bench") as chain:
        chain.mine(200)
        with DevNode(chain, rpc_port=0) as node:
            rpc = RPCClient(node.url, cookie_file=chain.datadir.cookie_file)
            tip = rpc.getbestblockhash()
            for name, call in (
                ("getblockcount", lambda: rpc.getblockcount()),
                ("getblock verbosity 1", lambda: rpc.getblock(tip, 1)),
            ):
                n, start = 0, time.perf_counter()
                while time.perf_counter() - start < seconds:
                    call()
                    n += 1
                out[name] = n / (time.perf_counter() - start)
            calls = [("getblockhash", [h % 200]) for h in range(100)]
            n, start = 0, time.perf_counter()
            while time.perf_counter() - start < seconds:
                rpc.batch(calls)
                n += len(calls)
            out["getblockhash in batches of 100"] = n / (time.perf_counter() - start)
            rpc.close()
    return out


def bench_zmq(root: Path, n: int) -> dict[str, list[float]]:
    with Chain.create(root / "zmq", seed="bench") as chain:
        chain.mine(1, times=[int(time.time()) - 3600])  # leave IBD
        with DevNode(
            chain,
            rpc_port=0,
            zmq=[NotifierConfig(t, "tcp://127.0.0.1:0") for t in ("hashblock", "sequence")],
        ) as node:
            address = node.zmq_endpoints()["tcp://127.0.0.1:0"]
            received: dict[tuple[str, bytes], int] = {}
            done = threading.Event()

            def listen() -> None:
                with ZMQSubscriber(address, topics=("hashblock", "sequence")) as sub:
                    ready.set()
                    while not done.is_set():
                        msg = sub.receive(timeout=0.1)
                        if msg is not None:
                            received[(msg.topic, msg.hash)] = msg.received_ns

            ready = threading.Event()
            t = threading.Thread(target=listen)
            t.start()
            ready.wait()
            time.sleep(0.3)
            sent: dict[bytes, int] = {}
            base = chain.tip.time
            for i in range(n):
                block = chain.build_block(time=base + 1 + i)
                sent[block.hash] = time.monotonic_ns()
                chain.submit_block(block)
                time.sleep(0.002)
            time.sleep(0.5)
            done.set()
            t.join()
    lat: dict[str, list[float]] = {"sequence": [], "hashblock": []}
    for h, t0 in sent.items():
        for topic in lat:
            if (topic, h) in received:
                lat[topic].append((received[(topic, h)] - t0) / 1e6)
    return lat


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--empty", type=int, default=500)
    p.add_argument("--inscription-blocks", type=int, default=5)
    p.add_argument("--per-block", type=int, default=100)
    p.add_argument("--rpc-seconds", type=float, default=3.0)
    p.add_argument("--zmq-blocks", type=int, default=300)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        print(f"empty blocks mined+validated: {bench_empty(root, args.empty):.0f} blocks/s")
        build, validate, size = bench_inscriptions(root, args.inscription_blocks, args.per_block)
        print(
            f"blocks with {args.per_block} inscriptions ({size} bytes): build {build:.2f} blocks/s, "
            f"mine+validate {validate:.2f} blocks/s"
        )
        for name, rate in bench_rpc(root, args.rpc_seconds).items():
            print(f"RPC {name}: {rate:.0f} calls/s")
        for topic, values in bench_zmq(root, args.zmq_blocks).items():
            values.sort()
            print(
                f"ZMQ {topic} latency from submit_block over {len(values)} blocks: "
                f"median {statistics.median(values):.3f} ms, p99 {values[int(len(values) * 0.99) - 1]:.3f} ms, "
                f"max {values[-1]:.3f} ms"
            )


if __name__ == "__main__":
    main()
