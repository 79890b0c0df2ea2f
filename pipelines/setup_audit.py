"""The warehouse's audit of a circuit manifest's trusted setup (docs/protocol/proofs.md §5).

For each parsed ``circuit`` manifest, in order, the first step that fails is the row's
``setup_detail`` (``setup_verified`` false):

1. the manifest is founder-signed (its message status is ``valid``);
2. its source, final key and verification key assemble from their inscribed parts and hash to
   the manifest's sha256s;
3. circom 2 compiles the source to the manifest's r1cs and wasm hashes;
4. ``snarkjs zkey verify`` accepts the key against that r1cs and the phase-1 file pinned by
   ``ptau`` (when this machine has no file of that hash, ``setup_verified`` is NULL and the
   detail says how to get one: the audit could not run, which is not a finding);
5. the beacon's block is at or after every contribution's (else it could be chosen), and the
   contributions snarkjs lists inside the key are, in order, those of the manifest's
   ``circuit_contribution`` messages (each valid: signed by its roster member, listed at its
   index), then one beacon on the hash of the block at ``beacon.height`` with its iterations;
6. the verification key is the final key's.

Not checked: the intermediate keys' sha256 in each contribution message (only the final key is
on chain). Results are cached by every input's hash in the warehouse's state, since steps 3–4
take tens of seconds at depth 7.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa

from drey.formula import AssemblyFailure, assemble_parts
from drey.messages import Params
from drey.messages.circuit import CircuitContribution, CircuitManifest, FileRef
from drey.rules import Evaluation, PositionedMessage
from pipelines.evaluation import PART_COLUMNS, circuit_part_ids, part_inscriptions
from pipelines.sources import read_inscriptions_by_id
from zk import ptau as phase1
from zk import setup
from zk.circuit import compile_circuit
from zk.errors import ZkError
from zk.toolchain import WORK, sha256_file

__all__ = ["audit_manifests"]

AUDIT_STATE = "setup_audits"
FILE_TYPES = {"source": "text/plain", "zkey": "application/octet-stream", "vk": "application/json"}


class StateCache(Protocol):
    def load_state(self, name: str, default: Any = None) -> Any: ...
    def save_state(self, name: str, value: Any) -> Path: ...


def audit_manifests(
    messages: Sequence[PositionedMessage],
    evaluation: Evaluation,
    *,
    blocks: pa.Table,
    shards: Path,
    cache: StateCache,
) -> list[dict[str, Any]]:
    """One ``proof_systems`` row per parsed circuit manifest, in chain order."""
    manifests = [pm for pm in messages if isinstance(pm.message, CircuitManifest)]
    if not manifests:
        return []
    heights, block_hashes = blocks.column("height").to_pylist(), blocks.column("hash").to_pylist()
    hashes = dict(zip(heights, block_hashes, strict=True))
    by_id = {pm.inscription_id: pm for pm in messages}
    parts = {
        p.inscription_id: p
        for p in part_inscriptions(
            read_inscriptions_by_id(
                shards, circuit_part_ids(manifests, files=tuple(FILE_TYPES)), columns=PART_COLUMNS
            )
        )
    }
    named: dict[str, list[str]] = {}
    for pm in messages:
        status = evaluation.by_id.get(pm.inscription_id)
        if (
            isinstance(pm.message, Params)
            and pm.message.circuit
            and status
            and status.status == "valid"
        ):
            named.setdefault(pm.message.circuit, []).append(pm.inscription_id)
    saved: dict[str, dict[str, Any]] = cache.load_state(AUDIT_STATE) or {}
    rows, kept = [], {}
    for pm in manifests:
        manifest = pm.message
        assert isinstance(manifest, CircuitManifest)
        files = {
            name: _assemble(getattr(manifest, name), FILE_TYPES[name], parts) for name in FILE_TYPES
        }
        steps = [by_id.get(c) for c in manifest.contributions]
        beacon_hash = hashes.get(manifest.beacon.height)
        status = evaluation.by_id.get(pm.inscription_id)
        key = _cache_key(pm, files, steps, beacon_hash, status.status if status else None)
        if key not in saved:
            saved[key] = _audit(
                pm,
                files,
                steps,
                beacon_hash,
                evaluation,
                valid=bool(status and status.status == "valid"),
            )
        kept[key] = saved[key]
        row = _row(pm, manifest, files, steps, beacon_hash, named, kept[key])
        rows.append(row | {"status": status.status if status else "pending"})
    if kept != (cache.load_state(AUDIT_STATE) or {}):
        cache.save_state(AUDIT_STATE, kept)
    return rows


def _assemble(ref: FileRef, content_type: str, parts: Mapping[str, Any]) -> bytes | str:
    found = [parts[p].part if p in parts else None for p in ref.parts]
    data = assemble_parts(ref.parts, ref.sha256, found, content_type=content_type)
    return f"{data.reason}: {data.detail}" if isinstance(data, AssemblyFailure) else data


def _cache_key(
    pm: PositionedMessage,
    files: Mapping[str, bytes | str],
    steps: Sequence[PositionedMessage | None],
    beacon_hash: str | None,
    status: str | None,
) -> str:
    h = hashlib.sha256(pm.inscription_id.encode() + (status or "").encode())
    for value in files.values():
        h.update(hashlib.sha256(value if isinstance(value, bytes) else value.encode()).digest())
    for step in steps:
        h.update((step.inscription_id if step else "-").encode())
    h.update((beacon_hash or "-").encode())
    return h.hexdigest()


def _audit(
    pm: PositionedMessage,
    files: Mapping[str, bytes | str],
    steps: Sequence[PositionedMessage | None],
    beacon_hash: str | None,
    evaluation: Evaluation,
    *,
    valid: bool,
) -> dict[str, Any]:
    """Steps 1–6 of the module docstring: ``{verified, detail, seconds, hashes}``."""
    started = time.perf_counter()
    manifest = pm.message
    assert isinstance(manifest, CircuitManifest)

    def result(verified: bool | None, detail: str, hashes: Sequence[str] = ()) -> dict[str, Any]:
        return {"verified": verified, "detail": detail, "hashes": list(hashes),
                "seconds": time.perf_counter() - started}  # fmt: skip

    if not valid:
        return result(False, "not a founder-signed circuit manifest")
    for name, value in files.items():
        if isinstance(value, str):
            return result(False, f"{name}: {value}")
    for i, step in enumerate(steps):
        status = evaluation.by_id.get(step.inscription_id) if step else None
        if step is None or not isinstance(step.message, CircuitContribution):
            return result(False, f"contribution {i + 1} is not a parsed circuit_contribution")
        if status is None or status.status != "valid":
            return result(False, f"contribution {i + 1} ({step.inscription_id}) is not valid")
    late = [i + 1 for i, step in enumerate(steps) if step and step.height > manifest.beacon.height]
    if late:
        return result(False, f"the beacon block precedes contribution {late[0]}: it was choosable")
    if beacon_hash is None:
        return result(None, f"beacon block {manifest.beacon.height} is not on the chain yet")
    try:
        ptau = phase1.locate(manifest.ptau.sha256, power=manifest.ptau.power)
    except ZkError as exc:
        return result(None, f"audit not run: {exc}")
    with tempfile.TemporaryDirectory(dir=_scratch()) as tmp:
        root = Path(tmp)
        source = files["source"]
        assert isinstance(source, bytes)
        try:
            circuit = compile_circuit(
                manifest.months_depth, source=source.decode(), into=root / "c"
            )
        except (ZkError, UnicodeDecodeError) as exc:
            return result(False, f"the source does not compile: {str(exc)[-300:]}")
        if sha256_file(circuit.r1cs) != manifest.r1cs_sha256:
            return result(False, "the source compiles to another r1cs than the manifest's")
        if sha256_file(circuit.wasm) != manifest.wasm_sha256:
            return result(False, "the source compiles to another wasm than the manifest's")
        zkey = root / "final.zkey"
        zkey.write_bytes(files["zkey"])  # type: ignore[arg-type]
        found = setup.audit(circuit.r1cs, ptau, zkey)
        if not found.ok:
            return result(False, f"zkey verify: {found.detail}")
        problem = _transcript_problem(manifest, steps, beacon_hash, found.contributions)
        if problem:
            return result(False, problem, [c.hash.hex() for c in found.contributions])
        if setup.export_vk(zkey) != json.loads(files["vk"]):
            return result(False, "the verification key is not the final key's")
    return result(True, f"zkey verify ok; {len(steps)} contributions and the beacon match the chain",
                  [c.hash.hex() for c in found.contributions])  # fmt: skip


def _transcript_problem(
    manifest: CircuitManifest,
    steps: Sequence[PositionedMessage | None],
    beacon_hash: str,
    listed: Sequence[setup.AuditedContribution],
) -> str | None:
    if len(listed) != len(steps) + 1:
        return f"the key holds {len(listed)} contributions; the chain has {len(steps)} and a beacon"
    for i, (step, inside) in enumerate(zip(steps, listed, strict=False)):
        assert step is not None and isinstance(step.message, CircuitContribution)
        if inside.hash != step.message.contribution_hash:
            return (
                f"contribution {i + 1}: the key's hash is not the one {step.inscription_id} signed"
            )
    beacon = listed[-1]
    if beacon.beacon != bytes.fromhex(beacon_hash):
        return f"the beacon hashed {beacon.beacon.hex() if beacon.beacon else 'nothing'}, not block {manifest.beacon.height}"
    if beacon.iterations != manifest.beacon.iterations:
        return (
            f"the beacon ran 2^{beacon.iterations} iterations, not 2^{manifest.beacon.iterations}"
        )
    return None


def _scratch() -> Path:
    WORK.mkdir(parents=True, exist_ok=True)  # circom 2 sees only the repository
    return WORK


def _row(
    pm: PositionedMessage,
    manifest: CircuitManifest,
    files: Mapping[str, bytes | str],
    steps: Sequence[PositionedMessage | None],
    beacon_hash: str | None,
    named: Mapping[str, list[str]],
    audit: Mapping[str, Any],
) -> dict[str, Any]:
    vk = files["vk"]
    return {
        "circuit": pm.inscription_id,
        "block_height": pm.height,
        "system": manifest.system,
        "months_depth": manifest.months_depth,
        "named_by": named.get(pm.inscription_id, []),
        "source_sha256": manifest.source.sha256.hex(),
        "r1cs_sha256": manifest.r1cs_sha256.hex(),
        "wasm_sha256": manifest.wasm_sha256.hex(),
        "ptau_sha256": manifest.ptau.sha256.hex(),
        "ptau_power": manifest.ptau.power,
        "zkey_sha256": manifest.zkey.sha256.hex(),
        "vk_sha256": manifest.vk.sha256.hex(),
        "verification_key": vk.decode() if isinstance(vk, bytes) else None,
        "contributions": list(manifest.contributions),
        "contributors": [
            s.message.actuary.hex() if s and isinstance(s.message, CircuitContribution) else None
            for s in steps
        ],
        "contribution_hashes": audit["hashes"],
        "beacon_height": manifest.beacon.height,
        "beacon_iterations": manifest.beacon.iterations,
        "beacon_hash": beacon_hash,
        "setup_verified": audit["verified"],
        "setup_detail": audit["detail"],
        "audit_seconds": audit["seconds"],
    }
