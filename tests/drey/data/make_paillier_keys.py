"""Regenerate the cached threshold-Paillier TEST keys (paillier_test_keys.json).

    uv run python tests/drey/data/make_paillier_keys.py

The file holds secret shares and the factorisation in the clear: these keys exist only so
that tests need not generate safe primes. Never use them for anything else.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from drey.crypto.paillier import generate_key

OUT = Path(__file__).with_name("paillier_test_keys.json")

# name: (modulus bits, N, t) with ⌊N/2⌋ + 1 ≤ t ≤ N as params require.
KEY_SETS = {
    "2048_n9_t5": (2048, 9, 5),
    "512_n1_t1": (512, 1, 1),
    "512_n3_t2": (512, 3, 2),
    "512_n5_t3": (512, 5, 3),
    "512_n7_t4": (512, 7, 4),
}


def main() -> None:
    keys = {}
    for name, (bits, players, threshold) in KEY_SETS.items():
        start = time.perf_counter()
        keys[name] = generate_key(bits, players, threshold).to_dict()
        print(f"{name}: {time.perf_counter() - start:.1f} s")
    doc = {
        "comment": (
            "TEST KEYS ONLY: secret shares and p, q are included in the clear. "
            "Regenerate with tests/drey/data/make_paillier_keys.py; never use elsewhere."
        ),
        "keys": keys,
    }
    OUT.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
