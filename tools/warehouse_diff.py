"""Compare two published warehouses table by table and view by view.

A refactor must leave the warehouse identical for the same devnet seed. This prints, for every
relation of either file, its row count in each and whether the rows are equal as a multiset
(``EXCEPT ALL`` both ways, so row order does not matter but duplicates do). Columns that say
when a build ran rather than what it holds (``built_at``) are left out. Exit status 0 when every
relation is equal, 1 otherwise.

    uv run python tools/warehouse_diff.py before.duckdb after.duckdb
"""

from __future__ import annotations

import sys

import duckdb


def _relations(con: duckdb.DuckDBPyConnection, catalog: str) -> set[str]:
    rows = con.execute(
        "select table_schema, table_name from information_schema.tables where table_catalog = ?",
        [catalog],
    ).fetchall()
    return {f'"{schema}"."{name}"' for schema, name in rows}


def _count(con: duckdb.DuckDBPyConnection, ref: str) -> int:
    (count,) = con.execute(f"select count(*) from {ref}").fetchone() or (0,)
    return int(count)


# Columns that record when the warehouse was built, not what it holds.
VOLATILE = ("built_at",)


def _select(con: duckdb.DuckDBPyConnection, ref: str) -> str:
    columns = {row[0] for row in con.execute(f"describe {ref}").fetchall()}
    left_out = [c for c in VOLATILE if c in columns]
    return f"(select * exclude ({', '.join(left_out)}) from {ref})" if left_out else ref


def _differing_rows(con: duckdb.DuckDBPyConnection, name: str) -> int:
    left, right = _select(con, f"a.{name}"), _select(con, f"b.{name}")
    only_left = _count(con, f"(select * from {left} except all select * from {right})")
    only_right = _count(con, f"(select * from {right} except all select * from {left})")
    return only_left + only_right


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    con = duckdb.connect()
    con.execute(f"attach '{argv[0]}' as a (read_only)")
    con.execute(f"attach '{argv[1]}' as b (read_only)")
    names = sorted(_relations(con, "a") | _relations(con, "b"))
    differing = 0
    for name in names:
        in_a, in_b = name in _relations(con, "a"), name in _relations(con, "b")
        if not (in_a and in_b):
            print(f"{name:40} only in {'a' if in_a else 'b'}")
            differing += 1
            continue
        rows = _count(con, f"a.{name}"), _count(con, f"b.{name}")
        diff = _differing_rows(con, name)
        differing += diff > 0
        print(
            f"{name:40} {rows[0]:>8} {rows[1]:>8}  {'equal' if diff == 0 else f'{diff} rows differ'}"
        )
    print(f"{len(names)} relations, {differing} differ")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
