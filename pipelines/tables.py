"""The warehouse's tables: the one registry of every table in schema ``data``.

Each table is a name, where its rows come from (:data:`Kind`) and an Arrow schema. The schema
is the single statement of its columns: the assets build their Parquet files with it, the
publisher creates ``data.<table>`` from it (:meth:`WarehouseTable.create_sql`) and loads the
files BY NAME, and the tests check that ``docs/schema.md`` documents every column with the
type DuckDB gives it. A new column is one edit here (and a line in the docs, which a test
asks for).

Conventions: hashes, txids and inscription ids are lowercase hex in display order, as in the
shards; keys, roots and field elements are lowercase hex of their big-endian bytes; heights
are BIGINT; sats are BIGINT and Dreybits UBIGINT (sums that can pass 2^64 are DECIMAL(38,0)).
A non-nullable field is ``NOT NULL``. Types are kept to those the oldest supported DuckDB
reader knows (see ``pipelines/duck.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

import duckdb
import pyarrow as pa

from indexer.shards.schema import SCHEMAS as SHARD_SCHEMAS

__all__ = [
    "TABLES",
    "Kind",
    "WarehouseTable",
    "columns",
    "create_tables",
    "quote_identifier",
    "sql_type",
]

Kind = Literal["chain", "month", "build"]
"""``chain``: one Parquet file over the whole chain; ``month``: one file per month;
``build``: written by the publisher itself (not loaded from Parquet)."""


def columns(*fields: tuple[str, pa.DataType] | tuple[str, pa.DataType, bool]) -> pa.Schema:
    """``columns(("month", pa.string(), False), ("round", pa.int64()))``: nullable unless the
    third item says ``False``."""
    out = []
    for f in fields:
        name, dtype, *rest = f
        out.append(pa.field(name, dtype, nullable=rest[0] if rest else True))
    return pa.schema(out)


# Arrow type -> DuckDB type, as DuckDB reads the Parquet the assets write.
_SQL_TYPES: Mapping[pa.DataType, str] = {
    pa.bool_(): "BOOLEAN",
    pa.int32(): "INTEGER",
    pa.int64(): "BIGINT",
    pa.uint32(): "UINTEGER",
    pa.uint64(): "UBIGINT",
    pa.float64(): "DOUBLE",
    pa.string(): "VARCHAR",
    pa.large_string(): "VARCHAR",
    pa.binary(): "BLOB",
    pa.large_binary(): "BLOB",
}


def sql_type(dtype: pa.DataType) -> str:
    """The DuckDB type of an Arrow column type; TypeError for a type the registry does not
    map (add it to ``_SQL_TYPES`` once DuckDB's reading of it is known)."""
    if pa.types.is_list(dtype):
        return f"{sql_type(dtype.value_type)}[]"
    if pa.types.is_decimal(dtype):
        return f"DECIMAL({dtype.precision},{dtype.scale})"
    try:
        return _SQL_TYPES[dtype]
    except KeyError:
        raise TypeError(f"no DuckDB type for Arrow type {dtype}") from None


def quote_identifier(name: str) -> str:
    """``name`` as a double-quoted SQL identifier (embedded quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True, slots=True)
class WarehouseTable:
    """One table of schema ``data``."""

    name: str
    kind: Kind
    schema: pa.Schema

    def create_sql(self) -> str:
        """``CREATE TABLE data.<name> (...)`` with every column's type and NOT NULL."""
        lines = [
            f"    {quote_identifier(f.name)} {sql_type(f.type)}{'' if f.nullable else ' NOT NULL'}"
            for f in self.schema
        ]
        return f"CREATE TABLE data.{self.name} (\n" + ",\n".join(lines) + "\n)"


# Where a Drey inscription is: its id, block, transaction and place in the transaction.
_POSITION = (
    ("id", pa.string(), False),
    ("block_height", pa.int64(), False),
    ("block_hash", pa.string(), False),
    ("tx_index", pa.int32(), False),
    ("inscription_index", pa.int32(), False),
    ("txid", pa.string(), False),
)

DREY_MESSAGES = columns(
    *_POSITION,
    ("kind", pa.string(), False),
    ("month", pa.string()),
    ("round", pa.int64()),
    ("actuary", pa.string()),
    ("user_id", pa.uint64()),
    ("body_len", pa.int64()),
    ("fields", pa.string(), False),
)

QUARANTINE = columns(
    *_POSITION,
    ("reason", pa.string(), False),
    ("detail", pa.string(), False),
    ("metaprotocol", pa.string()),
    ("content_type", pa.string()),
    ("body_len", pa.int64()),
)

MESSAGE_STATUSES = columns(
    ("id", pa.string(), False),
    ("block_height", pa.int64(), False),
    ("tx_index", pa.int32(), False),
    ("inscription_index", pa.int32(), False),
    ("kind", pa.string()),
    ("month", pa.string()),
    ("round", pa.int64()),
    ("status", pa.string(), False),
    ("reason", pa.string()),
    ("detail", pa.string(), False),
)

MONTHS = columns(
    ("month", pa.string(), False),
    ("outcome", pa.string(), False),
    ("first_month", pa.string()),
    ("params_id", pa.string()),
    ("prev_snapshot", pa.int64()),
    ("snapshot", pa.int64()),
    ("start_height", pa.int64()),
    ("decided_height", pa.int64()),
    ("accepted_round", pa.int64()),
    ("rounds", pa.int64(), False),
    ("lead", pa.string()),
    ("roster_size", pa.int64()),
    ("eligible", pa.int64()),
    ("threshold", pa.int64()),
    ("need", pa.int64()),
    ("race_quorum", pa.int64()),
    ("no_quorum", pa.bool_()),
    ("overflow", pa.bool_()),
    ("under_threshold", pa.bool_()),
    ("n_rows", pa.int64()),
    ("dreybits_per_month", pa.int64()),
    ("fee_bps", pa.int64()),
    ("lead_bps", pa.int64()),
    ("penalty_bps", pa.int64()),
    ("pool_sats", pa.int64()),
    ("formula_source", pa.string()),
    ("month_root", pa.string()),
    ("commitment", pa.string()),
    ("months_root", pa.string()),
    ("publication", pa.string()),
    ("slashed", pa.int64()),
    ("rewards_final", pa.bool_()),
    ("settled", pa.bool_()),
)

ELIGIBILITY = columns(
    ("month", pa.string(), False),
    ("roster_index", pa.int64(), False),
    ("actuary", pa.string(), False),
    ("stake", pa.int64(), False),
    ("slashed", pa.int64(), False),
    ("weight", pa.int64(), False),
    ("eligible", pa.bool_(), False),
)

ELECTIONS = columns(
    ("month", pa.string(), False),
    ("round", pa.int64(), False),
    ("seed_height", pa.int64(), False),
    ("seed_hash", pa.string()),
    ("vrf_count", pa.int64(), False),
    ("randomness", pa.string()),
    ("candidates", pa.int64(), False),
    ("total_weight", pa.int64(), False),
    ("lead", pa.string()),
    ("lead_package", pa.string()),
    ("lead_height", pa.int64()),
    ("race_open", pa.int64()),
    ("race_end", pa.int64()),
    ("race_close", pa.int64()),
    ("close_s", pa.int64()),
    ("reveal_start", pa.int64()),
    ("share_end", pa.int64()),
    ("post_reveal", pa.bool_(), False),
    ("decision", pa.string(), False),
    ("decided_height", pa.int64()),
    ("decision_reason", pa.string(), False),
    ("support", pa.int64(), False),
    ("settled", pa.bool_(), False),
)

ELECTION_VRFS = columns(
    ("month", pa.string(), False),
    ("round", pa.int64(), False),
    ("actuary", pa.string(), False),
    ("vrf_id", pa.string(), False),
    ("block_height", pa.int64(), False),
    ("beta", pa.string(), False),
)

ELECTION_WEIGHTS = columns(
    ("month", pa.string(), False),
    ("round", pa.int64(), False),
    ("actuary", pa.string(), False),
    ("weight", pa.int64(), False),
    ("elected", pa.bool_(), False),
)

PACKAGES = columns(
    ("month", pa.string(), False),
    ("round", pa.int64()),
    ("id", pa.string(), False),
    ("kind", pa.string(), False),
    ("block_height", pa.int64(), False),
    ("tx_index", pa.int32(), False),
    ("inscription_index", pa.int32(), False),
    ("status", pa.string(), False),
    ("reason", pa.string()),
    ("detail", pa.string(), False),
    ("role", pa.string()),
    ("rank", pa.int64()),
)

DECRYPTION_SHARES = columns(
    ("month", pa.string(), False),
    ("round", pa.int64(), False),
    ("shares_id", pa.string(), False),
    ("entry", pa.int64(), False),
    ("block_height", pa.int64(), False),
    ("tx_index", pa.int32(), False),
    ("inscription_index", pa.int32(), False),
    ("actuary", pa.string(), False),
    ("roster_index", pa.int64()),
    ("package", pa.string(), False),
    ("status", pa.string(), False),
    ("reason", pa.string()),
    ("detail", pa.string(), False),
)

REVEALS = columns(
    ("month", pa.string(), False),
    ("round", pa.int64(), False),
    ("package", pa.string(), False),
    ("actuary", pa.string(), False),
    ("kind", pa.string(), False),
    ("role", pa.string(), False),
    ("outcome", pa.string(), False),
    ("reveal_height", pa.int64()),
    ("share_indices", pa.list_(pa.int64())),
    ("month_root", pa.string()),
    ("n_rows", pa.int64()),
    ("months_root", pa.string()),
    ("problem", pa.string()),
    ("valid", pa.bool_(), False),
    ("agrees", pa.bool_(), False),
    ("counts", pa.bool_(), False),
)

# One row per decrypted result: its proof as the rules checked it (docs/protocol/proofs.md).
PROOFS = columns(
    ("month", pa.string(), False),
    ("round", pa.int64(), False),
    ("package", pa.string(), False),
    ("actuary", pa.string(), False),
    ("role", pa.string(), False),
    ("system", pa.string(), False),
    ("verified", pa.bool_()),
    ("reason", pa.string()),
    ("detail", pa.string()),
    ("public_inputs", pa.string()),
    ("proof", pa.string()),
    ("verify_ms", pa.float64()),
    ("agrees_with_recompute", pa.bool_()),
)

# One row per parsed circuit manifest, and what the warehouse's audit of its setup found.
PROOF_SYSTEMS = columns(
    ("circuit", pa.string(), False),
    ("block_height", pa.int64(), False),
    ("status", pa.string(), False),
    ("system", pa.string(), False),
    ("months_depth", pa.int64(), False),
    ("named_by", pa.list_(pa.string())),
    ("source_sha256", pa.string(), False),
    ("r1cs_sha256", pa.string(), False),
    ("wasm_sha256", pa.string(), False),
    ("ptau_sha256", pa.string(), False),
    ("ptau_power", pa.int64(), False),
    ("zkey_sha256", pa.string(), False),
    ("vk_sha256", pa.string(), False),
    ("verification_key", pa.string()),
    ("contributions", pa.list_(pa.string())),
    ("contributors", pa.list_(pa.string())),
    ("contribution_hashes", pa.list_(pa.string())),
    ("beacon_height", pa.int64(), False),
    ("beacon_iterations", pa.int64(), False),
    ("beacon_hash", pa.string()),
    ("setup_verified", pa.bool_()),
    ("setup_detail", pa.string(), False),
    ("audit_seconds", pa.float64()),
)

RACE_RESULTS = columns(
    ("month", pa.string(), False),
    ("round", pa.int64(), False),
    ("role", pa.string(), False),
    ("rank", pa.int64()),
    ("package", pa.string(), False),
    ("actuary", pa.string(), False),
    ("block_height", pa.int64(), False),
    ("tx_index", pa.int32(), False),
    ("inscription_index", pa.int32(), False),
    ("outcome", pa.string()),
    ("valid", pa.bool_()),
    ("agrees", pa.bool_()),
    ("counts", pa.bool_()),
)

REWARDS = columns(
    ("month", pa.string(), False),
    ("round", pa.int64(), False),
    ("actuary", pa.string(), False),
    ("role", pa.string(), False),
    ("rank", pa.int64()),
    ("sats", pa.int64(), False),
    ("final", pa.bool_(), False),
)

PENALTIES = columns(
    ("month", pa.string(), False),
    ("round", pa.int64(), False),
    ("offence", pa.string(), False),
    ("actuary", pa.string(), False),
    ("height", pa.int64(), False),
    ("base", pa.int64(), False),
    ("slash", pa.int64(), False),
    ("detail", pa.string(), False),
)

REDISTRIBUTION = columns(
    ("month", pa.string(), False),
    ("user_id", pa.uint64(), False),
    ("sats", pa.int64(), False),
)

FORMULA_RUNS = columns(
    ("month", pa.string(), False),
    ("source", pa.string(), False),
    ("rows", pa.int64(), False),
    ("pool", pa.int64()),
    ("total_dreybits", pa.decimal128(38, 0)),
    ("overflow", pa.bool_()),
    ("module_ok", pa.bool_()),
    ("module_detail", pa.string()),
    ("reference_agrees", pa.bool_()),
)

FORMULA_INPUTS = columns(
    ("month", pa.string(), False),
    ("row_index", pa.int64(), False),
    ("user_id", pa.uint64(), False),
    ("sat_blocks", pa.decimal128(38, 0), False),
    ("age", pa.uint32(), False),
    ("dreybits", pa.uint64()),
)

ALLOCATIONS = columns(
    ("user_id", pa.uint64(), False),
    ("month", pa.string(), False),
    ("dreybits", pa.uint64(), False),
    ("row_hash", pa.string(), False),
    ("row_index", pa.int64(), False),
)

ALLOCATION_ROOTS = columns(
    ("month", pa.string(), False),
    ("rows", pa.int64(), False),
    ("root", pa.string(), False),
    ("commitment", pa.string(), False),
    ("accepted_root", pa.string()),
    ("matches", pa.bool_(), False),
)

MONTH_ROOTS = columns(
    ("month", pa.string(), False),
    ("outcome", pa.string(), False),
    ("accepted_round", pa.int64()),
    ("n_rows", pa.int64()),
    ("month_root", pa.string()),
    ("commitment", pa.string()),
    ("months_root", pa.string()),
    ("lead_round", pa.int64()),
    ("lead_month_root", pa.string()),
    ("lead_n_rows", pa.int64()),
    ("lead_months_root", pa.string()),
    ("lead_matches", pa.bool_()),
)

MONTHS_HISTORY = columns(
    ("month", pa.string(), False),
    ("leaf_index", pa.int64(), False),
    ("outcome", pa.string(), False),
    ("leaf", pa.string(), False),
    ("months_root", pa.string(), False),
)

# The month tree's nodes above the leaves (levels 1 … depth, the root at level depth) of each
# accepted month, an odd level below the root padded with its zero node: with the row hashes of
# `allocations` (level 0) they hold every row's sibling path (row_proof, sql/200_macros.sql).
MONTH_TREE_NODES = columns(
    ("month", pa.string(), False),
    ("level", pa.int32(), False),
    ("node_index", pa.int64(), False),
    ("hash", pa.string(), False),
)

# Each decided month's leaf in the latest months tree and its sibling path to that tree's root.
MONTHS_PATHS = columns(
    ("month", pa.string(), False),
    ("leaf_index", pa.int64(), False),
    ("leaf", pa.string(), False),
    ("path", pa.list_(pa.string()), False),
    ("months_root", pa.string(), False),
)

# The binding messages (§3) with the vault outputs of their transaction (assets/stakes.py).
_BINDING_TAIL = (
    ("status", pa.string(), False),
    ("reason", pa.string()),
    ("detail", pa.string(), False),
    ("vout", pa.int32()),
    ("value", pa.int64()),
    ("script_pubkey", pa.string()),
    ("spent_height", pa.int64()),
    ("spent_by", pa.string()),
)
STAKES = columns(*_POSITION, ("actuary", pa.string()), *_BINDING_TAIL)
PLANS = columns(*_POSITION, ("user_id", pa.uint64()), ("owner", pa.string()), *_BINDING_TAIL)

VERIFICATION = columns(
    ("month", pa.string()),
    ("round", pa.int64()),
    ("check_name", pa.string(), False),
    ("passed", pa.bool_(), False),
    ("detail", pa.string(), False),
    ("source", pa.string(), False),
)

BUILD_INFO = columns(
    ("built_at", pa.string(), False),
    ("tip_height", pa.int64()),
    ("tip_hash", pa.string()),
    ("evaluation_tip", pa.int64()),
    ("first_month", pa.string()),
    ("pending_month", pa.string()),
    ("carried_sats", pa.int64()),
    ("duckdb_version", pa.string(), False),
    ("storage_version", pa.string(), False),
)


def _registry(*tables: WarehouseTable) -> Mapping[str, WarehouseTable]:
    return MappingProxyType({t.name: t for t in tables})


TABLES: Mapping[str, WarehouseTable] = _registry(
    WarehouseTable("blocks", "chain", SHARD_SCHEMAS["blocks"]),
    WarehouseTable("vault_outputs", "chain", SHARD_SCHEMAS["vault_outputs"]),
    WarehouseTable("vault_spends", "chain", SHARD_SCHEMAS["vault_spends"]),
    WarehouseTable("inscriptions", "chain", SHARD_SCHEMAS["inscriptions"]),
    WarehouseTable("drey_messages", "chain", DREY_MESSAGES),
    WarehouseTable("quarantine", "chain", QUARANTINE),
    WarehouseTable("message_statuses", "chain", MESSAGE_STATUSES),
    WarehouseTable("stakes", "chain", STAKES),
    WarehouseTable("plans", "chain", PLANS),
    WarehouseTable("proof_systems", "chain", PROOF_SYSTEMS),
    WarehouseTable("months", "month", MONTHS),
    WarehouseTable("eligibility", "month", ELIGIBILITY),
    WarehouseTable("elections", "month", ELECTIONS),
    WarehouseTable("election_vrfs", "month", ELECTION_VRFS),
    WarehouseTable("election_weights", "month", ELECTION_WEIGHTS),
    WarehouseTable("packages", "month", PACKAGES),
    WarehouseTable("decryption_shares", "month", DECRYPTION_SHARES),
    WarehouseTable("reveals", "month", REVEALS),
    WarehouseTable("proofs", "month", PROOFS),
    WarehouseTable("formula_runs", "month", FORMULA_RUNS),
    WarehouseTable("formula_inputs", "month", FORMULA_INPUTS),
    WarehouseTable("allocations", "month", ALLOCATIONS),
    WarehouseTable("allocation_roots", "month", ALLOCATION_ROOTS),
    WarehouseTable("month_roots", "month", MONTH_ROOTS),
    WarehouseTable("months_history", "month", MONTHS_HISTORY),
    WarehouseTable("month_tree_nodes", "month", MONTH_TREE_NODES),
    WarehouseTable("months_paths", "chain", MONTHS_PATHS),
    WarehouseTable("race_results", "month", RACE_RESULTS),
    WarehouseTable("rewards", "month", REWARDS),
    WarehouseTable("penalties", "month", PENALTIES),
    WarehouseTable("redistribution", "month", REDISTRIBUTION),
    WarehouseTable("verification", "month", VERIFICATION),
    WarehouseTable("build_info", "build", BUILD_INFO),
)


def create_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Create schema ``data`` and every table of :data:`TABLES` in the current database;
    return the table names."""
    con.execute("CREATE SCHEMA IF NOT EXISTS data")
    for table in TABLES.values():
        con.execute(table.create_sql())
    return list(TABLES)
