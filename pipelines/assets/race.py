"""Group ``race_results``: per round the lead package and the counting secondaries in race
order (rank by chain position) or late, with their reveal outcome and agreement (§8, §9)."""

from drey.rules import Evaluation, MonthEvaluation
from pipelines.assets._common import month_asset
from pipelines.assets.groups import MONTHS


@month_asset(
    name="race_results",
    group=MONTHS,
    tables={"race_results": "Lead and race/late packages in rank order with reveal and agreement."},
    description="Lead and race/late packages in rank order with reveal and agreement.",
)
def race_results(evaluation: Evaluation, m: MonthEvaluation | None, month: str) -> dict[str, list]:
    rows = []
    for r in () if m is None else m.rounds:
        reveals = {v.package: v for v in r.reveals}
        entries = list(r.race) + list(r.late)
        if r.lead_package is not None and r.lead is not None:
            lead_reveal = reveals.get(r.lead_package)
            height, tx_index, index = evaluation.status(r.lead_package).position
            rows.append(
                {
                    "month": month,
                    "round": r.round,
                    "role": "lead",
                    "rank": None,
                    "package": r.lead_package,
                    "actuary": r.lead.hex(),
                    "block_height": height,
                    "tx_index": tx_index,
                    "inscription_index": index,
                    "outcome": lead_reveal.outcome if lead_reveal else None,
                    "valid": lead_reveal.valid if lead_reveal else None,
                    "agrees": lead_reveal.agrees if lead_reveal else None,
                    "counts": lead_reveal.counts if lead_reveal else None,
                }
            )
        for p in sorted(entries, key=lambda p: p.position):
            v = reveals.get(p.inscription_id)
            rows.append(
                {
                    "month": month,
                    "round": r.round,
                    "role": p.role,
                    "rank": p.rank,
                    "package": p.inscription_id,
                    "actuary": p.actuary.hex(),
                    "block_height": p.position[0],
                    "tx_index": p.position[1],
                    "inscription_index": p.position[2],
                    "outcome": v.outcome if v else None,
                    "valid": v.valid if v else None,
                    "agrees": v.agrees if v else None,
                    "counts": v.counts if v else None,
                }
            )
    return {"race_results": rows}
