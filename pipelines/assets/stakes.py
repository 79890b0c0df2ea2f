"""Group ``stakes``: the binding messages (§3) with the vault outputs of their carrying
transaction (the query is shared with group ``plans_and_deposits``).

A ``stake`` or ``plan`` the rules engine found valid makes the outputs of its transaction
that pay a vault script that actuary's stake or that user's deposits; each output counts
from its block until the block that spends it. These tables show that attribution, with
each message's status; the stake *at a snapshot* and the deposits *per month* that the rules
use are in ``eligibility`` and ``formula_inputs``.
"""

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.assets.catalog import materialized
from pipelines.assets.groups import BOOKKEEPING
from pipelines.derived import inputs_digest, kept_metadata, must_build
from pipelines.settings import Warehouse
from pipelines.tables import TABLES

_BINDING = """
with m as (
    select d.id, d.block_height, d.block_hash, d.tx_index, d.inscription_index, d.txid,
           d.actuary, d.user_id, json_extract_string(d.fields, '$.owner') as owner,
           s.status, s.reason, s.detail
    from read_parquet($messages) d join read_parquet($statuses) s using (id)
    where d.kind = $kind
)
select m.*, o.vout, o.value, o.script_pubkey, sp.block_height as spent_height,
       sp.txid as spent_by
from m
left join read_parquet($outputs) o
    on m.status = 'valid' and o.txid = m.txid and o.block_height = m.block_height
left join read_parquet($spends) sp on sp.spent_txid = o.txid and sp.spent_vout = o.vout
order by m.block_height, m.tx_index, m.inscription_index, o.vout
"""


def bindings(
    context: dg.AssetExecutionContext,
    warehouse: Warehouse,
    duckdb: DuckDBResource,
    kind: str,
    table: str,
) -> dg.MaterializeResult:
    """The binding table of ``kind``, built again only when one of its four inputs changed."""
    store = warehouse.store
    inputs = {
        name: store.table_path(source)
        for name, source in (
            ("messages", "drey_messages"),
            ("statuses", "message_statuses"),
            ("outputs", "vault_outputs"),
            ("spends", "vault_spends"),
        )
    }
    digest = inputs_digest(inputs.values())
    if not must_build(context.run.job_name, store, table, digest):
        return dg.MaterializeResult(metadata=kept_metadata(store, table))
    params = {name: str(path) for name, path in inputs.items()} | {"kind": kind}
    columns = "* exclude (user_id, owner)" if kind == "stake" else "* exclude (actuary)"
    with duckdb.get_connection() as con:
        data = con.sql(f"select {columns} from ({_BINDING})", params=params).to_arrow_table()
    store.write(table, data.cast(TABLES[table].schema), built_from=digest)
    return dg.MaterializeResult(metadata=materialized(data))


BINDING_DEPS = ["drey_messages", "message_statuses", "vault_outputs", "vault_spends"]


@dg.asset(group_name=BOOKKEEPING, deps=BINDING_DEPS, kinds={"duckdb", "parquet"})
def stakes(
    context: dg.AssetExecutionContext, warehouse: Warehouse, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    """Every ``stake`` message with its status and, when valid, the vault outputs it binds."""
    return bindings(context, warehouse, duckdb, "stake", "stakes")
