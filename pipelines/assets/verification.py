"""Group ``verification``: one row per check per month and round, ``(check_name, passed,
detail, source)``. ``rules`` rows are the rules engine's own verdicts (each lead and
secondary result, each round's decision, the formula module and its reference, the
publication, the month's outcome); ``sql`` rows recheck the published tables in SQL
(``sql/300_checks.sql``). A failed row is a finding about the chain (a cheating lead, a
missing publication), not a pipeline error: the asset check reports them as warnings."""

import dagster as dg
import pyarrow as pa
from dagster_duckdb import DuckDBResource

from drey.rules import Evaluation
from pipelines.assets.catalog import month_materialized
from pipelines.assets.groups import WAREHOUSE
from pipelines.convert import to_table
from pipelines.duck import month_sql_checks
from pipelines.partitions import month_partitioned_asset
from pipelines.settings import Warehouse
from pipelines.tables import TABLES, VERIFICATION

# Every month table the rules and SQL checks read: all the month assets but this one.
MONTH_TABLES = tuple(
    t.name for t in TABLES.values() if t.kind == "month" and t.name != "verification"
)


def rules_rows(evaluation: Evaluation, month: str | None) -> list[dict]:
    return [
        {
            "month": c.month,
            "round": c.round,
            "check_name": c.name,
            "passed": c.passed,
            "detail": c.detail,
            "source": "rules",
        }
        for c in evaluation.checks
        if c.month == month
    ]


@month_partitioned_asset(
    group_name=WAREHOUSE,
    deps=[*MONTH_TABLES, "drey_messages"],
    kinds={"duckdb", "parquet"},
)
def verification(
    context: dg.AssetExecutionContext, warehouse: Warehouse, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    """The rules engine's checks and the SQL rechecks of each month."""
    evaluation: Evaluation = warehouse.evaluation()
    store = warehouse.store
    summary: dict[str, dict[str, int]] = {}
    written: dict[str, pa.Table] = {}
    for month in context.partition_keys:
        rows = rules_rows(evaluation, month)
        with duckdb.get_connection() as con:
            rows += [{**r, "source": "sql"} for r in month_sql_checks(con, store, month)]
        table = to_table(rows, VERIFICATION)
        store.write("verification", table, month=month)
        written[month] = table
        failed = sum(not r["passed"] for r in rows)
        summary[month] = {"checks": len(rows), "failed": failed}
    return dg.MaterializeResult(
        metadata={
            **month_materialized(written),
            "checks_by_month": dg.MetadataValue.json(summary),
            "failed": sum(s["failed"] for s in summary.values()),
        }
    )


@dg.asset_check(asset=verification)
def protocol_checks(
    context: dg.AssetCheckExecutionContext, warehouse: Warehouse
) -> dg.AssetCheckResult:
    """Every verification row of the run's months passed. Failures are findings about the
    chain (warnings); the detail says what was compared."""
    try:
        months = list(context.partition_keys)
    except dg.DagsterInvariantViolationError:
        months = warehouse.store.months_of("verification")
    failed: list[str] = []
    total = 0
    for month in months:
        for row in warehouse.store.read("verification", month=month).to_pylist():
            total += 1
            if not row["passed"]:
                where = month if row["round"] is None else f"{month} r{row['round']}"
                failed.append(f"{where} {row['check_name']}: {row['detail']}")
    return dg.AssetCheckResult(
        passed=not failed,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "checks": total,
            "failed": len(failed),
            "failures": dg.MetadataValue.md("\n".join(f"- {f}" for f in failed[:200]) or "none"),
        },
    )
