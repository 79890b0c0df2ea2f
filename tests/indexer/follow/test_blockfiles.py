"""Reading Core's blk*.dat files (the devnet writes a real Core data directory, obfuscated with
a random xor.dat key as Core ≥ 28 does) and backfilling from them."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from btc.hashes import hash_to_hex
from devnet.chain import Chain
from devnet.node.server import DevNode
from indexer.blockfiles import (
    BlockFileError,
    BlockFileIndex,
    block_files,
    read_xor_key,
    xor_at,
)

from .helpers import Activity, Running, assert_fresh_index, config_for, reference, serve


@given(st.binary(max_size=200), st.binary(min_size=8, max_size=8), st.integers(0, 10_000))
def test_xor_at_matches_the_bytewise_definition(data: bytes, key: bytes, offset: int):
    expected = bytes(b ^ key[(offset + i) % 8] for i, b in enumerate(data))
    assert xor_at(data, key, offset) == expected
    assert xor_at(expected, key, offset) == data


def test_missing_key_means_no_obfuscation_and_a_bad_key_is_an_error(tmp_path: Path):
    assert read_xor_key(tmp_path) == bytes(8)
    (tmp_path / "xor.dat").write_bytes(b"short")
    with pytest.raises(BlockFileError, match="8 bytes"):
        read_xor_key(tmp_path)


@pytest.fixture(scope="module")
def closed_chain(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[bytes], dict]:
    """A stopped devnet: 140 blocks with inscriptions and a stale branch; returns the data
    directory, the active chain's hashes and the raw blocks by hash."""
    path = tmp_path_factory.mktemp("blk") / "dn"
    chain = Chain.create(path, seed=b"blockfiles")
    chain.mine(101)
    act = Activity.create(chain, seed=3)
    for _ in range(6):
        act.inscribe(2)
        act.mine(3)
    act.reorg(2)
    chain.mine(5)
    hashes = [chain.hash_at(h) for h in range(chain.height + 1)]
    raws = {h: chain.read_block(h) for h in hashes}
    chain.close()
    return path, hashes, raws


def plain_copy(src: Path, dst: Path, *, key: bytes | None) -> Path:
    """A copy of a blocks directory re-obfuscated with ``key`` (None: plain, no xor.dat)."""
    dst.mkdir(parents=True)
    old = read_xor_key(src)
    for _, p in block_files(src):
        data = xor_at(p.read_bytes(), old, 0)
        (dst / p.name).write_bytes(data if key is None else xor_at(data, key, 0))
    if key is not None:
        (dst / "xor.dat").write_bytes(key)
    return dst


@pytest.mark.parametrize("variant", ["devnet key", "plain", "other key"])
def test_index_finds_the_best_chain_and_reads_blocks(closed_chain, tmp_path: Path, variant: str):
    path, hashes, raws = closed_chain
    blocks = path / "regtest" / "blocks"
    if variant == "devnet key":
        assert read_xor_key(blocks) != bytes(8), "the devnet writes a random key, as Core 28+"
    elif variant == "plain":
        blocks = plain_copy(blocks, tmp_path / "plain", key=None)
        assert not (blocks / "xor.dat").exists()
    else:
        blocks = plain_copy(blocks, tmp_path / "other", key=os.urandom(8))
    index = BlockFileIndex(blocks, network="regtest")
    assert len(index) > len(hashes)  # the stale branch is in the files too
    assert index.best_chain() == hashes
    for h in hashes[::7] + hashes[-3:]:
        assert index.read(h) == raws[h]
    wanted = BlockFileIndex(blocks, network="regtest", wanted=set(hashes[:10]))
    assert len(wanted) == 10


def test_a_torn_record_is_reported(closed_chain, tmp_path: Path):
    path, hashes, _ = closed_chain
    blocks = plain_copy(path / "regtest" / "blocks", tmp_path / "torn", key=None)
    index = BlockFileIndex(blocks, network="regtest")
    target = hashes[50]
    loc = index.locations[target]
    with open(loc.file, "r+b") as f:  # overwrite the record's header with zeros
        f.seek(loc.offset)
        f.write(bytes(80))
    with pytest.raises(BlockFileError, match="is not block"):
        index.read(target)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("keyed", [True, False])
def test_backfill_from_block_files_of_a_stopped_node_then_follow(
    closed_chain, tmp_path: Path, keyed: bool
):
    src, hashes, _ = closed_chain
    datadir = tmp_path / "dn"
    shutil.copytree(src, datadir)
    blocks = datadir / "regtest" / "blocks"
    if not keyed:
        # What Core ≥ 28 keeps with -blocksxor=0, or an older Core's directory: plain block
        # and undo files under an all-zero key.
        key = read_xor_key(blocks)
        for p in blocks.iterdir():
            if p.suffix == ".dat" and p.name[:3] in ("blk", "rev"):
                p.write_bytes(xor_at(p.read_bytes(), key, 0))
        (blocks / "xor.dat").write_bytes(bytes(8))
    port = _free_port()
    root = tmp_path / "shards"
    cfg = config_for(root, None, finality_depth=6)
    from dataclasses import replace

    cfg = replace(
        cfg,
        rpc_url=f"http://127.0.0.1:{port}/",
        rpc_cookie=datadir / "regtest" / ".cookie",
        rest_url=f"http://127.0.0.1:{port}",
        blocks_dir=blocks,
    )
    with Running(cfg) as run:
        # No node: the files' best chain up to its tip minus the finality depth.
        file_target = len(hashes) - 1 - cfg.finality_depth
        run.wait_tip(hash_to_hex(hashes[file_target]), timeout=30)
        assert run.follower.stats.sources == {"files": file_target + 1}
        chain = Chain.open(datadir)
        node = DevNode(chain, rpc_port=port, rest=True)
        node.start()
        try:
            chain.mine(3)
            run.wait_tip(chain.tip.hash_hex, timeout=30)
            expected = reference(chain)
        finally:
            node.stop()
            chain.close()
    assert_fresh_index(root, expected)


def test_block_files_serve_final_heights_while_the_node_serves_the_tip(tmp_path: Path):
    chain = Chain.create(tmp_path / "dn", seed=b"files-and-node")
    chain.mine(150)
    node = serve(chain)
    root = tmp_path / "shards"
    cfg = config_for(root, node, blocks_dir=chain.datadir.blocks)
    try:
        with Running(cfg) as run:
            run.wait_tip(chain.tip.hash_hex)
            sources = dict(run.follower.stats.sources)
        assert sources.get("files", 0) >= 150 - cfg.finality_depth - 5
        assert sources.get("rest", 0) >= 1
        assert_fresh_index(root, reference(chain))
    finally:
        node.stop()
        chain.close()


def test_a_corrupt_block_in_the_files_is_refetched_from_the_node(tmp_path: Path, caplog):
    """A bit flipped inside an inscription body in a copy of the blk files (a bad disk under a
    stopped node's data directory): the block fails its witness commitment, is fetched again
    from the node, and the shards equal a fresh index."""
    import logging

    from btc.scan import scan_block

    chain = Chain.create(tmp_path / "dn", seed=b"files-corrupt")
    chain.mine(101)
    act = Activity.create(chain, seed=4)
    act.inscribe(2)
    body = scan_block(chain.read_block(chain.tip.hash)).inscriptions[0].inscription.body
    assert body
    chain.mine(40)
    copy = tmp_path / "blocks"
    shutil.copytree(chain.datadir.blocks, copy)
    key = read_xor_key(copy)
    flipped = 0
    for _, path in block_files(copy):
        data = bytearray(path.read_bytes())
        at = bytes(xor_at(bytes(data), key, 0)).find(body)
        if at >= 0:
            data[at + len(body) // 2] ^= 0x10  # xor obfuscation: the same bit flips in clear
            path.write_bytes(bytes(data))
            flipped += 1
    assert flipped == 1
    node = serve(chain)
    root = tmp_path / "shards"
    cfg = config_for(root, node, blocks_dir=copy, zmq=())
    try:
        with caplog.at_level(logging.INFO, logger="indexer.follow"), Running(cfg) as run:
            run.wait_tip(chain.tip.hash_hex)
            assert run.follower.stats.refetched == 1
        rejected = [r.fields for r in caplog.records if r.getMessage() == "block_rejected"]
        assert [(r["source"], r["action"]) for r in rejected] == [("files", "re-fetching via rest")]
        assert_fresh_index(root, reference(chain))
    finally:
        node.stop()
        chain.close()
