"""The follower: from the start height to the node's tip, then stay there.

One loop, one thread of control (fetch workers only download):

1. ``sync``: ask the node for its tip (RPC; retried while the node is down, warming up or
   overloaded). If our committed tip is no longer on the node's active chain, find the fork
   point among the recent blocks and roll back to it; if it lies at or below the final height,
   stop (:class:`DeepReorgError`) without touching anything.
2. Fetch the missing blocks (hashes by batched ``getblockhash``, bytes by REST or RPC or block
   files, prefetched on a thread pool), scan each one in order (its parent must be the
   previous block), and commit them as segments: multi-block segments aligned to
   ``range_blocks`` below the final height, one block per segment above it.
3. After each commit, compact complete final ranges of small segments into one range shard,
   and delete retired files whose grace period is over.
4. Wait for a ZMQ notification or the poll timer, and go to 1.

The final height is ``max(previous, node tip − finality_depth)``, persisted in the manifest:
blocks at or below it are never rolled back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import pyarrow.parquet as pq

from btc.errors import DecodeError
from btc.hashes import hash_to_hex
from btc.scan import ScannedBlock, outpoint_key, scan_block
from indexer.blockfiles import BlockFileIndex
from indexer.errors import ConfigError
from indexer.faults import crashpoint
from indexer.follow.config import FollowConfig
from indexer.follow.errors import (
    BlockUnknownError,
    CorruptBlockError,
    DeepReorgError,
    FollowError,
    StoppedError,
)
from indexer.follow.logs import LOGGER_NAME, event
from indexer.follow.manifest import BlockEntry, Manifest, Segment, trim_recent
from indexer.follow.progress import Progress
from indexer.follow.source import TRANSIENT, BlockFetcher, ChainTip, Fetched, NodeSource, Source
from indexer.follow.store import ShardStore
from indexer.follow.waker import Wake, Waker
from indexer.inscriptions.budget import BlockContents
from indexer.networks import first_inscription_height
from indexer.shards import tables_for_blocks
from indexer.shards.tables import block_contents

DEEP_SEARCH_LIMIT = 100_000


@dataclass(slots=True)
class FollowStats:
    """Counters for tests, status and benchmarks (owned by one follower)."""

    blocks: int = 0
    bytes: int = 0
    commits: int = 0
    reorgs: int = 0
    rolled_back: int = 0
    compactions: int = 0
    wakes: dict[str, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    fetch_wait_s: float = 0.0  # decoding thread blocked on the fetch pool
    scan_s: float = 0.0
    commit_s: float = 0.0  # tables + Parquet + manifest (+ compaction)
    sources: dict[str, int] = field(default_factory=dict)
    refetched: int = 0  # blocks whose first bytes failed verification


@dataclass(frozen=True, slots=True)
class _Scanned:
    """A block of the batch being built: scanned, its bodies decoded (within the block's
    budget), waiting to be committed."""

    height: int
    block: ScannedBlock
    contents: BlockContents
    raw_bytes: int

    @property
    def memory(self) -> int:
        """What the block holds in memory until its batch is written (raw + decoded)."""
        return self.raw_bytes + self.contents.decoded_bytes


def outpoint_text(key: bytes) -> str:
    return f"{hash_to_hex(key[:32])}:{int.from_bytes(key[32:], 'little')}"


def outpoint_from_text(text: str) -> bytes:
    txid, _, vout = text.partition(":")
    return outpoint_key(txid, int(vout))


class Follower:
    """Follow ``config``'s node into ``config.shard_root``. ``run`` blocks until stopped (set
    ``stop``), or until caught up with ``exit_at_tip``. ``on_commit`` is called after every
    commit with the committed manifest."""

    def __init__(
        self,
        config: FollowConfig,
        *,
        log: logging.Logger | None = None,
        stop: threading.Event | None = None,
        on_commit: Callable[[Manifest], None] | None = None,
        progress: bool = False,
        zmq_rcvhwm: int = 0,
    ) -> None:
        self.cfg = config
        self.log = log or logging.getLogger(LOGGER_NAME)
        self.stop = stop or threading.Event()
        self.on_commit = on_commit
        self.progress = progress
        self.stats = FollowStats()
        self._zmq_rcvhwm = zmq_rcvhwm
        self._scripts = frozenset(config.vault_scripts)
        self._first_inscription = first_inscription_height(config.network)
        self._final_pending = -1
        self._behind_logged: int | None = None
        self._wake: Wake | None = None
        self.store: ShardStore | None = None
        self.source: NodeSource | None = None
        self.fetcher: BlockFetcher | None = None
        self.waker: Waker | None = None
        self.files: BlockFileIndex | None = None
        self.vault: set[bytes] = set()
        self.node_tip: ChainTip | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    def run(self, *, exit_at_tip: bool = False, rebuild_from: int | None = None) -> Manifest:
        """Follow until stopped; returns the last committed manifest."""
        self.open(rebuild_from=rebuild_from)
        try:
            self._loop(exit_at_tip)
        except StoppedError:
            pass
        finally:
            self.close()
        assert self.store is not None
        return self.store.manifest

    def open(self, *, rebuild_from: int | None = None) -> None:
        cfg = self.cfg
        empty = Manifest.empty(
            settings=cfg.content_settings(),
            range_blocks=cfg.range_blocks,
            bucket_blocks=cfg.bucket_blocks,
        )
        self.store = ShardStore.open(
            cfg.shard_root, empty=empty, retire_grace=cfg.retire_grace, log=self.log
        )
        try:
            if rebuild_from is not None:
                self.rebuild(rebuild_from)
            m = self.store.manifest
            if dict(m.settings) != cfg.content_settings():
                raise ConfigError(
                    f"shard root {cfg.shard_root} was built with different settings "
                    f"({_diff(m.settings, cfg.content_settings())}); use a new shard root or "
                    f"`indexer follow --rebuild-from {cfg.first_height}` to re-index everything"
                )
            if (m.range_blocks, m.bucket_blocks) != (cfg.range_blocks, cfg.bucket_blocks):
                event(
                    self.log,
                    logging.WARNING,
                    "layout_from_manifest",
                    range_blocks=m.range_blocks,
                    bucket_blocks=m.bucket_blocks,
                    reason="the shard root keeps the layout it was created with",
                )
            self.vault = {outpoint_from_text(t) for t in m.vault_unspent}
            self._final_pending = m.final_height
            self.source = NodeSource(cfg, log=self.log, stop=self.stop)
            if cfg.blocks_dir is not None:
                t0 = time.monotonic()
                self.files = BlockFileIndex(cfg.blocks_dir, network=cfg.network)
                event(
                    self.log,
                    logging.INFO,
                    "block_files_indexed",
                    blocks=len(self.files),
                    files=self.files.file_count,
                    obfuscated=self.files.key != bytes(8),
                    seconds=round(time.monotonic() - t0, 2),
                )
            self.fetcher = BlockFetcher(
                self.source,
                workers=cfg.fetch_workers,
                prefetch=cfg.prefetch_blocks,
                files=self.files,
                log=self.log,
            )
            self.waker = Waker(cfg.zmq, log=self.log, stop=self.stop, rcvhwm=self._zmq_rcvhwm)
        except BaseException:
            self.close()
            raise
        event(
            self.log,
            logging.INFO,
            "start",
            shard_root=str(cfg.shard_root),
            tip=m.tip_height,
            final=m.final_height,
            segments=len(m.segments),
            node=cfg.resolved_rpc_url,
            rest=cfg.rest_url is not None,
            zmq=",".join(cfg.zmq) or None,
        )

    def close(self) -> None:
        for part in (self.waker, self.fetcher, self.source, self.store):
            if part is not None:
                part.close()

    # -- main loop ------------------------------------------------------------------------------
    def _loop(self, exit_at_tip: bool) -> None:
        assert self.waker is not None
        if self.files is not None:
            self.backfill_from_files()
        while not self.stop.is_set():
            before = self._store.manifest.tip_hash
            caught_up = self.sync()
            timer = self._wake is not None and self._wake.reason == "timer"
            if timer and self._store.manifest.tip_hash != before:
                self.waker.found_blocks_on_timer()
            if not caught_up:
                continue
            if exit_at_tip:
                return
            self._wake = self.waker.wait(self.cfg.poll_interval)
            self.stats.wakes[self._wake.reason] = self.stats.wakes.get(self._wake.reason, 0) + 1

    @property
    def _store(self) -> ShardStore:
        assert self.store is not None
        return self.store

    @property
    def _source(self) -> NodeSource:
        assert self.source is not None
        return self.source

    def sync(self) -> bool:
        """One reconciliation with the node; True when caught up (nothing left to do now)."""
        tip = self._source.tip()
        self.node_tip = tip
        self._final_pending = max(self._final_pending, tip.height - self.cfg.finality_depth)
        m = self._store.manifest
        if m.tip_hash is not None and tip.hash != m.tip_hash:
            state = self._our_tip_state(tip)
            if state == "reorg":
                self._reorg(tip)
                return False
            if state == "behind":
                if self._behind_logged != tip.height:
                    self._behind_logged = tip.height
                    info = self._source.chain_info()
                    event(
                        self.log,
                        logging.WARNING,
                        "node_behind",
                        node_height=tip.height,
                        node_headers=info.get("headers"),
                        initial_block_download=info.get("initialblockdownload"),
                        committed_tip=m.tip_height,
                        action="waiting for the node to reach the committed tip",
                    )
                return True
        if tip.height <= m.tip_height:
            if m.tip_hash is None and self._behind_logged != tip.height:
                self._behind_logged = tip.height
                event(
                    self.log,
                    logging.INFO,
                    "waiting_for_start_height",
                    node_height=tip.height,
                    start_height=m.start_height,
                )
            return True
        self._behind_logged = None
        self._advance(tip)
        return self._store.manifest.tip_hash == tip.hash

    def _our_tip_state(self, tip: ChainTip) -> str:
        """``ok`` (our tip is on the node's active chain), ``reorg`` (it is not) or ``behind``
        (the node does not know our tip yet: still syncing, or it lost blocks)."""
        m = self._store.manifest
        assert m.tip_hash is not None
        if tip.height >= m.tip_height:
            at = self._source.hashes(m.tip_height, m.tip_height)
            return "ok" if at and at[0] == m.tip_hash else "reorg"
        header = self._source.header(m.tip_hash)
        if header is None:
            return "behind"
        return "reorg" if int(header.get("confirmations", -1)) < 1 else "ok"

    # -- reorgs ---------------------------------------------------------------------------------
    def _reorg(self, tip: ChainTip) -> None:
        m = self._store.manifest
        lo = m.recent[0].height
        hi = min(m.tip_height, tip.height)
        fork = None
        if hi >= lo:
            theirs = self._source.hashes(lo, hi)
            for i in range(len(theirs) - 1, -1, -1):
                entry = m.entry(lo + i)
                if entry is not None and theirs[i] == entry.hash:
                    fork = lo + i
                    break
        if fork == m.tip_height:
            return  # the node moved back onto our tip meanwhile: nothing to undo
        if fork is None:
            deep = self._deep_fork_point(lo - 1)
            where = (
                f"the chains agree up to height {deep}"
                if deep is not None
                else f"no common block was found down to height {max(self.cfg.first_height, lo - DEEP_SEARCH_LIMIT)}"
            )
            advice = deep + 1 if deep is not None else self.cfg.first_height
            event(
                self.log,
                logging.ERROR,
                "deep_reorg",
                fork_height=deep,
                final_height=m.final_height,
                committed_tip=m.tip_height,
                node_tip=tip.height,
            )
            raise DeepReorgError(
                f"reorg deeper than the finality zone: the node's best chain (tip {tip.height} "
                f"{tip.hash}) no longer contains the committed block {lo} {m.recent[0].hash}, "
                f"and blocks up to height {m.final_height} were committed as final "
                f"(finality_depth {self.cfg.finality_depth}); {where}. Nothing was changed. "
                f"To recover, re-index from the fork: `indexer follow --config <file> "
                f"--rebuild-from {advice}` (see docs/follower.md, 'Deep reorgs').",
                fork_height=deep,
                final_height=m.final_height,
            )
        self.rollback(fork, reason="reorg", node_tip=tip)

    def _deep_fork_point(self, below: int) -> int | None:
        """The highest height ≤ ``below`` where the committed blocks table and the node agree
        (searched down ``DEEP_SEARCH_LIMIT`` blocks at most)."""
        floor = max(self.cfg.first_height, below - DEEP_SEARCH_LIMIT)
        hi = below
        while hi >= floor:
            lo = max(floor, hi - 999)
            ours = self._store.block_hashes(lo, hi)
            theirs = self._source.hashes(lo, hi)
            for h in range(hi, lo - 1, -1):
                if h - lo < len(theirs) and ours.get(h) == theirs[h - lo]:
                    return h
            hi = lo - 1
        return None

    def rollback(self, fork: int, *, reason: str, node_tip: ChainTip | None = None) -> Manifest:
        """Undo every committed block above ``fork`` (which must be a recent block)."""
        store = self._store
        m = store.manifest
        anchor = m.entry(fork)
        if anchor is None:
            raise FollowError(f"cannot roll back to {fork}: not a recent block")
        if fork < m.final_height:
            raise FollowError(f"refusing to roll back below the final height {m.final_height}")
        undone = [e for e in m.recent if e.height > fork]
        vault = set(m.vault_unspent)
        for e in reversed(undone):
            vault |= set(e.vault_spent)
            vault -= set(e.vault_created)
        segments = [s for s in m.segments if s.end <= fork]
        cut = [s for s in m.segments if s.start <= fork < s.end]
        if cut:  # only after a manual rebuild or a layout change: tip segments are one block
            segments.append(store.truncate(cut[0], fork))
        new = m.evolve(
            segments=tuple(segments),
            recent=tuple(e for e in m.recent if e.height <= fork),
            tip_height=fork,
            tip_hash=anchor.hash,
            vault_unspent=tuple(sorted(vault)),
        )
        committed = self._commit(new)
        crashpoint("rolled_back")
        self.vault = {outpoint_from_text(t) for t in committed.vault_unspent}
        self.stats.reorgs += 1
        self.stats.rolled_back += len(undone)
        event(
            self.log,
            logging.WARNING,
            "rollback",
            reason=reason,
            fork_height=fork,
            fork_hash=anchor.hash,
            undone=len(undone),
            old_tip=m.tip_height,
            node_tip=None if node_tip is None else node_tip.height,
        )
        return committed

    def rebuild(self, height: int) -> Manifest:
        """Drop everything committed at or above ``height`` (``--rebuild-from``): the recovery
        after a deep reorg, or a settings change when ``height`` ≤ the start height."""
        store = self._store
        m = store.manifest
        cfg = self.cfg
        if height <= max(cfg.first_height, m.start_height):
            new = Manifest.empty(
                settings=cfg.content_settings(),
                range_blocks=cfg.range_blocks,
                bucket_blocks=cfg.bucket_blocks,
            ).evolve(retired=m.retired)
            committed = self._commit(new)
        else:
            if dict(m.settings) != cfg.content_settings():
                raise ConfigError(
                    "the settings changed, so everything must be re-indexed: use "
                    f"--rebuild-from {cfg.first_height}"
                )
            if height > m.tip_height:
                event(self.log, logging.INFO, "rebuild_nothing", height=height, tip=m.tip_height)
                return m
            keep = [s for s in m.segments if s.end < height]
            cut = [s for s in m.segments if s.start < height <= s.end]
            if cut:
                keep.append(store.truncate(cut[0], height - 1))
            vault = vault_set(store, keep, initial=m.settings.get("vault_outpoints", ()))
            tip_hash = keep[-1].end_hash
            new = m.evolve(
                segments=tuple(keep),
                tip_height=height - 1,
                tip_hash=tip_hash,
                final_height=min(m.final_height, height - 1),
                recent=(BlockEntry(height - 1, tip_hash),),
                vault_unspent=tuple(sorted(vault)),
            )
            committed = self._commit(new)
        self.vault = {outpoint_from_text(t) for t in committed.vault_unspent}
        self._final_pending = committed.final_height
        event(
            self.log,
            logging.WARNING,
            "rebuild",
            from_height=height,
            tip=committed.tip_height,
            dropped_from=m.tip_height,
        )
        return committed

    # -- going forward --------------------------------------------------------------------------
    def _advance(self, tip: ChainTip) -> None:
        m = self._store.manifest
        start = m.tip_height + 1
        final_line = self._final_pending
        assert self.fetcher is not None
        self.fetcher.files_max_height = final_line
        items = self._node_hashes(start, tip.height)
        self._ingest(items, start=start, target=tip.height, final_line=final_line)

    def _node_hashes(self, start: int, target: int) -> Iterator[tuple[int, str]]:
        step = self.cfg.hash_batch
        for a in range(start, target + 1, step):
            b = min(target, a + step - 1)
            hashes = self._source.hashes(a, b)
            yield from zip(range(a, a + len(hashes)), hashes, strict=True)
            if len(hashes) < b - a + 1:
                return  # the node's chain got shorter meanwhile

    def backfill_from_files(self) -> None:
        """With the node unreachable, index the block files' best chain up to its tip minus
        the finality depth (the fast path for history on a stopped node)."""
        assert self.files is not None
        try:
            self._source.tip(attempts=1)
            return  # the node is up: block files serve as a raw-block source only
        except TRANSIENT as exc:
            event(self.log, logging.INFO, "node_down_using_block_files", reason=str(exc))
        chain = self.files.best_chain()
        m = self._store.manifest
        target = len(chain) - 1 - self.cfg.finality_depth
        if target <= m.tip_height:
            return
        if m.tip_hash is not None and hash_to_hex(chain[m.tip_height]) != m.tip_hash:
            event(
                self.log,
                logging.WARNING,
                "block_files_disagree",
                height=m.tip_height,
                reason="the committed tip is not on the block files' best chain; waiting for the node",
            )
            return
        self._final_pending = max(self._final_pending, target)
        fetcher = BlockFetcher(
            None,
            workers=self.cfg.fetch_workers,
            prefetch=self.cfg.prefetch_blocks,
            files=self.files,
            log=self.log,
        )
        fetcher.files_max_height = target
        start = m.tip_height + 1
        items = ((h, hash_to_hex(chain[h])) for h in range(start, target + 1))
        try:
            self._ingest(items, start=start, target=target, final_line=target, fetcher=fetcher)
        finally:
            fetcher.close()

    def _segment_end(self, height: int, final_line: int, target: int) -> int:
        if height > final_line:
            return height
        r = self._store.manifest.range_blocks
        return min(target, final_line, (height // r + 1) * r - 1)

    def _ingest(
        self,
        items: Iterable[tuple[int, str]],
        *,
        start: int,
        target: int,
        final_line: int,
        fetcher: BlockFetcher | None = None,
    ) -> None:
        """Fetch, scan and commit the blocks of ``items`` (consecutive heights from
        ``start``); stops early at a block whose parent is not the previous block."""
        fetcher = fetcher or self.fetcher
        assert fetcher is not None
        m = self._store.manifest
        expected_prev = m.tip_hash
        working = set(self.vault)
        batch: list[_Scanned] = []
        batch_bytes = 0
        seg_end = self._segment_end(start, final_line, target)
        backfill = target - start + 1 > max(2 * self.cfg.finality_depth, 10)
        progress = Progress(
            start=start,
            target=target,
            bar=self.progress and backfill,
            log=self.log,
            quiet=not backfill,
        )
        stream = fetcher.stream(items)
        st = self.stats
        waited, scanning, committing = st.fetch_wait_s, st.scan_s, st.commit_s
        try:
            while True:
                t0 = time.perf_counter()
                f = self._next_fetched(stream)
                t1 = time.perf_counter()
                st.fetch_wait_s += t1 - t0
                if f is None:
                    break
                f, scanned = self._scan_verified(f, working, fetcher)
                st.scan_s += time.perf_counter() - t1
                if not self._extends(expected_prev, scanned, f.height):
                    break
                expected_prev = scanned.hash
                _track_vault(working, scanned)
                # Decoded bodies count toward the batch size: with each block's decoding
                # bounded, a batch holds at most batch_max_bytes + one block in memory.
                t2 = time.perf_counter()
                item = _Scanned(f.height, scanned, block_contents(scanned), len(f.raw))
                st.commit_s += time.perf_counter() - t2  # decoding was part of building tables
                batch.append(item)
                batch_bytes += item.memory
                self.stats.sources[f.source] = self.stats.sources.get(f.source, 0) + 1
                progress.advance(height=f.height, nbytes=len(f.raw))
                stopping = self.stop.is_set()
                if f.height >= seg_end or batch_bytes >= self.cfg.batch_max_bytes or stopping:
                    self._timed_commit(batch, working)
                    batch, batch_bytes = [], 0
                    seg_end = self._segment_end(f.height + 1, final_line, target)
                if stopping:
                    break
            if batch:
                self._timed_commit(batch, working)
        finally:
            stream.close()
            # Where the decoding thread's time went: blocked on the fetch pool, scanning, or
            # building tables + writing + committing (prefetch works when the first is small).
            progress.close(
                fetch_wait_s=round(st.fetch_wait_s - waited, 3),
                scan_s=round(st.scan_s - scanning, 3),
                commit_s=round(st.commit_s - committing, 3),
            )
        self.vault = {outpoint_from_text(t) for t in self._store.manifest.vault_unspent}

    def _next_fetched(self, stream: Iterator[Fetched]) -> Fetched | None:
        """The next block of the stream; None at its end, or when the node no longer knows a
        block it listed (its chain changed: the caller commits what it has and re-syncs)."""
        try:
            return next(stream, None)
        except BlockUnknownError as exc:
            event(
                self.log,
                logging.INFO,
                "chain_changed",
                block=exc.block_hash,
                reason="the node no longer knows this block",
                action="re-checking the node's chain",
            )
            return None

    def _extends(self, expected_prev: str | None, scanned: ScannedBlock, height: int) -> bool:
        """Whether the block's parent is the previous block (a changed chain if not)."""
        prev = hash_to_hex(scanned.header.prev_hash)
        if expected_prev is None or prev == expected_prev:
            return True
        event(
            self.log,
            logging.INFO,
            "chain_changed",
            height=height,
            parent=prev,
            expected=expected_prev,
            action="re-checking the node's chain",
        )
        return False

    def _timed_commit(self, batch: list[_Scanned], working: set[bytes]) -> None:
        started = time.perf_counter()
        self._commit_batch(batch, working)
        self.stats.commit_s += time.perf_counter() - started

    def _scan_verified(
        self, f: Fetched, working: set[bytes], fetcher: BlockFetcher
    ) -> tuple[Fetched, ScannedBlock]:
        """``f`` scanned, once its bytes are the block it was fetched for (header hash, merkle
        root and witness commitment, checked by the fetcher). Bytes that fail, or do not scan,
        are fetched again from the next source (:meth:`BlockFetcher.fallback`); when none is
        left, :class:`CorruptBlockError` stops the follower before anything of the block is
        committed."""
        failed: list[tuple[Source, str]] = []
        while True:
            problem = f.problem
            if problem is None:
                try:
                    scanned = self._scan(f, working)
                except DecodeError as exc:
                    problem = str(exc)
                else:
                    if failed:
                        self.stats.refetched += 1
                        event(
                            self.log,
                            logging.INFO,
                            "block_refetched",
                            height=f.height,
                            source=f.source,
                        )
                    return f, scanned
            failed.append((f.source, problem))
            nxt = fetcher.fallback([src for src, _ in failed])
            event(
                self.log,
                logging.WARNING,
                "block_rejected",
                height=f.height,
                hash=f.hash,
                source=f.source,
                reason=problem,
                action=f"re-fetching via {nxt}" if nxt else "stopping",
            )
            if nxt is None:
                raise CorruptBlockError(
                    _corrupt_message(f, failed), height=f.height, block_hash=f.hash
                )
            f = fetcher.fetch_via(nxt, f.height, f.hash)

    def _scan(self, f: Fetched, working: set[bytes]) -> ScannedBlock:
        return scan_block(
            f.raw,
            find_inscriptions=f.height >= self._first_inscription,
            vault_scripts=self._scripts,
            vault_outpoints=working,
        )

    def _commit_batch(self, batch: list[_Scanned], working: set[bytes]) -> None:
        store = self._store
        start, end = batch[0].height, batch[-1].height
        last = batch[-1].block
        tables = tables_for_blocks(
            [(b.height, b.block) for b in batch], contents=[b.contents for b in batch]
        )
        seg = store.write_segment(tables, start=start, end=end, end_hash=last.hash)
        entries = [
            BlockEntry(
                b.height,
                b.block.hash,
                tuple(f"{o.txid}:{o.vout}" for o in b.block.vault_outputs),
                tuple(f"{s.spent_txid}:{s.spent_vout}" for s in b.block.vault_spends),
            )
            for b in batch
        ]
        m = store.manifest
        final = max(m.final_height, self._final_pending)
        new = m.evolve(
            segments=(*m.segments, seg),
            recent=trim_recent((*m.recent, *entries), tip=end, final_height=final),
            tip_height=end,
            tip_hash=last.hash,
            final_height=final,
            vault_unspent=tuple(sorted(outpoint_text(k) for k in working)),
        )
        self._commit(new)
        nbytes = sum(b.raw_bytes for b in batch)
        self.stats.blocks += len(batch)
        self.stats.bytes += nbytes
        if len(batch) == 1 and self.node_tip is not None and end >= self.node_tip.height - 1:
            self._tip_status(end, last, nbytes)
        self.compact()
        store.collect_garbage(retire_grace=self.cfg.retire_grace)

    def _tip_status(self, height: int, block: ScannedBlock, nbytes: int) -> None:
        latency = None
        wake = self._wake
        if wake is not None and wake.reason == "zmq" and wake.received_ns:
            latency = round((time.monotonic_ns() - wake.received_ns) / 1e6, 2)
            self.stats.latencies_ms.append(latency)
            self._wake = None  # one latency per notification
        lag = None if self.node_tip is None else max(0, self.node_tip.height - height)
        event(
            self.log,
            logging.INFO,
            "block",
            height=height,
            hash=block.hash,
            txs=block.tx_count,
            bytes=nbytes,
            inscriptions=len(block.inscriptions),
            vault_outputs=len(block.vault_outputs),
            vault_spends=len(block.vault_spends),
            lag=lag,
            latency_ms=latency,
        )

    def _commit(self, manifest: Manifest) -> Manifest:
        committed = self._store.commit(manifest)
        self.stats.commits += 1
        if self.on_commit is not None:
            self.on_commit(committed)
        return committed

    # -- compaction -----------------------------------------------------------------------------
    def compact(self) -> int:
        """Merge the segments of every complete, final range into one range shard."""
        store = self._store
        merged = 0
        while True:
            m = store.manifest
            group = _compactable(m)
            if group is None:
                return merged
            seg = store.merge(group)
            keep = [s for s in m.segments if s.end < group[0].start]
            rest = [s for s in m.segments if s.start > group[-1].end]
            self._commit(m.evolve(segments=(*keep, seg, *rest)))
            merged += 1
            self.stats.compactions += 1
            event(
                self.log,
                logging.DEBUG,
                "compacted",
                start=seg.start,
                end=seg.end,
                segments=len(group),
            )


def _compactable(m: Manifest) -> list[Segment] | None:
    r = m.range_blocks
    groups: dict[int, list[Segment]] = {}
    for s in m.segments:
        if s.end > m.final_height:
            break
        groups.setdefault(s.start // r, []).append(s)
    for k, segs in groups.items():
        if len(segs) < 2:
            continue
        first = max(k * r, m.start_height)
        if segs[0].start == first and segs[-1].end == k * r + r - 1:
            return segs
    return None


def vault_set(
    store: ShardStore, segments: Iterable[Segment], *, initial: Iterable[str]
) -> set[str]:
    """Unspent vault outpoints after ``segments``, rebuilt from their vault tables: the initial
    outpoints plus every vault output, minus every vault spend."""
    unspent = set(initial)
    outs: list[str] = []
    spent: set[str] = set()
    for s in segments:
        if "vault_outputs" in s.files:
            t = pq.read_table(store.root / s.files["vault_outputs"], columns=["txid", "vout"])
            outs += [
                f"{a}:{b}"
                for a, b in zip(t["txid"].to_pylist(), t["vout"].to_pylist(), strict=True)
            ]
        if "vault_spends" in s.files:
            t = pq.read_table(
                store.root / s.files["vault_spends"], columns=["spent_txid", "spent_vout"]
            )
            spent |= {
                f"{a}:{b}"
                for a, b in zip(
                    t["spent_txid"].to_pylist(), t["spent_vout"].to_pylist(), strict=True
                )
            }
    return (unspent | set(outs)) - spent


def _corrupt_message(f: Fetched, failed: list[tuple[Source, str]]) -> str:
    tried = "; ".join(f"{src}: {reason}" for src, reason in failed)
    return (
        f"block {f.height} {f.hash} fails verification from every source ({tried}). The "
        "node serves a corrupt copy of it: check its disk, then restart bitcoind with "
        "-reindex (or re-sync it) and run the follower again. Nothing was committed for this "
        "block."
    )


def _diff(old: object, new: object) -> str:
    if not isinstance(old, dict) or not isinstance(new, dict):
        return "unreadable settings"
    keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    return ", ".join(f"{k}: {old.get(k)!r} → {new.get(k)!r}" for k in keys)


def _track_vault(working: set[bytes], scanned: ScannedBlock) -> None:
    """The vault outpoints unspent after ``scanned``: its vault outputs in, its spends out."""
    for o in scanned.vault_outputs:
        working.add(outpoint_key(o.txid, o.vout))
    for s in scanned.vault_spends:
        working.discard(outpoint_key(s.spent_txid, s.spent_vout))
