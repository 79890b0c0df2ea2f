"""Arrow schemas of the shard tables. Hashes and ids are lowercase display hex text, so analysts
can join and filter on what explorers show; raw bytes are binary columns."""

from __future__ import annotations

import pyarrow as pa

BLOCKS = pa.schema(
    [
        pa.field("height", pa.int64(), nullable=False),
        pa.field("hash", pa.string(), nullable=False),
        pa.field("prev_hash", pa.string(), nullable=False),
        pa.field("merkle_root", pa.string(), nullable=False),
        pa.field("version", pa.int32(), nullable=False),
        pa.field("time", pa.int64(), nullable=False),
        pa.field("bits", pa.uint32(), nullable=False),
        pa.field("nonce", pa.uint32(), nullable=False),
        pa.field("tx_count", pa.int32(), nullable=False),
        pa.field("size", pa.int32(), nullable=False),
        pa.field("weight", pa.int32(), nullable=False),
    ]
)

INSCRIPTIONS = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("block_height", pa.int64(), nullable=False),
        pa.field("block_hash", pa.string(), nullable=False),
        pa.field("tx_index", pa.int32(), nullable=False),
        pa.field("txid", pa.string(), nullable=False),
        pa.field("number_in_tx", pa.int32(), nullable=False),
        pa.field("input", pa.int32(), nullable=False),
        pa.field("offset", pa.int32(), nullable=False),
        pa.field("first_input_prevout", pa.string(), nullable=False),
        pa.field("content_type", pa.string()),
        pa.field("content_type_raw", pa.binary()),
        pa.field("content_encoding", pa.string()),
        pa.field("metaprotocol", pa.string()),
        pa.field("pointer", pa.uint64()),
        pa.field("pointer_raw", pa.binary()),
        pa.field("parents", pa.list_(pa.string()), nullable=False),
        pa.field("parents_raw", pa.list_(pa.binary()), nullable=False),
        pa.field("delegate", pa.string()),
        pa.field("delegate_raw", pa.binary()),
        pa.field("metadata", pa.binary()),
        pa.field("metadata_json", pa.string()),
        pa.field("rune", pa.binary()),
        pa.field("properties", pa.binary()),
        pa.field("property_encoding", pa.binary()),
        pa.field("body", pa.large_binary()),
        pa.field("body_len", pa.int64()),
        pa.field("body_sha256", pa.string()),
        pa.field("body_decoded", pa.large_binary()),
        pa.field("body_decode_error", pa.string()),
        pa.field("refs_error", pa.string()),
        pa.field("pushnum", pa.bool_(), nullable=False),
        pa.field("stutter", pa.bool_(), nullable=False),
        pa.field("duplicate_field", pa.bool_(), nullable=False),
        pa.field("incomplete_field", pa.bool_(), nullable=False),
        pa.field("unrecognized_even_field", pa.bool_(), nullable=False),
    ]
)

INSCRIPTION_REFS = pa.schema(
    [
        pa.field("from_id", pa.string(), nullable=False),
        pa.field("block_height", pa.int64(), nullable=False),
        pa.field("path_kind", pa.string(), nullable=False),
        pa.field("to_id", pa.string()),
        pa.field("path", pa.string(), nullable=False),
    ]
)

VAULT_OUTPUTS = pa.schema(
    [
        pa.field("block_height", pa.int64(), nullable=False),
        pa.field("block_hash", pa.string(), nullable=False),
        pa.field("tx_index", pa.int32(), nullable=False),
        pa.field("txid", pa.string(), nullable=False),
        pa.field("vout", pa.int32(), nullable=False),
        pa.field("value", pa.int64(), nullable=False),
        pa.field("script_pubkey", pa.string(), nullable=False),
    ]
)

VAULT_SPENDS = pa.schema(
    [
        pa.field("block_height", pa.int64(), nullable=False),
        pa.field("block_hash", pa.string(), nullable=False),
        pa.field("tx_index", pa.int32(), nullable=False),
        pa.field("txid", pa.string(), nullable=False),
        pa.field("input", pa.int32(), nullable=False),
        pa.field("spent_txid", pa.string(), nullable=False),
        pa.field("spent_vout", pa.int32(), nullable=False),
    ]
)

SCHEMAS: dict[str, pa.Schema] = {
    "blocks": BLOCKS,
    "inscriptions": INSCRIPTIONS,
    "inscription_refs": INSCRIPTION_REFS,
    "vault_outputs": VAULT_OUTPUTS,
    "vault_spends": VAULT_SPENDS,
}
TABLES = tuple(SCHEMAS)
