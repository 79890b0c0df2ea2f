"""Phase 1 (powers of tau), built once per machine by a reproducible script and pinned by hash
(docs/protocol/proofs.md §5).

The devnet's phase 1 is ``powersoftau new`` at the power asked, one ``powersoftau beacon`` on
a public value (Bitcoin's genesis block hash, 2^10 iterations) and ``prepare phase2``. Every
step is deterministic, so any machine rebuilds the same file and :data:`PINNED` holds its
sha256. **Its trapdoor is therefore public**: it is sound for a test network only. A real
deployment uses a public multi-party ceremony's prepared file of the same power (only the
pinned hash in the circuit manifest moves; :func:`locate` takes any file by its hash).

The file is cached under ``$DREY_PTAU_CACHE`` (default ``~/.cache/drey/ptau``). The build is
slow (``prepare phase2`` measured 199 s at 2^12 and ~450 s at 2^13 on 2 cores), hence the cache;
``python -m zk.ptau POWER`` (or ``tools/build-ptau``) builds it and prints the path.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from zk.errors import PtauError
from zk.toolchain import WORK, sha256_file, snarkjs

__all__ = ["BEACON", "PINNED", "build", "cache_dir", "locate"]

#: The public value phase 1's only contribution hashes: Bitcoin's genesis block hash.
BEACON = "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"
BEACON_ITERATIONS = 10
#: sha256 of the prepared file this script builds, by power.
PINNED: dict[int, str] = {
    12: "091235be69f3d2761f53c1fd185b00ee8ced4cfff1b3c11182330e6033764f3a",
}


def cache_dir() -> Path:
    configured = os.environ.get("DREY_PTAU_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "drey" / "ptau"


def _name(power: int) -> str:
    return f"devnet-phase1-{power}.ptau"


def locate(sha256: bytes, *, power: int) -> Path:
    """The cached phase-1 file that hashes to ``sha256``; :class:`PtauError` if none does."""
    path = cache_dir() / _name(power)
    if not path.exists():
        raise PtauError(
            f"no phase-1 file of power {power} in {cache_dir()}: run tools/build-ptau {power}"
        )
    if sha256_file(path) != sha256:
        raise PtauError(f"{path} does not hash to {sha256.hex()}")
    return path


def build(power: int) -> Path:
    """The devnet's phase-1 file of ``power`` (built on first use, then cached)."""
    if power not in PINNED:
        raise PtauError(f"no pinned phase-1 hash for power {power} (pinned: {sorted(PINNED)})")
    target = cache_dir() / _name(power)
    pinned = bytes.fromhex(PINNED[power])
    if target.exists() and sha256_file(target) == pinned:
        return target
    scratch = WORK / f"ptau-{power}.tmp"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    try:
        snarkjs("powersoftau", "new", "bn128", str(power), str(scratch / "0.ptau"))
        snarkjs("powersoftau", "beacon", str(scratch / "0.ptau"), str(scratch / "1.ptau"),
                BEACON, str(BEACON_ITERATIONS), "-n=drey devnet phase 1")  # fmt: skip
        snarkjs(
            "powersoftau", "prepare", "phase2", str(scratch / "1.ptau"), str(scratch / "f.ptau")
        )
        got = sha256_file(scratch / "f.ptau")
        if got != pinned:
            raise PtauError(f"the rebuilt phase-1 file hashes to {got.hex()}, not {pinned.hex()}")
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".tmp")
        shutil.move(scratch / "f.ptau", tmp)
        tmp.replace(target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


if __name__ == "__main__":
    print(build(int(sys.argv[1]) if len(sys.argv) > 1 else 12))
