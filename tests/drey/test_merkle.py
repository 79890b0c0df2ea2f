"""Merkle histories (PROTOCOL.md §7): month trees, proofs, the months-tree frontier."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drey.crypto.poseidon import FIELD_MODULUS, FieldElementError, poseidon2
from drey.merkle import (
    DEFAULT_MONTHS_DEPTH,
    MerkleError,
    MerkleIndexError,
    MerkleProof,
    MonthFormatError,
    MonthsTree,
    MonthTree,
    RowRangeError,
    month_commitment,
    month_from_index,
    month_index,
    month_root,
    root_history,
    row_hash,
    row_hashes,
    verify_inclusion,
    zero_hashes,
)

p = FIELD_MODULUS
U64 = 1 << 64
field = st.integers(min_value=0, max_value=p - 1)


def naive_root(leaves: list[int], depth: int) -> int:
    """Recursive root of a depth-``depth`` tree whose missing leaves are 0."""
    if depth == 0:
        return leaves[0] if leaves else 0
    half = 1 << (depth - 1)
    if not leaves:
        return zero_hashes(depth)[depth]
    return poseidon2(naive_root(leaves[:half], depth - 1), naive_root(leaves[half:], depth - 1))


def naive_month_root(leaves: list[int]) -> int:
    width = 2
    while width < len(leaves):
        width *= 2
    level = leaves + [0] * (width - len(leaves))
    while len(level) > 1:
        level = [poseidon2(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


# --------------------------------------------------------------------------- months, rows


@pytest.mark.parametrize(
    ("month", "index"), [("1970-01", 0), ("1970-12", 11), ("1971-01", 12), ("2024-03", 650)]
)
def test_month_index(month: str, index: int) -> None:
    assert month_index(month) == index
    assert month_from_index(index) == month


@pytest.mark.parametrize(
    "bad", ["1969-12", "2024-13", "2024-00", "2024-3", " 2024-03", "2024-03\n", "２０２４-03", 7]
)
def test_month_index_rejects(bad: object) -> None:
    with pytest.raises(MonthFormatError):
        month_index(bad)  # type: ignore[arg-type]


@given(st.integers(min_value=0, max_value=(9999 - 1970) * 12 + 11))
def test_month_index_roundtrip(index: int) -> None:
    assert month_index(month_from_index(index)) == index


def test_row_hash_is_p_of_key_and_dreybits() -> None:
    assert row_hash(7, 650, 1234) == poseidon2(7 * 2**32 + 650, 1234)
    assert row_hash(U64 - 1, 2**32 - 1, U64 - 1) == poseidon2(
        (U64 - 1) * 2**32 + 2**32 - 1, U64 - 1
    )


@settings(max_examples=25, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.integers(0, U64 - 1), st.integers(0, U64 - 1)), min_size=0, max_size=40
    ),
    mi=st.integers(0, 2**32 - 1),
)
def test_row_hashes_batch_matches_single(rows: list[tuple[int, int]], mi: int) -> None:
    user_ids = [u for u, _ in rows]
    dreybits = [d for _, d in rows]
    assert row_hashes(user_ids, mi, dreybits) == [row_hash(u, mi, d) for u, d in rows]


@pytest.mark.parametrize(
    ("user_id", "mi", "dreybits", "what"),
    [
        (U64, 0, 0, "user_id"),
        (-1, 0, 0, "user_id"),
        (0, 2**32, 0, "month_index"),
        (0, -1, 0, "month_index"),
        (0, 0, U64, "dreybits"),
        (0, 0, -1, "dreybits"),
        (0, 0, "5", "dreybits"),
    ],
)
def test_row_range_errors(user_id: object, mi: object, dreybits: object, what: str) -> None:
    with pytest.raises(RowRangeError, match=what):
        row_hash(user_id, mi, dreybits)  # type: ignore[arg-type]
    with pytest.raises(RowRangeError, match=what):
        row_hashes([1, user_id], mi, [2, dreybits])  # type: ignore[list-item, arg-type]
    with pytest.raises(RowRangeError, match=what):
        MonthTree.from_rows([user_id], mi, [dreybits])  # type: ignore[list-item, arg-type]


def test_row_batch_length_mismatch() -> None:
    with pytest.raises(RowRangeError, match="user_ids has 2 values but dreybits has 1"):
        row_hashes([1, 2], 0, [3])


# --------------------------------------------------------------------------- month tree


def test_padding_edge_cases() -> None:
    a, b, c = 11, 22, 33
    assert month_root([]) == poseidon2(0, 0)
    assert month_root([a]) == poseidon2(a, 0)
    assert month_root([a, b]) == poseidon2(a, b)
    assert month_root([a, b, c]) == poseidon2(poseidon2(a, b), poseidon2(c, 0))
    assert [MonthTree.from_leaves([0] * n).depth for n in range(10)] == [
        1, 1, 1, 2, 2, 3, 3, 3, 3, 4,
    ]  # fmt: skip


@settings(max_examples=30, deadline=None)
@given(leaves=st.lists(field, max_size=40))
def test_month_root_matches_naive(leaves: list[int]) -> None:
    tree = MonthTree.from_leaves(leaves)
    assert tree.root == naive_month_root(leaves)
    assert tree.n_rows == len(leaves)
    assert tree.leaves() == leaves
    assert tree.commitment == month_commitment(tree.root, len(leaves))
    assert tree.commitment == poseidon2(tree.root, len(leaves))


def test_from_rows_matches_from_leaves_and_threads() -> None:
    rng = random.Random(3)
    n = 3000  # levels above the threading threshold
    user_ids = sorted(rng.sample(range(10**9), n))
    dreybits = [rng.randrange(U64) for _ in range(n)]
    leaves = row_hashes(user_ids, 650, dreybits)
    one = MonthTree.from_rows(user_ids, 650, dreybits, workers=1)
    two = MonthTree.from_rows(user_ids, 650, dreybits, workers=2)
    assert one == two == MonthTree.from_leaves(leaves)
    assert one.root == naive_month_root(leaves)
    assert one.leaf(1234) == row_hash(user_ids[1234], 650, dreybits[1234])


@settings(max_examples=20, deadline=None)
@given(leaves=st.lists(field, min_size=1, max_size=20), data=st.data())
def test_proofs_verify_and_tampering_fails(leaves: list[int], data: st.DataObject) -> None:
    tree = MonthTree.from_leaves(leaves)
    index = data.draw(st.integers(0, len(leaves) - 1))
    proof = tree.prove(index)
    assert proof.depth == tree.depth
    assert verify_inclusion(tree.root, leaves[index], index, proof)
    assert MerkleProof.deserialize(proof.serialize()) == proof

    assert not verify_inclusion(tree.root, (leaves[index] + 1) % p, index, proof)
    assert not verify_inclusion((tree.root + 1) % p, leaves[index], index, proof)
    other = index ^ 1
    if leaves[index] != (leaves[other] if other < len(leaves) else 0):
        assert not verify_inclusion(tree.root, leaves[index], other, proof)
    level = data.draw(st.integers(0, proof.depth - 1))
    bent = list(proof.siblings)
    bent[level] = (bent[level] + 1) % p
    assert not verify_inclusion(tree.root, leaves[index], index, MerkleProof(tuple(bent)))
    assert not verify_inclusion(tree.root, leaves[index], index, MerkleProof(proof.siblings[1:]))
    assert not verify_inclusion(tree.root, leaves[index], index, MerkleProof((*proof.siblings, 0)))


@given(
    root=st.one_of(field, st.integers(), st.none()),
    leaf=st.one_of(field, st.integers(), st.text()),
    index=st.one_of(st.integers(), st.floats()),
    siblings=st.lists(st.one_of(field, st.integers()), max_size=4),
)
def test_verify_inclusion_never_raises(
    root: object, leaf: object, index: object, siblings: list[int]
) -> None:
    result = verify_inclusion(root, leaf, index, MerkleProof(tuple(siblings)))  # type: ignore[arg-type]
    assert isinstance(result, bool)
    assert verify_inclusion(0, 0, 0, "proof") is False  # type: ignore[arg-type]


def test_month_tree_index_and_value_errors() -> None:
    tree = MonthTree.from_leaves([1, 2, 3])
    for bad in (-1, 3, 4):
        with pytest.raises(MerkleIndexError, match="outside 0 … 2"):
            tree.prove(bad)
    with pytest.raises(MerkleIndexError):
        MonthTree.from_leaves([]).prove(0)
    with pytest.raises(FieldElementError, match=r"leaves\[1\]"):
        MonthTree.from_leaves([0, p])
    with pytest.raises(FieldElementError, match=r"leaves\[0\]"):
        MonthTree.from_leaves([-1])


def test_proof_deserialize_errors() -> None:
    with pytest.raises(MerkleError, match="multiple of 32"):
        MerkleProof.deserialize(bytes(33))
    with pytest.raises(MerkleError, match="sibling 1"):
        MerkleProof.deserialize(bytes(32) + p.to_bytes(32, "big"))
    with pytest.raises(MerkleError, match="too deep"):
        MerkleProof.deserialize(bytes(32 * 65))
    assert MerkleProof.deserialize(b"") == MerkleProof(())


# --------------------------------------------------------------------------- months tree


def test_zero_hashes() -> None:
    z = zero_hashes(4)
    assert z[0] == 0 and z[1] == poseidon2(0, 0)
    assert all(z[k + 1] == poseidon2(z[k], z[k]) for k in range(4))
    assert MonthsTree.empty(depth=4).root == z[4]
    assert MonthsTree.empty().root == zero_hashes(DEFAULT_MONTHS_DEPTH)[DEFAULT_MONTHS_DEPTH]


@settings(max_examples=25, deadline=None)
@given(leaves=st.lists(st.one_of(st.just(0), field), max_size=20), depth=st.integers(5, 6))
def test_frontier_root_equals_full_tree(leaves: list[int], depth: int) -> None:
    roots = root_history(leaves, depth=depth)
    assert roots == [naive_root(leaves[: i + 1], depth) for i in range(len(leaves))]
    tree = MonthsTree.empty(depth=depth)
    for leaf in leaves:
        tree = tree.append(leaf)
    assert tree.leaves == tuple(leaves)
    if leaves:
        assert tree.root == roots[-1]


def test_default_depth_history_and_proofs() -> None:
    rng = random.Random(5)
    leaves = [rng.randrange(p) if rng.random() > 0.3 else 0 for _ in range(13)]
    tree = MonthsTree.empty()
    for leaf in leaves:
        tree = tree.append(leaf)
    assert tree.root == naive_root(leaves, DEFAULT_MONTHS_DEPTH)
    for index in (0, 5, 12, 13, 40000, 2**16 - 1):
        proof = tree.prove(index)
        assert proof.depth == DEFAULT_MONTHS_DEPTH
        assert verify_inclusion(tree.root, tree.leaf(index), index, proof)
        assert not verify_inclusion(tree.root, tree.leaf(index) + 1, index, proof)


def test_months_tree_is_immutable_history() -> None:
    empty = MonthsTree.empty(depth=3)
    one = empty.append(7)
    two = one.append(8)
    assert empty.size == 0 and one.size == 1 and two.size == 2
    assert one.root == naive_root([7], 3) and two.root == naive_root([7, 8], 3)
    # An old state still proves against its own root.
    assert verify_inclusion(one.root, 7, 0, one.prove(0))
    assert not verify_inclusion(one.root, 7, 0, two.prove(0))


def test_with_leaf_skips_months_as_zero() -> None:
    tree = MonthsTree.empty(depth=4).append(5).with_leaf(4, 9)
    assert tree.leaves == (5, 0, 0, 0, 9)
    assert tree.root == naive_root([5, 0, 0, 0, 9], 4)
    assert tree.with_leaf(5, 1) == tree.append(1)
    with pytest.raises(MerkleIndexError, match="append-only"):
        tree.with_leaf(4, 1)
    with pytest.raises(MerkleIndexError, match="append-only"):
        tree.with_leaf(16, 1)


def test_months_tree_errors() -> None:
    tree = MonthsTree.empty(depth=1).append(1).append(2)
    with pytest.raises(MerkleIndexError, match="full"):
        tree.append(3)
    with pytest.raises(FieldElementError):
        MonthsTree.empty(depth=2).append(p)
    with pytest.raises(MerkleError, match="depth"):
        MonthsTree.empty(depth=0)
    with pytest.raises(MerkleError, match="depth"):
        MonthsTree.empty(depth=65)
    with pytest.raises(MerkleIndexError):
        tree.prove(2)
    with pytest.raises(MerkleIndexError):
        tree.leaf(-1)
