"""Group ``chain``: the blocks and the vault ledger, copied from the committed shards.

The shards are the follower's; the warehouse keeps its own copy so that a published
warehouse never depends on files the follower may rewrite after a reorg.
"""

import dagster as dg

from pipelines.assets.catalog import materialized
from pipelines.assets.groups import CHAIN
from pipelines.derived import inputs_digest, kept_metadata, must_build
from pipelines.settings import Warehouse
from pipelines.sources import committed_files, read_shard_table


def _copy(
    context: dg.AssetExecutionContext, warehouse: Warehouse, table: str, order: str
) -> dg.MaterializeResult:
    """The shard table, copied again only when its committed files changed (a block without
    vault outputs or spends commits no file of those tables)."""
    store = warehouse.store
    digest = inputs_digest(committed_files(warehouse.shards, table))
    if not must_build(context.run.job_name, store, table, digest):
        return dg.MaterializeResult(metadata=kept_metadata(store, table))
    data = read_shard_table(warehouse.shards, table, order=order)
    store.write(table, data, built_from=digest)
    return dg.MaterializeResult(metadata=materialized(data))


@dg.asset(group_name=CHAIN, kinds={"parquet"})
def blocks(warehouse: Warehouse) -> dg.MaterializeResult:
    """One row per committed block: height, hash, header fields."""
    data = read_shard_table(warehouse.shards, "blocks", order="height")
    warehouse.store.write("blocks", data)
    meta = materialized(data)
    if data.num_rows:
        meta["tip_height"] = dg.MetadataValue.int(data["height"][-1].as_py())
        meta["tip_hash"] = dg.MetadataValue.text(data["hash"][-1].as_py())
    return dg.MaterializeResult(metadata=meta)


@dg.asset(group_name=CHAIN, kinds={"parquet"})
def vault_outputs(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    """Outputs paying a watched vault script (stakes and deposits once a message binds them)."""
    return _copy(context, warehouse, "vault_outputs", "block_height, tx_index, vout")


@dg.asset(group_name=CHAIN, kinds={"parquet"})
def vault_spends(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    """Later spends of vault outputs (withdrawals)."""
    return _copy(context, warehouse, "vault_spends", "block_height, tx_index, input")


@dg.asset_check(asset=blocks, blocking=True)
def blocks_are_contiguous(warehouse: Warehouse) -> dg.AssetCheckResult:
    """Heights run without gaps and each block's parent is the previous block: a follower
    that committed a broken chain must not feed the rules engine."""
    data = warehouse.store.read("blocks")
    heights = data["height"].to_pylist()
    hashes = data["hash"].to_pylist()
    parents = data["prev_hash"].to_pylist()
    problems = []
    for i in range(1, len(heights)):
        if heights[i] != heights[i - 1] + 1:
            problems.append(f"gap or repeat between {heights[i - 1]} and {heights[i]}")
        elif parents[i] != hashes[i - 1]:
            problems.append(f"block {heights[i]} does not extend block {heights[i - 1]}")
        if len(problems) >= 5:
            break
    return dg.AssetCheckResult(
        passed=not problems,
        metadata={"blocks": len(heights), "problems": dg.MetadataValue.json(problems)},
    )
