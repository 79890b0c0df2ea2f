"""Backfill progress: a rich progress bar (blocks/s, MB/s, ETA) on a terminal, and a log line
every ``log_every`` seconds either way (so a service's journal shows progress too)."""

from __future__ import annotations

import logging
import time
from typing import Any

from indexer.follow.logs import event


class Progress:
    def __init__(
        self,
        *,
        start: int,
        target: int,
        bar: bool,
        log: logging.Logger,
        log_every: float = 10.0,
        quiet: bool = False,
    ) -> None:
        self._quiet = quiet
        self.start = start
        self.target = target
        self.total = max(0, target - start + 1)
        self.done = 0
        self.bytes = 0
        self._t0 = time.monotonic()
        self._last_log = self._t0
        self._log = log
        self._log_every = log_every
        self._bar: Any = None
        self._task: Any = None
        if bar and self.total:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
            from rich.progress import (
                Progress as RichProgress,
            )

            self._bar = RichProgress(
                TextColumn("[bold]backfill[/] {task.fields[height]}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[bps]:>7.1f} blocks/s {task.fields[mbps]:>6.1f} MB/s"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                transient=False,
            )
            self._bar.start()
            self._task = self._bar.add_task(
                "backfill", total=self.total, height=start, bps=0.0, mbps=0.0
            )

    def rates(self) -> tuple[float, float]:
        elapsed = max(time.monotonic() - self._t0, 1e-9)
        return self.done / elapsed, self.bytes / elapsed / 1e6

    def advance(self, *, height: int, nbytes: int) -> None:
        self.done += 1
        self.bytes += nbytes
        now = time.monotonic()
        if self._bar is not None:
            bps, mbps = self.rates()
            self._bar.update(self._task, advance=1, height=height, bps=bps, mbps=mbps)
        if not self._quiet and now - self._last_log >= self._log_every:
            self._last_log = now
            self._emit(height)

    def _emit(self, height: int) -> None:
        bps, mbps = self.rates()
        left = self.total - self.done
        event(
            self._log,
            logging.INFO,
            "backfill",
            height=height,
            target=self.target,
            done=self.done,
            blocks_per_s=round(bps, 1),
            mb_per_s=round(mbps, 2),
            eta_s=round(left / bps) if bps > 0 else None,
        )

    def close(self, **fields: Any) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
        if self.done and not self._quiet:
            bps, mbps = self.rates()
            event(
                self._log,
                logging.INFO,
                "backfill_done" if self.done >= self.total else "backfill_paused",
                blocks=self.done,
                seconds=round(time.monotonic() - self._t0, 2),
                blocks_per_s=round(bps, 1),
                mb_per_s=round(mbps, 2),
                **fields,
            )
