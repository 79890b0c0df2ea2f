"""The real proof toolchain for the tests: circom2 compiles the depth-1 months-append circuit,
snarkjs runs a (throwaway, single-party) setup, proves and verifies.

Artefacts are built once per checkout under ``var/zk/test-<hash>`` (the hash covers the
circuit sources and the npm lock) in about a minute, most of it the 2^10 powers of tau; a
build goes to a temporary directory first and is renamed into place. circom2 runs in a
WebAssembly sandbox that sees only the working directory, so everything runs from the
repository root with paths inside it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
BIN = REPO / "node_modules" / ".bin"
CIRCUIT = "circuits/months_append_1.circom"
DEPTH = 1


@dataclass(frozen=True)
class Artefacts:
    root: Path

    @property
    def wasm(self) -> Path:
        return self.root / "months_append_1_js" / "months_append_1.wasm"

    @property
    def zkey(self) -> Path:
        return self.root / "final.zkey"

    @property
    def vk_path(self) -> Path:
        return self.root / "verification_key.json"

    def vk(self) -> dict[str, Any]:
        return json.loads(self.vk_path.read_text())


def _run(*args: str, timeout: float = 600) -> str:
    done = subprocess.run(list(args), cwd=REPO, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(args[:3])} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
    return done.stdout


def _key() -> str:
    h = hashlib.sha256()
    for path in (*sorted((REPO / "circuits").glob("*.circom")), REPO / "package-lock.json"):
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def build() -> Artefacts:
    """The depth-1 circuit compiled and set up (cached)."""
    if not (BIN / "snarkjs").exists():
        raise RuntimeError("node_modules is missing: run `make bootstrap` (npm ci)")
    final = REPO / "var" / "zk" / f"test-{_key()}"
    if (final / "verification_key.json").exists():
        return Artefacts(final)
    tmp = final.with_name(final.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    rel = tmp.relative_to(REPO)
    snarkjs = str(BIN / "snarkjs")
    _run(
        str(BIN / "circom2"),
        CIRCUIT,
        "--r1cs",
        "--wasm",
        "--O2",
        "-l",
        "node_modules",
        "-o",
        str(rel),
    )
    _run(snarkjs, "powersoftau", "new", "bn128", "10", f"{rel}/pot_0.ptau")
    _run(snarkjs, "powersoftau", "contribute", f"{rel}/pot_0.ptau", f"{rel}/pot_1.ptau",
         "--name=tests", "-e=throwaway test entropy")  # fmt: skip
    _run(snarkjs, "powersoftau", "prepare", "phase2", f"{rel}/pot_1.ptau", f"{rel}/pot.ptau")
    _run(snarkjs, "groth16", "setup", f"{rel}/months_append_1.r1cs", f"{rel}/pot.ptau",
         f"{rel}/zero.zkey")  # fmt: skip
    _run(snarkjs, "zkey", "contribute", f"{rel}/zero.zkey", f"{rel}/final.zkey",
         "--name=tests", "-e=throwaway phase 2 entropy")  # fmt: skip
    _run(snarkjs, "zkey", "export", "verificationkey", f"{rel}/final.zkey",
         f"{rel}/verification_key.json")  # fmt: skip
    for scratch in ("pot_0.ptau", "pot_1.ptau", "zero.zkey"):
        (tmp / scratch).unlink()
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    return Artefacts(final)


def prove(art: Artefacts, inputs: dict[str, Any], work: Path) -> tuple[dict[str, Any], list[str]]:
    """snarkjs ``groth16 fullprove``: (proof.json, public.json). ``work`` must be inside the
    repository (the WebAssembly sandbox)."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "input.json").write_text(json.dumps(inputs))
    _run(str(BIN / "snarkjs"), "groth16", "fullprove", str(work / "input.json"), str(art.wasm),
         str(art.zkey), str(work / "proof.json"), str(work / "public.json"))  # fmt: skip
    return json.loads((work / "proof.json").read_text()), json.loads(
        (work / "public.json").read_text()
    )


def snarkjs_verifies(
    vk: dict[str, Any], public: list[str], proof: dict[str, Any], work: Path
) -> bool:
    """snarkjs ``groth16 verify`` on the given JSON (its exit status)."""
    work.mkdir(parents=True, exist_ok=True)
    for name, value in (("vk", vk), ("public", public), ("proof", proof)):
        (work / f"{name}.json").write_text(json.dumps(value))
    done = subprocess.run(
        [str(BIN / "snarkjs"), "groth16", "verify", *(str(work / f"{n}.json") for n in ("vk", "public", "proof"))],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    if done.returncode not in (0, 1) or ("OK" not in done.stdout and "Invalid" not in done.stdout):
        raise RuntimeError(f"snarkjs verify gave no verdict: {done.stdout}{done.stderr}")
    return done.returncode == 0 and "OK" in done.stdout
