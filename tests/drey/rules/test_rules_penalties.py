"""Rewards split, slashes with the monthly cap, key reuse order and redistribution
(PROTOCOL.md §5, §6's remainder rule, §9)."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from drey.rules import (
    KeyRegistry,
    MonthSlashes,
    OffenceEvent,
    key_reuse_set,
    pro_rata,
    race_rewards,
    redistribute,
    slash_month,
)
from drey.rules.rounds import RevealedKey

A, B, C = b"a" * 32, b"b" * 32, b"c" * 32


def test_race_rewards_split() -> None:
    assert race_rewards(1_000, 6_000, A, []) == [(A, "lead", None, 1_000)]
    assert race_rewards(1_000, 6_000, A, [B]) == [(A, "lead", None, 600), (B, "secondary", 1, 400)]
    # rest 401 over k = 3 (weights 3:2:1 of 6): 200, 133, 66 = 399, remainder 2 → rank 1.
    out = race_rewards(1_002, 6_000, A, [B, C, A])
    assert out == [
        (A, "lead", None, 601),
        (B, "secondary", 1, 202),
        (C, "secondary", 2, 133),
        (A, "secondary", 3, 66),
    ]
    assert sum(x[3] for x in out) == 1_002


@given(
    pool=st.integers(0, 10**15),
    lead_bps=st.integers(5_001, 10_000),
    k=st.integers(0, 12),
)
def test_race_rewards_conserve_the_pool(pool: int, lead_bps: int, k: int) -> None:
    race = [bytes([i]) * 32 for i in range(1, k + 1)]
    out = race_rewards(pool, lead_bps, A, race)
    assert sum(x[3] for x in out) == pool
    secondary = [x[3] for x in out if x[1] == "secondary"]
    assert secondary == sorted(secondary, reverse=True) or k == 0


def test_pro_rata_follows_the_formula_remainder_rule() -> None:
    # 10 over weights 1, 1, 1: 3 each, remainder 1 to the smallest user_id (equal remainders).
    assert pro_rata(10, [(9, 1), (4, 1), (7, 1)]) == [3, 4, 3]
    # Greatest remainder first: 7·2 mod 5 = 4 > 7·3 mod 5 = 1.
    assert pro_rata(7, [(1, 2), (2, 3)]) == [3, 4]
    assert pro_rata(5, [(1, 0), (2, 0)]) == [0, 0]
    assert pro_rata(0, [(1, 3)]) == [0]


@given(
    amount=st.integers(0, 10**12),
    weights=st.lists(st.integers(0, 10**9), min_size=1, max_size=20),
)
def test_pro_rata_is_exact(amount: int, weights: list[int]) -> None:
    rows = list(enumerate(weights))
    out = pro_rata(amount, rows)
    total = sum(weights)
    if total == 0:
        assert out == [0] * len(rows)
        return
    assert sum(out) == amount
    for (_, w), got in zip(rows, out, strict=True):
        exact = Fraction(amount * w, total)
        assert exact - 1 < got < exact + 1


def test_slashes_are_capped_per_month_in_decision_order() -> None:
    events = [
        OffenceEvent("2025-01", 1, "withheld_share", A, 50),
        OffenceEvent("2025-01", 0, "vrf_withheld", A, 33),
        OffenceEvent("2025-01", 0, "missed_lead", A, 36),
        OffenceEvent("2025-01", 0, "copy", B, 40),
        OffenceEvent("2025-01", 0, "key_reuse", B, 40),
    ]
    rows = slash_month(events, base={A: 10_000, B: 1_001}, penalty_bps=4_000)
    got = [(r.offence, r.actuary, r.height, r.slash) for r in rows]
    assert got == [
        ("vrf_withheld", A, 33, 4_000),
        ("missed_lead", A, 36, 4_000),
        ("copy", B, 40, 400),  # same height: §9's list order (copy before key_reuse)
        ("key_reuse", B, 40, 400),
        ("withheld_share", A, 50, 2_000),  # capped: 10,000 − 8,000
    ]
    assert (
        slash_month([OffenceEvent("2025-01", 0, "copy", C, 9)], base={}, penalty_bps=10_000)[
            0
        ].slash
        == 0
    )  # a member without stake


def test_redistribution_and_carry() -> None:
    rows_jan = ((1, 300), (2, 700))
    months = [
        MonthSlashes("2025-01", True, True, 10, rows_jan),
        MonthSlashes("2025-02", False, True, 7, ()),  # failed: carried
        MonthSlashes("2025-03", True, True, 5, ((1, 0), (2, 0))),  # all zero: carried
        MonthSlashes("2025-04", True, True, 3, ((3, 1), (4, 1))),
    ]
    out, carried, final = redistribute(months)
    assert [(r.month, r.user_id, r.sats) for r in out] == [
        ("2025-01", 1, 3),
        ("2025-01", 2, 7),
        ("2025-04", 3, 8),  # 7 + 5 + 3 = 15 over two equal rows: 7 each, remainder to 3
        ("2025-04", 4, 7),
    ]
    assert (carried, final) == (0, True)
    pending = [
        MonthSlashes("2025-01", False, False, 4, ()),
        MonthSlashes("2025-02", True, True, 1, rows_jan),
    ]
    out, carried, final = redistribute(pending)
    assert out == [] and (carried, final) == (0, True)
    out, carried, final = redistribute(pending[:1])
    assert out == [] and (carried, final) == (4, False)


def test_key_reuse_is_judged_in_reveal_order() -> None:
    k1, k2 = b"1" * 32, b"2" * 32
    before = KeyRegistry().with_keys([RevealedKey(A, 10, (10, 1, 0), k1, "old")])
    reveals = [
        RevealedKey(A, 30, (20, 1, 0), k2, "p3"),
        RevealedKey(A, 20, (25, 1, 0), k2, "p2"),  # revealed first: the original
        RevealedKey(A, 25, (26, 1, 0), k1, "p1"),  # k1 was revealed in an earlier month
        RevealedKey(B, 40, (27, 1, 0), k1, "other"),  # another actuary's equal k
    ]
    assert key_reuse_set(before, reveals) == frozenset({"p3", "p1"})
    assert not before.reused(A, k1, 10, (10, 1, 0))
    assert before.reused(A, k1, 11, (10, 1, 0))
