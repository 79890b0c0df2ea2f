"""The package **result**: the plaintext inside a ``lead`` / ``secondary`` (PROTOCOL.md §5).

Not a message: no ``kind``, but ``v`` = 1, §1's CBOR rules and its own BIP340 ``sig`` by the
package's actuary over H_tag("drey/1/result")(CBOR without sig). ``{v, month, round, actuary,
month_root, n_rows, months_root, proof, allocation?, sig}``; ``allocation`` is ``{sha256,
bytes?}``; ``proof`` is ``{system, ...}``, where v1 knows exactly ``{system: "recompute"}``
(any other system, or extra keys next to ``recompute``, decodes but is not
:attr:`Proof.is_recompute`: it does not count for agreement and makes a lead result invalid).

:func:`check_result` applies the package-relative rules; :func:`assemble_lead_file` joins the
decrypted ``lead_part`` plaintexts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from drey.cbor import CborValue
from drey.errors import MessageError
from drey.messages.base import MapModel, SignedModel, submap
from drey.messages.fields import (
    U32_MAX,
    U64_MAX,
    Codec,
    FieldSpec,
    bad,
    bytes_len,
    bytes_range,
    field_element,
    month_text,
    sig64,
    uint,
    xonly_key,
)
from drey.messages.reasons import Quarantine
from drey.messages.rounds import MAX_CT_BYTES, Lead, Secondary

__all__ = [
    "MAX_INLINE_FILE",
    "AllocationRef",
    "Proof",
    "Result",
    "assemble_lead_file",
    "check_result",
]

MAX_INLINE_FILE = 350_000


@dataclass(frozen=True, slots=True)
class Proof:
    """``{system, ...}``: ``extra`` keeps the other keys (sorted) of an unknown system."""

    system: str
    extra: tuple[tuple[str, CborValue], ...] = ()

    @property
    def is_recompute(self) -> bool:
        """Exactly ``{system: "recompute"}``, the one v1 system."""
        return self.system == "recompute" and not self.extra


def _decode_proof(value: Any, path: str) -> Proof:
    if type(value) is not dict:
        raise bad(path, f"expected a map, got {type(value).__name__}")
    if "system" not in value:
        raise MessageError("missing_field", f"{path}: missing key 'system'")
    system = value["system"]
    if type(system) is not str or not 1 <= len(system.encode("utf-8")) <= 64:
        raise bad(f"{path}.system", "expected text of 1 … 64 bytes")
    extra = tuple(sorted((k, v) for k, v in value.items() if k != "system"))
    return Proof(system, extra)


def _encode_proof(proof: Proof) -> dict[str, Any]:
    return {"system": proof.system, **dict(proof.extra)}


_proof = Codec(_decode_proof, _encode_proof, "proof map {system, ...}")


@dataclass(frozen=True, slots=True)
class AllocationRef(MapModel):
    """``{sha256, bytes?}``: the allocation file's hash and, when ≤ 350,000 bytes, the file."""

    sha256: bytes
    bytes: bytes | None = None

    FIELDS: ClassVar[tuple[FieldSpec, ...]] = (
        FieldSpec("sha256", bytes_len(32)),
        FieldSpec("bytes", bytes_range(0, MAX_CT_BYTES), optional=True),
    )


@dataclass(frozen=True, slots=True)
class Result(SignedModel):
    """The result plaintext, signed by ``actuary``."""

    month: str
    round: int
    actuary: bytes
    month_root: bytes
    n_rows: int
    months_root: bytes
    proof: Proof
    allocation: AllocationRef | None = None
    sig: bytes = b""

    KIND: ClassVar[str | None] = None
    SIG_TAG: ClassVar[str] = "drey/1/result"
    SIGNER: ClassVar[str | None] = "actuary"
    FIELDS: ClassVar[tuple[FieldSpec, ...]] = (
        FieldSpec("month", month_text),
        FieldSpec("round", uint(0, U32_MAX)),
        FieldSpec("actuary", xonly_key),
        FieldSpec("month_root", field_element),
        FieldSpec("n_rows", uint(0, U64_MAX)),
        FieldSpec("months_root", field_element),
        FieldSpec("proof", _proof),
        FieldSpec("allocation", submap(AllocationRef), optional=True),
        FieldSpec("sig", sig64),
    )

    def roots(self) -> tuple[bytes, int, bytes]:
        """(month_root, n_rows, months_root): what agreement compares."""
        return self.month_root, self.n_rows, self.months_root


def check_result(plaintext: bytes, *, package: Lead | Secondary) -> Result | Quarantine:
    """Decode a decrypted result and apply §5's package-relative rules, in this order:

    - ``result_malformed``: not a valid result map (detail says why);
    - ``result_copy``: its ``actuary`` is not the package's, or its sig does not verify under
      the package's actuary (a copy, §5/§8);
    - ``result_mismatch``: month or round differ from the package's;
    - ``result_allocation``: allocation absent in a lead or present in a secondary; a lead
      without ``parts`` lacking inline ``bytes``, with bytes over 350,000 or hashing to
      something else than ``sha256``; a lead with ``parts`` carrying ``bytes``.

    The proof system is not judged here (see :attr:`Proof.is_recompute`).
    """
    try:
        result = Result.deserialize(plaintext)
    except MessageError as exc:
        return Quarantine("result_malformed", f"{exc.reason}: {exc.detail}")
    if result.actuary != package.actuary:
        return Quarantine(
            "result_copy",
            f"result names actuary {result.actuary.hex()}, package is {package.actuary.hex()}",
        )
    if not result.verify(package.actuary):
        return Quarantine("result_copy", "inner sig does not verify under the package's actuary")
    if (result.month, result.round) != (package.month, package.round):
        return Quarantine(
            "result_mismatch",
            f"result is for {result.month} round {result.round}, "
            f"package for {package.month} round {package.round}",
        )
    alloc = result.allocation
    if isinstance(package, Secondary):
        if alloc is not None:
            return Quarantine("result_allocation", "a secondary result carries no allocation")
        return result
    if alloc is None:
        return Quarantine("result_allocation", "a lead result must carry allocation")
    if package.parts is not None:
        if alloc.bytes is not None:
            return Quarantine("result_allocation", "package has parts: result must omit bytes")
        return result
    if alloc.bytes is None:
        return Quarantine("result_allocation", "no parts in the package: bytes must be inline")
    if len(alloc.bytes) > MAX_INLINE_FILE:
        return Quarantine(
            "result_allocation",
            f"inline file of {len(alloc.bytes)} bytes exceeds {MAX_INLINE_FILE}",
        )
    if hashlib.sha256(alloc.bytes).digest() != alloc.sha256:
        return Quarantine("result_allocation", "inline bytes do not hash to allocation.sha256")
    return result


def assemble_lead_file(
    plaintexts: Mapping[int, bytes], *, parts: int, sha256: bytes
) -> bytes | Quarantine:
    """Join the decrypted ``lead_part`` plaintexts (first valid per index, as the caller
    chose) 0 … parts − 1. ``result_allocation`` if one is missing, the file is small enough to
    have ridden inline (≤ 350,000 bytes), or it does not hash to ``sha256``. Indices ≥ parts
    are ignored."""
    # parts is a u32: never iterate past what was actually received.
    first_missing = next(
        (i for i in range(min(parts, len(plaintexts) + 1)) if i not in plaintexts), None
    )
    if first_missing is not None or len(plaintexts) < parts:
        where = first_missing if first_missing is not None else len(plaintexts)
        return Quarantine("result_allocation", f"part {where} of {parts} is missing")
    data = b"".join(plaintexts[i] for i in range(parts))
    if len(data) <= MAX_INLINE_FILE:
        return Quarantine(
            "result_allocation",
            f"file of {len(data)} bytes ≤ {MAX_INLINE_FILE} must ride inline, not in parts",
        )
    if hashlib.sha256(data).digest() != sha256:
        return Quarantine("result_allocation", "assembled parts do not hash to allocation.sha256")
    return data
