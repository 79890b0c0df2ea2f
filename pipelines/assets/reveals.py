"""Group ``reveals``: every package owed shares after the share window: decrypted (and what
its result claims), a copy, key reuse, or unrevealed; whether it is valid and agrees (§8, §9)."""

from drey.rules import Evaluation, MonthEvaluation
from pipelines.assets._common import month_asset
from pipelines.assets.groups import MONTHS
from pipelines.convert import hexify


@month_asset(
    name="reveals",
    group=MONTHS,
    tables={
        "reveals": "Threshold decryption outcome and claimed roots of every lead/race/late package."
    },
    description="Threshold decryption outcome and claimed roots of every lead/race/late package.",
)
def reveals(_: Evaluation, m: MonthEvaluation | None, month: str) -> dict[str, list]:
    rows = [
        {
            "month": month,
            "round": r.round,
            "package": v.package,
            "actuary": v.actuary.hex(),
            "kind": v.kind,
            "role": v.role,
            "outcome": v.outcome,
            "reveal_height": v.reveal_height,
            "share_indices": list(v.share_indices),
            "month_root": hexify(v.month_root),
            "n_rows": v.n_rows,
            "months_root": hexify(v.months_root),
            "problem": v.problem,
            "valid": v.valid,
            "agrees": v.agrees,
            "counts": v.counts,
        }
        for r in (() if m is None else m.rounds)
        for v in r.reveals
    ]
    return {"reveals": rows}
