"""Months and the block time plan of a simulation.

Heights 1 … ``SETUP_BLOCKS`` are empty blocks (coinbase maturity for the funding), then one
block funds every wallet, one carries the formula parts and manifest, one the params: that is
P, the first params' height, S of the month before the first. All of them are stamped ten
minutes apart from the second day of the month before ``first_month``.

From P + 1 on, every calendar month gets ``blocks_per_month`` blocks, evenly spread: block j
of month M is stamped at start(M) + (2j + 1) · len(M) / (2 · blocks_per_month). Snapshots
follow MTP, the median of the last eleven header times, so S_M lands about six blocks into
the next month. The plan depends only on heights, never on what a block carries, so a reorg
(the new branch reuses each height's time) keeps every later time.
"""

from __future__ import annotations

import calendar as _calendar
import datetime as _dt
from dataclasses import dataclass

__all__ = [
    "SETUP_BLOCKS",
    "SETUP_INTERVAL",
    "TimePlan",
    "add_months",
    "month_end",
    "month_index",
    "month_of_timestamp",
    "month_start",
]

SETUP_BLOCKS = 300
SETUP_INTERVAL = 600
#: Heights after the empty setup blocks: funding, formula, params.
FUNDING_OFFSET, FORMULA_OFFSET, PARAMS_OFFSET = 1, 2, 3
_MTP_SPAN = 11


def month_index(month: str) -> int:
    return (int(month[:4]) - 1970) * 12 + int(month[5:7]) - 1


def _from_index(index: int) -> str:
    return f"{1970 + index // 12:04d}-{index % 12 + 1:02d}"


def add_months(month: str, count: int) -> str:
    return _from_index(month_index(month) + count)


def month_start(month: str) -> int:
    """Unix time of 00:00 UTC on the first day of ``month``."""
    return _calendar.timegm((int(month[:4]), int(month[5:7]), 1, 0, 0, 0))


def month_end(month: str) -> int:
    """Unix time of 00:00 UTC on the first day after ``month`` (what S_M waits for)."""
    return month_start(add_months(month, 1))


def month_of_timestamp(ts: int) -> str:
    d = _dt.datetime.fromtimestamp(ts, _dt.UTC)
    return f"{d.year:04d}-{d.month:02d}"


@dataclass(frozen=True, slots=True)
class TimePlan:
    """Block timestamps by height (see the module docstring)."""

    first_month: str
    blocks_per_month: int

    @property
    def params_height(self) -> int:
        return SETUP_BLOCKS + PARAMS_OFFSET

    @property
    def setup_start(self) -> int:
        return month_start(add_months(self.first_month, -1)) + 86_400

    def time(self, height: int) -> int:
        if height < 1:
            raise ValueError(f"height {height} has no planned time")
        if height <= self.params_height:
            return self.setup_start + (height - 1) * SETUP_INTERVAL
        k = height - self.params_height - 1
        month = add_months(self.first_month, k // self.blocks_per_month)
        j = k % self.blocks_per_month
        start = month_start(month)
        length = month_end(month) - start
        return start + (2 * j + 1) * length // (2 * self.blocks_per_month)

    def mtp(self, height: int) -> int:
        times = sorted(self.time(h) for h in range(max(1, height - _MTP_SPAN + 1), height + 1))
        return times[len(times) // 2]

    def planned_snapshots(self, months: int) -> list[int]:
        """S_M of the first ``months`` months as the plan predicts them (the chain decides;
        this is for scheduling customer activity inside a month)."""
        out = []
        prev = self.params_height
        month = self.first_month
        for _ in range(months):
            end = month_end(month)
            h = prev + 1
            while self.mtp(h) < end:
                h += 1
            out.append(h)
            prev = h
            month = add_months(month, 1)
        return out
