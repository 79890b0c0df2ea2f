"""Core's REST endpoints (``src/rest.cpp``, doc/REST-interface.md) for the dev node.

Implemented: ``/rest/block/<hash>.<bin|hex|json>`` (JSON with prevouts, as Core ≥ 23),
``/rest/block/notxdetails/<hash>.<ext>``, ``/rest/headers/<hash>.<ext>?count=N`` and the
deprecated ``/rest/headers/<count>/<hash>.<ext>``, ``/rest/blockhashbyheight/<h>.<ext>``,
``/rest/chaininfo.json`` and ``/rest/tx/<txid>.<ext>`` (tx index). Replies use Core's content
types (``application/octet-stream``, ``text/plain`` with a trailing newline,
``application/json``) and errors (``text/plain``, message + CRLF). Not implemented (404, as an
unknown path): ``getutxos``, ``mempool``, ``blockfilter*``, ``deploymentinfo``, ``spenttxouts``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from btc.hashes import hash_to_hex
from devnet.node.render import block_to_json, dumps, header_to_json, tx_to_json

if TYPE_CHECKING:
    from devnet.node.server import DevNode

MAX_REST_HEADERS_RESULTS = 2000
Reply = tuple[int, str, bytes]

_FORMATS = ("bin", "hex", "json")


def _err(status: int, message: str) -> Reply:
    return status, "text/plain", (message + "\r\n").encode()


def _format(part: str) -> tuple[str, str]:
    """Core's ``ParseDataFormat``: strip the query, split off a known extension."""
    part = part.split("?", 1)[0]
    pos = part.rfind(".")
    if pos < 0:
        return part, ""
    suffix = part[pos + 1 :]
    return (part[:pos], suffix) if suffix in _FORMATS else (part, "")


def _not_available(formats: str = ".bin, .hex, .json") -> Reply:
    return _err(404, f"output format not found (available: {formats})")


def _parse_hash(text: str) -> bytes | None:
    if len(text) != 64:
        return None
    try:
        return bytes.fromhex(text)[::-1]
    except ValueError:
        return None


def handle(node: DevNode, path: str) -> Reply | None:
    """Reply for a ``/rest/...`` path, or ``None`` if no REST handler matches (HTTP 404)."""
    warm = node.warmup_status()
    routes = (
        ("/rest/tx/", _tx),
        ("/rest/block/notxdetails/", _block_notx),
        ("/rest/block/", _block),
        ("/rest/chaininfo", _chaininfo),
        ("/rest/headers/", _headers),
        ("/rest/blockhashbyheight/", _blockhash_by_height),
    )
    for prefix, fn in routes:
        if path.startswith(prefix):
            if warm is not None:
                return _err(503, f"Service temporarily unavailable: {warm}")
            return fn(node, path[len(prefix) :])
    return None


def _tx(node: DevNode, part: str) -> Reply:
    hash_str, fmt = _format(part)
    txid = _parse_hash(hash_str)
    if txid is None:
        return _err(400, f"Invalid hash: {hash_str}")
    found = node.chain.find_transaction(txid) if node.txindex else None
    if found is None:
        return _err(404, f"{hash_str} not found")
    tx, block_hash = found
    if fmt == "bin":
        return 200, "application/octet-stream", tx.serialize()
    if fmt == "hex":
        return 200, "text/plain", (tx.serialize().hex() + "\n").encode()
    if fmt == "json":
        obj = tx_to_json(tx)
        obj.pop("hex")
        obj["blockhash"] = hash_to_hex(block_hash)
        obj["hex"] = tx.serialize().hex()
        return 200, "application/json", (dumps(obj) + "\n").encode()
    return _not_available()


def _block_any(node: DevNode, part: str, details: bool) -> Reply:
    hash_str, fmt = _format(part)
    h = _parse_hash(hash_str)
    if h is None:
        return _err(400, f"Invalid hash: {hash_str}")
    rec = node.chain.record(h)
    if rec is None:
        return _err(404, f"{hash_str} not found")
    raw = node.chain.read_block(h)
    if fmt == "bin":
        return 200, "application/octet-stream", raw
    if fmt == "hex":
        return 200, "text/plain", (raw.hex() + "\n").encode()
    if fmt == "json":
        obj = block_to_json(node.chain, rec, raw, 3 if details else 1)
        return 200, "application/json", (dumps(obj) + "\n").encode()
    return _not_available()


def _block(node: DevNode, part: str) -> Reply:
    return _block_any(node, part, True)


def _block_notx(node: DevNode, part: str) -> Reply:
    return _block_any(node, part, False)


def _chaininfo(node: DevNode, part: str) -> Reply:
    _, fmt = _format(part)
    if fmt != "json":
        return _not_available("json")
    return 200, "application/json", (dumps(node.blockchaininfo()) + "\n").encode()


def _headers(node: DevNode, part: str) -> Reply:
    query = parse_qs(part.split("?", 1)[1]) if "?" in part else {}
    param, fmt = _format(part)
    path = param.split("/")
    if len(path) == 2:
        raw_count, hash_str = path
    elif len(path) == 1:
        hash_str = path[0]
        raw_count = query.get("count", ["5"])[0]
    else:
        return _err(400, "Invalid URI format. Expected /rest/headers/<hash>.<ext>?count=<count>")
    if not raw_count.isdigit() or not 1 <= int(raw_count) <= MAX_REST_HEADERS_RESULTS:
        return _err(
            400,
            f"Header count is invalid or out of acceptable range (1-{MAX_REST_HEADERS_RESULTS}): {raw_count}",
        )
    count = int(raw_count)
    h = _parse_hash(hash_str)
    if h is None:
        return _err(400, f"Invalid hash: {hash_str}")
    recs = []
    chain = node.chain
    rec = chain.record(h)
    while rec is not None and chain.in_active_chain(rec.hash) and len(recs) < count:
        recs.append(rec)
        nxt = chain.next_in_active_chain(rec.hash)
        rec = chain.record(nxt) if nxt is not None else None
    if fmt == "bin":
        return 200, "application/octet-stream", b"".join(r.header.serialize() for r in recs)
    if fmt == "hex":
        return (
            200,
            "text/plain",
            (b"".join(r.header.serialize() for r in recs).hex() + "\n").encode(),
        )
    if fmt == "json":
        return (
            200,
            "application/json",
            (dumps([header_to_json(chain, r) for r in recs]) + "\n").encode(),
        )
    return _not_available()


def _blockhash_by_height(node: DevNode, part: str) -> Reply:
    height_str, fmt = _format(part)
    if not height_str.isdigit() or int(height_str) > 0x7FFFFFFF:
        return _err(400, f"Invalid height: {height_str}")
    height = int(height_str)
    if height > node.chain.height:
        return _err(404, "Block height out of range")
    h = node.chain.hash_at(height)
    if fmt == "bin":
        return 200, "application/octet-stream", h
    if fmt == "hex":
        return 200, "text/plain", (hash_to_hex(h) + "\n").encode()
    if fmt == "json":
        return 200, "application/json", (dumps({"blockhash": hash_to_hex(h)}) + "\n").encode()
    return _not_available()
