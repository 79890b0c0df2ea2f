"""Small helpers for the asset modules: the materialization result every asset returns,
and the month-asset factory (a month-partitioned asset that turns slices of the rules
engine's evaluation into Parquet tables, one file per month)."""

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import dagster as dg
import pyarrow as pa

from drey.rules import Evaluation, MonthEvaluation
from pipelines.assets.groups import Group
from pipelines.convert import to_table
from pipelines.partitions import month_partitioned_asset
from pipelines.settings import Warehouse
from pipelines.tables import TABLES

RULES_EVALUATION = dg.AssetKey("rules_evaluation")


def table_metadata(tables: Mapping[str, pa.Table]) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    for name, table in tables.items():
        meta[f"{name}_rows"] = dg.MetadataValue.int(table.num_rows)
    if len(tables) == 1:
        (table,) = tables.values()
        meta["dagster/row_count"] = dg.MetadataValue.int(table.num_rows)
        meta["dagster/column_schema"] = dg.TableSchema(
            columns=[dg.TableColumn(f.name, str(f.type)) for f in table.schema]
        )
    return meta


MonthRows = Mapping[str, Iterable[Mapping[str, Any]] | pa.Table]
MonthBuilder = Callable[[Evaluation, MonthEvaluation | None, str], MonthRows]


def month_evaluation(evaluation: Evaluation, month: str) -> MonthEvaluation | None:
    for m in evaluation.months:
        if m.month == month:
            return m
    return None


def month_asset(
    *,
    name: str,
    group: Group,
    tables: Sequence[str],
    description: str,
    deps: Sequence[dg.AssetKey | str] = (RULES_EVALUATION,),
) -> Callable[[MonthBuilder], dg.AssetsDefinition]:
    """A month-partitioned asset writing ``tables`` (month tables of :data:`pipelines.tables.TABLES`,
    each with its registered schema) for each month of the run.

    The builder gets the evaluation, the month's :class:`MonthEvaluation` (``None`` for the
    pending month, whose snapshot is not reached yet) and the month key, and returns rows per
    table (dicts, or an Arrow table for the big ones). Every table gets a file for every month, empty when there is nothing, so that a
    month that lost its rows (a reorg) is rewritten rather than left stale.
    """

    schemas = {table: TABLES[table].schema for table in tables}
    if any(TABLES[table].kind != "month" for table in tables):
        raise ValueError(f"{name}: a month asset writes month tables only, not {tables}")

    def decorate(build: MonthBuilder) -> dg.AssetsDefinition:
        @month_partitioned_asset(
            name=name,
            group_name=group,
            deps=list(deps),
            description=description,
            kinds={"parquet"},
        )
        def _asset(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
            evaluation: Evaluation | None = warehouse.evaluation()
            if evaluation is None:
                raise dg.Failure("rules_evaluation has not been materialized")
            store = warehouse.store
            counts: dict[str, dict[str, int]] = {t: {} for t in tables}
            for month in context.partition_keys:
                rows = build(evaluation, month_evaluation(evaluation, month), month)
                for table, schema in schemas.items():
                    given = rows.get(table, ())
                    if isinstance(given, pa.Table):
                        data = given.select(schema.names).cast(schema)
                    else:
                        data = to_table(given, schema)
                    store.write(table, data, month=month)
                    counts[table][month] = data.num_rows
            meta: dict[str, Any] = {"months": dg.MetadataValue.int(len(context.partition_keys))}
            for table, by_month in counts.items():
                meta[f"{table}_rows"] = dg.MetadataValue.int(sum(by_month.values()))
                meta[f"{table}_rows_by_month"] = dg.MetadataValue.json(by_month)
            if len(tables) == 1 and len(context.partition_keys) == 1:
                meta["dagster/row_count"] = dg.MetadataValue.int(
                    sum(next(iter(counts.values())).values())
                )
            return dg.MaterializeResult(metadata=meta)

        _asset.__doc__ = build.__doc__
        return _asset

    return decorate


def json_text(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
