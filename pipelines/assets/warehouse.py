"""Group ``warehouse``: the published DuckDB file, rebuilt from the Parquet store beside the
live one and swapped in atomically (see :mod:`pipelines.duck`)."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from drey.rules import Evaluation
from pipelines.assets.groups import WAREHOUSE
from pipelines.assets.verification import rules_rows
from pipelines.duck import publish
from pipelines.settings import Warehouse


@dg.asset(
    group_name=WAREHOUSE,
    deps=[
        "blocks",
        "vault_outputs",
        "vault_spends",
        "inscriptions",
        "drey_messages",
        "quarantine",
        "message_statuses",
        "stakes",
        "plans",
        "proof_systems",
        "verification",
    ],
    kinds={"duckdb"},
)
def duckdb_warehouse(warehouse: Warehouse, duckdb: DuckDBResource) -> dg.MaterializeResult:
    """The DuckDB warehouse analysts open (read-only, DuckDB ≥ 1.5)."""
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
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(result.path)),
            "tip_height": info["tip_height"],
            "seconds": round(result.seconds, 3),
            "bytes": result.path.stat().st_size,
            "table_rows": dg.MetadataValue.json(dict(result.rows)),
            "view_rows": dg.MetadataValue.json(dict(result.views)),
        }
    )
