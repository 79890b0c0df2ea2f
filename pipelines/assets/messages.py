"""Group ``drey_messages``: every Drey inscription parsed by :func:`drey.messages.parse_message`.

Selected: inscriptions whose metaprotocol, trimmed and lower-cased, starts with ``drey/``.
Exactly ``drey/1`` is a Drey message; the near misses (``DREY/1``, ``drey/1 ``, ``drey/2``)
are kept too and land in ``quarantine`` as ``bad_metaprotocol``, so nobody wonders where they
went. Each selected inscription is in exactly one of ``drey_messages`` (parsed) or
``quarantine`` (refused, with the parser's reason and detail): nothing is dropped.

Parsing is cached across runs by inscription id and content digest (the saved messages
under their content keys), so a new block costs only its own messages; a commit that changed no Drey inscription (nor where one was mined)
rewrites nothing at all. The typed messages, positioned where they were mined, are saved for
the rules engine (state ``messages``).
"""

import hashlib
from collections.abc import Iterator
from typing import Any

import dagster as dg
import duckdb
import pyarrow as pa

from drey.messages import Quarantine, parse_message
from drey.rules import PositionedMessage
from pipelines.assets.catalog import materialized
from pipelines.assets.groups import CHAIN
from pipelines.convert import hexify, message_json, outpoint_bytes, to_table
from pipelines.settings import MESSAGES_STATE, Warehouse
from pipelines.tables import DREY_MESSAGES, QUARANTINE

DREY_SELECTION = "lower(trim(metaprotocol)) like 'drey/%'"
PARSE_STATE = "parsed_from"

_COLUMNS = [
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
    "body",
    "body_len",
]


def _cache_key(row: dict[str, Any]) -> tuple[Any, ...]:
    meta = row["metadata"]
    return (
        row["id"],
        row["content_type_raw"],
        row["content_encoding"],
        row["metaprotocol"],
        row["delegate_raw"] is not None,
        None if row["body"] is None else hashlib.sha256(row["body"]).digest(),
        None if meta is None else hashlib.sha256(meta).digest(),
    )


def _selection_digest(
    rows: list[dict[str, Any]], keys: list[tuple[Any, ...]], founder: bytes | None
) -> str:
    """A digest of everything the outputs depend on: the founder, and per selected row its
    content key and every positional column the tables and the positioned messages carry."""
    h = hashlib.sha256(founder or b"")
    positional = ("block_height", "block_hash", "tx_index", "number_in_tx", "txid")
    more = ("first_input_prevout", "body_len", "content_type")
    for row, key in zip(rows, keys, strict=True):
        h.update(repr((key, *(row[c] for c in positional), *(row[c] for c in more))).encode())
    return h.hexdigest()


def parse_rows(
    rows: list[dict[str, Any]], *, founder: bytes | None, cache: dict[tuple[Any, ...], Any]
) -> tuple[list[PositionedMessage], int]:
    """Parse each inscription row (cached); return the positioned messages and how many
    were parsed afresh."""
    out: list[PositionedMessage] = []
    fresh = 0
    for row in rows:
        key = _cache_key(row)
        message = cache.get(key)
        if message is None:
            message = parse_message(
                content_type=row["content_type_raw"],
                content_encoding=row["content_encoding"],
                metaprotocol=row["metaprotocol"],
                delegate=row["delegate_raw"],
                body=row["body"],
                metadata=row["metadata"],
                founder=founder,
            )
            cache[key] = message
            fresh += 1
        out.append(
            PositionedMessage(
                height=row["block_height"],
                tx_index=row["tx_index"],
                inscription_index=row["number_in_tx"],
                inscription_id=row["id"],
                txid=bytes.fromhex(row["txid"])[::-1],
                first_input_prevout=outpoint_bytes(row["first_input_prevout"]),
                message=message,
            )
        )
    return out, fresh


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
    founder = warehouse.founder_key
    insc = _read_drey_inscriptions(warehouse)
    rows = insc.to_pylist()
    keys = [_cache_key(r) for r in rows]
    selection = _selection_digest(rows, keys, founder)
    # What the saved outputs were parsed from: the founder, each message's content key (in
    # the order of the saved messages) and the selection digest.
    parsed_from = warehouse.state(PARSE_STATE, {})
    outputs = [
        store.state_path(MESSAGES_STATE),
        *map(store.table_path, ("drey_messages", "quarantine")),
    ]
    if parsed_from.get("selection") == selection and all(p.exists() for p in outputs):
        # The same inscriptions at the same places: the outputs would be rewritten identically.
        parsed = store.read("drey_messages")
        refused = store.read("quarantine")
        fresh = 0
    else:
        # The parse cache is the saved messages under their content keys, not a second copy.
        cache: dict[tuple[Any, ...], Any] = {}
        old_keys = parsed_from.get("keys", [])
        if parsed_from.get("founder") == founder and old_keys:
            previous = warehouse.state(MESSAGES_STATE, [])
            if len(previous) == len(old_keys):
                cache = {k: pm.message for k, pm in zip(old_keys, previous, strict=True)}
        messages, fresh = parse_rows(rows, founder=founder, cache=cache)
        # Until the new keys are saved, no keys describe the outputs: a crash in between
        # costs a full parse, never a cache misaligned with the messages.
        warehouse.drop_state(PARSE_STATE)
        warehouse.save_state(MESSAGES_STATE, messages)
        parsed, refused = message_tables(rows, messages)
        store.write("drey_messages", parsed)
        store.write("quarantine", refused)
        warehouse.save_state(
            PARSE_STATE, {"founder": founder, "keys": keys, "selection": selection}
        )
    context.log.info(
        f"{len(rows)} Drey inscriptions: {parsed.num_rows} parsed, {refused.num_rows} "
        f"quarantined ({fresh} parsed afresh)"
    )
    selected = dg.MetadataValue.int(len(rows))
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


def _read_drey_inscriptions(warehouse: Warehouse, columns: list[str] = _COLUMNS) -> pa.Table:
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
def nothing_dropped(warehouse: Warehouse) -> dg.AssetCheckResult:
    """Every selected Drey inscription is in exactly one of drey_messages or quarantine."""
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
