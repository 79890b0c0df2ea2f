"""Atomic Parquet writing: write beside, fsync, rename, fsync the directory.

A reader globbing ``*.parquet`` never sees a half-written file: the temporary name starts with a
dot and ends in ``.tmp``, which DuckDB's and Polars' globs skip.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from indexer.faults import crashpoint
from indexer.shards.tables import ShardTables

# zstd keeps shards small (bodies are often images) and decodes fast in DuckDB and Polars.
_PARQUET_OPTIONS = {"compression": "zstd", "compression_level": 1}
_BLOBS = (pa.binary(), pa.large_binary())


def statistics_columns(schema: pa.Schema) -> list[str]:
    """The leaf columns that get min/max statistics: all but byte blobs.

    A blob's statistics are copies of its smallest and largest values; for a 32 MiB decoded
    body that is tens of MiB of writer memory spent on values no query filters by.
    """
    columns = []
    for field in schema:
        if field.type in _BLOBS:
            continue
        if pa.types.is_list(field.type):
            if field.type.value_type not in _BLOBS:
                columns.append(f"{field.name}.list.element")
            continue
        columns.append(field.name)
    return columns


def write_parquet_atomic(table: pa.Table, path: Path) -> Path:
    return write_parquet_parts_atomic([table], path, schema=table.schema)


def write_parquet_parts_atomic(parts: Iterable[pa.Table], path: Path, *, schema: pa.Schema) -> Path:
    """Write ``parts`` (tables of ``schema``) one after another as one Parquet file, holding
    one part in memory at a time (compaction streams segments through this)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            with pq.ParquetWriter(
                handle, schema, write_statistics=statistics_columns(schema), **_PARQUET_OPTIONS
            ) as writer:
                for part in parts:
                    writer.write_table(part)
            crashpoint("parquet_written")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(path.parent)
    return path


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_shard(tables: ShardTables, root: Path, *, name: str) -> dict[str, Path]:
    """Write each table as ``root/<table>/<name>.parquet``; return the paths."""
    return {
        table: write_parquet_atomic(data, root / table / f"{name}.parquet")
        for table, data in tables.items()
    }
