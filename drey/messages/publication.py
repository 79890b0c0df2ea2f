"""The ``allocation`` publication (PROTOCOL.md §9).

Content type ``application/vnd.apache.parquet``: the body is the allocation file (§7) and the
CBOR map rides in the inscription's metadata. ``sigs`` are ``{actuary, sig}`` pairs, each a
BIP340 signature over H_tag("drey/1/allocation")(month ‖ month_root ‖ months_root ‖ sha256)
(month as its 7 ASCII bytes). Structurally: 1 … 1024 entries, distinct actuaries, every sig
valid; whether ≥ t of them are roster members is the rules engine's to count.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import ClassVar

from drey.crypto.tagged import tagged_hash
from drey.errors import MessageError
from drey.messages.base import MapModel, SignedModel, bip340_sign, bip340_verify, submap
from drey.messages.base import xonly_public_key as _xonly
from drey.messages.fields import (
    U32_MAX,
    U64_MAX,
    FieldSpec,
    bytes_len,
    field_element,
    list_of,
    month_text,
    sig64,
    uint,
    xonly_key,
)
from drey.messages.params import MAX_ROSTER

__all__ = ["ActuarySig", "Allocation", "allocation_digest", "sign_allocation"]


def allocation_digest(month: str, month_root: bytes, months_root: bytes, sha256: bytes) -> bytes:
    """H_tag("drey/1/allocation")(month ‖ month_root ‖ months_root ‖ sha256)."""
    return tagged_hash(
        "drey/1/allocation", month.encode("ascii") + month_root + months_root + sha256
    )


@dataclass(frozen=True, slots=True)
class ActuarySig(MapModel):
    """``{actuary, sig}``: one actuary's signature of the publication digest."""

    actuary: bytes
    sig: bytes

    FIELDS: ClassVar[tuple[FieldSpec, ...]] = (
        FieldSpec("actuary", xonly_key),
        FieldSpec("sig", sig64),
    )


def sign_allocation(
    secret_key: bytes,
    *,
    month: str,
    month_root: bytes,
    months_root: bytes,
    sha256: bytes,
    aux_rand: bytes | None = None,
) -> ActuarySig:
    """Producer side: this actuary's entry for an allocation's ``sigs``."""
    digest = allocation_digest(month, month_root, months_root, sha256)
    return ActuarySig(_xonly(secret_key), bip340_sign(secret_key, digest, aux_rand=aux_rand))


@dataclass(frozen=True, slots=True)
class Allocation(SignedModel):
    """``allocation``: metadata map plus ``file``, the inscription body (the Parquet file)."""

    month: str
    round: int
    month_root: bytes
    n_rows: int
    months_root: bytes
    sha256: bytes
    sigs: tuple[ActuarySig, ...]
    file: bytes = field(default=b"", repr=False, compare=True)

    KIND: ClassVar[str | None] = "allocation"
    SIG_TAG: ClassVar[str] = "drey/1/allocation"
    SIGNED: ClassVar[bool] = False
    CONTENT_TYPE: ClassVar[str] = "application/vnd.apache.parquet"
    FIELDS: ClassVar[tuple[FieldSpec, ...]] = (
        FieldSpec("month", month_text),
        FieldSpec("round", uint(0, U32_MAX)),
        FieldSpec("month_root", field_element),
        FieldSpec("n_rows", uint(0, U64_MAX)),
        FieldSpec("months_root", field_element),
        FieldSpec("sha256", bytes_len(32)),
        FieldSpec(
            "sigs",
            list_of(submap(ActuarySig), lo=1, hi=MAX_ROSTER, unique=lambda s: s.actuary),
        ),
    )

    def digest(self) -> bytes:
        """The digest every entry of ``sigs`` signs."""
        return allocation_digest(self.month, self.month_root, self.months_root, self.sha256)

    def bad_sig(self) -> ActuarySig | None:
        """The first entry of ``sigs`` whose signature does not verify, or ``None``."""
        digest = self.digest()
        for entry in self.sigs:
            if not bip340_verify(entry.actuary, digest, entry.sig):
                return entry
        return None

    def verify(self, public_key: bytes | None = None) -> bool:
        """Every entry verifies (``public_key`` unused: each entry names its signer)."""
        return bool(self.sigs) and self.bad_sig() is None

    def file_matches(self) -> bool:
        """sha256(file) equals the metadata's ``sha256``."""
        return hashlib.sha256(self.file).digest() == self.sha256

    def signed(self, secret_key: bytes, *, aux_rand: bytes | None = None) -> Allocation:
        raise MessageError("bad_field", "allocation carries sigs: use sign_allocation()")
