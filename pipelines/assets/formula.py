"""Group ``formula``: the formula re-executed from chain deposits (§6): the input rows the
rules engine derived (user_id, sat_blocks, age), the Dreybits the inscribed WebAssembly
module computed under wasmtime, and how the run went (``formula_runs``: which source ran,
whether the module ran cleanly and agreed with the Python reference)."""

import pyarrow as pa

from drey.rules import Evaluation, MonthEvaluation
from pipelines.assets._common import month_asset
from pipelines.assets.groups import MONTHS


def _check(evaluation: Evaluation, month: str, name: str) -> tuple[bool | None, str | None]:
    for c in evaluation.checks:
        if c.month == month and c.name == name:
            return c.passed, c.detail
    return None, None


@month_asset(
    name="formula_runs",
    group=MONTHS,
    tables={
        "formula_runs": "The inscribed formula module re-executed for each month, and its output.",
        "formula_inputs": "The formula's inputs, read from chain deposits.",
    },
    description="Formula inputs from chain deposits and the inscribed module's output.",
)
def formula_runs(
    evaluation: Evaluation, m: MonthEvaluation | None, month: str
) -> dict[str, object]:
    if m is None:
        return {}
    module_ok, module_detail = _check(evaluation, month, "formula_module")
    agrees, _ = _check(evaluation, month, "formula_reference")
    n = len(m.rows)
    user_ids, sat_blocks, ages = zip(*m.rows, strict=True) if n else ((), (), ())
    inputs = pa.table(
        {
            "month": pa.array([month] * n, pa.string()),
            "row_index": pa.array(range(n), pa.int64()),
            "user_id": pa.array(user_ids, pa.uint64()),
            "sat_blocks": pa.array(sat_blocks, pa.decimal128(38, 0)),
            "age": pa.array(ages, pa.uint32()),
            "dreybits": pa.array(m.dreybits if m.dreybits is not None else [None] * n, pa.uint64()),
        }
    )
    run = {
        "month": month,
        "source": m.formula_source,
        "rows": n,
        "pool": m.params.dreybits_per_month,
        "total_dreybits": None if m.dreybits is None else sum(m.dreybits),
        "overflow": m.overflow,
        "module_ok": module_ok,
        "module_detail": module_detail,
        "reference_agrees": agrees,
    }
    return {"formula_runs": [run], "formula_inputs": inputs}
