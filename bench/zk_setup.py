"""The devnet's proof system at its months depth (7): circuit size, the phase-2 ceremony step by
step, the warehouse's setup audit, proving in the warm prover, and verification by this
project's verifier beside snarkjs's (warm, one Node process) on the same proofs.

    uv run python bench/zk_setup.py [--contributors 3] [--proofs 10] [--depth 7]

Everything runs in a scratch directory under var/zk/bench-setup (nothing cached is reused but
the compiled circuit and the phase-1 file).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import time

from drey.crypto.groth16 import Verifier, VerifyingKey
from drey.crypto.poseidon import poseidon2
from drey.merkle import MonthsTree
from drey.proofs import statement, witness
from zk import ptau, setup
from zk.circuit import compile_circuit, constraint_count
from zk.prover import WarmProver
from zk.toolchain import REPO, WORK, node


def timed(label: str, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    print(f"{label}: {time.perf_counter() - t:.2f} s", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--depth", type=int, default=7)
    ap.add_argument("--contributors", type=int, default=3)
    ap.add_argument("--proofs", type=int, default=10)
    args = ap.parse_args()
    work = WORK / "bench-setup"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    circuit = compile_circuit(args.depth)
    print(f"depth {args.depth}: {constraint_count(circuit.r1cs)} constraints")
    phase1 = ptau.build(12)
    timed("zkey new (groth16 setup)", setup.zero_key, circuit.r1cs, phase1, work / "k0.zkey")
    for i in range(1, args.contributors + 1):
        timed(f"contribution {i}", setup.contribute, work / f"k{i - 1}.zkey", work / f"k{i}.zkey",
              name=f"c{i}", seed=bytes([i]) * 32)  # fmt: skip
    final = work / "final.zkey"
    timed("beacon (2^10)", setup.beacon, work / f"k{args.contributors}.zkey", final,
          block_hash=bytes(32), iterations=10, name="beacon")  # fmt: skip
    print(f"zkey {final.stat().st_size / 1e6:.2f} MB")
    audit = timed("zkey verify (the warehouse's audit)", setup.audit, circuit.r1cs, phase1, final)
    assert audit.ok and len(audit.contributions) == args.contributors + 1
    vk = setup.export_vk(final)
    (work / "vk.json").write_text(json.dumps(vk))

    history = MonthsTree.empty(depth=args.depth).append(poseidon2(1, 2))
    claims = [
        statement(history, first_month="2025-01", month="2025-02", round_=r, actuary=bytes(32),
                  month_root=5, n_rows=2, new_root=history.append(poseidon2(5, 2)).root)
        for r in range(args.proofs)
    ]  # fmt: skip
    siblings = witness(history, 1)
    with WarmProver(circuit.wasm, final) as prover:
        prover.prove(claims[0], siblings, bytes(32))  # warm-up: loads the key
        times, proofs = [], []
        for i, claim in enumerate(claims):
            t = time.perf_counter()
            proofs.append(prover.prove(claim, siblings, bytes([i]) * 32))
            times.append(time.perf_counter() - t)
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"prove (warm): median {statistics.median(times):.2f} s over {len(times)}; "
          f"peak RSS of the Node children {rss:.0f} MB")  # fmt: skip

    verifier = Verifier(VerifyingKey.from_snarkjs(vk))
    ours = []
    for _ in range(20):
        for claim, proof in zip(claims, proofs, strict=True):
            t = time.perf_counter()
            assert verifier.verify(proof, claim.public_inputs()).ok
            ours.append(time.perf_counter() - t)
    lines = "".join(
        json.dumps({"public": [str(x) for x in c.public_inputs()], "proof": p.to_snarkjs()}) + "\n"
        for c, p in zip(claims * 20, proofs * 20, strict=True)
    )
    t = time.perf_counter()
    done = subprocess.run([node(), "circuits/verify.cjs", str(work / "vk.json")], cwd=REPO,
                          input=lines, capture_output=True, text=True, check=True)  # fmt: skip
    total = time.perf_counter() - t
    assert done.stdout.split() == ["true"] * len(claims) * 20
    print(f"verify: drey (mcl) median {statistics.median(ours) * 1000:.2f} ms; snarkjs warm "
          f"{total / (len(claims) * 20) * 1000:.1f} ms a proof ({len(claims) * 20} proofs, "
          f"{total:.1f} s with Node's start)")  # fmt: skip
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
