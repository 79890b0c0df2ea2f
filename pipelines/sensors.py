"""Automation: react to newly committed shards, rebuild only the months they change, and a
monthly full run.

Two sensors, in sequence:

- ``shards_sensor`` watches the follower's commit point (:func:`pipelines.sources.shard_version`)
  and, when it moved, requests ``chain_job`` (blocks, inscriptions, messages, stakes, plans,
  the rules engine).
- ``months_sensor`` watches materializations of ``rules_evaluation``; each one names the
  months whose rows changed (``affected_months``, a per-month digest comparison), and the
  sensor requests ``months_job`` for the range those months span, then the publication. When no month
  changed, only the warehouse is republished (new inscriptions and statuses still show).

``monthly_schedule`` runs ``full_job`` (every asset, every month) on the 2nd of each month,
after the month's snapshot: a full re-verification independent of the sensors' bookkeeping.
"""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg

from pipelines.partitions import MONTHS, range_tags
from pipelines.settings import Warehouse
from pipelines.sources import shard_version

CHAIN_JOB = "chain_job"
MONTHS_JOB = "months_job"
FULL_JOB = "full_job"
WAREHOUSE_KEY = dg.AssetKey("duckdb_warehouse")
# A publication: the file and its build_info table (one step), then the dashboard over them
# and the copy at publish_url.
PUBLICATION = (
    WAREHOUSE_KEY,
    dg.AssetKey("build_info"),
    dg.AssetKey("dashboard"),
    dg.AssetKey("warehouse_copy"),
)
EVALUATION_KEY = dg.AssetKey("rules_evaluation")


def shards_request(version: str, cursor: str | None) -> dg.RunRequest | None:
    """A chain run when the shard version differs from the cursor."""
    if version == cursor:
        return None
    return dg.RunRequest(run_key=f"shards-{version[:16]}", job_name=CHAIN_JOB)


def months_request(affected: Sequence[str], known: Sequence[str], *, run_key: str) -> dg.RunRequest:
    """The month run for ``affected`` (those still known as partitions), as one range, or a
    publication-only run when none is left."""
    months = [m for m in affected if m in set(known)]
    if not months:
        return dg.RunRequest(
            run_key=run_key, job_name=MONTHS_JOB, asset_selection=list(PUBLICATION)
        )
    return dg.RunRequest(run_key=run_key, job_name=MONTHS_JOB, tags=range_tags(months))


@dg.sensor(
    job_name=CHAIN_JOB, minimum_interval_seconds=5, default_status=dg.DefaultSensorStatus.RUNNING
)
def shards_sensor(context: dg.SensorEvaluationContext, warehouse: Warehouse) -> dg.SensorResult:
    if warehouse.founder_key is None:
        return dg.SensorResult(skip_reason="no founder key configured (DREY_FOUNDER)")
    version = shard_version(warehouse.shards)
    request = shards_request(version, context.cursor)
    if request is None:
        return dg.SensorResult(skip_reason="no new shard commit", cursor=version)
    return dg.SensorResult(run_requests=[request], cursor=version)


@dg.sensor(
    job_name=MONTHS_JOB,
    minimum_interval_seconds=5,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def months_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    """One months run for every ``rules_evaluation`` materialized since the cursor (the union
    of their affected months: two chain runs between ticks lose nothing)."""
    after = int(context.cursor) if context.cursor else None
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=EVALUATION_KEY, after_storage_id=after),
        limit=1000,
        ascending=True,
    ).records
    if not records:
        return dg.SensorResult(skip_reason="no new evaluation", cursor=context.cursor)
    affected: set[str] = set()
    for record in records:
        materialization = record.asset_materialization
        value = materialization.metadata.get("affected_months") if materialization else None
        affected |= set(value.value if value is not None else ())
    last = records[-1].storage_id
    known = context.instance.get_dynamic_partitions(MONTHS.name)
    request = months_request(sorted(affected), known, run_key=f"months-{last}")
    return dg.SensorResult(run_requests=[request], cursor=str(last))


@dg.schedule(job_name=FULL_JOB, cron_schedule="0 6 2 * *", execution_timezone="UTC")
def monthly_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    months = context.instance.get_dynamic_partitions(MONTHS.name)
    if not months:
        return dg.RunRequest(job_name=CHAIN_JOB, run_key=None)
    return dg.RunRequest(job_name=FULL_JOB, tags=range_tags(months))
