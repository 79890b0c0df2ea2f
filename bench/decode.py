"""Decoder throughput on the real mainnet blocks: raw bytes to written Parquet, one core.

    uv run python bench/decode.py [--repeat 5] [--blocks DIR]

Reports, per phase and end to end, MB/s and blocks/s over all fixture blocks (one shard for the
whole batch, as the follower writes block ranges), and block 839999 (963 envelopes) alone; then
the scan beside block verification (merkle root and BIP141 witness commitment, every txid and
wtxid hashed) by the native kernel and by the pure-Python fallback, side by side in one run.
The follower runs verification on its fetch threads (the kernel releases the GIL), so on two
cores it overlaps the scan.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from btc.commitments import verify_block
from btc.scan import scan_block
from indexer.shards import tables_for_blocks, write_shard

DEFAULT_BLOCKS = Path(__file__).resolve().parents[1].parent / "shared/fixtures/mainnet/blocks"


def run_once(blocks: list[tuple[int, bytes]], out: Path) -> tuple[float, float, float]:
    t0 = time.perf_counter()
    scanned = [(height, scan_block(raw)) for height, raw in blocks]
    t1 = time.perf_counter()
    tables = tables_for_blocks(scanned)
    t2 = time.perf_counter()
    write_shard(tables, out, name=f"{blocks[0][0]:09d}-{blocks[-1][0]:09d}")
    t3 = time.perf_counter()
    return t1 - t0, t2 - t1, t3 - t2


def report(label: str, blocks: list[tuple[int, bytes]], repeat: int) -> None:
    size = sum(len(raw) for _, raw in blocks)
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeat):
            runs.append(run_once(blocks, Path(tmp) / str(i)))
    scan, build, write = (statistics.median(phase) for phase in zip(*runs, strict=True))
    total = statistics.median(sum(run) for run in runs)
    mb = size / 1e6
    print(
        f"{label:<28} {len(blocks):>3} blocks {mb:6.1f} MB | scan {mb / scan:6.1f} MB/s | "
        f"tables {mb / build:6.1f} MB/s | write {mb / write:6.1f} MB/s | "
        f"end to end {mb / total:6.1f} MB/s, {len(blocks) / total:5.1f} blocks/s"
    )


def verify_cost(blocks: list[tuple[int, bytes]], repeat: int) -> None:
    """The scan beside block verification (native kernel, and the pure-Python fallback)."""
    size = sum(len(raw) for _, raw in blocks) / 1e6
    runs: dict[str, list[float]] = {"scan": [], "native": [], "python": []}
    for _ in range(repeat):
        for name in runs:
            t0 = time.perf_counter()
            for _, raw in blocks:
                if name == "scan":
                    scan_block(raw)
                else:
                    verify_block(raw, kernel=name)  # type: ignore[arg-type]
            runs[name].append(time.perf_counter() - t0)
    scan, native, python = (statistics.median(runs[n]) for n in ("scan", "native", "python"))
    per = 1000 / len(blocks)
    print(
        f"per block: scan {scan * per:5.1f} ms ({size / scan:5.1f} MB/s) | verify, native "
        f"kernel {native * per:5.1f} ms ({size / native:6.1f} MB/s) | verify, pure Python "
        f"{python * per:5.1f} ms ({size / python:5.1f} MB/s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--blocks", type=Path, default=DEFAULT_BLOCKS)
    args = parser.parse_args()
    blocks = sorted((int(p.stem), p.read_bytes()) for p in args.blocks.glob("*.bin"))
    report("all mainnet fixture blocks", blocks, args.repeat)
    report("839999 (963 envelopes)", [b for b in blocks if b[0] == 839999], args.repeat)
    report("840000-840672 (no 839999)", [b for b in blocks if b[0] != 839999], args.repeat)
    verify_cost(blocks, args.repeat)


if __name__ == "__main__":
    main()
