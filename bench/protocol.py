"""All protocol-library benchmarks in one run.

    uv run python bench/protocol.py [merkle|crypto|formula|rules ...]

Runs each part's own script (each takes its own options when run alone: see their --help) as a
separate process so their timings do not share warm caches or threads.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PARTS = {
    "merkle": "protocol_merkle.py",  # Poseidon hashes/s, month tree roots for 10k/100k/1M rows
    "crypto": "protocol_crypto.py",  # threshold Paillier shares and proofs at 2048 bits, ECVRF
    "formula": "protocol_formula.py",  # the v1 WASM module over 1M rows, CBOR
    "rules": "protocol_rules.py",  # evaluate() over whole months
}


def main() -> int:
    chosen = sys.argv[1:] or list(PARTS)
    unknown = [name for name in chosen if name not in PARTS]
    if unknown:
        print(f"unknown part(s) {unknown}; choose from {list(PARTS)}", file=sys.stderr)
        return 2
    here = Path(__file__).resolve().parent
    status = 0
    for name in chosen:
        print(f"== {name} ==", flush=True)
        status |= subprocess.call([sys.executable, str(here / PARTS[name])])
    return status


if __name__ == "__main__":
    sys.exit(main())
