"""An append-mostly list saved as immutable segments, so a save writes only what is new.

The parsed messages grow like the chain: a new block appends its messages, a reorg replaces
the last few. Pickling the whole list at every block (331,000 messages at 100,000 users:
~4 s) is replaced by segments::

    state/<name>/index.pkl          the segments in order: (file name, item count)
    state/<name>/<n>.pkl            one immutable run of items

:func:`save_segments` is given the new list and how many of its leading items the saved
list already holds (``kept``, e.g. by identity). Segments that end within the kept prefix
stay; the rest of the list is written as one new segment, then the tail is merged while the
segment before the last holds fewer than twice as many items as the last (the logarithmic
method: each item is rewritten O(log n) times over the list's life). The new index is the
commit point (written beside and renamed); files it no longer names are removed after it.
A crash leaves the old index and some unnamed files, which the next save removes.
"""

from __future__ import annotations

import os
import pickle
import secrets
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from indexer.shards.writer import fsync_dir

INDEX = "index.pkl"
Dump = Callable[[Path, Any], None]


def load_segments(root: Path, load: Callable[[Path], Any]) -> list[Any] | None:
    """The saved list (``None`` when none was saved), its segments read with ``load``."""
    index = root / INDEX
    if not index.exists():
        return None
    items: list[Any] = []
    for name, count in load(index):
        part = load(root / name)
        if len(part) != count:
            raise ValueError(f"{root / name}: {len(part)} items, the index says {count}")
        items.extend(part)
    return items


def save_segments(root: Path, items: Sequence[Any], *, kept: int, dump: Dump) -> Path:
    """Save ``items``, whose first ``kept`` are those of the saved list; returns the index."""
    root.mkdir(parents=True, exist_ok=True)
    index = root / INDEX
    old: list[tuple[str, int]] = pickle.loads(index.read_bytes()) if index.exists() else []
    segments: list[tuple[str, int]] = []
    start = 0
    for name, count in old:
        if start + count > kept:
            break
        segments.append((name, count))
        start += count
    if start < len(items):
        segments.append((_write(root, items[start:], dump), len(items) - start))
    while len(segments) >= 2 and segments[-2][1] < 2 * segments[-1][1]:
        merged = segments[-2][1] + segments[-1][1]
        begin = len(items) - merged
        segments[-2:] = [(_write(root, items[begin:], dump), merged)]
    dump(index, segments)
    fsync_dir(root)
    named = {name for name, _ in segments} | {INDEX}
    for path in root.iterdir():
        if path.name not in named:
            path.unlink(missing_ok=True)
    return index


def _write(root: Path, items: Sequence[Any], dump: Dump) -> str:
    name = f"{os.getpid()}-{secrets.token_hex(6)}.pkl"
    dump(root / name, tuple(items))
    return name
