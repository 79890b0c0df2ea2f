"""Proofs-only light mode (docs/protocol/proofs.md §7): the months history of a published
warehouse checked from its proofs alone, with this project's own verifier.

For every month in order: an accepted month's lead proof (of its accepted round) must verify
under the verification key of the circuit its params name, and chain: its public inputs are the
month's leaf index, the root the previous months left (the empty tree's root at first), the
published month root and row count, the published months root, and the binding of the lead's
key, month and round. A month that did not accept leaves the root where it was (a zero leaf is
an empty slot). Nothing is recomputed: no month tree, no formula run, no decryption.

What it does **not** check, and says so in its report: that the month roots are the trees of
the published allocation rows, that the Dreybits are the formula's output, that the lead and
its result were the ones the election and the threshold decryption gave (the rows are taken as
published), and the trusted setup (``proof_systems.setup_verified`` is reported, not redone).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from drey.crypto.groth16 import Proof, Verifier, VerifyingKey
from drey.merkle import MonthsTree, month_index
from drey.proofs import binding

__all__ = ["NOT_CHECKED", "LightReport", "check_proofs_only"]

NOT_CHECKED = (
    "month roots against the published allocation rows (no month tree is rebuilt)",
    "Dreybits against the formula (no formula run)",
    "which lead and result the election, race and threshold decryption chose (rows as published)",
    "the trusted setup (proof_systems.setup_verified is reported, not redone)",
)


@dataclass(slots=True)
class LightReport:
    """``months`` checked, ``proofs`` verified, ``problems`` (month: what failed), the final
    months root the proofs arrive at, setup verdicts as published, and the seconds taken."""

    months: int = 0
    proofs: int = 0
    problems: list[str] = field(default_factory=list)
    months_root: int | None = None
    setups: dict[str, bool | None] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems and self.months > 0


def check_proofs_only(warehouse: Path) -> LightReport:
    """Check the months history of the DuckDB warehouse at ``warehouse`` from its proofs."""
    started = time.perf_counter()
    report = LightReport()
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        verifiers = _verifiers(con, report)
        months = con.execute(
            "select m.month, m.outcome, m.accepted_round, m.month_root, m.n_rows, m.months_root,"
            " s.circuit, s.months_depth, m.first_month from months m left join"
            " (select circuit, months_depth, unnest(named_by) as params_id from proof_systems) s"
            " using (params_id) where m.outcome <> 'pending' order by m.month"
        ).fetchall()
        leads = {
            (r[0], r[1]): r[2:]
            for r in con.execute(
                "select month, round, actuary, public_inputs, proof from proofs where role = 'lead'"
            ).fetchall()
        }
    finally:
        con.close()
    root: int | None = None
    for month, outcome, rnd, month_root, n_rows, months_root, circuit, depth, first in months:
        report.months += 1
        if depth is None:
            report.problems.append(f"{month}: its params name no circuit (a v1 month)")
            continue
        if root is None:
            root = MonthsTree.empty(depth=depth).root
        if outcome != "accepted":
            if months_root is not None and int(months_root, 16) != root:
                report.problems.append(f"{month}: {outcome}, yet the months root moved")
            continue
        verifier = verifiers.get(circuit or "")
        lead = leads.get((month, rnd))
        if verifier is None or lead is None:
            report.problems.append(f"{month}: no lead proof or no verification key to check")
            continue
        actuary, public_json, proof_json = lead
        problem = _check(verifier, month, rnd, actuary, public_json, proof_json,
                         expected=(month_index(month) - month_index(first), root,
                                   int(month_root, 16), n_rows, int(months_root, 16)))  # fmt: skip
        if problem:
            report.problems.append(f"{month}: {problem}")
            continue
        report.proofs += 1
        root = int(months_root, 16)
    report.months_root = root
    report.seconds = time.perf_counter() - started
    return report


def _verifiers(con: duckdb.DuckDBPyConnection, report: LightReport) -> dict[str, Verifier]:
    out: dict[str, Verifier] = {}
    for circuit, vk, verified in con.execute(
        "select circuit, verification_key, setup_verified from proof_systems"
        " where len(named_by) > 0"
    ).fetchall():
        report.setups[circuit] = verified
        if vk is not None:
            out[circuit] = Verifier(VerifyingKey.from_snarkjs(json.loads(vk)))
    return out


def _check(
    verifier: Verifier,
    month: str,
    rnd: int,
    actuary: str,
    public_json: str | None,
    proof_json: str | None,
    *,
    expected: tuple[int, int, int, int, int],
) -> str | None:
    """Why the lead's proof does not chain, or ``None``."""
    if public_json is None or proof_json is None:
        return "the lead's proof did not decode"
    public = [int(x) for x in json.loads(public_json)]
    want = (*expected, binding(bytes.fromhex(actuary), month, rnd))
    names = ("index", "old_root", "month_root", "n_rows", "new_root", "binding")
    for name, got, should in zip(names, public, want, strict=True):
        if got != should:
            return f"public input {name} is {got}, the history needs {should}"
    verdict = verifier.verify(Proof.from_snarkjs(json.loads(proof_json)), public)
    return None if verdict.ok else f"the lead's proof fails: {verdict.reason}"
