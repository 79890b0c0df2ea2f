"""Params succession and params(M) (PROTOCOL.md §2)."""

from __future__ import annotations

import hashlib
from dataclasses import replace

from drey.messages import Params
from drey.rules import find_first_params, resolve_params, snapshot_heights

from .scenario import ScenarioBuilder, ScenarioKeys


def test_first_params_is_the_first_founder_signed_one(keys: ScenarioKeys) -> None:
    sb = ScenarioBuilder(keys, snapshots=[30, 90], params_height=5)
    stranger = hashlib.sha256(b"not the founder").digest()
    forged = replace(sb.params, sig=b"").signed(stranger)
    bad = sb.inscribe(4, forged)
    early_later = sb.inscribe(4, sb.make_params(effective_month="2025-02"))
    params_msgs = sorted(
        [m for m in sb.messages if isinstance(m.message, Params)], key=lambda m: m.position
    )
    first = find_first_params(params_msgs, founder=keys.founder)
    assert first is sb.params_pm
    ev = sb.evaluate(10)
    assert ev.first_params == sb.params_pm.inscription_id
    assert (ev.status(bad.inscription_id).status, ev.status(bad.inscription_id).reason) == (
        "quarantined",
        "bad_signature",
    )
    # A params with effective_month before any first params is bad_params.
    assert ev.status(early_later.inscription_id).reason == "bad_params"


def test_later_params_apply_from_their_month_if_mined_in_time(builder: ScenarioBuilder) -> None:
    # effective 2025-02 must be mined before S_2025-01 = 30.
    raised = builder.inscribe(20, builder.make_params(effective_month="2025-02", min_stake=20_000))
    builder.play_round("2025-01", 0)
    builder.extend_to(95)
    ev = builder.evaluate()
    assert ev.status(raised.inscription_id).status == "valid"
    jan, feb = ev.month("2025-01"), ev.month("2025-02")
    assert jan.params_id == builder.params_pm.inscription_id and jan.eligible == 5
    assert feb.params_id == raised.inscription_id and feb.params.min_stake == 20_000
    # Every actuary has 10,000 < 20,000: no quorum, the month fails at B_M with leaf 0.
    assert feb.no_quorum and feb.outcome == "failed" and feb.decided_height == 90


def test_params_mined_at_or_after_the_prior_snapshot_are_stale(builder: ScenarioBuilder) -> None:
    late = builder.inscribe(30, builder.make_params(effective_month="2025-02"))
    not_after = builder.inscribe(12, builder.make_params(effective_month="2025-01"))
    fine = builder.inscribe(31, builder.make_params(effective_month="2025-03", fee_bps=0))
    builder.extend_to(95)
    ev = builder.evaluate()
    s = ev.status(late.inscription_id)
    assert (s.status, s.reason) == ("quarantined", "stale_params")
    assert "S_2025-01 = 30" in s.detail
    assert ev.status(not_after.inscription_id).reason == "stale_params"
    assert ev.status(fine.inscription_id).status == "valid"


def test_params_for_month(builder: ScenarioBuilder) -> None:
    march = builder.inscribe(31, builder.make_params(effective_month="2025-03"))
    builder.extend_to(35)
    ev = builder.evaluate()
    assert ev.status(march.inscription_id).status == "valid"
    msgs = sorted(
        [m for m in builder.messages if isinstance(m.message, Params)], key=lambda m: m.position
    )
    snaps = snapshot_heights(builder.chain(), first_month="2025-01", base=2, tip=35)
    history, _ = resolve_params(msgs, founder=builder.keys.founder, snapshots=snaps)
    assert history.for_month("2024-12") is None
    assert history.for_month("2025-01").inscription_id == builder.params_pm.inscription_id  # type: ignore[union-attr]
    assert history.for_month("2025-02").inscription_id == builder.params_pm.inscription_id  # type: ignore[union-attr]
    assert history.for_month("2025-03").inscription_id == march.inscription_id  # type: ignore[union-attr]
    assert history.for_month("2031-07").inscription_id == march.inscription_id  # type: ignore[union-attr]


def test_messages_before_the_first_params_are_ignored(keys: ScenarioKeys) -> None:
    sb = ScenarioBuilder(keys, snapshots=[30], params_height=5)
    before = sb.stake(1, 10_000, 4)
    ev = sb.evaluate(10)
    assert ev.status(before.inscription_id).status == "ignored"
    no_params = ScenarioBuilder(keys, snapshots=[30], params_height=5)
    no_params.messages.remove(no_params.params_pm)
    stake = no_params.stake(1, 10_000, 6)
    ev = no_params.evaluate(10)
    assert ev.first_params is None and ev.months == ()
    assert ev.status(stake.inscription_id).status == "ignored"
