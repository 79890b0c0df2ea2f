"""The README's first command, as a user runs it: ``drey-warehouse run`` in its own process.

On the devnet (no node given) it simulates, follows, materializes, publishes and reports; run
again it reuses the devnet; given a follower TOML it follows that node instead (here the dev
node serving the same chain), and it refuses bad arguments with exit status 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pipelines.driver import main as driver_main
from pipelines.driver.network import Devnet, serve

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


def test_main_job_on_the_devnet_then_on_a_configured_node(tmp_path: Path) -> None:
    work, home = tmp_path / "run", tmp_path / "dagster_home"
    first = _run(*SMALL, "--workdir", str(work), "--dagster-home", str(home))
    assert first.returncode == 0, first.stdout + first.stderr
    out = first.stdout
    assert "✓ devnet:" in out and "2 months" in out
    assert "✓ shards: height" in out
    assert "materialized" in out
    assert "equals the simulator's answer key" in out
    assert "dagster dev -m pipelines" in out
    db = work / "warehouse" / "warehouse.duckdb"
    assert f"Warehouse: {db}" in out
    built = _months(db)
    assert [m for m, outcome, root in built if outcome == "accepted" and root] == [
        m for m, *_ in built[:2]
    ]
    assert (home / "dagster.yaml").exists()  # a new instance gets the committed config

    again = _run(*SMALL, "--workdir", str(work), "--dagster-home", str(home))
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Reusing the devnet" in again.stdout

    # The same job against a node given by its follower TOML.
    devnet = Devnet.load(work / "devnet")
    with serve(devnet.datadir) as served:
        config = served.follow_config(tmp_path / "node-shards", devnet.vault_scripts)
        toml = write_toml(tmp_path / "follow.toml", config)
        node = _run(
            "--node-config", str(toml), "--founder", devnet.founder,
            "--workdir", str(tmp_path / "node-run"), "--dagster-home", str(home),
        )  # fmt: skip
    assert node.returncode == 0, node.stdout + node.stderr
    assert "answer key" not in node.stdout  # a real node has none
    assert _months(tmp_path / "node-run" / "warehouse" / "warehouse.duckdb") == built


def test_main_job_refuses_bad_arguments(tmp_path: Path) -> None:
    no_founder = _run("--node-config", str(tmp_path / "x.toml"), "--workdir", str(tmp_path))
    assert no_founder.returncode == 2
    assert "--founder" in no_founder.stdout
    bad = _run("--scenarios", "nonsense", "--workdir", str(tmp_path / "w"))
    assert bad.returncode == 2
    assert "unknown scenario 'nonsense'" in bad.stdout
    toml = tmp_path / "node.toml"
    toml.write_text(
        f'network = "regtest"\nshard_root = "{tmp_path / "shards"}"\n'
        '[node]\nrpc_url = "http://127.0.0.1:9/"\n'
    )
    short = _run("--node-config", str(toml), "--founder", "ab" * 31, "--workdir", str(tmp_path))
    assert short.returncode == 2
    assert "founder key must be 32 bytes" in short.stdout
    not_hex = _run("--node-config", str(toml), "--founder", "zz" * 32, "--workdir", str(tmp_path))
    assert not_hex.returncode == 2 and "founder key is not hex" in not_hex.stdout
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    on_file = _run("--workdir", str(a_file))
    assert on_file.returncode == 1 and "File exists" in on_file.stdout


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
