"""Follower benchmarks: backfill throughput (RPC, REST, block files), tip latency, memory,
against the dev node and against a real bitcoind on the same blocks in the same run.

    uv run python bench/follow.py [--blocks 100] [--repeat 3] [--tip-small 40] [--tip-big 20]
                                  [--no-core]

Blocks are shaped like mainnet's: built with the devnet wallet, each has ~2,000 transactions
and ~1.46 MB (1,800 payments with four outputs, 100 commit/reveal inscriptions of 8 kB
incompressible bodies), validated by libbitcoinkernel. The chain is cached under
``var/bench/follow-chain`` (building 100 blocks takes about two minutes).

- Backfill: the dev node runs as its own process (as bitcoind would), the follower as another
  (``indexer follow --exit-at-tip``); the figure is the follower's own ``backfill_done`` event
  (fetch + scan + tables + Parquet + fsync + manifest commits), over the mainnet-shaped blocks
  only. Sources: RPC ``getblock <hash> 0`` (hex in JSON), REST ``/rest/block/<hash>.bin``, and
  the blk*.dat files of the stopped node (obfuscated with its xor.dat key). REST is also run
  with one fetch worker and no prefetch, to show what pipelining buys.
- Tip latency: a twin chain (same seed, so identical blocks) builds blocks in this process and
  submits them to the node (``submitblock``); the follower logs, per block, the time from its
  receipt of the ZMQ notification to the durable commit (``latency_ms``), and we also take
  submit → commit (wall clock, both processes on this machine).
- Memory: the follower process's RSS (VmRSS) and peak (VmHWM) after following the tip.
- bitcoind (the one ``tools/find-bitcoind`` prints; ``--no-core`` leaves it out): it opens a
  copy of the same data directory and serves the same blocks over RPC and REST, and for the
  tip its own copy of chain A receives the twin's blocks; each figure is taken for both nodes,
  interleaved, in one run.
"""

from __future__ import annotations

import argparse
import calendar
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from btc import TxOut  # noqa: E402
from btc.ord.envelope import Envelope  # noqa: E402
from devnet.chain import Chain  # noqa: E402
from devnet.tx.wallet import Wallet  # noqa: E402
from indexer.node import RPCClient  # noqa: E402
from tests.core.bitcoind import Bitcoind, find_bitcoind  # noqa: E402

BASE = 121  # blocks before the mainnet-shaped ones (coinbase maturity)
SEED = b"bench-follow"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def big_block_txs(chain: Chain, others: list[bytes], salt: int) -> list:
    nh = chain.height + 1
    rnd = __import__("random").Random(salt)
    txs = [
        chain.wallet.fund([TxOut(1000 + i, others[j]) for j in range(4)], next_height=nh)
        for i in range(1800)
    ]
    for _ in range(100):
        body = rnd.randbytes(8000)
        cr = chain.wallet.inscribe(
            [Envelope(body=body, content_type="image/png", metaprotocol="drey/1")],
            next_height=nh,
        )
        txs += cr.transactions
    return txs


def others_scripts() -> list[bytes]:
    return [Wallet(b"bench-others", name=f"o{i}").script_pubkey for i in range(4)]


def build_chain(path: Path, blocks: int) -> None:
    if path.exists():
        with Chain.open(path) as chain:
            if chain.height == BASE + blocks:
                return
        shutil.rmtree(path)
    print(f"building {blocks} mainnet-shaped blocks in {path} …", flush=True)
    t0 = time.perf_counter()
    with Chain.create(path, seed=SEED) as chain:
        chain.mine(BASE)
        others = others_scripts()
        for b in range(blocks):
            chain.mine_block(big_block_txs(chain, others, b))
            if (b + 1) % 10 == 0:
                print(f"  {b + 1}/{blocks} ({time.perf_counter() - t0:.0f} s)", flush=True)


class NodeProc:
    def __init__(self, datadir: Path) -> None:
        self.port = free_port()
        self.zmq = f"tcp://127.0.0.1:{free_port()}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "devnet", "node", "--datadir", str(datadir),
             "--rpc-port", str(self.port), "--rest", "--zmq-pub", self.zmq],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(self.proc.stderr.read().decode() if self.proc.stderr else "node died")
        self.url = f"http://127.0.0.1:{self.port}/"
        self.cookie = datadir / "regtest" / ".cookie"

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(60)


class CoreProc:
    """bitcoind on a copy of ``datadir`` (Core rewrites its index and chainstate), with REST
    and ZMQ ``sequence`` + ``hashblock``; the same fields as :class:`NodeProc`."""

    def __init__(self, binary: Path, datadir: Path, work: Path, name: str) -> None:
        copy = work / f"core-{name}"
        if not copy.exists():
            shutil.copytree(datadir, copy)
        self.core = Bitcoind(binary, copy, zmq="both").start()
        self.port = self.core.rpc_port
        self.url = self.core.url
        self.zmq = self.core.zmq_url
        self.cookie = self.core.cookie
        self.blocks_dir = self.core.blocks_dir

    def stop(self) -> None:
        self.core.stop()


def start_node(kind: str, datadir: Path, work: Path, binary: Path | None) -> NodeProc | CoreProc:
    if kind == "bitcoind":
        assert binary is not None
        return CoreProc(binary, datadir, work, datadir.name)
    return NodeProc(datadir)


def write_config(path: Path, **kv: object) -> Path:
    lines = []
    for k, v in kv.items():
        if v is None:
            continue
        if isinstance(v, str | Path):
            lines.append(f'{k} = "{v}"')
        elif isinstance(v, list | tuple):
            lines.append(f"{k} = [" + ", ".join(f'"{x}"' for x in v) + "]")
        else:
            lines.append(f"{k} = {v}")
    path.write_text("\n".join(lines) + "\n")
    return path


def run_follower(config: Path, *extra: str) -> list[dict]:
    out = subprocess.run(
        [sys.executable, "-m", "indexer", "follow", "--config", str(config),
         "--log-format", "json", "--progress", "never", *extra],
        cwd=REPO, capture_output=True, text=True,
    )  # fmt: skip
    events = [json.loads(line) for line in out.stderr.splitlines() if line.startswith("{")]
    if out.returncode != 0:
        raise SystemExit(f"follower failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return events


def backfill(
    label: str,
    chain_dir: Path,
    work: Path,
    *,
    source: str,
    blocks: int,
    node_kind: str = "dev node",
    binary: Path | None = None,
    **tuning: object,
) -> dict:
    slug = f"{node_kind}-{label}".replace(" ", "-")
    root = work / f"shards-{slug}"
    shutil.rmtree(root, ignore_errors=True)
    node = None if source == "files" else start_node(node_kind, chain_dir, work, binary)
    try:
        port = node.port if node else free_port()
        cfg = write_config(
            work / f"{slug}.toml",
            network="regtest",
            shard_root=root,
            start_height=BASE + 1,
            finality_depth=2,
            range_blocks=100,
            bucket_blocks=10_000,
            rpc_url=f"http://127.0.0.1:{port}/",
            rpc_cookie=node.cookie if node else chain_dir / "regtest" / ".cookie",
            rest_url=f"http://127.0.0.1:{port}" if source == "rest" else None,
            blocks_dir=chain_dir / "regtest" / "blocks" if source == "files" else None,
            backoff_max=0.5,
            **tuning,
        )
        t0 = time.perf_counter()
        if source == "files":
            # The node is stopped: the follower indexes the files' best chain up to its tip
            # minus the finality depth, then waits for a node; stop it once done.
            proc = subprocess.Popen(
                [sys.executable, "-m", "indexer", "follow", "--config", str(cfg),
                 "--log-format", "json", "--progress", "never"],
                cwd=REPO, stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
            events = []
            assert proc.stderr is not None
            for line in proc.stderr:
                if line.startswith("{"):
                    events.append(json.loads(line))
                    # Done with the files once it starts waiting for the node.
                    if events[-1]["event"] == "waiting_for_node":
                        break
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
        else:
            events = run_follower(cfg, "--exit-at-tip")
        wall = time.perf_counter() - t0
    finally:
        if node:
            node.stop()
    done = [e for e in events if e["event"] == "backfill_done"]
    if not done:
        raise SystemExit(f"{label}: no backfill_done event: {events[-5:]}")
    ev = done[0]
    idx = [e for e in events if e["event"] == "block_files_indexed"]
    return {
        "label": label,
        "node": node_kind,
        "blocks": ev["blocks"],
        "seconds": ev["seconds"],
        "blocks_per_s": ev["blocks_per_s"],
        "mb_per_s": ev["mb_per_s"],
        "wall_s": round(wall, 2),
        "index_s": idx[0]["seconds"] if idx else None,
        "fetch_wait_s": ev.get("fetch_wait_s"),
        "scan_s": ev.get("scan_s"),
        "commit_s": ev.get("commit_s"),
    }


def tip_latency(
    work: Path,
    n_small: int,
    n_big: int,
    *,
    node_kind: str = "dev node",
    binary: Path | None = None,
) -> dict:
    """Node on chain A; twin chain B (same seed and calls: identical blocks) builds blocks and
    submits them; the follower (own process) reports receipt → durable per block."""
    tag = node_kind.replace(" ", "-")
    a_dir, b_dir = work / f"lat-a-{tag}", work / f"lat-b-{tag}"
    for d in (a_dir, b_dir):
        shutil.rmtree(d, ignore_errors=True)
    with Chain.create(a_dir, seed=SEED) as a:
        a.mine(BASE)
        tip = a.tip.hash_hex
    twin = Chain.create(b_dir, seed=SEED)
    twin.mine(BASE)
    assert twin.tip.hash_hex == tip, "twin chains differ"
    node = start_node(node_kind, a_dir, work, binary)
    root = work / f"shards-latency-{tag}"
    shutil.rmtree(root, ignore_errors=True)
    cfg = write_config(
        work / f"latency-{tag}.toml",
        network="regtest",
        shard_root=root,
        start_height=0,
        rpc_url=node.url,
        rpc_cookie=node.cookie,
        rest_url=node.url.rstrip("/"),
        zmq=[node.zmq],
        poll_interval=30,
    )
    log = work / f"latency-{tag}.log"
    with open(log, "w") as out:
        follower = subprocess.Popen(
            [sys.executable, "-m", "indexer", "follow", "--config", str(cfg),
             "--log-format", "json", "--progress", "never"],
            cwd=REPO, stderr=out,
        )  # fmt: skip
    rpc = RPCClient(node.url, cookie_file=node.cookie)
    submitted: dict[str, float] = {}
    sizes: dict[str, int] = {}
    try:
        deadline = time.monotonic() + 60
        while not log.read_text().count('"backfill_done"') and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
        others = others_scripts()
        for i in range(n_small + n_big):
            big = i >= n_small
            block = twin.mine_block(big_block_txs(twin, others, 10_000 + i) if big else [])
            raw = block.serialize()
            t = time.time()
            assert rpc.submitblock(raw.hex()) is None
            submitted[block.header.hash_hex] = t
            sizes[block.header.hash_hex] = len(raw)
            time.sleep(0.3 if not big else 0.2)
        deadline = time.monotonic() + 60
        last = twin.tip.hash_hex
        while last not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
        status = Path(f"/proc/{follower.pid}/status").read_text()
        mem = {
            k: int(line.split()[1]) // 1024
            for line in status.splitlines()
            for k in ("VmRSS", "VmHWM")
            if line.startswith(k + ":")
        }
    finally:
        follower.send_signal(signal.SIGTERM)
        follower.wait(30)
        rpc.close()
        node.stop()
        twin.close()
    events = [json.loads(x) for x in log.read_text().splitlines() if x.startswith("{")]
    small, big, e2e_small, e2e_big = [], [], [], []
    for e in events:
        if e["event"] != "block" or e["hash"] not in submitted:
            continue
        ts = calendar.timegm(time.strptime(e["ts"][:19], "%Y-%m-%dT%H:%M:%S"))
        ts += int(e["ts"][20:23]) / 1000
        e2e = (ts - submitted[e["hash"]]) * 1000
        is_big = sizes[e["hash"]] > 100_000
        if e.get("latency_ms") is not None:
            (big if is_big else small).append(e["latency_ms"])
        (e2e_big if is_big else e2e_small).append(e2e)

    def pct(xs: list[float]) -> str:
        if not xs:
            return "n/a"
        xs = sorted(xs)
        p99 = xs[min(len(xs) - 1, round(0.99 * (len(xs) - 1)))]
        return f"median {statistics.median(xs):.1f} ms, p99 {p99:.1f} ms (n={len(xs)})"

    return {
        "small_receipt_to_durable": pct(small),
        "small_submit_to_durable": pct(e2e_small),
        "big_receipt_to_durable": pct(big),
        "big_submit_to_durable": pct(e2e_big),
        "big_block_bytes": max(sizes.values()),
        "rss_mb": mem.get("VmRSS"),
        "peak_rss_mb": mem.get("VmHWM"),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--blocks", type=int, default=100, help="mainnet-shaped blocks to backfill")
    ap.add_argument("--tip-small", type=int, default=40, help="empty blocks at the tip")
    ap.add_argument("--tip-big", type=int, default=20, help="mainnet-shaped blocks at the tip")
    ap.add_argument("--cache", type=Path, default=REPO / "var" / "bench" / "follow-chain")
    ap.add_argument("--repeat", type=int, default=3, help="runs per source (median reported)")
    ap.add_argument("--no-core", action="store_true", help="the dev node only (no bitcoind)")
    ap.add_argument("--keep", action="store_true", help="keep the shard roots")
    args = ap.parse_args()

    binary = None if args.no_core else find_bitcoind()
    nodes = ["dev node"] if binary is None else ["dev node", "bitcoind"]
    build_chain(args.cache, args.blocks)
    work = Path(tempfile.mkdtemp(prefix="bench-follow-"))
    try:
        one = {"fetch_workers": 1, "prefetch_blocks": 1}
        variants = [
            ("RPC getblock 0", "rpc", {}, nodes),
            ("REST .bin", "rest", {}, nodes),
            ("REST .bin, 1 worker, no prefetch", "rest", one, nodes),
            ("block files (xor.dat key)", "files", {}, ["none (stopped)"]),
            ("block files, 1 worker, no prefetch", "files", one, ["none (stopped)"]),
        ]
        rows = []
        for label, source, tuning, kinds in variants:
            runs: dict[str, list[dict]] = {k: [] for k in kinds}
            for _ in range(args.repeat):  # the nodes interleaved, run by run
                for kind in kinds:
                    runs[kind].append(backfill(
                        label, args.cache, work, source=source, blocks=args.blocks,
                        node_kind=kind, binary=binary, **tuning,
                    ))  # fmt: skip
            for kind in kinds:
                ordered = sorted(runs[kind], key=lambda r: r["blocks_per_s"])
                rows.append(ordered[len(ordered) // 2])  # the median run
        print(
            "\n| source | node | blocks | seconds | blocks/s | MB/s "
            "| decoder blocked on fetch | scan | tables+write+commit |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            extra = f" (+ {r['index_s']} s indexing the files)" if r["index_s"] is not None else ""
            print(
                f"| {r['label']} | {r['node']} | {r['blocks']} | {r['seconds']}{extra} | "
                f"{r['blocks_per_s']} | {r['mb_per_s']} | {r['fetch_wait_s']} s | "
                f"{r['scan_s']} s | {r['commit_s']} s |"
            )
        lats = {k: tip_latency(work, args.tip_small, args.tip_big, node_kind=k, binary=binary)
                for k in nodes}  # fmt: skip
        print("\n| tip figure | " + " | ".join(nodes) + " |")
        print("|---|" + "---|" * len(nodes))
        for key in lats[nodes[0]]:
            print(f"| {key} | " + " | ".join(str(lats[k][key]) for k in nodes) + " |")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"kept {work}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
