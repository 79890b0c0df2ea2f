"""Scanned blocks to Arrow tables (one per shard table)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from hashlib import sha256

import pyarrow as pa

from btc.hashes import hash_to_hex
from btc.scan import ScannedBlock
from indexer.inscriptions.budget import BlockContents, decode_contents
from indexer.inscriptions.content import metadata_to_json
from indexer.shards.schema import SCHEMAS


@dataclass(frozen=True, slots=True)
class ShardTables:
    blocks: pa.Table
    inscriptions: pa.Table
    inscription_refs: pa.Table
    vault_outputs: pa.Table
    vault_spends: pa.Table

    def items(self) -> Iterable[tuple[str, pa.Table]]:
        for name in SCHEMAS:
            yield name, getattr(self, name)


def block_contents(block: ScannedBlock) -> BlockContents:
    """The decoded bodies and references of ``block``, within the per-block budgets."""
    return decode_contents([found.inscription for found in block.inscriptions])


def tables_for_blocks(
    blocks: Sequence[tuple[int, ScannedBlock]],
    *,
    contents: Sequence[BlockContents] | None = None,
) -> ShardTables:
    """Build every shard table for ``(height, scanned block)`` pairs. ``contents`` are the
    blocks' :func:`block_contents` when the caller already has them (the follower decodes
    each block once, to size its batches)."""
    cols: dict[str, dict[str, list[object]]] = {
        name: {f.name: [] for f in schema} for name, schema in SCHEMAS.items()
    }
    b, ins, refs, vo, vs = (cols[n] for n in SCHEMAS)
    for i, (height, block) in enumerate(blocks):
        content = block_contents(block) if contents is None else contents[i]
        header = block.header
        for key, value in (
            ("height", height),
            ("hash", block.hash),
            ("prev_hash", hash_to_hex(header.prev_hash)),
            ("merkle_root", hash_to_hex(header.merkle_root)),
            ("version", header.version),
            ("time", header.time),
            ("bits", header.bits),
            ("nonce", header.nonce),
            ("tx_count", block.tx_count),
            ("size", block.size),
            ("weight", block.weight),
        ):
            b[key].append(value)
        for found, item in zip(block.inscriptions, content.items, strict=True):
            insc = found.inscription
            body = insc.body
            decoded = item.decoded
            parents = insc.parents
            delegate = insc.delegate
            row = {
                "id": found.id,
                "block_height": height,
                "block_hash": block.hash,
                "tx_index": found.tx_index,
                "txid": found.txid,
                "number_in_tx": found.number,
                "input": insc.input,
                "offset": insc.offset,
                "first_input_prevout": found.first_input_prevout,
                "content_type": insc.content_type,
                "content_type_raw": insc.content_type_raw,
                "content_encoding": insc.content_encoding,
                "metaprotocol": insc.metaprotocol,
                "pointer": insc.pointer,
                "pointer_raw": insc.pointer_raw,
                "parents": [str(p) for p in parents],
                "parents_raw": list(insc.parents_raw),
                "delegate": None if delegate is None else str(delegate),
                "delegate_raw": insc.delegate_raw,
                "metadata": insc.metadata,
                "metadata_json": None if insc.metadata is None else metadata_to_json(insc.metadata),
                "rune": insc.rune,
                "properties": insc.properties,
                "property_encoding": insc.property_encoding,
                "body": body,
                "body_len": None if body is None else len(body),
                "body_sha256": None if body is None else sha256(body).hexdigest(),
                "body_decoded": None if decoded is None else decoded.data,
                "body_decode_error": None if decoded is None else decoded.error,
                "refs_error": item.refs_error,
                "pushnum": insc.pushnum,
                "stutter": insc.stutter,
                "duplicate_field": insc.duplicate_field,
                "incomplete_field": insc.incomplete_field,
                "unrecognized_even_field": insc.unrecognized_even_field,
            }
            for key, cell in row.items():
                ins[key].append(cell)
            for kind, to_id, path in item.refs:
                refs["from_id"].append(found.id)
                refs["block_height"].append(height)
                refs["path_kind"].append(kind)
                refs["to_id"].append(to_id)
                refs["path"].append(path)
        for out in block.vault_outputs:
            for key, value in (
                ("block_height", height),
                ("block_hash", block.hash),
                ("tx_index", out.tx_index),
                ("txid", out.txid),
                ("vout", out.vout),
                ("value", out.value),
                ("script_pubkey", out.script_pubkey.hex()),
            ):
                vo[key].append(value)
        for spend in block.vault_spends:
            for key, value in (
                ("block_height", height),
                ("block_hash", block.hash),
                ("tx_index", spend.tx_index),
                ("txid", spend.txid),
                ("input", spend.input),
                ("spent_txid", spend.spent_txid),
                ("spent_vout", spend.spent_vout),
            ):
                vs[key].append(value)
    return ShardTables(
        **{
            name: pa.Table.from_pydict(cols[name], schema=schema)
            for name, schema in SCHEMAS.items()
        }
    )
