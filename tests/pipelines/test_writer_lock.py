"""One writer at a time for a warehouse store: a second process waits, then is refused with
who holds it; a crashed holder frees it; a Dagster run takes it for the whole run; the main
job's outer hold and its in-process runs share it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from pipelines import build_definitions
from pipelines.errors import WarehouseBusyError
from pipelines.settings import Warehouse
from pipelines.writer_lock import writer_lock

from .chainfix import DemoChain
from .harness import Pipeline

HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from pipelines.writer_lock import writer_lock
    run = sys.argv[2] if len(sys.argv) > 2 else ""
    with writer_lock(Path(sys.argv[1]), holder="a test holder", run=run):
        print("held", flush=True)
        time.sleep(60)
    """
)


def _hold(root: Path, run: str = "") -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(root), run], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_writer_waits_then_is_refused_naming_the_holder(tmp_path: Path) -> None:
    proc = _hold(tmp_path)
    try:
        start = time.monotonic()
        with (
            pytest.raises(WarehouseBusyError) as info,
            writer_lock(tmp_path, holder="me", wait=0.6),
        ):
            pass
        assert time.monotonic() - start >= 0.6
        assert "a test holder" in str(info.value) and f"pid {proc.pid}" in str(info.value)
        # A holder that dies (SIGKILL: no cleanup at all) frees the lock at once.
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        with writer_lock(tmp_path, holder="me", wait=5):
            assert (tmp_path / ".writer.lock").read_text().splitlines() == [str(os.getpid()), "me"]
        assert (tmp_path / ".writer.lock").read_text() == ""  # released: no stale pid
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_the_lock_is_reentrant_within_a_process(tmp_path: Path) -> None:
    with (
        writer_lock(tmp_path, holder="outer", wait=0.1),
        writer_lock(tmp_path, holder="inner", wait=0.1),
    ):
        assert "outer" in (tmp_path / ".writer.lock").read_text()
    proc = _hold(tmp_path)  # released by the outer exit: another process can take it
    proc.kill()
    proc.wait(10)


def test_a_process_of_the_holders_run_enters_and_another_run_waits(tmp_path: Path) -> None:
    # The multiprocess executor: the run's process holds the lock, each step (a process of
    # its own) re-enters it by the run's id; a step of another run is refused.
    proc = _hold(tmp_path, run="run-1")
    try:
        with writer_lock(tmp_path, holder="a step", wait=0.1, run="run-1"):
            assert "a test holder" in (tmp_path / ".writer.lock").read_text()
        with (
            pytest.raises(WarehouseBusyError, match="a test holder"),
            writer_lock(tmp_path, holder="another run's step", wait=0.3, run="run-2"),
        ):
            pass
        with pytest.raises(WarehouseBusyError), writer_lock(tmp_path, holder="no run", wait=0.3):
            pass
    finally:
        proc.kill()
        proc.wait(10)


def test_a_dagster_run_holds_the_lock_and_waits_for_another_writer(
    built: tuple[DemoChain, Pipeline],
) -> None:
    _, pipeline = built
    store = pipeline.warehouse.store.root
    w = pipeline.warehouse
    impatient = build_definitions(
        Warehouse(
            shard_root=w.shard_root, warehouse_dir=w.warehouse_dir, founder=w.founder, lock_wait=0.5
        )
    )
    proc = _hold(store)
    try:
        with pytest.raises(Exception) as info:
            impatient.resolve_job_def("chain_job").execute_in_process(instance=pipeline.instance)
        causes = []
        exc: BaseException | None = info.value
        while exc is not None:
            causes.append(exc)
            exc = exc.__cause__ or exc.__context__
        busy = [c for c in causes if isinstance(c, WarehouseBusyError)]
        assert busy and "being written by a test holder" in str(busy[0])
    finally:
        proc.kill()
        proc.wait(10)
    pipeline.run("chain_job")  # the holder is gone: the run takes the lock and succeeds
    assert (store / ".writer.lock").read_text() == ""
