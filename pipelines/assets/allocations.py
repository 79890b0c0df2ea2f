"""Group ``allocations``: the full allocation table of each accepted month (§7): one row per
input row, ``(user_id, month, dreybits, row_hash)`` with row_hash = P(user_id·2^32 +
month_index, dreybits), the month-tree leaf. The warehouse derives it from the formula's
output (which the accepted lead's file matched) and rebuilds the month tree over those
leaves itself (``allocation_roots``); the blocking check stops the warehouse when that root
or the row count differs from what the rules engine accepted."""

import dagster as dg
import pyarrow as pa

from drey.merkle import MonthTree, month_index
from drey.rules import Evaluation, MonthEvaluation
from pipelines.assets._common import month_asset, month_evaluation
from pipelines.assets.groups import MONTHS
from pipelines.convert import hexify
from pipelines.settings import Warehouse


def allocation_tables(m: MonthEvaluation) -> tuple[pa.Table, dict[str, object], pa.Table]:
    """The accepted month's rows with their leaves, the tree the warehouse rebuilt, and that
    tree's nodes above the leaves (what every row's sibling path reads)."""
    user_ids = [r[0] for r in m.rows]
    dreybits = list(m.dreybits or ())
    tree = MonthTree.from_rows(user_ids, month_index(m.month), dreybits)
    n = len(user_ids)
    rows = pa.table(
        {
            "user_id": pa.array(user_ids, pa.uint64()),
            "month": pa.array([m.month] * n, pa.string()),
            "dreybits": pa.array(dreybits, pa.uint64()),
            "row_hash": pa.array([format(x, "064x") for x in tree.leaves()], pa.string()),
            "row_index": pa.array(range(n), pa.int64()),
        }
    )
    root = format(tree.root, "064x")
    summary = {
        "month": m.month,
        "rows": n,
        "root": root,
        "commitment": format(tree.commitment, "064x"),
        "accepted_root": hexify(m.month_root),
        "matches": root == hexify(m.month_root) and n == m.n_rows,
    }
    return rows, summary, tree_nodes(m.month, tree)


def tree_nodes(month: str, tree: MonthTree) -> pa.Table:
    levels = [(k, tree.level_nodes(k)) for k in range(1, tree.depth + 1)]
    count = sum(len(nodes) for _, nodes in levels)
    return pa.table(
        {
            "month": pa.array([month] * count, pa.string()),
            "level": pa.array([k for k, nodes in levels for _ in nodes], pa.int32()),
            "node_index": pa.array(
                [i for _, nodes in levels for i in range(len(nodes))], pa.int64()
            ),
            "hash": pa.array(
                [format(x, "064x") for _, nodes in levels for x in nodes], pa.string()
            ),
        }
    )


@month_asset(
    name="allocations",
    group=MONTHS,
    tables={
        "allocations": "Accepted allocation of each month: user, Dreybits, row hash and leaf index.",
        "allocation_roots": "The month tree the warehouse rebuilt over those rows, vs the root.",
        "month_tree_nodes": "That tree's nodes above the leaves: every row's sibling path.",
    },
    description="Accepted allocation of each month with row hashes; the tree rebuilt over them.",
)
def allocations(_: Evaluation, m: MonthEvaluation | None, month: str) -> dict[str, object]:
    if m is None or m.outcome != "accepted" or m.dreybits is None:
        return {}
    rows, summary, nodes = allocation_tables(m)
    return {"allocations": rows, "allocation_roots": [summary], "month_tree_nodes": nodes}


@dg.asset_check(asset="allocations", blocking=True)
def allocations_match_month_root(
    context: dg.AssetCheckExecutionContext, warehouse: Warehouse
) -> dg.AssetCheckResult:
    """For every accepted month of the run: the published rows number n_rows, their row
    hashes are the leaves the warehouse hashed, and its tree gives the accepted month root."""
    evaluation: Evaluation = warehouse.evaluation()
    results: dict[str, str] = {}
    for month in _months(context, warehouse):
        m = month_evaluation(evaluation, month)
        if m is None or m.outcome != "accepted":
            continue
        roots = warehouse.store.read("allocation_roots", month=month).to_pylist()
        rows = warehouse.store.read("allocations", month=month).num_rows
        if len(roots) != 1:
            results[month] = f"{len(roots)} allocation_roots rows"
        elif not roots[0]["matches"] or rows != m.n_rows:
            results[month] = (
                f"warehouse root {roots[0]['root']} over {rows} rows, accepted "
                f"{hexify(m.month_root)} over {m.n_rows}"
            )
        else:
            results[month] = "ok"
    failed = [k for k, v in results.items() if v != "ok"]
    return dg.AssetCheckResult(
        passed=not failed,
        metadata={"months": dg.MetadataValue.json(results), "failed": len(failed)},
    )


def _months(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> list[str]:
    """The months of the run; every month on disk when the check runs on its own."""
    try:
        return list(context.partition_keys)
    except dg.DagsterInvariantViolationError:
        return warehouse.store.months_of("allocations")
