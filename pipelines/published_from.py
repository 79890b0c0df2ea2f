"""What the live warehouse file was built from, so the next publication rebuilds only what
changed.

A publication records, beside the store's state, a :class:`Manifest`: the identity of the
file it published (inode, size, modification time), the *basis* every table shares (the
storage version, this DuckDB's version, the table registry's DDL and the SQL files' text) and
a digest of each table's Parquet files. The next publication copies the live file beside
itself and reloads into the copy only the tables whose digest differs; the rest are kept as
they are. It rebuilds from nothing instead when:

- the manifest does not describe the live file (another file was put there, or a crash came
  between saving the manifest and the rename: the manifest is saved before the rename, so it
  names the new file, never a file it does not describe);
- the basis changed (new SQL, a new table, another DuckDB);
- the live file grew past :data:`COMPACT_FACTOR` times the size of the last full build
  (DuckDB reuses the blocks a reload frees, but not all of them; a full build compacts).

File digests are SHA-256 of the bytes, remembered by file identity: a file the assets did not
rewrite is not read again, and a rewritten file with the same bytes reloads nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pipelines.state_cache import Stamp, file_stamp

PUBLISHED_STATE = "published_from"
# A full build instead of a reload once the live file is this many times its fresh size.
COMPACT_FACTOR = 2.0
_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class Manifest:
    """The live file's identity, its basis, and the digest of every table's sources."""

    file: Stamp
    basis: str
    tables: Mapping[str, str]
    files: Mapping[str, tuple[Stamp, str]]  # source path → (its identity, its digest)
    fresh_size: int  # bytes of the last full build

    def reusable(self, live: Path, basis: str) -> bool:
        """Whether the live file is the one this manifest describes, on the same basis, and
        small enough to keep reloading into."""
        try:
            stamp = file_stamp(live)
        except FileNotFoundError:
            return False
        return (
            stamp == self.file
            and basis == self.basis
            and stamp[2] <= COMPACT_FACTOR * self.fresh_size
        )

    def changed(self, tables: Mapping[str, str]) -> list[str]:
        """The tables whose sources differ from the ones the live file holds."""
        return [t for t, digest in tables.items() if self.tables.get(t) != digest]


def basis_digest(parts: Iterable[str]) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "big") + part.encode())
    return h.hexdigest()


def table_digests(
    files: Mapping[str, Sequence[Path]], known: Mapping[str, tuple[Stamp, str]]
) -> tuple[dict[str, str], dict[str, tuple[Stamp, str]]]:
    """Each table's digest (its files' names and bytes) and the file digests, reusing
    ``known`` ones whose file is unchanged."""
    seen: dict[str, tuple[Stamp, str]] = {}
    tables: dict[str, str] = {}
    for table, paths in files.items():
        h = hashlib.sha256()
        for path in paths:
            stamp = file_stamp(path)
            hit = known.get(str(path))
            digest = hit[1] if hit is not None and hit[0] == stamp else _file_digest(path)
            seen[str(path)] = (stamp, digest)
            h.update(f"{path.name}\0{digest}\n".encode())
        tables[table] = h.hexdigest()
    return tables, seen


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()
