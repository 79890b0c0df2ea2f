"""What :func:`drey.rules.evaluate` returns: frozen rows the warehouse publishes as tables
(message statuses, months, rounds, shares ledger, reveals, rewards, penalties,
redistribution, verification checks). Heights are block heights; keys are 32-byte x-only
actuary keys; inscription ids are text ``<txid>i<n>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from drey.formula.reference import FormulaRow
from drey.messages import ResolvedParams
from drey.proofs import ProofCheck
from drey.rules.inputs import Position
from drey.rules.reasons import EntryStatus, Offence, Status

if TYPE_CHECKING:
    from drey.rules.advance import Steady
    from drey.rules.ledger import BindingPoint
    from drey.rules.resume import FinalMonth

__all__ = [
    "Check",
    "CountedVrf",
    "Decision",
    "Evaluation",
    "MessageStatus",
    "MonthEvaluation",
    "PenaltyRow",
    "RacePackage",
    "RedistributionRow",
    "Reveal",
    "RewardRow",
    "RosterStake",
    "RoundEvaluation",
    "ShareRecord",
]


@dataclass(frozen=True, slots=True)
class MessageStatus:
    """The one status of a message (§1). ``reason`` is set for ``quarantined`` (a parse
    reason or a :data:`~drey.rules.reasons.RuleReason`); ``detail`` says why, for people."""

    inscription_id: str
    position: Position
    kind: str | None
    month: str | None
    round: int | None
    status: Status
    reason: str | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class RosterStake:
    """A roster member of params(M) at S_M: raw stake, slashes decided ≤ S_M, their
    difference floored at 0 (the lead-draw weight and the base of slashes), eligibility."""

    index: int
    key: bytes
    stake: int
    slashed: int
    weight: int
    eligible: bool


@dataclass(frozen=True, slots=True)
class CountedVrf:
    actuary: bytes
    inscription_id: str
    height: int
    beta: bytes


@dataclass(frozen=True, slots=True)
class RacePackage:
    """A package owed shares: the lead package, or a counting secondary in the race
    (height ≤ C, ``rank`` by position from 1) or late (C < height < RS)."""

    inscription_id: str
    actuary: bytes
    kind: Literal["lead", "secondary"]
    role: Literal["lead", "race", "late"]
    height: int
    position: Position
    rank: int | None = None


@dataclass(frozen=True, slots=True)
class ShareRecord:
    """One entry of a ``shares`` message in the shares ledger."""

    shares_id: str
    entry: int
    height: int
    position: Position
    actuary: bytes
    roster_index: int | None
    package: str
    status: EntryStatus
    reason: str | None = None
    detail: str = ""


RevealOutcome = Literal["result", "copy", "key_reuse", "unrevealed", "pending"]


@dataclass(frozen=True, slots=True)
class Reveal:
    """A lead/race/late package after the share window (or so far).

    ``outcome``: ``result`` (decrypted, inner signature its actuary's), ``copy``,
    ``key_reuse``, ``unrevealed`` (no t valid shares by RS + share_window − 1) or ``pending``.
    ``problem`` names what is wrong with a decrypted result (a ``result_*`` reason,
    ``unknown_proof_system``, a file problem, ``wrong_roots`` …); ``valid`` means the roots
    recompute (and, for the lead, the whole §9 validity). ``counts`` is whether a secondary's
    result counts for agreement with the lead (§8's later-round rule included).
    """

    package: str
    actuary: bytes
    kind: Literal["lead", "secondary"]
    role: Literal["lead", "race", "late"]
    outcome: RevealOutcome
    reveal_height: int | None = None
    share_indices: tuple[int, ...] = ()
    month_root: bytes | None = None
    n_rows: int | None = None
    months_root: bytes | None = None
    problem: str | None = None
    proof_system: str | None = None  # the decrypted result's proof.system
    proof: ProofCheck | None = None  # v1.1's check of the result's proof (proofs.md §6)
    valid: bool = False
    agrees: bool = False
    counts: bool = False


@dataclass(frozen=True, slots=True)
class Decision:
    """A round's decision: ``accepted`` / ``rejected`` at ``height`` (D_r), or ``pending``.
    ``support`` is 1 + the agreeing secondaries at that height (0 when the lead did not
    count)."""

    outcome: Literal["accepted", "rejected", "pending"]
    height: int | None
    reason: str
    support: int = 0


@dataclass(frozen=True, slots=True)
class RoundEvaluation:
    month: str
    round: int
    seed_height: int
    seed_hash: bytes | None
    vrfs: tuple[CountedVrf, ...] = ()
    randomness: bytes | None = None
    weights: tuple[tuple[bytes, int], ...] = ()
    lead: bytes | None = None
    lead_package: str | None = None
    lead_height: int | None = None
    race_open: int | None = None
    race_end: int | None = None
    close: int | None = None
    close_s: int | None = None
    reveal_start: int | None = None
    share_end: int | None = None
    post_reveal: bool = False
    race: tuple[RacePackage, ...] = ()
    late: tuple[RacePackage, ...] = ()
    shares: tuple[ShareRecord, ...] = ()
    reveals: tuple[Reveal, ...] = ()
    decision: Decision = field(default_factory=lambda: Decision("pending", None, "pending"))
    settled: bool = False  # rewards and withheld_share evaluated (share window over)


@dataclass(frozen=True, slots=True)
class RewardRow:
    month: str
    round: int
    actuary: bytes
    role: Literal["lead", "secondary"]
    rank: int | None
    sats: int


@dataclass(frozen=True, slots=True)
class PenaltyRow:
    """One offence (once per (offence, actuary, round)) and the sats it slashes."""

    month: str
    round: int
    offence: Offence
    actuary: bytes
    height: int
    base: int
    slash: int
    detail: str = ""


@dataclass(frozen=True, slots=True)
class RedistributionRow:
    """Slashed sats credited to a plan (user) of an accepted month."""

    month: str
    user_id: int
    sats: int


@dataclass(frozen=True, slots=True)
class Check:
    """One verification the warehouse publishes: passed or not, with what it compared."""

    name: str
    month: str | None
    round: int | None
    passed: bool
    detail: str = ""


MonthOutcome = Literal["accepted", "failed", "pending"]


@dataclass(frozen=True, slots=True)
class MonthEvaluation:
    """Everything decided (or known so far) about month M."""

    month: str
    params_id: str
    params: ResolvedParams
    prev_snapshot: int
    snapshot: int
    start: int | None
    roster: tuple[RosterStake, ...]
    eligible: int
    need: int
    race_quorum: int
    no_quorum: bool
    overflow: bool
    under_threshold: bool
    rows: tuple[FormulaRow, ...]
    dreybits: tuple[int, ...] | None
    formula_source: Literal["module", "reference", "none"]
    month_root: bytes | None
    n_rows: int
    commitment: bytes | None
    pool_sats: int
    rounds: tuple[RoundEvaluation, ...]
    outcome: MonthOutcome
    decided_height: int | None
    accepted_round: int | None
    months_root: bytes | None
    publication: str | None = None
    rewards: tuple[RewardRow, ...] = ()
    rewards_final: bool = False
    slashed: int = 0
    settled: bool = False  # every offence of the month is decided


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The rules applied to the chain up to ``tip_height``."""

    tip_height: int
    first_params: str | None
    first_month: str | None
    statuses: tuple[MessageStatus, ...]
    months: tuple[MonthEvaluation, ...]
    pending_month: str | None
    months_roots: tuple[tuple[str, bytes], ...]
    penalties: tuple[PenaltyRow, ...]
    redistribution: tuple[RedistributionRow, ...]
    carried: int
    checks: tuple[Check, ...]
    by_id: Mapping[str, MessageStatus] = field(repr=False, compare=False, default_factory=dict)
    # The leading run of final months and the walk's state after each (drey.rules.resume):
    # what a later evaluation resumes from. Not part of the answer, so not compared.
    final_months: tuple[FinalMonth, ...] = field(repr=False, compare=False, default=())
    # The verdicts of every stake and plan to the tip (drey.rules.ledger): what a later
    # binding resumes from. Not compared either.
    binding: BindingPoint | None = field(repr=False, compare=False, default=None)
    # What carries the evaluation to a higher tip without walking (drey.rules.advance): the
    # tip's block, the snapshots found, the first height a rule waits for. Not compared.
    steady: Steady | None = field(repr=False, compare=False, default=None)

    def status(self, inscription_id: str) -> MessageStatus:
        return self.by_id[inscription_id]

    def confirmations(self, height: int) -> int:
        """T − h + 1 (§1): a decision at ``height`` is final for a caller requiring c
        confirmations once this is ≥ c."""
        return self.tip_height - height + 1

    def month(self, month: str) -> MonthEvaluation:
        for m in self.months:
            if m.month == month:
                return m
        raise KeyError(month)

    @property
    def rewards(self) -> tuple[RewardRow, ...]:
        return tuple(r for m in self.months for r in m.rewards)
