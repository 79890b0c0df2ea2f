"""Crash points for the crash-safety tests.

``INDEXER_FOLLOW_CRASH=<name>[:<n>]`` makes the process SIGKILL itself the ``n``-th time (default
1st) it reaches :func:`crashpoint` ``name``: the same as a power cut at that instant, as far as
the shard root is concerned (every write before it was fsynced or not, exactly as the code
left it). Unset in production; checking it costs one dictionary lookup.

Names: ``segment_written`` (files of a batch durable, manifest not yet replaced),
``manifest_written`` (new manifest fsynced beside the old one, not renamed), ``committed``
(manifest renamed, retired files not yet deleted), ``range_written`` (a compacted range file
durable, not yet committed), ``rolled_back`` (rollback committed, before going forward).
"""

from __future__ import annotations

import os
import signal

_ENV = "INDEXER_FOLLOW_CRASH"
_counts: dict[str, int] = {}


def crashpoint(name: str) -> None:
    spec = os.environ.get(_ENV)
    if not spec:
        return
    target, _, nth = spec.partition(":")
    if target != name:
        return
    _counts[name] = _counts.get(name, 0) + 1
    if _counts[name] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
