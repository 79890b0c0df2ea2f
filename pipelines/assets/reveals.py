"""Group ``reveals``: every package owed shares after the share window: decrypted (and what
its result claims), a copy, key reuse, or unrevealed; whether it is valid and agrees (§8, §9)."""

import pyarrow as pa

from drey.rules import Evaluation, MonthEvaluation
from pipelines.assets._common import month_asset
from pipelines.convert import hexify, schema

REVEALS = schema(
    ("month", pa.string(), False),
    ("round", pa.int64(), False),
    ("package", pa.string(), False),
    ("actuary", pa.string(), False),
    ("kind", pa.string(), False),
    ("role", pa.string(), False),
    ("outcome", pa.string(), False),
    ("reveal_height", pa.int64()),
    ("share_indices", pa.list_(pa.int64())),
    ("month_root", pa.string()),
    ("n_rows", pa.int64()),
    ("months_root", pa.string()),
    ("problem", pa.string()),
    ("valid", pa.bool_(), False),
    ("agrees", pa.bool_(), False),
    ("counts", pa.bool_(), False),
)


@month_asset(
    name="reveals",
    group="reveals",
    tables={"reveals": REVEALS},
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
