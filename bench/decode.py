"""Decoder throughput on the real mainnet blocks: raw bytes to written Parquet, one core.

    uv run python bench/decode.py [--repeat 5] [--blocks DIR]

Reports, per phase and end to end, MB/s and blocks/s over all fixture blocks (one shard for the
whole batch, as the follower writes block ranges), and block 839999 (963 envelopes) alone; then
the scan with and without the commitment checks (merkle root and BIP141 witness commitment,
every txid and wtxid hashed), side by side in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from indexer.scan import scan_block
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
    size = sum(len(raw) for _, raw in blocks) / 1e6
    times: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(repeat):
        for verify in (False, True):
            t0 = time.perf_counter()
            for _, raw in blocks:
                scan_block(raw, verify=verify)
            times[verify].append(time.perf_counter() - t0)
    plain, checked = (statistics.median(times[v]) for v in (False, True))
    print(
        f"scan without commitment checks {size / plain:6.1f} MB/s | with {size / checked:6.1f} "
        f"MB/s | cost {1000 * (checked - plain) / len(blocks):5.2f} ms/block "
        f"({100 * (checked / plain - 1):4.1f} %)"
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
