"""Block → warehouse latency by kind of block: the resumed evaluation beside a full walk.

    uv run python bench/latency.py --users 2000 --samples 5
    uv run python bench/latency.py --users 100000 --samples 3

The devnet of ``bench/warehouse.py`` (simulated once under --workdir) is replayed block by
block into a fresh chain that the dev node serves. Two warehouses follow that node, each with
its own follower and shards:

- ``resume``: the product as the main job runs it: one long process, whose runs read the
  state earlier runs wrote from memory (``pipelines/state_cache.py``), and the rules walk
  resumes after the final months of the saved evaluation;
- ``cold``: the same, but the state cache is emptied before every run, as under the Dagster
  daemon, which starts each run in a process of its own (state is unpickled once per run);
- ``full``: as ``resume``, but its saved evaluation is removed before every tick, so the walk
  starts from the first month with the memo whole (the product before resume);
- ``rebuild``: as ``resume``, but the derived tables' records (``pipelines/derived.py``) are
  removed before every tick, so every table is built again and every check run again (the
  product before derived tables were kept);
- ``walk``: as ``resume``, but the saved evaluation is never carried over a quiet block
  (``drey.rules.advance``): every block walks the open month, as before the rules' clock.

``--modes`` picks the sides (default ``resume,cold``); ``--collector`` is every side's
``[dagster] collector`` (default: the setting's, ``paused``); ``--out`` where the rows go.

For each sample block the replay first submits the blocks before it (both warehouses tick up
to them, unmeasured), then the block itself. Latency = the follower's commit time after the
submit + the tick (sensors, then the runs they request) after which the published file shows
the block in ``blocks`` and as ``warehouse_info.evaluation_tip``. The two warehouses tick in
alternating order. Kinds of block: ``quiet`` (no inscription of the simulator), ``package``
(a ``lead``, ``secondary`` or ``lead_part`` message) and ``deciding`` (a month's
``decided_height`` in the answer key); samples are spread over the months after the first
third, so there is something to resume from. Quiet blocks are also reported apart by whether
the ``resume`` side carried its evaluation (``carried``) or walked because the block is at a
height a rule waits for (``waited``: a window's end; the devnet's months are ~45 blocks
long, so many of its blocks are).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from warehouse import devnet_for  # noqa: E402

from devnet.chain import Chain  # noqa: E402
from pipelines.assets import rules as rules_assets  # noqa: E402
from pipelines.configuration import COLLECTOR_MODES  # noqa: E402
from pipelines.definitions import build_definitions  # noqa: E402
from pipelines.driver.network import (  # noqa: E402
    BackgroundFollower,
    Devnet,
    Served,
    follow_to_tip,
    serve,
)
from pipelines.driver.runner import Cursors, build_all, tick  # noqa: E402
from pipelines.settings import EVALUATION_STATE, Warehouse  # noqa: E402

MODES = ("resume", "cold", "full", "rebuild", "walk")
PACKAGE_KINDS = frozenset({"lead", "secondary", "lead_part"})


def sample_heights(devnet: Devnet, samples: int) -> dict[str, list[int]]:
    """``samples`` heights of each kind, spread over the months after the first third."""
    months = [m for m in devnet.answer_key["months"] if m.get("decided_height") is not None]
    deciding = sorted({int(m["decided_height"]) for m in months})
    start = deciding[len(deciding) // 3]
    inscribed: dict[int, set[str]] = {}
    with (devnet.datadir / "inscriptions.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if row["height"] is not None:
                inscribed.setdefault(int(row["height"]), set()).add(row["kind"])
    tip = max(max(inscribed), deciding[-1])
    kinds = {
        "quiet": [h for h in range(start, tip) if h not in inscribed],
        "package": sorted(
            h
            for h, ks in inscribed.items()
            if h >= start and ks & PACKAGE_KINDS and h not in deciding
        ),
        "deciding": [h for h in deciding if h > start],
    }
    return {kind: _spread(hs, samples) for kind, hs in kinds.items()}


def _spread(heights: list[int], n: int) -> list[int]:
    if len(heights) <= n:
        return heights
    step = len(heights) / n
    return [heights[int(i * step + step / 2)] for i in range(n)]


def raw_blocks(datadir: Path, first: int, last: int) -> Iterator[bytes]:
    """The devnet's blocks ``first..last`` as they were mined."""
    with Chain.open(datadir) as chain:
        for height in range(first, last + 1):
            yield chain.read_block(chain.hash_at(height))


@dataclass
class Side:
    """One warehouse following the replayed node."""

    mode: str
    warehouse: Warehouse
    defs: dg.Definitions
    instance: dg.DagsterInstance
    cursors: Cursors = field(default_factory=Cursors)
    committed: dict[int, float] = field(default_factory=dict)
    changed: threading.Condition = field(default_factory=threading.Condition)
    follower: BackgroundFollower | None = None

    def on_commit(self, manifest: object) -> None:
        with self.changed:
            self.committed.setdefault(manifest.tip_height, time.perf_counter())  # type: ignore[attr-defined]
            self.changed.notify_all()

    def wait_commit(self, height: int, timeout: float = 600) -> float:
        with self.changed:
            if not self.changed.wait_for(
                lambda: max(self.committed, default=-1) >= height, timeout
            ):
                raise TimeoutError(f"{self.mode}: the follower did not reach height {height}")
            return min(t for h, t in self.committed.items() if h >= height)

    def tick_to(self, height: int, *, measured: bool) -> tuple[float, dict[str, float], bool]:
        """Tick until the published file shows ``height``; the seconds, step timings, and
        whether rules_evaluation carried the saved evaluation (``drey.rules.advance``)."""
        if self.mode == "full":  # every tick: a digest of a resumed month pickles differently
            self.warehouse.store.state_path(EVALUATION_STATE).unlink(missing_ok=True)
        if self.mode == "rebuild":
            records = self.warehouse.store.built_from_path("any").parent
            shutil.rmtree(records, ignore_errors=True)
        started = time.perf_counter()
        steps: dict[str, float] = {}
        carried = False
        cache = self.defs.resources["warehouse"].state_cache
        cold = cache.entries.clear if self.mode == "cold" else None
        while not _published(self.warehouse.store.warehouse, height):
            done = tick(
                self.defs, self.instance, self.warehouse, self.cursors, quiet=True, before_run=cold
            )
            for run in done.runs:
                for event in run.all_events:
                    if event.event_type_value == "STEP_SUCCESS":
                        key = event.step_key
                        ms = event.event_specific_data.duration_ms
                        steps[key] = steps.get(key, 0.0) + ms / 1000
                    carried = carried or _carried(event)
        return time.perf_counter() - started, steps, carried


def _never_advance(root: Path) -> None:
    """The ``walk`` side: its rules_evaluation never carries the saved evaluation (the other
    sides, in the same process, still do)."""
    carry = rules_assets._advanced

    def walk_here(context: Any, *args: Any) -> Any:
        if context.resources.warehouse.store.root == root:
            return None
        return carry(context, *args)

    rules_assets._advanced = walk_here


def _carried(event: Any) -> bool:
    """Whether ``event`` is rules_evaluation's materialization saying it carried."""
    if event.event_type_value != "ASSET_MATERIALIZATION":
        return False
    materialization = event.event_specific_data.materialization
    if materialization.asset_key.to_user_string() != "rules_evaluation":
        return False
    advanced = materialization.metadata.get("advanced")
    return advanced is not None and advanced.value is True


def _published(path: Path, height: int) -> bool:
    con = duckdb.connect(str(path), read_only=True)
    try:
        (shown,) = con.execute("select max(height) from blocks").fetchone()  # type: ignore[misc]
        (evaluated,) = con.execute("select evaluation_tip from warehouse_info").fetchone()  # type: ignore[misc]
        return shown == height and evaluated == height
    finally:
        con.close()


def build_side(
    mode: str, served: Served, devnet: Devnet, root: Path, collector: str | None
) -> Side:
    shutil.rmtree(root, ignore_errors=True)
    shards = root / "shards"
    follow_to_tip(served.follow_config(shards, devnet.vault_scripts))
    warehouse = Warehouse(
        shard_root=str(shards),
        warehouse_dir=str(root / "warehouse"),
        founder=devnet.founder,
        collector=collector,
    )
    side = Side(mode, warehouse, build_definitions(warehouse), dg.DagsterInstance.ephemeral())
    if mode == "walk":
        _never_advance(warehouse.store.root)
    side.committed[served.chain.height] = time.perf_counter()  # the shards are at the tip
    started = time.perf_counter()
    build_all(side.defs, side.instance, quiet=True)
    print(
        f"  {mode}: built at height {served.chain.height} in {time.perf_counter() - started:.1f} s"
    )
    config = served.follow_config(shards, devnet.vault_scripts)
    side.follower = BackgroundFollower(config, on_commit=side.on_commit).start()
    side.tick_to(served.chain.height, measured=False)  # align the cursors with the build
    return side


def submit(served: Served, blocks: Iterator[bytes], through: int) -> float:
    """Submit replayed blocks up to height ``through``; the time the last one was accepted."""
    while served.chain.height < through:
        result = served.chain.submit_block(next(blocks))
        if result.status == "rejected":
            raise RuntimeError(f"replayed block refused: {result.reason}")
    return time.perf_counter()


def measure(
    devnet: Devnet, workdir: Path, samples: int, modes: list[str], collector: str | None = None
) -> list[dict[str, object]]:
    """Replay the devnet and time every sample block on every side."""
    chosen = sample_heights(devnet, samples)
    order = sorted((h, kind) for kind, hs in chosen.items() for h in hs)
    first = order[0][0]
    replay = workdir / "replay"
    shutil.rmtree(replay, ignore_errors=True)
    blocks = raw_blocks(devnet.datadir, 1, order[-1][0])
    with Chain.create(replay / "devnet") as chain:
        while chain.height < first - 1:
            chain.submit_block(next(blocks))
    rows: list[dict[str, object]] = []
    with serve(replay / "devnet") as served:
        sides = [build_side(m, served, devnet, replay / m, collector) for m in modes]
        try:
            for i, (height, kind) in enumerate(order):
                submit(served, blocks, height - 1)
                for side in sides:
                    side.wait_commit(height - 1)
                    side.tick_to(height - 1, measured=False)
                submitted = submit(served, blocks, height)
                for side in sides if i % 2 == 0 else reversed(sides):
                    follow = side.wait_commit(height) - submitted
                    seconds, steps, carried = side.tick_to(height, measured=True)
                    row = {"height": height, "kind": kind, "mode": side.mode, "carried": carried}
                    row |= {"follow_s": follow, "tick_s": seconds, "latency_s": follow + seconds}
                    rows.append(row | {"steps": steps})
                    top = sorted(steps.items(), key=lambda kv: -kv[1])[:3]
                    print(
                        f"  {height} {kind:8} {side.mode:6} {follow + seconds:6.2f} s  "
                        + ("carried  " if carried else "")
                        + ", ".join(f"{k} {v:.2f}" for k, v in top),
                        flush=True,
                    )
        finally:
            for side in sides:
                if side.follower is not None:
                    side.follower.stop()
    return rows


def summary(rows: list[dict[str, object]]) -> list[str]:
    """Median and p95 per kind of block and side; quiet blocks also split by whether the
    resumed side carried its evaluation (a quiet block at a height the rules wait for walks)."""
    lines = []
    carried_at = {r["height"] for r in rows if r["carried"]}
    groups = {
        "quiet": lambda r: r["kind"] == "quiet",
        "  carried": lambda r: r["kind"] == "quiet" and r["height"] in carried_at,
        "  waited": lambda r: r["kind"] == "quiet" and r["height"] not in carried_at,
        "package": lambda r: r["kind"] == "package",
        "deciding": lambda r: r["kind"] == "deciding",
    }
    for kind, chosen in groups.items():
        for mode in MODES:
            lat = sorted(
                float(r["latency_s"])  # type: ignore[arg-type]
                for r in rows
                if chosen(r) and r["mode"] == mode
            )
            if not lat:
                continue
            p95 = lat[min(len(lat) - 1, round(0.95 * (len(lat) - 1)))]
            lines.append(
                f"{kind:8} {mode:6} median {statistics.median(lat):6.2f} s  p95 {p95:6.2f} s  "
                f"({len(lat)} blocks: {', '.join(f'{x:.2f}' for x in lat)})"
            )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--samples", type=int, default=5, help="blocks of each kind")
    parser.add_argument("--workdir", type=Path, default=REPO / "var" / "bench")
    parser.add_argument("--modes", default="resume,cold", help=f"any of {', '.join(MODES)}")
    parser.add_argument("--collector", choices=COLLECTOR_MODES, help="default: the setting's")
    parser.add_argument("--out", type=Path, help="default: latency_bench.json in the devnet's dir")
    args = parser.parse_args()
    modes = args.modes.split(",")
    if unknown := set(modes) - set(MODES):
        parser.error(f"unknown modes: {', '.join(sorted(unknown))}")
    devnet, simulated = devnet_for(args.workdir, args.months, args.users)
    sim = "reused" if simulated is None else f"simulated in {simulated:.0f} s"
    print(f"== {args.months} months × {args.users:,} users (devnet {sim})", flush=True)
    workdir = args.workdir / f"m{args.months}-u{args.users}"
    rows = measure(devnet, workdir, args.samples, modes, args.collector)
    for line in summary(rows):
        print(line)
    out = args.out or workdir / "latency_bench.json"
    out.write_text(json.dumps(rows, indent=1))
    print(f"figures: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
