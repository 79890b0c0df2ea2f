"""Resuming from final months (drey.rules.resume): at every tip, and after reorgs of random
depths, an evaluation resumed from an earlier one equals the full evaluation, and it really
starts after the final months that still hold."""

from __future__ import annotations

import hashlib
import random
from dataclasses import replace

import pytest

from drey.messages import Plan
from drey.rules import Evaluation, evaluate
from drey.rules.inputs import ChainView
from drey.rules.memo import Memo

from .scenario import RoundPlan, ScenarioBuilder


def _played(builder: ScenarioBuilder) -> ScenarioBuilder:
    """Two months, the first after a round whose lead posts nothing (an offence, a slash),
    then blocks past the third snapshot."""
    builder.play_month("2025-01", [RoundPlan(lead_posts=False)])
    builder.play_month("2025-02")
    builder.extend_to(max(builder.tip, 150) + 10)
    return builder


def _evaluate(
    builder: ScenarioBuilder, chain: ChainView, tip: int, *, resume_from: Evaluation | None
) -> Evaluation:
    return evaluate(
        chain,
        [m for m in builder.messages if m.height <= tip],
        founder=builder.keys.founder,
        tip_height=tip,
        formula_parts=builder.formula_parts,
        memo=_MEMO,
        resume_from=resume_from,
    )


# One memo for the module: the formula runs and month trees are pure, and the walk (what
# resuming skips) is what these tests compare, not the memo.
_MEMO = Memo()


def _reorged(builder: ScenarioBuilder, fork: int) -> tuple[ChainView, ScenarioBuilder]:
    """The same chain to ``fork``, other blocks (and none of the messages) above it."""
    chain = builder.chain()
    hashes = tuple(
        h if height <= fork else hashlib.sha256(b"fork" + height.to_bytes(8, "big")).digest()
        for height, h in enumerate(chain.block_hashes)
    )
    other = replace(
        chain,
        block_hashes=hashes,
        vault_outputs=tuple(o for o in chain.vault_outputs if o.height <= fork),
        spends={k: v for k, v in chain.spends.items() if v <= fork},
    )
    kept = _copy(builder)
    kept.messages = [m for m in builder.messages if m.height <= fork]
    return other, kept


def _copy(builder: ScenarioBuilder) -> ScenarioBuilder:
    clone = object.__new__(ScenarioBuilder)
    clone.__dict__.update(builder.__dict__)
    return clone


def test_resumed_equals_full_at_every_tip(builder: ScenarioBuilder) -> None:
    _played(builder)
    previous: Evaluation | None = None
    reused = 0
    for tip in range(20, builder.tip + 1, 3):
        chain = builder.chain(tip)
        full = _evaluate(builder, chain, tip, resume_from=None)
        resumed = _evaluate(builder, chain, tip, resume_from=previous)
        assert resumed == full, f"tip {tip}"
        # The final months skipped asked the clock nothing: the same height is waited for.
        assert resumed.steady == full.steady, f"tip {tip}"
        assert [f.month for f in resumed.final_months] == [f.month for f in full.final_months]
        if previous is not None and previous.final_months:
            # a kept final month keeps the height it was first found final at
            assert resumed.final_months[0].height == previous.final_months[0].height < tip
            reused += 1
        previous = resumed
    assert previous is not None
    assert [f.month for f in previous.final_months] == ["2025-01", "2025-02"]
    assert reused > 5


@pytest.mark.parametrize("seed", range(6))
def test_a_reorg_at_a_random_depth_gives_the_full_answer(
    builder: ScenarioBuilder, seed: int
) -> None:
    _played(builder)
    rng = random.Random(seed)
    tip = builder.tip
    before = _evaluate(builder, builder.chain(tip), tip, resume_from=None)
    finals = {f.month: f.height for f in before.final_months}
    assert set(finals) == {"2025-01", "2025-02"}
    fork = rng.randrange(builder.params_height + 1, tip)
    chain, reorged = _reorged(builder, fork)
    full = _evaluate(reorged, chain, tip, resume_from=None)
    resumed = _evaluate(reorged, chain, tip, resume_from=before)
    assert resumed == full
    # every kept final month that was final at or below the fork is still used
    held = [m for m, h in finals.items() if h <= fork]
    assert [f.month for f in resumed.final_months][: len(held)] == held


def test_a_new_message_naming_a_final_month_is_judged_again(builder: ScenarioBuilder) -> None:
    """A final month is reused only while no message above its height names it: a late
    allocation for it gets its status from a walk that sees it."""
    _played(builder)
    tip = builder.tip
    before = _evaluate(builder, builder.chain(tip), tip, resume_from=None)
    builder.extend_to(tip + 3)
    late = builder.allocation(
        "2025-01", 0, roots=(bytes(32), 1, bytes(32)), file=b"late", signers=[0], height=tip + 2
    )
    full = _evaluate(builder, builder.chain(), builder.tip, resume_from=None)
    resumed = _evaluate(builder, builder.chain(), builder.tip, resume_from=before)
    assert resumed == full
    assert resumed.status(late.inscription_id) == full.status(late.inscription_id)
    assert resumed.final_months[0].height == builder.tip  # found final again, not reused


def test_another_trust_anchor_resumes_nothing(builder: ScenarioBuilder) -> None:
    _played(builder)
    tip = builder.tip
    before = _evaluate(builder, builder.chain(tip), tip, resume_from=None)
    bent = replace(before.final_months[0], basis=bytes(32))
    again = _evaluate(
        builder,
        builder.chain(tip),
        tip,
        resume_from=replace(before, final_months=(bent, *before.final_months[1:])),
    )
    assert again == before
    assert [f.basis for f in again.final_months] == [f.basis for f in before.final_months]


def _doctored(before: Evaluation) -> tuple[Evaluation, str]:
    """``before`` with its binding point's first valid plan turned into a refusal: a walk
    that keeps the point reports the refusal, one that binds again does not."""
    point = before.binding
    assert point is not None and point.count > 0
    statuses = list(point.statuses)
    i = next(i for i, s in enumerate(statuses) if s.kind == "plan" and s.status == "valid")
    statuses[i] = replace(statuses[i], status="quarantined", reason="bad_signature")
    return replace(before, binding=replace(point, statuses=tuple(statuses))), statuses[
        i
    ].inscription_id


def test_a_binding_point_is_resumed_from_while_its_block_holds(builder: ScenarioBuilder) -> None:
    _played(builder)
    tip = builder.tip
    before = _evaluate(builder, builder.chain(tip - 5), tip - 5, resume_from=None)
    assert before.binding is not None and before.binding.height == tip - 5
    doctored, plan = _doctored(before)
    resumed = _evaluate(builder, builder.chain(tip), tip, resume_from=doctored)
    assert resumed.status(plan).reason == "bad_signature"  # the kept verdict was used
    assert resumed.binding is not None and resumed.binding.height == tip
    assert resumed.binding.kept == before.binding.count
    # On a chain without the point's block, every stake and plan is bound again.
    chain, reorged = _reorged(builder, tip - 8)
    again = _evaluate(reorged, chain, tip, resume_from=doctored)
    assert again == _evaluate(reorged, chain, tip, resume_from=None)
    assert again.status(plan).status == "valid"


def test_a_resumed_ledger_takes_the_spends_above_its_point(builder: ScenarioBuilder) -> None:
    """The binding point's ledger (in memory) is resumed from: a withdrawal mined above the
    point is marked spent, as a binding of every message finds it, and a point without its
    ledger (read back from a file) reads every holding again to the same answer."""
    _played(builder)
    tip = builder.tip
    before = _evaluate(builder, builder.chain(tip), tip, resume_from=None)
    assert before.binding is not None and before.binding.ledger is not None
    plan = next(
        pm
        for pm in builder.messages
        if isinstance(pm.message, Plan) and before.status(pm.inscription_id).status == "valid"
    )
    assert isinstance(plan.message, Plan)
    builder.withdraw(plan, tip + 3)
    builder.extend_to(tip + 5)
    chain = builder.chain()
    full = _evaluate(builder, chain, builder.tip, resume_from=None)
    resumed = _evaluate(builder, chain, builder.tip, resume_from=before)
    assert resumed == full
    assert resumed.binding is not None and full.binding is not None
    assert resumed.binding.ledger == full.binding.ledger
    user = plan.message.user_id
    assert resumed.binding.ledger is not None
    assert resumed.binding.ledger.deposits[user][0].spent == tip + 3
    bare = replace(before, binding=replace(before.binding, ledger=None))
    again = _evaluate(builder, chain, builder.tip, resume_from=bare)
    assert again == full and again.binding is not None
    assert again.binding.ledger == full.binding.ledger
