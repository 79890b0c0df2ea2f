"""Groth16 verification (drey.crypto.groth16) and the months-append statement (drey.proofs)
against the real toolchain: circom2 compiles the depth-1 circuit, snarkjs sets it up and
proves; the verifier must agree with snarkjs on every proof, and with py_ecc (an independent,
pure-Python pairing) on the honest one and a forged one."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drey.crypto.groth16 import (
    B2,
    G1Point,
    G2Point,
    P,
    Proof,
    ProofError,
    R,
    Verifier,
    VerifyingKey,
)
from drey.crypto.poseidon import poseidon2
from drey.merkle import MonthsTree
from drey.messages.base import xonly_public_key
from drey.proofs import MonthsAppend, statement, witness

from . import snarkjs

ACTUARY = bytes(range(32))
OTHER = bytes(range(1, 33))


@pytest.fixture(scope="module")
def artefacts() -> snarkjs.Artefacts:
    return snarkjs.build()


@pytest.fixture(scope="module")
def work() -> Path:
    path = snarkjs.REPO / "var" / "zk" / "work"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _claim(history: MonthsTree, month: str, actuary: bytes = ACTUARY) -> tuple[MonthsAppend, dict]:
    """A result's honest claim for ``month`` (first month 2025-01) and the prover's input."""
    month_root, n_rows = 123_456_789, 1_000
    index = int(month[5:]) - 1
    new_root = history.with_leaf(index, poseidon2(month_root, n_rows)).root
    st_ = statement(
        history, first_month="2025-01", month=month, round_=0, actuary=actuary,
        month_root=month_root, n_rows=n_rows, new_root=new_root,
    )  # fmt: skip
    return st_, st_.circuit_input(witness(history, index))


@pytest.fixture(scope="module")
def proved(artefacts: snarkjs.Artefacts, work: Path) -> list[tuple[MonthsAppend, dict, list]]:
    """Two honest proofs: month 0 (a left child) into an empty tree, month 1 (a right child)."""
    empty = MonthsTree.empty(depth=snarkjs.DEPTH)
    one = empty.append(777)
    out = []
    for history, month in ((empty, "2025-01"), (one, "2025-02")):
        claim, inputs = _claim(history, month)
        proof, public = snarkjs.prove(artefacts, inputs, work / month)
        out.append((claim, proof, public))
    return out


def test_honest_proofs_verify_and_the_statement_is_the_circuits(
    artefacts: snarkjs.Artefacts, proved: list
) -> None:
    verifier = Verifier(VerifyingKey.from_snarkjs(artefacts.vk()))
    for claim, proof_json, public in proved:
        assert [str(x) for x in claim.public_inputs()] == public
        proof = Proof.from_snarkjs(proof_json)
        assert verifier.verify(proof, claim.public_inputs()).ok
        wire = proof.to_bytes()
        assert len(wire) == 256
        assert Proof.from_parts(wire[:64], wire[64:192], wire[192:]) == proof


def test_every_changed_public_input_fails_here_and_in_snarkjs(
    artefacts: snarkjs.Artefacts, proved: list, work: Path
) -> None:
    vk = artefacts.vk()
    verifier = Verifier(VerifyingKey.from_snarkjs(vk))
    claim, proof_json, _ = proved[1]
    proof = Proof.from_snarkjs(proof_json)
    for i in range(6):
        inputs = list(claim.public_inputs())
        inputs[i] = (inputs[i] + 1) % R
        verdict = verifier.verify(proof, inputs)
        assert (verdict.ok, verdict.reason) == (False, "pairing_failed"), i
        assert not snarkjs.snarkjs_verifies(
            vk, [str(x) for x in inputs], proof_json, work / f"bad{i}"
        )
    assert snarkjs.snarkjs_verifies(
        vk, [str(x) for x in claim.public_inputs()], proof_json, work / "good"
    )


def test_a_proof_is_bound_to_its_actuary_month_and_round(
    artefacts: snarkjs.Artefacts, proved: list
) -> None:
    """Copied into another actuary's result, or replayed in another round, the proof fails:
    the binding input differs (docs/protocol/proofs.md §1)."""
    verifier = Verifier(VerifyingKey.from_snarkjs(artefacts.vk()))
    claim, proof_json, _ = proved[0]
    proof = Proof.from_snarkjs(proof_json)
    history = MonthsTree.empty(depth=snarkjs.DEPTH)
    copied, _ = _claim(history, "2025-01", actuary=OTHER)
    assert copied.binding != claim.binding and replace(copied, binding=claim.binding) == claim
    assert verifier.verify(proof, copied.public_inputs()).reason == "pairing_failed"
    replay = statement(
        history, first_month="2025-01", month="2025-01", round_=1, actuary=ACTUARY,
        month_root=claim.month_root, n_rows=claim.n_rows, new_root=claim.new_root,
    )  # fmt: skip
    assert verifier.verify(proof, replay.public_inputs()).reason == "pairing_failed"


def test_inputs_out_of_range_or_miscounted_are_refused(
    artefacts: snarkjs.Artefacts, proved: list
) -> None:
    verifier = Verifier(VerifyingKey.from_snarkjs(artefacts.vk()))
    claim, proof_json, _ = proved[0]
    proof = Proof.from_snarkjs(proof_json)
    inputs = list(claim.public_inputs())
    wrapped = [inputs[0] + R, *inputs[1:]]  # the same value mod r: must not be reduced
    assert verifier.verify(proof, wrapped).reason == "input_out_of_range"
    assert verifier.verify(proof, inputs[:5]).reason == "wrong_input_count"


def _twist_point_outside_the_subgroup() -> G2Point:
    """A point of E'(F_p²) that is not in the order-r subgroup (the cofactor is ~2^254)."""
    x0 = 1
    while True:
        x = (x0, 0)
        x3 = _mul(_mul(x, x), x)
        y = _sqrt((x3[0] + B2[0]) % P, (x3[1] + B2[1]) % P)
        if y is not None:
            return G2Point(x[0], x[1], y[0], y[1])
        x0 += 1


def _mul(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    return ((a[0] * b[0] - a[1] * b[1]) % P, (a[0] * b[1] + a[1] * b[0]) % P)


def _sqrt(a0: int, a1: int) -> tuple[int, int] | None:
    """A square root in F_p² (p ≡ 3 mod 4), or None."""
    norm = (a0 * a0 + a1 * a1) % P
    gamma = pow(norm, (P + 1) // 4, P)
    if gamma * gamma % P != norm:
        return None
    for delta in ((a0 + gamma) * pow(2, -1, P) % P, (a0 - gamma) * pow(2, -1, P) % P):
        x0 = pow(delta, (P + 1) // 4, P)
        if x0 * x0 % P == delta and x0:
            x1 = a1 * pow(2 * x0, -1, P) % P
            if _mul((x0, x1), (x0, x1)) == (a0, a1):
                return (x0, x1)
    return None


def test_malformed_points_are_refused_with_their_reason(
    artefacts: snarkjs.Artefacts, proved: list
) -> None:
    verifier = Verifier(VerifyingKey.from_snarkjs(artefacts.vk()))
    claim, proof_json, _ = proved[0]
    proof = Proof.from_snarkjs(proof_json)
    a, b, c = proof.a.to_bytes(), proof.b.to_bytes(), proof.c.to_bytes()
    cases = {
        "coordinate_out_of_range": (P.to_bytes(32, "big") + a[32:], b, c),
        "not_on_curve": (a[:32] + ((proof.a.y + 1) % P).to_bytes(32, "big"), b, c),
        "malformed": (a[:63], b, c),
    }
    for reason, parts in cases.items():
        with pytest.raises(ProofError) as info:
            Proof.from_parts(*parts)
        assert info.value.reason == reason
    with pytest.raises(ProofError, match="coordinate_out_of_range"):
        Proof.from_parts(a, (P + 5).to_bytes(32, "big") + b[32:], c)
    outside = _twist_point_outside_the_subgroup()
    verdict = verifier.verify(replace(proof, b=outside), claim.public_inputs())
    assert (verdict.ok, verdict.reason) == (False, "not_in_subgroup")
    infinity = json.loads(json.dumps(proof_json))
    infinity["pi_a"] = ["0", "1", "0"]
    with pytest.raises(ProofError, match="malformed"):
        Proof.from_snarkjs(infinity)
    with pytest.raises(ProofError, match="malformed"):
        Proof.from_snarkjs({"pi_a": ["1", "2", "1"]})


def test_the_key_round_trips_through_snarkjs_json(artefacts: snarkjs.Artefacts) -> None:
    vk = artefacts.vk()
    key = VerifyingKey.from_snarkjs(vk)
    assert key.n_public == 6
    exported = key.to_snarkjs()
    assert {k: v for k, v in vk.items() if k != "vk_alphabeta_12"} == exported


def test_py_ecc_agrees_on_an_honest_and_a_forged_proof(
    artefacts: snarkjs.Artefacts, proved: list
) -> None:
    """An independent pairing (pure Python, ~2 s a check) gives the same answers."""
    claim, proof_json, _ = proved[1]
    key = VerifyingKey.from_snarkjs(artefacts.vk())
    proof = Proof.from_snarkjs(proof_json)
    assert _py_ecc_verifies(key, proof, claim.public_inputs())
    forged = list(claim.public_inputs())
    forged[4] = (forged[4] + 1) % R
    assert not _py_ecc_verifies(key, proof, forged)
    assert not Verifier(key).verify(proof, forged).ok


def _py_ecc_verifies(key: VerifyingKey, proof: Proof, inputs: tuple[int, ...] | list[int]) -> bool:
    from py_ecc.optimized_bn128 import (
        FQ,
        FQ2,
        FQ12,
        add,
        final_exponentiate,
        multiply,
        neg,
        normalize,
        pairing,
    )

    def g1(p: G1Point) -> tuple:
        return (FQ(p.x), FQ(p.y), FQ(1))

    def g2(p: G2Point) -> tuple:
        return (FQ2([p.x0, p.x1]), FQ2([p.y0, p.y1]), FQ2([1, 0]))

    vk_x = g1(key.ic[0])
    for s, ic in zip(inputs, key.ic[1:], strict=True):
        vk_x = add(vk_x, multiply(g1(ic), s))
    normalize(vk_x)
    product = FQ12.one()
    for q, p in ((g2(proof.b), neg(g1(proof.a))), (g2(key.beta), g1(key.alpha)),
                 (g2(key.gamma), vk_x), (g2(key.delta), g1(proof.c))):  # fmt: skip
        product = product * pairing(q, p, final_exponentiate=False)
    return final_exponentiate(product) == FQ12.one()


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=1, max_value=R - 1), st.integers(min_value=1, max_value=R - 1))
def test_point_encodings_round_trip(k1: int, k2: int) -> None:
    from py_ecc.optimized_bn128 import G1, G2, multiply, normalize

    x, y = normalize(multiply(G1, k1))
    a = G1Point(int(x), int(y))
    qx, qy = normalize(multiply(G2, k2))
    b = G2Point(int(qx.coeffs[0]), int(qx.coeffs[1]), int(qy.coeffs[0]), int(qy.coeffs[1]))
    proof = Proof(a, b, a)
    wire = proof.to_bytes()
    assert Proof.from_parts(wire[:64], wire[64:192], wire[192:]) == proof
    assert Proof.from_snarkjs(json.loads(json.dumps(proof.to_snarkjs()))) == proof


def test_a_signed_result_carries_its_proof_and_is_checked_against_the_history(
    artefacts: snarkjs.Artefacts, work: Path
) -> None:
    """The proof rides in the result's CBOR (§2) and is checked against the verifier's own
    months history (§3): the result's claims, never its index or old root."""
    from drey.crypto.poseidon import field_to_bytes
    from drey.messages.result import Proof as ProofMap
    from drey.messages.result import Result
    from drey.proofs import check_result_proof, decode_proof, encode_proof

    secret = bytes([9]) * 32
    actuary = xonly_public_key(secret)
    history = MonthsTree.empty(depth=snarkjs.DEPTH).append(777)
    claim, inputs = _claim(history, "2025-02", actuary=actuary)
    proof_json, _ = snarkjs.prove(artefacts, inputs, work / "result")
    result = Result(
        month="2025-02", round=0, actuary=actuary,
        month_root=field_to_bytes(claim.month_root), n_rows=claim.n_rows,
        months_root=field_to_bytes(claim.new_root),
        proof=encode_proof(Proof.from_snarkjs(proof_json)),
    ).signed(secret)  # fmt: skip
    decoded = Result.deserialize(result.serialize())
    assert decoded == result and decode_proof(decoded.proof) == Proof.from_snarkjs(proof_json)
    verifier = Verifier(VerifyingKey.from_snarkjs(artefacts.vk()))

    def check(r: Result, h: MonthsTree = history) -> tuple[bool, str | None]:
        checked = check_result_proof(r, history=h, first_month="2025-01", verifier=verifier)
        return checked.ok, checked.verdict.reason

    assert check(decoded) == (True, None)
    wrong_root = replace(decoded, months_root=field_to_bytes(claim.old_root))
    assert check(wrong_root) == (False, "pairing_failed")
    other_history = MonthsTree.empty(depth=snarkjs.DEPTH).append(778)
    assert check(decoded, other_history) == (False, "pairing_failed")
    assert check(replace(decoded, proof=ProofMap("recompute"))) == (False, "wrong_system")
    extra = ProofMap(decoded.proof.system, (*decoded.proof.extra, ("d", b"")))
    assert check(replace(decoded, proof=extra)) == (False, "malformed")
