"""Group ``plans_and_deposits``: every ``plan`` message (§3) with its status and the
deposits (vault outputs of its carrying transaction) it binds, and when each was withdrawn.
The ``deposits`` view lists the deposits of valid plans; per month, as the formula saw them,
they are in ``formula_inputs``."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.assets.groups import BOOKKEEPING
from pipelines.assets.stakes import BINDING_DEPS, bindings
from pipelines.settings import Warehouse


@dg.asset(group_name=BOOKKEEPING, deps=BINDING_DEPS, kinds={"duckdb", "parquet"})
def plans(
    context: dg.AssetExecutionContext, warehouse: Warehouse, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    """Every ``plan`` message (user_id, owner) with its status and, when valid, the deposits
    (vault outputs) it binds and when each was withdrawn."""
    return bindings(context, warehouse, duckdb, "plan", "plans")
