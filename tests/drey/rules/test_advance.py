"""Advancing an evaluation over blocks that change nothing it reads (drey.rules.advance): at
every tip of played months, an evaluation advanced to a higher tip equals the full
evaluation there, and each kind of block that changes something is refused."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace

import pytest

from drey.messages import AllocationRef
from drey.rules import Evaluation
from drey.rules.advance import advance
from drey.rules.memo import Memo

from .scenario import RoundPlan, ScenarioBuilder, ScenarioKeys, replace_result

# One memo for the module: formula runs and month trees are pure; the walk is what is compared.
_MEMO = Memo()


def _full(builder: ScenarioBuilder, tip: int) -> Evaluation:
    return builder.evaluate(tip, memo=_MEMO)


def _advanced(builder: ScenarioBuilder, evaluation: Evaluation, tip: int) -> Evaluation | None:
    return advance(
        evaluation,
        builder.chain(tip),
        builder.messages,
        tip_height=tip,
        formula_parts=builder.formula_parts,
    )


def _late_secondary(builder: ScenarioBuilder) -> None:
    builder.play_month("2025-01", [RoundPlan(secondary_offsets={2: 1, 3: 2}, share_offset=2)])
    builder.play_month("2025-02", [RoundPlan(lead_offset=1)])


def _unhappy(builder: ScenarioBuilder) -> None:
    builder.play_month(
        "2025-01",
        [
            RoundPlan(lead_posts=False),
            RoundPlan(share_skip=frozenset({2}), vrf_skip=frozenset({4})),
        ],
    )
    builder.play_month("2025-02")


def _wrong_lead(builder: ScenarioBuilder) -> None:
    builder.play_month("2025-01", [RoundPlan(lead_result=replace_result(n_rows=999))])
    builder.play_month("2025-02", [RoundPlan(secondaries=frozenset({2}))])


def _premature_share(builder: ScenarioBuilder) -> None:
    """A shares message mined before RS: premature at once, the offence decided at RS (the
    other shares come two blocks later, so no message marks RS)."""
    record = builder.play_round("2025-01", 0, RoundPlan(share_offset=2))
    builder.shares("2025-01", 0, 3, [builder.message(record.lead_package or "")], 35)
    builder.play_month("2025-02")


def _lead_in_parts(keys: ScenarioKeys) -> ScenarioBuilder:
    """A lead whose file travels in two parts, the second late in a 12-block lead window:
    revealed at 38, judged (a wrong root) once the window closes at 45."""
    sb = ScenarioBuilder(
        keys, snapshots=[30, 90, 150], params_overrides={"lead_window": 12, "share_window": 10}
    )
    sb.setup()
    sb.extend_to(31)
    for i in range(1, 6):
        sb.vrf("2025-01", 0, i, 31, 32)
    sb.extend_to(33)
    lead_key = sb.evaluate().month("2025-01").rounds[0].lead
    assert lead_key is not None
    lead = keys.by_key(lead_key).index
    file = bytes(range(256)) * 1_500  # 384,000 bytes: more than one part
    wrong = (b"\x01" * 32, 3, b"\x01" * 32)
    res = sb.result("2025-01", 0, lead, roots=wrong, file=file)
    res = replace(res, allocation=AllocationRef(hashlib.sha256(file).digest()))
    pkg = sb.package("lead", "2025-01", 0, lead, res, 34, parts=2)
    sb.lead_part(pkg, 0, file[:200_000], 34)
    sb.lead_part(pkg, 1, file[200_000:], 44)
    others = [i for i in range(1, 6) if i != lead]
    secs = [
        sb.package("secondary", "2025-01", 0, i, sb.result("2025-01", 0, i, roots=wrong), 36)
        for i in others
    ]
    for i in range(1, 6):
        sb.shares("2025-01", 0, i, [pkg, *secs], 38)
    return sb


def _played(play: Callable[[ScenarioBuilder], None]) -> Callable[[ScenarioKeys], ScenarioBuilder]:
    def build(keys: ScenarioKeys) -> ScenarioBuilder:
        sb = ScenarioBuilder(keys, snapshots=[30, 90, 150])
        sb.setup()
        play(sb)
        return sb

    return build


PLAYS: dict[str, Callable[[ScenarioKeys], ScenarioBuilder]] = {
    "late secondaries and shares": _played(_late_secondary),
    "no lead package, withheld shares": _played(_unhappy),
    "a wrong lead result, too few secondaries": _played(_wrong_lead),
    "a premature share": _played(_premature_share),
    "a lead in parts": _lead_in_parts,
}


@pytest.mark.parametrize("play", PLAYS.values(), ids=PLAYS.keys())
def test_advanced_equals_full_at_every_tip(
    keys: ScenarioKeys, play: Callable[[ScenarioKeys], ScenarioBuilder]
) -> None:
    builder = play(keys)
    builder.extend_to(max(builder.tip, 150) + 10)
    fulls = {tip: _full(builder, tip) for tip in range(3, builder.tip + 1)}
    advanced = refused = 0
    for tip, evaluation in fulls.items():
        for later in (tip + 1, tip + 4):
            if later not in fulls:
                continue
            moved = _advanced(builder, evaluation, later)
            if moved is None:
                refused += 1
                continue
            advanced += 1
            full = fulls[later]
            assert moved == full, (tip, later)
            assert moved.tip_height == later
            assert moved.steady == full.steady, (tip, later)
            assert _point(moved) == _point(full), (tip, later)
            assert [f.month for f in moved.final_months] == [f.month for f in full.final_months]
    # Most blocks carry nothing the rules wait for; the rounds' heights and messages do.
    assert advanced > refused > 20


def test_each_kind_of_change_is_refused(builder: ScenarioBuilder) -> None:
    builder.play_month("2025-01")
    builder.extend_to(160)
    tip = 60  # 2025-01 decided and settled, 2025-02's snapshot (90) not reached: nothing waits
    evaluation = _full(builder, tip)
    assert _advanced(builder, evaluation, tip + 5) is not None

    stake = next(m for m in builder.messages if m.kind == "stake")
    withdrawn = _copy(builder)
    withdrawn.withdraw(stake, tip + 2)
    assert _advanced(withdrawn, evaluation, tip + 5) is None  # a vault output spent
    assert _advanced(withdrawn, evaluation, tip + 1) is not None  # below the spend

    later = _copy(builder)
    again = replace(builder.messages[-1], height=tip + 3, inscription_id="ab" * 32 + "i0")
    later.messages = [*builder.messages, again]
    assert _advanced(later, evaluation, tip + 5) is None  # a message

    reorged = _copy(builder)
    reorged.block_hash = lambda h: hashlib.sha256(b"other" + h.to_bytes(8, "big")).digest()
    assert _advanced(reorged, evaluation, tip + 5) is None  # the tip's block is gone

    snapshot = 150  # S of 2025-03: a block whose MTP reaches the month's end
    at_snapshot = _full(builder, snapshot - 1)
    assert _advanced(builder, at_snapshot, snapshot) is None

    old = replace(evaluation, steady=None)  # saved before steady states were kept
    assert _advanced(builder, old, tip + 1) is None


def test_an_evaluation_waits_for_the_rounds_heights(builder: ScenarioBuilder) -> None:
    """Before a round is decided the clock holds the next height a rule asked about, and an
    advance stops short of it."""
    record = builder.play_round("2025-01", 0, RoundPlan(publish=False))
    rnd = record.evaluation
    assert rnd.reveal_start is not None
    tip = rnd.reveal_start - 2  # the owed set is not final yet: waiting for RS − 1
    evaluation = _full(builder, tip)
    assert evaluation.steady is not None
    waiting = evaluation.steady.waiting_for
    assert waiting is not None and tip < waiting
    builder.extend_to(waiting + 5)
    assert _advanced(builder, evaluation, waiting) is None
    if waiting - 1 > tip:
        assert _advanced(builder, evaluation, waiting - 1) == _full(builder, waiting - 1)


def _point(evaluation: Evaluation) -> object:
    """The binding point without ``kept`` (how it was found, not what it holds)."""
    point = evaluation.binding
    return None if point is None else replace(point, kept=0)


def _copy(builder: ScenarioBuilder) -> ScenarioBuilder:
    clone = object.__new__(ScenarioBuilder)
    clone.__dict__.update(builder.__dict__)
    clone.spends = dict(builder.spends)
    return clone
