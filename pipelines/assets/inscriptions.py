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
from pipelines.settings import Warehouse
from pipelines.sources import read_shard_table

KEEP_BODY = (
    "(lower(trim(metaprotocol)) like 'drey/%' "
    "or starts_with(lower(coalesce(content_type, '')), 'application/wasm'))"
)

COLUMNS = (
    f"* replace (case when {KEEP_BODY} then body end as body, cast(NULL as blob) as body_decoded)"
)


@dg.asset(group_name=CHAIN, kinds={"parquet"})
def inscriptions(warehouse: Warehouse) -> dg.MaterializeResult:
    """One row per envelope (ord 0.27), as the shards hold it, bodies only where used."""
    data = read_shard_table(
        warehouse.shards,
        "inscriptions",
        columns=COLUMNS,
        order="block_height, tx_index, number_in_tx",
    )
    warehouse.store.write("inscriptions", data)
    meta = materialized(data)
    return dg.MaterializeResult(metadata=meta)


@dg.asset_check(asset=inscriptions)
def inscription_ids_unique(warehouse: Warehouse) -> dg.AssetCheckResult:
    """An inscription id appears once (two rows would mean overlapping shards)."""
    ids = warehouse.store.read("inscriptions").column("id").to_pylist()
    dupes = len(ids) - len(set(ids))
    return dg.AssetCheckResult(passed=dupes == 0, metadata={"duplicates": dupes})
