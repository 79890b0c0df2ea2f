"""Reassemble a formula module from its manifest's parts (PROTOCOL.md §6).

Each part must be an inscription with content type ``application/wasm``, no content_encoding,
no delegate, no metaprotocol and a body; the module is the bodies concatenated in manifest
order and must hash to the manifest's ``sha256``. Whether a part was mined no later than the
params naming the manifest is chain context: the caller passes ``None`` for a part that is
unknown or too late.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from drey.messages.manifest import FormulaManifest

__all__ = ["AssemblyFailure", "FormulaPart", "assemble_module", "assemble_parts"]

WASM_CONTENT_TYPE = "application/wasm"


@dataclass(frozen=True, slots=True)
class FormulaPart:
    """The inscription fields of one part, as the inscription decoder gives them."""

    content_type: bytes | str | None
    content_encoding: bytes | str | None
    metaprotocol: bytes | str | None
    delegate: object | None
    body: bytes | None


AssemblyReason = Literal["missing_part", "bad_part", "module_hash_mismatch"]


@dataclass(frozen=True, slots=True)
class AssemblyFailure:
    """Why no module could be assembled."""

    reason: AssemblyReason
    detail: str


def _text(value: bytes | str | None) -> bytes | None:
    return value.encode("utf-8", "surrogateescape") if isinstance(value, str) else value


def assemble_module(
    manifest: FormulaManifest, parts: Sequence[FormulaPart | None]
) -> bytes | AssemblyFailure:
    """The module bytes, or why not: ``missing_part`` (fewer parts than listed, or ``None``),
    ``bad_part`` (envelope rules above), ``module_hash_mismatch``."""
    return assemble_parts(manifest.parts, manifest.sha256, parts, content_type=WASM_CONTENT_TYPE)


def assemble_parts(
    part_ids: Sequence[str],
    sha256: bytes,
    parts: Sequence[FormulaPart | None],
    *,
    content_type: str,
) -> bytes | AssemblyFailure:
    """A file inscribed in parts (a formula module, a circuit's files): the bodies of
    ``parts`` (one per id, ``None`` when not available) concatenated, each part of
    ``content_type`` with no content_encoding, delegate or metaprotocol, the whole hashing to
    ``sha256``; or why not (the reasons of :func:`assemble_module`)."""
    if len(parts) != len(part_ids):
        return AssemblyFailure(
            "missing_part", f"{len(parts)} parts given, manifest lists {len(part_ids)}"
        )
    bodies: list[bytes] = []
    for i, (part_id, part) in enumerate(zip(part_ids, parts, strict=True)):
        if part is None:
            return AssemblyFailure("missing_part", f"part {i} ({part_id}) is not available")
        if _text(part.content_type) != content_type.encode():
            return AssemblyFailure("bad_part", f"part {i} ({part_id}) is not {content_type}")
        if part.content_encoding is not None:
            return AssemblyFailure("bad_part", f"part {i} ({part_id}) has a content_encoding")
        if part.delegate is not None:
            return AssemblyFailure("bad_part", f"part {i} ({part_id}) has a delegate")
        if part.metaprotocol is not None:
            return AssemblyFailure("bad_part", f"part {i} ({part_id}) has a metaprotocol")
        if part.body is None:
            return AssemblyFailure("bad_part", f"part {i} ({part_id}) has no body")
        bodies.append(part.body)
    whole = b"".join(bodies)
    if hashlib.sha256(whole).digest() != sha256:
        return AssemblyFailure("module_hash_mismatch", "concatenated parts do not hash to sha256")
    return whole
