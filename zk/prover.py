"""A warm Groth16 prover (docs/protocol/proofs.md): one Node process with snarkjs loaded
(``circuits/prover.cjs``) proves statement after statement, saving Node's start-up and snarkjs's
loading on every proof (the command line pays them each time).

:meth:`WarmProver.submit` queues a statement and returns at once; :meth:`Ticket.result` waits
for its proof. Requests are answered in order, so a caller can queue a month's proofs early and
do other work while they are made. Each request carries a 32-byte seed for the proof's
randomisers (``circuits/seeded.cjs``): the same seed and statement give the same proof.

Limits: one proof at a time per process (snarkjs spreads each proof over its worker threads); a
statement the circuit does not satisfy is a :class:`ProverError` naming it.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from drey.crypto.groth16 import Proof
from drey.proofs import MonthsAppend
from zk.errors import ZkError
from zk.toolchain import REPO, node

__all__ = ["ProverError", "Ticket", "WarmProver"]

PROVER_SCRIPT = REPO / "circuits" / "prover.cjs"


class ProverError(ZkError):
    """snarkjs could not prove a statement, or the prover process is gone."""


class Ticket:
    """A queued proof: :meth:`result` waits for it (answers arrive in submission order) and
    keeps it."""

    def __init__(self, prover: WarmProver, number: int, statement: MonthsAppend) -> None:
        self._prover = prover
        self.number = number
        self.statement = statement
        self._proof: Proof | None = None

    def result(self) -> Proof:
        """The proof (waits for it the first time; kept for later calls)."""
        if self._proof is None:
            self._proof = self._prover._answer(self)
        return self._proof


class WarmProver:
    """``with WarmProver(wasm, zkey) as prover: proof = prover.prove(statement, siblings, seed)``."""

    def __init__(self, wasm: Path, zkey: Path) -> None:
        self._proc = subprocess.Popen(
            [node(), str(PROVER_SCRIPT), str(wasm), str(zkey)],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._sent = 0
        self._answers: dict[int, dict[str, Any]] = {}
        self._read = 0

    def submit(self, statement: MonthsAppend, siblings: Sequence[int], seed: bytes) -> Ticket:
        assert self._proc.stdin is not None
        request = {"seed": seed.hex(), "input": statement.circuit_input(siblings)}
        try:
            self._proc.stdin.write(json.dumps(request) + "\n")
            self._proc.stdin.flush()
        except BrokenPipeError:
            self._gone()
        self._sent += 1
        return Ticket(self, self._sent, statement)

    def prove(self, statement: MonthsAppend, siblings: Sequence[int], seed: bytes) -> Proof:
        return self.submit(statement, siblings, seed).result()

    def _answer(self, ticket: Ticket) -> Proof:
        assert self._proc.stdout is not None
        while ticket.number not in self._answers:
            line = self._proc.stdout.readline()
            if not line:
                self._gone()
            self._read += 1
            self._answers[self._read] = json.loads(line)
        answer = self._answers.pop(ticket.number)
        if "error" in answer:
            raise ProverError(f"snarkjs refused the statement: {answer['error']}")
        public = [str(x) for x in answer["public"]]
        if public != [str(x) for x in ticket.statement.public_inputs()]:
            raise ProverError("snarkjs proved other public inputs than the statement's")
        return Proof.from_snarkjs(answer["proof"])

    def _gone(self) -> None:
        err = self._proc.stderr.read() if self._proc.stderr else ""
        raise ProverError(f"the prover process ended: {err.strip()[-500:]}")

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
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
