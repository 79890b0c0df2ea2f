"""The months-append statement of ``groth16-bn254/months-append/v1`` (docs/protocol/proofs.md).

:func:`statement` builds the six public inputs a verifier checks a result's proof against,
from the result's claims and the verifier's own months history; :func:`witness` adds what a
prover needs (the siblings of the month's leaf), from the same history.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from drey.crypto import groth16
from drey.crypto.poseidon import field_from_bytes, poseidon2
from drey.errors import ProtocolError
from drey.merkle import MonthsTree, month_index
from drey.messages.result import Proof, Result

__all__ = [
    "SYSTEM",
    "MonthsAppend",
    "ProofCheck",
    "binding",
    "check_result_proof",
    "decode_proof",
    "encode_proof",
    "statement",
    "witness",
]

SYSTEM = "groth16-bn254/months-append/v1"


@dataclass(frozen=True, slots=True)
class MonthsAppend:
    """The public inputs of §1, in circuit order."""

    index: int
    old_root: int
    month_root: int
    n_rows: int
    new_root: int
    binding: int

    def circuit_input(self, siblings: Sequence[int]) -> dict[str, Any]:
        """The circuit's input (snarkjs's ``input.json``): the public inputs by signal name
        and the prover's ``siblings``, as decimal text."""
        named = {f.name: str(getattr(self, f.name)) for f in fields(self)}
        return {**named, "siblings": [str(s) for s in siblings]}

    def public_inputs(self) -> tuple[int, ...]:
        return (
            self.index,
            self.old_root,
            self.month_root,
            self.n_rows,
            self.new_root,
            self.binding,
        )


def binding(actuary: bytes, month: str, round_: int) -> int:
    """P(P(K_hi, K_lo), P(month_index(M), r)): what ties a proof to its actuary, month and
    round (§1)."""
    if len(actuary) != 32:
        raise ProtocolError(f"an actuary key is 32 bytes, not {len(actuary)}")
    key = poseidon2(int.from_bytes(actuary[:16], "big"), int.from_bytes(actuary[16:], "big"))
    return poseidon2(key, poseidon2(month_index(month), round_))


def statement(
    history: MonthsTree,
    *,
    first_month: str,
    month: str,
    round_: int,
    actuary: bytes,
    month_root: int,
    n_rows: int,
    new_root: int,
) -> MonthsAppend:
    """The public inputs for a result of ``month``: ``history`` is the months tree with every
    month decided before ``month`` (the verifier's, never the result's)."""
    index = month_index(month) - month_index(first_month)
    if not history.size <= index < history.capacity:
        raise ProtocolError(f"month {month} is not the next slot of the months history")
    return MonthsAppend(
        index=index,
        old_root=history.root,
        month_root=month_root,
        n_rows=n_rows,
        new_root=new_root,
        binding=binding(actuary, month, round_),
    )


def witness(history: MonthsTree, index: int) -> tuple[int, ...]:
    """The siblings of leaf ``index`` in ``history`` (skipped months before it are 0)."""
    filled = history if index == history.size else history.with_leaf(index - 1, 0)
    return filled.append_siblings()


_PROOF_PARTS = (("a", 64), ("b", 128), ("c", 64))


def encode_proof(proof: groth16.Proof) -> Proof:
    """A result's ``proof`` map for this system (§2)."""
    wire = proof.to_bytes()
    return Proof(SYSTEM, (("a", wire[:64]), ("b", wire[64:192]), ("c", wire[192:])))


def decode_proof(proof: Proof) -> groth16.Proof:
    """The Groth16 proof in a result's ``proof`` map; :class:`~drey.crypto.groth16.ProofError`
    when the map is not exactly ``{system, a, b, c}`` of this system or a point is invalid."""
    if proof.system != SYSTEM:
        raise groth16.ProofError("wrong_system", f"system {proof.system!r} is not {SYSTEM}")
    extra = dict(proof.extra)
    if set(extra) != {name for name, _ in _PROOF_PARTS}:
        raise groth16.ProofError("malformed", f"proof keys are {sorted(extra)}, not a, b, c")
    parts: list[bytes] = []
    for name, size in _PROOF_PARTS:
        value = extra[name]
        if not isinstance(value, bytes) or len(value) != size:
            raise groth16.ProofError("malformed", f"proof.{name} is not {size} bytes")
        parts.append(value)
    return groth16.Proof.from_parts(*parts)


@dataclass(frozen=True, slots=True)
class ProofCheck:
    """A result's proof as the verifier checked it: the system it names, the public inputs
    the verifier built (``None`` when the statement could not be built), the 256-byte proof
    (``None`` when it did not decode), the verdict and the time the check took."""

    system: str
    inputs: tuple[int, ...] | None
    proof: groth16.Proof | None
    verdict: groth16.Verdict
    seconds: float = field(default=0.0, compare=False)

    @property
    def ok(self) -> bool:
        return self.verdict.ok


def check_result_proof(
    result: Result,
    *,
    history: MonthsTree,
    first_month: str,
    verifier: groth16.Verifier | str,
) -> ProofCheck:
    """Whether ``result``'s proof proves its own claims (month_root, n_rows, months_root)
    appended to ``history``, the verifier's months tree before the result's month (§3).
    ``verifier`` is a string when the circuit could not be loaded: every check then fails
    with ``circuit_unavailable`` and that reason."""
    started = time.perf_counter()
    system = result.proof.system
    try:
        claim = statement(
            history,
            first_month=first_month,
            month=result.month,
            round_=result.round,
            actuary=result.actuary,
            month_root=field_from_bytes(result.month_root),
            n_rows=result.n_rows,
            new_root=field_from_bytes(result.months_root),
        )
    except ProtocolError as exc:
        verdict = groth16.Verdict(False, "input_out_of_range", str(exc))
        return ProofCheck(system, None, None, verdict, time.perf_counter() - started)
    inputs = claim.public_inputs()
    try:
        proof = decode_proof(result.proof)
    except groth16.ProofError as exc:
        verdict = groth16.Verdict(False, exc.reason, exc.detail)
        return ProofCheck(system, inputs, None, verdict, time.perf_counter() - started)
    if isinstance(verifier, str):
        verdict = groth16.Verdict(False, "circuit_unavailable", verifier)
    else:
        verdict = verifier.verify(proof, inputs)
    return ProofCheck(system, inputs, proof, verdict, time.perf_counter() - started)
