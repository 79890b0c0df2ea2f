"""The chain changing under the follower at the worst moments: between two batches of one
backfill (a block's parent is no longer the previous block), and a node that is behind the
committed tip (restarted from an older copy of the chain). The shards end equal to a fresh
index of the node's final chain."""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import replace
from pathlib import Path

from devnet.chain import Chain

from .helpers import Running, assert_fresh_index, config_for, new_chain, reference, serve
from .tamper import TamperProxy


def _events(caplog, name: str) -> list[dict]:  # type: ignore[no-untyped-def]
    return [r.fields for r in caplog.records if r.getMessage() == name]


def test_a_reorg_between_two_hash_batches_of_a_backfill(tmp_path: Path, caplog) -> None:
    chain = new_chain(tmp_path / "dn", blocks=140)
    node = serve(chain)
    batches = 0
    forked = threading.Event()

    def reorg_after_the_second_batch(body: bytes) -> None:
        nonlocal batches
        calls = json.loads(body)
        if isinstance(calls, list) and calls and calls[0].get("method") == "getblockhash":
            batches += 1
            if batches == 4:  # the follower holds old hashes up to 59, has ingested fewer
                with chain.lock:
                    chain.fork(50)  # replaces 51.. (hashed, not yet ingested) and beyond
                forked.set()

    try:
        with TamperProxy(node.url, lambda h, raw: raw) as proxy:
            proxy.on_rpc = reorg_after_the_second_batch
            cfg = replace(
                config_for(tmp_path / "shards", node, zmq=()),
                rpc_url=proxy.url,
                rest_url=proxy.url.rstrip("/"),
                hash_batch=20,
                finality_depth=100,  # the fork (at 50) stays inside the tip zone
            )
            with caplog.at_level(logging.INFO, logger="indexer.follow"), Running(cfg) as run:
                assert forked.wait(30)
                run.wait_tip(chain.tip.hash_hex, timeout=60)
        assert batches >= 4
        changed = _events(caplog, "chain_changed")
        assert changed and changed[0]["action"] == "re-checking the node's chain"
        assert_fresh_index(tmp_path / "shards", reference(chain))
    finally:
        node.stop()
        chain.close()


def test_a_node_behind_the_committed_tip_is_waited_for(tmp_path: Path, caplog) -> None:
    ahead = new_chain(tmp_path / "a", blocks=110, seed=b"same")
    root = tmp_path / "shards"
    node = serve(ahead)
    try:
        with Running(config_for(root, node, zmq=())) as run:
            run.wait_tip(ahead.tip.hash_hex)
    finally:
        node.stop()
        ahead.close()
    # The same chain, restored from a copy 6 blocks older: the committed tip is unknown to it.
    behind = new_chain(tmp_path / "b", blocks=104, seed=b"same")
    node = serve(behind)
    try:
        cfg = config_for(root, node, zmq=(), poll_interval=0.1)
        with caplog.at_level(logging.INFO, logger="indexer.follow"), Running(cfg) as run:
            waiting = _events(caplog, "node_behind")
            for _ in range(100):
                if waiting:
                    break
                run.stop_event.wait(0.05)
                waiting = _events(caplog, "node_behind")
            assert waiting and waiting[0]["committed_tip"] == 110
            assert waiting[0]["node_height"] == 104
            behind.mine(8)  # the node catches up (the same blocks), then goes beyond
            run.wait_tip(behind.tip.hash_hex, timeout=30)
            assert run.follower.stats.reorgs == 0
        assert_fresh_index(root, reference(behind))
        assert isinstance(behind, Chain)
    finally:
        node.stop()
        behind.close()


def test_a_block_the_node_no_longer_knows_ends_the_batch_and_resyncs(
    tmp_path: Path, caplog
) -> None:
    """A node that listed a block and then answers -5 for it (what a killed Core that lost its
    unflushed blocks does): the follower commits what it has, re-checks the chain, asks again
    and ends equal to a fresh index; nothing fails."""
    chain = new_chain(tmp_path / "dn", blocks=60)
    node = serve(chain)
    try:
        with TamperProxy(node.url, lambda h, raw: raw) as proxy:
            lost = chain.hash_at(40)[::-1].hex()
            proxy.forget = {lost}
            cfg = replace(
                config_for(tmp_path / "shards", node, zmq=()),
                rpc_url=proxy.url,
                rest_url=None,  # blocks by getblock, the call that answers -5
            )
            with caplog.at_level(logging.INFO, logger="indexer.follow"), Running(cfg) as run:
                run.wait_tip(chain.tip.hash_hex, timeout=60)
            assert not proxy.forget, "the block was never asked for"
        changed = _events(caplog, "chain_changed")
        assert [e["block"] for e in changed] == [lost]
        assert changed[0]["reason"] == "the node no longer knows this block"
        assert_fresh_index(tmp_path / "shards", reference(chain))
    finally:
        node.stop()
        chain.close()
