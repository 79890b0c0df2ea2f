"""Incremental runs: new blocks committed to the shard root wake the shards sensor; the rules
engine says which months changed; only those months are rebuilt, then the warehouse is
republished. Driven tick by tick with the real sensors against one instance."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest

from pipelines.driver.runner import Cursors, tick
from pipelines.evaluation import MonthDigests, content_bytes
from pipelines.partitions import range_tags, register_months
from pipelines.sensors import PUBLICATION, months_request, shards_request
from pipelines.sources import shard_version

from ..chainfix import FIRST_MONTH, build_chain
from ..harness import make_pipeline

MONTH_ASSETS = ("months", "eligibility", "elections", "penalties", "verification", "allocations")


def _mtimes(root: Path, month: str) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in root.glob(f"parquet/*/{month}.parquet")}


def _outcomes(db: Path) -> dict[str, str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return dict(con.execute("select month, outcome from months").fetchall())
    finally:
        con.close()


def test_new_blocks_rebuild_only_the_affected_months(tmp_path: Path) -> None:
    tc = build_chain(tmp_path / "datadir")
    shards = tmp_path / "shards"
    try:
        tc.write_shards(shards)
        pipeline = make_pipeline(shards, tmp_path / "warehouse", tc.founder)
        store = pipeline.warehouse.store
        cursors = Cursors()

        first = tick(pipeline.defs, pipeline.instance, pipeline.warehouse, cursors)
        assert [r.dagster_run.job_name for r in first.runs] == ["chain_job", "months_job"]
        assert first.partitions("months") == {FIRST_MONTH, "2024-03"}
        assert _outcomes(store.warehouse) == {FIRST_MONTH: "failed", "2024-03": "pending"}

        # Nothing committed: the sensor skips.
        idle = tick(pipeline.defs, pipeline.instance, pipeline.warehouse, cursors)
        assert idle.runs == []

        # A month of blocks: March reaches its snapshot and is decided; April appears.
        before = _mtimes(store.root, FIRST_MONTH)
        assert before
        tc.mine_days(30)
        tc.write_shards(shards)
        second = tick(pipeline.defs, pipeline.instance, pipeline.warehouse, cursors)
        assert [r.dagster_run.job_name for r in second.runs] == ["chain_job", "months_job"]
        for asset in MONTH_ASSETS:
            assert second.partitions(asset) == {"2024-03", "2024-04"}, asset
        assert _mtimes(store.root, FIRST_MONTH) == before  # February untouched
        outcomes = _outcomes(store.warehouse)
        assert outcomes[FIRST_MONTH] == "failed" and outcomes["2024-04"] == "pending"
        assert outcomes["2024-03"] in ("failed", "accepted")

        # One more block changes no month: only the warehouse is republished (new tip). The
        # state the earlier runs wrote is read from memory, not unpickled again.
        states = pipeline.defs.resources["warehouse"].state_cache
        unpickled, served = states.misses, states.hits
        tc.mine_days(1)
        tc.write_shards(shards)
        third = tick(pipeline.defs, pipeline.instance, pipeline.warehouse, cursors)
        assert third.assets() >= {"rules_evaluation", "duckdb_warehouse"}
        assert states.misses == unpickled and states.hits > served
        assert not third.partitions("eligibility")
        con = duckdb.connect(str(store.warehouse), read_only=True)
        tip = con.execute("select tip_height from warehouse_info").fetchone()[0]
        con.close()
        assert tip == tc.chain.height
    finally:
        tc.chain.close()


def test_shard_version_moves_with_each_commit(tmp_path: Path) -> None:
    empty = shard_version(tmp_path)
    (tmp_path / "blocks").mkdir()
    (tmp_path / "blocks" / "000000001.parquet").write_bytes(b"x")
    one = shard_version(tmp_path)
    assert one != empty
    assert shards_request(one, cursor=one) is None
    request = shards_request(one, cursor=empty)
    assert request is not None and request.job_name == "chain_job"


def test_months_request_spans_the_affected_known_months() -> None:
    known = ["2024-01", "2024-02", "2024-03", "2024-04"]
    request = months_request(["2024-04", "2024-02"], known, run_key="k")
    assert request.tags == range_tags(["2024-02", "2024-04"])
    assert request.asset_selection is None
    only_publish = months_request(["2023-12"], known, run_key="k")
    assert only_publish.asset_selection == list(PUBLICATION) and not only_publish.tags
    with pytest.raises(ValueError):
        range_tags([])


def test_month_digests_name_changed_new_and_removed_months() -> None:
    old = MonthDigests({"2024-01": "a", "2024-02": "b", "2024-03": "c"})
    new = MonthDigests({"2024-01": "a", "2024-02": "x", "2024-04": "d"})
    assert new.changed_since(old) == ["2024-02", "2024-04"]
    assert new.removed_since(old) == ["2024-03"]
    assert new.changed_since(None) == ["2024-01", "2024-02", "2024-04"]


@dataclass(frozen=True, slots=True)
class _Check:
    verdict: str
    seconds: float = field(default=0.0, compare=False)


@dataclass(frozen=True, slots=True)
class _Month:
    month: str
    checks: tuple[_Check, ...]


def test_a_month_digest_is_its_content_not_its_timings_or_shared_objects() -> None:
    # A re-evaluation measures every proof check again, and a memo hit hands back one object
    # where a fresh computation builds two equal ones: neither is a change to rebuild for.
    check = _Check("ok", seconds=0.25)
    shared = _Month("2024-01", (check, check))
    fresh = _Month("2024-01", (_Check("ok", seconds=0.5), _Check("ok", seconds=0.75)))
    assert content_bytes(shared) == content_bytes(fresh)
    assert content_bytes(shared) != content_bytes(_Month("2024-01", (check, _Check("bad"))))
    assert content_bytes(shared) != content_bytes(_Month("2024-02", (check, check)))


def test_register_months_adds_in_month_order_once(tmp_path: Path) -> None:
    import dagster as dg

    instance = dg.DagsterInstance.ephemeral()
    assert register_months(instance, ["2024-03", "2024-01"]) == ["2024-01", "2024-03"]
    assert register_months(instance, ["2024-01", "2024-04"]) == ["2024-04"]
    assert instance.get_dynamic_partitions("months") == ["2024-01", "2024-03", "2024-04"]
    with pytest.raises(ValueError):
        register_months(instance, ["2024-13"])


def test_monthly_schedule_runs_everything_over_every_known_month() -> None:
    import dagster as dg

    from pipelines.sensors import monthly_schedule

    with dg.instance_for_test() as instance:
        request = monthly_schedule(dg.build_schedule_context(instance=instance))
        assert request.job_name == "chain_job"  # no month known yet: start from the chain
        register_months(instance, ["2024-02", "2024-03"])
        request = monthly_schedule(dg.build_schedule_context(instance=instance))
        assert request.job_name == "full_job"
        assert request.tags == range_tags(["2024-02", "2024-03"])
