"""The months-append circuit for a months depth: its main file, compiled by circom 2 (R1CS and
the witness generator's WebAssembly), and its flattened source (what the manifest inscribes).

Compiled circuits are cached under ``var/zk/circuit-<depth>-<hash>`` (the hash covers the
circuit sources and the npm lock), built beside and renamed into place.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from zk.errors import StepError
from zk.toolchain import REPO, WORK, circom2, inside_repo

__all__ = ["CompiledCircuit", "compile_circuit", "constraint_count", "flatten", "main_source"]

TEMPLATES = REPO / "circuits" / "months_append.circom"
LIBRARY = REPO / "node_modules"
PUBLIC = "index, old_root, month_root, n_rows, new_root, binding"
_INCLUDE = re.compile(r'^\s*include\s+"([^"]+)"\s*;\s*$', re.MULTILINE)
_PRAGMA = re.compile(r"^\s*pragma\s+circom\s+[0-9.]+\s*;\s*$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class CompiledCircuit:
    depth: int
    root: Path

    @property
    def name(self) -> str:
        return f"months_append_{self.depth}"

    @property
    def source(self) -> Path:
        return self.root / f"{self.name}.circom"

    @property
    def r1cs(self) -> Path:
        return self.root / f"{self.name}.r1cs"

    @property
    def wasm(self) -> Path:
        return self.root / f"{self.name}_js" / f"{self.name}.wasm"


def main_source(depth: int) -> str:
    """The circuit's main for ``depth``, including the templates by the path circom resolves."""
    return (
        "pragma circom 2.1.0;\n\n"
        f"// groth16-bn254/months-append/v1 at months_depth {depth} (docs/protocol/proofs.md).\n"
        f'include "{TEMPLATES.name}";\n\n'
        f"component main {{public [{PUBLIC}]}} = MonthsAppend({depth});\n"
    )


def flatten(path: Path, *, library: Path = LIBRARY) -> str:
    """``path`` with every include inlined once, dependencies first, one pragma: a single
    file that compiles to the same circuit (circom resolves an include beside the including
    file, then in ``library``)."""
    seen: set[Path] = set()
    pieces: list[str] = []

    def visit(file: Path) -> None:
        file = file.resolve()
        if file in seen:
            return
        seen.add(file)
        text = file.read_text()
        for name in _INCLUDE.findall(text):
            beside = file.parent / name
            visit(beside if beside.exists() else library / name)
        body = _PRAGMA.sub("", _INCLUDE.sub("", text)).strip("\n")
        pieces.append(f"// ---- {file.name}\n{body}\n")

    visit(path)
    return "pragma circom 2.1.0;\n\n" + "\n".join(pieces)


def _key(depth: int) -> str:
    h = hashlib.sha256(main_source(depth).encode())
    for path in (TEMPLATES, REPO / "package-lock.json"):
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def compile_circuit(
    depth: int, *, source: str | None = None, into: Path | None = None
) -> CompiledCircuit:
    """The circuit at ``depth`` from its flattened source, compiled with ``--O2`` (cached);
    ``source`` compiles given text instead (a manifest's source, into ``into``, not cached)."""
    final = into if into is not None else WORK / f"circuit-{depth}-{_key(depth)}"
    circuit = CompiledCircuit(depth, final)
    if source is None and circuit.wasm.exists():
        return circuit
    tmp = final.with_name(final.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    staged = CompiledCircuit(depth, tmp)
    if source is None:
        # The main beside the templates, flattened: the one file the manifest inscribes, so
        # a verifier compiling it gets the same r1cs and wasm (a different file layout gives
        # the same r1cs but another wasm).
        main = tmp / "main.circom"
        shutil.copy(TEMPLATES, tmp / TEMPLATES.name)
        main.write_text(main_source(depth))
        source = flatten(main)
        main.unlink()
        (tmp / TEMPLATES.name).unlink()
    staged.source.write_text(source)
    circom2(inside_repo(staged.source), "--r1cs", "--wasm", "--O2", "-l", "node_modules",
            "-o", inside_repo(tmp))  # fmt: skip
    if not staged.wasm.exists():
        raise StepError(f"circom2 wrote no {staged.wasm.name}")
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    return circuit


def constraint_count(r1cs: Path) -> int:
    """The number of constraints in an ``.r1cs`` file (its header section)."""
    data = r1cs.read_bytes()
    if data[:4] != b"r1cs":
        raise StepError(f"{r1cs} is not an r1cs file")
    offset = 12
    n_sections = int.from_bytes(data[8:12], "little")
    for _ in range(n_sections):
        kind = int.from_bytes(data[offset : offset + 4], "little")
        size = int.from_bytes(data[offset + 4 : offset + 12], "little")
        if kind == 1:
            field_size = int.from_bytes(data[offset + 12 : offset + 16], "little")
            header = offset + 16 + field_size
            # nWires, nPubOut, nPubIn, nPrvIn (u32 each), nLabels (u64), nConstraints (u32)
            return int.from_bytes(data[header + 24 : header + 28], "little")
        offset += 12 + size
    raise StepError(f"{r1cs} has no header section")
