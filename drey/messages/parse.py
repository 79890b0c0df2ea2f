"""From inscription fields to a typed message or a quarantine (PROTOCOL.md §1).

:func:`parse_message` applies, in order: the envelope rules (metaprotocol exactly ``drey/1``,
no content_encoding, no delegate, a known content type), strict deterministic CBOR, ``v`` = 1,
a known ``kind`` matching the content type, the kind's exact field set and field formats, the
cross-field rules, and the signatures the message can prove by itself (the ``actuary`` it
names; every entry of an allocation's ``sigs``; params and formula too when the founder key is
given). It never raises on bad input: the answer is a message or a :class:`Quarantine` whose
reason is a :data:`QuarantineReason`.

Chain context (eligibility, windows, the operator's key, params-dependent sizes) is the rules
engine's: see :mod:`drey.messages.sizes`, :func:`check_params_succession`,
:func:`check_result`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Any, cast

from drey.cbor import decode_cbor
from drey.errors import CborError, MessageError
from drey.messages.chain import Plan, Stake
from drey.messages.circuit import CircuitContribution, CircuitManifest
from drey.messages.manifest import FormulaManifest
from drey.messages.params import Params
from drey.messages.publication import Allocation
from drey.messages.reasons import Quarantine, QuarantineReason
from drey.messages.rounds import Lead, LeadPart, Secondary, Shares, Vrf

__all__ = [
    "CBOR_CONTENT_TYPE",
    "KINDS",
    "METAPROTOCOL",
    "PARQUET_CONTENT_TYPE",
    "InscriptionContent",
    "Message",
    "cbor_reason",
    "decode_body_map",
    "encode_message",
    "parse_message",
]

METAPROTOCOL = "drey/1"
CBOR_CONTENT_TYPE = "application/cbor"
PARQUET_CONTENT_TYPE = "application/vnd.apache.parquet"

Message = (
    Params
    | Stake
    | Plan
    | Vrf
    | Lead
    | Secondary
    | LeadPart
    | Shares
    | Allocation
    | FormulaManifest
    | CircuitManifest
    | CircuitContribution
)

KINDS: dict[str, type[Message]] = {
    cls.KIND: cls  # type: ignore[misc]
    for cls in (
        Params,
        Stake,
        Plan,
        Vrf,
        Lead,
        Secondary,
        LeadPart,
        Shares,
        Allocation,
        FormulaManifest,
        CircuitManifest,
        CircuitContribution,
    )
}

_CBOR_REASON = {
    "truncated": "bad_cbor",
    "trailing_bytes": "bad_cbor",
    "invalid_utf8": "bad_cbor",
    "reserved": "bad_cbor",
    "non_shortest": "non_canonical_cbor",
    "unsorted_keys": "non_canonical_cbor",
    "duplicate_key": "duplicate_key",
    "float": "forbidden_cbor",
    "tag": "forbidden_cbor",
    "indefinite_length": "forbidden_cbor",
    "simple_value": "forbidden_cbor",
    "non_text_key": "forbidden_cbor",
    "too_deep": "too_deep",
}


def cbor_reason(error: CborError) -> str:
    """The quarantine reason for a strict-CBOR failure."""
    return _CBOR_REASON[error.code]


def decode_body_map(data: bytes) -> Any:
    """Strict CBOR decode with text keys; raises :class:`MessageError` (reason from
    :func:`cbor_reason`, detail = the CBOR error with its offset)."""
    try:
        return decode_cbor(data)
    except CborError as exc:
        raise MessageError(cbor_reason(exc), str(exc)) from None


def _as_bytes(value: bytes | str | None) -> bytes | None:
    if value is None or isinstance(value, bytes):
        return value
    return value.encode("utf-8", "surrogateescape")


def _show(value: bytes) -> str:
    return repr(value[:64])


def parse_message(
    *,
    content_type: bytes | str | None,
    content_encoding: bytes | str | None,
    metaprotocol: bytes | str | None,
    delegate: object | None,
    body: bytes | None,
    metadata: bytes | None,
    founder: bytes | None = None,
) -> Message | Quarantine:
    """Parse one inscription as a Drey message; never raises on bad input.

    Fields are as the inscription decoder gives them (``None`` = field absent; text fields as
    ``str`` or raw ``bytes``; ``metadata`` = the concatenated tag-5 chunks). ``founder``, when
    given, also checks the signatures of ``params`` and ``formula``; ``plan`` is signed by the
    operator of params, which only the rules engine knows (``Plan.verify(operator)``).
    """
    ctype = _as_bytes(content_type)
    map_bytes = _map_bytes(ctype, metaprotocol, content_encoding, delegate, body, metadata)
    if isinstance(map_bytes, Quarantine):
        return map_bytes
    try:
        message = _decode(map_bytes, ctype)
    except MessageError as exc:
        return Quarantine(cast(QuarantineReason, exc.reason), exc.detail)
    if isinstance(message, Allocation):
        assert body is not None
        return _checked_allocation(replace(message, file=body))
    return _signature_refusal(message, founder) or message


def _map_bytes(
    ctype: bytes | None,
    metaprotocol: bytes | str | None,
    content_encoding: bytes | str | None,
    delegate: object | None,
    body: bytes | None,
    metadata: bytes | None,
) -> bytes | Quarantine:
    """The envelope's rules (§1): metaprotocol ``drey/1``, no content-encoding, no delegate,
    a Drey content type; the CBOR map is the body, or the metadata of an allocation."""
    meta = _as_bytes(metaprotocol)
    if meta != METAPROTOCOL.encode():
        return Quarantine(
            "bad_metaprotocol", f"metaprotocol {None if meta is None else _show(meta)}"
        )
    if content_encoding is not None:
        return Quarantine(
            "has_content_encoding",
            f"content_encoding {_show(_as_bytes(content_encoding) or b'')} is present",
        )
    if delegate is not None:
        return Quarantine("has_delegate", "a delegate is present")
    if ctype == CBOR_CONTENT_TYPE.encode():
        if body is None:
            return Quarantine("missing_body", "no body")
        return body
    if ctype == PARQUET_CONTENT_TYPE.encode():
        if metadata is None:
            return Quarantine("missing_metadata", "allocation needs its CBOR map in metadata")
        if body is None:
            return Quarantine("missing_body", "allocation needs the Parquet file as body")
        return metadata
    return Quarantine(
        "bad_content_type",
        f"content type {None if ctype is None else _show(ctype)} names no Drey kind",
    )


def _decode(map_bytes: bytes, ctype: bytes | None) -> Message:
    """The strict CBOR map as its kind's message; MessageError says what is wrong."""
    value = decode_body_map(map_bytes)
    if type(value) is not dict:
        raise MessageError("not_a_map", f"top level is {type(value).__name__}, not a map")
    version = value.get("v")
    if type(version) is not int or version != 1:
        raise MessageError("bad_version", f"v is {version!r}, expected 1")
    kind = value.get("kind")
    cls = KINDS.get(kind) if type(kind) is str else None
    if cls is None:
        raise MessageError("unknown_kind", f"kind {kind!r:.80} is not a drey/1 kind")
    if cls.CONTENT_TYPE.encode() != ctype:
        raise MessageError(
            "bad_content_type", f"kind {kind!r} needs content type {cls.CONTENT_TYPE}"
        )
    return cls.from_map(value)


def _checked_allocation(message: Allocation) -> Allocation | Quarantine:
    """An allocation's body is the file its metadata hashes, and every sigs entry verifies."""
    assert message.file is not None
    if hashlib.sha256(message.file).digest() != message.sha256:
        return Quarantine("body_hash_mismatch", "sha256(body) differs from metadata sha256")
    bad_entry = message.bad_sig()
    if bad_entry is not None:
        return Quarantine(
            "bad_signature", f"sigs entry of {bad_entry.actuary.hex()} does not verify"
        )
    return message


def _signature_refusal(message: Message, founder: bytes | None) -> Quarantine | None:
    """A message signed by its own key must verify; params, formula and circuit manifests
    also under the founder key when one is given."""
    if message.SIGNER is not None and not message.verify():
        return Quarantine(
            "bad_signature", f"sig does not verify under {message.SIGNER} of the message"
        )
    if (
        founder is not None
        and isinstance(message, Params | FormulaManifest | CircuitManifest)
        and not message.verify(founder)
    ):
        return Quarantine("bad_signature", "sig does not verify under the founder key")
    return None


@dataclass(frozen=True, slots=True)
class InscriptionContent:
    """What a producer inscribes for one message."""

    content_type: str
    body: bytes
    metadata: bytes | None
    metaprotocol: str = METAPROTOCOL


def encode_message(message: Message) -> InscriptionContent:
    """Producer side: the inscription fields of a (signed) message. Validates like
    :meth:`serialize`; raises :class:`MessageError` on an invalid or unsigned message."""
    data = message.serialize()
    if isinstance(message, Allocation):
        return InscriptionContent(message.CONTENT_TYPE, message.file, data)
    return InscriptionContent(message.CONTENT_TYPE, data, None)
