"""Group ``proofs`` (protocol v1.1, docs/protocol/proofs.md): every decrypted result's proof as
the rules checked it (``proofs``, by month), and every circuit manifest with the warehouse's
audit of its trusted setup (``proof_systems``).

``proofs.public_inputs``, ``proofs.proof`` and ``proof_systems.verification_key`` are JSON text
in snarkjs's own layouts (``public.json``, ``proof.json``, ``verification_key.json``), so anyone
can re-check a row with ``snarkjs groth16 verify``. On a v1 chain (no params names a circuit)
results carry ``recompute``: their rows say so with ``verified`` NULL.

The audit (:mod:`pipelines.setup_audit`) needs the proof toolchain and the phase-1 file; it
costs tens of seconds and is kept between runs by its inputs' hashes.
"""

import json
from typing import Any

import dagster as dg

from drey.rules import Evaluation, MonthEvaluation
from drey.rules.results import Reveal
from pipelines.assets._common import RULES_EVALUATION, json_text, month_asset
from pipelines.assets.catalog import materialized
from pipelines.assets.groups import PROOFS
from pipelines.convert import to_table
from pipelines.settings import Warehouse
from pipelines.setup_audit import audit_manifests
from pipelines.tables import PROOF_SYSTEMS


def proof_row(month: str, round_: int, v: Reveal, m: MonthEvaluation) -> dict[str, Any]:
    check = v.proof
    row: dict[str, Any] = {
        "month": month,
        "round": round_,
        "package": v.package,
        "actuary": v.actuary.hex(),
        "role": v.role,
        "system": v.proof_system or "",
        "verified": None,
    }
    if check is None:
        return row
    row |= {
        "verified": check.ok,
        "reason": check.verdict.reason,
        "detail": check.verdict.detail,
        "public_inputs": None
        if check.inputs is None
        else json_text([str(x) for x in check.inputs]),
        "proof": None if check.proof is None else json_text(check.proof.to_snarkjs()),
        "verify_ms": check.seconds * 1000,
        "agrees_with_recompute": _agrees_with_recompute(v, m) if check.ok else None,
    }
    return row


def _agrees_with_recompute(v: Reveal, m: MonthEvaluation) -> bool | None:
    """A verified proof of the accepted month's own commitment must prove the months root the
    warehouse recomputed (false is an alarm: the circuit or its key proves a false append).
    ``None`` when the month is not accepted or the proof is about another commitment."""
    if m.outcome != "accepted" or (v.month_root, v.n_rows) != (m.month_root, m.n_rows):
        return None
    return v.months_root == m.months_root


@month_asset(
    name="proofs",
    group=PROOFS,
    tables={
        "proofs": "Every decrypted result's proof: system, verdict, snarkjs JSON, verify time."
    },
    description="Every decrypted result's proof: system, verdict, snarkjs JSON, verify time.",
)
def proofs(_: Evaluation, m: MonthEvaluation | None, month: str) -> dict[str, list]:
    rows = [
        proof_row(month, r.round, v, m)
        for r in (() if m is None else m.rounds)
        for v in r.reveals
        if v.outcome == "result" and v.proof_system is not None
    ]
    return {"proofs": rows}


@dg.asset_check(asset=proofs, blocking=False)
def proofs_agree_with_recompute(
    context: dg.AssetCheckExecutionContext, warehouse: Warehouse
) -> dg.AssetCheckResult:
    """No verified proof contradicts the recomputed months history (an ERROR: a sound circuit
    and key never let that happen). Proofs that fail are findings about actuaries, counted."""
    try:
        months = list(context.partition_keys)
    except dg.DagsterInvariantViolationError:
        months = warehouse.store.months_of("proofs")
    alarms: list[str] = []
    verified = failed = 0
    for month in months:
        for row in warehouse.store.read("proofs", month=month).to_pylist():
            verified += row["verified"] is True
            failed += row["verified"] is False
            if row["agrees_with_recompute"] is False:
                alarms.append(f"{month} r{row['round']} {row['package']}")
    return dg.AssetCheckResult(
        passed=not alarms,
        metadata={"verified": verified, "failed": failed, "alarms": json.dumps(alarms[:50])},
    )


@dg.asset(group_name=PROOFS, deps=[RULES_EVALUATION], kinds={"parquet"})
def proof_systems(warehouse: Warehouse) -> dg.MaterializeResult:
    """Every parsed circuit manifest: its files' hashes, verification key, ceremony
    (contributors in order, beacon) and whether the final key follows from the circuit, the
    phase-1 file and that transcript (``snarkjs zkey verify``)."""
    store = warehouse.store
    evaluation: Evaluation | None = warehouse.evaluation()
    if evaluation is None:
        raise dg.Failure("rules_evaluation has not been materialized")
    messages = warehouse.messages()
    rows = audit_manifests(
        messages,
        evaluation,
        blocks=store.read("blocks"),
        shards=warehouse.shards,
        cache=store,
    )
    table = to_table(rows, PROOF_SYSTEMS)
    store.write("proof_systems", table)
    return dg.MaterializeResult(metadata=materialized(table))


@dg.asset_check(asset=proof_systems, blocking=False)
def setups_verified(warehouse: Warehouse) -> dg.AssetCheckResult:
    """Every circuit a params names has a verified setup (WARN otherwise: the chain's founder
    named a key whose ceremony does not check, or this machine lacks the phase-1 file)."""
    rows = warehouse.store.read("proof_systems").to_pylist()
    named = [r for r in rows if r["named_by"]]
    bad = [f"{r['circuit']}: {r['setup_detail']}" for r in named if r["setup_verified"] is not True]
    return dg.AssetCheckResult(
        passed=not bad,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"named": len(named), "problems": json.dumps(bad)},
    )
