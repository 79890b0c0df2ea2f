"""The code location: assets, checks, jobs, sensors, schedule and resources."""

from __future__ import annotations

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.assets import ASSETS, CHAIN_ASSETS, CHECKS, MONTH_ASSETS
from pipelines.sensors import (
    CHAIN_JOB,
    FULL_JOB,
    MONTHS_JOB,
    monthly_schedule,
    months_sensor,
    shards_sensor,
)
from pipelines.settings import Warehouse
from pipelines.state_cache import StateCache

# Steps share the run's process: the month assets of a run reuse one load of the evaluation,
# and the heavy work (the rules engine, Poseidon, wasmtime) is one step anyway.
chain_job = dg.define_asset_job(CHAIN_JOB, CHAIN_ASSETS, executor_def=dg.in_process_executor)
months_job = dg.define_asset_job(MONTHS_JOB, MONTH_ASSETS, executor_def=dg.in_process_executor)
full_job = dg.define_asset_job(
    FULL_JOB, dg.AssetSelection.all(), executor_def=dg.in_process_executor
)


def build_definitions(warehouse: Warehouse | None = None) -> dg.Definitions:
    """The definitions with ``warehouse`` (default: every field from the product's settings,
    read when a run or sensor starts; see :mod:`pipelines.settings`). Unless ``warehouse``
    brings its own, its runs share one :class:`StateCache` that lives as long as these
    definitions (:mod:`pipelines.state_cache`)."""
    warehouse = warehouse or Warehouse()
    if warehouse.state_cache is None:
        warehouse = warehouse.with_state_cache(StateCache())
    return dg.Definitions(
        assets=ASSETS,
        asset_checks=CHECKS,
        jobs=[chain_job, months_job, full_job],
        sensors=[shards_sensor, months_sensor],
        schedules=[monthly_schedule],
        # Every run in one process, assets materialized from the UI included: a run then
        # takes the store's writer lock once (pipelines/writer_lock.py).
        executor=dg.in_process_executor,
        resources={
            "warehouse": warehouse,
            "duckdb": DuckDBResource(database=":memory:"),
        },
    )
