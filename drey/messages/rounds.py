"""Round messages: ``vrf`` (§4), ``lead`` / ``secondary`` / ``lead_part`` (§5), ``shares`` (§8).

All are signed by the ``actuary`` they name. Sizes that depend on params (kem and share in ℓ₂
bytes, z in ⌈(bits(n²) + bits(Δ) + 385)/8⌉ bytes) are checked by :mod:`drey.messages.sizes`
once the rules engine knows params(M); here only generous upper bounds apply, so no field can
make later big-integer work expensive.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from drey.messages.base import MapModel, SignedModel, submap
from drey.messages.fields import (
    U32_MAX,
    FieldSpec,
    bytes_len,
    bytes_range,
    inscription_id,
    list_of,
    month_text,
    sig64,
    uint,
    xonly_key,
)
from drey.messages.params import MAX_N_BITS

__all__ = [
    "MAX_CT_BYTES",
    "MAX_Z_BYTES",
    "Lead",
    "LeadPart",
    "Secondary",
    "ShareEntry",
    "Shares",
    "Vrf",
]

# Nothing larger fits in a block (4 MWU); an explicit bound keeps decoders honest.
MAX_CT_BYTES = 4_000_000
_MAX_N2_BYTES = (2 * MAX_N_BITS + 7) // 8
# z for N = 1024 (bits(1024!) = 8770) and 4096-bit n is 2169 bytes.
MAX_Z_BYTES = 4096

_round = uint(0, U32_MAX)


@dataclass(frozen=True, slots=True)
class Vrf(SignedModel):
    """``{v, kind: "vrf", month, round, actuary, proof, sig}``: an 80-byte ECVRF proof."""

    month: str
    round: int
    actuary: bytes
    proof: bytes
    sig: bytes = b""

    KIND: ClassVar[str | None] = "vrf"
    SIG_TAG: ClassVar[str] = "drey/1/vrf"
    CONTENT_TYPE: ClassVar[str] = "application/cbor"
    SIGNER: ClassVar[str | None] = "actuary"
    FIELDS: ClassVar[tuple[FieldSpec, ...]] = (
        FieldSpec("month", month_text),
        FieldSpec("round", _round),
        FieldSpec("actuary", xonly_key),
        FieldSpec("proof", bytes_len(80)),
        FieldSpec("sig", sig64),
    )


_PACKAGE_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("month", month_text),
    FieldSpec("round", _round),
    FieldSpec("actuary", xonly_key),
    FieldSpec("kem", bytes_range(1, _MAX_N2_BYTES)),
    FieldSpec("nonce", bytes_len(12)),
    FieldSpec("ct", bytes_range(16, MAX_CT_BYTES)),
)


@dataclass(frozen=True, slots=True)
class Lead(SignedModel):
    """``{v, kind: "lead", month, round, actuary, kem, nonce, ct, parts?, sig}``.

    ``parts`` (u32 ≥ 1) is present iff the allocation file travels in ``lead_part`` messages.
    """

    month: str
    round: int
    actuary: bytes
    kem: bytes
    nonce: bytes
    ct: bytes
    parts: int | None = None
    sig: bytes = b""

    KIND: ClassVar[str | None] = "lead"
    SIG_TAG: ClassVar[str] = "drey/1/lead"
    CONTENT_TYPE: ClassVar[str] = "application/cbor"
    SIGNER: ClassVar[str | None] = "actuary"
    FIELDS: ClassVar[tuple[FieldSpec, ...]] = (
        *_PACKAGE_FIELDS,
        FieldSpec("parts", uint(1, U32_MAX), optional=True),
        FieldSpec("sig", sig64),
    )


@dataclass(frozen=True, slots=True)
class Secondary(SignedModel):
    """``{v, kind: "secondary", month, round, actuary, kem, nonce, ct, sig}`` (no ``parts``)."""

    month: str
    round: int
    actuary: bytes
    kem: bytes
    nonce: bytes
    ct: bytes
    sig: bytes = b""

    KIND: ClassVar[str | None] = "secondary"
    SIG_TAG: ClassVar[str] = "drey/1/secondary"
    CONTENT_TYPE: ClassVar[str] = "application/cbor"
    SIGNER: ClassVar[str | None] = "actuary"
    FIELDS: ClassVar[tuple[FieldSpec, ...]] = (*_PACKAGE_FIELDS, FieldSpec("sig", sig64))


@dataclass(frozen=True, slots=True)
class LeadPart(SignedModel):
    """``{v, kind: "lead_part", month, round, actuary, index, nonce, ct, sig}``."""

    month: str
    round: int
    actuary: bytes
    index: int
    nonce: bytes
    ct: bytes
    sig: bytes = b""

    KIND: ClassVar[str | None] = "lead_part"
    SIG_TAG: ClassVar[str] = "drey/1/lead_part"
    CONTENT_TYPE: ClassVar[str] = "application/cbor"
    SIGNER: ClassVar[str | None] = "actuary"
    FIELDS: ClassVar[tuple[FieldSpec, ...]] = (
        FieldSpec("month", month_text),
        FieldSpec("round", _round),
        FieldSpec("actuary", xonly_key),
        FieldSpec("index", uint(0, U32_MAX)),
        FieldSpec("nonce", bytes_len(12)),
        FieldSpec("ct", bytes_range(16, MAX_CT_BYTES)),
        FieldSpec("sig", sig64),
    )


@dataclass(frozen=True, slots=True)
class ShareEntry(MapModel):
    """``{package, share, e, z}``: a decryption share of ``package`` (an inscription id) with
    its proof; ``share`` is ℓ₂ bytes, ``e`` 32 bytes, ``z`` fixed width (see sizes)."""

    package: str
    share: bytes
    e: bytes
    z: bytes

    FIELDS: ClassVar[tuple[FieldSpec, ...]] = (
        FieldSpec("package", inscription_id),
        FieldSpec("share", bytes_range(1, _MAX_N2_BYTES)),
        FieldSpec("e", bytes_len(32)),
        FieldSpec("z", bytes_range(1, MAX_Z_BYTES)),
    )


@dataclass(frozen=True, slots=True)
class Shares(SignedModel):
    """``{v, kind: "shares", month, round, actuary, shares: [ShareEntry], sig}``.

    At least one entry, at most one per package (a second entry for the same package makes the
    whole message ``bad_field``).
    """

    month: str
    round: int
    actuary: bytes
    shares: tuple[ShareEntry, ...]
    sig: bytes = b""

    KIND: ClassVar[str | None] = "shares"
    SIG_TAG: ClassVar[str] = "drey/1/shares"
    CONTENT_TYPE: ClassVar[str] = "application/cbor"
    SIGNER: ClassVar[str | None] = "actuary"
    FIELDS: ClassVar[tuple[FieldSpec, ...]] = (
        FieldSpec("month", month_text),
        FieldSpec("round", _round),
        FieldSpec("actuary", xonly_key),
        FieldSpec("shares", list_of(submap(ShareEntry), lo=1, unique=lambda entry: entry.package)),
        FieldSpec("sig", sig64),
    )
