"""The proof toolchain of ``groth16-bn254/months-append/v1`` (docs/protocol/proofs.md): circom 2
and snarkjs from ``node_modules`` (``make bootstrap``), driven from Python.

- :mod:`zk.toolchain`: where the tools are, and running them;
- :mod:`zk.ptau`: phase 1, built once per machine by a reproducible script and pinned by hash;
- :mod:`zk.circuit`: the circuit for a months depth, compiled, and its flattened source;
- :mod:`zk.setup`: phase 2 (the zero key, seeded contributions, the beacon, the exported
  verification key) and the ceremony audit (``zkey verify``, the contribution hashes);
- :mod:`zk.prover`: a warm prover, one Node process for many proofs.

The protocol library (:mod:`drey`) verifies proofs on its own; this package is what producing
and auditing need, and it imports only :mod:`drey`'s statement and proof types.
"""
