"""DuckLake against the single published file: the evaluation issue 16 asks for.

    uv run --with duckdb==1.5.5 --with duckdb-extension-ducklake==1.5.5 --with pytz \\
        python bench/ducklake.py var/bench/m12-u100000/run/warehouse/warehouse.duckdb

(DuckLake's extension exists on PyPI for DuckDB 1.5.5, not yet for 2.0, hence the overlay.) From
one published warehouse it builds a DuckLake (catalog in a DuckDB file, data files in a local
directory; PostgreSQL and object storage are configuration, not code) holding the same ``data``
tables and the same views and macros (sql/*.sql), then measures, on the same machine in one
run:

- a full write of every table, against a full publication of the single file;
- an incremental publication: one month's rows replaced in every month table, plus build_info
  (what a block that decides a month changes), and build_info alone (a block that changes
  nothing decided), each one DuckLake snapshot;
- every example query of docs/schema.md, interleaved between the lake and the file.
"""

from __future__ import annotations

import argparse
import glob
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "pipelines"))
from examples import example_queries  # noqa: E402

from pipelines.duck import sql_files, statements  # noqa: E402


def _extension() -> str:
    import duckdb_extension_ducklake  # the PyPI package ships the binary for its DuckDB

    (path,) = glob.glob(
        str(
            Path(duckdb_extension_ducklake.__file__).parent
            / "extensions"
            / "*"
            / "*.duckdb_extension"
        )
    )
    return path


def lake_connection(root: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(config={"allow_unsigned_extensions": "true"})
    con.execute(f"LOAD '{_extension()}'")
    con.execute(
        f"ATTACH 'ducklake:{root / 'catalog.ducklake'}' AS lake (DATA_PATH '{root / 'data'}/')"
    )
    con.execute("USE lake")
    return con


def timed(fn: object) -> float:
    started = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - started


def build_lake(con: duckdb.DuckDBPyConnection, source: Path) -> tuple[float, list[str]]:
    con.execute(f"ATTACH '{source}' AS src (READ_ONLY)")
    tables = [
        r[0]
        for r in con.execute(
            "select table_name from duckdb_tables() where database_name = 'src' "
            "and schema_name = 'data' order by table_name"
        ).fetchall()
    ]

    def write() -> None:
        con.execute("CREATE SCHEMA IF NOT EXISTS lake.data")
        con.execute("BEGIN")
        for table in tables:
            con.execute(f"CREATE TABLE lake.data.{table} AS SELECT * FROM src.data.{table}")
        con.execute("COMMIT")

    return timed(write), tables


def apply_views(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The views and macros of sql/*.sql in the lake; returns the statements it refused."""
    refused = []
    for _, path in sql_files():
        for statement in statements(path):
            try:
                con.execute(statement)
            except duckdb.Error as exc:
                refused.append(f"{path.name}: {str(exc).splitlines()[0][:90]}")
    return refused


def publish_file(source: Path, target: Path) -> float:
    """A full publication of the single file: every table copied into a new file."""

    def copy() -> None:
        con = duckdb.connect()
        con.execute(f"ATTACH '{source}' AS src (READ_ONLY)")
        con.execute(f"ATTACH '{target}' AS dst (STORAGE_VERSION 'v1.1.0')")
        con.execute("COPY FROM DATABASE src TO dst")
        con.execute("CHECKPOINT dst")
        con.close()

    return timed(copy)


def incremental(con: duckdb.DuckDBPyConnection, tables: list[str], month: str) -> float:
    month_tables = [
        t
        for t in tables
        if con.execute(
            "select count(*) from duckdb_columns() where database_name = 'src' "
            "and schema_name = 'data' and table_name = $t and column_name = 'month'",
            {"t": t},
        ).fetchone()[0]
    ]

    def replace() -> None:
        con.execute("BEGIN")
        for t in month_tables:
            con.execute(f"DELETE FROM lake.data.{t} WHERE month = $m", {"m": month})
            con.execute(
                f"INSERT INTO lake.data.{t} SELECT * FROM src.data.{t} WHERE month = $m",
                {"m": month},
            )
        con.execute("DELETE FROM lake.data.build_info")
        con.execute("INSERT INTO lake.data.build_info SELECT * FROM src.data.build_info")
        con.execute("COMMIT")

    return timed(replace)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("warehouse", type=Path)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    source = args.warehouse.resolve()
    print(f"DuckDB {duckdb.__version__}; source {source} ({source.stat().st_size / 1e6:.1f} MB)")
    with tempfile.TemporaryDirectory(prefix="drey-lake-") as tmp:
        root = Path(tmp) / "lake"
        root.mkdir()
        con = lake_connection(root)
        lake_s, tables = build_lake(con, source)
        refused = apply_views(con)
        kinds = sorted({r.split(": ", 1)[1].split(" for entry")[0] for r in refused})
        print(f"{len(refused)} statements the lake refused: {kinds}")
        lake_bytes = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
        file_s = publish_file(source, Path(tmp) / "copy.duckdb")
        print(f"full write: DuckLake {lake_s:.2f} s ({lake_bytes / 1e6:.1f} MB, {len(tables)} "
              f"tables); single file {file_s:.2f} s")  # fmt: skip
        (month,) = con.execute("select max(month) from src.data.allocations").fetchone()
        month_s = incremental(con, tables, month)
        info_s = timed(lambda: con.execute(
            "BEGIN; DELETE FROM lake.data.build_info; INSERT INTO lake.data.build_info "
            "SELECT * FROM src.data.build_info; COMMIT"))  # fmt: skip
        snapshots = con.execute("select count(*) from ducklake_snapshots('lake')").fetchone()[0]
        print(f"incremental: one month ({month}) of every month table + build_info {month_s:.2f} s;"
              f" build_info alone {info_s:.3f} s; {snapshots} snapshots")  # fmt: skip
        reader = duckdb.connect(str(Path(tmp) / "copy.duckdb"), read_only=True)
        times: dict[str, list[float]] = {"lake": [], "file": []}
        for sql in example_queries():
            for _ in range(args.repeats):
                times["lake"].append(timed(lambda sql=sql: con.execute(sql).fetchall()))
                times["file"].append(timed(lambda sql=sql: reader.execute(sql).fetchall()))
        reader.close()
        con.close()
        for name, ts in times.items():
            print(f"example queries on the {name}: median {statistics.median(ts) * 1000:.1f} ms, "
                  f"total {sum(ts):.2f} s")  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
