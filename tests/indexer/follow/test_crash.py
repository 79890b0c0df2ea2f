"""Crash safety: the follower (a subprocess) is SIGKILLed at every commit step, and at random
moments while the chain changes under it; after each crash the committed state is a valid
prefix of the chain, and after a final run the shards equal a fresh index of the final chain
with nothing but committed files on disk."""

from __future__ import annotations

import itertools
import random
import time
from pathlib import Path

import pytest

from indexer.follow import read_committed, read_manifest

from .helpers import (
    Activity,
    assert_fresh_index,
    config_for,
    disk_files,
    follow_process,
    new_chain,
    reference,
    serve,
    sigkill,
    write_toml,
)

# Every commit step, at its first and at a later occurrence (``name:n``: the n-th time the run
# reaches it), inside the atomic Parquet write, and in garbage collection.
CRASH_POINTS = [
    "segment_written",
    "segment_written:3",
    "manifest_written",
    "manifest_written:4",
    "committed",
    "committed:6",
    "range_written",
    "rolled_back",
    "parquet_written",
    "parquet_written:7",
    "garbage_deleted",
]


def assert_valid_prefix(root: Path) -> None:
    """What any crash must leave: a readable manifest whose files all exist, block rows from
    the start height to the committed tip, each once, chained by their parent hashes."""
    m = read_manifest(root)
    if m is None:
        return
    for path in m.committed_paths():
        assert (root / path).is_file(), f"committed file {path} is missing"
    blocks = sorted(read_committed(root, "blocks").to_pylist(), key=lambda r: r["height"])
    assert [r["height"] for r in blocks] == list(range(m.start_height, m.tip_height + 1))
    for a, b in itertools.pairwise(blocks):
        assert b["prev_hash"] == a["hash"]
    if blocks:
        assert blocks[-1]["hash"] == m.tip_hash


def run_to_tip(config_file: Path, log: Path, *, env: dict[str, str] | None = None) -> int:
    proc = follow_process(config_file, "--exit-at-tip", env=env, log=log)
    return proc.wait(120)


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_crash_at_each_commit_step_recovers(tmp_path: Path, point: str):
    chain = new_chain(tmp_path / "dn", blocks=60)
    act = Activity.create(chain, seed=11)
    node = serve(chain)
    root = tmp_path / "shards"
    cfg = config_for(root, node, vault_scripts=(act.vault_script,), finality_depth=4)
    config_file = write_toml(tmp_path / "follow.toml", cfg)
    log = tmp_path / "follow.log"
    try:
        act.mine(45)  # coinbases mature
        assert run_to_tip(config_file, log) == 0
        # Changes that need every step: a rollback, new segments, a compaction.
        act.reorg(2)  # replaces the committed tip
        act.pay_vault()
        act.inscribe(2)
        act.mine(9)
        rc = run_to_tip(config_file, log, env={"DREY_CRASH_AT": point})
        assert rc == -9, f"crash point {point} was not reached (exit {rc}): {log.read_text()}"
        assert_valid_prefix(root)
        assert read_manifest(root) is not None
        assert run_to_tip(config_file, log) == 0, log.read_text()
        m = read_manifest(root)
        assert m is not None and m.tip_hash == chain.tip.hash_hex
        assert_fresh_index(root, reference(chain, vault_scripts=(act.vault_script,)))
        assert disk_files(root) == m.committed_paths()
    finally:
        node.stop()
        chain.close()


@pytest.mark.slow
def test_sigkill_at_random_moments_while_the_chain_changes(tmp_path: Path):
    """25 SIGKILLs of a running follower at random moments, in backfill (a backlog of blocks
    with frequent commits) and at the tip (inscriptions, vault payments and spends, reorgs).
    After each kill the committed state is a valid prefix; a restarted follower then catches up
    and its shards equal a fresh index of the chain, with nothing but committed files on disk."""
    rng = random.Random(20240601)
    chain = new_chain(tmp_path / "dn", blocks=101)
    act = Activity.create(chain, seed=5, max_reorg=3)
    for _ in range(40):
        act.step()
    chain.mine(250)  # a backlog, so the first trial lands in backfill
    node = serve(chain)
    root = tmp_path / "shards"
    scripts = (act.vault_script,)
    cfg = config_for(root, node, vault_scripts=scripts, finality_depth=5, range_blocks=5)
    config_file = write_toml(tmp_path / "follow.toml", cfg)
    log = tmp_path / "follow.log"
    kills = 0
    try:
        for trial in range(25):
            if trial and rng.random() < 0.4:
                chain.mine(rng.randint(20, 80))  # backfill work for this trial
            proc = follow_process(config_file, log=log)
            deadline = time.monotonic() + rng.uniform(0.3, 1.5)
            while time.monotonic() < deadline:
                if rng.random() < 0.5:
                    act.step()
                time.sleep(rng.uniform(0.0, 0.15))
            assert proc.poll() is None, f"follower exited early: {log.read_text()[-2000:]}"
            sigkill(proc)
            kills += 1
            assert_valid_prefix(root)
            assert run_to_tip(config_file, log) == 0, log.read_text()[-2000:]
            assert_fresh_index(root, reference(chain, vault_scripts=scripts))
            m = read_manifest(root)
            assert m is not None and m.tip_hash == chain.tip.hash_hex
            assert disk_files(root) == m.committed_paths()
        assert kills == 25
        expected = reference(chain, vault_scripts=scripts)
        assert any(s.startswith("reorg") for s in act.log)
        assert len(expected["inscriptions"]) > 0 and len(expected["vault_spends"]) > 0
    finally:
        node.stop()
        chain.close()


@pytest.mark.parametrize("point", ["segment_written", "committed", "parquet_written:2"])
def test_crash_during_rebuild_from_recovers(tmp_path: Path, point: str):
    """``--rebuild-from`` killed part way (while it truncates the cut segment, at its commit):
    the state is a valid prefix, and running it again, or simply running on, ends equal to a
    fresh index."""
    chain = new_chain(tmp_path / "dn", blocks=60)
    act = Activity.create(chain, seed=13)
    node = serve(chain)
    root = tmp_path / "shards"
    cfg = config_for(root, node, vault_scripts=(act.vault_script,), finality_depth=4)
    config_file = write_toml(tmp_path / "follow.toml", cfg)
    log = tmp_path / "follow.log"
    try:
        act.mine(45)
        act.pay_vault()
        act.inscribe(2)
        act.mine(12)
        assert run_to_tip(config_file, log) == 0
        rebuild = ("--rebuild-from", str(chain.height - 13))  # inside a compacted range
        proc = follow_process(
            config_file, "--exit-at-tip", *rebuild, env={"DREY_CRASH_AT": point}, log=log
        )
        assert proc.wait(120) == -9, log.read_text()
        assert_valid_prefix(root)
        proc = follow_process(config_file, "--exit-at-tip", *rebuild, log=log)
        assert proc.wait(120) == 0, log.read_text()
        assert_fresh_index(root, reference(chain, vault_scripts=(act.vault_script,)))
        m = read_manifest(root)
        assert m is not None and disk_files(root) == m.committed_paths()
    finally:
        node.stop()
        chain.close()
