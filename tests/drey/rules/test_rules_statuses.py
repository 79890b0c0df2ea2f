"""Statuses the driver gives around windows and rounds (PROTOCOL.md §1, §8, §9): the share
window outlives an early acceptance, rounds that do not exist, months before first_month
and months not reached yet."""

from __future__ import annotations

from drey.rules import evaluate

from .scenario import RoundPlan, ScenarioBuilder


def test_shares_stay_valid_until_the_window_ends_after_an_early_acceptance(
    builder: ScenarioBuilder,
) -> None:
    rec = builder.play_round("2025-01", 0, RoundPlan(share_skip=frozenset({4, 5})))
    assert rec.evaluation.decision.height == 38  # t = 3 shares at RS suffice
    owed = [builder.message(rec.lead_package or "")] + [
        builder.message(s) for s in rec.secondaries.values()
    ]
    in_time = builder.shares("2025-01", 0, 4, owed, 40)  # W = RS + 3 − 1 = 40
    too_late = builder.shares("2025-01", 0, 5, owed, 41)
    builder.extend_to(45)
    ev = builder.evaluate()
    assert ev.status(in_time.inscription_id).status == "valid"
    assert ev.status(too_late.inscription_id).status == "ignored"
    r = ev.month("2025-01").rounds[0]
    assert {s.status for s in r.shares if s.shares_id == in_time.inscription_id} == {"valid"}
    assert {s.status for s in r.shares if s.shares_id == too_late.inscription_id} == {"ignored"}
    withheld = {p.actuary for p in ev.penalties if p.offence == "withheld_share"}
    assert withheld == {builder.keys.actuary(5).key}
    assert next(p for p in ev.penalties).height == 40


def test_round_and_month_existence(builder: ScenarioBuilder) -> None:
    before = builder.vrf("2024-12", 0, 1, 5, 6)
    beyond = builder.vrf("2025-01", 3, 1, 31, 32)  # max_rounds = 3: rounds 0 … 2
    unused = builder.vrf("2025-01", 1, 1, 31, 32)  # round 0 is accepted: round 1 never runs
    future = builder.vrf("2025-03", 0, 1, 31, 32)
    builder.play_round("2025-01", 0)
    ev = builder.evaluate()
    assert ev.status(before.inscription_id).status == "ignored"
    assert ev.status(beyond.inscription_id).status == "ignored"
    assert ev.status(unused.inscription_id).status == "ignored"
    assert ev.status(future.inscription_id).status == "pending"
    assert ev.pending_month == "2025-02"


def test_pending_round_messages_and_premature_shares_before_rs(builder: ScenarioBuilder) -> None:
    rec = builder.play_round("2025-01", 0)
    lead_pm = builder.message(rec.lead_package or "")
    ev = builder.evaluate(36)  # race closed at 36, RS = 38: nothing revealed yet
    r = ev.month("2025-01").rounds[0]
    assert (r.close, r.reveal_start) == (36, 38)
    assert ev.status(lead_pm.inscription_id).status == "pending"
    assert ev.month("2025-01").outcome == "pending"
    assert all(v.outcome == "pending" for v in r.reveals)
    assert {ev.status(s).status for s in rec.secondaries.values()} == {"pending"}
    # A shares message already mined before RS is final as premature.
    early = builder.shares("2025-01", 0, 3, [lead_pm], 35)
    ev = builder.evaluate(36)
    assert ev.status(early.inscription_id).status == "premature"
    # …but the offence is decided at RS (38): not reported at tip 36.
    assert ev.penalties == ()
    assert {p.offence for p in builder.evaluate(38).penalties} == {"premature_share"}


def test_decided_facts_do_not_change_as_the_tip_grows(builder: ScenarioBuilder) -> None:
    """Replaying an unhappy month at every tip: each non-pending status, decision and
    offence row seen at tip T is exactly what the final evaluation says."""
    builder.play_month(
        "2025-01",
        [
            RoundPlan(lead_posts=False),
            RoundPlan(share_skip=frozenset({2}), vrf_skip=frozenset({4})),
        ],
    )
    builder.extend_to(60)
    final = builder.evaluate()
    final_rounds = final.month("2025-01").rounds
    assert final.month("2025-01").outcome == "accepted"
    for tip in range(30, 61):
        ev = builder.evaluate(tip)
        for s in ev.statuses:
            if s.status != "pending":
                assert final.status(s.inscription_id) == s, (tip, s)
        assert set(ev.penalties) <= set(final.penalties), tip
        for r in ev.months[0].rounds if ev.months else ():
            if r.decision.outcome != "pending":
                assert final_rounds[r.round].decision == r.decision, tip


def test_missing_formula_module_falls_back_to_the_reference(builder: ScenarioBuilder) -> None:
    builder.play_round("2025-01", 0)
    ev = builder.evaluate()
    m = ev.month("2025-01")
    assert m.formula_source == "module"
    assert {(c.name, c.passed) for c in ev.checks if c.name.startswith("formula")} == {
        ("formula_module", True),
        ("formula_reference", True),
    }
    bare = evaluate(
        builder.chain(), builder.messages, founder=builder.keys.founder, tip_height=builder.tip
    )
    mb = bare.month("2025-01")
    assert mb.formula_source == "reference" and mb.dreybits == m.dreybits
    check = next(c for c in bare.checks if c.name == "formula_module")
    assert not check.passed and "missing_part" in check.detail
    assert mb.outcome == "accepted"
