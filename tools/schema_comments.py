"""Generate ``sql/900_comments.sql``: a ``COMMENT ON`` for every view and every column of the
warehouse, from ``docs/schema.md``, so SQL clients show the documentation's words.

    uv run python tools/schema_comments.py          # rewrite sql/900_comments.sql
    uv run python tools/schema_comments.py --check  # exit 1 if it is out of date

Where the words come from, first found: a view's comment is its section's heading
(``## `view`: what it is``, or the first section that names it); a column's is its row in
that section's column table, else in the shard tables' part of the page (views that are a
shard table plus columns), else a ``column (meaning)`` phrase of the section's prose, else
the page's table of columns many views share, else the view's own comment. ``tests/pipelines/test_sql.py`` checks the file is current and that
every view and column of a built warehouse carries a comment.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipelines.duck import sql_files, statements  # noqa: E402
from pipelines.tables import create_tables, quote_identifier  # noqa: E402

DOC = REPO / "docs" / "schema.md"
OUT = REPO / "sql" / "900_comments.sql"
_ROW = re.compile(r"^\| ([^|]+) \| [^|]* \| (.+?) \|$", re.M)
_CODE = re.compile(r"`(\w+)`")
_TYPE_OR_REF = re.compile(r"^(§[\d, §]+|[A-Z][A-Z ()0-9,]*)$")


def _sections(part: str) -> list[tuple[list[str], str, str]]:
    """(names in the heading, the heading's words, the section's text) per ``##`` section."""
    out = []
    for section in re.split(r"\n## ", part)[1:]:
        heading = section.split("\n", 1)[0]
        names, _, words = heading.partition(":")
        out.append((_CODE.findall(names), words.strip() or heading, section))
    return out


def _rows(section: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for columns, meaning in _ROW.findall(section):
        if columns.strip() in ("column", "macro") or set(columns.strip()) <= {"-"}:
            continue
        for name in columns.split(","):
            out.setdefault(name.strip(), _plain(meaning))
    return out


def _plain(text: str) -> str:
    return " ".join(text.replace("`", "").split())


def _view_columns(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    views = con.execute(
        "select view_name from duckdb_views() where not internal and schema_name = 'main' "
        "order by view_name"
    ).fetchall()
    return {v: [r[0] for r in con.execute(f"describe {quote_identifier(v)}").fetchall()]
            for (v,) in views}  # fmt: skip


def _empty_warehouse() -> duckdb.DuckDBPyConnection:
    """Tables, views and macros, without the comments themselves."""
    con = duckdb.connect()
    create_tables(con)
    for _, path in sql_files():
        if path != OUT:
            for statement in statements(path):
                con.execute(statement)
    return con


def generate(doc: str) -> str:
    split = doc.index("# Warehouse views")
    shard_part, view_part = doc[:split], doc[split:]
    views = _sections(view_part)
    shards = {name: _rows(text) for names, _, text in _sections(shard_part) for name in names}
    shared = next((_rows(text) for names, _, text in views if not names), {})
    lines = ["-- Generated from docs/schema.md by tools/schema_comments.py: do not edit.", ""]
    for view, columns in _view_columns(_empty_warehouse()).items():
        section = next((s for s in views if view in s[0]), None) or next(
            (s for s in views if f"`{view}`" in s[2]), None
        )
        words, text = (section[1], section[2]) if section else (view, "")
        lines.append(f"COMMENT ON VIEW {quote_identifier(view)} IS {_literal(_plain(words))};")
        table = _rows(text)
        for column in columns:
            meaning = (
                table.get(column)
                or shards.get(view, {}).get(column)
                or _phrase(text, column)
                or shared.get(column)
                or f"{column} of {view}: {_plain(words)} (docs/schema.md)"
            )
            target = f"{quote_identifier(view)}.{quote_identifier(column)}"
            lines.append(f"COMMENT ON COLUMN {target} IS {_literal(meaning)};")
        lines.append("")
    return "\n".join(lines)


def _phrase(text: str, column: str) -> str | None:
    """``column (meaning)`` in the section's prose (not its heading), the meaning's parentheses
    balanced; a bare type or section reference is no meaning."""
    body = text.split("\n", 1)[1] if "\n" in text else ""
    for match in re.finditer(rf"(?<![\w.]){re.escape(column)}`?\s\(", body):
        depth, start = 1, match.end()
        for i in range(start, len(body)):
            depth += {"(": 1, ")": -1}.get(body[i], 0)
            if depth == 0:
                meaning = _plain(body[start:i])
                if " " in meaning and not _TYPE_OR_REF.match(meaning):  # words, not a name
                    return meaning
                break
    return None


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    args = parser.parse_args()
    text = generate(DOC.read_text())
    if args.check:
        current = OUT.read_text() if OUT.exists() else ""
        if current != text:
            print(f"{OUT} is out of date: run tools/schema_comments.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
