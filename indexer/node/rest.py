"""A client for Bitcoin Core's unauthenticated REST interface (``-rest``, doc/REST-interface.md).

Binary endpoints are preferred (no hex or JSON overhead): ``/rest/block/<hash>.bin``,
``/rest/headers/<hash>.bin?count=N`` (Core ≥ 24; ``legacy_path=True`` uses the deprecated
``/rest/headers/<N>/<hash>.bin``), ``/rest/blockhashbyheight/<h>.bin``. ``chaininfo`` is JSON
only. Error statuses map to :class:`RESTNotFoundError` (404), :class:`RESTBadRequestError`
(400) and :class:`RESTUnavailableError` (503, warm-up); the body is Core's plain-text reason.

Hashes are taken and returned as display hex (the RPC convention); ``.bin`` block hashes are
internal byte order on the wire and converted here.
"""

from __future__ import annotations

import json
import threading
from decimal import Decimal
from typing import Any

from btc import BlockHeader, hash_to_hex
from btc.block import HEADER_SIZE
from indexer.node.errors import (
    NodeProtocolError,
    RESTBadRequestError,
    RESTError,
    RESTNotFoundError,
    RESTUnavailableError,
)
from indexer.node.http import KeepAliveConnection, parse_http_url


class RESTClient:
    """REST over HTTP to ``base_url`` (``http://host:port``, the RPC port)."""

    def __init__(self, base_url: str, *, timeout: float = 30.0) -> None:
        host, port, _ = parse_http_url(base_url, what="REST")
        self._http = KeepAliveConnection(host, port, timeout=timeout)
        self._lock = threading.Lock()

    def block(self, blockhash: str) -> bytes:
        """The serialized block."""
        return self.get(f"/rest/block/{blockhash}.bin")

    def block_hex(self, blockhash: str) -> str:
        return self.get(f"/rest/block/{blockhash}.hex").decode().strip()

    def block_json(self, blockhash: str, *, tx_details: bool = True) -> dict[str, Any]:
        path = "block" if tx_details else "block/notxdetails"
        return self._json(f"/rest/{path}/{blockhash}.json")

    def headers(
        self, blockhash: str, count: int = 5, *, legacy_path: bool = False
    ) -> list[BlockHeader]:
        """Up to ``count`` active-chain headers starting at ``blockhash`` (empty when the block
        is unknown or not in the active chain, as Core answers)."""
        path = (
            f"/rest/headers/{count}/{blockhash}.bin"
            if legacy_path
            else f"/rest/headers/{blockhash}.bin?count={count}"
        )
        data = self.get(path)
        if len(data) % HEADER_SIZE:
            raise NodeProtocolError(
                f"REST headers: {len(data)} bytes is not a multiple of {HEADER_SIZE}"
            )
        return [BlockHeader.deserialize(data, i) for i in range(0, len(data), HEADER_SIZE)]

    def blockhash_by_height(self, height: int) -> str:
        """Display hex of the active block at ``height`` (from the ``.bin`` form)."""
        data = self.get(f"/rest/blockhashbyheight/{height}.bin")
        if len(data) != 32:
            raise NodeProtocolError(f"REST blockhashbyheight: expected 32 bytes, got {len(data)}")
        return hash_to_hex(data)

    def blockhash_by_height_hex(self, height: int) -> str:
        return self.get(f"/rest/blockhashbyheight/{height}.hex").decode().strip()

    def chaininfo(self) -> dict[str, Any]:
        return self._json("/rest/chaininfo.json")

    def tx(self, txid: str) -> bytes:
        return self.get(f"/rest/tx/{txid}.bin")

    def close(self) -> None:
        with self._lock:
            self._http.close()

    def __enter__(self) -> RESTClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport ----------------------------------------------------------------------------
    def _json(self, path: str) -> dict[str, Any]:
        """The JSON object at ``path`` (every REST ``.json`` reply the follower reads is one)."""
        try:
            value = json.loads(self.get(path), parse_float=Decimal)
        except ValueError as exc:
            raise NodeProtocolError(f"REST {path}: invalid JSON: {exc}") from None
        if not isinstance(value, dict):
            raise NodeProtocolError(
                f"REST {path}: expected a JSON object, got {type(value).__name__}"
            )
        return value

    def get(self, path: str) -> bytes:
        """GET ``path``; the body on 200, a :class:`RESTError` otherwise."""
        with self._lock:
            status, _, body = self._http.request("GET", path, headers={})
        if status == 200:
            return body
        text = body.decode(errors="replace")
        cls = {404: RESTNotFoundError, 400: RESTBadRequestError, 503: RESTUnavailableError}.get(
            status, RESTError
        )
        raise cls(status, text, path=path)
