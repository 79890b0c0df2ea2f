"""PROTOCOL.md's rules as pure functions over ordered messages (see docs/protocol/rules.md).

Inputs: :class:`ChainView` (block hashes, header times, the vault ledger),
:class:`PositionedMessage` (a parsed message where it was mined) and the founder key.
:func:`evaluate` returns an :class:`Evaluation`: a status per message, per month the
params, snapshot, eligibility, rounds (VRFs, lead, race, shares ledger, reveals, decision),
roots, publication and rewards, plus penalties, redistribution and verification checks.
The rule functions it is built from are exported too, for the producer side and for tests.
"""

from drey.rules.calendar import (
    Snapshots,
    add_months,
    month_end_timestamp,
    month_index,
    months_between,
    next_month,
    snapshot_heights,
)
from drey.rules.election import count_vrfs, elect, need_for, race_quorum, roster_stakes
from drey.rules.evaluate import evaluate
from drey.rules.formula import compute_allocation, load_module, month_roots
from drey.rules.inputs import (
    ChainView,
    FormulaPartInscription,
    Position,
    PositionedMessage,
    RulesInputError,
    VaultOutput,
    median_time_past,
)
from drey.rules.ledger import Holding, Ledger, bind_stakes_and_plans, formula_rows
from drey.rules.params import ParamsEntry, ParamsHistory, find_first_params, resolve_params
from drey.rules.penalties import MonthSlashes, pro_rata, redistribute, slash_month
from drey.rules.publication import choose_publication, roster_signers
from drey.rules.race import (
    choose_lead_package,
    choose_lead_parts,
    counting_secondaries,
    first_reaching,
)
from drey.rules.reasons import OFFENCES, PRECEDENCE, EntryStatus, Offence, RuleReason, Status
from drey.rules.results import (
    Check,
    CountedVrf,
    Decision,
    Evaluation,
    MessageStatus,
    MonthEvaluation,
    PenaltyRow,
    RacePackage,
    RedistributionRow,
    Reveal,
    RewardRow,
    RosterStake,
    RoundEvaluation,
    ShareRecord,
)
from drey.rules.reveal import Expected, judge_result, open_package, process_shares
from drey.rules.rounds import (
    KeyRegistry,
    MonthContext,
    OffenceEvent,
    PriorRounds,
    RoundMessages,
    evaluate_round,
    key_reuse_set,
)
from drey.rules.settlement import race_rewards, withheld_shares

__all__ = [
    "OFFENCES",
    "PRECEDENCE",
    "ChainView",
    "Check",
    "CountedVrf",
    "Decision",
    "EntryStatus",
    "Evaluation",
    "Expected",
    "FormulaPartInscription",
    "Holding",
    "KeyRegistry",
    "Ledger",
    "MessageStatus",
    "MonthContext",
    "MonthEvaluation",
    "MonthSlashes",
    "Offence",
    "OffenceEvent",
    "ParamsEntry",
    "ParamsHistory",
    "PenaltyRow",
    "Position",
    "PositionedMessage",
    "PriorRounds",
    "RacePackage",
    "RedistributionRow",
    "Reveal",
    "RewardRow",
    "RosterStake",
    "RoundEvaluation",
    "RoundMessages",
    "RuleReason",
    "RulesInputError",
    "ShareRecord",
    "Snapshots",
    "Status",
    "VaultOutput",
    "add_months",
    "bind_stakes_and_plans",
    "choose_lead_package",
    "choose_lead_parts",
    "choose_publication",
    "compute_allocation",
    "count_vrfs",
    "counting_secondaries",
    "elect",
    "evaluate",
    "evaluate_round",
    "find_first_params",
    "first_reaching",
    "formula_rows",
    "judge_result",
    "key_reuse_set",
    "load_module",
    "median_time_past",
    "month_end_timestamp",
    "month_index",
    "month_roots",
    "months_between",
    "need_for",
    "next_month",
    "open_package",
    "pro_rata",
    "process_shares",
    "race_quorum",
    "race_rewards",
    "redistribute",
    "resolve_params",
    "roster_signers",
    "roster_stakes",
    "slash_month",
    "snapshot_heights",
    "withheld_shares",
]
