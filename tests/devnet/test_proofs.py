"""The devnet's warm prover (devnet/proofs.py): one Node process proves statement after
statement with the real snarkjs; every proof verifies under drey's verifier, and a statement
that is not true is refused without losing the process."""

from __future__ import annotations

import pytest

from devnet.proofs import ProverError, WarmProver
from drey.crypto.groth16 import Verifier, VerifyingKey
from drey.crypto.poseidon import poseidon2
from drey.merkle import MonthsTree
from drey.proofs import statement, witness

from ..drey.crypto import snarkjs


def test_a_warm_prover_proves_in_turn_and_survives_a_false_statement() -> None:
    art = snarkjs.build()
    verifier = Verifier(VerifyingKey.from_snarkjs(art.vk()))
    history = MonthsTree.empty(depth=snarkjs.DEPTH)
    with WarmProver(art.wasm, art.zkey) as prover:
        for month, actuary in (("2025-01", bytes(32)), ("2025-01", bytes([7]) * 32)):
            new_root = history.with_leaf(0, poseidon2(5, 2)).root
            claim = statement(
                history, first_month="2025-01", month=month, round_=0, actuary=actuary,
                month_root=5, n_rows=2, new_root=new_root,
            )  # fmt: skip
            proof, public = prover.prove(claim, witness(history, 0))
            assert public == [str(x) for x in claim.public_inputs()]
            assert verifier.verify(proof, claim.public_inputs()).ok
        false = statement(
            history, first_month="2025-01", month="2025-01", round_=0, actuary=bytes(32),
            month_root=5, n_rows=2, new_root=12345,
        )  # fmt: skip
        with pytest.raises(ProverError, match="refused"):
            prover.prove(false, witness(history, 0))
        again, _ = prover.prove(claim, witness(history, 0))
        assert verifier.verify(again, claim.public_inputs()).ok
