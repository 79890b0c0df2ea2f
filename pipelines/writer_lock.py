"""One writer at a time for a warehouse store.

Every file the assets write is atomic, but the set is not: a Dagster run launched by a sensor
and the main job's ``--watch`` tick writing the same store at once could publish messages of
one tip beside an evaluation of another. So every writer holds ``<store>/.writer.lock``
(``flock``, released by the kernel when the process dies, so a crash never leaves it stuck)
for the whole of what it writes: a Dagster run for its run (the ``warehouse`` resource takes
it), the main job for a whole build or tick (spanning its runs).

Re-entrant per process: the main job holds the lock while its in-process runs take it again.
A second ``flock`` from the same process would wait on itself, so the holder's pid is kept in
the file (cleared on release) and a process that finds its own pid there already holds it.
Re-entrant per run as well: under the multiprocess executor the run's own process holds the
lock for the whole run (:mod:`pipelines.executor`) and its steps, each a process of its own,
find their run's id in the file.
A second writer waits up to ``wait`` seconds, saying once who holds the lock, then gets
:class:`WarehouseBusyError`.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

from pipelines.errors import WarehouseBusyError

__all__ = ["LOCK_NAME", "writer_lock"]

LOCK_NAME = ".writer.lock"
_POLL = 0.2


@contextlib.contextmanager
def writer_lock(
    root: Path,
    *,
    holder: str,
    wait: float = 600.0,
    log: logging.Logger | None = None,
    run: str = "",
) -> Iterator[None]:
    """Hold the writer lock of the store at ``root`` (created if missing) as ``holder``; a
    Dagster run passes its ``run`` id, and a holder of the same run counts as this one."""
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    try:
        if not _acquire(fd, root, holder=holder, wait=wait, log=log, run=run):
            yield  # this process or run holds it already (an outer writer_lock)
            return
        try:
            yield
        finally:
            os.ftruncate(fd, 0)  # before unlocking: nobody may read a stale pid as its own
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _acquire(
    fd: int, root: Path, *, holder: str, wait: float, log: logging.Logger | None, run: str
) -> bool:
    """True once this call holds the lock; False when this process or run held it already."""
    deadline = time.monotonic() + wait
    said = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid, owner, owner_run = _holder(fd)
            if pid == os.getpid() or (run and owner_run == run):
                return False
            if time.monotonic() >= deadline:
                raise WarehouseBusyError(
                    f"the warehouse store {root} is being written by {owner or 'another process'}"
                    f" (pid {pid or '?'}); waited {wait:.0f} s. Let it finish (or stop it) and "
                    "run again."
                ) from None
            if not said and log is not None:
                log.info("waiting for the warehouse writer lock held by %s (pid %s)", owner, pid)
                said = True
            time.sleep(_POLL)
            continue
        os.ftruncate(fd, 0)
        run_line = f"{run}\n" if run else ""
        os.pwrite(fd, f"{os.getpid()}\n{holder}\n{run_line}".encode(), 0)
        return True


def _holder(fd: int) -> tuple[int | None, str, str]:
    """The holder's pid, name and run id, as its file says."""
    lines = os.pread(fd, 1024, 0).decode(errors="replace").split("\n")
    owner = lines[1].strip() if len(lines) > 1 else ""
    run = lines[2].strip() if len(lines) > 2 else ""
    try:
        return int(lines[0]), owner, run
    except ValueError:
        return None, "", ""
