"""Shard tables: contents, vault tracking, content decoding, refs, and readers."""

from __future__ import annotations

import gzip
from pathlib import Path

import brotli
import duckdb
import polars as pl
import pyarrow.parquet as pq
import pytest

from btc import OutPoint, Transaction, TxIn, TxOut
from btc.errors import TruncatedError
from btc.scan import outpoint_key, scan_block
from indexer.inscriptions.content import MAX_DECODED_BYTES, decode_body, metadata_to_json
from indexer.inscriptions.recursion import find_references, is_text_like
from indexer.shards import SCHEMAS, tables_for_blocks, write_shard

from ..btc.blocks import block_with_commitments, envelope, reveal_script, witness_for

VAULT = b"\x51\x20" + b"\xaa" * 32
OTHER = b"\x51\x20" + b"\xbb" * 32


def make_block(txs: list[Transaction], prev: bytes = bytes(32)) -> bytes:
    """A block as a miner makes it: merkle root and BIP141 witness commitment included."""
    return block_with_commitments(txs, prev=prev, pay_to=OTHER).serialize()


def spend(
    prevout: OutPoint, outputs: list[TxOut], witness: tuple[bytes, ...] = (b"\x01" * 64,)
) -> Transaction:
    return Transaction(2, (TxIn(prevout, b"", 0xFFFFFFFD, witness),), tuple(outputs))


def test_vault_outputs_and_spends_including_same_block() -> None:
    fund = spend(
        OutPoint(b"\x11" * 32, 0), [TxOut(1000, VAULT), TxOut(5, OTHER), TxOut(2000, VAULT)]
    )
    spend_same_block = spend(OutPoint(fund.txid, 0), [TxOut(900, OTHER)])
    block1 = make_block([fund, spend_same_block])
    scanned = scan_block(block1, vault_scripts={VAULT})
    assert [(o.txid, o.vout, o.value) for o in scanned.vault_outputs] == [
        (fund.txid_hex, 0, 1000),
        (fund.txid_hex, 2, 2000),
    ]
    assert [(s.txid, s.spent_txid, s.spent_vout) for s in scanned.vault_spends] == [
        (spend_same_block.txid_hex, fund.txid_hex, 0)
    ]
    # A later block spends the other output; the caller passes the still-unspent set.
    later = spend(OutPoint(fund.txid, 2), [TxOut(1, OTHER)])
    unrelated = spend(OutPoint(fund.txid, 1), [TxOut(1, OTHER)])
    block2 = make_block([unrelated, later])
    scanned2 = scan_block(
        block2, vault_scripts={VAULT}, vault_outpoints={outpoint_key(fund.txid_hex, 2)}
    )
    assert [(s.tx_index, s.spent_vout) for s in scanned2.vault_spends] == [(2, 2)]
    assert scan_block(block2).vault_spends == ()


def test_tables_and_parquet_readable_by_duckdb_and_polars(tmp_path: Path) -> None:
    html = (
        b'<img src="/content/'
        + b"ab" * 32
        + b'i0"><script src="/r/blockheight"></script>/r/sat/1/at/-1'
    )
    reveal = reveal_script(
        envelope(b"\x01", b"text/html;charset=utf-8", b"\x05", b"\xa1\x61a\x01", b"", html),
        envelope(
            b"\x01",
            b"text/plain",
            b"\x09",
            b"gzip",
            b"",
            gzip.compress(b"/content/" + b"cd" * 32 + b"i3"),
        ),
    )
    tx = spend(OutPoint(b"\x22" * 32, 5), [TxOut(330, VAULT)], witness_for(reveal))
    raw = make_block([tx])
    tables = tables_for_blocks([(101, scan_block(raw, vault_scripts=[VAULT]))])
    paths = write_shard(tables, tmp_path, name="000000101")
    assert set(paths) == set(SCHEMAS)
    assert not list(tmp_path.rglob("*.tmp"))
    for name, path in paths.items():
        assert pq.read_schema(path).equals(SCHEMAS[name], check_metadata=False)
    rows = duckdb.sql(
        f"select id, first_input_prevout, metadata_json, body_len, body_decoded from '{tmp_path}/inscriptions/*.parquet' order by id"
    ).fetchall()
    assert rows[0][0] == f"{tx.txid_hex}i0" and rows[0][1] == f"{'22' * 32}:5"
    assert rows[0][2] == '{"a": 1}' and rows[0][3] == len(html) and rows[0][4] is None
    assert rows[1][4] == b"/content/" + b"cd" * 32 + b"i3"
    refs = pl.read_parquet(tmp_path / "inscription_refs" / "000000101.parquet").sort("path")
    assert refs.select("from_id", "path_kind", "to_id").rows() == [
        (f"{tx.txid_hex}i0", "content", "ab" * 32 + "i0"),
        (f"{tx.txid_hex}i1", "content", "cd" * 32 + "i3"),
        (f"{tx.txid_hex}i0", "blockheight", None),
        (f"{tx.txid_hex}i0", "sat", None),
    ]
    blocks = pl.read_parquet(tmp_path / "blocks")
    assert blocks["height"].to_list() == [101] and blocks["tx_count"].to_list() == [2]
    assert duckdb.sql(f"select value from '{tmp_path}/vault_outputs/*.parquet'").fetchall() == [
        (330,)
    ]


def test_truncated_block_is_a_decode_error() -> None:
    raw = make_block([spend(OutPoint(b"\x11" * 32, 0), [TxOut(1, OTHER)])])
    for cut in (81, 100, len(raw) - 1):
        with pytest.raises(TruncatedError):
            scan_block(raw[:cut])


def test_body_decoding() -> None:
    assert decode_body(b"x", None) is None
    assert decode_body(brotli.compress(b"hello"), "br").data == b"hello"
    assert decode_body(gzip.compress(b"hello"), "gzip").data == b"hello"
    bad = decode_body(b"not gzip", "gzip")
    assert bad.data is None and "invalid gzip" in bad.error
    assert "unsupported" in decode_body(b"x", "zstd").error
    bomb = decode_body(gzip.compress(bytes(MAX_DECODED_BYTES + 10)), "gzip")
    assert bomb.data is None and "exceeds" in bomb.error
    assert "truncated" in decode_body(gzip.compress(b"hello" * 100)[:-10], "gzip").error


def test_metadata_json() -> None:
    assert (
        metadata_to_json(bytes.fromhex("a2616101616242ffee")) == '{"a": 1, "b": {"$bytes": "ffee"}}'
    )
    assert metadata_to_json(b"\xff\xff") is None
    assert metadata_to_json(b"") is None
    assert metadata_to_json(bytes.fromhex("1bffffffffffffffff")) == '"18446744073709551615"'


def test_reference_extraction() -> None:
    body = (
        b"/r/children/"
        + b"ab" * 32
        + b"i0/inscriptions/2 /r/blockhash/840000 /r/tx/"
        + b"ef" * 32
        + b" /r/utxo/"
        + b"01" * 32
        + b":1 /r/blockinfo/5 /r/undelegated-content/"
        + b"ab" * 32
        + b"i12"
    )
    kinds = [(k, t) for k, t, _ in find_references(body)]
    assert kinds == [
        ("children", "ab" * 32 + "i0"),
        ("blockhash", None),
        ("tx", None),
        ("utxo", None),
        ("blockinfo", None),
        ("undelegated_content", "ab" * 32 + "i12"),
    ]
    assert (
        is_text_like("text/html;charset=utf-8")
        and is_text_like("image/svg+xml")
        and not is_text_like("image/png")
    )


def test_shards_keep_statistics_for_filter_columns_but_not_for_blobs(tmp_path: Path) -> None:
    """Min/max of a blob are copies of whole bodies (tens of MiB of writer memory for a bomb);
    the columns queries filter by (heights, ids, txids) keep theirs for row-group pruning."""
    reveal = reveal_script(
        envelope(b"\x01", b"text/plain", b"\x09", b"br", b"", brotli.compress(b"hi"))
    )
    tx = spend(OutPoint(b"\x44" * 32, 0), [TxOut(1, OTHER)], witness_for(reveal))
    tables = tables_for_blocks([(7, scan_block(make_block([tx]), vault_scripts=[]))])
    paths = write_shard(tables, tmp_path, name="000000007")
    meta = pq.ParquetFile(paths["inscriptions"]).metadata.row_group(0)
    stats = {
        meta.column(i).path_in_schema: meta.column(i).is_stats_set for i in range(meta.num_columns)
    }
    assert stats["block_height"] and stats["id"] and stats["txid"]
    assert stats["parents.list.element"]
    assert not stats["body"] and not stats["body_decoded"] and not stats["metadata"]
    assert not stats["parents_raw.list.element"]
