"""Reading exactly the committed shards (what the pipelines should use).

A glob over ``<root>/<table>/**/*.parquet`` can see files that are not committed: leftovers of
a crash (until the follower restarts and deletes them) and retired files (rolled back or
compacted; deleted after the grace period), so it may count a block twice. These helpers read
the manifest once and return its files, so a query sees one consistent commit.

Limit: the listed files stay on disk for ``retire_grace`` seconds (default 60) after a later
commit drops them; a scan that starts later than that should list again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import pyarrow as pa

from indexer.follow.manifest import Manifest, read_manifest
from indexer.shards.schema import SCHEMAS


def _check_table(table: str) -> None:
    if table not in SCHEMAS:
        raise ValueError(f"unknown shard table {table!r} (known: {', '.join(SCHEMAS)})")


def committed_files(
    root: str | Path,
    table: str,
    *,
    min_height: int | None = None,
    max_height: int | None = None,
    manifest: Manifest | None = None,
) -> list[Path]:
    """The committed Parquet files of ``table`` in height order, optionally only those whose
    block range overlaps ``[min_height, max_height]`` (pruning without opening a file).
    Empty when nothing is committed."""
    _check_table(table)
    root = Path(root)
    m = manifest if manifest is not None else read_manifest(root)
    if m is None:
        return []
    out = []
    for s in m.segments:
        if min_height is not None and s.end < min_height:
            continue
        if max_height is not None and s.start > max_height:
            continue
        rel = s.files.get(table)
        if rel is not None:
            out.append(root / rel)
    return out


def scan_committed(
    root: str | Path,
    table: str,
    *,
    engine: Literal["duckdb", "polars"] = "duckdb",
    con: Any = None,
    min_height: int | None = None,
    max_height: int | None = None,
) -> Any:
    """The committed rows of ``table`` as a DuckDB relation (on ``con``, default a new
    in-memory connection) or a Polars LazyFrame, with exactly the documented columns (the
    ``height_bucket`` directory is not turned into a column). Height bounds prune files, not
    rows."""
    files = [
        str(p) for p in committed_files(root, table, min_height=min_height, max_height=max_height)
    ]
    schema = SCHEMAS[table]
    if engine == "polars":
        import polars as pl

        if not files:
            empty = pl.from_arrow(schema.empty_table())
            assert isinstance(empty, pl.DataFrame)  # a table, not an array, gives a frame
            return empty.lazy()
        return pl.scan_parquet(files, hive_partitioning=False)
    import duckdb

    con = con if con is not None else duckdb.connect()
    if not files:
        return con.from_arrow(schema.empty_table())
    return con.read_parquet(files, hive_partitioning=False)


def read_committed(root: str | Path, table: str) -> pa.Table:
    """Every committed row of ``table`` as one Arrow table (small shard roots, tests)."""
    import pyarrow.parquet as pq

    parts = [pq.read_table(p).cast(SCHEMAS[table]) for p in committed_files(root, table)]
    if not parts:
        return SCHEMAS[table].empty_table()
    return pa.concat_tables(parts)
