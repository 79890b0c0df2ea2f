"""A tampering HTTP proxy in front of a node: what an attacker on the path (or a corrupt disk
behind the node) does to the follower's blocks.

Requests are forwarded as they are (RPC and REST, kept alive); the replies for blocks named in
``rest`` (REST ``/rest/block/<hash>.bin``) or ``rpc`` (``getblock <hash> 0``, single or
batched) are passed through ``change(hash, raw) -> raw`` first. ``rest_off`` makes REST answer
an empty 404, as bitcoind does with ``-rest=0``. Blocks named in ``forget`` are answered as a
node that lost them answers (RPC -5 "Block not found", REST 404 "<hash> not found"), once each.
Everything else is untouched.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

Change = Callable[[str, bytes], bytes]


class TamperProxy:
    def __init__(self, node_url: str, change: Change) -> None:
        parts = urlsplit(node_url)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.change = change
        self.rest: set[str] = set()
        self.rpc: set[str] = set()
        self.rest_off = False
        self.forget: set[str] = set()
        # Called with each RPC request body before it is forwarded (to change the chain at an
        # exact moment of the follower's work).
        self.on_rpc: Callable[[bytes], None] | None = None
        self.served: list[tuple[str, str]] = []  # (channel, hash) of every tampered reply
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    def __enter__(self) -> TamperProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def forward(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> tuple:
        conn = http.client.HTTPConnection(*self.upstream, timeout=30)
        try:
            conn.request(method, path, body or None, headers)
            resp = conn.getresponse()
            return resp.status, resp.getheader("Content-Type", ""), resp.read()
        finally:
            conn.close()

    def tamper_rest(self, path: str, data: bytes) -> bytes:
        name = path.rsplit("/", 1)[-1]
        block_hash = name.removesuffix(".bin")
        if name.endswith(".bin") and block_hash in self.rest:
            self.served.append(("rest", block_hash))
            return self.change(block_hash, data)
        return data

    def forgotten(self, path: str, body: bytes) -> tuple[int, str, bytes] | None:
        """The reply of a node that no longer has the requested block, if it is in ``forget``
        (then taken out of it), else None."""
        name = path.rsplit("/", 1)[-1].removesuffix(".bin")
        if path.startswith("/rest/block/") and name in self.forget:
            self.forget.discard(name)
            return 404, "text/plain", f"{name} not found\r\n".encode()
        try:
            call = json.loads(body) if body else None
        except ValueError:
            return None
        if not isinstance(call, dict) or call.get("method") != "getblock":
            return None
        block_hash = (call.get("params") or [None])[0]
        if block_hash not in self.forget:
            return None
        self.forget.discard(block_hash)
        error = {"code": -5, "message": "Block not found"}
        reply = {"jsonrpc": "2.0", "error": error, "id": call.get("id")}
        return 200, "application/json", (json.dumps(reply) + "\n").encode()

    def tamper_rpc(self, request: bytes, reply: bytes) -> bytes:
        try:
            calls, answers = json.loads(request), json.loads(reply)
        except ValueError:
            return reply
        single = isinstance(calls, dict)
        calls_list = [calls] if single else calls
        answers_list = [answers] if single else answers
        changed = False
        for call, answer in zip(calls_list, answers_list, strict=False):
            params = call.get("params") or []
            if call.get("method") != "getblock" or not params or params[0] not in self.rpc:
                continue
            if len(params) > 1 and params[1] not in (0, False):
                continue
            raw = bytes.fromhex(answer["result"])
            answer["result"] = self.change(params[0], raw).hex()
            self.served.append(("rpc", params[0]))
            changed = True
        if not changed:
            return reply
        return (json.dumps(answers_list[0] if single else answers_list) + "\n").encode()


def _handler(proxy: TamperProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _relay(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if self.path.startswith("/rest/") and proxy.rest_off:
                self._reply(404, "text/plain", b"")
                return
            if self.command == "POST" and proxy.on_rpc is not None:
                proxy.on_rpc(body)
            lost = proxy.forgotten(self.path, body)
            if lost is not None:
                self._reply(*lost)
                return
            headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
            status, ctype, data = proxy.forward(self.command, self.path, body, headers)
            if self.path.startswith("/rest/"):
                data = proxy.tamper_rest(self.path, data)
            elif self.command == "POST" and status == 200:
                data = proxy.tamper_rpc(body, data)
            self._reply(status, ctype, data)

        def _reply(self, status: int, ctype: str, data: bytes) -> None:
            self.send_response(status)
            if ctype:
                self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _relay  # noqa: N815  (http.server's handler names)

    return Handler


def flip_in(needle: bytes) -> Change:
    """Flip one bit inside the first occurrence of ``needle`` (e.g. an inscription body, which
    lives in a witness: the block hash and merkle root stay the same)."""

    def change(block_hash: str, raw: bytes) -> bytes:
        at = raw.find(needle)
        assert at > 80, "needle not in the block"
        out = bytearray(raw)
        out[at + len(needle) // 2] ^= 0x04
        return bytes(out)

    return change
