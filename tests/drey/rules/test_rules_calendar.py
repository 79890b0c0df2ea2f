"""Months, MTP, snapshots and month membership (PROTOCOL.md §4, §7), on hand-built header
times."""

from __future__ import annotations

import calendar

import pytest

from drey.messages import Quarantine
from drey.rules import (
    ChainView,
    PositionedMessage,
    RulesInputError,
    add_months,
    median_time_past,
    month_end_timestamp,
    month_index,
    months_between,
    next_month,
    snapshot_heights,
)
from drey.rules.inputs import sort_messages

JAN_END = calendar.timegm((2025, 2, 1, 0, 0, 0))
FEB_END = calendar.timegm((2025, 3, 1, 0, 0, 0))


def _chain(times: list[int]) -> ChainView:
    return ChainView(
        base_height=0,
        block_hashes=tuple(bytes([h % 256]) * 32 for h in range(len(times))),
        times=tuple(times),
    )


def test_month_arithmetic() -> None:
    assert month_index("1970-01") == 0
    assert month_index("2025-03") == 55 * 12 + 2
    assert next_month("2025-12") == "2026-01"
    assert add_months("2025-01", -1) == "2024-12"
    assert months_between("2024-11", "2025-02") == 3
    assert month_end_timestamp("2025-01") == JAN_END
    assert month_end_timestamp("2024-12") == calendar.timegm((2025, 1, 1, 0, 0, 0))
    with pytest.raises(RulesInputError):
        month_index("1969-12")
    with pytest.raises(RulesInputError):
        add_months("1970-01", -1)


def test_median_time_past_is_cores() -> None:
    assert median_time_past([5, 1, 3]) == 3
    assert median_time_past([4, 1, 3, 2]) == 3  # element ⌊k/2⌋ of the sorted times
    chain = _chain([100, 50, 70, 90, 10, 20, 30, 40, 60, 80, 110, 5])
    # Height 11 looks at heights 1 … 11: {50,70,90,10,20,30,40,60,80,110,5} → 50.
    assert chain.mtp(11) == 50
    assert chain.mtp(0) == 100
    with pytest.raises(RulesInputError):
        chain.mtp(12)


def test_snapshot_is_the_first_height_whose_mtp_reaches_the_month_end() -> None:
    # Heights 0 … 19 in January, 20 … 39 past its end, 40 … past February's end.
    times = [JAN_END - 100 + h for h in range(20)]
    times += [JAN_END + h for h in range(20)]
    times += [FEB_END + h for h in range(20)]
    chain = _chain(times)
    snaps = snapshot_heights(chain, first_month="2025-01", base=2, tip=59)
    # MTP(h) ≥ JAN_END once 6 of the 11 times are: h = 25. Likewise h = 45.
    assert snaps.heights == (25, 45)
    assert chain.mtp(24) < JAN_END <= chain.mtp(25)
    assert snaps.snapshot("2025-01") == 25 and snaps.previous("2025-01") == 2
    assert snaps.previous("2025-02") == 25 and snaps.snapshot("2025-03") is None
    assert snaps.last_month == "2025-02"
    # Membership: S_{M−1} < h ≤ S_M; heights ≤ base count in the first month.
    assert snaps.month_of_height(1) == "2025-01"
    assert snaps.month_of_height(25) == "2025-01"
    assert snaps.month_of_height(26) == "2025-02"
    assert snaps.month_of_height(46) == "2025-03"  # not reached yet: the next month
    # The tip cuts the scan.
    assert snapshot_heights(chain, first_month="2025-01", base=2, tip=44).heights == (25,)


def test_months_whose_end_passed_together_get_consecutive_snapshots() -> None:
    times = [JAN_END - 100 + h for h in range(10)] + [FEB_END + 10 + h for h in range(20)]
    snaps = snapshot_heights(_chain(times), first_month="2025-01", base=3, tip=29)
    assert snaps.heights == (15, 16)


def test_chain_view_shape_checks() -> None:
    with pytest.raises(RulesInputError):
        ChainView(base_height=0, block_hashes=(bytes(32),), times=())
    with pytest.raises(RulesInputError):
        ChainView(base_height=0, block_hashes=(bytes(31),), times=(1,))
    view = ChainView(base_height=5, block_hashes=(bytes(32),), times=(1,))
    assert view.tip == 5 and view.has(5) and not view.has(4)
    with pytest.raises(RulesInputError):
        view.block_hash(6)


def test_messages_sort_by_position_and_refuse_repeats() -> None:
    def pm(h: int, tx: int, i: int, iid: str) -> PositionedMessage:
        return PositionedMessage(h, tx, i, iid, bytes(32), bytes(36), Quarantine("bad_cbor", ""))

    a, b, c = pm(2, 1, 0, "a"), pm(1, 5, 0, "b"), pm(2, 0, 3, "c")
    assert [m.inscription_id for m in sort_messages([a, b, c])] == ["b", "c", "a"]
    with pytest.raises(RulesInputError):
        sort_messages([a, pm(2, 1, 0, "d")])
    with pytest.raises(RulesInputError):
        sort_messages([a, pm(3, 1, 0, "a")])
