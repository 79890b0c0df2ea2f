"""Proving months-append statements for the devnet's actuaries (docs/protocol/proofs.md).

:class:`WarmProver` keeps one Node process with snarkjs loaded (``circuits/prover.cjs``) and
proves one statement per call, which saves Node's start-up and snarkjs's loading on every
proof (the command line pays them each time). The circuit's ``.wasm`` and final ``.zkey`` come
from the setup; circom's witness generator runs inside snarkjs, so nothing else is needed.

Limits: one proof at a time per process (snarkjs uses its own worker threads); a proof that
snarkjs refuses (inputs that do not satisfy the circuit) is a :class:`ProverError` naming it.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from devnet.errors import DevnetError
from drey.crypto.groth16 import Proof
from drey.proofs import MonthsAppend

REPO = Path(__file__).resolve().parents[1]
PROVER_SCRIPT = REPO / "circuits" / "prover.cjs"


class ProverError(DevnetError):
    """snarkjs could not prove a statement, or the prover process is gone."""


class WarmProver:
    """``with WarmProver(wasm, zkey) as prover: proof = prover.prove(statement, siblings)``."""

    def __init__(self, wasm: Path, zkey: Path, *, node: str = "node") -> None:
        self._proc = subprocess.Popen(
            [node, str(PROVER_SCRIPT), str(wasm), str(zkey)],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def prove(self, statement: MonthsAppend, siblings: Sequence[int]) -> tuple[Proof, list[str]]:
        """The proof of ``statement`` with the prover's ``siblings``, and snarkjs's public
        signals (which must be the statement's inputs, in order)."""
        answer = self._ask(statement.circuit_input(siblings))
        if "error" in answer:
            raise ProverError(f"snarkjs refused the statement: {answer['error']}")
        public = [str(x) for x in answer["public"]]
        if public != [str(x) for x in statement.public_inputs()]:
            raise ProverError("snarkjs proved other public inputs than the statement's")
        return Proof.from_snarkjs(answer["proof"]), public

    def _ask(self, inputs: dict[str, Any]) -> dict[str, Any]:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        try:
            self._proc.stdin.write(json.dumps(inputs) + "\n")
            self._proc.stdin.flush()
            line = self._proc.stdout.readline()
        except BrokenPipeError:
            line = ""
        if not line:
            err = self._proc.stderr.read() if self._proc.stderr else ""
            raise ProverError(f"the prover process ended: {err.strip()[-500:]}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def close(self) -> None:
        if self._proc.poll() is None:
            assert self._proc.stdin is not None
            self._proc.stdin.close()
            try:
                self._proc.wait(30)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()

    def __enter__(self) -> WarmProver:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
