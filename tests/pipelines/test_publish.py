"""Publishing the warehouse: built beside the live file and swapped in atomically; a reader
holding the old file neither blocks the writer nor sees a mix; a failed build leaves the live
file alone; the oldest DuckDB reader named in the README opens what this one wrote."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from pipelines import duck
from pipelines.duck import publish
from pipelines.published_from import COMPACT_FACTOR, PUBLISHED_STATE
from pipelines.store import Store

from .chainfix import DemoChain
from .examples import example_queries
from .harness import Pipeline, warehouse_contents

READER = textwrap.dedent(
    """
    import sys, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    q = "select tip_height from warehouse_info"
    print(con.execute(q).fetchone()[0], flush=True)
    sys.stdin.readline()            # the parent publishes meanwhile
    print(con.execute(q).fetchone()[0], flush=True)
    """
)


def uv_command() -> list[str]:
    """uv itself: ``uv run`` exports its path as UV; else the one on PATH; else the
    ``python3 -m uv`` of the Makefile."""
    found = os.environ.get("UV") or shutil.which("uv")
    return [found] if found else ["python3", "-m", "uv"]


def _publish(store: Store, tip: int) -> duck.Published:
    con = duckdb.connect()
    try:
        return publish(con, store, info={"tip_height": tip})
    finally:
        con.close()


def _tip(path: Path) -> int:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("select tip_height from warehouse_info").fetchone()[0]
    finally:
        con.close()


def test_reader_keeps_old_file_while_writer_swaps(built: tuple[DemoChain, Pipeline]) -> None:
    _, pipeline = built
    store = pipeline.warehouse.store
    _publish(store, 1)
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(store.warehouse)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout.readline().strip() == "1"
        result = _publish(store, 2)  # does not wait for the reader
        assert result.path == store.warehouse
        assert _tip(store.warehouse) == 2  # a new reader sees the new file
        reader.stdin.write("\n")
        reader.stdin.flush()
        assert reader.stdout.readline().strip() == "1"  # the open reader still sees the old
    finally:
        reader.kill()
        reader.wait()
    leftovers = [p.name for p in store.root.iterdir() if p.name.endswith((".tmp", ".wal"))]
    assert leftovers == []


def test_failed_build_leaves_the_live_file(
    built: tuple[DemoChain, Pipeline], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, pipeline = built
    store = pipeline.warehouse.store
    _publish(store, 3)
    before = store.warehouse.read_bytes()
    broken = tmp_path / "sql"
    broken.mkdir()
    for _, path in duck.sql_files():
        (broken / path.name).write_text(path.read_text())
    (broken / "950_broken.sql").write_text(
        "CREATE VIEW broken AS SELECT no_such_column FROM months;\n"
    )
    monkeypatch.setattr(duck, "SQL_DIR", broken)
    with pytest.raises(RuntimeError, match=r"950_broken\.sql"):
        _publish(store, 4)
    assert store.warehouse.read_bytes() == before
    assert not [p for p in store.root.iterdir() if p.name.endswith((".tmp", ".wal"))]


def test_a_warehouse_path_with_quotes_is_a_path_not_sql(
    built: tuple[DemoChain, Pipeline], tmp_path: Path
) -> None:
    """The path reaches ATTACH as a parameter: quotes in it neither break nor inject."""
    _, pipeline = built
    src = pipeline.warehouse.store
    hostile = tmp_path / "it's'); CREATE TABLE pwned(x INT); --"
    shutil.copytree(src.parquet, hostile / "parquet")
    store = Store(hostile)
    _publish(store, 5)
    assert _tip(store.warehouse) == 5
    con = duckdb.connect(str(store.warehouse), read_only=True)
    tables = {r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()}
    con.close()
    assert "pwned" not in tables


def _replace_with_same_bytes(path: Path) -> None:
    copy = path.with_name(path.name + ".copy")
    copy.write_bytes(path.read_bytes())
    os.replace(copy, path)


def test_a_publication_reloads_only_the_tables_whose_sources_changed(
    built: tuple[DemoChain, Pipeline],
) -> None:
    _, pipeline = built
    store = pipeline.warehouse.store
    _publish(store, 6)
    assert _publish(store, 7).reloaded == ()
    blocks = store.read("blocks")
    try:
        store.write("blocks", blocks.slice(0, blocks.num_rows - 1))
        fewer = _publish(store, 8)
        assert fewer.reloaded == ("blocks",)
        assert fewer.rows["blocks"] == blocks.num_rows - 1
        reloaded = warehouse_contents(store.warehouse)
        store.drop_state(PUBLISHED_STATE)  # no manifest: built from nothing
        full = _publish(store, 8)
        assert full.reloaded is None
        assert warehouse_contents(store.warehouse) == reloaded
        # A source rewritten with the same bytes reloads nothing.
        _replace_with_same_bytes(store.table_path("blocks"))
        assert _publish(store, 9).reloaded == ()
        # Another file in the live file's place (not the one the manifest names): from nothing.
        _replace_with_same_bytes(store.warehouse)
        assert _publish(store, 10).reloaded is None
    finally:
        store.write("blocks", blocks)
        _publish(store, 11)


def test_a_live_file_grown_past_the_compaction_factor_is_built_again(
    built: tuple[DemoChain, Pipeline],
) -> None:
    _, pipeline = built
    store = pipeline.warehouse.store
    _publish(store, 12)
    manifest = store.load_state(PUBLISHED_STATE)
    small = int(manifest.file[2] / COMPACT_FACTOR) - 1
    store.save_state(PUBLISHED_STATE, replace(manifest, fresh_size=small))
    assert _publish(store, 13).reloaded is None
    assert store.load_state(PUBLISHED_STATE).fresh_size == store.warehouse.stat().st_size


# Run by the oldest reader: every view, a macro, and every example query of docs/schema.md,
# printed as JSON lines (values as text) for comparison with this DuckDB's answers.
_OLD_READER = textwrap.dedent(
    """
    import json, sys, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    views = [r[0] for r in con.execute(
        "select view_name from duckdb_views() where not internal and schema_name = 'main'"
    ).fetchall()]
    for v in views:
        con.execute(f"select count(*) from {v}").fetchone()
    print(json.dumps([duckdb.__version__, len(views),
                      con.execute("select month_index('2024-02')").fetchone()[0]]))
    for query in json.loads(sys.stdin.read()):
        print(json.dumps(con.execute(query).fetchall(), default=str))
    """
)


@pytest.mark.slow
def test_the_oldest_reader_opens_it_and_answers_every_example(
    built: tuple[DemoChain, Pipeline],
) -> None:
    """The file is written with STORAGE_VERSION 'v1.1.0': DuckDB 1.1.0 (the oldest reader the
    README names, installed in an environment of its own) opens it, every view and macro
    answers (views are stored as SQL text and re-bound by the old reader), and every example
    query of docs/schema.md gives the rows this DuckDB gives."""
    _, pipeline = built
    store = pipeline.warehouse.store
    path = store.warehouse
    # The file read is a copy of a published one with a table reloaded (DELETE, INSERT):
    # it keeps the storage version it was first written with.
    blocks = store.read("blocks")
    store.write("blocks", blocks.slice(0, blocks.num_rows - 1))
    _publish(store, 14)
    store.write("blocks", blocks)
    assert _publish(store, 15).reloaded == ("blocks",)
    queries = example_queries()
    old = subprocess.run(
        [*uv_command(), "run", "--no-project", "--with", f"duckdb=={duck.OLDEST_READER}",
         "python", "-c", _OLD_READER, str(path)],
        input=json.dumps(queries), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert old.returncode == 0, old.stderr[-3000:]
    header, *answers = old.stdout.splitlines()
    con = duckdb.connect(str(path), read_only=True)
    try:
        views = len(duck.view_names(con))
        ours = [json.dumps(con.execute(q).fetchall(), default=str) for q in queries]
    finally:
        con.close()
    assert json.loads(header) == [duck.OLDEST_READER, views, 649]
    assert len(answers) == len(queries) >= 30
    for query, theirs, mine in zip(queries, answers, ours, strict=True):
        # The same rows; rows that tie on an ORDER BY may come in either order.
        assert _rows(theirs) == _rows(mine), query


def _rows(answer: str) -> list[str]:
    return sorted(json.dumps(row) for row in json.loads(answer))
