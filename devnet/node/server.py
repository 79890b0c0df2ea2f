"""The dev node: a devnet :class:`~devnet.chain.Chain` served the way bitcoind serves a chain.

JSON-RPC follows Core's ``httprpc.cpp``/``request.cpp`` (Core ≥ 28):

- POST only (``405 JSONRPC server handles only POST requests``), on ``/`` and ``/wallet/...``;
- HTTP Basic auth with the cookie ``__cookie__:<64 hex>`` written to ``<datadir>/regtest/.cookie``
  (mode 0600, deleted on shutdown) unless ``rpc_password`` is given, plus ``rpc_user``/
  ``rpc_password``; a missing header is 401 at once, a wrong one 401 after 250 ms (Core's
  brute-force deterrent), both with ``WWW-Authenticate: Basic realm="jsonrpc"``;
- a request without ``"jsonrpc"`` or with ``"1.0"`` gets ``{"result","error","id"}`` and, on
  error, HTTP 500 (404 for -32601, 400 for -32600); ``"2.0"`` gets ``{"jsonrpc","result"|"error",
  "id"}`` with HTTP 200, and a 2.0 request without ``id`` (a notification) gets 204;
- batches are always HTTP 200 (204 if every element is a notification);
- parse failures are -32700 "Parse error" (HTTP 500);
- ``warmup`` makes every call fail with -28 and the warm-up status (REST: 503);
- at most ``rpc_threads + rpc_work_queue`` requests in flight; beyond that HTTP 503
  "Work queue depth exceeded" (Core's ``-rpcthreads``/``-rpcworkqueue``).

REST (``rest=True``) is in :mod:`devnet.node.rest`; ZMQ in :mod:`devnet.node.zmqpub`.
"""

from __future__ import annotations

import base64
import contextlib
import hmac
import json
import os
import secrets
import signal
import socket
import threading
import time
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from btc import Transaction
from btc.rpc_codes import (
    RPC_IN_WARMUP,
    RPC_INVALID_REQUEST,
    RPC_METHOD_NOT_FOUND,
    RPC_MISC_ERROR,
    RPC_PARSE_ERROR,
)
from devnet.chain import Chain
from devnet.errors import NodeServeError
from devnet.node import rest
from devnet.node.methods import JSONRPCError, Methods
from devnet.node.render import Double, difficulty, dumps, target_hex
from devnet.node.zmqpub import NotifierConfig, ZMQPublisher

COOKIE_USER = "__cookie__"
# Core's HTTP server limit on a request body (MAX_SIZE, 32 MiB).
MAX_BODY_BYTES = 0x02000000
IDLE_TIMEOUT = 30.0
REGTEST_RPC_PORT = 18443
WWW_AUTH = 'Basic realm="jsonrpc"'
DEFAULT_RPC_THREADS = 16
DEFAULT_RPC_WORK_QUEUE = 64
WARMUP_LOADING = "Loading block index…"


class DevNode:
    """Serve ``chain`` over JSON-RPC (and REST, ZMQ). ``rpc_port=0`` picks a free port."""

    def __init__(
        self,
        chain: Chain,
        *,
        rpc_bind: str = "127.0.0.1",
        rpc_port: int = REGTEST_RPC_PORT,
        rpc_user: str | None = None,
        rpc_password: str | None = None,
        rest: bool = False,
        zmq: Sequence[NotifierConfig] = (),
        txindex: bool = True,
        warmup: str | None = None,
        rpc_threads: int = DEFAULT_RPC_THREADS,
        rpc_work_queue: int = DEFAULT_RPC_WORK_QUEUE,
        auth_failure_delay: float = 0.25,
    ) -> None:
        if (rpc_user is None) != (rpc_password is None):
            raise NodeServeError("give both rpc_user and rpc_password, or neither")
        self.chain = chain
        self.rest = rest
        self.txindex = txindex
        self._bind = rpc_bind
        self._port = rpc_port
        self._user = rpc_user
        self._password = rpc_password
        self._zmq_configs = list(zmq)
        self._warmup = warmup
        self._warmup_lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max(1, rpc_threads + rpc_work_queue))
        self._auth_delay = auth_failure_delay
        self._credentials: list[str] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._publisher: ZMQPublisher | None = None
        self._stop_requested = threading.Event()
        self._held: list[Transaction] = []
        self.methods = Methods(self)

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        if self._zmq_configs:
            self._publisher = ZMQPublisher(self._zmq_configs)
            self.chain.add_listener(self._publisher)
        try:
            self._server = _Server((self._bind, self._port), _Handler)
        except OSError as exc:
            self._close_publisher()
            raise NodeServeError(f"cannot bind RPC to {self._bind}:{self._port}: {exc}") from None
        self._server.node = self  # type: ignore[attr-defined]
        self._credentials = []
        if self._password is None:
            cookie = f"{COOKIE_USER}:{secrets.token_hex(32)}"
            write_cookie(self.chain.datadir.cookie_file, cookie)
            self._credentials.append(cookie)
        else:
            self._credentials.append(f"{self._user}:{self._password}")
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="devnet-rpc", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._password is None:
            with contextlib.suppress(FileNotFoundError):
                self.chain.datadir.cookie_file.unlink()
        self._close_publisher()

    def _close_publisher(self) -> None:
        if self._publisher is not None:
            if not self.chain.closed:
                self.chain.remove_listener(self._publisher)
            self._publisher.close()
            self._publisher = None

    def __enter__(self) -> DevNode:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Block until SIGINT/SIGTERM or the ``stop`` RPC (for the CLI)."""

        def handler(signum: int, frame: object) -> None:
            self._stop_requested.set()

        old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            while not self._stop_requested.wait(0.5):
                pass
        finally:
            for s, h in old.items():
                signal.signal(s, h)

    def request_stop(self) -> None:
        self._stop_requested.set()

    # -- addresses ------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._server is None:
            raise NodeServeError("dev node is not running")
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self._bind}:{self.port}/"

    def zmq_endpoints(self) -> dict[str, str]:
        """Configured ZMQ address → bound endpoint (``tcp://127.0.0.1:0`` resolves its port)."""
        return self._publisher.endpoints() if self._publisher is not None else {}

    # -- state used by methods --------------------------------------------------------------------
    def set_warmup(self, status: str | None) -> None:
        """``None`` ends the warm-up; a string makes every RPC fail with -28 and that status."""
        with self._warmup_lock:
            self._warmup = status

    def warmup_status(self) -> str | None:
        with self._warmup_lock:
            return self._warmup

    def zmq_notifications(self) -> list[dict[str, Any]]:
        return self._publisher.notifications() if self._publisher is not None else []

    def blockchaininfo(self) -> dict[str, Any]:
        """Core 30's ``getblockchaininfo`` keys, in order."""
        chain = self.chain
        tip = chain.tip
        bits = tip.header.bits
        return {
            "chain": "regtest",
            "blocks": tip.height,
            "headers": chain.best_header().height,
            "bestblockhash": tip.hash_hex,
            "bits": f"{bits:08x}",
            "target": target_hex(bits),
            "difficulty": Double(difficulty(bits)),
            "time": tip.time,
            "mediantime": tip.median_time_past,
            "verificationprogress": Double(chain.verification_progress),
            "initialblockdownload": chain.initial_block_download,
            "chainwork": f"{tip.chainwork:064x}",
            "size_on_disk": chain.datadir.block_files_usage(),
            "pruned": False,
            "warnings": [],
        }

    def hold_transactions(self, txs: Sequence[Transaction]) -> None:
        """Keep built-but-unmined transactions for the next ``devnet_mine`` (no mempool)."""
        with self.chain.lock:
            self._held.extend(txs)

    def mine(self, n: int, times: Sequence[int] | None) -> list[str]:
        with self.chain.lock:
            out = []
            for i in range(n):
                txs, self._held = (self._held, []) if i == 0 else ([], self._held)
                block = self.chain.mine_block(txs, time=None if times is None else times[i])
                out.append(block.header.hash_hex)
            return out

    # -- JSON-RPC -------------------------------------------------------------------------------
    def authorized(self, header: str) -> bool:
        if not header.startswith("Basic "):
            return False
        try:
            pair = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            return False
        return any(hmac.compare_digest(pair, c) for c in self._credentials)

    def execute_one(self, request: Any, *, in_batch: bool) -> tuple[dict[str, Any] | None, int]:
        """Run one request object as Core's ``JSONRPCRequest::parse`` + ``JSONRPCExecOne``.

        Returns the reply (``None`` for a 2.0 notification) and the HTTP status a single
        request would get: parse errors keep their status in any version, execution errors are
        HTTP 200 in 2.0 (and in batches) but 500/404 in 1.0."""
        req_id: Any = None
        has_id = True  # Core's default id is null until a request object says otherwise
        version = "1.0"
        try:
            if not isinstance(request, dict):
                raise JSONRPCError(RPC_INVALID_REQUEST, "Invalid Request object")
            has_id = "id" in request
            req_id = request.get("id")
            jv = request.get("jsonrpc")
            if jv is not None:
                if not isinstance(jv, str):
                    raise JSONRPCError(RPC_INVALID_REQUEST, "jsonrpc field must be a string")
                if jv == "2.0":
                    version = "2.0"
                elif jv != "1.0":
                    raise JSONRPCError(RPC_INVALID_REQUEST, "JSON-RPC version not supported")
            method = request.get("method")
            if method is None:
                raise JSONRPCError(RPC_INVALID_REQUEST, "Missing method")
            if not isinstance(method, str):
                raise JSONRPCError(RPC_INVALID_REQUEST, "Method must be a string")
            params = request.get("params")
            if params is None:
                params = []
            elif not isinstance(params, (list, dict)):
                raise JSONRPCError(RPC_INVALID_REQUEST, "Params must be an array or object")
        except JSONRPCError as err:
            status = 200 if in_batch else _http_status(err.code)
            return _reply(None, err.obj(), req_id, has_id, version), status
        notification = version == "2.0" and not has_id
        try:
            warm = self.warmup_status()
            if warm is not None and not method.startswith("devnet_"):
                raise JSONRPCError(RPC_IN_WARMUP, warm)
            result = self.methods.execute(method, params)
        except Exception as exc:  # Core maps any std::exception to RPC_MISC_ERROR
            err = exc if isinstance(exc, JSONRPCError) else JSONRPCError(RPC_MISC_ERROR, str(exc))
            if notification:
                return None, 204
            status = 200 if in_batch or version == "2.0" else _http_status(err.code)
            return _reply(None, err.obj(), req_id, has_id, version), status
        if notification:
            return None, 204
        return _reply(result, None, req_id, has_id, version), 200


def _http_status(code: int) -> int:
    """Core's ``JSONErrorReply``: 400 for -32600, 404 for -32601, 500 otherwise."""
    return 400 if code == RPC_INVALID_REQUEST else 404 if code == RPC_METHOD_NOT_FOUND else 500


def _reply(result: Any, error: Any, req_id: Any, with_id: bool, version: str) -> dict[str, Any]:
    """Core's ``JSONRPCReplyObj``: v1 has both result and error, v2 only one, plus "jsonrpc"."""
    out: dict[str, Any] = {}
    if version == "2.0":
        out["jsonrpc"] = "2.0"
    if error is None:
        out["result"] = result
        if version != "2.0":
            out["error"] = None
    else:
        if version != "2.0":
            out["result"] = None
        out["error"] = error
    if with_id:
        out["id"] = req_id
    return out


def write_cookie(path: Path, cookie: str) -> None:
    """Write ``cookie`` to ``path`` as a new file readable by its owner only (0600, as Core's
    ``GenerateAuthCookie`` does), never through a link: a stale or planted ``.cookie.tmp``
    (a symlink, or a file with a wider mode) is removed first and the file is created with
    ``O_EXCL | O_NOFOLLOW``, then renamed over ``path`` (rename replaces a link, never follows
    it)."""
    tmp = path.with_name(".cookie.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)  # the umask can only narrow 0600; make it exact
        os.write(fd, cookie.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    # Like bitcoind's -rpcservertimeout (default 30 s): an idle or stalled client is dropped
    # (socketserver sets it on the connection; a timed-out read ends the connection).
    timeout = IDLE_TIMEOUT

    def setup(self) -> None:
        super().setup()
        # Headers and body are separate writes: without TCP_NODELAY, Nagle plus the client's
        # delayed ACK would add ~40 ms to every reply.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def version_string(self) -> str:
        return "devnet"

    @property
    def node(self) -> DevNode:
        return self.server.node  # type: ignore[attr-defined,no-any-return]

    def _send(
        self,
        status: int,
        body: bytes = b"",
        ctype: str | None = None,
        extra: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        if ctype is None and body:
            ctype = "text/html; charset=ISO-8859-1"
        if ctype is not None:
            self.send_header("Content-Type", ctype)
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def _body_length(self) -> int | None:
        """The announced body length, or None (after replying 413/400) when it is not a number
        or over ``MAX_BODY_BYTES``. Checked from the headers alone, before authentication, as
        Core's libevent server does (its 413 comes before the RPC handler sees the request)."""
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self._send(400, b"Bad Content-Length")
            self.close_connection = True
            return None
        if length > MAX_BODY_BYTES:
            self._send(413, b"Request body too large")
            self.close_connection = True
            return None
        return length

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        node = self.node
        rpc = self.path == "/" or self.path.startswith("/wallet/")
        length = self._body_length()
        if length is None:
            return
        if rpc and self.command == "POST" and not self._authorized():
            # Refused before a byte of the body is read: an unauthenticated client cannot
            # make the node buffer anything.
            self.close_connection = True
            return
        body = self.rfile.read(length) if length > 0 else b""
        if not node._slots.acquire(blocking=False):
            self._send(503, b"Work queue depth exceeded")
            return
        try:
            path = self.path
            if path.startswith("/rest/") and node.rest:
                reply = rest.handle(node, path)
                if reply is None:
                    self._send(404)
                else:
                    self._send(reply[0], reply[2], reply[1])
            elif path == "/" or path.startswith("/wallet/"):
                self._jsonrpc(body)
            else:
                self._send(404)
        finally:
            node._slots.release()

    def _authorized(self) -> bool:
        """Check the Basic credentials; reply 401 (after the anti-brute-force delay for wrong
        ones) and return False when they are missing or wrong."""
        node = self.node
        auth = self.headers.get("Authorization")
        if auth is None:
            self._send(401, extra={"WWW-Authenticate": WWW_AUTH})
            return False
        if not node.authorized(auth):
            time.sleep(node._auth_delay)
            self._send(401, extra={"WWW-Authenticate": WWW_AUTH})
            return False
        return True

    def _jsonrpc(self, body: bytes) -> None:
        node = self.node
        if self.command != "POST":
            self._send(405, b"JSONRPC server handles only POST requests")
            return
        try:
            request = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            self._json_error(RPC_PARSE_ERROR, "Parse error", None)
            return
        if isinstance(request, dict):
            reply, status = node.execute_one(request, in_batch=False)
            if reply is None:
                self._send(204)
            else:
                self._send(status, (dumps(reply) + "\n").encode(), "application/json")
        elif isinstance(request, list):
            replies = []
            for item in request:
                reply, _ = node.execute_one(item, in_batch=True)
                if reply is not None:
                    replies.append(reply)
            if not replies and request:
                self._send(204)
                return
            self._send(200, (dumps(replies) + "\n").encode(), "application/json")
        else:
            self._json_error(RPC_PARSE_ERROR, "Top-level object parse error", None)

    def _json_error(self, code: int, message: str, req_id: Any) -> None:
        reply = {"result": None, "error": {"code": code, "message": message}, "id": req_id}
        self._send(_http_status(code), (dumps(reply) + "\n").encode(), "application/json")
