"""The shard root as the pipelines see it: which Parquet files are committed, and a version
that changes whenever a commit lands (what the sensor watches).

The block follower (``indexer.follow``) owns the shard layout and its manifest, the commit
point; this module is the single place the pipelines touch either. Without a manifest (shards
written directly by ``indexer decode-block --out``, or block by block in the tests), every
``<root>/<table>/*.parquet`` counts as committed, which the atomic writer guarantees file by
file.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path

import duckdb
import pyarrow as pa

from indexer.follow import MANIFEST_NAME
from indexer.follow import committed_files as follow_committed_files
from indexer.shards.schema import SCHEMAS

_INSCRIPTION_ID = re.compile(r"[0-9a-f]{64}i[0-9]{1,10}")


def committed_files(root: Path, table: str) -> list[Path]:
    """The committed Parquet files of one shard table, in height order: the manifest's when
    the follower keeps one, else every ``<root>/<table>/*.parquet``."""
    if (root / MANIFEST_NAME).exists():
        return follow_committed_files(root, table)
    return sorted((root / table).glob("*.parquet"))


def shard_version(root: Path) -> str:
    """A digest that changes when anything is committed under ``root``: the manifest's bytes
    when the follower keeps one (rewritten atomically at each commit), else the listing
    (names, sizes, mtimes) of the shard files."""
    h = hashlib.sha256()
    manifest = root / MANIFEST_NAME
    if manifest.exists():
        h.update(manifest.read_bytes())
        return h.hexdigest()
    for table in SCHEMAS:
        for path in sorted((root / table).glob("*.parquet")):
            st = path.stat()
            h.update(f"{table}/{path.name}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def read_shard_table(
    root: Path,
    table: str,
    *,
    columns: str = "*",
    where: str | None = None,
    order: str | None = None,
) -> pa.Table:
    """One shard table over every committed file (DuckDB reads them in parallel); an empty
    table with the shard schema when nothing is committed yet."""
    files = [str(p) for p in committed_files(root, table)]
    if not files:
        empty = SCHEMAS[table].empty_table()
        con = duckdb.connect()
        try:
            con.register("empty", empty)
            sql = f"select {columns} from empty" + (f" where {where}" if where else "")
            return con.sql(sql).to_arrow_table()
        finally:
            con.close()
    con = duckdb.connect()
    try:
        sql = (
            f"select {columns} from read_parquet($files, union_by_name = true, "
            "hive_partitioning = false)"
        )
        if where:
            sql += f" where {where}"
        if order:
            sql += f" order by {order}"
        return con.sql(sql, params={"files": files}).to_arrow_table()
    finally:
        con.close()


def read_by_inscription_id(path: Path, ids: Sequence[str], *, columns: Sequence[str]) -> pa.Table:
    """The rows of the Parquet file ``path`` (a table with an ``id`` column of inscription
    ids) with these ids, ``columns`` only: DuckDB reads the ids first and the other columns
    (bodies) only where one matches."""
    wanted = [i for i in ids if _INSCRIPTION_ID.fullmatch(i)]
    con = duckdb.connect()
    try:
        return con.sql(
            f"select {', '.join(columns)} from read_parquet($path) where id in "
            "(select unnest($ids::varchar[])) order by block_height",
            params={"path": str(path), "ids": wanted},
        ).to_arrow_table()
    finally:
        con.close()


def read_inscriptions_by_id(root: Path, ids: Sequence[str], *, columns: Sequence[str]) -> pa.Table:
    """The shards' inscriptions with these ids (bodies included, whatever their content type),
    in chain order: for the files a manifest names whose bodies the warehouse does not keep."""
    wanted = [i for i in ids if _INSCRIPTION_ID.fullmatch(i)]
    if not wanted:
        return read_shard_table(root, "inscriptions", columns=", ".join(columns), where="false")
    listed = ", ".join(f"'{i}'" for i in wanted)  # checked above: hex and digits only
    return read_shard_table(
        root,
        "inscriptions",
        columns=", ".join(columns),
        where=f"id in ({listed})",
        order="block_height, tx_index, number_in_tx",
    )
