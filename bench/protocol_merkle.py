"""Benchmark: 2-input Poseidon throughput per backend and month-tree roots (PROTOCOL.md §7).

Run: ``uv run python bench/protocol_merkle.py`` (``--quick`` for a short run,
``--sizes 10000,100000`` to choose month-tree sizes). Prints a table; nothing is written.

- Poseidon rows time P(a, b) on random field elements, one core and two. The native kernel
  uses threads (ctypes releases the GIL); light-poseidon and the pure-Python reference hold the
  GIL, so their two-core figures use two processes.
- Month-tree rows time ``MonthTree.from_rows`` end to end: packing the rows, hashing the leaves
  (row hashes) and every level up to the root, as the warehouse does for one month.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

from drey.crypto import poseidon as P  # noqa: N812  (P: the permutation, as in the paper)
from drey.crypto._poseidon_native import load_kernel
from drey.merkle import MonthTree

p = P.FIELD_MODULUS


def _pairs(n: int, seed: int) -> tuple[list[int], list[int]]:
    rng = random.Random(seed)
    return [rng.randrange(p) for _ in range(n)], [rng.randrange(p) for _ in range(n)]


def _hash_chunk(args: tuple[str, int, int]) -> int:
    backend, n, seed = args
    lefts, rights = _pairs(n, seed)
    P.PoseidonParams.for_width(3)  # constants are per process: keep them out of the timing
    start = time.perf_counter()
    P.hash_pairs(lefts, rights, backend=backend)  # type: ignore[arg-type]
    return int((time.perf_counter() - start) * 1e9)


def _rate_processes(backend: str, n: int, processes: int) -> float:
    """Hashes/s with ``processes`` worker processes each hashing n / processes pairs."""
    with ProcessPoolExecutor(max_workers=processes) as pool:
        list(pool.map(_hash_chunk, [(backend, 10, s) for s in range(processes)]))  # warm up
        start = time.perf_counter()
        list(pool.map(_hash_chunk, [(backend, n // processes, s) for s in range(processes)]))
        return n / (time.perf_counter() - start)


def _rate_native(n: int, workers: int) -> float:
    lefts, rights = _pairs(n, 1)
    data = b"".join(
        x.to_bytes(32, "little") for pair in zip(lefts, rights, strict=True) for x in pair
    )
    P.hash_packed_pairs(data[: 64 * 100], workers=workers)  # build/load the kernel first
    start = time.perf_counter()
    P.hash_packed_pairs(data, workers=workers)
    return n / (time.perf_counter() - start)


def _best(fn: Callable[[], float], repeat: int) -> float:
    return max(fn() for _ in range(repeat))


def _month_tree_seconds(n_rows: int, workers: int, repeat: int) -> float:
    rng = random.Random(n_rows)
    user_ids = sorted(rng.sample(range(1 << 40), n_rows))
    dreybits = [rng.randrange(1 << 50) for _ in range(n_rows)]
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        MonthTree.from_rows(user_ids, 650, dreybits, workers=workers)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer hashes, smaller trees")
    parser.add_argument("--sizes", default=None, help="month-tree row counts, comma-separated")
    args = parser.parse_args()
    sizes = (
        [int(s) for s in args.sizes.split(",")]
        if args.sizes
        else ([10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000])
    )
    scale = 0.1 if args.quick else 1.0
    kernel = load_kernel()
    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"native kernel: {kernel.variant if kernel else 'unavailable'}"
    )

    print("\n| Poseidon P(a, b) | 1 core (hash/s) | 2 cores (hash/s) | µs/hash, 1 core |")
    print("|---|---:|---:|---:|")
    rows = [
        ("native (C kernel, threads)", lambda w: _rate_native(int(200_000 * scale), w)),
        (
            "light-poseidon-python (processes)",
            lambda w: _rate_processes("light", int(40_000 * scale), w),
        ),
        (
            "reference, pure Python (processes)",
            lambda w: _rate_processes("reference", int(4_000 * scale), w),
        ),
    ]
    for name, rate in rows:
        one = _best(lambda rate=rate: rate(1), 2)
        two = _best(lambda rate=rate: rate(2), 2)
        print(f"| {name} | {one:,.0f} | {two:,.0f} | {1e6 / one:.1f} |")

    print("\n| month tree (rows → root) | 1 core (s) | 2 cores (s) | hashes |")
    print("|---|---:|---:|---:|")
    for n in sizes:
        repeat = 1 if n >= 1_000_000 else 3
        one = _month_tree_seconds(n, 1, repeat)
        two = _month_tree_seconds(n, 2, repeat)
        depth = max(1, (n - 1).bit_length())
        internal = sum(-(-n // (1 << k)) for k in range(1, depth + 1))
        print(f"| {n:,} | {one:.2f} | {two:.2f} | {n + internal:,} |")


if __name__ == "__main__":
    main()
