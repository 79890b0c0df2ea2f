"""Lead package, lead parts, counting secondaries and the race close (PROTOCOL.md §5, §8)."""

from __future__ import annotations

import pytest

from drey.messages import Lead, LeadPart
from drey.rules import (
    choose_lead_package,
    choose_lead_parts,
    counting_secondaries,
    first_reaching,
)
from drey.rules.common import Clock

from .scenario import ScenarioBuilder, ScenarioKeys

MONTH = "2025-01"
ROOTS = ((1).to_bytes(32, "big"), 3, (2).to_bytes(32, "big"))


@pytest.mark.parametrize(
    ("heights", "start", "end", "target", "tip", "expected"),
    [
        ([], 10, 13, 0, 5, 10),  # m = 0 (E = 1): the race closes when it opens
        ([10, 10, 11], 10, 13, 3, 20, 11),
        ([10, 10, 11, 11], 10, 13, 2, 20, 10),
        ([12, 14], 10, 13, 2, 20, 13),  # the 2nd arrives after X: timed out at X
        ([10], 10, 13, 2, 20, 13),
        ([10], 10, 13, 2, 12, None),  # undecidable before X
        ([9, 10], 11, 13, 1, 20, 11),  # C_s starts at C; earlier packages count
        ([10, 11], 10, 13, 2, 11, 11),  # decided as soon as reached
    ],
)
def test_first_reaching(
    heights: list[int], start: int, end: int, target: int, tip: int, expected: int | None
) -> None:
    clock = Clock(tip)
    assert first_reaching(heights, start=start, end=end, target=target, clock=clock) == expected
    # Undecidable: the clock remembers the end the race waits for; decided: nothing waits.
    assert clock.waiting_for == (end if expected is None else None)


def _lead(sb: ScenarioBuilder, actuary: int, height: int, **kw: object):  # type: ignore[no-untyped-def]
    res = sb.result(MONTH, 0, actuary, roots=ROOTS, file=b"f")
    return sb.package("lead", MONTH, 0, actuary, res, height, **kw)  # type: ignore[arg-type]


def test_lead_package_choice(keys: ScenarioKeys) -> None:
    sb = ScenarioBuilder(keys, snapshots=[30])
    p = sb.params.resolved()
    lead, other = 2, 3
    early = _lead(sb, lead, 33)
    impostor = _lead(sb, other, 34)
    good = sb.message(_lead(sb, lead, 34).inscription_id)
    pkg = good.message
    assert isinstance(pkg, Lead)
    short = sb.inscribe(
        34,
        Lead(MONTH, 0, pkg.actuary, pkg.kem[1:], pkg.nonce, pkg.ct).signed(
            keys.actuary(lead).secret
        ),
    )
    dup = _lead(sb, lead, 35)
    after = _lead(sb, lead, 37)
    msgs = sorted([early, impostor, good, short, dup, after], key=lambda m: m.position)
    out = choose_lead_package(
        msgs, elected=keys.actuary(lead).key, window=(34, 36), paillier=p.paillier
    )
    assert out.package is good
    got = {s.inscription_id: (s.status, s.reason) for s in out.statuses}
    assert got == {
        early.inscription_id: ("early", None),
        impostor.inscription_id: ("quarantined", "not_lead"),
        short.inscription_id: ("quarantined", "bad_kem"),
        dup.inscription_id: ("duplicate", None),
        after.inscription_id: ("duplicate", None),  # duplicate outranks ignored
    }
    none = choose_lead_package(
        [after], elected=keys.actuary(lead).key, window=(34, 36), paillier=p.paillier
    )
    assert none.package is None and none.statuses[0].status == "ignored"


def test_lead_parts_choice(keys: ScenarioKeys) -> None:
    sb = ScenarioBuilder(keys, snapshots=[30])
    lead = keys.actuary(2)
    pkg = _lead(sb, 2, 34, parts=2)
    part0 = sb.lead_part(pkg, 0, b"a", 33)  # before the lead package, inside the window
    part0b = sb.lead_part(pkg, 0, b"b", 34)
    part2 = sb.lead_part(pkg, 2, b"c", 34)
    part1_late = sb.lead_part(pkg, 1, b"d", 37)
    part1_early = sb.lead_part(pkg, 1, b"e", 32)
    stranger = keys.actuary(4)
    other = sb.inscribe(
        35, LeadPart(MONTH, 0, stranger.key, 1, bytes(12), bytes(16)).signed(stranger.secret)
    )
    msgs = sorted([part0, part0b, part2, part1_late, part1_early, other], key=lambda m: m.position)
    out = choose_lead_parts(msgs, elected=lead.key, window=(33, 36), package=pkg)
    assert out.parts == {0: part0}
    got = {s.inscription_id: (s.status, s.reason) for s in out.statuses}
    assert got == {
        part0.inscription_id: ("valid", None),
        part0b.inscription_id: ("duplicate", None),
        part2.inscription_id: ("quarantined", "bad_part_index"),
        part1_late.inscription_id: ("ignored", None),
        part1_early.inscription_id: ("early", None),
        other.inscription_id: ("quarantined", "not_lead"),
    }
    no_pkg = choose_lead_parts([part0], elected=lead.key, window=(33, 36), package=None)
    assert no_pkg.parts == {} and no_pkg.statuses[0].status == "ignored"


def test_counting_secondaries(keys: ScenarioKeys) -> None:
    sb = ScenarioBuilder(keys, snapshots=[30])
    p = sb.params.resolved()

    def sec(i: int, h: int):  # type: ignore[no-untyped-def]
        return sb.package("secondary", MONTH, 0, i, sb.result(MONTH, 0, i, roots=ROOTS), h)

    early = sec(1, 35)
    first = sec(1, 36)
    dup = sec(1, 37)
    by_lead = sec(2, 36)
    stranger = sec(4, 36)
    other = sec(3, 40)
    eligible = frozenset(keys.actuary(i).key for i in (1, 2, 3))
    out = counting_secondaries(
        sorted([early, first, dup, by_lead, stranger, other], key=lambda m: m.position),
        elected=keys.actuary(2).key,
        eligible=eligible,
        race_open=36,
        paillier=p.paillier,
    )
    assert [m.inscription_id for m in out.counting] == [first.inscription_id, other.inscription_id]
    got = {s.inscription_id: (s.status, s.reason) for s in out.statuses}
    assert got == {
        early.inscription_id: ("early", None),
        dup.inscription_id: ("duplicate", None),
        by_lead.inscription_id: ("quarantined", "not_secondary"),
        stranger.inscription_id: ("quarantined", "not_eligible"),
    }
