"""The proof system's setup on the devnet (docs/protocol/proofs.md §4, §5): the circuit for the
params' months depth, phase 2 by every roster actuary in roster order (seeded by the actuary's
secret, so a seed's run is byte-identical), the beacon on a block hash, and the files the
circuit manifest inscribes.

The steps are cached under ``var/zk/ceremony-<hash>`` (the hash covers every input: the r1cs,
the phase-1 file, the contributors' seeds and the beacon's block hash), since a contribution
costs seconds and the zero key tens of seconds.

Limits: the phase-1 file is the devnet's reproducible one (:mod:`zk.ptau`), whose trapdoor is
public; the devnet is a test network. A months depth needs a circuit of at most 2^power
constraints: depth ≤ 7 fits power 12 (3,622 constraints at depth 7).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zk import ptau as phase1
from zk import setup
from zk.circuit import CompiledCircuit, compile_circuit, constraint_count
from zk.toolchain import WORK, sha256_file

__all__ = ["BEACON_ITERATIONS", "Contributor", "SetupFiles", "build_circuit", "finish", "phase2"]

BEACON_ITERATIONS = 10


def ptau_power(depth: int) -> int:
    """The smallest pinned phase-1 power that holds the circuit at ``depth``."""
    constraints = 241 + 483 * depth  # measured: 724 at depth 1, 3,622 at 7, 7,969 at 16
    for power in sorted(phase1.PINNED):
        if constraints + 8 <= 2**power:
            return power
    raise ValueError(
        f"no pinned phase-1 file holds months_depth {depth} (~{constraints} constraints)"
    )


@dataclass(frozen=True, slots=True)
class Contributor:
    """A roster actuary's phase-2 step: its index, key and 32-byte seed."""

    index: int
    key: bytes
    seed: bytes


@dataclass(frozen=True, slots=True)
class Step:
    """A contribution made: who, the key's sha256 after it, and snarkjs's contribution hash."""

    index: int
    key: bytes
    zkey_sha256: bytes
    contribution_hash: bytes


@dataclass(frozen=True, slots=True)
class SetupFiles:
    """Everything the manifest names, and what the devnet's provers use."""

    circuit: CompiledCircuit
    ptau_sha256: bytes
    ptau_power: int
    steps: tuple[Step, ...]
    zkey: Path
    vk: dict[str, Any]

    @property
    def source(self) -> bytes:
        return self.circuit.source.read_bytes()

    @property
    def vk_bytes(self) -> bytes:
        return json.dumps(self.vk, indent=1).encode()


def build_circuit(depth: int) -> tuple[CompiledCircuit, Path, int]:
    """The compiled circuit, the phase-1 file it is keyed with, and that file's power."""
    power = ptau_power(depth)
    circuit = compile_circuit(depth)
    assert constraint_count(circuit.r1cs) + 8 <= 2**power
    return circuit, phase1.build(power), power


def _cache(*parts: bytes) -> Path:
    h = hashlib.sha256()
    for part in parts:
        h.update(hashlib.sha256(part).digest())
    return WORK / f"ceremony-{h.hexdigest()[:16]}"


def phase2(depth: int, contributors: Sequence[Contributor]) -> tuple[Path, tuple[Step, ...]]:
    """The zero key and every contribution in order: the key after the last, and the steps."""
    circuit, ptau, _ = build_circuit(depth)
    inputs = [sha256_file(circuit.r1cs), sha256_file(ptau)]
    inputs += [c.key + c.seed + bytes([c.index]) for c in contributors]
    root = _cache(*inputs)
    record = root / "steps.json"
    if record.exists():
        saved = json.loads(record.read_text())
        steps = tuple(Step(s["index"], bytes.fromhex(s["key"]), bytes.fromhex(s["zkey"]),
                           bytes.fromhex(s["hash"])) for s in saved)  # fmt: skip
        return root / "contributed.zkey", steps
    tmp = root.with_name(root.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    setup.zero_key(circuit.r1cs, ptau, tmp / "key-0.zkey")
    steps: list[Step] = []
    for n, c in enumerate(contributors, start=1):
        after = tmp / f"key-{n}.zkey"
        digest = setup.contribute(tmp / f"key-{n - 1}.zkey", after, name=f"actuary {c.index}",
                                  seed=c.seed)  # fmt: skip
        (tmp / f"key-{n - 1}.zkey").unlink()
        steps.append(Step(c.index, c.key, sha256_file(after), digest))
    (tmp / f"key-{len(contributors)}.zkey").rename(tmp / "contributed.zkey")
    saved = [{"index": s.index, "key": s.key.hex(), "zkey": s.zkey_sha256.hex(),
              "hash": s.contribution_hash.hex()} for s in steps]  # fmt: skip
    (tmp / "steps.json").write_text(json.dumps(saved))
    shutil.rmtree(root, ignore_errors=True)
    tmp.rename(root)
    return root / "contributed.zkey", tuple(steps)


def finish(
    depth: int, contributed: Path, steps: tuple[Step, ...], *, block_hash: bytes
) -> SetupFiles:
    """The beacon on ``block_hash`` (display order) and the exported verification key."""
    circuit, ptau, power = build_circuit(depth)
    final = contributed.with_name(f"final-{block_hash.hex()[:16]}.zkey")
    vk_path = final.with_suffix(".vk.json")
    if not vk_path.exists():
        tmp = final.with_suffix(".tmp")
        setup.beacon(contributed, tmp, block_hash=block_hash, iterations=BEACON_ITERATIONS,
                     name="beacon")  # fmt: skip
        vk = setup.export_vk(tmp)
        tmp.rename(final)
        vk_path.write_text(json.dumps(vk))
    return SetupFiles(
        circuit=circuit,
        ptau_sha256=sha256_file(ptau),
        ptau_power=power,
        steps=steps,
        zkey=final,
        vk=json.loads(vk_path.read_text()),
    )
