"""Crash safety of the warehouse: the process building it is SIGKILLed while it rebuilds the
months (after some month partitions are written) and while it publishes (the new DuckDB file
complete beside the live one). The live file is never half-written: it stays the previous
warehouse (or absent) and opens; a rerun then equals a fresh build, view for view."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pipelines import duck

from .chainfix import DemoChain

DRIVER = Path(__file__).with_name("crash_driver.py")
# Differ from build to build by design: when and with what it was built.
VOLATILE = {"build_info": {"built_at"}, "warehouse_info": {"built_at"}}


def drive(shards: Path, directory: Path, founder: bytes, crash: str | None = None) -> int:
    env = {**os.environ}
    env.pop("DREY_CRASH_AT", None)
    if crash:
        env["DREY_CRASH_AT"] = crash
    proc = subprocess.run(
        [sys.executable, str(DRIVER), str(shards), str(directory), founder.hex()],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode in (0, -9), proc.stderr[-3000:]
    return proc.returncode


def views(path: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        out = {}
        for v in duck.view_names(con):
            cur = con.execute(f"select * from {duck.quote_identifier(v)}")
            names = [d[0] for d in cur.description]
            keep = [i for i, n in enumerate(names) if n not in VOLATILE.get(v, set())]
            out[v] = sorted((tuple(row[i] for i in keep) for row in cur.fetchall()), key=repr)
        return out
    finally:
        con.close()


@pytest.fixture(scope="module")
def fresh(test_chain: tuple[DemoChain, Path], tmp_path_factory: pytest.TempPathFactory) -> dict:
    tc, shards = test_chain
    directory = tmp_path_factory.mktemp("fresh")
    assert drive(shards, directory, tc.founder) == 0
    return views(directory / "warehouse.duckdb")


@pytest.mark.parametrize("crash", ["month_written:3", "month_written:12", "warehouse_built"])
def test_a_killed_build_leaves_the_live_warehouse_and_a_rerun_equals_a_fresh_build(
    test_chain: tuple[DemoChain, Path], fresh: dict, tmp_path: Path, crash: str
) -> None:
    tc, shards = test_chain
    directory = tmp_path / "warehouse"
    assert drive(shards, directory, tc.founder) == 0
    live = directory / "warehouse.duckdb"
    before = live.read_bytes()
    assert drive(shards, directory, tc.founder, crash=crash) == -9
    assert live.read_bytes() == before  # untouched, and still a warehouse
    assert views(live) == fresh
    if crash == "warehouse_built":
        assert list(directory.glob(".warehouse.duckdb.*.tmp*"))  # the dead writer's file
    assert drive(shards, directory, tc.founder) == 0
    assert not list(directory.glob(".warehouse.duckdb.*.tmp*"))  # cleaned by the next publish
    assert views(live) == fresh


def test_a_build_killed_before_its_first_publication_leaves_no_warehouse(
    test_chain: tuple[DemoChain, Path], fresh: dict, tmp_path: Path
) -> None:
    tc, shards = test_chain
    directory = tmp_path / "warehouse"
    assert drive(shards, directory, tc.founder, crash="warehouse_built") == -9
    assert not (directory / "warehouse.duckdb").exists()  # no half-written file under the name
    assert drive(shards, directory, tc.founder) == 0
    assert views(directory / "warehouse.duckdb") == fresh
