"""Crash points for the crash-safety tests.

``DREY_CRASH_AT=<name>[:<n>]`` makes the process SIGKILL itself the ``n``-th time (default 1st)
it reaches :func:`crashpoint` ``name``: the same as a power cut at that instant, as far as the
files are concerned (every write before it was fsynced or not, exactly as the code left it).
Unset in production; checking it costs one environment lookup.

Follower names: ``parquet_written`` (inside an atomic Parquet write: the temporary file
complete, not yet fsynced or renamed), ``segment_written`` (files of a batch durable, manifest
not yet replaced), ``manifest_written`` (new manifest fsynced beside the old one, not renamed),
``committed`` (manifest renamed, retired files not yet deleted), ``range_written`` (a compacted
range file durable, not yet committed), ``rolled_back`` (rollback committed, before going
forward), ``garbage_deleted`` (retired files deleted, the shorter retired list not yet
committed). Warehouse names: ``warehouse_built`` (the new DuckDB file complete beside the live
one, not yet renamed), ``month_written`` (one month partition of a table written).
"""

from __future__ import annotations

import os
import signal

_ENV = "DREY_CRASH_AT"
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
