"""The numbered SQL files: order, statements, the data tables matching the Parquet the assets
write, and every view answering on an empty warehouse."""

from __future__ import annotations

import duckdb
import pytest

from pipelines.duck import TABLES, apply_sql, sql_files, statements, view_names

from .chainfix import DemoChain
from .harness import Pipeline


def test_sql_files_are_numbered_and_split_into_statements() -> None:
    files = sql_files()
    numbers = [n for n, _ in files]
    assert numbers == sorted(numbers) and numbers[0] < 100 <= numbers[-1]
    for _, path in files:
        text = path.read_text()
        stmts = statements(path)
        # One statement per CREATE: semicolons inside comments and strings do not split.
        assert len(stmts) == text.count("\nCREATE ") + text.startswith("CREATE ")
        assert all(stmt.lstrip("-\n ").upper().find("CREATE") >= 0 for stmt in stmts)


def test_views_answer_on_an_empty_warehouse() -> None:
    con = duckdb.connect()
    apply_sql(con, stage="schema")
    apply_sql(con, stage="views")
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
        if view != "sql_checks":
            assert con.execute(f"select count(*) from {view}").fetchone() == (0,)
    # Only the whole-chain check has a row, and nothing is wrong with nothing.
    assert con.execute("select check_name, passed from sql_checks").fetchall() == [
        ("sql_every_message_has_a_status", True)
    ]


def test_every_data_table_has_a_loader_and_a_ddl() -> None:
    con = duckdb.connect()
    apply_sql(con, stage="schema")
    ddl = {
        r[0]
        for r in con.execute(
            "select table_name from duckdb_tables() where schema_name = 'data'"
        ).fetchall()
    }
    assert ddl == set(TABLES) | {"build_info"}


def _columns(con: duckdb.DuckDBPyConnection, relation: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in con.execute(f"describe select * from {relation}").fetchall()]


@pytest.mark.parametrize("table", sorted(TABLES))
def test_parquet_columns_match_the_ddl(built: tuple[DemoChain, Pipeline], table: str) -> None:
    """Loading is BY NAME, so a column the DDL lacks, or a type it would cast, is a bug."""
    _, pipeline = built
    files = pipeline.warehouse.store.files(table)
    assert files, f"{table} was not written"
    con = duckdb.connect()
    apply_sql(con, stage="schema")
    expected = _columns(con, f"data.{table}")
    for f in files:
        assert _columns(con, f"read_parquet('{f}')") == expected, f.name
