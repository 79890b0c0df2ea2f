"""The months-append statement (drey.proofs): the prover's siblings fold to the old and the
new root exactly as the circuit folds them (docs/protocol/proofs.md §1)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drey.crypto.poseidon import poseidon2
from drey.errors import ProtocolError
from drey.merkle import MonthsTree
from drey.proofs import binding, statement, witness


def _fold(leaf: int, index: int, siblings: tuple[int, ...]) -> int:
    node = leaf
    for k, sibling in enumerate(siblings):
        node = poseidon2(sibling, node) if (index >> k) & 1 else poseidon2(node, sibling)
    return node


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.integers(min_value=0, max_value=2**64), max_size=6),
    st.integers(min_value=0, max_value=3),
    st.integers(min_value=1, max_value=2**32),
)
def test_siblings_fold_to_the_old_root_and_the_appended_one(
    filled: list[int], skip: int, commitment: int
) -> None:
    history = MonthsTree.empty(depth=4)
    for leaf in filled:
        history = history.append(leaf)
    index = history.size + skip
    if index >= history.capacity:
        return
    siblings = witness(history, index)
    assert _fold(0, index, siblings) == history.root
    assert _fold(commitment, index, siblings) == history.with_leaf(index, commitment).root


def test_the_statement_takes_index_and_old_root_from_the_verifiers_history() -> None:
    history = MonthsTree.empty(depth=4).append(5)
    key = bytes(32)
    s = statement(
        history, first_month="2025-01", month="2025-03", round_=2, actuary=key,
        month_root=9, n_rows=3, new_root=11,
    )  # fmt: skip
    assert (s.index, s.old_root, s.month_root, s.n_rows, s.new_root) == (2, history.root, 9, 3, 11)
    assert s.binding == binding(key, "2025-03", 2) != binding(key, "2025-03", 1)
    with pytest.raises(ProtocolError, match="next slot"):
        statement(
            history, first_month="2025-01", month="2025-01", round_=0, actuary=key,
            month_root=9, n_rows=3, new_root=11,
        )  # fmt: skip
