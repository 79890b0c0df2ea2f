"""Every warehouse table is an asset of the code location (pipelines/assets/catalog.py): defined
with the column schema and table name the published file has, and materialized with its row
count and a preview of its rows. (The UI's view of the same, over GraphQL, is in
test_code_location.py.)"""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest

from pipelines.assets.catalog import PREVIEW_ROWS, preview, table_name
from pipelines.tables import TABLES

from .chainfix import DemoChain
from .harness import Pipeline


@pytest.fixture(scope="module")
def published(built: tuple[DemoChain, Pipeline]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(built[1].warehouse.store.warehouse), read_only=True)
    yield con
    con.close()


def test_every_table_is_an_asset_with_the_published_column_schema(
    built: tuple[DemoChain, Pipeline], published: duckdb.DuckDBPyConnection
) -> None:
    graph = built[1].defs.resolve_asset_graph()
    for table in TABLES:
        node = graph.get(dg.AssetKey(table))
        assert node.metadata["dagster/table_name"] == table_name(table) == f"warehouse.data.{table}"
        declared = [
            (c.name, c.type, c.constraints.nullable)
            for c in node.metadata["dagster/column_schema"].columns
        ]
        actual = published.execute(
            "select column_name, data_type, is_nullable = 'YES' from information_schema.columns "
            "where table_catalog = 'warehouse' and table_schema = 'data' and table_name = $t "
            "order by ordinal_position",
            {"t": table},
        ).fetchall()
        assert declared == [tuple(r) for r in actual], table


def _latest(pipeline: Pipeline, table: str, partition: str | None = None) -> dict:
    event = pipeline.instance.get_latest_materialization_event(dg.AssetKey(table))
    if partition is not None:
        records = pipeline.instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(table), asset_partitions=[partition]),
            limit=1,
        ).records
        event = records[0].event_log_entry
    assert event is not None and event.asset_materialization is not None, table
    return dict(event.asset_materialization.metadata)


def test_every_table_is_materialized_with_its_row_count_and_a_preview(
    built: tuple[DemoChain, Pipeline], published: duckdb.DuckDBPyConnection
) -> None:
    pipeline = built[1]
    store = pipeline.warehouse.store
    months = sorted(pipeline.months())
    for table, spec in TABLES.items():
        if spec.kind == "month":
            for month in months:
                meta = _latest(pipeline, table, month)
                rows = published.execute(
                    f"select count(*) from data.{table} where month = $m", {"m": month}
                ).fetchone()[0]
                if table == "verification":  # whole-chain checks join at publication
                    rows = store.read(table, month=month).num_rows
                assert meta["rows_by_month"].data[month] == rows, (table, month)
            continue
        meta = _latest(pipeline, table)
        count = published.execute(f"select count(*) from data.{table}").fetchone()[0]
        assert meta["dagster/row_count"].value == count, table
        shown = meta["preview"]
        assert len(shown.records) == min(count, PREVIEW_ROWS), table
        if spec.kind == "chain":
            assert shown == preview(store.read(table)), table
    # A preview keeps what JavaScript cannot: long hex is cut, big integers become text.
    info = _latest(pipeline, "build_info")["preview"].records[0].data
    assert info["storage_version"] and len(info["tip_hash"]) == 24 and info["tip_hash"][-1] == "…"
