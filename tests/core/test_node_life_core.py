"""A real bitcoind's life under the follower: clean restarts and SIGKILLs (Core replays or
loses what it had not flushed, answers -28 while it loads), a node killed in the middle of a
backfill, and the follower itself SIGKILLed while Core keeps mining. Each time the follower
waits, resumes, and ends with shards equal to a fresh index of Core's active chain."""

from __future__ import annotations

import logging
import random
import threading
import time
from pathlib import Path

import pytest

from indexer.follow import read_manifest
from indexer.node.errors import NodeError, RPCWarmupError

from ..indexer.follow.helpers import (
    Running,
    assert_fresh_index,
    follow_process,
    follow_to_tip_cli,
    sigkill,
    wait_until,
    write_toml,
)
from .conftest import MakeCore, fresh_index, replay

pytestmark = pytest.mark.core


def test_core_warming_up_answers_minus_28_which_the_client_names(make_core: MakeCore) -> None:
    """What the follower's retry rests on, from real Core: between refusing connections and
    serving, RPC answers -28 ("Loading block index…"), classified as :class:`RPCWarmupError`."""
    core = make_core().start()
    core.mine(200)
    core.stop()
    core.start(wait=False)
    seen: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            core.client().getblockcount()
            break
        except RPCWarmupError as exc:
            seen.append(exc.message)
        except (NodeError, OSError):
            pass
        time.sleep(0.002)
    assert seen, "never saw -28 while Core started"
    assert any("Loading" in m for m in seen), seen


@pytest.mark.parametrize("auth", ["password", "cookie"])
def test_restarts_and_kills_under_the_follower(
    make_core: MakeCore, activity_chain, tmp_path: Path, caplog, auth
) -> None:
    """With a password the follower meets Core's -28 at each start (Loading block index…,
    Verifying blocks…). With the cookie it usually does not: its first call after a restart
    carries the old cookie, and Core answers a wrong credential with 401 only after 250 ms (its
    brute-force deterrent), by when the warm-up is mostly over; the client re-reads the cookie
    and goes on."""
    core, chain, vault = replay(make_core, activity_chain, tmp_path / "dn", auth=auth)
    # Retrying every few ms, the follower meets Core's ~70 ms of -28 at each start.
    cfg = core.follow_config(tmp_path / "shards", vault_scripts=(vault,),
                             backoff_initial=0.002, backoff_max=0.005)  # fmt: skip
    caplog.set_level(logging.INFO, logger="indexer.follow")
    with Running(cfg) as run:
        run.wait_tip(core.rpc.getbestblockhash())
        for how in ("stop", "kill", "stop", "kill"):
            core.stop() if how == "stop" else core.kill()
            source = run.follower.source
            assert source is not None
            retries = source.retries
            noticed = lambda s=source, r=retries: s.retries > r  # noqa: E731
            wait_until(noticed, 10, "the follower to notice")
            core.start(wait=False)  # refused, then -28, then serving; a new cookie
            core.wait_ready()
            core.sync_from(chain)  # what a killed node had not flushed comes back from peers
            time.sleep(0.3)  # the SUB socket reconnects (ZMQ retries every 100 ms)
            run.wait_tip(core.mine(2)[-1], timeout=60)
            core.sync_to(chain)  # the devnet keeps Core's blocks, to give back after a kill
    chain.close()
    reasons = " ".join(str(r.fields.get("reason")) for r in caplog.records
                       if r.getMessage() == "waiting_for_node")  # fmt: skip
    assert "node connection" in reasons, reasons
    if auth == "password":
        assert "node warming up (" in reasons, reasons
    assert_fresh_index(cfg.shard_root, fresh_index(core, vault))


def test_a_node_killed_in_the_middle_of_a_backfill(replayed, tmp_path: Path) -> None:
    """SIGKILL loses everything a regtest Core had not flushed (here: all of it, it comes back
    at genesis); its peers give the blocks back. The follower waits for the node, then for it
    to catch up with the committed tip, and goes on."""
    core, _, vault = replayed
    core.mine(1500)
    blocks = core.active_blocks(1)  # what the peers will give back
    root = tmp_path / "shards"
    cfg = core.follow_config(root, vault_scripts=(vault,), backoff_max=0.05)
    with Running(cfg) as run:
        wait_until(lambda: (m := read_manifest(root)) is not None and m.tip_height >= 50, 30,
                   "the backfill to pass height 50")  # fmt: skip
        core.kill()
        source = run.follower.source
        assert source is not None
        wait_until(lambda: source.retries > 0, 10, "the follower to find the node gone")
        at_kill = read_manifest(root)
        assert at_kill is not None and at_kill.tip_height < len(blocks), "the backfill was over"
        core.start()
        answers = core.submit(blocks)
        assert set(answers) <= {None, "duplicate"}, set(answers)
        run.wait_tip(core.rpc.getbestblockhash(), timeout=60)
    assert_fresh_index(root, fresh_index(core, vault))


def test_the_follower_sigkilled_while_core_keeps_mining(replayed, tmp_path: Path) -> None:
    core, _, vault = replayed
    root = tmp_path / "shards"
    config_file = write_toml(tmp_path / "follow.toml", core.follow_config(
        root, vault_scripts=(vault,)
    ))  # fmt: skip
    miner_stop = threading.Event()
    miner_client = core.client()

    def mine() -> None:
        while not miner_stop.wait(0.03):
            miner_client.call("generatetodescriptor", 1, "raw(51)")

    miner = threading.Thread(target=mine, daemon=True)
    miner.start()
    rng = random.Random(7)
    log = tmp_path / "follow.log"
    try:
        for _ in range(4):
            proc = follow_process(config_file, log=log)
            time.sleep(rng.uniform(0.3, 1.5))
            sigkill(proc)
    finally:
        miner_stop.set()
        miner.join(10)
        miner_client.close()
    assert core.rpc.getblockcount() > 160
    done = follow_to_tip_cli(config_file)
    assert done.returncode == 0, done.stderr
    m = read_manifest(root)
    assert m is not None and m.tip_hash == core.rpc.getbestblockhash()
    assert_fresh_index(root, fresh_index(core, vault))
