"""The one HTTP connection a node client keeps: kept alive, re-opened once when the server
closed it between requests, and turned into :class:`NodeConnectionError` otherwise.

Not thread-safe: the RPC and REST clients serialise their requests with their own locks.
"""

from __future__ import annotations

import http.client
import re
import socket
from urllib.parse import urlsplit

from indexer.node.errors import NodeConnectionError

__all__ = ["KeepAliveConnection", "parse_http_url", "redact_urls"]

# user:password@ (or user@) right after a URL scheme.
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s]*@")


def redact_urls(text: str) -> str:
    """``text`` (a URL, or a message holding URLs) with every ``user:password@`` after a
    scheme replaced by ``***@``: what logs, errors and status output may show."""
    return _USERINFO.sub(r"\1***@", text)


def parse_http_url(url: str, *, what: str) -> tuple[str, int, str]:
    """``(host, port, path)`` of an ``http://host:port[/path]`` URL (port 80 by default);
    ``ValueError`` naming ``what`` otherwise."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"{what} URL must be http://host:port, got {redact_urls(url)!r}")
    return parts.hostname, parts.port or 80, parts.path or "/"


class KeepAliveConnection:
    """Requests over one persistent connection to ``host:port``."""

    def __init__(self, host: str, port: int, *, timeout: float) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def request(
        self, method: str, path: str, *, body: bytes | None = None, headers: dict[str, str]
    ) -> tuple[int, str, bytes]:
        """``(status, content type, body)`` of one request."""
        for attempt in (0, 1):
            if self._conn is None:
                self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self._conn.request(method, path, body, {"Host": self.host, **headers})
                resp = self._conn.getresponse()
                data = resp.read()
                if resp.getheader("Connection", "").lower() == "close":
                    self.close()
                return resp.status, resp.getheader("Content-Type", ""), data
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A kept-alive connection the server closed: reconnect once.
                self.close()
                if attempt:
                    raise NodeConnectionError(
                        f"connection to {self.host}:{self.port} dropped"
                    ) from None
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                if isinstance(exc, socket.timeout):
                    raise NodeConnectionError(
                        f"request to {self.host}:{self.port} timed out after {self.timeout}s"
                    ) from None
                raise NodeConnectionError(f"cannot reach {self.host}:{self.port}: {exc}") from None
        raise NodeConnectionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
