"""The warm prover (zk/prover.py): one Node process proves statement after statement with the
real snarkjs; every proof verifies under drey's verifier, the same seed gives the same proof
(another seed another), queued proofs come back in order, and a statement that is not true is
refused without losing the process."""

from __future__ import annotations

import pytest

from drey.crypto.groth16 import Verifier, VerifyingKey
from drey.crypto.poseidon import poseidon2
from drey.merkle import MonthsTree
from drey.proofs import MonthsAppend, statement, witness
from zk.prover import ProverError, WarmProver

from ..drey.crypto import snarkjs


def _claim(history: MonthsTree, actuary: bytes, *, new_root: int | None = None) -> MonthsAppend:
    root = history.with_leaf(0, poseidon2(5, 2)).root if new_root is None else new_root
    return statement(
        history, first_month="2025-01", month="2025-01", round_=0, actuary=actuary,
        month_root=5, n_rows=2, new_root=root,
    )  # fmt: skip


def test_a_warm_prover_proves_in_turn_and_survives_a_false_statement() -> None:
    art = snarkjs.build()
    verifier = Verifier(VerifyingKey.from_snarkjs(art.vk()))
    history = MonthsTree.empty(depth=snarkjs.DEPTH)
    siblings = witness(history, 0)
    claims = [_claim(history, bytes(32)), _claim(history, bytes([7]) * 32)]
    with WarmProver(art.wasm, art.zkey) as prover:
        tickets = [prover.submit(c, siblings, bytes([i]) * 32) for i, c in enumerate(claims)]
        proofs = [t.result() for t in reversed(tickets)][::-1]
        for claim, proof in zip(claims, proofs, strict=True):
            assert verifier.verify(proof, claim.public_inputs()).ok
        assert prover.prove(claims[0], siblings, bytes(32)) == proofs[0]
        assert prover.prove(claims[0], siblings, bytes([9]) * 32) != proofs[0]
        false = _claim(history, bytes(32), new_root=12345)
        with pytest.raises(ProverError, match="refused"):
            prover.prove(false, siblings, bytes(32))
        again = prover.prove(claims[1], siblings, bytes([1]) * 32)
        assert again == proofs[1]
