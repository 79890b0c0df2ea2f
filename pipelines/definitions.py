"""The code location: assets, checks, jobs, sensors, schedule and resources."""

from __future__ import annotations

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.assets import ASSETS, CHAIN_ASSETS, CHECKS, MONTH_ASSETS
from pipelines.executor import warehouse_executor
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

# The jobs take the definitions' executor, chosen by configuration (pipelines/executor.py).
chain_job = dg.define_asset_job(CHAIN_JOB, CHAIN_ASSETS)
months_job = dg.define_asset_job(MONTHS_JOB, MONTH_ASSETS)
full_job = dg.define_asset_job(FULL_JOB, dg.AssetSelection.all())


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
        # Every run, assets materialized from the UI included, with the executor the
        # settings name and the store's writer lock held for the whole run.
        executor=warehouse_executor(warehouse),
        resources={
            "warehouse": warehouse,
            "duckdb": DuckDBResource(database=":memory:"),
        },
    )
