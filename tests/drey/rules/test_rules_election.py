"""Eligibility, need/m, VRF counting and the draw (PROTOCOL.md §4, §8)."""

from __future__ import annotations

import pytest

from drey.crypto import ecvrf
from drey.election import vrf_alpha
from drey.messages import Vrf
from drey.rules import CountedVrf, count_vrfs, elect, need_for, race_quorum, roster_stakes

from .scenario import ScenarioBuilder, ScenarioKeys

MONTH = "2025-01"


def test_roster_stakes_subtract_slashes_and_apply_min_stake(builder: ScenarioBuilder) -> None:
    p = builder.params.resolved()
    stakes = {e.key: 1_000 * e.index for e in p.roster}  # 1,000 … 5,000
    slashed = {p.roster[1].key: 1_500, p.roster[2].key: 2_000}
    out = roster_stakes(p, stake_at=lambda k: stakes[k], slashed=slashed)
    assert [(r.index, r.stake, r.slashed, r.weight, r.eligible) for r in out] == [
        (1, 1_000, 0, 1_000, True),  # weight = min_stake is enough
        (2, 2_000, 1_500, 500, False),
        (3, 3_000, 2_000, 1_000, True),
        (4, 4_000, 0, 4_000, True),
        (5, 5_000, 0, 5_000, True),
    ]
    over = roster_stakes(p, stake_at=lambda k: 10, slashed={p.roster[0].key: 50})
    assert over[0].weight == 0 and not over[0].eligible


@pytest.mark.parametrize(
    ("eligible", "need", "m"),
    [(1, 1, 0), (2, 2, 1), (3, 2, 2), (4, 3, 2), (5, 4, 3), (6, 4, 3), (7, 5, 4), (9, 6, 5)],
)
def test_need_and_race_quorum(builder: ScenarioBuilder, eligible: int, need: int, m: int) -> None:
    p = builder.params.resolved()
    assert p.supermajority == (2, 3)
    assert need_for(p, eligible) == need  # ⌈2E/3⌉
    assert race_quorum(eligible) == m  # ⌊(E − 1)/2⌋ + 1, 0 for E = 1
    unanimous = builder.make_params(supermajority=(1, 1)).resolved()
    assert need_for(unanimous, eligible) == eligible


def test_vrf_counting_statuses(keys: ScenarioKeys) -> None:
    sb = ScenarioBuilder(keys, snapshots=[30])
    seed = 31
    seed_hash = sb.block_hash(seed)
    early = sb.vrf(MONTH, 0, 1, seed, seed)  # at G: before the window G + 1 … G + 2
    first = sb.vrf(MONTH, 0, 2, seed, seed + 1)
    again = sb.vrf(MONTH, 0, 2, seed, seed + 2)
    late = sb.vrf(MONTH, 0, 3, seed, seed + 3)
    outsider = sb.vrf(MONTH, 0, 4, seed, seed + 1)
    a5 = keys.actuary(5)
    wrong_alpha = ecvrf.prove(a5.vrf_secret, vrf_alpha(MONTH, 1, seed_hash))
    bad = sb.inscribe(seed + 1, Vrf(MONTH, 0, a5.key, wrong_alpha).signed(a5.secret))
    ok1 = sb.vrf(MONTH, 0, 1, seed, seed + 2)
    p = sb.params.resolved()
    eligible = frozenset(keys.actuary(i).key for i in (1, 2, 3, 5))
    out = count_vrfs(
        [early, first, bad, outsider, again, ok1, late],
        month=MONTH,
        round=0,
        seed_height=seed,
        seed_hash=seed_hash,
        window=p.vrf_window,
        vrf_keys={e.key: e.vrf_key for e in p.roster},
        eligible=eligible,
    )
    got = {s.inscription_id: (s.status, s.reason) for s in out.statuses}
    assert got == {
        early.inscription_id: ("early", None),
        first.inscription_id: ("valid", None),
        again.inscription_id: ("duplicate", None),
        late.inscription_id: ("ignored", None),
        outsider.inscription_id: ("quarantined", "not_eligible"),
        bad.inscription_id: ("quarantined", "bad_vrf_proof"),
        ok1.inscription_id: ("valid", None),
    }
    assert [v.inscription_id for v in out.counted] == [first.inscription_id, ok1.inscription_id]
    assert out.counted[0].beta == ecvrf.proof_to_hash(first.message.proof)  # type: ignore[union-attr]


def test_elect_zero_weights_and_determinism(keys: ScenarioKeys) -> None:
    a, b, c = (keys.actuary(i).key for i in (1, 2, 3))
    seed = bytes(range(32))
    v = CountedVrf(a, "x", 1, bytes(64))
    r1, lead1 = elect(month=MONTH, round=0, seed_hash=seed, counted=[v], weights=[(a, 5), (b, 5)])
    r2, lead2 = elect(month=MONTH, round=0, seed_hash=seed, counted=[v], weights=[(b, 5), (a, 5)])
    assert (r1, lead1) == (r2, lead2) and lead1 in (a, b)
    _, only = elect(month=MONTH, round=0, seed_hash=seed, counted=[], weights=[(a, 0), (c, 3)])
    assert only == c
    r3, none = elect(month=MONTH, round=1, seed_hash=seed, counted=[], weights=[(a, 0)])
    assert none is None and r3 != r1
