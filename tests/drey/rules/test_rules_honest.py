"""End to end: honest months through :func:`drey.rules.evaluate`, heights checked by hand
against PROTOCOL.md §4, §5, §8, §9 with the scenario's small windows (c = 2, race_offset 2,
vrf 2, lead 3, race 4, share 3)."""

from __future__ import annotations

import hashlib

from drey.crypto.poseidon import field_to_bytes, poseidon2
from drey.formula import allocate_reference
from drey.rules import evaluate
from drey.rules.calendar import month_index

from .scenario import ScenarioBuilder


def _naive_root(leaves: list[int]) -> int:
    size = 2
    while size < len(leaves):
        size *= 2
    level = leaves + [0] * (size - len(leaves))
    while len(level) > 1:
        level = [poseidon2(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def _naive_months_root(leaves: list[int], depth: int) -> int:
    level = leaves + [0] * ((1 << depth) - len(leaves))
    zero = 0
    for _ in range(depth):
        # All-zero pairs hash to the next zero: compute it once per level (mostly empty).
        up = poseidon2(zero, zero)
        level = [
            up if a == b == zero else poseidon2(a, b)
            for a, b in zip(level[0::2], level[1::2], strict=True)
        ]
        zero = up
    return level[0]


def test_honest_month_heights_statuses_and_roots(builder: ScenarioBuilder) -> None:
    rec = builder.play_round("2025-01", 0)
    ev = builder.evaluate()
    m = ev.month("2025-01")
    # S = 30 (planned), B = max(S, params height 2) = 30, G_0 = B + c − 1 = 31.
    assert (m.snapshot, m.prev_snapshot, m.start) == (30, 2, 30)
    assert (m.eligible, m.need, m.race_quorum) == (5, 4, 3)  # ⌈2·5/3⌉ = 4, ⌊4/2⌋ + 1 = 3
    r = m.rounds[0]
    assert r.seed_height == 31
    assert r.lead_height == 34  # first block of the lead window G + vw + 1
    assert (r.race_open, r.race_end) == (36, 39)
    assert (r.close, r.close_s, r.reveal_start, r.share_end) == (36, 36, 38, 40)
    assert r.decision.outcome == "accepted" and r.decision.height == 38
    assert r.decision.support == 5
    assert [p.rank for p in r.race] == [1, 2, 3, 4] and r.late == ()
    assert m.outcome == "accepted" and m.decided_height == 38 and m.accepted_round == 0
    assert ev.tip_height == builder.tip and ev.confirmations(38) == builder.tip - 37
    assert m.publication == rec.publication
    assert all(s.status == "valid" for s in ev.statuses), [
        (s.kind, s.status, s.detail) for s in ev.statuses if s.status != "valid"
    ]
    # Roots recomputed independently of drey.merkle.
    rows = list(m.rows)
    assert [u for u, _, _ in rows] == [101, 102, 103]
    dreybits = allocate_reference(rows, pool=1_000_000)
    assert m.dreybits == tuple(dreybits) and sum(dreybits) == 1_000_000
    mi = month_index("2025-01")
    leaves = [poseidon2(u * 2**32 + mi, d) for (u, _, _), d in zip(rows, dreybits, strict=True)]
    root = _naive_root(leaves)
    assert m.month_root == field_to_bytes(root)
    commitment = poseidon2(root, 3)
    assert m.commitment == field_to_bytes(commitment)
    assert m.months_root == field_to_bytes(_naive_months_root([commitment], 16))
    assert ev.months_roots == (("2025-01", m.months_root),)
    # No offences in an honest month; rewards wait for the share window's end (40).
    assert ev.penalties == () and m.rewards == () and not m.rewards_final


def test_rewards_and_settlement_after_share_window(builder: ScenarioBuilder) -> None:
    builder.play_round("2025-01", 0)
    builder.extend_to(40)
    m = builder.evaluate().month("2025-01")
    assert m.rewards_final and m.settled
    r = m.rounds[0]
    # Deposits at S: 100,000 sats × fee 100 bps = 1,000; lead 60 % = 600; rest 400 over
    # k = 4 ranks: 400·4//10 = 160, 120, 80, 40 (sum 400, no remainder).
    by_rank = {row.rank: row.sats for row in m.rewards}
    assert m.pool_sats == 1_000
    assert by_rank == {None: 600, 1: 160, 2: 120, 3: 80, 4: 40}
    lead_row = next(row for row in m.rewards if row.role == "lead")
    assert lead_row.actuary == r.lead
    ranked = [row.actuary for row in sorted(m.rewards, key=lambda x: x.rank or 0) if row.rank]
    assert ranked == [p.actuary for p in r.race]


def test_second_month_extends_the_history_and_seeds_from_acceptance(
    builder: ScenarioBuilder,
) -> None:
    builder.play_round("2025-01", 0)
    builder.play_round("2025-02", 0)
    ev = builder.evaluate()
    jan, feb = ev.month("2025-01"), ev.month("2025-02")
    assert feb.prev_snapshot == 30 and feb.snapshot == 90 and feb.start == 90
    assert feb.outcome == "accepted"
    # age: deposits at height 3 are in 2025-01, so one whole month in 2025-02.
    assert {age for _, _, age in feb.rows} == {1}
    # sat_blocks over S_jan < h ≤ S_feb = 60 heights.
    assert feb.rows[0] == (101, 50_000 * 60, 1)
    assert jan.rows[0] == (101, 50_000 * 28, 0)  # heights 3 … 30
    assert jan.commitment is not None and feb.commitment is not None
    leaves = [int.from_bytes(jan.commitment, "big"), int.from_bytes(feb.commitment, "big")]
    assert feb.months_root == field_to_bytes(_naive_months_root(leaves, 16))
    assert [m for m, _ in ev.months_roots] == ["2025-01", "2025-02"]


def test_evaluation_is_stable_as_the_tip_grows(builder: ScenarioBuilder) -> None:
    builder.play_round("2025-01", 0)
    builder.extend_to(45)
    full = builder.evaluate()
    for tip in (31, 34, 36, 38, 40):
        part = builder.evaluate(tip)
        for s in part.statuses:
            if s.status != "pending":
                assert full.status(s.inscription_id) == s, (tip, s)
        m = part.month("2025-01")
        if m.outcome != "pending":
            assert m.decided_height == full.month("2025-01").decided_height
    early = builder.evaluate(35)
    assert early.month("2025-01").outcome == "pending"
    assert early.pending_month == "2025-01"


def test_messages_above_the_tip_are_left_out_and_months_without_snapshot_pend(
    builder: ScenarioBuilder,
) -> None:
    builder.play_round("2025-01", 0)
    ev = builder.evaluate(20)
    assert ev.months == () and ev.pending_month == "2025-01"
    assert len(ev.statuses) == len([m for m in builder.messages if m.height <= 20])
    later = builder.messages[-1]
    assert later.inscription_id not in ev.by_id


def test_evaluate_is_pure(builder: ScenarioBuilder) -> None:
    builder.play_round("2025-01", 0)
    chain = builder.chain()
    a = evaluate(
        chain,
        builder.messages,
        founder=builder.keys.founder,
        tip_height=builder.tip,
        formula_parts=builder.formula_parts,
    )
    b = evaluate(
        chain,
        list(reversed(builder.messages)),
        founder=builder.keys.founder,
        tip_height=builder.tip,
        formula_parts=builder.formula_parts,
    )
    assert a == b
    assert (
        hashlib.sha256(repr(a.statuses).encode()).digest()
        == hashlib.sha256(repr(b.statuses).encode()).digest()
    )
