"""Groth16 verification of one months-append proof: this project's verifier (mcl) beside
py_ecc (pure Python) and the snarkjs command line, on the same proof and key.

    uv run python bench/proofs.py [--repeat 200]

Uses the tests' depth-1 circuit (tests/drey/crypto/snarkjs.py builds and caches it under
var/zk/): verification costs the same at any depth, since it depends only on the six public
inputs, never on the circuit's size.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from drey.crypto.groth16 import Proof, Verifier, VerifyingKey
from drey.merkle import MonthsTree

sys.path.insert(0, str(Path(__file__).parents[1]))
from tests.drey.crypto import snarkjs
from tests.drey.crypto.test_groth16 import _claim, _py_ecc_verifies


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=200)
    args = ap.parse_args()
    art = snarkjs.build()
    work = snarkjs.REPO / "var" / "zk" / "bench"
    claim, inputs = _claim(MonthsTree.empty(depth=snarkjs.DEPTH), "2025-01")
    proof_json, public = snarkjs.prove(art, inputs, work)
    key = VerifyingKey.from_snarkjs(art.vk())
    proof = Proof.from_snarkjs(proof_json)
    verifier = Verifier(key)
    times = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        assert verifier.verify(proof, claim.public_inputs()).ok
        times.append(time.perf_counter() - t)
    print(f"drey (mcl, BN_SNARK1): median {statistics.median(times) * 1e3:.2f} ms of {args.repeat}")
    t = time.perf_counter()
    assert _py_ecc_verifies(key, proof, claim.public_inputs())
    print(f"py_ecc (pure Python): {time.perf_counter() - t:.2f} s")
    cli = []
    for _ in range(3):
        t = time.perf_counter()
        assert snarkjs.snarkjs_verifies(art.vk(), public, proof_json, work / "cli")
        cli.append(time.perf_counter() - t)
    print(
        f"snarkjs groth16 verify (command line, Node start included): median {statistics.median(cli):.2f} s"
    )


if __name__ == "__main__":
    main()
