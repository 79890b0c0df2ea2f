"""Bytes the follower must not trust: blocks altered on the way (REST, RPC, block files), a node
that serves a corrupt copy, REST switched off mid-run, and a shard root that fills up or turns
read-only. Each time either the shards equal a fresh index, or the follower stops with one line
and its own exit status, having committed nothing of the bad block."""

from __future__ import annotations

import contextlib
import logging
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import brotli
import pytest

from btc.ord.envelope import Envelope
from btc.scan import scan_block
from indexer.follow import read_committed, read_manifest
from indexer.follow.errors import CorruptBlockError, StorageError

from .helpers import (
    REPO,
    Activity,
    Running,
    assert_fresh_index,
    config_for,
    follow_to_tip_cli,
    new_chain,
    reference,
    serve,
    write_toml,
)
from .tamper import TamperProxy, flip_in

# The follower's own footprint (about 160 MB: Python, pyarrow, the node clients) plus one
# block's decode budget (64 MiB) held about twice (Python bytes, the Arrow column) while its
# tables are built and written; measured 281 MB. Blob statistics would add ~160 MB more.
FOLLOWER_RSS_BOUND_MB = 400
MEASURED_INDEXER = Path(__file__).with_name("measured_indexer.py")


def _chain_with_inscription(tmp_path: Path) -> tuple:
    chain = new_chain(tmp_path / "dn")
    act = Activity.create(chain, seed=3)
    act.inscribe(2)
    target = chain.tip.hash_hex
    body = scan_block(chain.read_block(chain.tip.hash)).inscriptions[0].inscription.body
    act.mine(3)
    assert body
    return chain, target, body


def _through(proxy: TamperProxy, cfg, **changes):  # type: ignore[no-untyped-def]
    return replace(cfg, rpc_url=proxy.url, rest_url=proxy.url.rstrip("/"), **changes)


def test_a_witness_altered_on_rest_is_refetched_over_rpc(tmp_path: Path, caplog) -> None:
    chain, target, body = _chain_with_inscription(tmp_path)
    node = serve(chain)
    try:
        with TamperProxy(node.url, flip_in(body)) as proxy:
            proxy.rest.add(target)
            cfg = _through(proxy, config_for(tmp_path / "shards", node), zmq=())
            with caplog.at_level(logging.INFO, logger="indexer.follow"), Running(cfg) as run:
                run.wait_tip(chain.tip.hash_hex)
                stats = run.follower.stats
        assert proxy.served == [("rest", target)]
        assert stats.refetched == 1
        rejected = [r.fields for r in caplog.records if r.getMessage() == "block_rejected"]
        assert len(rejected) == 1
        assert "bad_witness_commitment" in rejected[0]["reason"]
        assert rejected[0]["action"] == "re-fetching via rpc"
        assert_fresh_index(tmp_path / "shards", reference(chain))
    finally:
        node.stop()
        chain.close()


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda h, raw: raw[: len(raw) // 2], id="truncated"),
        pytest.param(lambda h, raw: raw[:100] + bytes([raw[100] ^ 1]) + raw[101:], id="txid-bit"),
        pytest.param(lambda h, raw: bytes(80) + raw[80:], id="other-header"),
    ],
)
def test_any_altered_block_from_rest_is_refetched(tmp_path: Path, change) -> None:  # type: ignore[no-untyped-def]
    chain, target, _ = _chain_with_inscription(tmp_path)
    node = serve(chain)
    try:
        with TamperProxy(node.url, change) as proxy:
            proxy.rest.add(target)
            cfg = _through(proxy, config_for(tmp_path / "shards", node), zmq=())
            with Running(cfg) as run:
                run.wait_tip(chain.tip.hash_hex)
                assert run.follower.stats.refetched == 1
        assert_fresh_index(tmp_path / "shards", reference(chain))
    finally:
        node.stop()
        chain.close()


def test_a_node_serving_a_corrupt_block_stops_the_follower_with_exit_4(tmp_path: Path) -> None:
    chain, target, body = _chain_with_inscription(tmp_path)
    target_height = chain.height - 3
    node = serve(chain)
    try:
        with TamperProxy(node.url, flip_in(body)) as proxy:
            proxy.rest.add(target)
            proxy.rpc.add(target)
            root = tmp_path / "shards"
            cfg = _through(proxy, config_for(root, node), zmq=())
            run = Running(cfg).start()
            run.join(30)
            assert isinstance(run.error, CorruptBlockError)
            assert run.error.height == target_height
            m = read_manifest(root)
            assert m is not None and m.tip_height == target_height - 1  # nothing of it committed
            # REST, then RPC twice (a second chance for corruption on the way), then stop.
            assert [c for c, _ in proxy.served] == ["rest", "rpc", "rpc"]
            toml = write_toml(tmp_path / "follow.toml", cfg)
            cli = follow_to_tip_cli(toml, timeout=60)
        assert cli.returncode == 4, cli.stderr
        last = cli.stderr.strip().splitlines()[-1]
        assert last.startswith(f"indexer follow: block {target_height} {target}")
        assert "-reindex" in last and "Nothing was committed" in last
        # Once the node serves the block correctly again, the follower completes the index.
        with Running(replace(cfg, rpc_url=node.url, rest_url=node.url.rstrip("/"))) as run:
            run.wait_tip(chain.tip.hash_hex)
        assert_fresh_index(root, reference(chain))
    finally:
        node.stop()
        chain.close()


def test_rest_switched_off_mid_run_falls_back_to_rpc(tmp_path: Path, caplog) -> None:
    chain = new_chain(tmp_path / "dn")
    act = Activity.create(chain, seed=5)
    node = serve(chain)
    try:
        with TamperProxy(node.url, lambda h, raw: raw) as proxy:
            cfg = _through(proxy, config_for(tmp_path / "shards", node))
            with caplog.at_level(logging.INFO, logger="indexer.follow"), Running(cfg) as run:
                run.wait_tip(chain.tip.hash_hex)
                proxy.rest_off = True
                act.inscribe(2)
                act.mine(2)
                run.wait_tip(chain.tip.hash_hex)
                sources = dict(run.follower.stats.sources)
        assert any("rest_unavailable" in r.getMessage() for r in caplog.records)
        assert sources.get("rest", 0) > 0 and sources.get("rpc", 0) > 0
        assert_fresh_index(tmp_path / "shards", reference(chain))
    finally:
        node.stop()
        chain.close()


@contextlib.contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    """A small tmpfs at ``path`` (the suite runs as root, as CI does)."""
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_a_full_disk_stops_with_exit_5_and_a_restart_resumes(tmp_path: Path) -> None:
    chain = new_chain(tmp_path / "dn")
    act = Activity.create(chain, seed=9)
    for _ in range(6):
        act.inscribe(3)
    node = serve(chain)
    try:
        with tmpfs(tmp_path / "small", "160k") as disk:
            root = disk / "shards"
            cfg = config_for(root, node, zmq=())
            toml = write_toml(tmp_path / "follow.toml", cfg)
            filler = disk / "filler"
            filler.write_bytes(b"\0" * 60_000)
            cli = follow_to_tip_cli(toml, timeout=120)
            assert cli.returncode == 5, cli.stderr
            last = cli.stderr.strip().splitlines()[-1]
            assert "No space left on device (ENOSPC)" in last
            assert "free disk space and restart the follower" in last
            m = read_manifest(root)
            assert m is not None and 0 < m.tip_height < chain.height  # stopped part way
            # Free space (here: the same files on a bigger disk) and restart: it resumes from
            # the committed tip.
            big = tmp_path / "big"
            shutil.copytree(root, big / "shards")
        with Running(replace(cfg, shard_root=big / "shards")) as run:
            run.wait_tip(chain.tip.hash_hex)
            assert run.follower.stats.blocks == chain.height - m.tip_height
        assert_fresh_index(big / "shards", reference(chain))
    finally:
        node.stop()
        chain.close()


def test_a_read_only_shard_root_is_one_line_and_exit_5(tmp_path: Path) -> None:
    chain = new_chain(tmp_path / "dn")
    node = serve(chain)
    try:
        with tmpfs(tmp_path / "ro", "4m") as disk:
            root = disk / "shards"
            cfg = config_for(root, node, zmq=())
            with Running(cfg) as run:
                run.wait_tip(chain.tip.hash_hex)
            subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
            chain.mine(2)
            run = Running(cfg).start()
            run.join(30)
            assert isinstance(run.error, StorageError)
            assert "(EROFS)" in str(run.error) and "remount it read-write" in str(run.error)
    finally:
        node.stop()
        chain.close()


def test_a_bomb_block_on_chain_is_followed_in_bounded_memory(tmp_path: Path) -> None:
    """The issue's attack, inscribed for real: 300 brotli bodies of 54 bytes, each expanding
    to 32 MiB, in one block. The follower process indexes it (the bodies past the block's
    decode budget keep their raw bytes and hash, with the reason) within a stated RSS."""
    chain = new_chain(tmp_path / "dn")
    bomb = brotli.compress(b"\0" * (32 << 20))
    envs = [
        Envelope(body=bomb, content_type="text/plain", content_encoding="br") for _ in range(300)
    ]
    with chain.lock:
        chain.inscribe(envs, fee_rate=1.0)
    chain.mine(2)
    node = serve(chain)
    try:
        root = tmp_path / "shards"
        cfg = config_for(root, node, zmq=())
        toml = write_toml(tmp_path / "follow.toml", cfg)
        peak_file = tmp_path / "peak_rss_mb"
        done = subprocess.run(
            [sys.executable, str(MEASURED_INDEXER), str(peak_file), "follow", "--config", str(toml),
             "--exit-at-tip"],
            cwd=REPO, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        peak_mb = float(peak_file.read_text())
        assert peak_mb < FOLLOWER_RSS_BOUND_MB, f"follower peak RSS {peak_mb:.0f} MB"
        rows = read_committed(root, "inscriptions").to_pylist()
        assert len(rows) == 300
        errors = [r["body_decode_error"] for r in rows]
        assert sum(e is None for e in errors) == 2  # 2 × 32 MiB fill the 64 MiB budget
        assert all("block decode budget" in e for e in errors if e is not None)
        assert all(r["body_len"] == len(bomb) and r["body_sha256"] for r in rows)
        assert_fresh_index(root, reference(chain))
    finally:
        node.stop()
        chain.close()
