"""Scanned blocks to Arrow tables (one per shard table)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
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


Row = dict[str, object]


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
    for i, (height, block) in enumerate(blocks):
        content = block_contents(block) if contents is None else contents[i]
        _append(cols["blocks"], [_block_row(height, block)])
        _append(cols["inscriptions"], _inscription_rows(height, block, content))
        _append(cols["inscription_refs"], _reference_rows(height, block, content))
        _append(cols["vault_outputs"], _vault_output_rows(height, block))
        _append(cols["vault_spends"], _vault_spend_rows(height, block))
    return ShardTables(
        **{
            name: pa.Table.from_pydict(cols[name], schema=schema)
            for name, schema in SCHEMAS.items()
        }
    )


def _append(columns: dict[str, list[object]], rows: Iterable[Row]) -> None:
    for row in rows:
        for key, cell in row.items():
            columns[key].append(cell)


def _block_row(height: int, block: ScannedBlock) -> Row:
    header = block.header
    return {
        "height": height,
        "hash": block.hash,
        "prev_hash": hash_to_hex(header.prev_hash),
        "merkle_root": hash_to_hex(header.merkle_root),
        "version": header.version,
        "time": header.time,
        "bits": header.bits,
        "nonce": header.nonce,
        "tx_count": block.tx_count,
        "size": block.size,
        "weight": block.weight,
    }


def _inscription_rows(height: int, block: ScannedBlock, content: BlockContents) -> Iterator[Row]:
    for found, item in zip(block.inscriptions, content.items, strict=True):
        insc = found.inscription
        body = insc.body
        decoded = item.decoded
        delegate = insc.delegate
        yield {
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
            "parents": [str(p) for p in insc.parents],
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


def _reference_rows(height: int, block: ScannedBlock, content: BlockContents) -> Iterator[Row]:
    for found, item in zip(block.inscriptions, content.items, strict=True):
        for kind, to_id, path in item.refs:
            yield {
                "from_id": found.id,
                "block_height": height,
                "path_kind": kind,
                "to_id": to_id,
                "path": path,
            }


def _vault_output_rows(height: int, block: ScannedBlock) -> Iterator[Row]:
    for out in block.vault_outputs:
        yield {
            "block_height": height,
            "block_hash": block.hash,
            "tx_index": out.tx_index,
            "txid": out.txid,
            "vout": out.vout,
            "value": out.value,
            "script_pubkey": out.script_pubkey.hex(),
        }


def _vault_spend_rows(height: int, block: ScannedBlock) -> Iterator[Row]:
    for spend in block.vault_spends:
        yield {
            "block_height": height,
            "block_hash": block.hash,
            "tx_index": spend.tx_index,
            "txid": spend.txid,
            "input": spend.input,
            "spent_txid": spend.spent_txid,
            "spent_vout": spend.spent_vout,
        }
