"""Group ``month_roots``: each month's root, row count and commitment as the warehouse
recomputed them, beside what the accepted (or last) lead's revealed result claimed; and the
months history (§7): leaf i of the months tree and the months root after each decided month;
and each month's path in the latest months tree (``months_paths``)."""

import dagster as dg
import pyarrow as pa

from drey.merkle import DEFAULT_MONTHS_DEPTH, MonthsTree
from drey.rules import Evaluation, MonthEvaluation, months_between
from pipelines.assets._common import month_asset
from pipelines.assets.catalog import materialized
from pipelines.assets.groups import MONTHS
from pipelines.convert import hexify, to_table
from pipelines.settings import Warehouse
from pipelines.tables import MONTHS_HISTORY, MONTHS_PATHS

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


def months_path_rows(history: pa.Table, depth: int) -> list[dict[str, object]]:
    """Each decided month's leaf and sibling path in the latest months tree (the one its last
    row's months_root names): the tree rebuilt from the leaves, checked against that root."""
    rows = sorted(history.to_pylist(), key=lambda r: r["leaf_index"])
    if not rows:
        return []
    tree = MonthsTree.empty(depth=depth)
    for r in rows:
        tree = tree.with_leaf(r["leaf_index"], int(r["leaf"], 16))
    latest = rows[-1]["months_root"]
    if format(tree.root, "064x") != latest:
        raise dg.Failure(f"the months tree rebuilt from months_history is not {latest}")
    return [
        {
            "month": r["month"],
            "leaf_index": r["leaf_index"],
            "leaf": r["leaf"],
            "path": [format(x, "064x") for x in tree.prove(r["leaf_index"]).siblings],
            "months_root": latest,
        }
        for r in rows
    ]


@dg.asset(group_name=MONTHS, deps=["months_history"], kinds={"parquet"})
def months_paths(warehouse: Warehouse) -> dg.MaterializeResult:
    """Each decided month's leaf and sibling path in the latest months tree: with
    month_tree_nodes, every allocation row's proof up to the months root (row_proof)."""
    evaluation: Evaluation | None = warehouse.evaluation()
    if evaluation is None:
        raise dg.Failure("rules_evaluation has not been materialized")
    decided = [m for m in evaluation.months if m.months_root is not None]
    depth = decided[-1].params.months_depth if decided else DEFAULT_MONTHS_DEPTH
    try:
        history = warehouse.store.read("months_history")
    except FileNotFoundError:  # no month yet
        history = MONTHS_HISTORY.empty_table()
    data = to_table(months_path_rows(history, depth), MONTHS_PATHS)
    warehouse.store.write("months_paths", data)
    return dg.MaterializeResult(metadata=materialized(data))
