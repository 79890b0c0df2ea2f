"""Group ``decryption_shares``: every entry of every ``shares`` message of the month (the
shares ledger of §8): who posted a share for which package, when, and its entry status."""

from drey.rules import Evaluation, MonthEvaluation
from pipelines.assets._common import month_asset
from pipelines.assets.groups import MONTHS


@month_asset(
    name="decryption_shares",
    group=MONTHS,
    tables={"decryption_shares": "The shares ledger: one row per share entry with its status."},
    description="The shares ledger: one row per share entry with its status.",
)
def decryption_shares(_: Evaluation, m: MonthEvaluation | None, month: str) -> dict[str, list]:
    rows = [
        {
            "month": month,
            "round": r.round,
            "shares_id": s.shares_id,
            "entry": s.entry,
            "block_height": s.position[0],
            "tx_index": s.position[1],
            "inscription_index": s.position[2],
            "actuary": s.actuary.hex(),
            "roster_index": s.roster_index,
            "package": s.package,
            "status": s.status,
            "reason": s.reason,
            "detail": s.detail,
        }
        for r in (() if m is None else m.rounds)
        for s in r.shares
    ]
    return {"decryption_shares": rows}
