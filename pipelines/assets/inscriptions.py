"""Group ``inscriptions``: every inscription of the committed shards.

Bodies are kept only where the warehouse uses them: Drey messages (metaprotocol ``drey/…`` in
any case, the selection of the messages asset) and WebAssembly parts a formula manifest may
name (content type starting with ``application/wasm``). Every other inscription keeps its
``body_len`` and ``body_sha256`` but not the bytes: following mainnet would otherwise copy
every image. Decoded bodies are never copied: neither Drey messages nor formula parts may
carry a content-encoding (PROTOCOL.md §1, §6; such messages are quarantined from their
fields alone), and a stranger's drey-tagged decompression bombs would otherwise fill the
warehouse with up to the shards' 64 MiB per block. They stay in the shards.
"""

import dagster as dg

from pipelines.assets.catalog import materialized
from pipelines.assets.groups import CHAIN
from pipelines.derived import inputs_digest, kept_metadata, must_build, passed_before, record_check
from pipelines.settings import Warehouse
from pipelines.sources import committed_files, read_shard_table

KEEP_BODY = (
    "(lower(trim(metaprotocol)) like 'drey/%' "
    "or starts_with(lower(coalesce(content_type, '')), 'application/wasm'))"
)

COLUMNS = (
    f"* replace (case when {KEEP_BODY} then body end as body, cast(NULL as blob) as body_decoded)"
)


@dg.asset(group_name=CHAIN, kinds={"parquet"})
def inscriptions(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    """One row per envelope (ord 0.27), as the shards hold it, bodies only where used; copied
    again only when the committed inscription files changed."""
    store = warehouse.store
    digest = inputs_digest(committed_files(warehouse.shards, "inscriptions"))
    if not must_build(context.run.job_name, store, "inscriptions", digest):
        return dg.MaterializeResult(metadata=kept_metadata(store, "inscriptions"))
    data = read_shard_table(
        warehouse.shards,
        "inscriptions",
        columns=COLUMNS,
        order="block_height, tx_index, number_in_tx",
    )
    store.write("inscriptions", data, built_from=digest)
    meta = materialized(data)
    return dg.MaterializeResult(metadata=meta)


@dg.asset_check(asset=inscriptions)
def inscription_ids_unique(
    context: dg.AssetCheckExecutionContext, warehouse: Warehouse
) -> dg.AssetCheckResult:
    """An inscription id appears once (two rows would mean overlapping shards)."""
    store = warehouse.store
    digest = inputs_digest([store.table_path("inscriptions")])
    job = context.run.job_name
    if (before := passed_before(job, store, "inscription_ids_unique", digest)) is not None:
        return before
    ids = store.read("inscriptions").column("id").to_pylist()
    dupes = len(ids) - len(set(ids))
    result = dg.AssetCheckResult(passed=dupes == 0, metadata={"duplicates": dupes})
    record_check(store, "inscription_ids_unique", digest, result)
    return result
