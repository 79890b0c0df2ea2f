"""The unpickled state files of the store, kept in memory for as long as the definitions live.

Every run of the pipelines reads the typed state its steps hand each other (the parsed
messages, the rules engine's evaluation, its memo): at 100,000 users that is ~250 MB of pickles
and ~9 s of unpickling per tick, most of it state the previous step or the previous tick has
just written. A :class:`StateCache` remembers the last value written or read per state file,
keyed by the file's identity (inode, modification time, size), so a read of an unchanged file
returns the object in memory and a write primes the cache for the next reader.

Its lifetime is the :class:`dagster.Definitions` that :func:`pipelines.definitions.build_definitions`
built (a resource dependency of ``warehouse``, never a module global):

- the main job (``drey-warehouse``), the benchmarks and the tests run every run in one long
  process: state survives between runs and ticks;
- under the Dagster daemon each run loads the code location in its own process: the cache
  lives for that run (one load per state per run, as before).

Limits, stated:
- a cached value is shared by every reader: the steps treat state as read-only (the engine's
  types are frozen dataclasses; lists and dicts are not copied);
- memory: one value per state name, the newest; between ticks the process keeps what a tick
  loads anyway (its peak is unchanged; its floor rises to it, ~1.5 GB at 100,000 users);
- another process writing the store (a daemon run beside the main job) changes the file's
  identity: the next read unpickles the new file. The writer lock keeps them from interleaving.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Stamp = tuple[int, int, int]


def file_stamp(path: Path) -> Stamp:
    """What identifies one write of a state file: each save replaces it (a new inode)."""
    st = path.stat()
    return (st.st_ino, st.st_mtime_ns, st.st_size)


@dataclass
class StateCache:
    """The newest value of each state file, with the stamp it was read or written under."""

    entries: dict[Path, tuple[Stamp, Any]] = field(default_factory=dict)
    # Values kept in memory only (no file): what a step can rebuild, kept to build less.
    kept: dict[str, Any] = field(default_factory=dict)
    hits: int = 0
    misses: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def read(self, path: Path, load: Callable[[Path], Any], default: Any = None) -> Any:
        """The value of the state file at ``path`` (``default`` when there is none): from
        memory while the file is the one last seen, else ``load(path)`` and remembered."""
        try:
            stamp = file_stamp(path)
        except FileNotFoundError:
            with self._lock:
                self.entries.pop(path, None)
            return default
        with self._lock:
            hit = self.entries.get(path)
            if hit is not None and hit[0] == stamp:
                self.hits += 1
                return hit[1]
        value = load(path)
        with self._lock:
            self.misses += 1
            self.entries[path] = (stamp, value)
        return value

    def wrote(self, path: Path, value: Any) -> None:
        """``value`` was just written to ``path``: the next read returns it as it is."""
        stamp = file_stamp(path)
        with self._lock:
            self.entries[path] = (stamp, value)

    def remember(self, name: str, value: Any) -> None:
        with self._lock:
            self.kept[name] = value

    def recall(self, name: str) -> Any:
        with self._lock:
            return self.kept.get(name)

    def forget(self, path: Path) -> None:
        with self._lock:
            self.entries.pop(path, None)
