"""Drey v1 messages: models, deterministic CBOR encoding, BIP340 signing, structural checks.

Use :func:`parse_message` on inscriptions (verifier side) and the model constructors plus
``.signed(secret)`` and :func:`encode_message` (producer side). See docs/protocol/messages.md.
"""

from drey.messages.base import bip340_sign, bip340_verify, xonly_public_key
from drey.messages.chain import Plan, Stake
from drey.messages.circuit import CircuitContribution, CircuitManifest
from drey.messages.manifest import FormulaManifest
from drey.messages.params import (
    DEFAULTS,
    Paillier,
    Params,
    ResolvedParams,
    RosterEntry,
    check_params_succession,
)
from drey.messages.parse import (
    CBOR_CONTENT_TYPE,
    KINDS,
    METAPROTOCOL,
    PARQUET_CONTENT_TYPE,
    InscriptionContent,
    Message,
    encode_message,
    parse_message,
)
from drey.messages.publication import ActuarySig, Allocation, allocation_digest, sign_allocation
from drey.messages.reasons import (
    QUARANTINE_REASONS,
    PackageSizeReason,
    ParamsSuccessionReason,
    Quarantine,
    QuarantineReason,
    ResultReason,
    ShareEntryReason,
)
from drey.messages.result import (
    MAX_INLINE_FILE,
    AllocationRef,
    Proof,
    Result,
    assemble_lead_file,
    check_result,
)
from drey.messages.rounds import Lead, LeadPart, Secondary, ShareEntry, Shares, Vrf
from drey.messages.sizes import check_kem, check_share_entry, z_width

__all__ = [
    "CBOR_CONTENT_TYPE",
    "DEFAULTS",
    "KINDS",
    "MAX_INLINE_FILE",
    "METAPROTOCOL",
    "PARQUET_CONTENT_TYPE",
    "QUARANTINE_REASONS",
    "ActuarySig",
    "Allocation",
    "AllocationRef",
    "CircuitContribution",
    "CircuitManifest",
    "FormulaManifest",
    "InscriptionContent",
    "Lead",
    "LeadPart",
    "Message",
    "PackageSizeReason",
    "Paillier",
    "Params",
    "ParamsSuccessionReason",
    "Plan",
    "Proof",
    "Quarantine",
    "QuarantineReason",
    "ResolvedParams",
    "Result",
    "ResultReason",
    "RosterEntry",
    "Secondary",
    "ShareEntry",
    "ShareEntryReason",
    "Shares",
    "Stake",
    "Vrf",
    "allocation_digest",
    "assemble_lead_file",
    "bip340_sign",
    "bip340_verify",
    "check_kem",
    "check_params_succession",
    "check_result",
    "check_share_entry",
    "encode_message",
    "parse_message",
    "sign_allocation",
    "xonly_public_key",
    "z_width",
]
