"""Group ``month_roots``: each month's root, row count and commitment as the warehouse
recomputed them, beside what the accepted (or last) lead's revealed result claimed; and the
months history (§7): leaf i of the months tree and the months root after each decided month."""

from drey.rules import Evaluation, MonthEvaluation, months_between
from pipelines.assets._common import month_asset
from pipelines.assets.groups import MONTHS
from pipelines.convert import hexify

ZERO = "00" * 32


@month_asset(
    name="month_roots",
    group=MONTHS,
    tables={
        "month_roots": "Recomputed month roots against the lead's claims.",
        "months_history": "The months tree after each decided month.",
    },
    description="Recomputed month roots vs the lead's claims; the months tree after each month.",
)
def month_roots(evaluation: Evaluation, m: MonthEvaluation | None, month: str) -> dict[str, list]:
    if m is None:
        return {}
    lead = None
    chosen = [r for r in m.rounds if r.round == m.accepted_round] or list(m.rounds[-1:])
    if chosen:
        r = chosen[0]
        lead = next((v for v in r.reveals if v.package == r.lead_package), None)
    claimed = lead is not None and lead.month_root is not None
    row = {
        "month": month,
        "outcome": m.outcome,
        "accepted_round": m.accepted_round,
        "n_rows": m.n_rows,
        "month_root": hexify(m.month_root),
        "commitment": hexify(m.commitment),
        "months_root": hexify(m.months_root),
        "lead_round": chosen[0].round if chosen else None,
        "lead_month_root": hexify(lead.month_root) if claimed else None,
        "lead_n_rows": lead.n_rows if claimed else None,
        "lead_months_root": hexify(lead.months_root) if claimed else None,
        "lead_matches": (
            lead.month_root == m.month_root
            and lead.n_rows == m.n_rows
            and lead.months_root == m.months_root
        )
        if claimed
        else None,
    }
    history = []
    if m.outcome != "pending" and m.months_root is not None and evaluation.first_month:
        history.append(
            {
                "month": month,
                "leaf_index": months_between(evaluation.first_month, month),
                "outcome": m.outcome,
                "leaf": hexify(m.commitment) if m.outcome == "accepted" else ZERO,
                "months_root": m.months_root.hex(),
            }
        )
    return {"month_roots": [row], "months_history": history}
