"""The month's expected allocation: formula module, reference, roots (PROTOCOL.md §6, §7).

The inscribed module (manifest named by params(M).formula, founder-signed, manifest and
parts mined at heights ≤ that params' height) is authoritative; the Python reference runs
beside it and a difference is a warehouse alarm (a failed ``formula_reference`` check), not
a chain rule. When the module cannot be assembled or fails to run, the reference answers
and the ``formula_module`` check fails (documented in docs/protocol/rules.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from drey.crypto.poseidon import field_to_bytes
from drey.errors import FormulaError
from drey.formula import (
    AssemblyFailure,
    FormulaFailure,
    FormulaPart,
    allocate_reference,
    assemble_module,
    run_formula,
)
from drey.formula.reference import FormulaRow, encode_rows
from drey.merkle import MonthsTree, MonthTree
from drey.messages import FormulaManifest
from drey.rules.calendar import month_index
from drey.rules.inputs import FormulaPartInscription, PositionedMessage
from drey.rules.memo import Memo, memo_key

__all__ = [
    "FormulaResult",
    "MonthRoots",
    "compute_allocation",
    "load_module",
    "month_roots",
    "rows_digest",
]


def load_module(
    formula_id: str,
    *,
    manifests: Mapping[str, PositionedMessage],
    parts: Mapping[str, FormulaPartInscription],
    params_height: int,
) -> bytes | str:
    """The module bytes, or why there is none. ``manifests`` holds the founder-signed
    manifests by inscription id."""
    pm = manifests.get(formula_id)
    if pm is None or not isinstance(pm.message, FormulaManifest):
        return f"manifest {formula_id} is not a founder-signed formula inscription"
    if pm.height > params_height:
        return f"manifest mined at {pm.height}, after the params at {params_height}"
    manifest = pm.message
    assert isinstance(manifest, FormulaManifest)
    found: list[FormulaPart | None] = []
    for part_id in manifest.parts:
        part = parts.get(part_id)
        found.append(None if part is None or part.height > params_height else part.part)
    module = assemble_module(manifest, found)
    if isinstance(module, AssemblyFailure):
        return f"{module.reason}: {module.detail}"
    return module


@dataclass(frozen=True, slots=True)
class FormulaResult:
    """The Dreybits that count, where they came from, and the alarm comparison."""

    dreybits: tuple[int, ...]
    source: Literal["module", "reference"]
    module_problem: str | None
    reference_match: bool | None


def rows_digest(rows: Sequence[FormulaRow]) -> bytes | None:
    """SHA-256 of the rows as the module reads them, or ``None`` if a row does not fit (an
    overflowing month is not worth remembering)."""
    try:
        return hashlib.sha256(encode_rows(rows)).digest()
    except FormulaError:
        return None


def compute_allocation(
    rows: Sequence[FormulaRow],
    *,
    pool: int,
    module: bytes | str,
    reference: bool = True,
    memo: Memo | None = None,
    digest: bytes | None = None,
) -> FormulaResult:
    """Run the module (authoritative) and, if ``reference``, the Python reference. With a
    ``memo`` and the rows' ``digest`` (:func:`rows_digest`), a run already made on the same
    module, rows and pool is not made again."""
    if memo is not None and digest is not None:
        module_id = module if isinstance(module, str) else hashlib.sha256(module).digest()
        key = memo_key("formula/1", module_id, digest, pool, int(reference))
        return memo.get_or_compute(
            key, lambda: compute_allocation(rows, pool=pool, module=module, reference=reference)
        )
    ref = allocate_reference(rows, pool=pool) if reference or isinstance(module, str) else None
    if isinstance(module, str):
        assert ref is not None
        return FormulaResult(tuple(ref), "reference", module, None)
    out = run_formula(module, rows, pool=pool)
    if isinstance(out, FormulaFailure):
        ref = ref if ref is not None else allocate_reference(rows, pool=pool)
        return FormulaResult(tuple(ref), "reference", f"{out.reason}: {out.detail}", None)
    return FormulaResult(tuple(out), "module", None, None if ref is None else ref == out)


@dataclass(frozen=True, slots=True)
class MonthRoots:
    """month_root, n_rows, commitment (32-byte big-endian) and months_root after M."""

    month_root: bytes
    n_rows: int
    commitment: int
    months_root: bytes
    tree: MonthsTree


def month_roots(
    rows: Sequence[FormulaRow],
    dreybits: Sequence[int],
    *,
    month: str,
    leaf_index: int,
    history: MonthsTree,
    memo: Memo | None = None,
    digest: bytes | None = None,
) -> MonthRoots:
    """§7 over the month's rows: the month tree, its commitment, and the months tree with
    this month's commitment at ``leaf_index``. With a ``memo`` and the rows' ``digest``
    (:func:`rows_digest`), a month tree already built over the same rows and Dreybits is not
    built again."""

    def build() -> tuple[int, int]:
        tree = MonthTree.from_rows([r[0] for r in rows], month_index(month), list(dreybits))
        return tree.root, tree.commitment

    if memo is not None and digest is not None:
        packed = b"".join(d.to_bytes(8, "little") for d in dreybits)
        key = memo_key("month-tree/1", month_index(month), digest, hashlib.sha256(packed).digest())
        root, commitment = memo.get_or_compute(key, build)
    else:
        root, commitment = build()
    after = history.with_leaf(leaf_index, commitment)
    return MonthRoots(
        field_to_bytes(root), len(rows), commitment, field_to_bytes(after.root), after
    )
