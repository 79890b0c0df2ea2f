"""Adversarial and unhappy paths end to end (PROTOCOL.md §4, §5, §8, §9), each varying one
thing of the honest scenario (see conftest: 5 actuaries × 10,000 sats, t = 3, S = 30, 90,
150; c = 2, race_offset 2, vrf 2, lead 3, race 4, share 3, max_rounds 3)."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest

from drey.allocation_file import write_allocation_file
from drey.crypto.paillier import CHALLENGE_LEN, prove_share
from drey.crypto.poseidon import field_to_bytes
from drey.merkle import MonthsTree
from drey.messages import (
    AllocationRef,
    Lead,
    Result,
    Secondary,
    ShareEntry,
    Shares,
    xonly_public_key,
)
from drey.rules import Decision, Evaluation, PositionedMessage

from .scenario import (
    RoundPlan,
    ScenarioBuilder,
    ScenarioKeys,
    expected_result,
    replace_result,
)

BAD_ROOT = (12345).to_bytes(32, "big")


def _offences(ev: Evaluation, month: str | None = None) -> set[tuple[str, int, int]]:
    """{(offence, round, roster index)}."""
    return {
        (p.offence, p.round, _index(ev, p.actuary))
        for p in ev.penalties
        if month is None or p.month == month
    }


def _index(ev: Evaluation, key: bytes) -> int:
    m = ev.months[0]
    return next(r.index for r in m.roster if r.key == key)


def test_missed_lead_fails_round_0_and_zeroes_its_weight(builder: ScenarioBuilder) -> None:
    records = builder.play_month("2025-01", [RoundPlan(lead_posts=False)])
    assert len(records) == 2
    builder.extend_to(60)
    ev = builder.evaluate()
    m = ev.month("2025-01")
    r0, r1 = m.rounds
    # No lead package in 34 … 36: decided at G + vw + lw = 31 + 2 + 3 = 36.
    assert r0.decision.outcome == "rejected" and r0.decision.height == 36
    assert r0.decision.reason == "no_lead_package"
    assert r1.seed_height == 37  # D_0 + c − 1
    missed = r0.lead
    assert dict(r1.weights)[missed] == 0 and r1.lead != missed
    assert m.outcome == "accepted" and m.accepted_round == 1
    row = next(p for p in ev.penalties if p.offence == "missed_lead")
    assert (row.actuary, row.round, row.height, row.base, row.slash) == (
        missed,
        0,
        36,
        10_000,
        1_000,
    )
    assert _offences(ev) == {("missed_lead", 0, _index(ev, missed))}
    # The slash (decided at 36 ≤ S_feb = 90) lowers February's weight; it stays eligible.
    feb = builder.evaluate(95).month("2025-02")
    stake = next(r for r in feb.roster if r.key == missed)
    assert (stake.stake, stake.slashed, stake.weight, stake.eligible) == (
        10_000,
        1_000,
        9_000,
        True,
    )
    # 1,000 slashed sats go to January's plans pro rata to their Dreybits.
    assert sum(r.sats for r in ev.redistribution) == 1_000
    assert {r.month for r in ev.redistribution} == {"2025-01"}
    dreybits = dict(zip([u for u, _, _ in m.rows], m.dreybits or (), strict=True))
    shares = {r.user_id: r.sats for r in ev.redistribution}
    assert shares == {u: 1_000 * d // 1_000_000 for u, d in dreybits.items()}


def test_vrf_withheld_is_an_offence_and_the_round_goes_on(builder: ScenarioBuilder) -> None:
    builder.play_round("2025-01", 0, RoundPlan(vrf_skip=frozenset({2})))
    ev = builder.evaluate()
    m = ev.month("2025-01")
    assert m.outcome == "accepted"
    assert len(m.rounds[0].vrfs) == 4
    assert _offences(ev) == {("vrf_withheld", 0, 2)}
    assert next(p for p in ev.penalties).height == 33  # G + vrf_window


def test_copied_ciphertext_under_another_outer_signature_fails_to_decrypt(
    builder: ScenarioBuilder,
) -> None:
    copier: dict[str, int | str] = {}

    def copy_lead(sb: ScenarioBuilder, lead_pm: PositionedMessage) -> None:
        lead = lead_pm.message
        assert isinstance(lead, Lead)
        a = next(a for a in sb.keys.actuaries if a.key != lead.actuary)
        # Same kem, nonce and ct as the lead package, under the copier's outer signature,
        # mined first in the race-opening block (so it is the copier's counting package).
        msg = Secondary(lead.month, lead.round, a.key, lead.kem, lead.nonce, lead.ct)
        copier["id"] = sb.inscribe(lead_pm.height + 2, msg.signed(a.secret)).inscription_id
        copier["index"] = a.index

    rec = builder.play_round("2025-01", 0, RoundPlan(after_lead=copy_lead))
    ev = builder.evaluate()
    cid = str(copier["id"])
    status = ev.status(cid)
    assert (status.status, status.reason) == ("quarantined", "copy")
    assert "fails to decrypt" in status.detail
    assert ("copy", 0, copier["index"]) in _offences(ev)
    # The copier's own honest package came later in the same block: duplicate.
    assert ev.status(rec.secondaries[int(copier["index"])]).status == "duplicate"
    # The original (the lead package, same kem, same shares) stands.
    assert ev.status(rec.lead_package or "").status == "valid"
    r0 = ev.month("2025-01").rounds[0]
    reveal = next(v for v in r0.reveals if v.package == cid)
    assert reveal.outcome == "copy" and not reveal.counts
    assert r0.decision.outcome == "accepted" and r0.decision.support == 4


def test_reencrypted_copy_carries_the_original_inner_signature(builder: ScenarioBuilder) -> None:
    ids: dict[str, str] = {}

    def reencrypt(sb: ScenarioBuilder, lead_pm: PositionedMessage) -> None:
        lead = lead_pm.message
        assert isinstance(lead, Lead)
        ev = sb.evaluate(lead_pm.height)
        _, root, n, months_root, _ = expected_result(ev.month("2025-01"), ev, depth=16)
        author, copier_a, copier_b = [a for a in sb.keys.actuaries if a.key != lead.actuary][:3]
        # The author's signed result (never posted by the author), re-encrypted by copier A
        # under A's own key and associated data: it decrypts, but the inner sig is the
        # author's.
        res = sb.result("2025-01", 0, author.index, roots=(root, n, months_root))
        plaintext = res.signed(author.secret).serialize()
        h = lead_pm.height + 2
        ids["a"] = sb.package(
            "secondary", "2025-01", 0, copier_a.index, plaintext, h
        ).inscription_id
        # Copier B also rewrites the actuary field to itself, keeping the author's sig.
        forged = replace(res, actuary=copier_b.key, sig=res.signed(author.secret).sig)
        ids["b"] = sb.package(
            "secondary", "2025-01", 0, copier_b.index, forged.serialize(), h
        ).inscription_id
        ids["ia"], ids["ib"] = str(copier_a.index), str(copier_b.index)

    builder.play_round("2025-01", 0, RoundPlan(after_lead=reencrypt, secondaries=frozenset()))
    ev = builder.evaluate()
    for which in ("a", "b"):
        s = ev.status(ids[which])
        assert (s.status, s.reason) == ("quarantined", "copy"), s
        assert ("copy", 0, int(ids["i" + which])) in _offences(ev)
    assert "result names actuary" in ev.status(ids["a"]).detail
    assert "inner sig" in ev.status(ids["b"]).detail
    # Only the lead counts: need 4 is not met; the race timed out at X = 39, RS = 41,
    # and the round is rejected at the share window's end 43.
    r0 = ev.month("2025-01").rounds[0]
    assert (r0.close, r0.close_s, r0.reveal_start) == (39, 39, 41)
    assert r0.decision == Decision("rejected", 43, "not_enough_agreement", 1)


def test_forged_share_proof_and_non_roster_shares(builder: ScenarioBuilder) -> None:
    rec = builder.play_round("2025-01", 0)
    r = rec.evaluation
    assert r.reveal_start == 38
    lead_pm = builder.message(rec.lead_package or "")
    honest = builder.share_entry(2, lead_pm)
    forged = ShareEntry(
        honest.package,
        honest.share,
        bytes(CHALLENGE_LEN - 1) + b"\x01",
        bytes(len(honest.z) - 1) + b"\x07",
    )
    bad = builder.shares("2025-01", 0, 2, [], 39, entries=[forged])
    outsider_secret = hashlib.sha256(b"not in the roster").digest()
    outsider = Shares("2025-01", 0, xonly_public_key(outsider_secret), (honest,)).signed(
        outsider_secret
    )
    stranger = builder.inscribe(39, outsider)
    ev = builder.evaluate()
    assert ev.status(bad.inscription_id).status == "valid"  # the message; entries judged alone
    entry = next(
        s for s in ev.month("2025-01").rounds[0].shares if s.shares_id == bad.inscription_id
    )
    assert (entry.status, entry.reason) == ("quarantined", "invalid_share_proof")
    s = ev.status(stranger.inscription_id)
    assert (s.status, s.reason) == ("quarantined", "not_roster")
    assert _offences(ev) == {("invalid_share_proof", 0, 2)}
    row = ev.penalties[0]
    assert row.height == 39 and row.slash == 1_000


def test_share_of_the_other_sign_is_a_duplicate_not_a_second_vote(
    builder: ScenarioBuilder,
) -> None:
    rec = builder.play_round("2025-01", 0)
    lead_pm = builder.message(rec.lead_package or "")
    pk = builder.keys.dealing.public
    honest = builder.share_entry(1, lead_pm)
    negated = (pk.n2 - int.from_bytes(honest.share, "big")).to_bytes(pk.l2, "big")

    lead = lead_pm.message
    ds = prove_share(
        pk,
        builder.keys.dealing.share(1),
        int.from_bytes(lead.kem, "big"),
        int.from_bytes(negated, "big"),
    )
    share, e, z = ds.serialize(pk)
    dup = builder.shares(
        "2025-01", 0, 1, [], 39, entries=[ShareEntry(lead_pm.inscription_id, share, e, z)]
    )
    ev = builder.evaluate()
    entry = next(
        s for s in ev.month("2025-01").rounds[0].shares if s.shares_id == dup.inscription_id
    )
    assert entry.status == "duplicate"
    assert ev.penalties == ()


def test_lead_result_with_a_wrong_root_is_rejected_at_its_reveal(builder: ScenarioBuilder) -> None:
    records = builder.play_month(
        "2025-01", [RoundPlan(lead_result=replace_result(month_root=BAD_ROOT))]
    )
    ev = builder.evaluate()
    m = ev.month("2025-01")
    r0 = m.rounds[0]
    assert r0.decision.outcome == "rejected" and r0.decision.reason == "invalid_lead_result"
    assert r0.decision.height == 38  # the lead's reveal height
    lead_reveal = r0.reveals[0]
    assert lead_reveal.role == "lead" and lead_reveal.problem == "wrong_roots"
    lead_index = records[0].lead
    assert ("invalid_lead_result", 0, lead_index) in _offences(ev)
    assert r0.decision.height is not None
    assert m.rounds[1].seed_height == r0.decision.height + 1
    assert m.outcome == "accepted" and m.accepted_round == 1
    check = next(c for c in ev.checks if c.name == "lead_result" and c.round == 0)
    assert not check.passed and "wrong_roots" in check.detail


def test_lead_table_that_does_not_match_the_formula(builder: ScenarioBuilder) -> None:
    def other_table(res: Result) -> Result:
        file = write_allocation_file([1_000_000, 0, 0])
        return replace(res, allocation=AllocationRef(hashlib.sha256(file).digest(), file))

    builder.play_month("2025-01", [RoundPlan(lead_result=other_table)])
    ev = builder.evaluate()
    r0 = ev.month("2025-01").rounds[0]
    assert r0.reveals[0].problem == "wrong_allocation"
    assert r0.decision.reason == "invalid_lead_result"


def test_tie_at_the_race_closing_block_ranks_by_position_and_late_packages(
    builder: ScenarioBuilder,
) -> None:
    probe = builder.play_round("2025-01", 0, RoundPlan(publish=False))
    order = sorted(probe.secondaries)
    assert len(order) == 4
    # Re-play on a fresh builder: two secondaries at O, one at O + 1 (m = 3 reached: C = O+1,
    # C_s = O + 1 since 1 + 3 = need), the last at O + 2 (late: C < h < RS = O + 3).
    sb = ScenarioBuilder(builder.keys, snapshots=[30, 90, 150])
    sb.setup()
    offsets = {order[0]: 0, order[1]: 0, order[2]: 1, order[3]: 2}
    rec = sb.play_round("2025-01", 0, RoundPlan(secondary_offsets=offsets))
    sb.extend_to(45)
    ev = sb.evaluate()
    r = ev.month("2025-01").rounds[0]
    assert (r.race_open, r.close, r.close_s, r.reveal_start) == (36, 37, 37, 39)
    assert [p.inscription_id for p in r.race] == [rec.secondaries[i] for i in order[:3]]
    assert [p.rank for p in r.race] == [1, 2, 3]
    assert [p.inscription_id for p in r.late] == [rec.secondaries[order[3]]]
    assert ev.status(rec.secondaries[order[3]]).status == "late"
    m = ev.month("2025-01")
    # Late packages count for agreement but earn nothing: 1 + 3 race + 1 late = 5.
    assert r.decision.support == 5
    ranks = {row.actuary: row.rank for row in m.rewards if row.role == "secondary"}
    assert [ranks[p.actuary] for p in r.race] == [1, 2, 3]
    assert r.late[0].actuary not in ranks
    # k = 3: rest 400 → 400·3//6 = 200, 133, 66 (399) + remainder 1 to rank 1.
    assert sorted(row.sats for row in m.rewards if row.role == "secondary") == [66, 133, 201]


def test_several_secondaries_in_the_closing_block_are_ranked_by_tx_order(
    builder: ScenarioBuilder,
) -> None:
    rec = builder.play_round("2025-01", 0)
    r = rec.evaluation
    heights = {p.height for p in r.race}
    assert heights == {36}
    positions = [p.position for p in r.race]
    assert positions == sorted(positions)
    assert [p.inscription_id for p in r.race] == [
        rec.secondaries[i]
        for i in sorted(rec.secondaries, key=lambda i: builder.message(rec.secondaries[i]).position)
    ]


def test_too_few_shares_leaves_packages_unrevealed(builder: ScenarioBuilder) -> None:
    rec = builder.play_round("2025-01", 0, RoundPlan(share_skip=frozenset({3, 4, 5})))
    ev = builder.evaluate()
    r0 = ev.month("2025-01").rounds[0]
    assert r0.decision.outcome == "rejected" and r0.decision.reason == "lead_unrevealed"
    assert r0.decision.height == 40  # RS + share_window − 1
    assert {v.outcome for v in r0.reveals} == {"unrevealed"}
    assert ev.status(rec.lead_package or "").status == "unrevealed"
    assert all(ev.status(s).status == "unrevealed" for s in rec.secondaries.values())
    offences = _offences(ev)
    assert {("withheld_share", 0, i) for i in (3, 4, 5)} <= offences
    assert not any(o[0] == "invalid_lead_result" for o in offences)  # no penalty to the lead


def test_premature_share_never_counts_and_is_an_offence(builder: ScenarioBuilder) -> None:
    rec = builder.play_round("2025-01", 0, RoundPlan(share_skip=frozenset({5})))
    lead_pm = builder.message(rec.lead_package or "")
    early = builder.shares("2025-01", 0, 5, [lead_pm], 37)  # RS = 38
    builder.extend_to(41)
    ev = builder.evaluate()
    assert ev.status(early.inscription_id).status == "premature"
    entry = next(
        s for s in ev.month("2025-01").rounds[0].shares if s.shares_id == early.inscription_id
    )
    assert entry.status == "premature"
    rows = [p for p in ev.penalties if p.actuary == builder.keys.actuary(5).key]
    assert {(p.offence, p.height) for p in rows} == {
        ("premature_share", 38),
        ("withheld_share", 40),
    }
    # Two offences in one month, capped at the stake: 1,000 each here.
    assert [p.slash for p in rows] == [1_000, 1_000]


def test_early_secondary_does_not_use_the_slot(builder: ScenarioBuilder) -> None:
    ids: dict[str, str] = {}

    def early(sb: ScenarioBuilder, lead_pm: PositionedMessage) -> None:
        lead = lead_pm.message
        idx = next(a.index for a in sb.keys.actuaries if a.key != lead.actuary)
        ev = sb.evaluate(lead_pm.height)
        _, root, n, mr, _ = expected_result(ev.month("2025-01"), ev, depth=16)
        res = sb.result("2025-01", 0, idx, roots=(root, n, mr))
        ids["early"] = sb.package(
            "secondary", "2025-01", 0, idx, res, lead_pm.height + 1
        ).inscription_id

    builder.play_round("2025-01", 0, RoundPlan(after_lead=early))
    ev = builder.evaluate()
    assert ev.status(ids["early"]).status == "early"
    r = ev.month("2025-01").rounds[0]
    assert ids["early"] not in {p.inscription_id for p in r.race + r.late}
    assert len(r.race) == 4 and r.decision.outcome == "accepted"


def test_wrong_secondary_result_is_punished_and_earns_nothing(builder: ScenarioBuilder) -> None:
    probe = ScenarioBuilder(builder.keys, snapshots=[30, 90, 150])
    probe.setup()
    lead = probe.play_round("2025-01", 0, RoundPlan(publish=False)).lead
    liar = next(a.index for a in builder.keys.actuaries if a.index != lead)
    builder.play_round(
        "2025-01", 0, RoundPlan(secondary_result={liar: replace_result(month_root=BAD_ROOT)})
    )
    builder.extend_to(40)
    ev = builder.evaluate()
    m = ev.month("2025-01")
    assert m.outcome == "accepted" and m.rounds[0].decision.support == 4
    assert _offences(ev) == {("wrong_secondary_result", 0, liar)}
    liar_key = builder.keys.actuary(liar).key
    assert liar_key not in {r.actuary for r in m.rewards}
    assert len([r for r in m.rewards if r.role == "secondary"]) == 3


def test_withdrawal_below_min_stake_makes_an_actuary_ineligible_next_month(
    builder: ScenarioBuilder,
) -> None:
    builder.play_round("2025-01", 0)
    stake5 = next(
        m
        for m in builder.messages
        if m.kind == "stake" and m.message.actuary == builder.keys.actuary(5).key
    )
    builder.withdraw(stake5, 50)
    vrf = builder.vrf("2025-02", 0, 5, 91, 92)
    builder.play_round("2025-02", 0)
    ev = builder.evaluate()
    feb = ev.month("2025-02")
    a5 = next(r for r in feb.roster if r.index == 5)
    assert (a5.stake, a5.eligible) == (0, False)
    assert feb.eligible == 4 and feb.need == 3 and feb.race_quorum == 2
    s = ev.status(vrf.inscription_id)
    assert (s.status, s.reason) == ("quarantined", "not_eligible")
    assert feb.outcome == "accepted"
    # January is untouched: the stake counted at S_jan = 30.
    assert next(r for r in ev.month("2025-01").roster if r.index == 5).eligible


def test_post_reveal_round_requires_an_earlier_matching_result(
    builder: ScenarioBuilder, keys: ScenarioKeys
) -> None:
    probe = ScenarioBuilder(keys, snapshots=[30, 90, 150])
    probe.setup()
    lead = probe.play_round("2025-01", 0, RoundPlan(publish=False)).lead
    others = sorted(a.index for a in keys.actuaries if a.index != lead)
    silent = others[0]
    plan0 = RoundPlan(
        lead_result=replace_result(month_root=BAD_ROOT), secondaries=frozenset(others[1:])
    )
    records = builder.play_month("2025-01", [plan0])
    assert [r.lead for r in records] == [lead, lead]  # the deterministic draw
    builder.extend_to(records[1].evaluation.share_end or 0)
    ev = builder.evaluate()
    m = ev.month("2025-01")
    r0, r1 = m.rounds
    assert r1.post_reveal and not r0.post_reveal
    counts = {keys.by_key(v.actuary).index: v.counts for v in r1.reveals if v.role != "lead"}
    # Every round-1 secondary agrees with the lead, but the one that had no revealed
    # result in round 0 does not count.
    assert counts == {i: i != silent for i in others}
    assert all(v.agrees for v in r1.reveals if v.role != "lead")
    assert r1.decision.support == 4 and m.accepted_round == 1
    # No race reward after results are public: the lead takes the whole pool.
    assert [(r.role, r.sats) for r in m.rewards] == [("lead", 1_000)]


def test_key_reuse_across_months(builder: ScenarioBuilder) -> None:
    jan = builder.play_round("2025-01", 0)
    reuser = sorted(jan.secondaries)[0]
    k = builder.package_keys[jan.secondaries[reuser]]
    feb = builder.play_round("2025-02", 0, RoundPlan(secondary_keys={reuser: k}))
    ev = builder.evaluate()
    assert reuser != feb.lead  # the deterministic draw
    s = ev.status(feb.secondaries[reuser])
    assert (s.status, s.reason) == ("quarantined", "key_reuse")
    assert ("key_reuse", 0, reuser) in _offences(ev, "2025-02")
    assert ev.month("2025-02").outcome == "accepted"


def test_publication_rules(builder: ScenarioBuilder) -> None:
    builder.play_round("2025-01", 0, RoundPlan(publish=False))
    ev = builder.evaluate()
    m = ev.month("2025-01")
    assert m.publication is None
    lead = m.rounds[0].reveals[0]
    roots = (lead.month_root or b"", lead.n_rows or 0, lead.months_root or b"")

    _, _, _, _, file = expected_result(m, ev, depth=16)
    early = builder.allocation("2025-01", 0, roots=roots, file=file, signers=[1, 2, 3], height=37)
    few = builder.allocation("2025-01", 0, roots=roots, file=file, signers=[1, 2], height=38)
    wrong = builder.allocation(
        "2025-01", 0, roots=(BAD_ROOT, roots[1], roots[2]), file=file, signers=[1, 2, 3], height=38
    )
    first = builder.allocation("2025-01", 0, roots=roots, file=file, signers=[3, 4, 5], height=39)
    second = builder.allocation("2025-01", 0, roots=roots, file=file, signers=[1, 2, 3], height=40)
    ev = builder.evaluate()
    got = {
        pm.inscription_id: ev.status(pm.inscription_id) for pm in (early, few, wrong, first, second)
    }
    assert got[early.inscription_id].status == "early"
    assert got[few.inscription_id].reason == "insufficient_signatures"
    assert got[wrong.inscription_id].reason == "not_accepted_result"
    assert got[first.inscription_id].status == "valid"
    assert got[second.inscription_id].status == "duplicate"
    assert ev.month("2025-01").publication == first.inscription_id


def test_no_quorum_month_fails_at_its_start_with_leaf_zero(keys: ScenarioKeys) -> None:
    sb = ScenarioBuilder(keys, snapshots=[30, 90])
    sb.setup(stakes={})
    vrf = sb.vrf("2025-01", 0, 1, 31, 32)
    sb.extend_to(40)
    ev = sb.evaluate()
    m = ev.month("2025-01")
    assert m.no_quorum and m.outcome == "failed" and m.decided_height == 30 and m.rounds == ()
    s = ev.status(vrf.inscription_id)
    assert (s.status, s.reason) == ("quarantined", "not_eligible")

    assert m.months_root == field_to_bytes(MonthsTree.empty(depth=16).root)


def test_overflow_month_fails(keys: ScenarioKeys) -> None:
    sb = ScenarioBuilder(keys, snapshots=[30, 90])
    sb.setup(plans={7: 2**60})
    sb.extend_to(35)
    m = sb.evaluate().month("2025-01")
    assert m.overflow and m.outcome == "failed" and m.rows[0][1] == 2**60 * 28


def test_under_threshold_month_proceeds(keys: ScenarioKeys) -> None:
    sb = ScenarioBuilder(keys, snapshots=[30, 90])
    sb.setup(stakes={1: 10_000, 2: 10_000})
    rec = sb.play_round("2025-01", 0)
    m = sb.evaluate().month("2025-01")
    assert m.under_threshold and m.eligible == 2 and m.need == 2 and m.race_quorum == 1
    assert m.outcome == "accepted"
    assert len(rec.shares) == 5  # the whole roster holds the key and shares


def test_lead_duplicates_and_impostors(builder: ScenarioBuilder) -> None:
    ids: dict[str, str] = {}

    def extra(sb: ScenarioBuilder, lead_pm: PositionedMessage) -> None:
        lead = lead_pm.message
        me = sb.keys.by_key(lead.actuary).index
        other = next(a.index for a in sb.keys.actuaries if a.index != me)
        res = sb.result("2025-01", 0, me, roots=(BAD_ROOT, 0, BAD_ROOT), file=b"x")
        ids["dup"] = sb.package("lead", "2025-01", 0, me, res, lead_pm.height + 1).inscription_id
        res2 = sb.result("2025-01", 0, other, roots=(BAD_ROOT, 0, BAD_ROOT), file=b"x")
        ids["imp"] = sb.package("lead", "2025-01", 0, other, res2, lead_pm.height).inscription_id

    builder.play_round("2025-01", 0, RoundPlan(after_lead=extra))
    ev = builder.evaluate()
    assert ev.status(ids["dup"]).status == "duplicate"
    assert (ev.status(ids["imp"]).status, ev.status(ids["imp"]).reason) == (
        "quarantined",
        "not_lead",
    )
    assert ev.month("2025-01").outcome == "accepted"


@pytest.mark.parametrize("share_window", [10, 3])
def test_lead_with_parts_is_judged_when_the_lead_window_closes(
    keys: ScenarioKeys, share_window: int
) -> None:
    sb = ScenarioBuilder(
        keys,
        snapshots=[30, 90],
        params_overrides={"lead_window": 12, "share_window": share_window},
    )
    sb.setup()
    sb.extend_to(31)
    for i in range(1, 6):
        sb.vrf("2025-01", 0, i, 31, 32)
    sb.extend_to(33)
    rnd = sb.evaluate().month("2025-01").rounds[0]
    assert rnd.lead is not None
    lead = keys.by_key(rnd.lead).index
    junk = bytes(range(256)) * 1_500  # 384,000 bytes: must travel in parts
    wrong = (BAD_ROOT, 3, BAD_ROOT)
    res = sb.result("2025-01", 0, lead, roots=wrong, file=junk)
    res = replace(res, allocation=AllocationRef(hashlib.sha256(junk).digest()))
    pkg = sb.package("lead", "2025-01", 0, lead, res, 34, parts=2)
    sb.lead_part(pkg, 0, junk[:200_000], 34)
    sb.lead_part(pkg, 1, junk[200_000:], 44)  # late in the lead window 34 … 45
    secs = [
        sb.package("secondary", "2025-01", 0, i, sb.result("2025-01", 0, i, roots=wrong), 36)
        for i in range(1, 6)
        if i != lead
    ]
    for i in range(1, 6):
        sb.shares("2025-01", 0, i, [pkg, *secs], 38)
    sb.extend_to(50)
    r = sb.evaluate().month("2025-01").rounds[0]
    assert r.reveal_start == 38 and r.reveals[0].reveal_height == 38
    offences = {p.offence for p in sb.evaluate().penalties}
    if share_window == 10:
        # Revealed at 38, but parts may still come until 45: judged at 45, not before.
        early = sb.evaluate(40).month("2025-01").rounds[0]
        assert early.decision.outcome == "pending" and early.reveals[0].outcome == "pending"
        assert r.reveals[0].problem == "wrong_roots"
        assert r.decision == Decision("rejected", 45, "invalid_lead_result")
        assert "invalid_lead_result" in offences
    else:
        # The lead window outlives the share window (47 > 40): the lead cannot count.
        assert r.decision == Decision("rejected", 40, "lead_parts_after_share_window")
        assert "invalid_lead_result" not in offences
