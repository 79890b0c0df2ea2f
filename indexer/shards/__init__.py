"""Shard tables: Arrow schemas, rows from scanned blocks, atomic Parquet writing.

Column meanings are documented in ``docs/schema.md``.
"""

from indexer.shards.schema import SCHEMAS, TABLES
from indexer.shards.tables import ShardTables, tables_for_blocks
from indexer.shards.writer import write_parquet_atomic, write_shard

__all__ = [
    "SCHEMAS",
    "TABLES",
    "ShardTables",
    "tables_for_blocks",
    "write_parquet_atomic",
    "write_shard",
]
