"""The cyclic garbage collector paused for the length of a run (``[dagster] collector``).

Why: a run at 100,000 users holds millions of long-lived objects (the parsed messages, the
vault outputs of the chain view, the saved evaluation and its statuses, the memo), and
CPython's cyclic collector walks every one of them on each full collection. Loading and
building them allocates enough to start several full collections per run: at 100,000 users
they were half of a resumed ``rules_evaluation`` (4.9 → 2.4 s) and of loading the saved
messages (2.3 → 0.7 s) (``docs/benchmarks.md``, "The collector paused").

Reference counting still frees everything as soon as it is dropped; only garbage that forms
reference cycles waits until the run ends. The pipelines' data (frozen dataclasses, tuples,
Arrow tables) forms none, and a run's own cyclic garbage (Dagster's events, tracebacks) is
small (the benchmark states the peak memory beside the default). When the collector is
enabled again, the next collection finds whatever cycles the run left.

Limits: the pause is per process. Under the in-process executor it spans the whole run;
under the multiprocess executor each step's process pauses its own. ``"running"`` leaves
CPython's default, for a deployment whose own resources build cyclic garbage at volume.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Disable the cyclic collector inside the block; enable it again after, if it was
    enabled before (nested pauses, or a process that disabled it itself, are left as they
    were)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
