"""Configuration (TOML + flags), the manifest format and its invariants, the readers, status."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from devnet.node.server import DevNode
from indexer.errors import ConfigError
from indexer.follow import committed_files, load_config, read_manifest, scan_committed
from indexer.follow.config import DEFAULT_FINALITY_DEPTH, FollowConfig
from indexer.follow.errors import ManifestError
from indexer.follow.manifest import BlockEntry, Manifest, Segment
from indexer.shards import SCHEMAS

from .helpers import (
    REPO,
    Running,
    config_for,
    disk_files,
    follow_to_tip_cli,
    new_chain,
    serve,
    write_toml,
)

SCRIPT = "5120" + "ab" * 32


def test_toml_sections_relative_paths_and_flag_overrides(tmp_path: Path):
    f = tmp_path / "conf" / "follow.toml"
    f.parent.mkdir()
    f.write_text(
        f"""
network = "regtest"
shard_root = "shards"
start_height = 5
vault_scripts = ["{SCRIPT}"]
vault_outpoints = ["{"cd" * 32}:1"]
[node]
rpc_url = "http://127.0.0.1:18443/"
rpc_cookie = "dd/regtest/.cookie"
rest_url = true
zmq = "tcp://127.0.0.1:28332"
[storage]
range_blocks = 50
bucket_blocks = 1000
[tuning]
poll_interval = 2
"""
    )
    cfg = load_config(f, {"finality_depth": 20, "start_height": None, "fetch_workers": 2})
    assert cfg.shard_root == f.parent / "shards"
    assert cfg.rpc_cookie == f.parent / "dd/regtest/.cookie"
    assert cfg.rest_url == "http://127.0.0.1:18443"
    assert cfg.zmq == ("tcp://127.0.0.1:28332",)
    assert cfg.vault_scripts == (bytes.fromhex(SCRIPT),)
    assert cfg.vault_outpoints == (("cd" * 32, 1),)
    assert (cfg.start_height, cfg.finality_depth, cfg.fetch_workers) == (5, 20, 2)
    assert (cfg.range_blocks, cfg.bucket_blocks, cfg.poll_interval) == (50, 1000, 2.0)
    assert cfg.content_settings()["vault_scripts"] == [SCRIPT]


def test_defaults_follow_the_network():
    cfg = load_config(None, {"shard_root": "x", "network": "mainnet"})
    assert cfg.finality_depth == DEFAULT_FINALITY_DEPTH == 12
    assert cfg.first_height == 767430  # the first inscription
    assert cfg.resolved_rpc_url == "http://127.0.0.1:8332/"
    assert cfg.resolved_cookie is not None and cfg.resolved_cookie.name == ".cookie"
    reg = load_config(None, {"shard_root": "x", "network": "regtest", "rest_url": True})
    assert reg.first_height == 0 and reg.rest_url == "http://127.0.0.1:18443"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'shard_root = "x"\nfinality = 3',
            r"unknown key 'finality' in .* \(did you mean 'finality_depth'",
        ),
        ('shard_root = "x"\n[node]\nrpc_uri = "http://a:1/"', r"unknown key 'rpc_uri' in \[node\]"),
        ('shard_root = "x"\nvault_scripts = ["zz"]', "vault_scripts: 'zz' is not hex"),
        ('shard_root = "x"\nvault_outpoints = ["ab:1"]', "is not <txid>:<vout>"),
        ('shard_root = "x"\nrpc_user = "u"', "rpc_user and rpc_password go together"),
        ('shard_root = "x"\nrange_blocks = 30', "bucket_blocks .* must be a multiple"),
        ('shard_root = "x"\nfinality_depth = 0', r"finality_depth: 0 is out of range"),
        ('shard_root = "x"\nnetwork = "litecoin"', "network: 'litecoin' is not one of"),
        ('shard_root = "x"\nrpc_url = "https://h:1/"', "rpc_url: expected http://host:port"),
        ('shard_root = "x"\nzmq = ["127.0.0.1:28332"]', "not a ZeroMQ endpoint"),
        ('shard_root = "x"\npoll_interval = "fast"', "poll_interval: expected a number"),
        ("network = 'regtest'", "shard_root is required"),
        ("shard_root = ", "is not valid TOML"),
    ],
)
def test_config_errors_name_the_key(tmp_path: Path, text: str, message: str):
    f = tmp_path / "c.toml"
    f.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(f)


def test_missing_config_file(tmp_path: Path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml")


def _manifest() -> Manifest:
    settings = {"network": "regtest", "start_height": 0, "vault_scripts": [], "vault_outpoints": []}
    m = Manifest.empty(settings=settings, range_blocks=5, bucket_blocks=20)
    segs = (
        Segment(0, 4, "aa" * 32, {"blocks": 5}, {"blocks": "blocks/height_bucket=0/a.parquet"}),
        Segment(5, 5, "bb" * 32, {"blocks": 1}, {"blocks": "blocks/height_bucket=0/b.parquet"}),
    )
    return m.evolve(
        segments=segs,
        tip_height=5,
        tip_hash="bb" * 32,
        final_height=4,
        recent=(BlockEntry(4, "aa" * 32), BlockEntry(5, "bb" * 32, ("cc" * 32 + ":0",), ())),
        vault_unspent=("cc" * 32 + ":0",),
    )


def test_manifest_round_trip_and_invariants():
    m = _manifest()
    again = Manifest.deserialize(m.serialize())
    assert again == m
    assert json.loads(m.serialize())["segments"][1]["files"]["blocks"].endswith("b.parquet")
    bad = [
        m.evolve(segments=m.segments[1:], tip_height=5),  # gap at the start
        m.evolve(tip_height=6),  # segments do not reach the tip
        m.evolve(tip_hash="dd" * 32),  # last segment hash is not the tip
        m.evolve(recent=(BlockEntry(3, "x"), BlockEntry(5, "bb" * 32))),  # not consecutive
        m.evolve(recent=()),  # the tip block must be kept
    ]
    for b in bad:
        with pytest.raises(ManifestError):
            Manifest.deserialize(b.serialize())
    with pytest.raises(ManifestError, match="not JSON"):
        Manifest.deserialize(b"{")
    with pytest.raises(ManifestError, match="unsupported manifest format"):
        Manifest.deserialize(b'{"format": 99}')


def test_readers_see_exactly_the_committed_set_with_the_documented_columns(tmp_path: Path):
    chain = new_chain(tmp_path / "dn", blocks=60)
    node = serve(chain)
    root = tmp_path / "shards"
    try:
        with Running(config_for(root, node, retire_grace=3600)) as run:
            run.wait_tip(chain.tip.hash_hex)
            chain.mine(12)  # the tip segments become final and get compacted
            run.wait_tip(chain.tip.hash_hex)
            assert run.follower.stats.compactions > 0
        m = read_manifest(root)
        assert m is not None
        # Compacted files are retired, not deleted: a reader of the older manifest can finish.
        assert m.retired and all((root / r.path).exists() for r in m.retired)
        on_disk = disk_files(root)
        assert on_disk > m.committed_paths()
        # A raw glob double counts; the committed set does not.
        raw = duckdb.sql(f"select count(*) from read_parquet('{root}/blocks/*/*.parquet')")
        assert raw.fetchall()[0][0] > 73
        rel = scan_committed(root, "blocks")
        assert rel.columns == SCHEMAS["blocks"].names  # no height_bucket column
        counts = rel.aggregate("count(*), count(distinct height), max(height)").fetchall()
        assert counts == [(73, 73, 72)]
        lazy = scan_committed(root, "blocks", engine="polars")
        assert lazy.collect().height == 73
        assert scan_committed(root, "vault_spends").fetchall() == []
        pruned = committed_files(root, "blocks", min_height=50, max_height=54)
        assert len(pruned) == 1 and pruned[0].name.startswith("000000050-000000054")
        # Restarting with no grace deletes the retired files.
        with Running(config_for(root, node)) as run:
            chain.mine(1)
            run.wait_tip(chain.tip.hash_hex)
        m = read_manifest(root)
        assert m is not None and disk_files(root) == m.committed_paths()
    finally:
        node.stop()
        chain.close()


def test_status_command(tmp_path: Path):
    chain = new_chain(tmp_path / "dn", blocks=30)
    node = serve(chain)
    root = tmp_path / "shards"
    try:
        with Running(config_for(root, node)) as run:
            run.wait_tip(chain.tip.hash_hex)
        chain.mine(2)
        out = subprocess.run(
            [sys.executable, "-m", "indexer", "status", "--shard-root", str(root),
             "--rpc-url", node.url, "--rpc-cookie", str(node.cookie), "--network", "regtest",
             "--json"],
            cwd=REPO, capture_output=True, text=True, check=True,
        )  # fmt: skip
        status = json.loads(out.stdout)
        assert status["tip"]["height"] == 30
        assert status["rows"]["blocks"] == 31
        assert status["node"]["height"] == 32 and status["node"]["lag"] == 2
        assert status["files"]["blocks"] == status["segments"]
        text = subprocess.run(
            [sys.executable, "-m", "indexer", "status", "--shard-root", str(root)],
            cwd=REPO, capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        assert "tip: height=30" in text and "node" not in text
    finally:
        node.stop()
        chain.close()


def test_credentials_in_the_rpc_url_are_used_but_never_shown(tmp_path: Path, caplog):
    """``http://user:password@host/`` authenticates (as with bitcoin-cli), and the password
    appears in no log event, status output or error message."""

    chain = new_chain(tmp_path / "dn", blocks=5)
    node = DevNode(chain, rpc_port=0, rest=True, rpc_user="alice", rpc_password="s3cr:t@x")
    node.start()
    secret_url = node.url.replace("http://", "http://alice:s3cr%3At%40x@")
    root = tmp_path / "shards"
    try:
        cfg = FollowConfig(shard_root=root, network="regtest", rpc_url=secret_url, start_height=0)
        assert (cfg.rpc_user, cfg.rpc_password, cfg.rpc_url) == ("alice", "s3cr:t@x", node.url)
        with caplog.at_level(logging.DEBUG, logger="indexer.follow"), Running(cfg) as run:
            run.wait_tip(chain.tip.hash_hex)
        logged = " ".join(f"{r.getMessage()} {getattr(r, 'fields', {})}" for r in caplog.records)
        assert "s3cr" not in logged and "start" in logged
        out = subprocess.run(
            [sys.executable, "-m", "indexer", "status", "--shard-root", str(root),
             "--rpc-url", secret_url, "--network", "regtest", "--json"],
            cwd=REPO, capture_output=True, text=True, check=True,
        )  # fmt: skip
        assert "s3cr" not in out.stdout + out.stderr
        assert json.loads(out.stdout)["node"]["height"] == 5
        with pytest.raises(ConfigError) as info:
            FollowConfig(shard_root=root, rpc_url=secret_url.replace("http://", "ftp://"))
        assert "s3cr" not in str(info.value)
        with pytest.raises(ConfigError, match="REST takes no credentials"):
            FollowConfig(shard_root=root, rest_url=secret_url)
    finally:
        node.stop()
        chain.close()


def test_a_corrupt_manifest_is_one_line_and_exit_5(tmp_path: Path):
    chain = new_chain(tmp_path / "dn", blocks=5)
    node = serve(chain)
    root = tmp_path / "shards"
    try:
        cfg = config_for(root, node, zmq=())
        with Running(cfg) as run:
            run.wait_tip(chain.tip.hash_hex)
        (root / "manifest.json").write_bytes(b'{"version": 3, "segm')
        cli = follow_to_tip_cli(write_toml(tmp_path / "f.toml", cfg))
        assert cli.returncode == 5, cli.stderr
        lines = cli.stderr.strip().splitlines()
        assert len(lines) == 1 and "manifest" in lines[0]
        assert "--rebuild-from" in lines[0] or "restore" in lines[0]
    finally:
        node.stop()
        chain.close()
