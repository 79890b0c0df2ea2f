"""The proof system in force (docs/protocol/proofs.md §4, §6): the verifier of the circuit a
params names, from the founder-signed ``circuit`` manifest and its inscribed verification key.

A params without ``circuit`` is v1: results carry ``{system: "recompute"}``. With one, the
manifest must be founder-signed, of the system this library verifies, of the params'
``months_depth``, mined (with its key's parts) no later than the params, and its key must
assemble, hash to the manifest's sha256 and parse with six public inputs. When any of that
fails there is no verifier: every proof then fails with ``circuit_unavailable`` and that
reason, so no month can be accepted until a params names a usable circuit (a founder's error
halts the network rather than letting unproved results through).

Not checked here (needs the toolchain and the phase-1 file, minutes of work): that the key
follows from the circuit and the ceremony; the warehouse audits that (``proof_systems``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from drey.crypto.groth16 import ProofError, Verifier, VerifyingKey
from drey.formula import AssemblyFailure, FormulaPart, assemble_parts
from drey.messages.circuit import CircuitManifest
from drey.proofs import SYSTEM
from drey.rules.inputs import FormulaPartInscription, PositionedMessage

__all__ = ["VK_CONTENT_TYPE", "load_verifier"]

VK_CONTENT_TYPE = "application/json"
N_PUBLIC = 6


def load_verifier(
    circuit_id: str,
    *,
    manifests: Mapping[str, PositionedMessage],
    parts: Mapping[str, FormulaPartInscription],
    params_height: int,
    months_depth: int,
) -> Verifier | str:
    """The circuit's verifier, or why there is none."""
    pm = manifests.get(circuit_id)
    if pm is None or not isinstance(pm.message, CircuitManifest):
        return f"{circuit_id} is not a founder-signed circuit manifest"
    if pm.height > params_height:
        return f"manifest mined at {pm.height}, after the params at {params_height}"
    manifest = pm.message
    if manifest.system != SYSTEM:
        return f"system {manifest.system!r} is not {SYSTEM}"
    if manifest.months_depth != months_depth:
        return f"circuit months_depth {manifest.months_depth} is not the params' {months_depth}"
    found: list[FormulaPart | None] = []
    for part_id in manifest.vk.parts:
        part = parts.get(part_id)
        found.append(None if part is None or part.height > params_height else part.part)
    vk = assemble_parts(manifest.vk.parts, manifest.vk.sha256, found, content_type=VK_CONTENT_TYPE)
    if isinstance(vk, AssemblyFailure):
        return f"verification key: {vk.reason}: {vk.detail}"
    try:
        key = VerifyingKey.from_snarkjs(json.loads(vk))
        if key.n_public != N_PUBLIC:
            return f"verification key has {key.n_public} public inputs, not {N_PUBLIC}"
        return Verifier(key)
    except (ValueError, ProofError) as exc:
        return f"verification key: {exc}"
