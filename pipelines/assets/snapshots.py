"""Group ``snapshots_and_eligibility``: per month its snapshot, start, eligibility and
outcome (table ``months``), and every roster member's stake at the snapshot (``eligibility``)."""

from typing import Any

from drey.rules import Evaluation, MonthEvaluation
from pipelines.assets._common import month_asset
from pipelines.assets.groups import BOOKKEEPING
from pipelines.convert import hexify


def month_row(m: MonthEvaluation) -> dict[str, Any]:
    accepted = None
    if m.accepted_round is not None:
        accepted = next((r for r in m.rounds if r.round == m.accepted_round), None)
    p = m.params
    return {
        "month": m.month,
        "outcome": m.outcome,
        "first_month": p.first_month,
        "params_id": m.params_id,
        "prev_snapshot": m.prev_snapshot,
        "snapshot": m.snapshot,
        "start_height": m.start,
        "decided_height": m.decided_height,
        "accepted_round": m.accepted_round,
        "rounds": len(m.rounds),
        "lead": hexify(accepted.lead) if accepted is not None else None,
        "roster_size": len(p.roster),
        "eligible": m.eligible,
        "threshold": p.threshold,
        "need": m.need,
        "race_quorum": m.race_quorum,
        "no_quorum": m.no_quorum,
        "overflow": m.overflow,
        "under_threshold": m.under_threshold,
        "n_rows": m.n_rows,
        "dreybits_per_month": p.dreybits_per_month,
        "fee_bps": p.fee_bps,
        "lead_bps": p.lead_bps,
        "penalty_bps": p.penalty_bps,
        "pool_sats": m.pool_sats,
        "formula_source": m.formula_source,
        "month_root": hexify(m.month_root),
        "commitment": hexify(m.commitment),
        "months_root": hexify(m.months_root),
        "publication": m.publication,
        "slashed": m.slashed,
        "rewards_final": m.rewards_final,
        "settled": m.settled,
    }


@month_asset(
    name="snapshots",
    group=BOOKKEEPING,
    tables={
        "months": "Snapshot, start and outcome of each month.",
        "eligibility": "Roster stakes at each month's snapshot S_M.",
    },
    description="Snapshot, start, eligibility and outcome of each month; stakes at S_M.",
)
def snapshots(_: Evaluation, m: MonthEvaluation | None, month: str) -> dict[str, list]:
    if m is None:
        return {"months": [{"month": month, "outcome": "pending", "rounds": 0}]}
    return {
        "months": [month_row(m)],
        "eligibility": [
            {
                "month": month,
                "roster_index": r.index,
                "actuary": r.key.hex(),
                "stake": r.stake,
                "slashed": r.slashed,
                "weight": r.weight,
                "eligible": r.eligible,
            }
            for r in m.roster
        ],
    }
