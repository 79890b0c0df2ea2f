"""The follower end to end against a real bitcoind: every way an operator can connect it
(cookie or user/password, REST or RPC blocks, ZMQ ``sequence``, ``hashblock`` or none) indexes
the devnet's Drey-like chain replayed into Core, keeps up while Core mines, and ends with
shards equal to a fresh index of Core's active chain."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ..indexer.follow.helpers import Running, assert_fresh_index
from .conftest import MakeCore, fresh_index, replay

pytestmark = pytest.mark.core


@pytest.mark.parametrize(
    ("auth", "rest", "zmq"),
    [
        ("cookie", True, "sequence"),
        ("password", True, "hashblock"),
        ("cookie", False, "hashblock"),
        ("password", False, "sequence"),
        ("cookie", True, "none"),
    ],
)
def test_follows_core_however_it_is_connected(
    make_core: MakeCore, activity_chain, tmp_path: Path, auth, rest, zmq
) -> None:
    core, chain, vault = replay(make_core, activity_chain, tmp_path / "dn",
                                auth=auth, rest=rest, zmq=zmq)  # fmt: skip
    assert core.rpc.getblockcount() == chain.height  # every activity block was accepted
    chain.close()
    cfg = core.follow_config(tmp_path / "shards", vault_scripts=(vault,))
    with Running(cfg) as run:
        run.wait_tip(core.rpc.getbestblockhash(), timeout=60)
        for n in (1, 3, 1):
            tip = core.mine(n)[-1]
            run.wait_tip(tip, timeout=30)
        # Core's notifications wake the follower; with none published only its timer does.
        # Give it a few blocks: Core publishes no hashblock while in initial block download
        # (the devnet's timestamps are historical) and a notification sent before the SUB
        # socket finished connecting is lost.
        for _ in range(10 if zmq != "none" else 0):
            if run.follower.stats.wakes.get("zmq", 0) > 0:
                break
            run.wait_tip(core.mine(1)[-1], timeout=30)
            time.sleep(0.3)
        sources, wakes = dict(run.follower.stats.sources), dict(run.follower.stats.wakes)
    assert sources.get("rest" if rest else "rpc", 0) > 0, sources
    assert (wakes.get("zmq", 0) > 0) is (zmq != "none"), wakes
    assert_fresh_index(tmp_path / "shards", fresh_index(core, vault))
