"""Frozen protocol values to Arrow columns: bytes become lowercase hex (keys, roots, hashes),
Drey messages a JSON object of their CBOR map, rows a table with an explicit schema.

Hex is big-endian as the protocol writes the bytes (roots and field elements are 32-byte
big-endian; keys x-only). Block hashes and txids keep the shard convention: display order.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa

# Byte strings longer than this are summarised in message JSON (ciphertexts, Paillier values,
# proofs): the raw bytes stay in the inscriptions table.
INLINE_BYTES = 96


def hexify(value: bytes | None) -> str | None:
    return None if value is None else value.hex()


def display_hash(internal: bytes | None) -> str | None:
    """A txid or block hash in internal byte order, as explorers display it."""
    return None if internal is None else internal[::-1].hex()


def outpoint_bytes(text: str) -> bytes:
    """The shards' ``<txid display>:<vout>`` as a 36-byte outpoint (txid internal ‖ vout LE)."""
    txid, _, vout = text.rpartition(":")
    return bytes.fromhex(txid)[::-1] + int(vout).to_bytes(4, "little")


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        if len(value) > INLINE_BYTES:
            return {"$len": len(value), "$sha256": hashlib.sha256(value).hexdigest()}
        return value.hex()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 1 << 53:
        return str(value)  # JSON readers lose precision beyond 2^53
    return value


def message_json(message: Any) -> str:
    """The message's CBOR map as JSON (sorted keys): bytes as hex, long bytes summarised,
    integers beyond ±2^53 as decimal text (like the shards' ``metadata_json``)."""
    return json.dumps(_jsonable(message.to_map()), sort_keys=True, separators=(",", ":"))


def to_table(rows: Iterable[Mapping[str, Any]], schema: pa.Schema) -> pa.Table:
    """Rows (dicts keyed by column) as a table with exactly ``schema``."""
    cols: dict[str, list[Any]] = {f.name: [] for f in schema}
    for row in rows:
        for name, values in cols.items():
            values.append(row.get(name))
    return pa.Table.from_pydict(cols, schema=schema)
