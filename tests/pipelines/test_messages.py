"""Inscriptions to drey_messages and quarantine: every Drey inscription lands in exactly one,
with the parser's reason; ordinary inscriptions are not Drey messages; parsing is cached."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from drey.messages import Quarantine, parse_message
from pipelines.assets.messages import (
    DREY_SELECTION,
    KEY_COLUMNS,
    PARSE_STATE,
    ROWS_STATE,
    _read_drey_inscriptions,
    _selection_digest,
)
from pipelines.settings import MESSAGES_STATE

from .chainfix import DemoChain
from .harness import Pipeline


def test_inscriptions_keep_drey_and_wasm_bodies_only(built: tuple[DemoChain, Pipeline]) -> None:
    tc, pipeline = built
    rows = {r["id"]: r for r in pipeline.warehouse.store.read("inscriptions").to_pylist()}
    assert set(rows) == set(tc.ids.values())
    assert rows[tc.ids["wasm"]]["body"] is not None  # the formula part
    assert rows[tc.ids["params"]]["body"] is not None
    assert rows[tc.ids["junk4"]]["body"] is not None  # near-miss drey metaprotocol
    plain = rows[tc.ids["junk5"]]
    assert plain["body"] is None and plain["body_len"] == 2 and plain["body_sha256"]


def test_every_drey_inscription_is_parsed_or_quarantined_once(
    built: tuple[DemoChain, Pipeline],
) -> None:
    tc, pipeline = built
    store = pipeline.warehouse.store
    parsed = store.read("drey_messages").to_pylist()
    refused = store.read("quarantine").to_pylist()
    insc = store.read("inscriptions").to_pylist()
    drey = [r for r in insc if r["metaprotocol"] and r["metaprotocol"].lower().startswith("drey/")]
    ids = [r["id"] for r in parsed] + [r["id"] for r in refused]
    assert sorted(ids) == sorted(r["id"] for r in drey)
    assert tc.ids["junk5"] not in ids  # text/plain without metaprotocol is not a Drey message

    # Each refusal is what parse_message says about the same inscription fields.
    by_id = {r["id"]: r for r in insc}
    for q in refused:
        r = by_id[q["id"]]
        expected = parse_message(
            content_type=r["content_type_raw"],
            content_encoding=r["content_encoding"],
            metaprotocol=r["metaprotocol"],
            delegate=r["delegate_raw"],
            body=r["body"],
            metadata=r["metadata"],
            founder=tc.founder,
        )
        assert isinstance(expected, Quarantine)
        assert (q["reason"], q["detail"]) == (expected.reason, expected.detail)
    reasons = {q["id"]: q["reason"] for q in refused}
    assert reasons == {
        tc.ids["junk1"]: "bad_cbor",
        tc.ids["junk2"]: "bad_content_type",
        tc.ids["junk3"]: "has_content_encoding",
        tc.ids["junk4"]: "bad_metaprotocol",
    }
    kinds = {m["id"]: m["kind"] for m in parsed}
    assert kinds == {
        tc.ids["formula"]: "formula",
        tc.ids["params"]: "params",
        tc.ids["stake"]: "stake",
        tc.ids["plan"]: "plan",
        tc.ids["junk0"]: "vrf",
    }


def test_parsed_rows_carry_position_and_fields(built: tuple[DemoChain, Pipeline]) -> None:
    _, pipeline = built
    store = pipeline.warehouse.store
    insc = {r["id"]: r for r in store.read("inscriptions").to_pylist()}
    for m in store.read("drey_messages").to_pylist():
        r = insc[m["id"]]
        assert (m["block_height"], m["tx_index"], m["inscription_index"], m["txid"]) == (
            r["block_height"],
            r["tx_index"],
            r["number_in_tx"],
            r["txid"],
        )
    plan = next(m for m in store.read("drey_messages").to_pylist() if m["kind"] == "plan")
    assert plan["user_id"] == 7 and '"user_id":7' in plan["fields"]
    # The typed messages handed to the rules engine are in chain order, quarantines included.
    messages = store.load_segmented(MESSAGES_STATE)
    assert [pm.position for pm in messages] == sorted(pm.position for pm in messages)
    assert len(messages) == len(store.read("drey_messages")) + len(store.read("quarantine"))


def test_selection_matches_near_misses_only() -> None:
    con = duckdb.connect()
    con.execute(
        "create table t as select * from (values ('drey/1'), ('DREY/1'), (' drey/2'), "
        "('dreyfus'), ('ord/1'), (NULL)) v(metaprotocol)"
    )
    got = [
        r[0] for r in con.execute(f"select metaprotocol from t where {DREY_SELECTION}").fetchall()
    ]
    assert got == ["drey/1", "DREY/1", " drey/2"]


def test_rerun_parses_nothing_afresh_and_rewrites_identically(
    built: tuple[DemoChain, Pipeline],
) -> None:
    _, pipeline = built
    store = pipeline.warehouse.store
    before = pq.read_table(store.table_path("drey_messages"))
    result = pipeline.run("chain_job")
    events = {
        e.asset_key.to_user_string(): e.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    assert events["drey_messages"]["parsed_afresh"].value == 0
    assert pq.read_table(store.table_path("drey_messages")).equals(before)


def test_an_unchanged_selection_rewrites_nothing_and_a_changed_one_reparses(
    built: tuple[DemoChain, Pipeline],
) -> None:
    _, pipeline = built
    store = pipeline.warehouse.store
    watched = [
        store.table_path("drey_messages"),
        store.table_path("quarantine"),
        store.segmented_index(MESSAGES_STATE),
    ]
    pipeline.run("chain_job")
    stamps = [p.stat().st_mtime_ns for p in watched]
    pipeline.run("chain_job")  # same commit: same selection
    assert [p.stat().st_mtime_ns for p in watched] == stamps
    # A lost output is rebuilt, even though the selection is the same.
    store.table_path("quarantine").unlink()
    pipeline.run("chain_job")
    assert store.table_path("quarantine").exists()
    # A different selection digest makes the stage parse (from its cache) and write again.
    parsed_from = store.load_state(PARSE_STATE)
    store.save_state(PARSE_STATE, {**parsed_from, "selection": "another"})
    before = store.read("drey_messages")
    result = pipeline.run("chain_job")
    assert store.table_path("drey_messages").stat().st_mtime_ns != stamps[0]
    assert store.read("drey_messages").equals(before)
    (meta,) = [
        e.materialization.metadata
        for e in result.get_asset_materialization_events()
        if e.asset_key.to_user_string() == "drey_messages"
    ]
    assert meta["parsed_afresh"].value == 0
    # Without it (as after a crash mid-write), everything is parsed afresh, to the same rows.
    store.drop_state(PARSE_STATE)
    pipeline.run("chain_job")
    assert store.read("drey_messages").equals(before)


def test_selection_digest_sees_content_places_and_the_founder(
    built: tuple[DemoChain, Pipeline],
) -> None:
    _, pipeline = built
    keys = _read_drey_inscriptions(pipeline.warehouse, KEY_COLUMNS)
    rows = keys.to_pylist()
    founder = pipeline.warehouse.founder_key

    def digest(rows: list[dict], founder: bytes | None = founder) -> str:
        return _selection_digest(pa.Table.from_pylist(rows, schema=keys.schema), founder)

    base = digest(rows)
    assert digest([dict(r) for r in rows]) == base == _selection_digest(keys, founder)
    moved = [dict(r) for r in rows]
    moved[0]["block_hash"] = "00" * 32  # the same inscription re-mined elsewhere (a reorg)
    edited = [dict(r) for r in rows]
    edited[-1]["body_sha256"] = "11" * 32  # another body
    assert len({base, digest(moved), digest(edited), digest(rows[:-1]), digest(rows, None)}) == 5


def test_a_new_block_parses_only_its_own_rows_and_keeps_the_rest(
    built: tuple[DemoChain, Pipeline],
) -> None:
    _, pipeline = built
    store = pipeline.warehouse.store
    pipeline.run("chain_job")
    tables = {t: store.read(t) for t in ("drey_messages", "quarantine")}
    messages = store.load_segmented(MESSAGES_STATE)
    parsed_from = store.load_state(PARSE_STATE)
    # Saved as if the last two rows were not mined yet, and the first was mined in another
    # block (a reorg moved it): those three rows are new to the next run.
    later = pa.array([pm.inscription_id for pm in messages[-2:]], pa.string())
    for table, data in tables.items():
        store.write(table, data.filter(pc.invert(pc.is_in(data.column("id"), value_set=later))))
    rows = list(store.load_segmented(ROWS_STATE)[:-2])
    key, height, _, *rest = rows[0]
    rows[0] = (key, height, "00" * 32, *rest)
    store.save_segmented(MESSAGES_STATE, messages[:-2], kept=0)
    store.save_segmented(ROWS_STATE, rows, kept=0)
    store.save_state(PARSE_STATE, {**parsed_from, "selection": "older"})

    result = pipeline.run("chain_job")
    (meta,) = [
        e.materialization.metadata
        for e in result.get_asset_materialization_events()
        if e.asset_key.to_user_string() == "drey_messages"
    ]
    assert meta["parsed_afresh"].value == 2  # the moved row keeps its parse, only its place is new
    for table, data in tables.items():
        assert store.read(table).equals(data), table
    assert store.load_segmented(MESSAGES_STATE) == messages
