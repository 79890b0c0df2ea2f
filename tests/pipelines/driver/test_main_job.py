"""The README's first command, as a user runs it: ``drey-warehouse run`` in its own process.

On the devnet (no node given) it simulates, follows, materializes, publishes and reports; run
again it reuses the devnet; given a follower TOML it follows that node instead (here a real
bitcoind that opened the same data directory), and with ``--watch`` stays at its tip; it
refuses bad arguments with exit status 2."""

from __future__ import annotations

import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from devnet.chain import Chain
from pipelines.driver import main as driver_main
from pipelines.driver.network import Devnet

from ...core.bitcoind import MakeCore, free_port
from ...indexer.follow.helpers import write_toml

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[3]
# v1's recompute here (the end-to-end test covers v1.1's proofs): both protocol versions run
# through the whole chain path.
SMALL = ["--months", "2", "--users", "20", "--scenarios", "honest", "--seed", "main-job",
         "--proofs", "recompute"]  # fmt: skip


def _run(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipelines.driver.main", "run", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "200", "HOME": str(Path.home())},
    )


def _months(db: Path) -> list[tuple[str, str, str]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(
            "select month, outcome, month_root from months order by month"
        ).fetchall()
    finally:
        con.close()


@dataclass(frozen=True)
class DevnetRun:
    """The README's first command, run once for the module: its output, work directory,
    Dagster home and the months of the warehouse it published."""

    out: str
    work: Path
    home: Path
    built: list[tuple[str, str, str]]

    @property
    def devnet(self) -> Devnet:
        return Devnet.load(self.work / "devnet")

    @property
    def db(self) -> Path:
        return self.work / "warehouse" / "warehouse.duckdb"


@pytest.fixture(scope="module")
def devnet_run(tmp_path_factory: pytest.TempPathFactory) -> DevnetRun:
    tmp = tmp_path_factory.mktemp("main-job")
    work, home = tmp / "run", tmp / "dagster_home"
    first = _run(*SMALL, "--workdir", str(work), "--dagster-home", str(home))
    assert first.returncode == 0, first.stdout + first.stderr
    db = work / "warehouse" / "warehouse.duckdb"
    return DevnetRun(first.stdout, work, home, _months(db))


def test_main_job_on_the_devnet(devnet_run: DevnetRun) -> None:
    out, work, home = devnet_run.out, devnet_run.work, devnet_run.home
    assert "✓ devnet:" in out and "2 months" in out
    assert "✓ shards: height" in out
    assert "materialized" in out
    assert "equals the simulator's answer key" in out
    assert "dagster dev -m pipelines" in out
    assert f"Warehouse: {work / 'warehouse' / 'warehouse.duckdb'}" in out
    board = work / "warehouse" / "dashboard" / "index.html"
    assert f"Dashboard: {board}" in out and "Months at a glance" in board.read_text()
    built = devnet_run.built
    assert [m for m, outcome, root in built if outcome == "accepted" and root] == [
        m for m, *_ in built[:2]
    ]
    assert (home / "dagster.yaml").exists()  # a new instance gets the committed config

    again = _run(*SMALL, "--workdir", str(work), "--dagster-home", str(home))
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Reusing the devnet" in again.stdout


@pytest.mark.core
def test_main_job_following_bitcoind_then_watching_it(
    devnet_run: DevnetRun, make_core: MakeCore, tmp_path: Path
) -> None:
    """The devnet's data directory opened by a real bitcoind (a copy: Core rewrites it), the
    main job told only its follower TOML (RPC user/password, REST, ZMQ) and the founder key:
    the same warehouse as the devnet path, relation by relation; then ``--watch`` carries a block Core mines into the
    published warehouse."""
    devnet = devnet_run.devnet
    core = make_core("core", auth="password")
    shutil.copytree(devnet.datadir, core.datadir)
    core.start()
    assert core.rpc.call("verifychain", 4, 0) is True
    with Chain.open(devnet.datadir) as chain:
        assert core.rpc.getbestblockhash() == chain.tip.hash_hex
        raws = [chain.read_block(chain.hash_at(h)) for h in range(1, chain.height + 1)]
    # Every devnet block is a block Core accepts, replayed into an empty node.
    with make_core("replay", zmq="none") as empty:
        assert empty.submit(raws) == [None] * len(raws)

    config = core.follow_config(tmp_path / "core-shards", vault_scripts=devnet.vault_scripts)
    toml = write_toml(tmp_path / "follow.toml", config)
    node_run = tmp_path / "core-run"
    args = ("--node-config", str(toml), "--founder", devnet.founder, "--workdir", str(node_run),
            "--dagster-home", str(devnet_run.home))  # fmt: skip
    followed = _run(*args)
    assert followed.returncode == 0, followed.stdout + followed.stderr
    assert "answer key" not in followed.stdout  # a real node has none
    db = node_run / "warehouse" / "warehouse.duckdb"
    assert _months(db) == devnet_run.built
    # Not just the months: every relation, row for row (tools/warehouse_diff.py, built_at
    # left out).
    same = subprocess.run(
        [sys.executable, "tools/warehouse_diff.py", str(devnet_run.db), str(db)],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert same.returncode == 0, same.stdout + same.stderr

    with _watching(*args) as lines:
        _wait_for_line(lines, "Watching the node")
        tip = core.mine(1)[0]
        _wait_for_line(lines, "runs in")
        assert _tip(db) == (core.rpc.getblockcount(), tip)


@contextmanager
def _watching(*args: str) -> Iterator[queue.Queue[str]]:
    """``drey-warehouse run ... --watch`` in its own process; its output lines in a queue;
    stopped with Ctrl-C (SIGINT) at the end, which it must take cleanly."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipelines.driver.main", "run", *args, "--watch"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "200", "HOME": str(Path.home()),
             "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout or ()])
    reader.start()
    try:
        yield lines
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0
        _wait_for_line(lines, "Stopping.")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        reader.join(10)


def _wait_for_line(lines: queue.Queue[str], text: str, timeout: float = 180) -> str:
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            break
        seen.append(line)
        if text in line:
            return line
    raise AssertionError(f"no line with {text!r}; the output was:\n{''.join(seen[-40:])}")


def _tip(db: Path) -> tuple[int, str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        row = con.execute("select height, hash from blocks order by height desc limit 1").fetchone()
    finally:
        con.close()
    assert row is not None, "no blocks in the warehouse"
    return int(row[0]), str(row[1])


def test_main_job_refuses_bad_arguments(tmp_path: Path) -> None:
    missing = _run("--config", str(tmp_path / "x.toml"), "--workdir", str(tmp_path))
    assert missing.returncode == 2 and "x.toml does not exist" in missing.stdout
    bad = _run("--scenarios", "nonsense", "--workdir", str(tmp_path / "w"))
    assert bad.returncode == 2
    assert "unknown scenario 'nonsense'" in bad.stdout
    toml = tmp_path / "node.toml"
    toml.write_text(
        f'network = "regtest"\nshard_root = "{tmp_path / "shards"}"\n'
        '[node]\nrpc_url = "http://127.0.0.1:9/"\n'
    )
    no_founder = _run("--config", str(toml), "--workdir", str(tmp_path))
    assert no_founder.returncode == 2
    assert "a founder key is required with a node: --founder" in no_founder.stdout
    short = _run("--config", str(toml), "--founder", "ab" * 31, "--workdir", str(tmp_path))
    assert short.returncode == 2
    assert "founder: must be 32 bytes" in short.stdout
    not_hex = _run("--config", str(toml), "--founder", "zz" * 32, "--workdir", str(tmp_path))
    assert not_hex.returncode == 2 and "founder: not hex" in not_hex.stdout
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    on_file = _run("--workdir", str(a_file))
    assert on_file.returncode == 1 and "File exists" in on_file.stdout


def test_main_job_gives_up_on_a_dead_node_within_its_bound(tmp_path: Path) -> None:
    """A scheduled run against a node that never answers ends: exit 6 within ``--max-wait``,
    with the follower's own log saying what it waited for and where, and one line at the end."""
    port = free_port()
    toml = tmp_path / "node.toml"
    toml.write_text(
        f'network = "regtest"\nshard_root = "{tmp_path / "shards"}"\n'
        f'[node]\nrpc_url = "http://127.0.0.1:{port}/"\nrpc_user = "u"\nrpc_password = "p"\n'
    )
    started = time.monotonic()
    dead = _run("--config", str(toml), "--founder", "ab" * 32, "--workdir", str(tmp_path),
                "--max-wait", "2", timeout=120)  # fmt: skip
    assert dead.returncode == 6, dead.stdout + dead.stderr
    assert time.monotonic() - started < 60  # the interpreter and Dagster's import, plus 2 s
    assert "waiting_for_node" in dead.stderr and f"node=http://127.0.0.1:{port}/" in dead.stderr
    assert 'reason="node connection' in dead.stderr
    last = dead.stdout.strip().splitlines()[-1]
    assert last.startswith("drey-warehouse: gave up after") and "max_wait 2 s" in last, last


def test_main_job_reports_a_bug_as_a_bug(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An exception that is none of ours (here a ValueError from deep inside) is a bug: exit
    70 with its traceback, never "bad arguments"."""

    def broken(*_args: object) -> int:
        raise ValueError("an invariant broke")

    monkeypatch.setattr(driver_main, "run", broken)
    assert driver_main.main(["run"]) == driver_main.EXIT_BUG
    captured = capsys.readouterr()
    assert "ValueError: an invariant broke" in captured.err
    assert "internal error (a bug)" in captured.out
