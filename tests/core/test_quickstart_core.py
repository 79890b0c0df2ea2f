"""docs/follower.md's real-node quick start and docs/operating.md's steps, as an operator
follows them: the committed ``bitcoin.conf`` and ``drey.toml`` word for word (plus a regtest
section with free ports and this machine's paths), bitcoind started with nothing but
``-datadir``, ``indexer follow`` and ``indexer status`` from the command line, what the page
says to expect on the first run, and the main job on the same file (its ``[warehouse]`` and
``[dagster]`` tables too) publishing a warehouse."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from ..indexer.follow.helpers import REPO, assert_fresh_index
from .bitcoind import MakeCore, free_port
from .conftest import fresh_index, open_copy

pytestmark = pytest.mark.core
GUIDE = REPO / "docs" / "follower.md"


EXAMPLES = {"ini": REPO / "deploy" / "bitcoin.example.conf",
            "toml": REPO / "deploy" / "drey.example.toml"}  # fmt: skip


def guide_block(language: str) -> str:
    """The first ``language`` code block of the guide's "Following a real bitcoind", which is
    also the committed example file an operator copies."""
    text = GUIDE.read_text()
    section = text.split("## Following a real bitcoind", 1)[1].split("\n## ", 1)[0]
    found = re.search(rf"```{language}\n(.*?)```", section, re.S)
    assert found, f"no {language} block in the guide's real-node section"
    example = EXAMPLES[language]
    assert example.read_text() == found.group(1), f"{example} differs from docs/follower.md"
    return found.group(1)


def indexer(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "indexer", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)  # fmt: skip


def test_the_guide_s_bitcoin_conf_and_drey_toml(
    make_core: MakeCore, activity_chain, tmp_path: Path
) -> None:
    src, vault = activity_chain
    rpc_port, zmq_port = free_port(), free_port()
    core = make_core("bitcoin", from_conf=True, rpc_port=rpc_port)
    core.datadir.mkdir()
    conf = guide_block("ini").replace("28332", str(zmq_port))
    regtest = f"regtest=1\n[regtest]\nrpcport={rpc_port}\nlisten=0\ndnsseed=0\nfixedseeds=0\n"
    (core.datadir / "bitcoin.conf").write_text(conf + "\n" + regtest)
    core.start()
    assert core.cookie.stat().st_mode & 0o777 == 0o640  # rpccookieperms=group
    with open_copy(src, tmp_path / "dn") as chain:
        core.sync_from(chain)
    info = core.rpc.call("getindexinfo")
    assert info == {}, "the guide's node keeps no txindex"
    topics = {n["type"] for n in core.rpc.call("getzmqnotifications")}
    assert topics == {"pubsequence", "pubhashblock"}

    shards, work = tmp_path / "shards", tmp_path / "run"
    toml = (
        guide_block("toml")
        .replace('"mainnet"', '"regtest"')
        .replace("/var/lib/drey/shards", str(shards))
        .replace("/home/bitcoin/.bitcoin/blocks", str(core.blocks_dir))
        .replace("/home/bitcoin/.bitcoin/.cookie", str(core.cookie))
        .replace('["5120…"]', f'["{vault.hex()}"]')
        .replace("28332", str(zmq_port))
        .replace("[node]\n", f'[node]\nrpc_url = "{core.url}"\n')
        .replace("/var/lib/drey/warehouse", str(work / "warehouse"))
        .replace('founder = "…"', f'founder = "{"ab" * 32}"')
        .replace("/var/lib/drey/dagster", str(tmp_path / "dh"))
    )
    config = tmp_path / "drey.toml"
    config.write_text(toml)

    first = indexer("follow", "--config", str(config), "--exit-at-tip")
    assert first.returncode == 0, first.stderr
    for expected in ("start ", "backfill_done"):
        assert expected in first.stderr, first.stderr
    assert "node=" + core.url in first.stderr and "rest=true" in first.stderr

    log = tmp_path / "follow.log"
    with open(log, "w") as out:
        follower = subprocess.Popen([sys.executable, "-m", "indexer", "follow", "--config",
                                     str(config)], cwd=REPO, stdout=out, stderr=out)  # fmt: skip
    try:
        time.sleep(1.0)  # its SUB socket connects
        new = core.mine(1)[0]
        wait_for(lambda: f"hash={new}" in log.read_text(), 30, "a block line for the new block")
        line = next(x for x in log.read_text().splitlines() if f"hash={new}" in x)
        assert line.split()[1:3] == ["info", "block"], line
        assert "lag=0" in line and "latency_ms=" in line, line
    finally:
        follower.send_signal(signal.SIGTERM)
        assert follower.wait(30) == 0, log.read_text()
    status = indexer("status", "--config", str(config))
    assert status.returncode == 0, status.stderr
    tip = f"height={core.rpc.getblockcount()} hash={core.rpc.getbestblockhash()}"
    assert f"node: url={core.url} reachable=True {tip} lag=0" in status.stdout, status.stdout
    assert_fresh_index(shards, fresh_index(core, vault))

    # docs/operating.md, step 4: the main job on the same drey.toml (founder, warehouse and
    # Dagster home from its tables) publishes a warehouse of this node's chain (no Drey params
    # here, so no months: the chain part only).
    job = subprocess.run(
        [sys.executable, "-m", "pipelines.driver.main", "run", "--config", str(config)],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert job.returncode == 0, job.stdout + job.stderr
    assert (tmp_path / "dh" / "dagster.yaml").is_file()
    con = duckdb.connect(str(work / "warehouse" / "warehouse.duckdb"), read_only=True)
    try:
        height, blocks = con.execute("select max(height), count(*) from blocks").fetchone()
    finally:
        con.close()
    assert (height, blocks) == (core.rpc.getblockcount(), core.rpc.getblockcount() + 1)


def wait_for(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
