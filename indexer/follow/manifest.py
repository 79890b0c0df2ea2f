"""The manifest: the follower's single commit point.

``<shard root>/manifest.json`` names every committed shard file and the state needed to carry
on (tip, final height, recent block hashes with their vault deltas, unspent vault outpoints).
It is replaced atomically (written beside, fsynced, renamed, directory fsynced), so a reader
sees either the old or the new commit, never a mix. Shard files not named in it are garbage
from a crash (deleted at start), or retired files kept for a grace period so that readers
holding the previous manifest can finish.

Format (``format`` 1), keys in this order::

    {"format": 1, "version": 42, "committed_at": 1732400000.123,
     "settings": {"network", "start_height", "vault_scripts", "vault_outpoints"},
     "layout": {"range_blocks": 100, "bucket_blocks": 10000},
     "tip": {"height": 1234, "hash": "..."}, "final_height": 1222,
     "segments": [{"start": 0, "end": 99, "hash": "<hash at end>", "rows": {"blocks": 100, ...},
                   "files": {"blocks": "blocks/height_bucket=0/000000000-000000099-<hash16>.parquet", ...}}],
     "recent": [{"height": 1222, "hash": "...", "vault_created": ["txid:vout"], "vault_spent": []}],
     "vault_unspent": ["txid:vout", ...],
     "retired": [{"path": "inscriptions/height_bucket=0/...", "since": 1732399990.0}]}

``tip.height`` is ``start_height - 1`` and ``tip.hash`` null before the first block.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from indexer.follow.errors import ManifestError
from indexer.shards.schema import TABLES
from indexer.shards.writer import fsync_dir

MANIFEST_NAME = "manifest.json"
FORMAT = 1


@dataclass(frozen=True, slots=True)
class Segment:
    """A committed block range ``[start, end]``: one Parquet file per non-empty table."""

    start: int
    end: int
    end_hash: str
    rows: Mapping[str, int]
    files: Mapping[str, str]  # table -> path relative to the shard root

    @property
    def blocks(self) -> int:
        return self.end - self.start + 1

    def to_json(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "end": self.end,
            "hash": self.end_hash,
            "rows": dict(self.rows),
            "files": dict(self.files),
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Segment:
        return cls(
            int(obj["start"]),
            int(obj["end"]),
            str(obj["hash"]),
            {str(k): int(v) for k, v in obj["rows"].items()},
            {str(k): str(v) for k, v in obj["files"].items()},
        )


@dataclass(frozen=True, slots=True)
class BlockEntry:
    """A recent block: its hash (to detect reorgs) and what it did to the vault set (to undo
    it). Outpoints are ``txid:vout`` in display order."""

    height: int
    hash: str
    vault_created: tuple[str, ...] = ()
    vault_spent: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "height": self.height,
            "hash": self.hash,
            "vault_created": list(self.vault_created),
            "vault_spent": list(self.vault_spent),
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> BlockEntry:
        return cls(
            int(obj["height"]),
            str(obj["hash"]),
            tuple(obj.get("vault_created", ())),
            tuple(obj.get("vault_spent", ())),
        )


@dataclass(frozen=True, slots=True)
class Retired:
    """A file dropped from the committed set at wall time ``since``."""

    path: str
    since: float


@dataclass(frozen=True, slots=True)
class Manifest:
    version: int
    settings: Mapping[str, Any]
    range_blocks: int
    bucket_blocks: int
    tip_height: int
    tip_hash: str | None
    final_height: int
    segments: tuple[Segment, ...] = ()
    recent: tuple[BlockEntry, ...] = ()
    vault_unspent: tuple[str, ...] = ()
    retired: tuple[Retired, ...] = ()
    committed_at: float = field(default=0.0, compare=False)

    @classmethod
    def empty(
        cls, *, settings: Mapping[str, Any], range_blocks: int, bucket_blocks: int
    ) -> Manifest:
        start = int(settings["start_height"])
        return cls(
            version=0,
            settings=dict(settings),
            range_blocks=range_blocks,
            bucket_blocks=bucket_blocks,
            tip_height=start - 1,
            tip_hash=None,
            final_height=start - 1,
            vault_unspent=tuple(sorted(settings.get("vault_outpoints", ()))),
        )

    @property
    def start_height(self) -> int:
        return int(self.settings["start_height"])

    def committed_paths(self) -> set[str]:
        return {p for s in self.segments for p in s.files.values()}

    def files(self, table: str) -> list[str]:
        return [s.files[table] for s in self.segments if table in s.files]

    def entry(self, height: int) -> BlockEntry | None:
        for e in self.recent:
            if e.height == height:
                return e
        return None

    def evolve(self, **changes: Any) -> Manifest:
        return replace(self, **changes)

    # -- (de)serialization ----------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": self.version,
            "committed_at": self.committed_at,
            "settings": dict(self.settings),
            "layout": {"range_blocks": self.range_blocks, "bucket_blocks": self.bucket_blocks},
            "tip": {"height": self.tip_height, "hash": self.tip_hash},
            "final_height": self.final_height,
            "segments": [s.to_json() for s in self.segments],
            "recent": [e.to_json() for e in self.recent],
            "vault_unspent": list(self.vault_unspent),
            "retired": [{"path": r.path, "since": r.since} for r in self.retired],
        }

    def serialize(self) -> bytes:
        # One segment per line keeps diffs and `less` readable without indenting everything.
        obj = self.to_json()
        lines = ["{"]
        items = list(obj.items())
        for i, (key, value) in enumerate(items):
            comma = "," if i < len(items) - 1 else ""
            if key in ("segments", "recent", "retired") and value:
                inner = ",\n".join("  " + json.dumps(v, separators=(",", ":")) for v in value)
                lines.append(f"{json.dumps(key)}: [\n{inner}\n]{comma}")
            else:
                lines.append(f"{json.dumps(key)}: {json.dumps(value)}{comma}")
        lines.append("}")
        return ("\n".join(lines) + "\n").encode()

    @classmethod
    def deserialize(cls, data: bytes, *, source: str = "manifest") -> Manifest:
        try:
            obj = json.loads(data)
        except ValueError as exc:
            raise ManifestError(f"{source} is not JSON: {exc}") from None
        if not isinstance(obj, dict) or obj.get("format") != FORMAT:
            raise ManifestError(f"{source}: unsupported manifest format {obj.get('format')!r}")
        try:
            m = cls(
                version=int(obj["version"]),
                settings=dict(obj["settings"]),
                range_blocks=int(obj["layout"]["range_blocks"]),
                bucket_blocks=int(obj["layout"]["bucket_blocks"]),
                tip_height=int(obj["tip"]["height"]),
                tip_hash=obj["tip"]["hash"],
                final_height=int(obj["final_height"]),
                segments=tuple(Segment.from_json(s) for s in obj["segments"]),
                recent=tuple(BlockEntry.from_json(e) for e in obj["recent"]),
                vault_unspent=tuple(obj["vault_unspent"]),
                retired=tuple(Retired(str(r["path"]), float(r["since"])) for r in obj["retired"]),
                committed_at=float(obj.get("committed_at", 0.0)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ManifestError(f"{source}: missing or malformed field: {exc!r}") from None
        m.check(source=source)
        return m

    def check(self, *, source: str = "manifest") -> None:
        """The invariants every committed manifest holds (raise :class:`ManifestError`)."""
        expected = self.start_height
        for s in self.segments:
            if s.start != expected or s.end < s.start:
                raise ManifestError(
                    f"{source}: segment {s.start}-{s.end} leaves a gap or overlap (expected it "
                    f"to start at {expected})"
                )
            if "blocks" not in s.files or set(s.files) - set(TABLES):
                raise ManifestError(f"{source}: segment {s.start}-{s.end} has bad tables")
            expected = s.end + 1
        if expected - 1 != self.tip_height:
            raise ManifestError(
                f"{source}: segments end at {expected - 1} but the tip is {self.tip_height}"
            )
        if self.segments and self.segments[-1].end_hash != self.tip_hash:
            raise ManifestError(f"{source}: last segment's hash is not the tip hash")
        heights = [e.height for e in self.recent]
        if heights and heights != list(range(heights[0], heights[0] + len(heights))):
            raise ManifestError(f"{source}: recent blocks are not consecutive")
        if self.recent and (
            self.recent[-1].height != self.tip_height or self.recent[-1].hash != self.tip_hash
        ):
            raise ManifestError(f"{source}: recent blocks do not end at the tip")
        if self.tip_hash is not None and not self.recent:
            raise ManifestError(f"{source}: a non-empty index must keep its tip block")


def read_manifest(root: Path) -> Manifest | None:
    """The committed manifest under ``root``, or None when nothing was ever committed."""
    path = root / MANIFEST_NAME
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    return Manifest.deserialize(data, source=str(path))


def write_manifest(root: Path, manifest: Manifest) -> None:
    """Atomically replace ``root/manifest.json`` (the commit)."""
    from indexer.faults import crashpoint

    path = root / MANIFEST_NAME
    tmp = root / f".{MANIFEST_NAME}.{os.getpid()}.tmp"
    data = manifest.serialize()
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        crashpoint("manifest_written")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)  # gone after the rename; a leftover of a failed write
    fsync_dir(root)


def trim_recent(
    entries: Iterable[BlockEntry], *, tip: int, final_height: int
) -> tuple[BlockEntry, ...]:
    """Keep the entries a reorg can need: heights from ``min(tip, final_height)`` to the tip
    (the block at the final height anchors the fork-point search)."""
    floor = min(tip, final_height)
    return tuple(e for e in entries if floor <= e.height <= tip)


def now() -> float:
    return time.time()


def sorted_outpoints(items: Sequence[str] | set[str]) -> tuple[str, ...]:
    return tuple(sorted(items))
