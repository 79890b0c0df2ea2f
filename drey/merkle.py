"""Merkle histories of the Drey protocol (PROTOCOL.md §7).

Two trees, both binary, both hashing a node as P(left, right) with the 2-input Poseidon:

**Month tree** (:class:`MonthTree`): one leaf per allocation row, in input-row order; the leaf
is the row hash ``P(user_id · 2^32 + month_index, dreybits)``. Leaves are padded with 0 to the
next power of two, at least 2, so 0 rows give ``P(0, 0)`` and 1 row gives ``P(leaf, 0)``. The
month commitment ``P(month_root, n_rows)`` binds the row count.

**Months tree** (:class:`MonthsTree`): fixed depth (``months_depth``, default 16); leaf i is the
commitment of month ``first_month + i``, 0 for an empty or failed month; unfilled subtrees
hash as Z_k (Z_0 = 0, Z_{k+1} = P(Z_k, Z_k)). It is an immutable append-only frontier: each
append returns a new tree and costs exactly ``depth`` hashes.

Values are Python ints that are field elements; :func:`drey.crypto.poseidon.field_to_bytes` and
:func:`~drey.crypto.poseidon.field_from_bytes` convert to and from the 32-byte big-endian wire
form. Inside :class:`MonthTree` the levels are kept packed (32-byte little-endian per node) so a
million-row tree never materialises two million Python ints.

Proofs (:class:`MerkleProof`) list the sibling of each level, leaf level first; the leaf index
picks the side. :func:`verify_inclusion` is a validator: it returns ``False`` for anything that
does not verify, malformed input included, and never raises.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from drey.crypto.poseidon import (
    FIELD_BYTES,
    FieldElementError,
    field_from_bytes,
    field_to_bytes,
    hash_packed_pairs,
    is_field_element,
    poseidon2,
)
from drey.errors import ProtocolError

__all__ = [
    "DEFAULT_MONTHS_DEPTH",
    "MAX_MONTHS_DEPTH",
    "MerkleError",
    "MerkleIndexError",
    "MerkleProof",
    "MonthFormatError",
    "MonthTree",
    "MonthsTree",
    "RowRangeError",
    "month_commitment",
    "month_from_index",
    "month_index",
    "month_root",
    "root_history",
    "row_hash",
    "row_hashes",
    "verify_inclusion",
    "zero_hashes",
]

DEFAULT_MONTHS_DEPTH = 16
#: Deepest months tree accepted; anything deeper is a misconfiguration, not a calendar.
MAX_MONTHS_DEPTH = 64
_U64 = 1 << 64
_U32 = 1 << 32
_MONTH_RE = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")
_PAD20 = bytes(20)
_PAD24 = bytes(24)


class MerkleError(ProtocolError):
    """Root of the Merkle-history errors."""


class MonthFormatError(MerkleError):
    """A month string is not ``YYYY-MM`` with year >= 1970 (PROTOCOL.md §1)."""


class RowRangeError(MerkleError):
    """A row value is outside its protocol range (user_id u64, month index u32, dreybits u64)."""


class MerkleIndexError(MerkleError):
    """A leaf index outside the tree, or an append past a full/append-only months tree."""


# --------------------------------------------------------------------------- months and rows


def month_index(month: str) -> int:
    """(year − 1970) × 12 + (month − 1) for ``YYYY-MM`` (PROTOCOL.md §7)."""
    if not isinstance(month, str) or not _MONTH_RE.fullmatch(month):
        raise MonthFormatError(f"month must match YYYY-MM (01-12), got {month!r}")
    year, mon = int(month[:4]), int(month[5:])
    if year < 1970:
        raise MonthFormatError(f"month {month!r} is before 1970")
    return (year - 1970) * 12 + (mon - 1)


def month_from_index(index: int) -> str:
    """Inverse of :func:`month_index` (0 → ``1970-01``)."""
    if not isinstance(index, int) or not 0 <= index < (10000 - 1970) * 12:
        raise MonthFormatError(f"month index {index!r} is not a YYYY-MM month from 1970")
    year, mon = divmod(index, 12)
    return f"{1970 + year:04d}-{mon + 1:02d}"


def _check_row(user_id: object, month_idx: object, dreybits: object, where: str) -> None:
    if not isinstance(user_id, int) or not 0 <= user_id < _U64:
        raise RowRangeError(f"{where}: user_id {user_id!r} is not a u64")
    if not isinstance(month_idx, int) or not 0 <= month_idx < _U32:
        raise RowRangeError(f"{where}: month_index {month_idx!r} is not a u32")
    if not isinstance(dreybits, int) or not 0 <= dreybits < _U64:
        raise RowRangeError(f"{where}: dreybits {dreybits!r} is not a u64")


def row_hash(user_id: int, month_index: int, dreybits: int) -> int:
    """The month-tree leaf of one row: P(user_id · 2^32 + month_index, dreybits)."""
    _check_row(user_id, month_index, dreybits, "row")
    return poseidon2(user_id * _U32 + month_index, dreybits)


def _pack_rows(user_ids: Sequence[int], month_idx: int, dreybits: Sequence[int]) -> bytes:
    """Rows as packed (key ‖ dreybits) pairs, 32-byte little-endian each, range-checked."""
    if len(user_ids) != len(dreybits):
        raise RowRangeError(f"user_ids has {len(user_ids)} values but dreybits has {len(dreybits)}")
    _check_row(0, month_idx, 0, "rows")
    try:
        # The key user_id·2^32 + month_index in little-endian is month_index's 4 bytes, then
        # user_id's 8. Fixed-width to_bytes raises on a value outside u64 instead of wrapping;
        # keys (< 2^96) and dreybits (< 2^64) are then always field elements.
        mi = month_idx.to_bytes(4, "little")
        return b"".join(
            [
                mi + u.to_bytes(8, "little") + _PAD20 + d.to_bytes(8, "little") + _PAD24
                for u, d in zip(user_ids, dreybits, strict=True)
            ]
        )
    except (AttributeError, OverflowError, TypeError):
        for i, (u, d) in enumerate(zip(user_ids, dreybits, strict=True)):
            _check_row(u, month_idx, d, f"row {i}")
        raise  # pragma: no cover - the scan above always finds the culprit


def row_hashes(
    user_ids: Sequence[int],
    month_index: int,
    dreybits: Sequence[int],
    *,
    workers: int | None = None,
) -> list[int]:
    """:func:`row_hash` of every row of one month (batched; pass Arrow columns as lists)."""
    packed = hash_packed_pairs(_pack_rows(user_ids, month_index, dreybits), workers=workers)
    view = memoryview(packed)
    return [int.from_bytes(view[i : i + 32], "little") for i in range(0, len(packed), 32)]


# --------------------------------------------------------------------------- shared tree code


@functools.cache
def _zero_hashes(depth: int) -> tuple[int, ...]:
    zeros = [0]
    for _ in range(depth):
        zeros.append(poseidon2(zeros[-1], zeros[-1]))
    return tuple(zeros)


def zero_hashes(depth: int) -> tuple[int, ...]:
    """(Z_0, …, Z_depth): the roots of all-zero subtrees, Z_0 = 0, Z_{k+1} = P(Z_k, Z_k)."""
    if not isinstance(depth, int) or not 0 <= depth <= MAX_MONTHS_DEPTH:
        raise MerkleError(f"depth must be 0 … {MAX_MONTHS_DEPTH}, got {depth!r}")
    return _zero_hashes(depth)


def _packed_levels(leaves: bytes, depth: int, workers: int | None) -> tuple[bytes, ...]:
    """Levels 0 … depth of a tree whose leaves beyond ``leaves`` are 0.

    Level k holds only the nodes that have a real leaf below them (ceil(n / 2^k)); every node
    to their right is Z_k, so a padded or sparse tree costs no hashes for its empty part.
    """
    zeros = _zero_hashes(depth)
    levels = [leaves]
    current = leaves
    for k in range(depth):
        if len(current) // FIELD_BYTES % 2:
            current += zeros[k].to_bytes(FIELD_BYTES, "little")
        current = hash_packed_pairs(current, workers=workers)
        levels.append(current)
    return tuple(levels)


def _node(levels: Sequence[bytes], level: int, index: int) -> int:
    data = levels[level]
    start = index * FIELD_BYTES
    if start >= len(data):
        return _zero_hashes(len(levels) - 1)[level]
    return int.from_bytes(data[start : start + FIELD_BYTES], "little")


def _proof(levels: Sequence[bytes], index: int) -> MerkleProof:
    return MerkleProof(
        siblings=tuple(_node(levels, k, (index >> k) ^ 1) for k in range(len(levels) - 1))
    )


@dataclass(frozen=True, slots=True)
class MerkleProof:
    """Inclusion proof: the sibling at each level, leaf level first (``depth`` entries)."""

    siblings: tuple[int, ...]

    @property
    def depth(self) -> int:
        return len(self.siblings)

    def compute_root(self, leaf: int, index: int) -> int:
        """The root implied by ``leaf`` at ``index``; raises on out-of-range input."""
        if not isinstance(index, int) or not 0 <= index < (1 << self.depth):
            raise MerkleIndexError(f"index {index!r} is outside a tree of depth {self.depth}")
        node = leaf
        for k, sibling in enumerate(self.siblings):
            node = poseidon2(sibling, node) if (index >> k) & 1 else poseidon2(node, sibling)
        return node

    def serialize(self) -> bytes:
        """The siblings as 32-byte big-endian field elements, concatenated."""
        return b"".join(field_to_bytes(s) for s in self.siblings)

    @classmethod
    def deserialize(cls, data: bytes) -> MerkleProof:
        """Inverse of :meth:`serialize`; raises :class:`MerkleError` on bad length or values."""
        if len(data) % FIELD_BYTES:
            raise MerkleError(f"proof length {len(data)} is not a multiple of {FIELD_BYTES}")
        if len(data) // FIELD_BYTES > MAX_MONTHS_DEPTH:
            raise MerkleError(f"proof of {len(data) // FIELD_BYTES} levels is too deep")
        siblings = []
        for i in range(0, len(data), FIELD_BYTES):
            try:
                siblings.append(field_from_bytes(data[i : i + FIELD_BYTES]))
            except FieldElementError as exc:
                raise MerkleError(f"proof sibling {i // FIELD_BYTES}: {exc}") from exc
        return cls(siblings=tuple(siblings))


def verify_inclusion(root: int, leaf: int, index: int, proof: MerkleProof) -> bool:
    """True iff ``proof`` shows ``leaf`` at ``index`` under ``root``; never raises."""
    if not isinstance(proof, MerkleProof):  # callers may pass anything decoded from JSON
        return False  # type: ignore[unreachable]
    values = (root, leaf, *proof.siblings)
    if not all(is_field_element(v) for v in values):
        return False
    if not isinstance(index, int) or not 0 <= index < (1 << proof.depth):
        return False
    return proof.compute_root(leaf, index) == root


# --------------------------------------------------------------------------- month tree


def _depth_for(n_rows: int) -> int:
    return max(1, (n_rows - 1).bit_length())


@dataclass(frozen=True, slots=True)
class MonthTree:
    """The month tree of one allocation (PROTOCOL.md §7).

    ``levels[k]`` packs the level-k nodes that have a row below them (32-byte little-endian
    each); the rest of level k is implicitly Z_k. ``levels[-1]`` is the root. Build with
    :meth:`from_rows` or :meth:`from_leaves`.
    """

    n_rows: int
    levels: tuple[bytes, ...]

    @classmethod
    def from_leaves(cls, leaves: Sequence[int], *, workers: int | None = None) -> MonthTree:
        """Tree over row hashes already computed (field elements, in row order)."""
        n = len(leaves)
        for i, x in enumerate(leaves):
            if not is_field_element(x):
                raise FieldElementError(f"leaves[{i}] = {x!r} is not a field element")
        packed = b"".join([x.to_bytes(FIELD_BYTES, "little") for x in leaves])
        return cls(n_rows=n, levels=_packed_levels(packed, _depth_for(n), workers))

    @classmethod
    def from_rows(
        cls,
        user_ids: Sequence[int],
        month_index: int,
        dreybits: Sequence[int],
        *,
        workers: int | None = None,
    ) -> MonthTree:
        """Tree over the rows of one month: leaf i = row_hash(user_ids[i], month_index, …)."""
        leaves = hash_packed_pairs(_pack_rows(user_ids, month_index, dreybits), workers=workers)
        n = len(user_ids)
        return cls(n_rows=n, levels=_packed_levels(leaves, _depth_for(n), workers))

    @property
    def depth(self) -> int:
        """Levels above the leaves: ceil(log2(max(n_rows, 2)))."""
        return len(self.levels) - 1

    @property
    def root(self) -> int:
        return _node(self.levels, self.depth, 0)

    @property
    def commitment(self) -> int:
        """P(root, n_rows): the months-tree leaf of this month."""
        return month_commitment(self.root, self.n_rows)

    def leaf(self, index: int) -> int:
        """Row hash ``index`` (0 <= index < n_rows)."""
        self._check_index(index)
        return _node(self.levels, 0, index)

    def leaves(self) -> list[int]:
        """All row hashes, in row order."""
        data = memoryview(self.levels[0])
        return [int.from_bytes(data[i : i + 32], "little") for i in range(0, len(data), 32)]

    def prove(self, index: int) -> MerkleProof:
        """Inclusion proof of row ``index`` (0 <= index < n_rows) under :attr:`root`."""
        self._check_index(index)
        return _proof(self.levels, index)

    def level_nodes(self, level: int) -> list[int]:
        """The nodes of ``level`` (0 … depth) that any row's proof reads: those with a row
        below them and, below the root when their count is odd, the Z_level that pairs with
        the last one. Siblings at ``level`` of every row are among them."""
        if not isinstance(level, int) or not 0 <= level <= self.depth:
            raise MerkleIndexError(f"level {level!r} is outside 0 … {self.depth}")
        data = memoryview(self.levels[level])
        nodes = [int.from_bytes(data[i : i + 32], "little") for i in range(0, len(data), 32)]
        if level < self.depth and len(nodes) % 2:
            nodes.append(_zero_hashes(self.depth)[level])
        return nodes

    def _check_index(self, index: int) -> None:
        if not isinstance(index, int) or not 0 <= index < self.n_rows:
            raise MerkleIndexError(f"row index {index!r} is outside 0 … {self.n_rows - 1}")


def month_root(leaves: Sequence[int], *, workers: int | None = None) -> int:
    """Root of the month tree over ``leaves`` (row hashes in row order)."""
    return MonthTree.from_leaves(leaves, workers=workers).root


def month_commitment(root: int, n_rows: int) -> int:
    """P(month_root, n_rows) (PROTOCOL.md §7); n_rows must be a field element."""
    return poseidon2(root, n_rows)


# --------------------------------------------------------------------------- months tree


@dataclass(frozen=True, slots=True)
class MonthsTree:
    """Append-only months tree of fixed depth (PROTOCOL.md §7), immutable.

    ``leaves[i]`` is the leaf of month ``first_month + i`` (the mapping to months is the
    caller's: see :func:`month_index`); leaves at ``size`` and beyond are 0. ``frontier[k]`` is
    the newest level-k node that is a left child (the classic incremental-Merkle "filled
    subtrees"); with it an append costs exactly ``depth`` hashes. Build with :meth:`empty`.
    """

    depth: int
    leaves: tuple[int, ...]
    frontier: tuple[int, ...]
    root: int

    @classmethod
    def empty(cls, *, depth: int = DEFAULT_MONTHS_DEPTH) -> MonthsTree:
        if not isinstance(depth, int) or not 1 <= depth <= MAX_MONTHS_DEPTH:
            raise MerkleError(f"months depth must be 1 … {MAX_MONTHS_DEPTH}, got {depth!r}")
        zeros = _zero_hashes(depth)
        return cls(depth=depth, leaves=(), frontier=zeros[:depth], root=zeros[depth])

    @property
    def size(self) -> int:
        """Leaves filled so far (the next append goes to this index)."""
        return len(self.leaves)

    @property
    def capacity(self) -> int:
        return 1 << self.depth

    def append(self, leaf: int) -> MonthsTree:
        """A new tree with ``leaf`` at index :attr:`size`; ``depth`` hashes."""
        if not is_field_element(leaf):
            raise FieldElementError(f"months-tree leaf {leaf!r} is not a field element")
        index = self.size
        if index >= self.capacity:
            raise MerkleIndexError(f"months tree of depth {self.depth} is full ({index} leaves)")
        zeros = _zero_hashes(self.depth)
        frontier = list(self.frontier)
        node = leaf
        for k in range(self.depth):
            if (index >> k) & 1:
                node = poseidon2(frontier[k], node)
            else:
                frontier[k] = node
                node = poseidon2(node, zeros[k])
        return MonthsTree(
            depth=self.depth, leaves=(*self.leaves, leaf), frontier=tuple(frontier), root=node
        )

    def append_siblings(self) -> tuple[int, ...]:
        """The siblings of leaf :attr:`size`, bottom up: the path an append writes along (what
        the prover of a months-append proof knows, docs/protocol/proofs.md §1)."""
        index = self.size
        if index >= self.capacity:
            raise MerkleIndexError(f"months tree of depth {self.depth} is full ({index} leaves)")
        zeros = _zero_hashes(self.depth)
        return tuple(self.frontier[k] if (index >> k) & 1 else zeros[k] for k in range(self.depth))

    def with_leaf(self, index: int, leaf: int) -> MonthsTree:
        """A new tree with ``leaf`` at ``index`` >= :attr:`size`, skipped indices set to 0.

        The history is append-only: an index below :attr:`size` is refused. Costs
        ``depth`` hashes per index filled, skipped ones included.
        """
        if not isinstance(index, int) or not self.size <= index < self.capacity:
            raise MerkleIndexError(
                f"months-tree index {index!r} is not in {self.size} … {self.capacity - 1} "
                "(the history is append-only)"
            )
        if not is_field_element(leaf):
            raise FieldElementError(f"months-tree leaf {leaf!r} is not a field element")
        tree = self
        while tree.size < index:
            tree = tree.append(0)
        return tree.append(leaf)

    def leaf(self, index: int) -> int:
        """Leaf ``index`` (0 for indices not filled yet)."""
        if not isinstance(index, int) or not 0 <= index < self.capacity:
            raise MerkleIndexError(f"index {index!r} is outside 0 … {self.capacity - 1}")
        return self.leaves[index] if index < self.size else 0

    def prove(self, index: int) -> MerkleProof:
        """Inclusion proof of leaf ``index`` under :attr:`root` (any index < capacity).

        Rebuilds the filled part of the tree: about :attr:`size` hashes.
        """
        if not isinstance(index, int) or not 0 <= index < self.capacity:
            raise MerkleIndexError(f"index {index!r} is outside 0 … {self.capacity - 1}")
        packed = b"".join(x.to_bytes(FIELD_BYTES, "little") for x in self.leaves)
        return _proof(_packed_levels(packed, self.depth, 1), index)


def root_history(leaves: Iterable[int], *, depth: int = DEFAULT_MONTHS_DEPTH) -> list[int]:
    """The months root after each decided month: ``[root after leaf 0, after leaf 1, …]``.

    ``leaves`` are the month leaves in month order (commitment, or 0 for an empty or failed
    month), starting at ``first_month``.
    """
    tree = MonthsTree.empty(depth=depth)
    roots = []
    for leaf in leaves:
        tree = tree.append(leaf)
        roots.append(tree.root)
    return roots
