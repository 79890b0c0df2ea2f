"""Months, snapshots and month membership of heights (PROTOCOL.md §4, §6, §7).

S_M, the snapshot of month M, is the first height h > S_{M−1} with MTP(h) ≥ 00:00 UTC of the
first day after M; for the first month S_{M−1} is the height of the first params. Height h
belongs to month M iff S_{M−1} < h ≤ S_M. Heights at or below the first params' height belong
to no month; for stake, plan and deposit accounting (which needs the params of "the month
containing h") they are counted in the first month (see docs/protocol/rules.md).
"""

from __future__ import annotations

import bisect
import calendar as _calendar
from collections.abc import Sequence
from dataclasses import dataclass, replace

from drey.messages.fields import is_month
from drey.rules.inputs import ChainView, RulesInputError

__all__ = [
    "Snapshots",
    "add_months",
    "extend_snapshots",
    "month_end_timestamp",
    "month_index",
    "months_between",
    "next_month",
    "snapshot_heights",
]


def _check(month: str) -> tuple[int, int]:
    if not is_month(month):
        raise RulesInputError(f"{month!r} is not a month YYYY-MM with year ≥ 1970")
    return int(month[:4]), int(month[5:])


def month_index(month: str) -> int:
    """(year − 1970) × 12 + (month − 1) (§7)."""
    year, mon = _check(month)
    return (year - 1970) * 12 + (mon - 1)


def month_from_index(index: int) -> str:
    """Inverse of :func:`month_index`."""
    if index < 0:
        raise RulesInputError(f"month index {index} is before 1970-01")
    return f"{1970 + index // 12:04d}-{index % 12 + 1:02d}"


def add_months(month: str, count: int) -> str:
    """``month`` shifted by ``count`` months (may be negative)."""
    return month_from_index(month_index(month) + count)


def next_month(month: str) -> str:
    return add_months(month, 1)


def months_between(earlier: str, later: str) -> int:
    """Whole months from ``earlier`` to ``later`` (negative if ``later`` is before)."""
    return month_index(later) - month_index(earlier)


def month_end_timestamp(month: str) -> int:
    """Unix time of 00:00 UTC on the first day after ``month``."""
    year, mon = _check(month)
    if mon == 12:
        year, mon = year + 1, 1
    else:
        mon += 1
    return _calendar.timegm((year, mon, 1, 0, 0, 0))


@dataclass(frozen=True, slots=True)
class Snapshots:
    """S_M for the months first_month, first_month + 1, … whose snapshot is at or below
    the tip; ``base`` is S_{first−1}, the first params' height."""

    first_month: str
    base: int
    heights: tuple[int, ...]

    def snapshot(self, month: str) -> int | None:
        """S_M, or ``None`` if M is not reached yet (or precedes the first month, for which
        the answer is ``None`` too: use :meth:`previous` for S_{first−1})."""
        i = months_between(self.first_month, month)
        if 0 <= i < len(self.heights):
            return self.heights[i]
        return None

    def previous(self, month: str) -> int | None:
        """S_{M−1}: the base for the first month."""
        i = months_between(self.first_month, month)
        if i == 0:
            return self.base
        return self.snapshot(add_months(month, -1)) if i > 0 else None

    @property
    def last_month(self) -> str | None:
        """The last month whose snapshot is known."""
        if not self.heights:
            return None
        return add_months(self.first_month, len(self.heights) - 1)

    def month_of_height(self, height: int) -> str:
        """The month containing ``height``: the first M with S_M ≥ height. Heights ≤ base
        count in the first month; heights past the last known snapshot are in the month
        after it (its snapshot is not reached yet)."""
        return add_months(self.first_month, self.month_offset(height))

    def month_offset(self, height: int) -> int:
        """Months from the first month to :meth:`month_of_height` (0 for the first)."""
        return bisect.bisect_left(self.heights, height)

    def months(self) -> list[str]:
        return [add_months(self.first_month, i) for i in range(len(self.heights))]


def snapshot_heights(chain: ChainView, *, first_month: str, base: int, tip: int) -> Snapshots:
    """Every S_M ≤ ``tip`` from the first month on, scanning MTP upward from ``base + 1``.

    One pass over the heights (each MTP sorts 11 times); months whose end MTP reaches in the
    same block get consecutive snapshots (S_M = S_{M−1} + 1 at the earliest).
    """
    none_yet = Snapshots(first_month=first_month, base=base, heights=())
    return extend_snapshots(chain, none_yet, after=base, tip=tip)


def extend_snapshots(chain: ChainView, known: Snapshots, *, after: int, tip: int) -> Snapshots:
    """``known`` (every S_M ≤ ``after``) with the snapshots at heights ``after + 1`` … ``tip``:
    the scan of :func:`snapshot_heights` continued from where it stopped."""
    tip = min(tip, chain.tip)
    heights = list(known.heights)
    month = add_months(known.first_month, len(heights))
    target = month_end_timestamp(month)
    h = after + 1
    times = chain.times
    b = chain.base_height
    while h <= tip:
        lo = max(b, h - 10) - b
        window: Sequence[int] = times[lo : h - b + 1]
        if sorted(window)[len(window) // 2] >= target:
            heights.append(h)
            month = next_month(month)
            target = month_end_timestamp(month)
        h += 1
    return replace(known, heights=tuple(heights))
