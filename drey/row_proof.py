"""A customer's proof of one allocation row (PROTOCOL.md §7), checked from its JSON alone.

A row proof says: user ``user_id`` got ``dreybits`` in ``month``, as row ``row_index`` of that
month's allocation, under the month root whose commitment is leaf ``months_index`` of the
months tree with root ``months_root``. Checking it needs no warehouse and no chain: the row
hash P(user_id·2^32 + month_index, dreybits) climbs ``month_path`` to ``month_root``;
P(month_root, n_rows) is the commitment; the commitment climbs ``months_path`` to
``months_root``. Which months root to trust is the checker's choice: the one the warehouse
published, or one read from the chain (the accepted lead's result, or its proof's public
inputs).

The JSON (``format`` ``drey-row-proof/1``): ``user_id``, ``dreybits`` and ``n_rows`` as decimal
strings (JavaScript keeps them exactly; integers are accepted too), field elements as 64
lowercase hex (big-endian), paths leaf level first.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from drey.errors import ProtocolError
from drey.merkle import (
    MAX_MONTHS_DEPTH,
    MerkleError,
    MerkleProof,
    month_commitment,
    month_index,
    row_hash,
    verify_inclusion,
)

FORMAT = "drey-row-proof/1"
_HEX64 = frozenset("0123456789abcdef")


class RowProofError(ProtocolError):
    """A row proof that cannot be read (not JSON, a missing or malformed field); the message
    names the field."""


@dataclass(frozen=True, slots=True)
class RowProof:
    """One row's inclusion proof, up to the months root (see the module docstring)."""

    user_id: int
    month: str
    dreybits: int
    row_index: int
    row_hash: int
    month_path: tuple[int, ...]
    month_root: int
    n_rows: int
    commitment: int
    months_index: int
    months_path: tuple[int, ...]
    months_root: int

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "user_id": str(self.user_id),
            "month": self.month,
            "dreybits": str(self.dreybits),
            "row_index": self.row_index,
            "row_hash": _hex(self.row_hash),
            "month_path": [_hex(x) for x in self.month_path],
            "month_root": _hex(self.month_root),
            "n_rows": str(self.n_rows),
            "commitment": _hex(self.commitment),
            "months_index": self.months_index,
            "months_path": [_hex(x) for x in self.months_path],
            "months_root": _hex(self.months_root),
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any] | str | bytes) -> RowProof:
        """Read a proof from its JSON (text or decoded); :class:`RowProofError` names the
        field at fault."""
        if isinstance(doc, str | bytes):
            try:
                doc = json.loads(doc)
            except (ValueError, UnicodeDecodeError) as exc:
                raise RowProofError(f"not JSON: {exc}") from None
        if not isinstance(doc, Mapping):
            raise RowProofError("a row proof is a JSON object")
        if doc.get("format") != FORMAT:
            raise RowProofError(f"format: expected {FORMAT!r}, got {doc.get('format')!r}")
        month = doc.get("month")
        try:
            month_index(month)  # type: ignore[arg-type]
        except (MerkleError, TypeError):
            raise RowProofError(f"month: expected YYYY-MM, got {month!r}") from None
        return cls(
            user_id=_integer(doc, "user_id"),
            month=str(month),
            dreybits=_integer(doc, "dreybits"),
            row_index=_integer(doc, "row_index"),
            row_hash=_field(doc.get("row_hash"), "row_hash"),
            month_path=_path(doc, "month_path"),
            month_root=_field(doc.get("month_root"), "month_root"),
            n_rows=_integer(doc, "n_rows"),
            commitment=_field(doc.get("commitment"), "commitment"),
            months_index=_integer(doc, "months_index"),
            months_path=_path(doc, "months_path"),
            months_root=_field(doc.get("months_root"), "months_root"),
        )

    def problems(self, *, months_root: int | None = None) -> list[str]:
        """What does not hold, in words (empty: the row is proven). ``months_root``: the root
        the checker trusts, instead of the one the proof carries."""
        out: list[str] = []
        try:
            leaf = row_hash(self.user_id, month_index(self.month), self.dreybits)
        except ProtocolError as exc:
            return [f"the row cannot be hashed: {exc}"]
        if leaf != self.row_hash:
            out.append("row_hash is not P(user_id·2^32 + month_index, dreybits)")
        if not self.row_index < self.n_rows:
            out.append(f"row_index {self.row_index} is not below n_rows {self.n_rows}")
        if not verify_inclusion(
            self.month_root, leaf, self.row_index, MerkleProof(self.month_path)
        ):
            out.append("month_path does not lead from the row to month_root")
        if month_commitment(self.month_root, self.n_rows) != self.commitment:
            out.append("commitment is not P(month_root, n_rows)")
        if not verify_inclusion(
            self.months_root, self.commitment, self.months_index, MerkleProof(self.months_path)
        ):
            out.append("months_path does not lead from the commitment to months_root")
        if months_root is not None and months_root != self.months_root:
            out.append(f"months_root is not the trusted root {_hex(months_root)}")
        return out


def _hex(value: int) -> str:
    return format(value, "064x")


def _integer(doc: Mapping[str, Any], name: str) -> int:
    value = doc.get(name)
    if isinstance(value, str) and value.isdigit() and len(value) <= 40:
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise RowProofError(f"{name}: expected a non-negative integer, got {value!r}"[:200])


def _field(value: object, name: str) -> int:
    if not isinstance(value, str) or len(value) != 64 or not set(value) <= _HEX64:
        raise RowProofError(f"{name}: expected 64 lowercase hex, got {value!r}"[:200])
    return int(value, 16)


def _path(doc: Mapping[str, Any], name: str) -> tuple[int, ...]:
    value = doc.get(name)
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise RowProofError(f"{name}: expected a list of 64-hex siblings, got {value!r}"[:200])
    if len(value) > MAX_MONTHS_DEPTH:
        raise RowProofError(f"{name}: {len(value)} levels, more than {MAX_MONTHS_DEPTH}")
    return tuple(_field(v, f"{name}[{i}]") for i, v in enumerate(value))
