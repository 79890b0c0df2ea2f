"""Phase 2 of the trusted setup (docs/protocol/proofs.md §5) and its audit.

The steps, each one snarkjs call: :func:`zero_key` (``groth16 setup``: the circuit's key before
any contribution), :func:`contribute` (one party's step; the devnet seeds its randomness from
the actuary's secret through ``circuits/contribute.cjs``, so reruns are identical),
:func:`beacon` (the last step, on a block hash nobody could choose) and :func:`export_vk`.
:func:`audit` runs ``zkey verify`` (the key follows from the r1cs and the phase-1 file through
the recorded contributions) and reads back the contributions it lists, in order.

Limits: ``zkey verify`` takes tens of seconds (38 s measured at depth 7 on a busy machine);
callers cache its answer by the hashes of its three inputs.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zk.errors import StepError
from zk.toolchain import REPO, node, run, snarkjs

__all__ = ["Audit", "AuditedContribution", "audit", "beacon", "contribute", "export_vk", "zero_key"]

CONTRIBUTE_SCRIPT = REPO / "circuits" / "contribute.cjs"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def zero_key(r1cs: Path, ptau: Path, out: Path) -> None:
    snarkjs("groth16", "setup", str(r1cs), str(ptau), str(out))


def contribute(before: Path, after: Path, *, name: str, seed: bytes) -> bytes:
    """One contribution with randomness seeded by ``seed`` (32 bytes); its 64-byte hash."""
    if len(seed) != 32:
        raise StepError("a contribution seed is 32 bytes")
    out = run([node(), str(CONTRIBUTE_SCRIPT), str(before), str(after), name, seed.hex()],
              what=f"zkey contribute ({name})")  # fmt: skip
    return bytes.fromhex(out.strip().splitlines()[-1])


def beacon(before: Path, after: Path, *, block_hash: bytes, iterations: int, name: str) -> None:
    """The final step: ``zkey beacon`` on ``block_hash`` (as the node displays it), 2^iterations."""
    snarkjs(
        "zkey", "beacon", str(before), str(after), block_hash.hex(), str(iterations), f"-n={name}"
    )


def export_vk(zkey: Path) -> dict[str, Any]:
    """The key's ``verification_key.json``."""
    out = zkey.with_suffix(".vk.json")
    snarkjs("zkey", "export", "verificationkey", str(zkey), str(out))
    value: dict[str, Any] = json.loads(out.read_text())
    out.unlink()
    return value


@dataclass(frozen=True, slots=True)
class AuditedContribution:
    """One contribution as ``zkey verify`` lists it: its number from 1, name and hash; for a
    beacon, the hash it hashed and its iterations."""

    number: int
    name: str
    hash: bytes
    beacon: bytes | None = None
    iterations: int | None = None


@dataclass(frozen=True, slots=True)
class Audit:
    """``ok``: the zkey follows from the r1cs and the phase-1 file; the contributions in
    order; ``detail`` snarkjs's complaint when not ok."""

    ok: bool
    contributions: tuple[AuditedContribution, ...]
    detail: str = ""


def audit(r1cs: Path, ptau: Path, zkey: Path) -> Audit:
    """``snarkjs zkey verify`` and the contributions it reports."""
    try:
        out = snarkjs("zkey", "verify", str(r1cs), str(ptau), str(zkey))
    except StepError as exc:
        return Audit(False, (), _ANSI.sub("", str(exc))[-500:])
    text = _ANSI.sub("", out)
    return Audit(
        "ZKey Ok!" in text, _contributions(text), "" if "ZKey Ok!" in text else text[-500:]
    )


_HEAD = re.compile(r"contribution #(\d+) ?(.*?):\s*$")


def _contributions(text: str) -> tuple[AuditedContribution, ...]:
    found: list[AuditedContribution] = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        head = _HEAD.search(line)
        if head is None:
            continue
        digest = "".join("".join(lines[i + 1 + k].split()) for k in range(4))
        generator = iterations = None
        for follow in lines[i + 5 : i + 8]:
            if "Beacon generator:" in follow:
                generator = bytes.fromhex(follow.rsplit(":", 1)[1].strip())
            elif "Beacon iterations Exp:" in follow:
                iterations = int(follow.rsplit(":", 1)[1])
        found.append(
            AuditedContribution(int(head[1]), head[2], bytes.fromhex(digest), generator, iterations)
        )
    return tuple(sorted(found, key=lambda c: c.number))
