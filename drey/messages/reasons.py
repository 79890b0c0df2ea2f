"""Closed sets of reasons the message layer can give (documented in docs/protocol/messages.md).

:data:`QuarantineReason` is everything :func:`drey.messages.parse_message` can answer; the
rules engine adds its own chain-context reasons (``not_eligible``, ``not_lead``, …) on top.
The other literals are the answers of the context checks this package offers to the rules
engine (params succession, package and share sizes, results, lead parts).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

__all__ = [
    "QUARANTINE_REASONS",
    "AnyReason",
    "PackageSizeReason",
    "ParamsSuccessionReason",
    "Quarantine",
    "QuarantineReason",
    "ResultReason",
    "ShareEntryReason",
]

QuarantineReason = Literal[
    # §1 envelope
    "bad_metaprotocol",  # metaprotocol is not exactly "drey/1"
    "has_content_encoding",  # a content_encoding field is present
    "has_delegate",  # a delegate field is present
    "bad_content_type",  # not the content type the kind names (or an unknown one)
    "missing_body",  # no body (CBOR kinds) or no Parquet body (allocation)
    "missing_metadata",  # allocation without metadata
    # §1 CBOR
    "bad_cbor",  # malformed: truncated, trailing bytes, invalid UTF-8, reserved head
    "non_canonical_cbor",  # non-shortest head, keys not in encoded-bytes order
    "duplicate_key",  # the same map key twice
    "forbidden_cbor",  # float, tag, indefinite length, simple value, non-text map key
    "too_deep",  # more than 16 nested arrays/maps
    # schema
    "not_a_map",  # top-level item is not a map
    "bad_version",  # v missing or not the integer 1
    "unknown_kind",  # kind missing, not text, or not a v1 kind
    "unknown_field",  # a key the kind does not list (at any level)
    "missing_field",  # a required key is absent
    "bad_field",  # wrong type, size, range or format; duplicates inside a list
    "bad_params",  # params cross-field rules of §2 (roster, threshold, Paillier key)
    "body_hash_mismatch",  # allocation body does not hash to its metadata sha256
    "bad_signature",  # sig does not verify under the key the kind names
]
QUARANTINE_REASONS: frozenset[str] = frozenset(get_args(QuarantineReason))

ParamsSuccessionReason = Literal["stale_params", "bad_params"]
PackageSizeReason = Literal["bad_kem"]
ShareEntryReason = Literal["bad_share", "bad_proof"]
ResultReason = Literal[
    "result_malformed",  # plaintext is not a valid result map
    "result_mismatch",  # month or round differ from the package's
    "result_copy",  # actuary differs from the package's or the inner sig is not its
    "result_allocation",  # allocation present/absent, bytes/parts or size rules broken
]


AnyReason = (
    QuarantineReason | ParamsSuccessionReason | PackageSizeReason | ShareEntryReason | ResultReason
)


@dataclass(frozen=True, slots=True)
class Quarantine:
    """Why a message (or a check) was refused: a closed ``reason`` and a human ``detail``
    saying what and where."""

    reason: AnyReason
    detail: str
