"""The DuckDB side of the warehouse: the numbered SQL files, loading the Parquet store into
the ``data`` tables, and publishing a new warehouse file atomically.

The ``data`` tables are created from the registry (:mod:`pipelines.tables`) and loaded from
the store's Parquet files by column name; then the SQL files (``sql/NNN_*.sql``: views,
macros, checks) run in number order. A file holds plain statements separated by semicolons.

Publishing writes ``.warehouse.duckdb.<pid>.<n>.tmp`` beside the live file with
``STORAGE_VERSION 'v1.1.0'`` (every DuckDB from 1.1.0 on opens it: dashboards still ship
1.1–1.4, e.g. Evidence's connector pins 1.4), checks that every view answers,
checkpoints, detaches, fsyncs and renames it over ``warehouse.duckdb``. When the last
publication's manifest describes the live file (:mod:`pipelines.published_from`), the
temporary file is a copy of the live one (it keeps its storage version) with only the
tables whose Parquet sources changed reloaded, and the verification rows and build_info
rewritten. Readers holding the old file keep reading it (the rename does not touch open
files); the next reader opens the new one. The writer never opens the live file, so no
reader can block it.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import re
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from indexer.faults import crashpoint
from indexer.shards.writer import fsync_dir
from pipelines.configuration import SQL_DIR
from pipelines.published_from import PUBLISHED_STATE, Manifest, basis_digest, table_digests
from pipelines.state_cache import file_stamp
from pipelines.store import Store
from pipelines.tables import TABLES, create_tables, quote_identifier

# The oldest storage version that holds every type and view of the warehouse: v1.1.0 files
# open in DuckDB 1.1.0 and later (v1.2.0 files need 1.2; 1.0's binder cannot bind one view).
# tests/pipelines/test_publish.py opens the published file with OLDEST_READER.
STORAGE_VERSION = "v1.1.0"
OLDEST_READER = "1.1.0"
_NUMBERED = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
_counter = itertools.count()
# The tables loaded from the store's Parquet files (build_info is written by the publisher).
LOADED = tuple(t.name for t in TABLES.values() if t.kind != "build")


def sql_files() -> list[tuple[int, Path]]:
    """The numbered SQL files in order; refuses a repeated number or a stray name."""
    out = []
    for path in sorted(SQL_DIR.glob("*.sql")):
        match = _NUMBERED.match(path.name)
        if match is None:
            raise ValueError(f"{path.name}: SQL files are named NNN_name.sql")
        out.append((int(match.group(1)), path))
    numbers = [n for n, _ in out]
    if len(numbers) != len(set(numbers)):
        raise ValueError(f"two SQL files share a number: {numbers}")
    return out


def statements(path: Path) -> list[str]:
    """The statements of one file, split by DuckDB's own parser (semicolons in comments and
    strings are not separators)."""
    return [s.query.strip() for s in duckdb.extract_statements(path.read_text())]


def apply_sql(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Run the SQL files (views, macros, checks) over the ``data`` tables; return their names."""
    ran = []
    for _, path in sql_files():
        for stmt in statements(path):
            try:
                con.execute(stmt)
            except duckdb.Error as exc:
                raise RuntimeError(f"{path.name}: {exc}\n{stmt[:300]}") from exc
        ran.append(path.name)
    return ran


def load_tables(
    con: duckdb.DuckDBPyConnection,
    store: Store,
    *,
    tables: Iterable[str] = LOADED,
    months: Iterable[str] | None = None,
    where: Mapping[str, str] | None = None,
) -> dict[str, int]:
    """Insert the store's Parquet files into ``data.<table>`` by column name; with
    ``months``, month tables load only those months; ``where`` filters a table's rows.
    Returns rows per table."""
    wanted = None if months is None else set(months)
    counts = {}
    for table in tables:
        kind = TABLES[table].kind
        files = store.files(table)
        if kind == "month" and wanted is not None:
            files = [f for f in files if f.stem in wanted]
        if not files:
            counts[table] = 0
            continue
        condition = (where or {}).get(table)
        con.execute(
            f"INSERT INTO data.{table} BY NAME SELECT * FROM read_parquet($files)"
            + (f" WHERE {condition}" if condition else ""),
            {"files": [str(f) for f in files]},
        )
        counts[table] = con.execute(f"SELECT count(*) FROM data.{table}").fetchone()[0]
    return counts


def view_names(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "SELECT view_name FROM duckdb_views() WHERE NOT internal AND schema_name = 'main' "
        "AND database_name = current_database() ORDER BY view_name"
    ).fetchall()
    return [r[0] for r in rows]


@dataclass(frozen=True, slots=True)
class Published:
    path: Path
    rows: Mapping[str, int]
    views: Mapping[str, int]
    seconds: float
    # The tables reloaded into a copy of the last file, or None: built from nothing.
    reloaded: tuple[str, ...] | None = None


def publish(
    con: duckdb.DuckDBPyConnection,
    store: Store,
    *,
    info: Mapping[str, Any],
    extra_verification: Iterable[Mapping[str, Any]] = (),
) -> Published:
    """Build a new warehouse file from the store beside the live one and swap it in: a copy
    of the live file with only the changed tables reloaded when the last publication's
    manifest allows it (:mod:`pipelines.published_from`), else a build from nothing.

    ``con`` is a fresh connection (an in-memory database) the caller owns; the new file is
    attached to it. ``info`` fills ``data.build_info``; ``extra_verification`` rows (whole-
    chain checks) join the month verification rows.
    """
    started = dt.datetime.now(dt.UTC)
    live = store.warehouse
    live.parent.mkdir(parents=True, exist_ok=True)
    # The caller holds the store's writer lock, so any other temporary file is a leftover of
    # a writer that died mid-publish.
    for stale in live.parent.glob(f".{live.name}.*.tmp*"):
        stale.unlink(missing_ok=True)
    tmp = live.with_name(f".{live.name}.{os.getpid()}.{next(_counter)}.tmp")
    previous = store.load_state(PUBLISHED_STATE)
    previous = previous if isinstance(previous, Manifest) else None
    digests, seen = table_digests(
        {t: store.files(t) for t in LOADED}, previous.files if previous else {}
    )
    basis = _basis()
    reloaded = None
    try:
        if previous is not None and previous.reusable(live, basis):
            # (verification, which holds this run's whole-chain checks, is rebuilt by _fill.)
            reloaded = (*(t for t in previous.changed(digests) if t != "verification"),)
            shutil.copyfile(live, tmp)
            _attach(con, tmp, new=False)
            rows, views = _fill(con, store, reloaded, info, extra_verification, started, new=False)
        else:
            _attach(con, tmp, new=True)
            create_tables(con)
            rows, views = _fill(con, store, LOADED, info, extra_verification, started, new=True)
    except BaseException:
        _remove(tmp)
        raise
    if Path(f"{tmp}.wal").exists():
        _remove(tmp)
        raise RuntimeError(f"{tmp}.wal left after checkpoint and detach")
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    fresh = previous.fresh_size if previous is not None and reloaded is not None else None
    # Saved before the rename, naming the new file: it never describes a file it was not
    # made for (a crash before the rename leaves a manifest that matches no live file).
    store.save_state(
        PUBLISHED_STATE,
        Manifest(file_stamp(tmp), basis, digests, seen, fresh or tmp.stat().st_size),
    )
    crashpoint("warehouse_built")
    os.replace(tmp, live)
    fsync_dir(live.parent)
    seconds = (dt.datetime.now(dt.UTC) - started).total_seconds()
    return Published(live, rows, views, seconds, reloaded)


def _basis() -> str:
    """What every table of a published file rests on besides its sources."""
    ddl = [t.create_sql() for t in TABLES.values()]
    sql = [f"{path.name}\n{path.read_text()}" for _, path in sql_files()]
    return basis_digest([STORAGE_VERSION, duckdb.__version__, *ddl, *sql])


def _attach(con: duckdb.DuckDBPyConnection, path: Path, *, new: bool) -> None:
    # The path is a parameter: a warehouse directory with a quote in its name must neither
    # break the statement nor run SQL. A copy keeps the storage version it was written with.
    version = f" (STORAGE_VERSION '{STORAGE_VERSION}')" if new else ""
    con.execute(f"ATTACH $path AS staging{version}", {"path": str(path)})
    con.execute("USE staging")


# Long on purpose: one publication's writes in order (tables, verification, build info, SQL
# on a new file, whole-chain checks, the counts, the checkpoint), each a statement or two.
def _fill(
    con: duckdb.DuckDBPyConnection,
    store: Store,
    tables: Iterable[str],
    info: Mapping[str, Any],
    extra_verification: Iterable[Mapping[str, Any]],
    started: dt.datetime,
    *,
    new: bool,
) -> tuple[dict[str, int], dict[str, int]]:
    """(Re)load ``tables`` and the verification rows into the attached ``staging`` file,
    write build_info, and on a ``new`` file run the SQL files; detach it. Returns the rows
    of every table and view."""
    try:
        tables = [t for t in tables if t != "verification"]
        for table in (*tables, "verification", "build_info"):
            con.execute(f"DELETE FROM data.{table}")
        load_tables(con, store, tables=[*tables, "verification"])
        for row in extra_verification:
            con.execute(
                "INSERT INTO data.verification BY NAME SELECT * FROM (SELECT "
                "$month::VARCHAR AS month, $round::BIGINT AS round, $check_name AS check_name, "
                "$passed AS passed, $detail AS detail, $source AS source)",
                dict(row),
            )
        con.execute(
            "INSERT INTO data.build_info BY NAME SELECT $built_at AS built_at, "
            "$tip_height::BIGINT AS tip_height, $tip_hash::VARCHAR AS tip_hash, "
            "$evaluation_tip::BIGINT AS evaluation_tip, $first_month::VARCHAR AS first_month, "
            "$pending_month::VARCHAR AS pending_month, $carried_sats::BIGINT AS carried_sats, "
            "$duckdb_version AS duckdb_version, $storage_version AS storage_version",
            {
                "built_at": started.isoformat(timespec="seconds"),
                "tip_height": info.get("tip_height"),
                "tip_hash": info.get("tip_hash"),
                "evaluation_tip": info.get("evaluation_tip"),
                "first_month": info.get("first_month"),
                "pending_month": info.get("pending_month"),
                "carried_sats": info.get("carried_sats"),
                "duckdb_version": duckdb.__version__,
                "storage_version": STORAGE_VERSION,
            },
        )
        if new:
            apply_sql(con)
        # Whole-chain SQL checks (month NULL) join the verification rows before publishing.
        con.execute(
            "INSERT INTO data.verification BY NAME SELECT month, round, check_name, passed, "
            "detail, 'sql' AS source FROM sql_checks WHERE month IS NULL"
        )
        rows = {
            t: con.execute(f"SELECT count(*) FROM data.{t}").fetchone()[0]
            for t in (*LOADED, "verification")
        }
        views = {
            v: con.execute(f"SELECT count(*) FROM {quote_identifier(v)}").fetchone()[0]
            for v in view_names(con)
        }
        con.execute("CHECKPOINT staging")
    finally:
        con.execute("USE memory")
        con.execute("DETACH staging")
    return rows, views


# Tables the SQL checks of one month read: that month's tables and, of the parsed messages,
# the kinds they look up (lead packages and publications).
CHECK_TABLES = (*(t.name for t in TABLES.values() if t.kind == "month"), "drey_messages")
CHECK_FILTERS = {"drey_messages": "kind IN ('lead', 'allocation')"}


def month_sql_checks(
    con: duckdb.DuckDBPyConnection, store: Store, month: str
) -> list[dict[str, Any]]:
    """The ``sql_checks`` rows of ``month``, from an in-memory warehouse holding only that
    month (``con`` must be a fresh in-memory connection)."""
    create_tables(con)
    load_tables(con, store, tables=CHECK_TABLES, months=[month], where=CHECK_FILTERS)
    apply_sql(con)
    cur = con.execute(
        "SELECT month, round, check_name, passed, detail FROM sql_checks WHERE month = $m "
        "ORDER BY check_name, round",
        {"m": month},
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)
    Path(f"{path}.wal").unlink(missing_ok=True)
