"""Backfill from Core's own ``blocks/`` directory: its ``blk*.dat`` files obfuscated with the
random ``xor.dat`` key Core ≥ 28 writes, read with the node stopped (files only, up to the
finality line, then the node once it is back) and with it running (files for final heights,
the node for the tip zone)."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.blockfiles import read_xor_key
from indexer.follow import read_manifest

from ..indexer.follow.helpers import Running, assert_fresh_index, wait_until
from .conftest import fresh_index

pytestmark = pytest.mark.core


@pytest.fixture
def core_with_files(replayed):
    core, _, vault = replayed
    core.mine(60)
    assert read_xor_key(core.blocks_dir) != bytes(8), "Core wrote no xor key"
    return core, vault


def test_backfill_from_the_files_of_a_stopped_core_then_follow_it(
    core_with_files, tmp_path: Path
) -> None:
    core, vault = core_with_files
    tip = core.rpc.getblockcount()
    core.stop()
    cfg = core.follow_config(tmp_path / "shards", vault_scripts=(vault,),
                             blocks_dir=core.blocks_dir)  # fmt: skip
    with Running(cfg) as run:
        final = tip - cfg.finality_depth  # no node: the files' chain up to its finality line
        wait_for_height(run, final)
        assert run.follower.stats.sources == {"files": final + 1}
        core.start()
        run.wait_tip(core.mine(2)[-1], timeout=60)
        assert run.follower.stats.sources.get("rest", 0) >= cfg.finality_depth
    assert_fresh_index(cfg.shard_root, fresh_index(core, vault))


def test_files_for_final_heights_while_core_serves_the_tip(core_with_files, tmp_path: Path):
    core, vault = core_with_files
    cfg = core.follow_config(tmp_path / "shards", vault_scripts=(vault,),
                             blocks_dir=core.blocks_dir)  # fmt: skip
    with Running(cfg) as run:
        run.wait_tip(core.rpc.getbestblockhash(), timeout=60)
        run.wait_tip(core.mine(3)[-1], timeout=30)
        sources = dict(run.follower.stats.sources)
    tip = core.rpc.getblockcount()
    assert sources.get("files", 0) >= tip - 3 - cfg.finality_depth - cfg.range_blocks, sources
    assert sources.get("rest", 0) >= 3, sources
    assert_fresh_index(cfg.shard_root, fresh_index(core, vault))


def wait_for_height(run: Running, height: int, timeout: float = 30) -> None:
    root = run.follower.cfg.shard_root
    wait_until(lambda: (m := read_manifest(root)) is not None and m.tip_height >= height,
               timeout, f"height {height} from the files")  # fmt: skip
