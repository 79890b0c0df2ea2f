"""The ``formula`` manifest (PROTOCOL.md §6), signed by the founder.

``{v, kind: "formula", name, version, sha256, parts, sig}``. The spec leaves name and version
open: ``name`` is text of 1 … 64 UTF-8 bytes, ``version`` a u32. ``parts`` lists 1 … 1024
distinct inscription ids whose bodies, concatenated in order, must hash to ``sha256`` (checked
by :func:`drey.formula.assemble_module`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from drey.messages.base import SignedModel
from drey.messages.fields import (
    U32_MAX,
    FieldSpec,
    bytes_len,
    inscription_id,
    list_of,
    sig64,
    text,
    uint,
)

__all__ = ["MAX_FORMULA_PARTS", "FormulaManifest"]

MAX_FORMULA_PARTS = 1024


@dataclass(frozen=True, slots=True)
class FormulaManifest(SignedModel):
    """``formula``: where the allocation module lives and what it hashes to."""

    name: str
    version: int
    sha256: bytes
    parts: tuple[str, ...]
    sig: bytes = b""

    KIND: ClassVar[str | None] = "formula"
    SIG_TAG: ClassVar[str] = "drey/1/formula"
    CONTENT_TYPE: ClassVar[str] = "application/cbor"
    FIELDS: ClassVar[tuple[FieldSpec, ...]] = (
        FieldSpec("name", text(1, 64)),
        FieldSpec("version", uint(0, U32_MAX)),
        FieldSpec("sha256", bytes_len(32)),
        FieldSpec("parts", list_of(inscription_id, lo=1, hi=MAX_FORMULA_PARTS, unique=lambda p: p)),
        FieldSpec("sig", sig64),
    )
