"""What the Dagster catalog shows of each warehouse table: every table of
:data:`pipelines.tables.TABLES` is an asset of its own name, defined with its column schema
(the DuckDB types and NOT NULL of the published ``data.<table>``) and its
``dagster/table_name``, and materialized with its row count and a preview of its first rows.

The definition metadata is attached in one place (:func:`with_table_metadata`, applied to every
asset of the code location), so a new table or column shows up without touching an asset.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg
import pyarrow as pa

from pipelines.tables import TABLES, sql_type

# The published file is warehouse.duckdb, so DuckDB names its catalog "warehouse"; the tables
# are in schema "data" (the analysts' views over them, in "main", are in docs/schema.md).
CATALOG = "warehouse"
PREVIEW_ROWS = 5
_PREVIEW_CHARS = 24  # hashes and keys are 64 hex: the preview shows their start
_JS_SAFE = 2**53  # larger integers are shown as text, which the UI (JavaScript) keeps exactly


def table_name(table: str) -> str:
    return f"{CATALOG}.data.{table}"


def column_schema(table: str) -> dg.TableSchema:
    """``data.<table>``'s columns with their DuckDB types, as the publisher creates them."""
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                f.name,
                sql_type(f.type),
                constraints=dg.TableColumnConstraints(nullable=f.nullable),
            )
            for f in TABLES[table].schema
        ]
    )


def definition_metadata(table: str) -> dict[str, Any]:
    return {"dagster/column_schema": column_schema(table), "dagster/table_name": table_name(table)}


def with_table_metadata(assets: Sequence[Any]) -> list[Any]:
    """``assets`` with :func:`definition_metadata` on every spec whose key is a table."""

    def add(spec: dg.AssetSpec) -> dg.AssetSpec:
        table = spec.key.to_user_string()
        if table not in TABLES:
            return spec
        return spec.merge_attributes(metadata=definition_metadata(table))

    return [a.map_asset_specs(add) if isinstance(a, dg.AssetsDefinition) else a for a in assets]


def _cell(value: Any) -> str | int | float | bool | None:
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        return value if abs(value) < _JS_SAFE else str(value)
    text = value.hex() if isinstance(value, bytes) else str(value)
    return text if len(text) <= _PREVIEW_CHARS else text[: _PREVIEW_CHARS - 1] + "…"


def preview(data: pa.Table, rows: int = PREVIEW_ROWS) -> dg.TableMetadataValue:
    """The first ``rows`` rows, as the catalog's table preview (long text cut, big ints as
    text)."""
    head = data.slice(0, rows).to_pylist()
    schema = dg.TableSchema(columns=[dg.TableColumn(f.name, sql_type(f.type)) for f in data.schema])
    records = [dg.TableRecord({k: _cell(v) for k, v in row.items()}) for row in head]
    return dg.MetadataValue.table(records, schema=schema)


def materialized(data: pa.Table) -> dict[str, Any]:
    """A table asset's materialization metadata: its row count and a preview."""
    return {"dagster/row_count": dg.MetadataValue.int(data.num_rows), "preview": preview(data)}


def month_materialized(by_month: Mapping[str, pa.Table]) -> dict[str, Any]:
    """A month table's materialization metadata for the months of one run: the rows of each,
    their sum as the row count when the run is one month (a run over a range gives every
    month of it the same metadata), and a preview of the last month's rows."""
    counts = {month: data.num_rows for month, data in by_month.items()}
    meta: dict[str, Any] = {
        "months": dg.MetadataValue.int(len(counts)),
        "rows_by_month": dg.MetadataValue.json(counts),
    }
    if len(counts) == 1:
        meta["dagster/row_count"] = dg.MetadataValue.int(next(iter(counts.values())))
    if by_month:
        meta["preview"] = preview(by_month[max(by_month)])
    return meta
