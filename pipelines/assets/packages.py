"""Group ``packages``: every ``lead``, ``secondary`` and ``lead_part`` message naming the
month, with its status (§1) and, for packages owed shares, its role in the round (the lead,
a race package with its rank, or late) (§5, §8)."""

from drey.rules import Evaluation, MonthEvaluation
from pipelines.assets._common import month_asset
from pipelines.assets.groups import MONTHS

PACKAGE_KINDS = ("lead", "secondary", "lead_part")


@month_asset(
    name="packages",
    group=MONTHS,
    tables={"packages": "Lead, secondary and lead_part messages with status, role and race rank."},
    description="Lead, secondary and lead_part messages with status, role and race rank.",
)
def packages(evaluation: Evaluation, m: MonthEvaluation | None, month: str) -> dict[str, list]:
    roles: dict[str, tuple[str, int | None]] = {}
    for r in () if m is None else m.rounds:
        if r.lead_package is not None:
            roles[r.lead_package] = ("lead", None)
        for p in (*r.race, *r.late):
            roles[p.inscription_id] = (p.role, p.rank)
    rows = []
    for s in evaluation.statuses:
        if s.month != month or s.kind not in PACKAGE_KINDS:
            continue
        role, rank = roles.get(s.inscription_id, (None, None))
        rows.append(
            {
                "month": month,
                "round": s.round,
                "id": s.inscription_id,
                "kind": s.kind,
                "block_height": s.position[0],
                "tx_index": s.position[1],
                "inscription_index": s.position[2],
                "status": s.status,
                "reason": s.reason,
                "detail": s.detail,
                "role": role,
                "rank": rank,
            }
        )
    return {"packages": rows}
