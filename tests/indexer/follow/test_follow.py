"""The follower end to end against the dev node: from genesis to the tip while blocks with
inscriptions and vault activity arrive, reorgs (shallow and beyond the finality zone), lost
ZMQ messages, node warm-up, overload and restarts. After each scenario the committed shards
equal a fresh index of the final chain."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest
import zmq

from indexer.follow import DeepReorgError, Follower, committed_files, read_manifest
from indexer.follow.store import ShardStore
from indexer.node import RPCClient, WorkQueueFullError

from .helpers import (
    Activity,
    Running,
    assert_fresh_index,
    config_for,
    disk_files,
    follow_to_tip_cli,
    new_chain,
    reference,
    serve,
    write_toml,
)


def test_follows_from_genesis_while_inscriptions_and_vault_activity_arrive(tmp_path: Path):
    chain = new_chain(tmp_path / "dn")
    act = Activity.create(chain, seed=7)
    node = serve(chain)
    root = tmp_path / "shards"
    cfg = config_for(root, node, vault_scripts=(act.vault_script,))
    try:
        with Running(cfg) as run:
            run.wait_tip(chain.tip.hash_hex)
            for _ in range(4):
                act.inscribe(2)
                act.pay_vault()
                act.mine(2)
                act.spend_vault()
                run.wait_tip(chain.tip.hash_hex)
            act.mine(cfg.finality_depth + cfg.range_blocks)
            run.wait_tip(chain.tip.hash_hex)
            stats = run.follower.stats
        expected = reference(chain, vault_scripts=(act.vault_script,))
        assert len(expected["inscriptions"]) == 8
        # Four payments, four spends (each returning change to the vault script).
        assert len(expected["vault_outputs"]) == 8 and len(expected["vault_spends"]) == 4
        assert_fresh_index(root, expected)
        m = read_manifest(root)
        assert m is not None
        # Below the final height: aligned range shards; above it: one block per segment.
        for s in m.segments:
            if s.end <= m.final_height:
                assert s.end == min(m.final_height, (s.start // 5 + 1) * 5 - 1) or s.end % 5 == 4
            else:
                assert s.start == s.end
        assert stats.compactions > 0
        assert stats.wakes.get("zmq", 0) > 0
        # Nothing but committed files is left on disk (retire_grace is 0).
        assert disk_files(root) == m.committed_paths()
        # The hive layout: table/height_bucket=B/start-end-hash.parquet
        for p in committed_files(root, "inscriptions"):
            assert p.parent.name.startswith("height_bucket=")
    finally:
        node.stop()
        chain.close()


@pytest.mark.parametrize("depth", [1, 3])
def test_reorg_rolls_back_and_restores_the_vault_set(tmp_path: Path, depth: int):
    chain = new_chain(tmp_path / "dn")
    act = Activity.create(chain, seed=depth)
    act.pay_vault()
    act.mine(8)  # the vault output is final
    node = serve(chain)
    root = tmp_path / "shards"
    scripts = (act.vault_script,)
    cfg = config_for(root, node, vault_scripts=scripts)
    try:
        with Running(cfg) as run:
            run.wait_tip(chain.tip.hash_hex)
            # The stale branch (the top `depth` blocks): a vault spend, and from depth 3 on an
            # inscription before it and an empty block after it.
            if depth >= 3:
                act.inscribe(1)
            assert act.spend_vault()
            if depth >= 3:
                act.mine(depth - 2)
            run.wait_tip(chain.tip.hash_hex)
            stale = chain.tip.hash_hex
            act.reorg(depth)
            run.wait_tip(chain.tip.hash_hex)
            assert run.follower.stats.reorgs == 1
            assert run.follower.stats.rolled_back == depth
            # The vault output is unspent again: spending it on the new branch must be seen.
            assert act.spend_vault()
            act.mine(1)
            run.wait_tip(chain.tip.hash_hex)
        expected = reference(chain, vault_scripts=scripts)
        assert len(expected["vault_spends"]) == 1
        assert_fresh_index(root, expected)
        assert stale not in {r["hash"] for r in expected["blocks"]}
    finally:
        node.stop()
        chain.close()


def test_reorg_beyond_the_finality_zone_stops_and_rebuild_recovers(tmp_path: Path):
    chain = new_chain(tmp_path / "dn")
    act = Activity.create(chain)
    node = serve(chain)
    root = tmp_path / "shards"
    cfg = config_for(root, node, finality_depth=3)
    try:
        with Running(cfg) as run:
            act.inscribe(1)
            act.mine(4)
            run.wait_tip(chain.tip.hash_hex)
        before = read_manifest(root)
        assert before is not None
        fork = chain.height - 5  # 5 > finality_depth 3
        act.reorg(5)
        run = Running(cfg).start()
        run.join(30)
        assert isinstance(run.error, DeepReorgError)
        message = str(run.error)
        assert f"--rebuild-from {fork + 1}" in message
        assert "finality_depth 3" in message
        assert run.error.fork_height == fork
        after = read_manifest(root)
        assert after is not None and after.segments == before.segments  # nothing changed
        # The command line says the same, with its own exit status.
        cli = follow_to_tip_cli(write_toml(tmp_path / "follow.toml", cfg))
        assert cli.returncode == 3, cli.stderr
        assert f"--rebuild-from {fork + 1}" in cli.stderr
        # The documented recovery: re-index from the fork.
        run = Running(cfg)
        run.rebuild_from = fork + 1
        with run:
            run.wait_tip(chain.tip.hash_hex)
        assert_fresh_index(root, reference(chain))
    finally:
        node.stop()
        chain.close()


class Relay:
    """A ZMQ relay between the node and the follower that can drop messages (a slow or
    disconnected subscriber loses them at the publisher in just this way)."""

    def __init__(self, upstream: str) -> None:
        self.ctx = zmq.Context()
        self.sub = self.ctx.socket(zmq.SUB)
        self.sub.setsockopt(zmq.SUBSCRIBE, b"")
        self.sub.connect(upstream)
        self.pub = self.ctx.socket(zmq.PUB)
        self.pub.bind("tcp://127.0.0.1:0")
        self.endpoint = self.pub.getsockopt_string(zmq.LAST_ENDPOINT)
        self.drop = threading.Event()
        self.dropped = 0
        self.forwarded = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            if self.sub.poll(50):
                frames = self.sub.recv_multipart()
                if self.drop.is_set():
                    self.dropped += 1
                else:
                    self.pub.send_multipart(frames)
                    self.forwarded += 1

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sub.close(0)
        self.pub.close(0)
        self.ctx.term()


def test_lost_zmq_messages_are_detected_and_reconciled(tmp_path: Path, caplog):
    chain = new_chain(tmp_path / "dn")
    act = Activity.create(chain)
    node = serve(chain)
    relay = Relay(node.zmq)
    root = tmp_path / "shards"
    # A poll timer that never fires during the test: only notifications wake the follower.
    cfg = config_for(root, node, zmq=(relay.endpoint,), poll_interval=600)
    caplog.set_level(logging.INFO, logger="indexer.follow")
    try:
        with Running(cfg) as run:
            run.wait_tip(chain.tip.hash_hex)
            for _ in range(30):  # until a relayed notification gets through (slow joiners)
                act.mine(1)
                try:
                    run.wait_tip(chain.tip.hash_hex, timeout=1)
                    break
                except AssertionError:
                    continue
            run.wait_tip(chain.tip.hash_hex, timeout=1)
            relay.drop.set()
            act.inscribe(1)
            act.mine(3)
            lost_tip = chain.tip.hash_hex
            threading.Event().wait(0.3)
            m = read_manifest(root)
            assert m is not None and m.tip_hash != lost_tip  # nobody told the follower
            relay.drop.clear()
            act.mine(1)
            run.wait_tip(chain.tip.hash_hex, timeout=10)
            waker = run.follower.waker
            assert waker is not None and waker.gaps >= 1 and waker.missed >= 4
            assert run.follower.stats.wakes.get("timer", 0) == 0
        assert relay.dropped >= 4
        assert any("zmq_gap" in r.getMessage() for r in caplog.records)
        assert_fresh_index(root, reference(chain))
    finally:
        relay.close()
        node.stop()
        chain.close()


def test_silent_zmq_falls_back_to_polling(tmp_path: Path):
    chain = new_chain(tmp_path / "dn")
    node = serve(chain)
    root = tmp_path / "shards"
    # Nothing publishes there: the poll timer must do all the work.
    cfg = config_for(root, node, zmq=("tcp://127.0.0.1:1",), poll_interval=0.1)
    try:
        with Running(cfg) as run:
            run.wait_tip(chain.tip.hash_hex)
            for _ in range(4):
                chain.mine(1)
                run.wait_tip(chain.tip.hash_hex, timeout=10)
            waker = run.follower.waker
            assert waker is not None and waker.resubscribes >= 1
            assert run.follower.stats.wakes.get("zmq", 0) == 0
        assert_fresh_index(root, reference(chain))
    finally:
        node.stop()
        chain.close()


def test_waits_through_warmup_and_work_queue_503(tmp_path: Path, caplog):
    chain = new_chain(tmp_path / "dn", blocks=60)
    # One request in flight at most (rpcthreads 1, rpcworkqueue 0): beyond it, HTTP 503.
    node = serve(chain, warmup="Loading block index…", rpc_threads=1, rpc_work_queue=0)
    root = tmp_path / "shards"
    cfg = config_for(root, node, fetch_workers=2)
    caplog.set_level(logging.INFO, logger="indexer.follow")
    held = threading.Event()

    def hold_the_only_slot() -> None:
        # waitfornewblock keeps its slot for 1.5 s: every other request meanwhile gets 503.
        with RPCClient(node.url, cookie_file=node.cookie) as rpc:
            while True:
                try:
                    rpc.call("waitfornewblock", 1500)
                    held.set()
                    return
                except WorkQueueFullError:
                    continue

    try:
        with Running(cfg) as run:
            threading.Event().wait(0.5)
            m = read_manifest(root)
            assert m is not None and m.tip_hash is None
            node.node.set_warmup(None)
            blocker = threading.Thread(target=hold_the_only_slot)
            blocker.start()
            run.wait_tip(chain.tip.hash_hex, timeout=60)
            blocker.join(10)
            assert held.is_set()
            assert run.follower.source is not None and run.follower.source.retries > 0
        messages = [r.getMessage() for r in caplog.records]
        reasons = [
            getattr(r, "fields", {}).get("reason", "")
            for r in caplog.records
            if r.getMessage() == "waiting_for_node"
        ]
        assert any("warming up (Loading block index" in x for x in reasons)
        assert any("overloaded (HTTP 503" in x for x in reasons)
        assert "node_available" in messages
        assert_fresh_index(root, reference(chain))
    finally:
        node.stop()
        chain.close()


def test_restart_cleans_uncommitted_files_and_resumes(tmp_path: Path):
    chain = new_chain(tmp_path / "dn", blocks=40)
    node = serve(chain)
    root = tmp_path / "shards"
    cfg = config_for(root, node)
    try:
        with Running(cfg) as run:
            run.wait_tip(chain.tip.hash_hex)
        # Leftovers of a crash: a written-but-uncommitted segment and a temporary file.
        garbage = root / "blocks/height_bucket=40/000000041-000000041-0000000000000000.parquet"
        garbage.parent.mkdir(parents=True, exist_ok=True)
        garbage.write_bytes(b"PAR1 junk")
        tmp = root / "inscriptions/height_bucket=0/.000000001-000000001-x.parquet.123.tmp"
        tmp.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(b"half")
        chain.mine(3)
        with Running(cfg) as run:
            run.wait_tip(chain.tip.hash_hex)
        assert not garbage.exists() and not tmp.exists()
        assert_fresh_index(root, reference(chain))
    finally:
        node.stop()
        chain.close()


def test_a_second_follower_on_the_same_root_is_refused(tmp_path: Path):
    from indexer.follow.errors import ShardRootBusyError
    from indexer.follow.manifest import Manifest

    empty = Manifest.empty(
        settings={
            "network": "regtest",
            "start_height": 0,
            "vault_scripts": [],
            "vault_outpoints": [],
        },
        range_blocks=5,
        bucket_blocks=20,
    )
    log = logging.getLogger("test")
    with (
        ShardStore.open(tmp_path, empty=empty, retire_grace=0, log=log),
        pytest.raises(ShardRootBusyError, match="locked by another follower"),
    ):
        ShardStore.open(tmp_path, empty=empty, retire_grace=0, log=log)


def test_changed_settings_need_a_rebuild(tmp_path: Path):
    chain = new_chain(tmp_path / "dn", blocks=20)
    node = serve(chain)
    root = tmp_path / "shards"
    try:
        with Running(config_for(root, node)) as run:
            run.wait_tip(chain.tip.hash_hex)
        changed = config_for(root, node, vault_scripts=(bytes.fromhex("5120" + "11" * 32),))
        with pytest.raises(Exception, match="rebuild-from 0"):
            Follower(changed).open()
    finally:
        node.stop()
        chain.close()


def test_rebuild_from_the_middle_of_a_range_keeps_the_vault_set(tmp_path: Path):
    chain = new_chain(tmp_path / "dn")
    act = Activity.create(chain, seed=9)
    act.pay_vault()
    act.pay_vault()
    act.mine(3)
    assert act.spend_vault()
    act.inscribe(2)
    act.mine(12)
    node = serve(chain)
    root = tmp_path / "shards"
    scripts = (act.vault_script,)
    cfg = config_for(root, node, vault_scripts=scripts)
    try:
        with Running(cfg) as run:
            run.wait_tip(chain.tip.hash_hex)
        before = read_manifest(root)
        assert before is not None and len(before.vault_unspent) == 2
        height = 103  # inside the range shard 100-104, after the vault payments
        assert any(s.start < height <= s.end for s in before.segments)
        run = Running(cfg)
        run.rebuild_from = height
        with run:
            # The tip is the same before and after: wait for the re-indexed commit.
            run.wait_tip(chain.tip.hash_hex, after_version=before.version + 1)
        after = read_manifest(root)
        assert after is not None
        assert after.vault_unspent == before.vault_unspent
        assert_fresh_index(root, reference(chain, vault_scripts=scripts))
    finally:
        node.stop()
        chain.close()
