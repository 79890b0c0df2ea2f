"""Benchmark: the v1 formula module under wasmtime vs the Python reference; CBOR rates.

    uv run python bench/protocol_formula.py [--rows 1000000]

Prints wall-clock seconds per run (best of --repeat) and whether module and reference agree.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable

from drey.cbor import decode_cbor, encode_cbor
from drey.formula import (
    allocate_reference,
    decode_output,
    encode_rows,
    module_bytes,
    run_formula_bytes,
)
from drey.messages import ShareEntry, Shares, xonly_public_key


def best(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    times = []
    result: object = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def bench_formula(rows_count: int, repeat: int) -> None:
    rng = random.Random(1)
    module = module_bytes()
    cases = {
        "random sat_blocks (u64), ages 0-59": [
            (i, rng.getrandbits(64), rng.randrange(60)) for i in range(rows_count)
        ],
        "realistic sat_blocks (< 2^50)": [
            (i, rng.getrandbits(50), rng.randrange(60)) for i in range(rows_count)
        ],
        "all equal weights (worst selection)": [(i, 2**64 - 1, 30) for i in range(rows_count)],
    }
    pool = 2**58 - 1
    print(f"formula, {rows_count:,} rows, pool 2^58 - 1")
    for name, rows in cases.items():
        data = encode_rows(rows)
        t_enc, _ = best(lambda rows=rows: encode_rows(rows), 1)
        t_wasm, out = best(
            lambda data=data: run_formula_bytes(module, data, rows=rows_count, pool=pool), repeat
        )
        t_ref, ref = best(lambda rows=rows: allocate_reference(rows, pool=pool), 1)
        assert isinstance(out, bytes)
        agree = decode_output(out, rows_count) == ref
        print(
            f"  {name:38s} wasm {t_wasm:7.3f} s   reference {t_ref:7.3f} s   "
            f"row encoding {t_enc:6.3f} s   agree={agree}"
        )


def bench_cbor(repeat: int) -> None:
    key = xonly_public_key(b"\x01" * 32)
    entries = tuple(
        ShareEntry("ab" * 32 + f"i{i}", bytes(range(256)) * 2, b"\x02" * 32, b"\x03" * 600)
        for i in range(20)
    )
    shares = Shares("2025-03", 0, key, entries).signed(b"\x01" * 32, aux_rand=b"\x00" * 32)
    small = {"v": 1, "kind": "stake", "actuary": key, "outpoint": b"\x01" * 36, "sig": b"\x02" * 64}
    big = shares.to_map()
    n = 20_000
    print("cbor")
    for name, value, count in (
        ("stake-sized map", small, n),
        ("20-entry shares map", big, n // 20),
    ):
        data = encode_cbor(value)
        t_enc, _ = best(
            lambda value=value, count=count: [encode_cbor(value) for _ in range(count)], repeat
        )
        t_dec, _ = best(
            lambda data=data, count=count: [decode_cbor(data) for _ in range(count)], repeat
        )
        print(
            f"  {name:22s} {len(data):6d} B   encode {count / t_enc:9.0f}/s "
            f"({len(data) * count / t_enc / 1e6:6.1f} MB/s)   decode {count / t_dec:9.0f}/s "
            f"({len(data) * count / t_dec / 1e6:6.1f} MB/s)"
        )
    t_parse, _ = best(lambda: [Shares.deserialize(shares.serialize()) for _ in range(200)], repeat)
    print(f"  Shares serialize+deserialize (20 entries, validated): {200 / t_parse:.0f}/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    bench_formula(args.rows, args.repeat)
    bench_cbor(args.repeat)


if __name__ == "__main__":
    main()
