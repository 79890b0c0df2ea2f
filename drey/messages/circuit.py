"""The proof system's messages (protocol v1.1, docs/protocol/proofs.md §4, §5).

- ``circuit`` (signed by the founder, valid on its own like the formula manifest):
  ``{v, kind, system, months_depth, source, r1cs_sha256, wasm_sha256, ptau, zkey, vk,
  contributions, beacon, sig}``; ``source``, ``zkey`` and ``vk`` are files
  ``{sha256, parts: [inscription ids]}``, ``ptau`` is ``{sha256, power}``, ``beacon`` is
  ``{height, iterations}``.
- ``circuit_contribution`` (signed by the contributing roster actuary):
  ``{v, kind, actuary, index, zkey_sha256, contribution_hash, sig}``: one step of the
  phase-2 ceremony, in roster order from ``index`` 1; ``contribution_hash`` is snarkjs's
  64-byte hash of the contribution, ``zkey_sha256`` the key after it.

Only the structure is checked here. That the files assemble, the ceremony verifies and the
contributors are the roster is checked when a params names the manifest (not yet in the
rules: see the status of docs/protocol/proofs.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from drey.messages.base import MapModel, SignedModel, submap
from drey.messages.fields import (
    U32_MAX,
    FieldSpec,
    bytes_len,
    inscription_id,
    list_of,
    sig64,
    text,
    uint,
    xonly_key,
)
from drey.messages.params import MAX_ROSTER

__all__ = [
    "MAX_FILE_PARTS",
    "Beacon",
    "CircuitContribution",
    "CircuitManifest",
    "FileRef",
    "PtauRef",
]

MAX_FILE_PARTS = 1024


@dataclass(frozen=True, slots=True)
class FileRef(MapModel):
    """``{sha256, parts}``: a file inscribed in parts, concatenated in order."""

    sha256: bytes
    parts: tuple[str, ...]

    FIELDS: ClassVar[tuple[FieldSpec, ...]] = (
        FieldSpec("sha256", bytes_len(32)),
        FieldSpec("parts", list_of(inscription_id, lo=1, hi=MAX_FILE_PARTS, unique=lambda p: p)),
    )


@dataclass(frozen=True, slots=True)
class PtauRef(MapModel):
    """``{sha256, power}``: the phase-1 file, pinned by hash; 2^power constraints at most."""

    sha256: bytes
    power: int

    FIELDS: ClassVar[tuple[FieldSpec, ...]] = (
        FieldSpec("sha256", bytes_len(32)),
        FieldSpec("power", uint(1, 28)),
    )


@dataclass(frozen=True, slots=True)
class Beacon(MapModel):
    """``{height, iterations}``: the last phase-2 step hashes the block at ``height``
    2^iterations times (snarkjs allows 10 … 63)."""

    height: int
    iterations: int

    FIELDS: ClassVar[tuple[FieldSpec, ...]] = (
        FieldSpec("height", uint(0, U32_MAX)),
        FieldSpec("iterations", uint(10, 63)),
    )


@dataclass(frozen=True, slots=True)
class CircuitManifest(SignedModel):
    """``circuit``: what the proof system's circuit is, and the ceremony that keyed it."""

    system: str
    months_depth: int
    source: FileRef
    r1cs_sha256: bytes
    wasm_sha256: bytes
    ptau: PtauRef
    zkey: FileRef
    vk: FileRef
    contributions: tuple[str, ...]
    beacon: Beacon
    sig: bytes = b""

    KIND: ClassVar[str | None] = "circuit"
    SIG_TAG: ClassVar[str] = "drey/1/circuit"
    CONTENT_TYPE: ClassVar[str] = "application/cbor"
    FIELDS: ClassVar[tuple[FieldSpec, ...]] = (
        FieldSpec("system", text(1, 64)),
        FieldSpec("months_depth", uint(1, 32)),
        FieldSpec("source", submap(FileRef)),
        FieldSpec("r1cs_sha256", bytes_len(32)),
        FieldSpec("wasm_sha256", bytes_len(32)),
        FieldSpec("ptau", submap(PtauRef)),
        FieldSpec("zkey", submap(FileRef)),
        FieldSpec("vk", submap(FileRef)),
        FieldSpec(
            "contributions", list_of(inscription_id, lo=1, hi=MAX_ROSTER, unique=lambda c: c)
        ),
        FieldSpec("beacon", submap(Beacon)),
        FieldSpec("sig", sig64),
    )


@dataclass(frozen=True, slots=True)
class CircuitContribution(SignedModel):
    """``circuit_contribution``: one actuary's phase-2 step."""

    actuary: bytes
    index: int
    zkey_sha256: bytes
    contribution_hash: bytes
    sig: bytes = b""

    KIND: ClassVar[str | None] = "circuit_contribution"
    SIG_TAG: ClassVar[str] = "drey/1/circuit_contribution"
    CONTENT_TYPE: ClassVar[str] = "application/cbor"
    SIGNER: ClassVar[str | None] = "actuary"
    FIELDS: ClassVar[tuple[FieldSpec, ...]] = (
        FieldSpec("actuary", xonly_key),
        FieldSpec("index", uint(1, MAX_ROSTER)),
        FieldSpec("zkey_sha256", bytes_len(32)),
        FieldSpec("contribution_hash", bytes_len(64)),
        FieldSpec("sig", sig64),
    )
