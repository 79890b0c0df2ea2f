"""Row proofs (drey/row_proof.py): built from a month tree and a months tree, every row's proof
holds from its JSON alone, each sibling a path reads is one of MonthTree.level_nodes, and
malformed JSON is refused naming the field."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drey.merkle import MonthsTree, MonthTree, month_index
from drey.row_proof import RowProof, RowProofError

MONTH = "2025-03"


def proofs(dreybits: list[int], months_before: int) -> list[RowProof]:
    users = [1000 + 7 * i for i in range(len(dreybits))]
    tree = MonthTree.from_rows(users, month_index(MONTH), dreybits)
    months = MonthsTree.empty(depth=8)
    for i in range(months_before):
        months = months.append(i + 1)
    index = months.size
    months = months.append(tree.commitment)
    path = months.prove(index).siblings
    return [
        RowProof(
            user_id=u,
            month=MONTH,
            dreybits=d,
            row_index=i,
            row_hash=tree.leaf(i),
            month_path=tree.prove(i).siblings,
            month_root=tree.root,
            n_rows=tree.n_rows,
            commitment=tree.commitment,
            months_index=index,
            months_path=path,
            months_root=months.root,
        )
        for i, (u, d) in enumerate(zip(users, dreybits, strict=True))
    ]


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=40),
    st.integers(0, 5),
)
def test_every_row_verifies_and_every_sibling_is_a_stored_node(
    dreybits: list[int], months_before: int
) -> None:
    rows = proofs(dreybits, months_before)
    tree = MonthTree.from_rows([p.user_id for p in rows], month_index(MONTH), dreybits)
    for proof in rows:
        assert proof.problems() == []
        assert RowProof.from_json(json.dumps(proof.to_json())) == proof
        for k, sibling in enumerate(proof.month_path):
            nodes = tree.leaves() if k == 0 else tree.level_nodes(k)
            j = (proof.row_index >> k) ^ 1
            assert (nodes[j] if j < len(nodes) else 0) == sibling
    assert tree.level_nodes(tree.depth) == [tree.root]


def test_a_changed_value_is_named() -> None:
    (proof, *_) = proofs([5, 6, 7], 2)
    cases = {
        "dreybits": (proof.dreybits + 1, "row_hash is not P("),
        "n_rows": (proof.n_rows + 1, "commitment is not P(month_root, n_rows)"),
        "row_index": (proof.n_rows, "row_index 3 is not below n_rows 3"),
        "months_index": (proof.months_index + 1, "months_path does not lead"),
    }
    for name, (value, problem) in cases.items():
        got = RowProof.from_json({**proof.to_json(), name: value}).problems()
        assert any(p.startswith(problem) for p in got), (name, got)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": "x"}, "format: expected 'drey-row-proof/1'"),
        ({"month": "2025-13"}, "month: expected YYYY-MM"),
        ({"dreybits": "-1"}, "dreybits: expected a non-negative integer"),
        ({"user_id": True}, "user_id: expected a non-negative integer"),
        ({"row_hash": "AB" * 32}, "row_hash: expected 64 lowercase hex"),
        ({"month_path": "00"}, "month_path: expected a list"),
        ({"months_path": ["0" * 64] * 65}, "months_path: 65 levels"),
        ({"months_path": [1]}, "months_path[0]: expected 64 lowercase hex"),
    ],
)
def test_malformed_json_is_refused_naming_the_field(change: dict, message: str) -> None:
    (proof, *_) = proofs([1, 2], 0)
    with pytest.raises(RowProofError) as info:
        RowProof.from_json({**proof.to_json(), **change})
    assert str(info.value).startswith(message), str(info.value)
    with pytest.raises(RowProofError, match=r"^not JSON"):
        RowProof.from_json("{")
