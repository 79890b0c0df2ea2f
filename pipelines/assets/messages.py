"""Group ``drey_messages``: every Drey inscription parsed by :func:`drey.messages.parse_message`.

Selected: inscriptions whose metaprotocol, trimmed and lower-cased, starts with ``drey/``.
Exactly ``drey/1`` is a Drey message; the near misses (``DREY/1``, ``drey/1 ``, ``drey/2``)
are kept too and land in ``quarantine`` as ``bad_metaprotocol``, so nobody wonders where they
went. Each selected inscription is in exactly one of ``drey_messages`` (parsed) or
``quarantine`` (refused, with the parser's reason and detail): nothing is dropped.

Parsing is incremental. A selected row is known by its identity: its content key (id, content
type, encoding, metaprotocol, delegate, the body's and the metadata's SHA-256) and where it was
mined. A row whose identity the last run saw keeps that run's positioned message and table
row; only the others are parsed (their bodies are the only ones read) and added, so a new
block costs its own messages. A commit that changed no selected row (the digest of the key
columns, bodies excluded, is the one saved) rewrites nothing at all. The typed messages,
positioned where they were mined, are saved for the rules engine (state ``messages``).
"""

import hashlib
from collections.abc import Iterator
from typing import Any

import dagster as dg
import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from drey.messages import Quarantine, parse_message
from drey.rules import PositionedMessage
from pipelines.assets.catalog import materialized
from pipelines.assets.groups import CHAIN
from pipelines.convert import hexify, message_json, outpoint_bytes, to_table
from pipelines.derived import inputs_digest, kept_metadata, must_build, passed_before, record_check
from pipelines.settings import MESSAGES_STATE, Warehouse
from pipelines.store import Store
from pipelines.tables import DREY_MESSAGES, QUARANTINE

DREY_SELECTION = "lower(trim(metaprotocol)) like 'drey/%'"
PARSE_STATE = "parsed_from"
ROWS_STATE = "parsed_rows"  # each saved message's row identity, in the same order
_CHAIN_ORDER = ("block_height", "tx_index", "inscription_index")

# Every column the outputs depend on but the body (``body_sha256`` stands for it): what the
# selection digest covers and each row's identity is made of.
KEY_COLUMNS = [
    "id",
    "block_height",
    "block_hash",
    "tx_index",
    "number_in_tx",
    "txid",
    "first_input_prevout",
    "content_type",
    "content_type_raw",
    "content_encoding",
    "metaprotocol",
    "delegate_raw",
    "metadata",
    "body_sha256",
    "body_len",
]
_PLACE = ("block_height", "block_hash", "tx_index", "number_in_tx", "txid", "first_input_prevout")
Identity = tuple[Any, ...]


def _cache_key(row: dict[str, Any]) -> tuple[Any, ...]:
    """What the parsed message depends on (not where it was mined)."""
    meta = row["metadata"]
    return (
        row["id"],
        row["content_type_raw"],
        row["content_encoding"],
        row["metaprotocol"],
        row["delegate_raw"] is not None,
        row["body_sha256"],
        None if meta is None else hashlib.sha256(meta).digest(),
    )


def _identity(row: dict[str, Any]) -> Identity:
    """The content key and every column the tables and the positioned message carry."""
    return (
        _cache_key(row),
        *(row[c] for c in _PLACE),
        row["body_len"],
        row["content_type"],
    )


def _selection_digest(keys: pa.Table, founder: bytes | None) -> str:
    """A digest of everything the outputs depend on: the founder and the key columns of every
    selected row, in chain order. The rows go through Parquet, plain and uncompressed: its
    bytes follow from the values alone (not from how Arrow laid them out), and no row is
    turned into Python."""
    sink = pa.BufferOutputStream()
    pq.write_table(
        keys,
        sink,
        compression="none",
        use_dictionary=False,
        write_statistics=False,
        row_group_size=max(keys.num_rows, 1),
    )
    h = hashlib.sha256(founder or b"")
    h.update(sink.getvalue())
    return h.hexdigest()


def parse_rows(
    rows: list[dict[str, Any]],
    *,
    founder: bytes | None,
    cache: dict[tuple[Any, ...], Any],
    bodies: dict[str, bytes | None] | None = None,
    placed: dict[Identity, PositionedMessage] | None = None,
    identities: list[Identity] | None = None,
) -> tuple[list[PositionedMessage], int]:
    """The positioned message of each row: the one in ``placed`` for a known identity, else
    built around the cached parse of its content, else parsed (the body from ``bodies``, or
    the row's own); return them and how many were parsed afresh. ``identities``: the rows'
    own, when the caller has them."""
    out: list[PositionedMessage] = []
    fresh = 0
    for row, identity in zip(rows, identities or map(_identity, rows), strict=True):
        known = placed.get(identity) if placed else None
        if known is not None:
            out.append(known)
            continue
        key = identity[0]
        message = cache.get(key)
        if message is None:
            message = parse_message(
                content_type=row["content_type_raw"],
                content_encoding=row["content_encoding"],
                metaprotocol=row["metaprotocol"],
                delegate=row["delegate_raw"],
                body=bodies[row["id"]] if bodies is not None else row["body"],
                metadata=row["metadata"],
                founder=founder,
            )
            cache[key] = message
            fresh += 1
        out.append(_positioned(row, message))
    return out, fresh


def _positioned(row: dict[str, Any], message: Any) -> PositionedMessage:
    return PositionedMessage(
        height=row["block_height"],
        tx_index=row["tx_index"],
        inscription_index=row["number_in_tx"],
        inscription_id=row["id"],
        txid=bytes.fromhex(row["txid"])[::-1],
        first_input_prevout=outpoint_bytes(row["first_input_prevout"]),
        message=message,
    )


def message_tables(
    rows: list[dict[str, Any]], messages: list[PositionedMessage]
) -> tuple[pa.Table, pa.Table]:
    """The ``drey_messages`` and ``quarantine`` tables (same order as ``rows``)."""
    parsed: list[dict[str, Any]] = []
    refused: list[dict[str, Any]] = []
    for row, pm in zip(rows, messages, strict=True):
        base = {
            "id": row["id"],
            "block_height": row["block_height"],
            "block_hash": row["block_hash"],
            "tx_index": row["tx_index"],
            "inscription_index": row["number_in_tx"],
            "txid": row["txid"],
            "body_len": row["body_len"],
        }
        msg = pm.message
        if isinstance(msg, Quarantine):
            refused.append(
                {
                    **base,
                    "reason": msg.reason,
                    "detail": msg.detail,
                    "metaprotocol": row["metaprotocol"],
                    "content_type": row["content_type"],
                }
            )
            continue
        parsed.append(
            {
                **base,
                "kind": msg.KIND,
                "month": getattr(msg, "month", None) if msg.KIND != "params" else None,
                "round": getattr(msg, "round", None),
                "actuary": hexify(getattr(msg, "actuary", None)),
                "user_id": getattr(msg, "user_id", None),
                "fields": message_json(msg),
            }
        )
    return to_table(parsed, DREY_MESSAGES), to_table(refused, QUARANTINE)


@dg.multi_asset(
    group_name=CHAIN,
    outs={
        "drey_messages": dg.AssetOut(
            description="Every Drey inscription that parsed, with its kind and fields.",
            kinds={"parquet"},
        ),
        "quarantine": dg.AssetOut(
            description="Every Drey inscription the parser refused, with reason and detail.",
            kinds={"parquet"},
        ),
    },
    deps=["inscriptions"],
)
def parse_drey_messages(
    context: dg.AssetExecutionContext, warehouse: Warehouse
) -> Iterator[dg.MaterializeResult]:
    store = warehouse.store
    founder = (warehouse.founder_key or b"").hex()
    digest = inputs_digest([store.table_path("inscriptions")], extra=[founder])
    # Everything the step leaves: its tables, the saved messages and what they were parsed from.
    outputs = [
        store.segmented_index(MESSAGES_STATE),
        store.state_path(PARSE_STATE),
        *map(store.table_path, ("drey_messages", "quarantine")),
    ]
    if not must_build(context.run.job_name, store, "drey_messages", digest) and all(
        p.exists() for p in outputs
    ):
        # The same inscriptions table: not even the selection is read again.
        yield dg.MaterializeResult(
            asset_key="drey_messages",
            metadata={**kept_metadata(store, "drey_messages"), "parsed_afresh": 0},
        )
        yield dg.MaterializeResult(
            asset_key="quarantine", metadata=kept_metadata(store, "quarantine")
        )
        return
    keys = _read_drey_inscriptions(warehouse, KEY_COLUMNS)
    selection = _selection_digest(keys, warehouse.founder_key)
    # What the saved outputs were parsed from: the founder and the selection digest (each
    # row's identity, in the order of the saved messages, is the list ROWS_STATE).
    parsed_from = warehouse.state(PARSE_STATE, {})
    if parsed_from.get("selection") == selection and all(p.exists() for p in outputs):
        # The same inscriptions at the same places: the outputs would be rewritten identically.
        parsed, refused = store.read("drey_messages"), store.read("quarantine")
        fresh = 0
    else:
        parsed, refused, fresh = _parse_again(warehouse, keys, parsed_from, selection)
    store.record_built_from("drey_messages", digest)
    context.log.info(
        f"{keys.num_rows} Drey inscriptions: {parsed.num_rows} parsed, {refused.num_rows} "
        f"quarantined ({fresh} parsed afresh)"
    )
    selected = dg.MetadataValue.int(keys.num_rows)
    yield dg.MaterializeResult(
        asset_key="drey_messages",
        metadata={
            **materialized(parsed),
            "selected": selected,
            "parsed_afresh": fresh,
        },
    )
    yield dg.MaterializeResult(
        asset_key="quarantine",
        metadata={**materialized(refused), "selected": selected},
    )


def _parse_again(
    warehouse: Warehouse, keys: pa.Table, parsed_from: dict[str, Any], selection: str
) -> tuple[pa.Table, pa.Table, int]:
    """Parse the rows the saved outputs do not hold and write the outputs; return the tables
    and how many rows were parsed afresh."""
    store, founder = warehouse.store, warehouse.founder_key
    rows = keys.to_pylist()
    identities = [_identity(r) for r in rows]
    previous = warehouse.messages()
    saved_rows = warehouse.segmented(ROWS_STATE) if parsed_from else []
    placed = _saved_placements(warehouse, parsed_from, saved_rows, previous)
    # The parse cache is the saved messages under their content keys, not a second copy: a
    # row mined elsewhere (a reorg) keeps its parse, only its place is new.
    cache = {identity[0]: pm.message for identity, pm in placed.items()}
    unparsed = [r["id"] for r, i in zip(rows, identities, strict=True) if i[0] not in cache]
    bodies = _read_bodies(warehouse, unparsed)
    messages, fresh = parse_rows(
        rows, founder=founder, cache=cache, bodies=bodies, placed=placed, identities=identities
    )
    # Until the new identities are saved, nothing describes the outputs: a crash in between
    # costs a full parse, never outputs misaligned with the saved rows.
    warehouse.drop_state(PARSE_STATE)
    warehouse.save_segmented(ROWS_STATE, identities, kept=_common_prefix(identities, saved_rows))
    warehouse.save_segmented(MESSAGES_STATE, messages, kept=_common_prefix(messages, previous))
    parsed, refused = _tables(store, rows, identities, messages, placed)
    store.write("drey_messages", parsed)
    store.write("quarantine", refused)
    warehouse.save_state(PARSE_STATE, {"founder": founder, "selection": selection})
    return parsed, refused, fresh


def _saved_placements(
    warehouse: Warehouse,
    parsed_from: dict[str, Any],
    saved: list[Identity],
    previous: list[PositionedMessage],
) -> dict[Identity, PositionedMessage]:
    """The saved positioned messages by row identity (none when they were parsed for another
    founder, or do not line up with the saved identities)."""
    if parsed_from.get("founder") != warehouse.founder_key or not saved:
        return {}
    if len(previous) != len(saved):
        return {}
    return dict(zip(saved, previous, strict=True))


def _common_prefix(items: list[Any], saved: list[Any]) -> int:
    """How many leading items are the saved ones (the same objects, or equal)."""
    n = 0
    for new, old in zip(items, saved, strict=False):
        if new is not old and new != old:
            break
        n += 1
    return n


def _tables(
    store: Store,
    rows: list[dict[str, Any]],
    identities: list[Identity],
    messages: list[PositionedMessage],
    placed: dict[Identity, PositionedMessage],
) -> tuple[pa.Table, pa.Table]:
    """The output tables: the saved rows of every known identity and the new rows' own, in
    chain order (the same tables :func:`message_tables` makes from every row)."""
    saved = [store.table_path(t) for t in ("drey_messages", "quarantine")]
    if not placed or not all(p.exists() for p in saved):
        return message_tables(rows, messages)
    known = [i in placed for i in identities]
    added = message_tables(
        [r for r, k in zip(rows, known, strict=True) if not k],
        [pm for pm, k in zip(messages, known, strict=True) if not k],
    )
    kept = pa.array([r["id"] for r, k in zip(rows, known, strict=True) if k], pa.string())
    out = []
    for path, new in zip(saved, added, strict=True):
        old = pq.read_table(path).cast(new.schema)
        both = pa.concat_tables([old.filter(pc.is_in(old.column("id"), value_set=kept)), new])
        out.append(both.sort_by([(c, "ascending") for c in _CHAIN_ORDER]))
    return out[0], out[1]


def _read_bodies(warehouse: Warehouse, ids: list[str]) -> dict[str, bytes | None]:
    """The bodies of the selected inscriptions ``ids`` (the only bodies a run reads)."""
    if not ids:
        return {}
    con = duckdb.connect()
    try:
        found = con.sql(
            f"select id, body from read_parquet($path) where {DREY_SELECTION} "
            "and id in (select unnest($ids))",
            params={"path": str(warehouse.store.table_path("inscriptions")), "ids": ids},
        ).fetchall()
    finally:
        con.close()
    return dict(found)


def _read_drey_inscriptions(warehouse: Warehouse, columns: list[str]) -> pa.Table:
    path = warehouse.store.table_path("inscriptions")
    con = duckdb.connect()
    try:
        return con.sql(
            f"select {', '.join(columns)} from read_parquet($path) where {DREY_SELECTION} "
            "order by block_height, tx_index, number_in_tx",
            params={"path": str(path)},
        ).to_arrow_table()
    finally:
        con.close()


@dg.asset_check(asset="drey_messages", blocking=True, additional_deps=["quarantine"])
def nothing_dropped(
    context: dg.AssetCheckExecutionContext, warehouse: Warehouse
) -> dg.AssetCheckResult:
    """Every selected Drey inscription is in exactly one of drey_messages or quarantine."""
    store = warehouse.store
    digest = inputs_digest(map(store.table_path, ("inscriptions", "drey_messages", "quarantine")))
    job = context.run.job_name
    if (before := passed_before(job, store, "nothing_dropped", digest)) is not None:
        return before
    result = _nothing_dropped(warehouse)
    record_check(store, "nothing_dropped", digest, result)
    return result


def _nothing_dropped(warehouse: Warehouse) -> dg.AssetCheckResult:
    selected = set(_read_drey_inscriptions(warehouse, ["id"]).column("id").to_pylist())
    parsed = warehouse.store.read("drey_messages").column("id").to_pylist()
    refused = warehouse.store.read("quarantine").column("id").to_pylist()
    both = set(parsed) & set(refused)
    missing = selected - set(parsed) - set(refused)
    extra = (set(parsed) | set(refused)) - selected
    repeated = len(parsed) + len(refused) - len(set(parsed) | set(refused))
    return dg.AssetCheckResult(
        passed=not (both or missing or extra or repeated),
        metadata={
            "selected": len(selected),
            "parsed": len(parsed),
            "quarantined": len(refused),
            "missing": dg.MetadataValue.json(sorted(missing)[:20]),
            "in_both": dg.MetadataValue.json(sorted(both)[:20]),
            "unexpected": dg.MetadataValue.json(sorted(extra)[:20]),
            "repeated": repeated,
        },
    )
