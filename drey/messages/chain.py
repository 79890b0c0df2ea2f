"""``stake`` and ``plan``: messages bound to their carrying transaction (PROTOCOL.md §3).

``outpoint`` (36 bytes: txid in internal order ‖ vout u32 LE) must equal the carrying
transaction's first input's previous outpoint; that, the roster membership of a stake's
``actuary`` and the plan's operator signature need the chain and params, so the rules engine
checks them (``Plan.verify(operator)``). A stake names its signer (``actuary``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from drey.messages.base import SignedModel
from drey.messages.fields import U64_MAX, FieldSpec, outpoint_bytes, sig64, uint, xonly_key

__all__ = ["Plan", "Stake"]


@dataclass(frozen=True, slots=True)
class Stake(SignedModel):
    """``{v, kind: "stake", actuary, outpoint, sig}``, signed by ``actuary`` (a roster key)."""

    actuary: bytes
    outpoint: bytes
    sig: bytes = b""

    KIND: ClassVar[str | None] = "stake"
    SIG_TAG: ClassVar[str] = "drey/1/stake"
    CONTENT_TYPE: ClassVar[str] = "application/cbor"
    SIGNER: ClassVar[str | None] = "actuary"
    FIELDS: ClassVar[tuple[FieldSpec, ...]] = (
        FieldSpec("actuary", xonly_key),
        FieldSpec("outpoint", outpoint_bytes),
        FieldSpec("sig", sig64),
    )


@dataclass(frozen=True, slots=True)
class Plan(SignedModel):
    """``{v, kind: "plan", user_id, owner, outpoint, sig}``, signed by params' ``operator``."""

    user_id: int
    owner: bytes
    outpoint: bytes
    sig: bytes = b""

    KIND: ClassVar[str | None] = "plan"
    SIG_TAG: ClassVar[str] = "drey/1/plan"
    CONTENT_TYPE: ClassVar[str] = "application/cbor"
    FIELDS: ClassVar[tuple[FieldSpec, ...]] = (
        FieldSpec("user_id", uint(0, U64_MAX)),
        FieldSpec("owner", xonly_key),
        FieldSpec("outpoint", outpoint_bytes),
        FieldSpec("sig", sig64),
    )
