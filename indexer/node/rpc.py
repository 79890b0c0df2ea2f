"""A JSON-RPC client for Bitcoin Core (and the devnet's dev node, which serves the same API).

Why not python-bitcoinrpc's ``AuthServiceProxy``: its credentials are fixed at construction
(no cookie re-read after bitcoind restarts), its batch call assumes every reply carries an
``error`` key (JSON-RPC 2.0 replies from Core omit it) and raises on the first failing call,
ids come from a class-wide counter, and HTTP 503/401 surface as a generic code -342. This
client is a thin layer over ``http.client`` with a persistent connection.

- Auth: user/password, or Core's cookie file (``__cookie__:<hex>``, ``<datadir>/<net>/.cookie``),
  read lazily and re-read once after an HTTP 401 (bitcoind writes a new cookie at each start).
- Requests are JSON-RPC 2.0 by default (Core ≥ 28 answers them with HTTP 200 and either
  ``result`` or ``error``); ``jsonrpc="1.0"`` sends legacy requests (errors come with HTTP 500,
  or 404 for an unknown method).
- ``batch`` sends one HTTP request and returns one :class:`RPCReply` per call, in call order,
  each holding a result or its own :class:`RPCError`.
- Amounts are parsed as ``Decimal`` (Core prints exactly 8 decimals).

Thread-safe (one connection, serialised by a lock); open one client per thread for parallelism.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

from indexer.node.errors import (
    NodeAuthError,
    NodeForbiddenError,
    NodeProtocolError,
    RPCError,
    WorkQueueFullError,
    rpc_error,
)
from indexer.node.http import KeepAliveConnection, parse_http_url

DEFAULT_PORTS = {"main": 8332, "test": 18332, "testnet4": 48332, "signet": 38332, "regtest": 18443}
_NET_DIRS = {
    "main": "",
    "test": "testnet3",
    "testnet4": "testnet4",
    "signet": "signet",
    "regtest": "regtest",
}

_T = TypeVar("_T")


def cookie_path(datadir: str | Path, chain: str = "regtest") -> Path:
    """Where bitcoind writes its auth cookie for ``chain``."""
    if chain not in _NET_DIRS:
        raise ValueError(f"unknown chain {chain!r}")
    return Path(datadir) / _NET_DIRS[chain] / ".cookie"


@dataclass(frozen=True, slots=True)
class RPCReply:
    """One call's outcome in a batch."""

    method: str
    result: Any = None
    error: RPCError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def value(self) -> Any:
        """The result, or raise the call's error."""
        if self.error is not None:
            raise self.error
        return self.result


class RPCClient:
    """JSON-RPC over HTTP to ``url`` (``http://host:port[/path]``).

    Give ``user``/``password`` or ``cookie_file`` (or credentials in the URL).
    """

    def __init__(
        self,
        url: str,
        *,
        user: str | None = None,
        password: str | None = None,
        cookie_file: str | Path | None = None,
        timeout: float = 30.0,
        jsonrpc: Literal["1.0", "2.0"] = "2.0",
    ) -> None:
        parts = urlsplit(url)
        self._host, self._port, self._path = parse_http_url(url, what="RPC")
        self._user = user if user is not None else parts.username
        self._password = password if password is not None else parts.password
        self._cookie_file = Path(cookie_file) if cookie_file is not None else None
        if self._cookie_file is None and (self._user is None or self._password is None):
            raise ValueError("RPCClient needs user and password, or a cookie file")
        self._jsonrpc = jsonrpc
        self._auth: str | None = None
        self._http = KeepAliveConnection(self._host, self._port, timeout=timeout)
        self._lock = threading.Lock()
        self._next_id = 0

    @classmethod
    def for_datadir(
        cls,
        datadir: str | Path,
        *,
        chain: str = "regtest",
        host: str = "127.0.0.1",
        port: int | None = None,
        **kwargs: Any,
    ) -> RPCClient:
        """Cookie-authenticated client for a node running on ``datadir``."""
        port = port if port is not None else DEFAULT_PORTS[chain]
        return cls(f"http://{host}:{port}/", cookie_file=cookie_path(datadir, chain), **kwargs)

    # -- calls --------------------------------------------------------------------------------
    def call(self, method: str, *params: Any, **named: Any) -> Any:
        """Call ``method`` with positional or named parameters; raise its error if any."""
        if params and named:
            raise ValueError("use positional or named parameters, not both")
        with self._lock:
            request_id = self._take_id()
            payload = self._request(method, named if named else list(params), request_id)
            status, reply = self._post(json.dumps(payload))
        if not isinstance(reply, dict):
            raise NodeProtocolError(f"{method}: expected a JSON object, got {type(reply).__name__}")
        return _unwrap(method, reply, status)

    def batch(self, calls: Sequence[tuple[str, Sequence[Any]] | tuple[str]]) -> list[RPCReply]:
        """Send ``[(method, params), ...]`` as one batch; replies come back in call order."""
        if not calls:
            return []
        with self._lock:
            ids = []
            body = []
            for call in calls:
                method = call[0]
                params = list(call[1]) if len(call) > 1 else []
                request_id = self._take_id()
                ids.append(request_id)
                body.append(self._request(method, params, request_id))
            _status, reply = self._post(json.dumps(body))
        if isinstance(reply, dict) and "error" in reply and reply["error"] is not None:
            # A batch-level failure (e.g. the whole body did not parse).
            err = reply["error"]
            raise rpc_error(int(err.get("code", 0)), str(err.get("message", "")), method="batch")
        if not isinstance(reply, list):
            raise NodeProtocolError(f"batch: expected a JSON array, got {type(reply).__name__}")
        by_id: dict[Any, dict[str, Any]] = {}
        for item in reply:
            if isinstance(item, dict) and "id" in item:
                by_id[item["id"]] = item
        out = []
        for call, request_id in zip(calls, ids, strict=True):
            item = by_id.get(request_id)
            if item is None:
                raise NodeProtocolError(f"batch: no reply for call {call[0]} (id {request_id})")
            err = item.get("error")
            if err is not None:
                out.append(
                    RPCReply(
                        call[0],
                        error=rpc_error(
                            int(err.get("code", 0)), str(err.get("message", "")), method=call[0]
                        ),
                    )
                )
            elif "result" not in item:
                raise NodeProtocolError(f"batch: reply for {call[0]} has neither result nor error")
            else:
                out.append(RPCReply(call[0], result=item["result"]))
        return out

    # -- Core methods the follower uses -------------------------------------------------------
    def getblockchaininfo(self) -> dict[str, Any]:
        return _typed("getblockchaininfo", self.call("getblockchaininfo"), dict)

    def getblockcount(self) -> int:
        return _typed("getblockcount", self.call("getblockcount"), int)

    def getbestblockhash(self) -> str:
        return _typed("getbestblockhash", self.call("getbestblockhash"), str)

    def getblockhash(self, height: int) -> str:
        return _typed("getblockhash", self.call("getblockhash", height), str)

    def getblockheader(self, blockhash: str, verbose: bool = True) -> Any:
        return self.call("getblockheader", blockhash, verbose)

    def getblock(self, blockhash: str, verbosity: int = 1) -> Any:
        return self.call("getblock", blockhash, verbosity)

    def getblock_raw(self, blockhash: str) -> bytes:
        """The serialized block (``getblock <hash> 0``)."""
        return bytes.fromhex(_typed("getblock", self.call("getblock", blockhash, 0), str))

    def getrawtransaction(self, txid: str, verbosity: int = 0, blockhash: str | None = None) -> Any:
        if blockhash is None:
            return self.call("getrawtransaction", txid, verbosity)
        return self.call("getrawtransaction", txid, verbosity, blockhash)

    def getchaintips(self) -> list[dict[str, Any]]:
        return _typed("getchaintips", self.call("getchaintips"), list)

    def getzmqnotifications(self) -> list[dict[str, Any]]:
        return _typed("getzmqnotifications", self.call("getzmqnotifications"), list)

    def submitblock(self, block_hex: str) -> str | None:
        result = self.call("submitblock", block_hex)
        return None if result is None else _typed("submitblock", result, str)

    def close(self) -> None:
        with self._lock:
            self._http.close()

    def __enter__(self) -> RPCClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport ----------------------------------------------------------------------------
    def _take_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _request(self, method: str, params: Any, request_id: int) -> dict[str, Any]:
        if self._jsonrpc == "2.0":
            return {"jsonrpc": "2.0", "method": method, "params": params, "id": request_id}
        return {"method": method, "params": params, "id": request_id}

    def _auth_header(self, *, reload: bool = False) -> str:
        """Basic auth from user/password, else from the cookie file (re-read on ``reload``)."""
        if self._auth is None or reload:
            if self._user is not None and self._password is not None:
                pair = f"{self._user}:{self._password}"
            else:
                assert self._cookie_file is not None
                try:
                    pair = self._cookie_file.read_text().strip()
                except OSError as exc:
                    raise NodeAuthError(
                        f"cannot read RPC cookie {self._cookie_file}: {exc}"
                    ) from None
            self._auth = "Basic " + base64.b64encode(pair.encode()).decode()
        return self._auth

    def _post(self, body: str) -> tuple[int, Any]:
        status, ctype, data = self._send(body, self._auth_header())
        if status == 401 and self._cookie_file is not None and self._password is None:
            # bitcoind writes a new cookie at every start: re-read it once.
            status, ctype, data = self._send(body, self._auth_header(reload=True))
        if status == 401:
            raise NodeAuthError(f"RPC credentials refused by {self._host}:{self._port}")
        if status == 403:
            raise NodeForbiddenError(f"RPC call forbidden by {self._host}:{self._port}")
        if status == 503:
            raise WorkQueueFullError(
                f"{self._host}:{self._port} is overloaded: {data.decode(errors='replace').strip()}"
            )
        if status == 204:
            return status, None
        if not ctype.startswith("application/json"):
            raise NodeProtocolError(
                f"HTTP {status} with non-JSON body from {self._host}:{self._port}: "
                f"{data[:200].decode(errors='replace')!r}"
            )
        try:
            return status, json.loads(data, parse_float=Decimal)
        except ValueError as exc:
            raise NodeProtocolError(f"invalid JSON from the node: {exc}") from None

    def _send(self, body: str, auth: str) -> tuple[int, str, bytes]:
        headers = {
            "Authorization": auth,
            "Content-Type": "application/json",
            "User-Agent": "indexer-node/1",
        }
        return self._http.request("POST", self._path, body=body.encode(), headers=headers)


def _unwrap(method: str, reply: dict[str, Any], status: int) -> Any:
    err = reply.get("error")
    if err is not None:
        if not isinstance(err, dict):
            raise NodeProtocolError(f"{method}: malformed error object {err!r}")
        raise rpc_error(int(err.get("code", 0)), str(err.get("message", "")), method=method)
    if "result" not in reply:
        raise NodeProtocolError(f"{method}: reply without result (HTTP {status})")
    return reply["result"]


def _typed(method: str, value: Any, kind: type[_T]) -> _T:
    """``value`` if the node replied with the JSON type ``method`` promises, else a
    :class:`NodeProtocolError` (a node, or something posing as one, may reply anything)."""
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise NodeProtocolError(
            f"{method}: expected a JSON {kind.__name__}, got {type(value).__name__}"
        )
    return value
