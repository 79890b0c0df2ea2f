"""The setup audit's transcript check (pipelines/setup_audit.py, step 5): the contributions
``zkey verify`` lists inside the final key must be, in order, the chain's contribution messages
and then one beacon on the beacon block's hash with the manifest's iterations; each mismatch
is named. (The whole audit, snarkjs included, runs in the end-to-end test.)"""

from __future__ import annotations

from dataclasses import replace

import pytest

from drey.messages.circuit import Beacon, CircuitContribution, CircuitManifest, FileRef, PtauRef
from drey.rules import PositionedMessage
from pipelines.setup_audit import _transcript_problem
from zk.setup import AuditedContribution

BEACON_HASH = "ab" * 32
REF = FileRef(b"\x01" * 32, ("cd" * 32 + "i0",))
MANIFEST = CircuitManifest(
    system="groth16-bn254/months-append/v1", months_depth=7, source=REF, r1cs_sha256=bytes(32),
    wasm_sha256=bytes(32), ptau=PtauRef(bytes(32), 12), zkey=REF, vk=REF,
    contributions=("ee" * 32 + "i0", "ff" * 32 + "i0"), beacon=Beacon(302, 10),
)  # fmt: skip


def _step(n: int) -> PositionedMessage:
    msg = CircuitContribution(bytes([n]) * 32, n, bytes(32), bytes([n]) * 64)
    return PositionedMessage(302, n, 0, f"{n:064x}i0", bytes(32), bytes(36), msg)


STEPS = [_step(1), _step(2)]
LISTED = [
    AuditedContribution(1, "actuary 1", bytes([1]) * 64),
    AuditedContribution(2, "actuary 2", bytes([2]) * 64),
    AuditedContribution(3, "beacon", bytes(64), bytes.fromhex(BEACON_HASH), 10),
]


def test_a_transcript_that_is_the_chains_passes() -> None:
    assert _transcript_problem(MANIFEST, STEPS, BEACON_HASH, LISTED) is None


@pytest.mark.parametrize(
    ("listed", "beacon_hash", "problem"),
    [
        (LISTED[1:], BEACON_HASH, "the key holds 2 contributions; the chain has 2 and a beacon"),
        ([LISTED[1], LISTED[0], LISTED[2]], BEACON_HASH, "contribution 1: the key's hash"),
        (LISTED, "cd" * 32, "the beacon hashed " + BEACON_HASH),
        (
            [*LISTED[:2], replace(LISTED[2], iterations=11)],
            BEACON_HASH,
            "the beacon ran 2^11 iterations",
        ),
    ],
)
def test_each_mismatch_is_named(
    listed: list[AuditedContribution], beacon_hash: str, problem: str
) -> None:
    found = _transcript_problem(MANIFEST, STEPS, beacon_hash, listed)
    assert found is not None and found.startswith(problem)
