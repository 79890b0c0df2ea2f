"""The table registry and the numbered SQL files: the data tables created from the registry
match the Parquet the assets write, the files' order and statements, and every view answering
on an empty warehouse."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from indexer.shards.schema import SCHEMAS as SHARD_SCHEMAS
from pipelines.duck import LOADED, apply_sql, sql_files, statements, view_names
from pipelines.tables import TABLES, WarehouseTable, columns, create_tables, sql_type

from .chainfix import DemoChain
from .harness import Pipeline


def test_sql_files_are_numbered_and_split_into_statements() -> None:
    files = sql_files()
    numbers = [n for n, _ in files]
    assert numbers == sorted(numbers) and len(numbers) >= 3
    for _, path in files:
        text = path.read_text()
        stmts = statements(path)
        # One statement per CREATE (or COMMENT ON): semicolons inside comments and strings do
        # not split.
        starts = sum(text.count(f"\n{word} ") + text.startswith(f"{word} ")
                     for word in ("CREATE", "COMMENT"))  # fmt: skip
        assert len(stmts) == starts, path.name
        assert all(
            stmt.lstrip("-\n ").upper().find(word) >= 0
            for stmt in stmts
            for word in (("COMMENT",) if "COMMENT ON" in stmt else ("CREATE",))
        )


def test_views_answer_on_an_empty_warehouse() -> None:
    con = duckdb.connect()
    create_tables(con)
    apply_sql(con)
    views = view_names(con)
    assert {
        "inscriptions",
        "drey_messages",
        "quarantine",
        "elections",
        "packages",
        "decryption_shares",
        "allocations",
        "month_roots",
        "months_history",
        "race_results",
        "rewards",
        "penalties",
        "verification",
        "sql_checks",
    } <= set(views)
    for view in views:
        if view not in ("sql_checks", "rule_coverage"):
            assert con.execute(f"select count(*) from {view}").fetchone() == (0,)
    # The coverage lists the whole vocabulary, reached nowhere.
    assert con.execute(
        "select count(*) > 60, max(occurrences), bool_and(known) from rule_coverage"
    ).fetchone() == (True, 0, True)
    # Only the whole-chain check has a row, and nothing is wrong with nothing.
    assert con.execute("select check_name, passed from sql_checks").fetchall() == [
        ("sql_every_message_has_a_status", True)
    ]


def test_the_registry_creates_every_data_table_with_its_schema() -> None:
    """Names, DuckDB types and NOT NULL of every ``data`` table are the registry's Arrow
    schema, and every table but ``build_info`` is loaded from the store."""
    con = duckdb.connect()
    assert create_tables(con) == list(TABLES)
    for table in TABLES.values():
        got = con.execute(
            "select column_name, data_type, is_nullable from duckdb_columns() "
            "where schema_name = 'data' and table_name = $t order by column_index",
            {"t": table.name},
        ).fetchall()
        want = [(f.name, sql_type(f.type), f.nullable) for f in table.schema]
        assert got == want, table.name
    assert set(LOADED) == set(TABLES) - {"build_info"}


def test_arrow_types_map_to_the_types_duckdb_reads_from_parquet() -> None:
    schema = columns(
        ("flag", pa.bool_(), False),
        ("n32", pa.int32()),
        ("n64", pa.int64()),
        ("u32", pa.uint32()),
        ("u64", pa.uint64()),
        ("x", pa.float64()),
        ("text", pa.string()),
        ("blob", pa.large_binary()),
        ("names", pa.list_(pa.string()), False),
        ("sums", pa.decimal128(38, 0)),
        ("offset", pa.int32()),
    )
    con = duckdb.connect()
    con.execute("create schema data")
    con.execute(WarehouseTable("t", "chain", schema).create_sql())
    declared = [r[:2] for r in con.execute("describe data.t").fetchall()]
    con.register("arrow", schema.empty_table())
    assert declared == [r[:2] for r in con.execute("describe arrow").fetchall()]
    with pytest.raises(TypeError, match="no DuckDB type for Arrow type date32"):
        sql_type(pa.date32())


def test_a_month_asset_writes_only_month_tables() -> None:
    from pipelines.assets._common import month_asset

    with pytest.raises(ValueError, match="month tables only"):
        month_asset(name="x", group="months", tables=("blocks",), description="x")


def _columns(con: duckdb.DuckDBPyConnection, relation: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in con.execute(f"describe select * from {relation}").fetchall()]


@pytest.mark.parametrize("table", sorted(LOADED))
def test_parquet_columns_match_the_ddl(built: tuple[DemoChain, Pipeline], table: str) -> None:
    """Loading is BY NAME, so a column the DDL lacks, or a type it would cast, is a bug."""
    _, pipeline = built
    files = pipeline.warehouse.store.files(table)
    assert files, f"{table} was not written"
    con = duckdb.connect()
    create_tables(con)
    expected = _columns(con, f"data.{table}")
    for f in files:
        assert _columns(con, f"read_parquet('{f}')") == expected, f.name


SCHEMA_DOC = Path(__file__).resolve().parents[2] / "docs" / "schema.md"
_DOC_ROW = re.compile(r"^\| ([^|]+) \| ([^|]*) \|", re.M)


def documented_type_problems(text: str) -> list[str]:
    """Every row of a column table in ``docs/schema.md`` (``| a, b | T1, T2 | meaning |``)
    whose columns are not columns of the tables or views its section names, or whose type is
    not the one DuckDB gives them: shard tables from the shard schemas, views from an empty
    warehouse built by the registry and the SQL files."""
    con = duckdb.connect()
    create_tables(con)
    apply_sql(con)
    split = text.index("# Warehouse views")
    problems = []
    for part, shard in ((text[:split], True), (text[split:], False)):
        for section in re.split(r"\n## ", part)[1:]:
            heading = section.split("\n", 1)[0]
            named = re.findall(r"`(\w+)`", heading.split(":")[0])
            types = [_shard_types(n) if shard else _view_types(con, n) for n in named]
            types = [t for t in types if t]
            if not types:
                continue  # a section about no table (layout, macros)
            for cols, tys in _DOC_ROW.findall(section):
                names = [c.strip() for c in cols.split(",")]
                if names == ["column"] or set(cols.strip()) <= {"-"}:
                    continue
                # Split at commas outside parentheses: DECIMAL(38,0) is one type.
                declared = [t.strip() for t in re.split(r",(?![^()]*\))", tys) if tys.strip()]
                if declared and len(declared) not in (1, len(names)):
                    problems.append(f"{heading}: {len(declared)} types for {cols.strip()}")
                    continue
                for i, name in enumerate(names):
                    actual = next((t[name] for t in types if name in t), None)
                    if actual is None:
                        problems.append(f"{heading}: {name} is not a column of {named}")
                    elif declared and declared[i if len(declared) > 1 else 0] != actual:
                        doc = declared[i if len(declared) > 1 else 0]
                        problems.append(f"{heading}: {name} is documented {doc}, is {actual}")
    return problems


def _shard_types(table: str) -> dict[str, str]:
    schema = SHARD_SCHEMAS.get(table)
    return {} if schema is None else {f.name: sql_type(f.type) for f in schema}


def _view_types(con: duckdb.DuckDBPyConnection, view: str) -> dict[str, str]:
    """A view's columns, or a table macro's (called with NULL arguments)."""
    try:
        return {r[0]: r[1] for r in con.execute(f"describe {view}").fetchall()}
    except duckdb.CatalogException:
        pass
    arity = con.execute(
        "select len(parameters) from duckdb_functions() where function_name = $f "
        "and function_type = 'table_macro'",
        {"f": view},
    ).fetchone()
    if arity is None:
        return {}
    args = ", ".join(["NULL"] * arity[0])
    return {r[0]: r[1] for r in con.execute(f"describe select * from {view}({args})").fetchall()}


def test_the_documented_types_are_the_warehouse_types() -> None:
    assert documented_type_problems(SCHEMA_DOC.read_text()) == []


def test_a_wrong_or_unknown_documented_column_is_found() -> None:
    text = SCHEMA_DOC.read_text()
    wrong = text.replace(
        "| height | BIGINT | block height |", "| height | INTEGER | block height |"
    )
    assert wrong != text
    assert documented_type_problems(wrong) == [
        "`blocks`: one row per block: height is documented INTEGER, is BIGINT"
    ]
    ghost = text.replace("| month | VARCHAR | the month |", "| moth | VARCHAR | the month |", 1)
    assert ghost != text
    assert any("moth is not a column" in p for p in documented_type_problems(ghost))


def test_every_view_and_column_carries_its_documented_comment() -> None:
    """sql/900_comments.sql is what tools/schema_comments.py makes of docs/schema.md today, and
    with it every view and every column of the warehouse has a comment SQL clients show."""
    tool = Path(__file__).resolve().parents[2] / "tools" / "schema_comments.py"
    check = subprocess.run([sys.executable, str(tool), "--check"], capture_output=True,
                           text=True, timeout=300)  # fmt: skip
    assert check.returncode == 0, check.stderr
    con = duckdb.connect()
    create_tables(con)
    apply_sql(con)
    views = con.execute(
        "select view_name, comment from duckdb_views() where not internal and schema_name = 'main'"
    ).fetchall()
    assert len(views) >= 30 and all(comment for _, comment in views), views
    bare = con.execute(
        "select c.table_name, c.column_name from duckdb_columns() c join duckdb_views() v "
        "on v.view_name = c.table_name and v.schema_name = c.schema_name "
        "where not v.internal and c.schema_name = 'main' and c.comment is null"
    ).fetchall()
    assert bare == []
    # The words are the page's: a column table's row, and a phrase of a section's prose.
    comments = dict(con.execute(
        "select table_name || '.' || column_name, comment from duckdb_columns() "
        "where table_name in ('months', 'allocations')"
    ).fetchall())  # fmt: skip
    assert comments["months.month_start"] == "the month's first day, for a chart's time axis"
    assert comments["allocations.row_index"] == "the leaf's index"
