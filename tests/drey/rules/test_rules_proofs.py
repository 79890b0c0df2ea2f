"""Protocol v1.1's proof rule (docs/protocol/proofs.md §6) on a chain whose params name a
depth-1 circuit (its key inscribed as a part, its proofs made by the real snarkjs): honest
proofs verify and the month is accepted; a lead whose proof is forged is an invalid lead; a
secondary with a forged, copied, wrong-system or off-curve proof fails ``bad_proof: <reason>``,
commits ``wrong_secondary_result`` and does not count for agreement; a params naming a circuit
whose key is missing halts every month with ``circuit_unavailable``."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace

import pytest

from drey.crypto.poseidon import field_from_bytes
from drey.formula import FormulaPart
from drey.merkle import MonthsTree
from drey.messages import Proof, Result
from drey.messages.circuit import Beacon, CircuitManifest, FileRef, PtauRef
from drey.proofs import SYSTEM, encode_proof, statement, witness
from drey.rules.inputs import FormulaPartInscription
from zk.prover import WarmProver

from ..crypto import snarkjs
from .scenario import RoundPlan, ScenarioBuilder, ScenarioKeys

Rewrite = Callable[[Result], Result]


@pytest.fixture(scope="module")
def prover() -> Iterator[WarmProver]:
    art = snarkjs.build()
    with WarmProver(art.wasm, art.zkey) as warm:
        yield warm


def _circuit(vk: bytes | None) -> Callable[[ScenarioBuilder], Mapping[str, object]]:
    """Inscribe the depth-1 circuit's manifest (and its key's part unless ``vk`` is None)."""

    def inscribe(sb: ScenarioBuilder) -> Mapping[str, object]:
        body = vk or b"{}"
        part_id = "ee" * 32 + "i0"
        if vk is not None:
            sb.formula_parts.append(
                FormulaPartInscription(part_id, 1, FormulaPart("application/json", None, None, None, vk))
            )  # fmt: skip
        ref = FileRef(hashlib.sha256(body).digest(), (part_id,))
        manifest = CircuitManifest(
            system=SYSTEM, months_depth=snarkjs.DEPTH, source=ref, r1cs_sha256=bytes(32),
            wasm_sha256=bytes(32), ptau=PtauRef(bytes(32), 10), zkey=ref, vk=ref,
            contributions=(), beacon=Beacon(1, 10),
        ).signed(sb.keys.founder_secret)  # fmt: skip
        pm = sb.inscribe(1, manifest)
        return {"circuit": pm.inscription_id, "months_depth": snarkjs.DEPTH}

    return inscribe


def _builder(keys: ScenarioKeys, vk: bytes | None) -> ScenarioBuilder:
    sb = ScenarioBuilder(keys, snapshots=[30, 90, 150], before_params=_circuit(vk))
    sb.setup()
    return sb


class Provers:
    """Result rewrites that attach proofs: honest, forged (C := A), another's, or broken."""

    def __init__(self, prover: WarmProver) -> None:
        self.prover = prover
        self.last_honest: Proof | None = None

    def honest(self, result: Result) -> Result:
        history = MonthsTree.empty(depth=snarkjs.DEPTH)
        claim = statement(
            history, first_month="2025-01", month=result.month, round_=result.round,
            actuary=result.actuary, month_root=field_from_bytes(result.month_root),
            n_rows=result.n_rows, new_root=field_from_bytes(result.months_root),
        )  # fmt: skip
        seed = hashlib.sha256(result.actuary + bytes([result.round])).digest()
        proof = encode_proof(self.prover.prove(claim, witness(history, 0), seed))
        self.last_honest = proof
        return replace(result, proof=proof)

    def forged(self, result: Result) -> Result:
        proof = self.honest(result).proof
        a = dict(proof.extra)["a"]
        return replace(result, proof=Proof(SYSTEM, tuple((k, a if k == "c" else v) for k, v in proof.extra)))  # fmt: skip

    def copied(self, result: Result) -> Result:
        assert self.last_honest is not None  # another actuary's, proved just before
        return replace(result, proof=self.last_honest)

    def off_curve(self, result: Result) -> Result:
        proof = self.honest(result).proof
        bad = (1).to_bytes(32, "big") * 2
        return replace(result, proof=Proof(SYSTEM, tuple((k, bad if k == "a" else v) for k, v in proof.extra)))  # fmt: skip

    @staticmethod
    def recompute(result: Result) -> Result:
        return replace(result, proof=Proof("recompute"))


def _plan(lead: Rewrite, secondaries: Mapping[int, Rewrite], honest: Rewrite) -> RoundPlan:
    return RoundPlan(
        lead_result=lead,
        secondary_result={i: secondaries.get(i, honest) for i in range(1, 6)},
    )


def test_proofs_decide_leads_and_secondaries(keys: ScenarioKeys, prover: WarmProver) -> None:
    vk = json.dumps(snarkjs.build().vk()).encode()
    sb = _builder(keys, vk)
    p = Provers(prover)
    round0 = _plan(p.forged, {1: p.recompute, 2: p.off_curve}, p.honest)
    round1 = _plan(p.honest, {3: p.copied}, p.honest)
    records = sb.play_month("2025-01", [round0, round1])
    ev = sb.evaluate()
    month = ev.month("2025-01")
    assert month.outcome == "accepted" and month.accepted_round == 1
    expected = {
        0: {1: "bad_proof: wrong_system", 2: "bad_proof: not_on_curve"},
        1: {3: "bad_proof: pairing_failed"},
    }
    offenders: set[tuple[int, bytes]] = set()
    for rec in records:
        rnd = month.rounds[rec.round]
        for reveal in rnd.reveals:
            index = sb.keys.by_key(reveal.actuary).index
            assert reveal.proof is not None and reveal.proof_system is not None
            if reveal.role == "lead":
                want = "bad_proof: pairing_failed" if rec.round == 0 else None
                assert reveal.problem == want, (rec.round, reveal)
                if want:
                    offenders.add((rec.round, reveal.actuary))
            else:
                want = expected[rec.round].get(index)
                assert reveal.problem == want, (rec.round, index, reveal.problem)
                assert reveal.proof.ok is (want is None)
                if want:
                    assert not reveal.agrees
                    offenders.add((rec.round, reveal.actuary))
    assert month.rounds[0].decision.outcome == "rejected"
    offences = {(o.round, o.actuary, o.offence) for o in ev.penalties}
    assert offenders
    for rnd, actuary in offenders:
        kinds = {k for r, a, k in offences if (r, a) == (rnd, actuary)}
        assert kinds & {"invalid_lead_result", "wrong_secondary_result"}, (rnd, kinds)


def test_a_circuit_without_its_key_halts_every_month(
    keys: ScenarioKeys, prover: WarmProver
) -> None:
    sb = _builder(keys, None)
    p = Provers(prover)
    sb.play_round("2025-01", 0, _plan(p.honest, {}, p.honest))
    rnd = sb.evaluate().month("2025-01").rounds[0]
    assert {r.problem for r in rnd.reveals} == {"bad_proof: circuit_unavailable"}
    assert rnd.decision.outcome == "rejected"
    assert "not available" in (rnd.reveals[0].proof.verdict.detail or "")  # type: ignore[union-attr]
