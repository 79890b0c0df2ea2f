"""Small helpers for the asset modules: the month-asset factory (one month-partitioned step
that turns slices of the rules engine's evaluation into Parquet tables, one asset per table and
one file per month)."""

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import dagster as dg
import pyarrow as pa

from drey.rules import Evaluation, MonthEvaluation
from pipelines.assets.catalog import month_materialized
from pipelines.assets.groups import Group
from pipelines.convert import to_table
from pipelines.partitions import month_partitioned_multi_asset
from pipelines.settings import Warehouse
from pipelines.tables import TABLES

RULES_EVALUATION = dg.AssetKey("rules_evaluation")


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
    tables: Mapping[str, str],
    description: str,
    deps: Sequence[dg.AssetKey | str] = (RULES_EVALUATION,),
) -> Callable[[MonthBuilder], dg.AssetsDefinition]:
    """One month-partitioned step, ``name``, writing ``tables`` (month tables of
    :data:`pipelines.tables.TABLES` → their descriptions) for each month of the run: one asset
    per table, each with its registered schema.

    The builder gets the evaluation, the month's :class:`MonthEvaluation` (``None`` for the
    pending month, whose snapshot is not reached yet) and the month key, and returns rows per
    table (dicts, or an Arrow table for the big ones). Every table gets a file for every
    month, empty when there is nothing, so that a month that lost its rows (a reorg) is
    rewritten rather than left stale.
    """

    schemas = {table: TABLES[table].schema for table in tables}
    if any(TABLES[table].kind != "month" for table in tables):
        raise ValueError(f"{name}: a month asset writes month tables only, not {list(tables)}")
    specs = [
        dg.AssetSpec(table, description=text, group_name=group, deps=list(deps), kinds={"parquet"})
        for table, text in tables.items()
    ]

    def decorate(build: MonthBuilder) -> dg.AssetsDefinition:
        @month_partitioned_multi_asset(name=name, specs=specs, description=description)
        def _asset(
            context: dg.AssetExecutionContext, warehouse: Warehouse
        ) -> Iterator[dg.MaterializeResult]:
            evaluation: Evaluation | None = warehouse.evaluation()
            if evaluation is None:
                raise dg.Failure("rules_evaluation has not been materialized")
            store = warehouse.store
            written: dict[str, dict[str, pa.Table]] = {t: {} for t in tables}
            for month in context.partition_keys:
                rows = build(evaluation, month_evaluation(evaluation, month), month)
                for table, schema in schemas.items():
                    given = rows.get(table, ())
                    if isinstance(given, pa.Table):
                        data = given.select(schema.names).cast(schema)
                    else:
                        data = to_table(given, schema)
                    store.write(table, data, month=month)
                    written[table][month] = data
            for table, by_month in written.items():
                yield dg.MaterializeResult(asset_key=table, metadata=month_materialized(by_month))

        _asset.__doc__ = build.__doc__
        return _asset

    return decorate


def json_text(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
