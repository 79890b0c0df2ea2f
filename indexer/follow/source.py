"""Where blocks come from: the node (RPC, REST) with retries, and block files.

The node is the truth. :class:`NodeSource` wraps ``indexer.node``'s clients with one policy for
everything transient (connection refused/reset/timed out, warm-up -28, HTTP 503 work queue or
REST warm-up, a cookie not yet written by a restarting node): retry with bounded exponential
backoff, logging once what it is waiting for and again when the node is back. Any other RPC
error is a bug or a misconfiguration and propagates.

:class:`BlockFetcher` streams raw blocks in height order while fetching ahead on a thread pool
(each worker has its own HTTP connection; the GIL is released during socket I/O and hashing),
so the caller decodes block ``n`` while blocks ``n+1 … n+prefetch`` are in flight.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, Literal, TypeVar

from btc.block import HEADER_SIZE
from btc.commitments import verify_block
from btc.errors import DecodeError
from btc.hashes import hash_to_hex, hex_to_hash, sha256d
from indexer.blockfiles import BlockFileError, BlockFileIndex
from indexer.follow.config import FollowConfig
from indexer.follow.errors import (
    BlockUnknownError,
    FollowError,
    NodeUnavailableError,
    StoppedError,
)
from indexer.follow.logs import event
from indexer.node import (
    NodeAuthError,
    NodeConnectionError,
    NodeProtocolError,
    RESTClient,
    RESTNotFoundError,
    RESTUnavailableError,
    RPCClient,
    RPCInvalidAddressOrKeyError,
    RPCInvalidParameterError,
    RPCReply,
    RPCWarmupError,
    WorkQueueFullError,
)
from indexer.node.http import redact_urls

T = TypeVar("T")

Source = Literal["files", "rest", "rpc"]

TRANSIENT = (
    NodeConnectionError,
    RPCWarmupError,
    WorkQueueFullError,
    RESTUnavailableError,
    NodeAuthError,
    NodeProtocolError,
)


def describe(exc: BaseException) -> str:
    """What the follower is waiting for, in words."""
    if isinstance(exc, RPCWarmupError):
        return f"node warming up ({exc.message})"
    if isinstance(exc, RESTUnavailableError):
        if "work queue" in exc.body.lower():
            return "node overloaded (HTTP 503 work queue full)"
        return f"node warming up (REST: {exc.body.strip()})"
    if isinstance(exc, WorkQueueFullError):
        return "node overloaded (HTTP 503 work queue full)"
    if isinstance(exc, NodeAuthError):
        return f"node credentials ({exc})"
    if isinstance(exc, NodeConnectionError):
        return f"node connection ({exc})"
    return f"node reply ({exc})"


@dataclass(frozen=True, slots=True)
class ChainTip:
    height: int
    hash: str


class BlockMismatchError(FollowError):
    """Bytes that do not hash to the block they were fetched for."""


class NodeSource:
    """The node, with retries. Thread-safe: each thread gets its own connections."""

    def __init__(self, config: FollowConfig, *, log: logging.Logger, stop: threading.Event):
        self._cfg = config
        self._log = log
        self._stop = stop
        self._local = threading.local()
        self._clients: list[RPCClient | RESTClient] = []
        self._clients_lock = threading.Lock()
        self._waiting: str | None = None
        self._waiting_since = 0.0
        self._episode_logged = False
        self._logged_at: dict[str, float] = {}
        self._wait_lock = threading.Lock()
        self._rest_broken = False
        self.retries = 0

    # -- clients --------------------------------------------------------------------------------
    def _rpc(self) -> RPCClient:
        client = getattr(self._local, "rpc", None)
        if client is None:
            cfg = self._cfg
            cookie = cfg.resolved_cookie
            client = RPCClient(
                cfg.resolved_rpc_url,
                user=cfg.rpc_user,
                password=cfg.rpc_password,
                cookie_file=cookie,
                timeout=cfg.rpc_timeout,
            )
            self._local.rpc = client
            with self._clients_lock:
                self._clients.append(client)
        return client

    def _rest(self) -> RESTClient | None:
        if self._cfg.rest_url is None or self._rest_broken:
            return None
        client = getattr(self._local, "rest", None)
        if client is None:
            client = RESTClient(self._cfg.rest_url, timeout=self._cfg.rpc_timeout)
            self._local.rest = client
            with self._clients_lock:
                self._clients.append(client)
        return client

    def close(self) -> None:
        with self._clients_lock:
            for c in self._clients:
                c.close()
            self._clients.clear()

    # -- retry policy ---------------------------------------------------------------------------
    def retrying(self, what: str, fn: Callable[[], T], *, attempts: int | None = None) -> T:
        """``fn()`` until it stops raising a transient error (or ``attempts`` run out, then the
        last error is raised). Raises :class:`StoppedError` when asked to stop."""
        delay = self._cfg.backoff_initial
        n = 0
        while True:
            if self._stop.is_set():
                raise StoppedError(f"stopped while {what}")
            try:
                result = fn()
            except TRANSIENT as exc:
                n += 1
                self.retries += 1
                if attempts is not None and n >= attempts:
                    raise
                self._note_waiting(what, exc, delay)
                left = self._patience_left(what, exc)
                if self._stop.wait(min(delay, left)):
                    raise StoppedError(f"stopped while {what}") from None
                delay = min(delay * 2, self._cfg.backoff_max)
                continue
            self._note_ok()
            return result

    def _note_waiting(self, what: str, exc: BaseException, delay: float) -> None:
        reason = describe(exc)
        now = time.monotonic()
        with self._wait_lock:
            if self._waiting is None:
                self._waiting_since = now
                self._episode_logged = False
            changed = reason != self._waiting
            self._waiting = reason
            # Log a new reason, then at most every 5 s: a busy node answering some workers
            # with 503 while serving others must not flood the log.
            due = changed and now - self._logged_at.get(reason, -1e9) >= 5.0
            due = due or now - self._logged_at.get(reason, -1e9) >= max(5.0, self._cfg.backoff_max)
            if due:
                self._logged_at[reason] = now
                self._episode_logged = True
        if due:
            event(
                self._log,
                logging.WARNING,
                "waiting_for_node",
                reason=reason,
                node=redact_urls(self._cfg.resolved_rpc_url),
                doing=what,
                retry_in_s=round(delay, 3),
                waited_s=round(now - self._waiting_since, 1),
            )

    def _patience_left(self, what: str, exc: BaseException) -> float:
        """Seconds this stretch of waiting may still last (so the next sleep ends by the
        bound); raises :class:`NodeUnavailableError` once it is longer than ``max_wait``."""
        limit = self._cfg.max_wait
        if limit is None:
            return math.inf
        waited = time.monotonic() - self._waiting_since
        if waited < limit:
            return limit - waited
        url = redact_urls(self._cfg.resolved_rpc_url)
        reason = describe(exc)
        raise NodeUnavailableError(
            f"gave up after {waited:.1f} s (max_wait {limit:g} s) waiting for the node at {url} "
            f"while {what}: {reason}. Check that bitcoind runs with the settings of "
            "docs/follower.md, or allow longer with --max-wait.",
            reason=reason,
            waited_s=waited,
            url=url,
        ) from None

    def _note_ok(self) -> None:
        if self._waiting is None:
            return
        with self._wait_lock:
            # Checked again under the lock: another worker may have cleared it meanwhile
            # (mypy's narrowing cannot know about threads).
            if self._waiting is None:
                return  # type: ignore[unreachable]
            waited = time.monotonic() - self._waiting_since
            self._waiting = None
            logged = self._episode_logged
        if logged:
            event(self._log, logging.INFO, "node_available", waited_s=round(waited, 2))

    # -- chain queries --------------------------------------------------------------------------
    def tip(self, *, attempts: int | None = None) -> ChainTip:
        """The node's active tip: ``getbestblockhash`` and ``getblockcount`` in one batch (the
        two may straddle a new block; the caller re-checks, and the hash is what counts)."""

        def call() -> ChainTip:
            best, count = self._rpc().batch([("getbestblockhash", []), ("getblockcount", [])])
            return ChainTip(int(count.value()), str(best.value()))

        return self.retrying("reading the chain tip", call, attempts=attempts)

    def chain_info(self) -> dict[str, Any]:
        """``getblockchaininfo`` (heavier on some nodes: only for diagnostics)."""
        return self.retrying("reading chain info", lambda: self._rpc().getblockchaininfo())

    def header(self, block_hash: str) -> dict[str, Any] | None:
        """``getblockheader`` (verbose), or None when the node does not know the block."""

        def call() -> dict[str, Any] | None:
            try:
                header: dict[str, Any] = self._rpc().getblockheader(block_hash, True)
                return header
            except RPCInvalidAddressOrKeyError:
                return None

        return self.retrying(f"reading header {block_hash}", call)

    def hashes(self, lo: int, hi: int) -> list[str]:
        """Active-chain hashes of heights ``lo..hi`` (batched ``getblockhash``), stopping at
        the first height above the node's tip (the list may be shorter)."""
        out: list[str] = []
        step = self._cfg.hash_batch
        for a in range(lo, hi + 1, step):
            b = min(hi, a + step - 1)

            def call(a: int = a, b: int = b) -> list[RPCReply]:
                return self._rpc().batch([("getblockhash", [h]) for h in range(a, b + 1)])

            replies = self.retrying(f"reading hashes {a}-{b}", call)
            for reply in replies:
                if isinstance(reply.error, RPCInvalidParameterError):
                    return out  # above the tip (the node's chain may have become shorter)
                out.append(reply.value())
        return out

    def block(self, block_hash: str, *, via: Source | None = None) -> Fetched:
        """The serialized block (not yet verified: see :func:`check_block_hash` and
        ``scan_block``), via REST ``.bin`` when configured, else ``getblock <h> 0``; ``via``
        forces one of the two (a re-fetch after a block failed verification)."""
        used: list[Source] = []

        def call() -> bytes:
            rest = self._rest() if via in (None, "rest") else None
            if rest is not None:
                try:
                    used[:] = ["rest"]
                    return rest.block(block_hash)
                except RESTNotFoundError as exc:
                    # An empty 404 is REST switched off (-rest=0); "<hash> not found" an
                    # unknown block. Either way RPC gives the authoritative answer.
                    if not exc.body.strip():
                        self._rest_broken = True
                        event(
                            self._log,
                            logging.WARNING,
                            "rest_unavailable",
                            reason=f"HTTP {exc.status} on {exc.path}",
                            fallback="rpc getblock",
                        )
            used[:] = ["rpc"]
            try:
                return self._rpc().getblock_raw(block_hash)
            except RPCInvalidAddressOrKeyError:
                raise BlockUnknownError(block_hash) from None  # -5 "Block not found"

        raw = self.retrying(f"fetching block {block_hash}", call)
        return Fetched(-1, block_hash, raw, used[0])

    @property
    def rest_available(self) -> bool:
        return self._cfg.rest_url is not None and not self._rest_broken


def block_problem(raw: bytes, block_hash: str) -> str | None:
    """Why ``raw`` is not block ``block_hash`` (header hash, merkle root, witness commitment,
    or bytes that do not parse), or None when it is."""
    try:
        check_block_hash(raw, block_hash)
        verify_block(raw)
    except (BlockMismatchError, DecodeError) as exc:
        return str(exc)
    return None


def check_block_hash(raw: bytes, block_hash: str) -> None:
    """Raise :class:`BlockMismatchError` unless ``raw``'s header hashes to ``block_hash``."""
    if len(raw) < HEADER_SIZE or sha256d(raw[:HEADER_SIZE]) != hex_to_hash(block_hash):
        got = hash_to_hex(sha256d(raw[:HEADER_SIZE])) if len(raw) >= HEADER_SIZE else "?"
        raise BlockMismatchError(f"fetched bytes are block {got}, not {block_hash}")


@dataclass(frozen=True, slots=True)
class Fetched:
    """A block's bytes and where they came from; ``problem`` (set by the fetcher) says why
    they are not the block they were fetched for, or is None."""

    height: int
    hash: str
    raw: bytes
    source: Source
    problem: str | None = None


class BlockFetcher:
    """Raw blocks in order over a thread pool. ``files`` (optional) serves blocks found in a
    blocks directory, for heights up to ``files_max_height`` (blocks deep enough to be
    flushed); any failure there falls back to the node."""

    def __init__(
        self,
        source: NodeSource | None,
        *,
        workers: int,
        prefetch: int,
        files: BlockFileIndex | None = None,
        log: logging.Logger,
    ) -> None:
        self._source = source
        self._files = files
        self._prefetch = prefetch
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fetch")
        self._log = log
        self.files_max_height = -1
        self.file_fallbacks = 0

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _fetch(self, height: int, block_hash: str) -> Fetched:
        """Block ``block_hash``, verified on this worker thread (the hashing kernel runs
        without the GIL, beside the scan of earlier blocks): ``problem`` says why its bytes
        are not the block, if they are not."""
        f = self._download(height, block_hash)
        return replace(f, problem=block_problem(f.raw, block_hash))

    def _download(self, height: int, block_hash: str) -> Fetched:
        if self._files is not None and height <= self.files_max_height:
            h = hex_to_hash(block_hash)
            if h in self._files:
                try:
                    return Fetched(height, block_hash, self._files.read(h), "files")
                except (BlockFileError, OSError) as exc:
                    self.file_fallbacks += 1
                    event(self._log, logging.DEBUG, "block_file_fallback", reason=str(exc))
        if self._source is None:
            raise FollowError(f"block {block_hash} at height {height} is not in the block files")
        return replace(self._source.block(block_hash), height=height)

    def fallback(self, failed: Sequence[Source]) -> Source | None:
        """Where to re-fetch a block whose bytes from the ``failed`` sources (in order) did
        not verify: block files → REST → RPC, and RPC once more (corruption on the way);
        None when there is nowhere left."""
        node = self._source
        if node is None:
            return None
        last = failed[-1]
        if last == "files":
            return "rest" if node.rest_available and "rest" not in failed else "rpc"
        if last == "rest":
            return "rpc"
        return "rpc" if failed.count("rpc") < 2 else None

    def fetch_via(self, source: Source, height: int, block_hash: str) -> Fetched:
        """``block_hash`` again, from ``source`` (``rest`` or ``rpc``), verified."""
        assert self._source is not None and source != "files"
        f = self._source.block(block_hash, via=source)
        return replace(f, height=height, problem=block_problem(f.raw, block_hash))

    def stream(self, items: Iterable[tuple[int, str]]) -> Generator[Fetched, None, None]:
        """Blocks for ``(height, hash)`` items, in order, ``prefetch`` in flight. Closing the
        generator cancels what is still queued."""
        pending: deque[Future[Fetched]] = deque()
        it = iter(items)
        try:
            for item in it:
                pending.append(self._pool.submit(self._fetch, *item))
                if len(pending) >= self._prefetch:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for f in pending:
                f.cancel()
