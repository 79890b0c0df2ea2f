"""Warehouse benchmark: full materialization, block-to-warehouse latency, query latency.

    uv run python bench/warehouse.py                      # 12 months × 2,000 and × 100,000 users
    uv run python bench/warehouse.py --users 2000 --latency 3 --repeats 20

For each size: the devnet simulator builds the chain once (kept under --workdir and reused;
its time is reported but is not a warehouse figure), the follower writes the shards, then a
fresh warehouse is materialized end to end (chain job, every month, publication) against an
ephemeral Dagster instance: total time, time per month, and the steps that dominate. Then
the latency from a new block at the node (one inscription mined) to its row
in a freshly opened warehouse, with the follower on ZMQ and the sensors ticking as the daemon
would; and the median latency of each example query of docs/schema.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import threading
import time
from pathlib import Path

import dagster as dg
import duckdb

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from btc.ord.envelope import Envelope  # noqa: E402
from devnet.simulate.identity import NETWORK_FILE  # noqa: E402
from pipelines.dashboard import render_dashboard  # noqa: E402
from pipelines.definitions import build_definitions  # noqa: E402
from pipelines.driver.network import (  # noqa: E402
    ANSWER_KEY,
    BackgroundFollower,
    Devnet,
    follow_to_tip,
    serve,
    simulate,
)
from pipelines.driver.runner import Cursors, build_all, tick  # noqa: E402
from pipelines.row_proofs import read_row_proof  # noqa: E402
from pipelines.settings import Warehouse  # noqa: E402

# The documentation's example queries are read by a test helper (tests/pipelines/examples.py).
sys.path.insert(0, str(REPO / "tests" / "pipelines"))
from examples import example_queries  # noqa: E402


def devnet_for(workdir: Path, months: int, users: int) -> tuple[Devnet, float | None]:
    datadir = workdir / f"m{months}-u{users}" / "devnet"
    if (datadir / ANSWER_KEY).exists() and (datadir / NETWORK_FILE).exists():
        return Devnet.load(datadir), None
    shutil.rmtree(datadir, ignore_errors=True)
    started = time.perf_counter()
    devnet, _ = simulate(datadir, months=months, users=users, scenarios="all", seed="bench")
    return devnet, time.perf_counter() - started


def materialize(devnet: Devnet, root: Path) -> dict[str, object]:
    shutil.rmtree(root, ignore_errors=True)
    shards = root / "shards"
    started = time.perf_counter()
    with serve(devnet.datadir) as served:
        follow_to_tip(served.follow_config(shards, devnet.vault_scripts))
    followed = time.perf_counter() - started
    warehouse = Warehouse(
        shard_root=str(shards), warehouse_dir=str(root / "warehouse"), founder=devnet.founder
    )
    defs = build_definitions(warehouse)
    instance = dg.DagsterInstance.ephemeral()
    started = time.perf_counter()
    runs = build_all(defs, instance, quiet=True)
    built = time.perf_counter() - started
    steps: dict[str, float] = {}
    for run in runs:
        for event in run.all_events:
            if event.event_type_value == "STEP_SUCCESS":
                steps[event.step_key] = event.event_specific_data.duration_ms / 1000
    months = len(devnet.answer_key["months"])
    return {
        "warehouse": warehouse,
        "defs": defs,
        "instance": instance,
        "follow_s": followed,
        "build_s": built,
        "per_month_s": built / months,
        "months": months,
        "top_steps": sorted(steps.items(), key=lambda kv: -kv[1])[:6],
        "bytes": warehouse.store.warehouse.stat().st_size,
    }


def latency(devnet: Devnet, built: dict[str, object], samples: int) -> list[float]:
    """New block at the node → its inscription visible in a freshly opened warehouse."""
    warehouse: Warehouse = built["warehouse"]  # type: ignore[assignment]
    defs = built["defs"]
    instance = built["instance"]
    out = []
    with serve(devnet.datadir) as served:
        config = served.follow_config(warehouse.shards, devnet.vault_scripts)
        committed = threading.Event()
        follower = BackgroundFollower(config, on_commit=lambda _m: committed.set()).start()
        try:
            cursors = Cursors()
            tick(defs, instance, warehouse, cursors, quiet=True)  # align with the build
            for i in range(samples):
                committed.clear()
                started = time.perf_counter()
                cr = served.chain.inscribe(
                    [Envelope(body=f"latency {i}".encode(), content_type="text/plain")]
                )
                (inscription,) = cr.inscription_ids
                while not _visible(warehouse.store.warehouse, inscription):
                    if committed.wait(timeout=0.5):
                        committed.clear()
                        tick(defs, instance, warehouse, cursors, quiet=True)
                out.append(time.perf_counter() - started)
        finally:
            follower.stop()
    return out


def _visible(path: Path, inscription: str) -> bool:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return bool(
            con.execute("select count(*) from inscriptions where id = ?", [inscription]).fetchone()[
                0
            ]
        )
    finally:
        con.close()


def query_latency(path: Path, repeats: int) -> list[tuple[str, float]]:
    con = duckdb.connect(str(path), read_only=True)
    out = []
    try:
        for sql in example_queries():
            times = []
            for _ in range(repeats):
                started = time.perf_counter()
                con.execute(sql).fetchall()
                times.append(time.perf_counter() - started)
            out.append((" ".join(sql.split())[:70], statistics.median(times)))
    finally:
        con.close()
    return out


def row_proofs(path: Path, samples: int) -> dict[str, float]:
    """``row_proof`` for ``samples`` rows spread over the accepted months: the macro's latency
    (through drey-warehouse's reader, a fresh connection each, as the command does), the
    offline check's, and the bytes of the tree nodes that make the macro possible."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.execute(
            "select user_id, month from allocations "
            f"using sample reservoir({int(samples)} rows) repeatable (7)"
        ).fetchall()
        nodes = con.execute("select count(*) from month_tree_nodes").fetchone()[0]
    finally:
        con.close()
    read, check = [], []
    for user_id, month in rows:
        started = time.perf_counter()
        proof = read_row_proof(path, user_id, month)
        read.append(time.perf_counter() - started)
        assert proof is not None
        started = time.perf_counter()
        assert proof.problems() == []
        check.append(time.perf_counter() - started)
    return {
        "samples": len(rows),
        "row_proof_ms": statistics.median(read) * 1000,
        "verify_ms": statistics.median(check) * 1000,
        "tree_nodes": nodes,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", default="2000,100000", help="comma-separated sizes")
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--workdir", type=Path, default=REPO / "var" / "bench")
    parser.add_argument("--latency", type=int, default=3, help="latency samples per size")
    parser.add_argument("--repeats", type=int, default=20, help="runs per example query")
    args = parser.parse_args()
    results = []
    for users in (int(u) for u in args.users.split(",")):
        devnet, simulated = devnet_for(args.workdir, args.months, users)
        sim = "reused" if simulated is None else f"{simulated:.0f} s"
        print(f"== {args.months} months × {users:,} users (devnet: {sim})", flush=True)
        built = materialize(devnet, args.workdir / f"m{args.months}-u{users}" / "run")
        print(
            f"follow {built['follow_s']:.1f} s; full materialization {built['build_s']:.1f} s "
            f"= {built['per_month_s']:.1f} s per month; warehouse {built['bytes'] / 1e6:.1f} MB"
        )
        print("  slowest steps: " + ", ".join(f"{k} {v:.1f} s" for k, v in built["top_steps"]))
        row: dict[str, object] = {
            "users": users,
            "months": args.months,
            "simulate_s": simulated,
            **{k: v for k, v in built.items() if k.endswith("_s") or k in ("bytes", "top_steps")},
        }
        if args.latency:
            lat = latency(devnet, built, args.latency)
            print(
                f"block → warehouse: median {statistics.median(lat):.1f} s "
                f"(samples {', '.join(f'{x:.1f}' for x in lat)})"
            )
            row["latency_s"] = lat
        queries = query_latency(built["warehouse"].store.warehouse, args.repeats)  # type: ignore[union-attr]
        med = statistics.median(t for _, t in queries)
        worst = max(queries, key=lambda q: q[1])
        print(
            f"example queries ({len(queries)}): median {med * 1000:.1f} ms, "
            f"slowest {worst[1] * 1000:.1f} ms ({worst[0]})"
        )
        row["queries_ms"] = {q: round(t * 1000, 2) for q, t in queries}
        proofs = row_proofs(built["warehouse"].store.warehouse, 50)  # type: ignore[union-attr]
        print(
            f"row_proof: median {proofs['row_proof_ms']:.1f} ms to read, "
            f"{proofs['verify_ms']:.1f} ms to verify offline ({proofs['samples']} rows; "
            f"{proofs['tree_nodes']:,} tree nodes stored)"
        )
        row["row_proofs"] = proofs
        published = built["warehouse"].store.warehouse  # type: ignore[union-attr]
        board = render_dashboard(published, published.parent / "dashboard-bench")
        print(f"dashboard: {len(board.pages)} pages rendered in {board.seconds:.2f} s")
        row["dashboard_s"] = board.seconds
        results.append(row)
    out = args.workdir / "warehouse_bench.json"
    out.write_text(json.dumps(results, indent=1, default=str))
    print(f"figures: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
