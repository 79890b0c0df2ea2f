"""``python -m devnet``: commands, exit codes and one-line errors, and the served node."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from devnet.chain import Chain
from indexer.node import RPCClient

REPO = Path(__file__).resolve().parents[2]


def devnet(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "devnet", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_cli_workflow_and_errors(tmp_path: Path) -> None:
    dd = str(tmp_path / "dd")
    r = devnet("create", "--datadir", dd, "--blocks", "101", "--seed", "cli")
    assert r.returncode == 0, r.stderr
    assert "height 101" in r.stdout
    r = devnet(
        "inscribe", "--datadir", dd, "--body", "gm", "--count", "2", "--metaprotocol", "drey/1"
    )
    assert r.returncode == 0, r.stderr
    ids = [line.split()[1] for line in r.stdout.splitlines() if line.startswith("inscription ")]
    assert len(ids) == 2 and ids[0].endswith("i0") and ids[1].endswith("i1")
    r = devnet("mine", "--datadir", dd, "-n", "2")
    assert r.returncode == 0 and len(r.stdout.split()) == 2
    r = devnet("reorg", "--datadir", dd, "--from-height", "101")
    assert r.returncode == 0 and "height 105" in r.stdout, r.stdout + r.stderr
    r = devnet("info", "--datadir", dd, "--json")
    info = json.loads(r.stdout)
    assert info["height"] == 105 and info["chaintips"] == 2
    # Errors: one line on stderr, no traceback, precise exit codes.
    r = devnet("mine", "--datadir", dd, "-n", "1", "--times", "12")
    assert r.returncode == 2 and "must exceed the median time past" in r.stderr
    assert "Traceback" not in r.stderr
    r = devnet("mine", "--datadir", dd, "--bogus")
    assert r.returncode == 2 and "unrecognized arguments" in r.stderr
    r = devnet("inscribe", "--datadir", dd, "--body", "gm", "--parent", "not-an-id")
    assert r.returncode == 2 and "not an inscription id" in r.stderr, r.stderr
    r = devnet("info", "--datadir", str(tmp_path / "nope"))
    assert r.returncode == 1 and "not a devnet data directory" in r.stderr
    # A block the kernel rejects: exit 4 with Core's reason.
    with Chain.open(dd) as chain:
        bad = chain.build_block(coinbase_value=51 * 10**8)
    r = devnet("submit", "--datadir", dd, "--hex", bad.serialize().hex())
    assert r.returncode == 4 and "bad-cb-amount" in r.stderr, r.stderr
    r = devnet("submit", "--datadir", dd, "--hex", "00")
    assert r.returncode == 2 and "not a block" in r.stderr


def test_cli_node_serves_until_stop(tmp_path: Path) -> None:
    dd = tmp_path / "dd"
    assert devnet("create", "--datadir", str(dd), "--blocks", "3").returncode == 0
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "devnet",
            "node",
            "--datadir",
            str(dd),
            "--rpc-port",
            "0",
            "--rest",
            "--zmq-pub",
            "tcp://127.0.0.1:0",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        ready = json.loads(proc.stdout.readline())
        rpc = RPCClient(ready["rpc"], cookie_file=ready["cookie"])
        assert rpc.getblockcount() == 3
        assert {n["type"] for n in rpc.getzmqnotifications()} == {
            "pubhashblock",
            "pubhashtx",
            "pubrawblock",
            "pubrawtx",
            "pubsequence",
        }
        # The data directory is held while serving.
        busy = devnet("mine", "--datadir", str(dd))
        assert busy.returncode == 3
        assert rpc.call("stop") == "Bitcoin Core stopping"
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    with Chain.open(dd) as chain:  # cleanly shut down: reopens with the same tip
        assert chain.height == 3
        assert not chain.datadir.cookie_file.exists()
