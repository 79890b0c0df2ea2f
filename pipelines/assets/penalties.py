"""Group ``penalties``: offences of the month's rounds with the sats each slashes (§9), and
the slashed sats credited to plans pro rata to their Dreybits (``redistribution``)."""

from drey.rules import Evaluation, MonthEvaluation
from pipelines.assets._common import month_asset
from pipelines.assets.groups import MONTHS


@month_asset(
    name="penalties",
    group=MONTHS,
    tables={
        "penalties": "Offences and slashes of each month.",
        "redistribution": "Slashed sats credited to the month's plans.",
    },
    description="Offences and slashes; slashed sats credited to the month's plans.",
)
def penalties(evaluation: Evaluation, _: MonthEvaluation | None, month: str) -> dict[str, list]:
    return {
        "penalties": [
            {
                "month": month,
                "round": p.round,
                "offence": p.offence,
                "actuary": p.actuary.hex(),
                "height": p.height,
                "base": p.base,
                "slash": p.slash,
                "detail": p.detail,
            }
            for p in evaluation.penalties
            if p.month == month
        ],
        "redistribution": [
            {"month": month, "user_id": r.user_id, "sats": r.sats}
            for r in evaluation.redistribution
            if r.month == month
        ],
    }
