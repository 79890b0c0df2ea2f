"""The published warehouse at each storage version: file size and example-query latency.

    uv run python bench/storage_version.py var/bench/m12-u2000/run/warehouse/warehouse.duckdb

Copies the given warehouse (``COPY FROM DATABASE``) into a file at each storage version and
runs every example query of docs/schema.md on each, interleaved, so the figures compare: what
publishing at v1.1.0 (readers from DuckDB 1.1.0 on) costs against v1.5.0 (readers from 1.5).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "pipelines"))
from examples import example_queries  # noqa: E402

VERSIONS = ("v1.1.0", "v1.5.0")


def copy_at(source: Path, target: Path, version: str) -> float:
    started = time.perf_counter()
    con = duckdb.connect()
    con.execute(f"ATTACH '{source}' AS src (READ_ONLY)")
    con.execute(f"ATTACH '{target}' AS dst (STORAGE_VERSION '{version}')")
    con.execute("COPY FROM DATABASE src TO dst")
    con.execute("CHECKPOINT dst")
    con.close()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("warehouse", type=Path)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    queries = example_queries()
    with tempfile.TemporaryDirectory() as tmp:
        files = {v: Path(tmp) / f"{v}.duckdb" for v in VERSIONS}
        written = {v: copy_at(args.warehouse.resolve(), files[v], v) for v in VERSIONS}
        times: dict[str, list[float]] = {v: [] for v in VERSIONS}
        cons = {v: duckdb.connect(str(files[v]), read_only=True) for v in VERSIONS}
        for sql in queries:
            for _ in range(args.repeats):
                for v in VERSIONS:  # interleaved
                    started = time.perf_counter()
                    cons[v].execute(sql).fetchall()
                    times[v].append(time.perf_counter() - started)
        for v in VERSIONS:
            cons[v].close()
            print(
                f"{v}: {files[v].stat().st_size / 1e6:.1f} MB, written in {written[v]:.2f} s; "
                f"example queries ({len(queries)} × {args.repeats}) median "
                f"{statistics.median(times[v]) * 1000:.2f} ms, total {sum(times[v]):.2f} s"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
