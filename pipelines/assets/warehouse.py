"""Group ``warehouse``: the published DuckDB file, rebuilt from the Parquet store beside the
live one and swapped in atomically (see :mod:`pipelines.duck`), and the dashboard rendered
from it."""

from collections.abc import Iterator
from contextlib import closing

import dagster as dg
import duckdb as duckdb_module
from dagster_duckdb import DuckDBResource

from drey.rules import Evaluation
from pipelines.assets.catalog import materialized
from pipelines.assets.groups import WAREHOUSE
from pipelines.assets.verification import rules_rows
from pipelines.dashboard import render_dashboard
from pipelines.duck import publish
from pipelines.remote import upload
from pipelines.settings import Warehouse
from pipelines.tables import TABLES

# The publication reads every table of the store; the month tables reach it through
# verification, which depends on all of them.
PUBLISHED_DEPS = [t.name for t in TABLES.values() if t.kind == "chain"] + ["verification"]


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            "duckdb_warehouse",
            description="The DuckDB warehouse analysts open (read-only, DuckDB ≥ 1.1).",
            group_name=WAREHOUSE,
            deps=PUBLISHED_DEPS,
            kinds={"duckdb"},
        ),
        dg.AssetSpec(
            "build_info",
            description="Which build the published warehouse is: its tip, months and versions.",
            group_name=WAREHOUSE,
            deps=PUBLISHED_DEPS,
            kinds={"duckdb"},
        ),
    ]
)
def duckdb_warehouse(
    warehouse: Warehouse, duckdb: DuckDBResource
) -> Iterator[dg.MaterializeResult]:
    """Build the warehouse file from the store beside the live one and swap it in."""
    store = warehouse.store
    evaluation: Evaluation | None = warehouse.evaluation()
    blocks = store.read("blocks")
    info = {
        "tip_height": blocks.column("height")[-1].as_py() if blocks.num_rows else None,
        "tip_hash": blocks.column("hash")[-1].as_py() if blocks.num_rows else None,
    }
    extra = []
    if evaluation is not None:
        info |= {
            "evaluation_tip": evaluation.tip_height,
            "first_month": evaluation.first_month,
            "pending_month": evaluation.pending_month,
            "carried_sats": evaluation.carried,
        }
        extra = rules_rows(evaluation, None)
    with duckdb.get_connection() as con:
        result = publish(con, store, info=info, extra_verification=extra)
    yield dg.MaterializeResult(
        asset_key="duckdb_warehouse",
        metadata={
            "path": dg.MetadataValue.path(str(result.path)),
            "tip_height": info["tip_height"],
            "seconds": round(result.seconds, 3),
            # The tables reloaded into a copy of the last file, or every table (a new file).
            "reloaded": dg.MetadataValue.json(
                list(result.reloaded) if result.reloaded is not None else "all"
            ),
            "bytes": result.path.stat().st_size,
            "table_rows": dg.MetadataValue.json(dict(result.rows)),
            "view_rows": dg.MetadataValue.json(dict(result.views)),
        },
    )
    # (the ``duckdb`` parameter is the resource; the module is imported as duckdb_module)
    with closing(duckdb_module.connect(str(result.path), read_only=True)) as published:
        build = published.sql("select * from data.build_info").to_arrow_table()
    yield dg.MaterializeResult(asset_key="build_info", metadata=materialized(build))


@dg.asset(group_name=WAREHOUSE, deps=["duckdb_warehouse"], kinds={"html"})
def dashboard(warehouse: Warehouse) -> dg.MaterializeResult:
    """The reference dashboard, rendered from the published warehouse at each publication:
    static HTML pages beside it (``<warehouse_dir>/dashboard/index.html``), opened from disk."""
    rendered = render_dashboard(warehouse.store.warehouse, warehouse.store.root / "dashboard")
    return dg.MaterializeResult(
        metadata={
            "index": dg.MetadataValue.path(str(rendered.pages[0])),
            "pages": len(rendered.pages),
            "seconds": round(rendered.seconds, 3),
            "bytes": sum(p.stat().st_size for p in rendered.pages),
        }
    )


@dg.asset(group_name=WAREHOUSE, deps=["duckdb_warehouse"], kinds={"duckdb"})
def warehouse_copy(warehouse: Warehouse) -> dg.MaterializeResult:
    """A copy of the published warehouse at ``publish_url`` (object storage by URL; see
    :mod:`pipelines.remote`), replacing the last one whole. Does nothing when it is empty."""
    url = warehouse.settings.publish_url
    if not url:
        return dg.MaterializeResult(metadata={"url": "(no publish_url)"})
    copied = upload(warehouse.store.warehouse, url)
    return dg.MaterializeResult(
        metadata={
            "url": dg.MetadataValue.url(copied.url),
            "bytes": copied.bytes,
            "seconds": round(copied.seconds, 3),
        }
    )
