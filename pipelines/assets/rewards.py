"""Group ``rewards``: the accepted round's rewards in sats (§9): the lead's share and the
agreeing race secondaries' shares by rank. ``final`` is false until the share window closed."""

from drey.rules import Evaluation, MonthEvaluation
from pipelines.assets._common import month_asset
from pipelines.assets.groups import MONTHS


@month_asset(
    name="rewards",
    group=MONTHS,
    tables={"rewards": "Rewards of the accepted round: lead share and race shares by rank."},
    description="Rewards of the accepted round: lead share and race shares by rank.",
)
def rewards(_: Evaluation, m: MonthEvaluation | None, month: str) -> dict[str, list]:
    rows = [
        {
            "month": month,
            "round": r.round,
            "actuary": r.actuary.hex(),
            "role": r.role,
            "rank": r.rank,
            "sats": r.sats,
            "final": m.rewards_final,
        }
        for r in (() if m is None else m.rewards)
    ]
    return {"rewards": rows}
