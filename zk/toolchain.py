"""Where circom 2 and snarkjs are (``node_modules``, installed by ``make bootstrap`` from the
committed lock file) and one way to run them.

circom2 runs in a WebAssembly sandbox that sees only its working directory, so every step runs
from the repository root and the paths it is given must lie inside it (:func:`inside_repo`).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

from zk.errors import StepError, ToolchainMissingError

__all__ = ["REPO", "WORK", "circom2", "inside_repo", "node", "sha256_file", "snarkjs"]

REPO = Path(__file__).resolve().parents[1]
BIN = REPO / "node_modules" / ".bin"
#: Scratch and cached artefacts that circom2 must see: inside the repository, never committed.
WORK = REPO / "var" / "zk"


def _tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        raise ToolchainMissingError(f"{path} is missing: run `make bootstrap` (npm ci)")
    return str(path)


def node() -> str:
    found = shutil.which("node")
    if found is None:
        raise ToolchainMissingError("node is not on PATH (the proof toolchain runs on Node.js)")
    return found


def inside_repo(path: Path) -> str:
    """``path`` relative to the repository root (circom2's sandbox)."""
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        raise StepError(f"{path} is outside {REPO}: circom2 cannot see it") from None


def run(args: list[str], *, timeout: float = 1800, what: str | None = None) -> str:
    """Run one step from the repository root; its stdout, or :class:`StepError`."""
    try:
        done = subprocess.run(
            args, cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise StepError(f"{what or args[1]} took longer than {timeout:.0f} s") from None
    if done.returncode != 0:
        tail = (done.stdout[-1500:] + done.stderr[-1500:]).strip()
        raise StepError(f"{what or ' '.join(args[1:3])} exited {done.returncode}: {tail}")
    return done.stdout


def snarkjs(*args: str, timeout: float = 1800) -> str:
    return run([_tool("snarkjs"), *args], timeout=timeout, what=f"snarkjs {' '.join(args[:2])}")


# circom2 is circom's Rust compiler built to WebAssembly; now and then it traps inside itself
# (a wasm trap with the compiler's own stack) on a source that compiles on the next
# try. Such a trap is retried; an error in the source (circom's ``error[...]`` report) is not.
CIRCOM_TRAP_RETRIES = 2


def compiler_trapped(error: StepError) -> bool:
    """Whether circom2 failed inside its own WebAssembly (frames of its wasm in the report;
    the report is cut to its tail, so the ``RuntimeError`` line may be gone)."""
    text = str(error)
    return "wasm://wasm/circom" in text and "wasm-function[" in text


def circom2(*args: str, timeout: float = 600) -> str:
    for attempt in range(CIRCOM_TRAP_RETRIES + 1):
        try:
            return run([_tool("circom2"), *args], timeout=timeout, what="circom2")
        except StepError as exc:
            if attempt == CIRCOM_TRAP_RETRIES or not compiler_trapped(exc):
                raise
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def sha256_file(path: Path) -> bytes:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.digest()
