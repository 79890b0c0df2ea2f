"""Reorgs made by a real bitcoind under the follower: ``invalidateblock``/``reconsiderblock``
and competing branches arriving by ``submitblock``, 1 to finality depth − 1 deep, each
rolling back blocks that hold inscriptions and vault payments; and one deeper than the finality
zone, which stops the follower (exit 3, nothing changed) until ``--rebuild-from`` re-indexes.
After every change the shards equal a fresh index of Core's active chain."""

from __future__ import annotations

from pathlib import Path

import pytest

from devnet.chain import Chain
from indexer.follow import read_manifest
from indexer.follow.errors import DeepReorgError

from ..indexer.follow.helpers import (
    Activity,
    Running,
    assert_fresh_index,
    follow_to_tip_cli,
    write_toml,
)
from .bitcoind import Bitcoind
from .conftest import fresh_index

pytestmark = pytest.mark.core
FINALITY = 6
# Core's replacement blocks pay OP_2, so none can repeat a block it has invalidated.
OTHER_MINER = "raw(52)"


def activity(chain: Chain, vault: bytes, seed: int) -> Activity:
    act = Activity.create(chain, seed=seed)
    assert act.vault_script == vault
    return act


def busy_top(act: Activity, depth: int) -> None:
    """At least ``depth`` new blocks on the devnet, each with an inscription or a payment."""
    for i in range(depth):
        act.inscribe(1) if i % 2 == 0 else act.pay_vault()


def caught_up(run: Running, core: Bitcoind, vault: bytes) -> None:
    run.wait_tip(core.rpc.getbestblockhash(), timeout=30)
    assert_fresh_index(run.follower.cfg.shard_root, fresh_index(core, vault))


def test_invalidateblock_and_reconsiderblock_1_to_finality_minus_1_deep(
    replayed, tmp_path: Path
) -> None:
    core, chain, vault = replayed
    act = activity(chain, vault, seed=21)
    cfg = core.follow_config(tmp_path / "shards", vault_scripts=(vault,), finality_depth=FINALITY)
    with Running(cfg) as run:
        for depth in range(1, FINALITY):
            busy_top(act, depth)
            core.sync_from(chain)
            caught_up(run, core, vault)
            top = core.rpc.getblockcount()
            old = core.invalidate(top - depth + 1)  # Core rolls back `depth` busy blocks
            assert core.rpc.getblockcount() == top - depth
            caught_up(run, core, vault)
            core.reconsider(old)  # and returns to them
            assert core.rpc.getblockcount() == top
            caught_up(run, core, vault)
            core.invalidate(top - depth + 1)
            core.mine(depth + 1, to=OTHER_MINER)  # a longer, empty branch replaces them
            caught_up(run, core, vault)
            core.reconsider(old)  # less work than the new branch: Core stays
            assert core.rpc.getblockcount() == top + 1
            caught_up(run, core, vault)
            core.sync_to(chain)  # the devnet builds the next round on Core's branch
        assert run.follower.stats.reorgs >= FINALITY - 1


def test_competing_branches_by_submitblock_1_to_finality_minus_1_deep(
    replayed, tmp_path: Path
) -> None:
    core, chain, vault = replayed
    act = activity(chain, vault, seed=22)
    cfg = core.follow_config(tmp_path / "shards", vault_scripts=(vault,), finality_depth=FINALITY)
    with Running(cfg) as run:
        for depth in range(1, FINALITY):
            busy_top(act, depth)
            core.sync_from(chain)
            caught_up(run, core, vault)
            rolled = run.follower.stats.rolled_back
            act.reorg(depth)  # the devnet's branch: depth + 1 blocks on the fork point
            act.inscribe(1)  # and something new in it
            assert core.sync_from(chain) == depth + 2
            caught_up(run, core, vault)
            assert run.follower.stats.rolled_back - rolled == depth


def test_a_reorg_deeper_than_the_finality_zone_stops_until_rebuild_from(
    replayed, tmp_path: Path
) -> None:
    core, _, vault = replayed
    root = tmp_path / "shards"
    cfg = core.follow_config(root, vault_scripts=(vault,), finality_depth=FINALITY)
    with Running(cfg) as run:
        caught_up(run, core, vault)
    before = read_manifest(root)
    assert before is not None
    depth = FINALITY + 2
    fork = core.rpc.getblockcount() - depth
    core.invalidate(fork + 1)
    core.mine(depth + 1, to=OTHER_MINER)
    run = Running(cfg).start()
    run.join(30)
    assert isinstance(run.error, DeepReorgError), run.error
    assert run.error.fork_height == fork
    after = read_manifest(root)
    assert after is not None and after.segments == before.segments  # nothing changed
    cli = follow_to_tip_cli(write_toml(tmp_path / "follow.toml", cfg))
    assert cli.returncode == 3, cli.stderr
    assert f"--rebuild-from {fork + 1}" in cli.stderr
    rebuilt = follow_to_tip_cli(
        write_toml(tmp_path / "follow.toml", cfg), "--rebuild-from", str(fork + 1)
    )
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert_fresh_index(root, fresh_index(core, vault))
