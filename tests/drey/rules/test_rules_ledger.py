"""Stakes, plans, balances and formula input rows (PROTOCOL.md §3, §6)."""

from __future__ import annotations

import hashlib

from drey.messages import Plan, Stake, xonly_public_key
from drey.rules import Holding, bind_stakes_and_plans, formula_rows, snapshot_heights

from .scenario import ScenarioBuilder, ScenarioKeys

OTHER_SCRIPT = bytes.fromhex("0014") + bytes(20)


def _ledger(sb: ScenarioBuilder, tip: int):  # type: ignore[no-untyped-def]
    p = sb.params.resolved()
    return bind_stakes_and_plans(
        sorted(sb.messages, key=lambda m: m.position),
        sb.chain(tip),
        first_position=sb.params_pm.position,
        params_at=lambda h: p,
        tip=tip,
    )[:2]


def test_holding_counts_from_creation_until_its_spend() -> None:
    h = Holding(b"o" * 36, height=10, value=7, spent=15)
    assert [h.counts_at(x) for x in (9, 10, 14, 15)] == [False, True, True, False]
    assert h.heights_counted(1, 100) == 5  # 10 … 14
    assert h.heights_counted(12, 13) == 2
    assert h.heights_counted(15, 20) == 0
    assert Holding(b"o" * 36, 10, 7, None).heights_counted(8, 12) == 3


def test_binding_rules(keys: ScenarioKeys) -> None:
    sb = ScenarioBuilder(keys, snapshots=[30])
    ok = sb.stake(1, 10_000, 3)
    # outpoint must be the carrying transaction's first input prevout.
    a2 = keys.actuary(2)
    wrong = sb.inscribe(
        3, Stake(a2.key, sb.funding_outpoint()).signed(a2.secret), vault_values=(10_000,)
    )
    # Two bindings in one transaction: both quarantined.
    a3, a4 = keys.actuary(3), keys.actuary(4)
    prevout = sb.funding_outpoint()
    first = sb.inscribe(
        4,
        Stake(a3.key, prevout).signed(a3.secret),
        vault_values=(5_000,),
        first_input_prevout=prevout,
    )
    second = sb.inscribe(
        4, Stake(a4.key, prevout).signed(a4.secret), txid=first.txid, inscription_index=1
    )
    # A stake by a key outside the roster.
    outsider = hashlib.sha256(b"outsider").digest()
    po = sb.funding_outpoint()
    stranger = sb.inscribe(
        5,
        Stake(xonly_public_key(outsider), po).signed(outsider),
        vault_values=(9_000,),
        first_input_prevout=po,
    )
    # A plan signed by someone other than the operator.
    po = sb.funding_outpoint()
    unsigned = sb.inscribe(
        5,
        Plan(7, keys.owner(7), po).signed(outsider),
        vault_values=(1_000,),
        first_input_prevout=po,
    )
    # A later plan for user 8 must repeat its owner.
    good_plan = sb.plan(8, 1_000, 5)
    other_owner = sb.plan(8, 2_000, 6, owner=keys.owner(9))
    # A stake whose output pays a script that is not a vault: valid message, no stake.
    po = sb.funding_outpoint()
    off_vault = sb.inscribe(
        6,
        Stake(keys.actuary(5).key, po).signed(keys.actuary(5).secret),
        vault_values=(50_000,),
        first_input_prevout=po,
        script=OTHER_SCRIPT,
    )
    ledger, statuses = _ledger(sb, 10)
    got = {s.inscription_id: (s.status, s.reason) for s in statuses}
    assert got[ok.inscription_id] == ("valid", None)
    assert got[wrong.inscription_id] == ("quarantined", "outpoint_mismatch")
    assert got[first.inscription_id] == ("quarantined", "multiple_bindings")
    assert got[second.inscription_id] == ("quarantined", "multiple_bindings")
    assert got[stranger.inscription_id] == ("quarantined", "not_roster")
    assert got[unsigned.inscription_id] == ("quarantined", "bad_signature")
    assert got[good_plan.inscription_id] == ("valid", None)
    assert got[other_owner.inscription_id] == ("quarantined", "owner_mismatch")
    assert got[off_vault.inscription_id] == ("valid", None)
    assert ledger.stake_at(keys.actuary(1).key, 10) == 10_000
    for i in (2, 3, 4, 5):
        assert ledger.stake_at(keys.actuary(i).key, 10) == 0
    assert ledger.deposit_at(8, 10) == 1_000 and 7 not in ledger.deposits
    assert ledger.owners[8] == keys.owner(8)


def test_balances_follow_spends_up_to_the_tip(keys: ScenarioKeys) -> None:
    sb = ScenarioBuilder(keys, snapshots=[30])
    st = sb.stake(1, 10_000, 3)
    sb.stake(1, 4_000, 5)
    pl = sb.plan(101, 20_000, 4)
    sb.withdraw(st, 8)
    sb.withdraw(pl, 12)
    ledger, _ = _ledger(sb, 20)
    key = keys.actuary(1).key
    assert [ledger.stake_at(key, h) for h in (2, 3, 5, 7, 8)] == [0, 10_000, 14_000, 14_000, 4_000]
    assert ledger.total_deposits_at(11) == 20_000 and ledger.total_deposits_at(12) == 0
    # A spend above the tip is not known yet.
    ledger_10, _ = _ledger(sb, 10)
    assert ledger_10.deposit_at(101, 10) == 20_000
    assert ledger_10.deposits[101][0].spent is None


def test_formula_rows_sat_blocks_and_age(keys: ScenarioKeys) -> None:
    sb = ScenarioBuilder(keys, snapshots=[30, 60, 90])
    a = sb.plan(5, 100, 10)  # Jan
    sb.plan(5, 10, 40)  # Feb, same user: aggregated
    sb.plan(3, 1_000, 70)  # Mar: first deposit after S_feb → no Feb row
    sb.plan(9, 7, 31)  # Feb
    sb.withdraw(a, 45)
    sb.extend_to(95)
    ledger, _ = _ledger(sb, 95)
    snaps = snapshot_heights(sb.chain(95), first_month="2025-01", base=2, tip=95)
    assert snaps.heights == (30, 60, 90)
    rows, overflow = formula_rows(ledger, month="2025-02", snapshots=snaps)
    assert not overflow
    # user 5: 100 sats at 31 … 44 (14 heights) + 10 sats at 40 … 60 (21 heights).
    assert rows == [(5, 100 * 14 + 10 * 21, 1), (9, 7 * 30, 0)]
    rows_mar, _ = formula_rows(ledger, month="2025-03", snapshots=snaps)
    assert rows_mar == [(3, 1_000 * 21, 0), (5, 10 * 30, 2), (9, 7 * 30, 1)]
    jan, _ = formula_rows(ledger, month="2025-01", snapshots=snaps)
    assert jan == [(5, 100 * 21, 0)]  # heights 10 … 30


def test_formula_rows_flag_overflow(keys: ScenarioKeys) -> None:
    sb = ScenarioBuilder(keys, snapshots=[30])
    sb.plan(1, 2**63, 28)  # 3 heights × 2^63 ≥ 2^64
    sb.extend_to(31)
    ledger, _ = _ledger(sb, 31)
    snaps = snapshot_heights(sb.chain(31), first_month="2025-01", base=2, tip=31)
    rows, overflow = formula_rows(ledger, month="2025-01", snapshots=snaps)
    assert overflow and rows == [(1, 3 * 2**63, 0)]
