"""The dev node as a separate process, killed (SIGKILL) and restarted under the follower."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from devnet.chain import Chain
from indexer.node import RPCClient

from .helpers import REPO, Running, assert_fresh_index, config_for, reference_from_blocks


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NodeProcess:
    def __init__(self, datadir: Path, rpc_port: int, zmq_port: int) -> None:
        self.datadir = datadir
        self.rpc_port = rpc_port
        self.zmq = f"tcp://127.0.0.1:{zmq_port}"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.rpc_port}/"

    @property
    def cookie(self) -> Path:
        return self.datadir / "regtest" / ".cookie"

    def start(self, *, warmup: float = 0.0) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable, "-m", "devnet", "node", "--datadir", str(self.datadir),
                "--rpc-port", str(self.rpc_port), "--rest", "--zmq-pub", self.zmq,
                "--warmup-seconds", str(warmup),
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )  # fmt: skip
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # printed once serving
        assert line, self.proc.stderr.read().decode() if self.proc.stderr else "node died"
        assert json.loads(line)["rpc"] == self.url

    def rpc(self) -> RPCClient:
        return RPCClient(self.url, cookie_file=self.cookie)

    def call(self, method: str, *params: object) -> object:
        deadline = time.monotonic() + 20
        while True:
            try:
                with self.rpc() as rpc:
                    return rpc.call(method, *params)
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, sig)
        self.proc.wait(20)

    def raw_chain(self) -> list[bytes]:
        with self.rpc() as rpc:
            height = rpc.getblockcount()
            hashes = [
                r.value() for r in rpc.batch([("getblockhash", [h]) for h in range(height + 1)])
            ]
            return [rpc.getblock_raw(h) for h in hashes]


def test_node_killed_and_restarted_under_the_follower(tmp_path: Path, caplog):
    datadir = tmp_path / "dn"
    with Chain.create(datadir, seed=b"restart") as chain:
        chain.mine(101)
    node = NodeProcess(datadir, free_port(), free_port())
    node.start()
    root = tmp_path / "shards"
    cfg = config_for(root, None, finality_depth=12)
    cfg = cfg.__class__(
        **{
            **{f: getattr(cfg, f) for f in cfg.__dataclass_fields__},
            "rpc_url": node.url,
            "rpc_cookie": node.cookie,
            "rest_url": node.url.rstrip("/"),
            "zmq": (node.zmq,),
        }
    )
    caplog.set_level(logging.INFO, logger="indexer.follow")
    envelope = {"content_type": "text/plain", "body_text": "before the crash"}
    try:
        with Running(cfg) as run:
            node.call("devnet_inscribe", [envelope])
            node.call("devnet_mine", 2)
            run.wait_tip(str(node.call("getbestblockhash")))

            # Crash: blocks the node had not flushed are gone when it comes back.
            node.kill(signal.SIGKILL)
            source = run.follower.source
            assert source is not None
            deadline = time.monotonic() + 10
            while source.retries == 0 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert source.retries > 0
            node.start(warmup=0.5)  # a new cookie, ZMQ counters from 0, -28 for a while
            time.sleep(0.5)  # let the SUB socket reconnect (ZMQ retries every 100 ms)
            node.call("devnet_inscribe", [{**envelope, "body_text": "after the crash"}])
            node.call("devnet_mine", 4)
            run.wait_tip(str(node.call("getbestblockhash")), timeout=60)

            # A clean stop and start as well.
            node.kill(signal.SIGTERM)
            node.start()
            time.sleep(0.5)
            node.call("devnet_mine", 2)
            run.wait_tip(str(node.call("getbestblockhash")), timeout=60)
            # Notifications published before the SUB socket reconnected are lost (the poll
            # timer covered them); the first one that arrives shows the counter restarted.
            for _ in range(10):
                if any(r.getMessage() == "zmq_publisher_restarted" for r in caplog.records):
                    break
                node.call("devnet_mine", 1)
                run.wait_tip(str(node.call("getbestblockhash")), timeout=60)
                time.sleep(0.2)
        messages = [r.getMessage() for r in caplog.records]
        reasons = " ".join(
            str(getattr(r, "fields", {}).get("reason", ""))
            for r in caplog.records
            if r.getMessage() == "waiting_for_node"
        )
        assert "node connection" in reasons
        assert "zmq_publisher_restarted" in messages
        assert_fresh_index(root, reference_from_blocks(iter(node.raw_chain())))
    finally:
        if node.proc is not None and node.proc.poll() is None:
            node.kill(signal.SIGKILL)
