"""Closed sets the rules engine answers with: message statuses and their precedence (§1),
the quarantine reasons it adds to the message layer's, share-entry statuses, offences (§9).
"""

from __future__ import annotations

from typing import Literal, get_args

__all__ = [
    "FINAL_STATUSES",
    "OFFENCES",
    "PRECEDENCE",
    "EntryReason",
    "EntryStatus",
    "Offence",
    "RuleReason",
    "Status",
    "strongest",
]

Status = Literal[
    "valid",
    "early",
    "late",
    "duplicate",
    "ignored",
    "premature",
    "unrevealed",
    "quarantined",
    "pending",  # not a final status: the outcome depends on blocks after the tip
]
FINAL_STATUSES: tuple[str, ...] = tuple(s for s in get_args(Status) if s != "pending")

#: §1: quarantined > duplicate > early > ignored > premature > unrevealed > late > valid.
PRECEDENCE: tuple[str, ...] = (
    "quarantined",
    "duplicate",
    "early",
    "ignored",
    "premature",
    "unrevealed",
    "late",
    "valid",
)

RuleReason = Literal[
    "stale_params",  # §2: effective_month not increasing, or mined at/after S of the month before
    "bad_params",  # §2 succession (check_params_succession)
    "bad_signature",  # params/formula not by the founder, plan not by the operator
    "not_roster",  # stake/shares by a key outside the roster of the params in force
    "not_eligible",  # vrf/secondary by a roster member not eligible for the month
    "not_lead",  # lead/lead_part by someone other than the elected lead
    "not_secondary",  # a secondary by the round's elected lead
    "outpoint_mismatch",  # stake/plan outpoint is not the carrying tx's first input prevout
    "multiple_bindings",  # more than one stake/plan message in one transaction
    "owner_mismatch",  # a later plan for a known user_id with another owner
    "bad_vrf_proof",  # the ECVRF proof does not verify under the actuary's vrf_key
    "bad_kem",  # §5 size and range checks of a package
    "bad_part_index",  # lead_part index outside 0 … parts − 1 of the lead package
    "copy",  # revealed package that fails to decrypt or carries another's inner signature
    "key_reuse",  # revealed package whose k was already revealed from the same actuary
    "insufficient_signatures",  # allocation with fewer than t distinct roster signatures
    "not_accepted_result",  # allocation that is not the month's accepted result
]
RULE_REASONS: frozenset[str] = frozenset(get_args(RuleReason))

EntryStatus = Literal["valid", "duplicate", "premature", "ignored", "quarantined", "pending"]
EntryReason = Literal[
    "bad_share",  # share not ℓ₂ bytes / not a unit mod n²
    "bad_proof",  # z not of the exact width
    "invalid_share_proof",  # the proof does not verify
    "not_owed",  # package is not a lead/race/late package of the round
    "not_roster",  # the shares message is by a key outside the roster (its entries with it)
]

Offence = Literal[
    "missed_lead",
    "invalid_lead_result",
    "wrong_secondary_result",
    "copy",
    "key_reuse",
    "premature_share",
    "invalid_share_proof",
    "withheld_share",
    "vrf_withheld",
]
#: Order used to break ties between offences decided at the same height (monthly cap).
OFFENCES: tuple[str, ...] = get_args(Offence)


def strongest(statuses: list[str]) -> str:
    """The status that wins under §1's precedence."""
    return min(statuses, key=PRECEDENCE.index)
