"""The evaluation memo: a second evaluation with the same memo recomputes nothing and decides
the same; keys separate every input; only what an evaluation asked for is worth keeping."""

from __future__ import annotations

import pytest

from drey.rules.memo import Memo, memo_key

from .scenario import ScenarioBuilder


def test_memo_key_separates_tags_parts_and_types() -> None:
    keys = {
        memo_key("a", b"x", 1),
        memo_key("b", b"x", 1),
        memo_key("a", b"x", 2),
        memo_key("a", "x", 1),  # str and bytes of the same text differ
        memo_key("a", b"x1"),  # no ambiguity from concatenation
        memo_key("a", b"x", b"1"),
    }
    assert len(keys) == 6
    assert memo_key("a", b"x", 1) == memo_key("a", b"x", 1)
    with pytest.raises(TypeError, match="bytes, str or int"):
        memo_key("a", 1.5)  # type: ignore[arg-type]


def test_used_entries_drop_what_the_evaluation_did_not_ask_for() -> None:
    stale = memo_key("t", 0)
    memo = Memo(entries={stale: "old"})
    assert memo.get_or_compute(memo_key("t", 1), lambda: "new") == "new"
    assert memo.get_or_compute(memo_key("t", 1), lambda: "recomputed") == "new"
    assert (memo.hits, memo.misses) == (1, 1)
    assert memo.used_entries() == {memo_key("t", 1): "new"}


def test_a_second_evaluation_with_the_memo_recomputes_nothing(builder: ScenarioBuilder) -> None:
    builder.play_month("2025-01")
    builder.extend_to(95)
    plain = builder.evaluate()
    assert plain.month("2025-01").outcome == "accepted"

    memo = Memo()
    first = builder.evaluate(memo=memo)
    assert first == plain
    kinds = memo.misses
    assert kinds >= 3  # plan signatures, the formula run and the month tree at least
    second = builder.evaluate(memo=Memo(entries=memo.used_entries()))
    assert second == plain
    assert memo.misses == kinds  # (the first memo was not used again)
    again = Memo(entries=memo.used_entries())
    assert builder.evaluate(memo=again) == plain
    assert again.misses == 0 and again.hits == kinds
