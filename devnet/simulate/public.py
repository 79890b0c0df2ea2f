"""What anyone can compute from the chain: a month's input rows, its allocation, the file and
the Merkle roots (PROTOCOL.md §6, §7), and the module the founder inscribed.

Computed once per (month, block hash at S_M, months-tree root before M) and cached: actuary
clients share the results (public data, no secrets). Both the inscribed module (what clients
publish) and the Python reference (what the simulator's own bookkeeping judges with) run; a
difference raises :class:`~devnet.simulate.errors.InconsistentOutcomeError`.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from devnet.simulate.errors import InconsistentOutcomeError
from devnet.simulate.view import ChainView
from drey.allocation_file import write_allocation_file
from drey.crypto.poseidon import field_to_bytes
from drey.formula import (
    AssemblyFailure,
    FormulaFailure,
    FormulaRow,
    allocate_reference,
    assemble_module,
    run_formula,
)
from drey.merkle import MonthsTree, MonthTree, month_commitment, month_index
from drey.messages import FormulaManifest, Params

__all__ = ["Expected", "PublicComputations"]

U64 = 1 << 64


@dataclass(frozen=True, slots=True)
class Expected:
    """The correct result of month M: rows, Dreybits, file and roots."""

    month: str
    rows: tuple[FormulaRow, ...]
    overflow: bool
    dreybits: tuple[int, ...]
    file: bytes
    sha256: bytes
    month_root: bytes
    n_rows: int
    commitment: int
    months_root: bytes
    months_tree: MonthsTree
    total_deposits: int
    dreybits_total: int = 0

    def roots(self) -> tuple[bytes, int, bytes]:
        return (self.month_root, self.n_rows, self.months_root)

    def months_tree_before(self) -> MonthsTree:
        """The months tree after M − 1: the tree after M without M's leaf (the leaves before
        it are the same)."""
        tree = MonthsTree.empty(depth=self.months_tree.depth)
        for leaf in self.months_tree.leaves[:-1]:
            tree = tree.append(leaf)
        return tree


class PublicComputations:
    """Caches of public computations, shared by every client and the bookkeeping."""

    def __init__(self) -> None:
        self._expected: dict[tuple[str, bytes, int], Expected] = {}
        self._module: bytes | None = None

    def module(self, view: ChainView) -> bytes:
        """The formula module the params name, assembled from its inscribed parts."""
        if self._module is None:
            assert view.params is not None
            params = view.params.message
            assert isinstance(params, Params)
            manifest = view.manifests[params.formula].message
            assert isinstance(manifest, FormulaManifest)
            parts = [
                view.wasm_parts[p][1]
                if p in view.wasm_parts and view.wasm_parts[p][0] <= view.params.height
                else None
                for p in manifest.parts
            ]
            module = assemble_module(manifest, parts)
            if isinstance(module, AssemblyFailure):
                raise InconsistentOutcomeError(f"the inscribed formula does not assemble: {module}")
            self._module = module
        return self._module

    def expected(
        self,
        view: ChainView,
        *,
        month: str,
        snapshots: Sequence[int],
        pool: int,
        months_tree: MonthsTree,
        first_month: str,
    ) -> Expected:
        """Month ``month`` given ``snapshots`` = [S_{first−1}, S_first, …, S_M] and the
        months tree after M − 1. Rows, sat_blocks and ages follow §6; the total of deposits at
        S_M is the base of the month's reward pool (§9)."""
        s_prev, s = snapshots[-2], snapshots[-1]
        key = (month, view.hash(s), months_tree.root)
        hit = self._expected.get(key)
        if hit is not None:
            return hit
        rows: list[FormulaRow] = []
        total = 0
        overflow = False
        m_idx = month_index(month)
        for user_id in sorted(view.deposits):
            holdings = view.deposits[user_id]
            if not holdings:
                continue
            first = min(h.height for h in holdings)
            if first > s:
                continue
            sat_blocks = 0
            for h in holdings:
                sat_blocks += h.value * h.heights_counted(s_prev + 1, s)
                if h.counts_at(s):
                    total += h.value
            if sat_blocks >= U64:
                overflow = True
            # Month of the first deposit: the i with S_{i-1} < first ≤ S_i.
            i = bisect.bisect_left(snapshots, first, lo=1)
            age = m_idx - (month_index(first_month) + i - 1)
            rows.append((user_id, min(sat_blocks, U64 - 1), age))
        if overflow:
            exp = Expected(
                month, tuple(rows), True, (), b"", b"", b"", len(rows), 0, b"", months_tree, total
            )
            self._expected[key] = exp
            return exp
        reference = allocate_reference(rows, pool=pool)
        from_module = run_formula(self.module(view), rows, pool=pool)
        if isinstance(from_module, FormulaFailure) or list(from_module) != list(reference):
            raise InconsistentOutcomeError(
                f"{month}: the inscribed module and the Python reference disagree "
                f"({from_module if isinstance(from_module, FormulaFailure) else 'values'})"
            )
        file = write_allocation_file(reference)
        tree = MonthTree.from_rows([r[0] for r in rows], m_idx, reference)
        commitment = month_commitment(tree.root, len(rows))
        index = m_idx - month_index(first_month)
        after = months_tree.with_leaf(index, commitment)
        exp = Expected(
            month=month,
            rows=tuple(rows),
            overflow=False,
            dreybits=tuple(reference),
            file=file,
            sha256=hashlib.sha256(file).digest(),
            month_root=field_to_bytes(tree.root),
            n_rows=len(rows),
            commitment=commitment,
            months_root=field_to_bytes(after.root),
            months_tree=after,
            total_deposits=total,
            dreybits_total=sum(reference),
        )
        self._expected[key] = exp
        return exp
