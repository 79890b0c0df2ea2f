"""The shard root on disk: segment files, the manifest commit, garbage collection.

Layout (hive-style, so DuckDB/Polars globs can prune by bucket)::

    <root>/manifest.json                       the commit point (see manifest.py)
    <root>/.lock                               one follower per root (flock)
    <root>/<table>/height_bucket=<B>/<start>-<end>-<hash16>.parquet

``B`` is ``start // bucket_blocks * bucket_blocks``; heights are zero-padded to 9 digits;
``hash16`` is the last 16 hex digits of the block hash at ``end`` (display order, whose first
digits are zeros on mainnet), so a file name identifies its contents: a segment rewritten
after a reorg gets a new name, and a committed file is never overwritten or modified. Files
are written beside their name, fsynced and renamed (``write_parquet_atomic``) *before* the
manifest naming them is committed; files the manifest drops are deleted after
``retire_grace`` seconds (readers of the previous manifest may still be scanning them).

Only the follower writes here; readers use :func:`indexer.follow.reader.committed_files`.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from indexer.faults import crashpoint
from indexer.follow.errors import ManifestError, ShardRootBusyError, StorageError
from indexer.follow.logs import event
from indexer.follow.manifest import (
    MANIFEST_NAME,
    Manifest,
    Retired,
    Segment,
    now,
    read_manifest,
    write_manifest,
)
from indexer.shards.schema import SCHEMAS, TABLES
from indexer.shards.tables import ShardTables
from indexer.shards.writer import fsync_dir, write_parquet_atomic, write_parquet_parts_atomic

LOCK_NAME = ".lock"

_ADVICE = {
    errno.ENOSPC: "free disk space and restart the follower",
    errno.EDQUOT: "raise the disk quota (or free space) and restart the follower",
    errno.EACCES: "give the follower's user read and write access to the shard root",
    errno.EPERM: "give the follower's user read and write access to the shard root",
    errno.EROFS: "the file system is read-only: remount it read-write",
}

F = TypeVar("F", bound=Callable[..., Any])


def _storage_errors(what: str) -> Callable[[F], F]:
    """Turn a failing file operation of a :class:`ShardStore` method into one
    :class:`StorageError` line (what, where, why, what to do). The manifest is replaced
    last and atomically, so the committed state is whatever was committed before."""

    def wrap(method: F) -> F:
        @functools.wraps(method)
        def inner(self: ShardStore, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, *args, **kwargs)
            except OSError as exc:
                raise StorageError(_storage_message(what, self.root, self.manifest, exc)) from exc
            except pa.ArrowException as exc:
                raise StorageError(
                    f"cannot {what} in shard root {self.root}: a committed file is unreadable "
                    f"({str(exc)[:200]}); restore it, or rebuild with `indexer follow "
                    f"--rebuild-from <height>`"
                ) from exc

        return inner  # type: ignore[return-value]

    return wrap


def _storage_message(what: str, root: Path, manifest: Manifest, exc: OSError) -> str:
    code = errno.errorcode.get(exc.errno or 0, "?")
    advice = _ADVICE.get(exc.errno or 0, "check the disk and the shard root, then restart")
    where = f" ({exc.filename})" if exc.filename else ""
    return (
        f"cannot {what} in shard root {root}{where}: {exc.strerror or exc} ({code}); "
        f"nothing was committed past height {manifest.tip_height}; {advice}"
    )


_HEIGHT_COLUMN = {t: ("height" if t == "blocks" else "block_height") for t in TABLES}


def segment_path(table: str, start: int, end: int, end_hash: str, bucket_blocks: int) -> str:
    bucket = start // bucket_blocks * bucket_blocks
    return f"{table}/height_bucket={bucket}/{start:09d}-{end:09d}-{end_hash[-16:]}.parquet"


class ShardStore:
    """Exclusive writer of one shard root. Use :meth:`open` (takes the lock, loads the
    manifest, deletes garbage) and :meth:`close`."""

    def __init__(self, root: Path, manifest: Manifest, lock_fd: int, log: logging.Logger):
        self.root = root
        self.manifest = manifest
        self._lock_fd = lock_fd
        self._log = log

    @classmethod
    def open(
        cls,
        root: Path,
        *,
        empty: Manifest,
        retire_grace: float,
        log: logging.Logger,
    ) -> ShardStore:
        """Open ``root`` (created if missing); ``empty`` is the manifest of a new root."""
        try:
            root.mkdir(parents=True, exist_ok=True)
            fd = os.open(root / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StorageError(_storage_message("open", root, empty, exc)) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise ShardRootBusyError(
                f"shard root {root} is locked by another follower (pid {holder})"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        try:
            try:
                manifest = read_manifest(root)
            except ManifestError as exc:
                raise ManifestError(
                    f"{exc}. Nothing was changed; restore {MANIFEST_NAME} from a backup, or move "
                    f"the shard root {root} aside and index again into a new one"
                ) from None
            store = cls(root, manifest or empty, fd, log)
            if manifest is None:
                store.commit(empty)
            store.collect_garbage(retire_grace=retire_grace, at_start=True)
        except BaseException:
            os.close(fd)
            raise
        return store

    def close(self) -> None:
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1

    def __enter__(self) -> ShardStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing --------------------------------------------------------------------------------
    @_storage_errors("write a segment")
    def write_segment(
        self,
        tables: ShardTables,
        *,
        start: int,
        end: int,
        end_hash: str,
    ) -> Segment:
        """Write the non-empty tables of ``[start, end]`` as files (not yet committed)."""
        rows: dict[str, int] = {}
        files: dict[str, str] = {}
        for table, data in tables.items():
            if data.num_rows == 0 and table != "blocks":
                continue
            rel = segment_path(table, start, end, end_hash, self.manifest.bucket_blocks)
            self._ensure_dir((self.root / rel).parent)
            write_parquet_atomic(data, self.root / rel)
            rows[table] = data.num_rows
            files[table] = rel
        crashpoint("segment_written")
        return Segment(start, end, end_hash, rows, files)

    def _ensure_dir(self, directory: Path) -> None:
        """Create ``directory`` durably: a new directory entry is only on disk once its parent
        is fsynced, and a committed file in a directory that vanished would be lost."""
        missing = []
        d = directory
        while not d.is_dir():
            missing.append(d)
            d = d.parent
        for d in reversed(missing):
            d.mkdir(exist_ok=True)
            fsync_dir(d.parent)

    @_storage_errors("commit the manifest")
    def commit(self, manifest: Manifest) -> Manifest:
        """Make ``manifest`` the committed state (version bumped, files dropped since the last
        commit retired); returns what was committed."""
        old = self.manifest
        committed = manifest.committed_paths()
        retired = [r for r in manifest.retired if r.path not in committed]
        known = {r.path for r in retired}
        t = now()
        for path in old.committed_paths() - committed:
            if path not in known:
                retired.append(Retired(path, t))
                known.add(path)
        new = manifest.evolve(version=old.version + 1, retired=tuple(retired), committed_at=t)
        new.check(source="new manifest")
        write_manifest(self.root, new)
        self.manifest = new
        crashpoint("committed")
        return new

    @_storage_errors("delete retired files")
    def collect_garbage(self, *, retire_grace: float, at_start: bool = False) -> int:
        """Delete retired files older than ``retire_grace`` (committing the shorter retired
        list), and at start every shard file the manifest does not know (crash leftovers)."""
        m = self.manifest
        committed = m.committed_paths()
        t = now()
        expired = [r for r in m.retired if t - r.since >= retire_grace and r.path not in committed]
        removed = 0
        if at_start:
            keep = committed | {r.path for r in m.retired if r not in expired}
            for path in self._shard_files():
                rel = path.relative_to(self.root).as_posix()
                if rel not in keep:
                    path.unlink(missing_ok=True)
                    removed += 1
            for tmp in self.root.glob(f".{MANIFEST_NAME}.*.tmp"):
                tmp.unlink(missing_ok=True)
        for r in expired:
            (self.root / r.path).unlink(missing_ok=True)
            removed += 1
        if expired:
            crashpoint("garbage_deleted")
            self.commit(m.evolve(retired=tuple(r for r in m.retired if r not in expired)))
        if at_start:
            self._remove_empty_dirs()
        if removed:
            event(self._log, logging.DEBUG, "garbage_collected", files=removed, at_start=at_start)
        return removed

    def _shard_files(self) -> Iterable[Path]:
        for table in TABLES:
            base = self.root / table
            if not base.is_dir():
                continue
            for path in base.rglob("*"):
                if path.is_file():
                    yield path

    def _remove_empty_dirs(self) -> None:
        for table in TABLES:
            base = self.root / table
            if not base.is_dir():
                continue
            for d in sorted((p for p in base.rglob("*") if p.is_dir()), reverse=True):
                with contextlib.suppress(OSError):
                    d.rmdir()

    # -- reading back (compaction, truncation, rebuild) ------------------------------------------
    def read_table(self, segments: Sequence[Segment], table: str) -> pa.Table:
        parts = [pq.read_table(self.root / s.files[table]) for s in segments if table in s.files]
        if not parts:
            return SCHEMAS[table].empty_table()
        return pa.concat_tables([p.cast(SCHEMAS[table]) for p in parts])

    @_storage_errors("compact segments")
    def merge(self, segments: Sequence[Segment]) -> Segment:
        """One segment with the rows of consecutive ``segments`` (files written, not
        committed). Streams: one segment's table is in memory at a time, so a range of blocks
        full of (budget-sized) decoded bodies merges in the memory of one segment."""
        first, last = segments[0], segments[-1]
        rows: dict[str, int] = {}
        files: dict[str, str] = {}
        for table in TABLES:
            count = sum(s.rows.get(table, 0) for s in segments)
            if count == 0 and table != "blocks":
                continue
            rel = segment_path(
                table, first.start, last.end, last.end_hash, self.manifest.bucket_blocks
            )
            self._ensure_dir((self.root / rel).parent)
            parts = (self.read_table([s], table) for s in segments if table in s.files)
            write_parquet_parts_atomic(parts, self.root / rel, schema=SCHEMAS[table])
            rows[table] = count
            files[table] = rel
        crashpoint("range_written")
        return Segment(first.start, last.end, last.end_hash, rows, files)

    @_storage_errors("truncate a segment")
    def truncate(self, segment: Segment, end: int) -> Segment:
        """``segment`` cut to ``[start, end]`` (files written, not committed)."""
        tables = {}
        for t in TABLES:
            data = self.read_table([segment], t)
            tables[t] = data.filter(pc.less_equal(data[_HEIGHT_COLUMN[t]], end))
        blocks = tables["blocks"]
        hashes = blocks.filter(pc.equal(blocks["height"], end))["hash"].to_pylist()
        if len(hashes) != 1:
            raise ManifestError(
                f"segment {segment.start}-{segment.end} has no block row at height {end}"
            )
        return self.write_segment(
            ShardTables(**tables),
            start=segment.start,
            end=end,
            end_hash=hashes[0],
        )

    @_storage_errors("read committed block hashes")
    def block_hashes(self, lo: int, hi: int) -> dict[int, str]:
        """Committed ``height -> hash`` for heights in ``[lo, hi]`` (read from the blocks
        files of the segments overlapping the range)."""
        segs = [s for s in self.manifest.segments if s.end >= lo and s.start <= hi]
        out: dict[int, str] = {}
        for s in segs:
            t = pq.read_table(self.root / s.files["blocks"], columns=["height", "hash"])
            for h, x in zip(t["height"].to_pylist(), t["hash"].to_pylist(), strict=True):
                if lo <= h <= hi:
                    out[h] = x
        return out
