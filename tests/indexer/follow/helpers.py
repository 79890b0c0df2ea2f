"""Shared pieces of the follower tests: a dev node, a follower in a thread or a subprocess,
chain activity (inscriptions, vault payments and spends, reorgs), and the reference index
("a fresh index of the final chain") the shards must equal."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from btc.ord.envelope import Envelope
from btc.scan import outpoint_key, scan_block
from devnet.chain import Chain
from devnet.node.server import DevNode
from devnet.node.zmqpub import NotifierConfig
from devnet.tx.wallet import Wallet
from indexer.follow import FollowConfig, Follower, read_committed, read_manifest
from indexer.follow.errors import StoppedError
from indexer.shards import SCHEMAS, tables_for_blocks

REPO = Path(__file__).resolve().parents[3]

SORT_KEYS: dict[str, Callable[[dict], Any]] = {
    "blocks": lambda r: r["height"],
    "inscriptions": lambda r: r["id"],
    "inscription_refs": lambda r: (r["from_id"], r["path_kind"], r["path"], r["to_id"] or ""),
    "vault_outputs": lambda r: (r["txid"], r["vout"]),
    "vault_spends": lambda r: (r["txid"], r["input"]),
}


@dataclass
class Node:
    """A dev node served from this process (so the test can drive the chain directly)."""

    chain: Chain
    node: DevNode
    zmq: str

    @property
    def url(self) -> str:
        return self.node.url

    @property
    def cookie(self) -> Path:
        return self.chain.datadir.cookie_file

    def stop(self) -> None:
        self.node.stop()


def serve(chain: Chain, **kwargs: Any) -> Node:
    node = DevNode(
        chain,
        rpc_port=0,
        rest=True,
        zmq=[
            NotifierConfig("sequence", "tcp://127.0.0.1:0"),
            NotifierConfig("hashblock", "tcp://127.0.0.1:0"),
        ],
        **kwargs,
    )
    node.start()
    return Node(chain, node, node.zmq_endpoints()["tcp://127.0.0.1:0"])


def config_for(root: Path, node: Node | None, **changes: Any) -> FollowConfig:
    """Small layout and short timers so every code path runs on a small chain."""
    base = FollowConfig(
        shard_root=root,
        network="regtest",
        rpc_url=node.url if node else "http://127.0.0.1:9/",
        rpc_cookie=node.cookie if node else root / "no-cookie",
        rest_url=node.url.rstrip("/") if node else None,
        zmq=(node.zmq,) if node else (),
        start_height=0,
        finality_depth=6,
        range_blocks=5,
        bucket_blocks=20,
        retire_grace=0.0,
        poll_interval=0.2,
        backoff_initial=0.02,
        backoff_max=0.3,
        rpc_timeout=5.0,
    )
    return replace(base, **changes)


class Running:
    """A follower running in a thread of the test process."""

    def __init__(self, config: FollowConfig, **kwargs: Any) -> None:
        self.stop_event = threading.Event()
        self.commits = threading.Condition()
        self.follower = Follower(config, stop=self.stop_event, on_commit=self._on_commit, **kwargs)
        self.error: BaseException | None = None
        self.exit_at_tip = False
        self.rebuild_from: int | None = None
        self._thread = threading.Thread(target=self._run, name="follower", daemon=True)

    def _on_commit(self, manifest: Any) -> None:
        with self.commits:
            self.commits.notify_all()

    def _run(self) -> None:
        try:
            self.follower.run(exit_at_tip=self.exit_at_tip, rebuild_from=self.rebuild_from)
        except StoppedError:
            pass
        except BaseException as exc:
            self.error = exc
        with self.commits:
            self.commits.notify_all()

    def start(self) -> Running:
        self._thread.start()
        return self

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float = 30) -> None:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "follower did not stop"

    def stop(self) -> None:
        self.stop_event.set()
        self.join()

    def __enter__(self) -> Running:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_tip(self, block_hash: str, timeout: float = 30, *, after_version: int = -1) -> None:
        """Until a commit newer than ``after_version`` has ``block_hash`` as its tip."""
        root = self.follower.cfg.shard_root
        deadline = time.monotonic() + timeout
        with self.commits:
            while True:
                if self.error is not None:
                    raise AssertionError(f"follower failed: {self.error!r}") from self.error
                m = read_manifest(root)
                if m is not None and m.tip_hash == block_hash and m.version > after_version:
                    return
                left = deadline - time.monotonic()
                if left <= 0:
                    tip = None if m is None else (m.tip_height, m.tip_hash)
                    raise AssertionError(f"follower at {tip}, expected {block_hash}")
                if not self._thread.is_alive():
                    raise AssertionError("follower exited before reaching the tip")
                self.commits.wait(min(left, 0.2))


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


# -- the reference index -----------------------------------------------------------------------
def reference_from_blocks(
    raws: Iterator[bytes], *, start: int = 0, vault_scripts: tuple[bytes, ...] = ()
) -> dict[str, list[dict]]:
    """A fresh index of a chain given its blocks in height order from ``start``."""
    vault: set[bytes] = set()
    scanned = []
    for i, raw in enumerate(raws):
        b = scan_block(raw, vault_scripts=vault_scripts, vault_outpoints=vault)
        for o in b.vault_outputs:
            vault.add(outpoint_key(o.txid, o.vout))
        for s in b.vault_spends:
            vault.discard(outpoint_key(s.spent_txid, s.spent_vout))
        scanned.append((start + i, b))
    tables = tables_for_blocks(scanned)
    return {name: sorted(t.to_pylist(), key=SORT_KEYS[name]) for name, t in tables.items()}


def reference(chain: Chain, *, start: int = 0, vault_scripts: tuple[bytes, ...] = ()) -> dict:
    with chain.lock:
        hashes = [chain.hash_at(h) for h in range(start, chain.height + 1)]
    return reference_from_blocks(
        (chain.read_block(h) for h in hashes), start=start, vault_scripts=vault_scripts
    )


def committed(root: Path) -> dict[str, list[dict]]:
    return {
        name: sorted(read_committed(root, name).to_pylist(), key=SORT_KEYS[name])
        for name in SCHEMAS
    }


def assert_fresh_index(root: Path, expected: dict[str, list[dict]]) -> None:
    """The committed rows equal the reference, with no duplicate and no gap."""
    got = committed(root)
    heights = [r["height"] for r in got["blocks"]]
    assert heights == sorted(set(heights)), "duplicate block rows"
    if heights:
        assert heights == list(range(heights[0], heights[-1] + 1)), "gap in block heights"
    for name in SCHEMAS:
        assert len(got[name]) == len(expected[name]), (
            f"{name}: {len(got[name])} rows, expected {len(expected[name])}"
        )
        assert got[name] == expected[name], f"{name} differs from a fresh index"


def disk_files(root: Path) -> set[str]:
    return {
        p.relative_to(root).as_posix()
        for table in SCHEMAS
        if (root / table).is_dir()
        for p in (root / table).rglob("*")
        if p.is_file()
    }


# -- chain activity -----------------------------------------------------------------------------
@dataclass
class Activity:
    """Random but seeded chain changes: empty blocks, inscriptions (some recursive), vault
    payments and spends, and shallow reorgs."""

    chain: Chain
    vault: Wallet
    rng: random.Random
    max_reorg: int = 3
    inscription_ids: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)

    @classmethod
    def create(cls, chain: Chain, *, seed: int = 1, max_reorg: int = 3) -> Activity:
        vault = Wallet(chain.seed, name="vault")
        chain.add_wallet(vault)
        return cls(chain, vault, random.Random(seed), max_reorg)

    @property
    def vault_script(self) -> bytes:
        return self.vault.script_pubkey

    def inscribe(self, n: int = 2) -> None:
        envs = []
        for i in range(n):
            if self.inscription_ids and self.rng.random() < 0.5:
                ref = self.rng.choice(self.inscription_ids)
                body = f"<img src=/content/{ref}> {i}".encode()
                envs.append(Envelope(body=body, content_type="text/html;charset=utf-8"))
            else:
                body = f"drey {self.rng.random()} {i}".encode()
                envs.append(Envelope(body=body, content_type="text/plain", metaprotocol="drey/1"))
        with self.chain.lock:
            cr = self.chain.inscribe(envs, fee_rate=2.0)
        self.inscription_ids += list(cr.inscription_ids)
        self.log.append(f"inscribe {n}")

    def pay_vault(self) -> None:
        c = self.chain
        with c.lock:
            tx = c.wallet.send(
                self.vault_script, 30_000 + self.rng.randrange(1000), next_height=c.height + 1
            )
            c.mine_block([tx])
        self.log.append("pay_vault")

    def spend_vault(self) -> bool:
        c = self.chain
        with c.lock:
            if not self.vault.spendable(c.height + 1, include_unconfirmed=False):
                return False
            tx = self.vault.send(c.wallet.script_pubkey, 5_000, next_height=c.height + 1)
            c.mine_block([tx])
        self.log.append("spend_vault")
        return True

    def mine(self, n: int = 1) -> None:
        self.chain.mine(n)
        self.log.append(f"mine {n}")

    def reorg(self, depth: int) -> None:
        """Replace the top ``depth`` blocks with ``depth + 1`` new ones."""
        c = self.chain
        with c.lock:
            c.fork(c.height - depth)
        self.log.append(f"reorg {depth}")

    def step(self) -> None:
        r = self.rng.random()
        if r < 0.3:
            self.inscribe(self.rng.randint(1, 3))
        elif r < 0.45:
            self.pay_vault()
        elif r < 0.6:
            if not self.spend_vault():
                self.mine()
        elif r < 0.8:
            self.mine(self.rng.randint(1, 3))
        else:
            self.reorg(self.rng.randint(1, self.max_reorg))


def new_chain(path: Path, *, blocks: int = 101, seed: bytes = b"follow") -> Chain:
    chain = Chain.create(path, seed=seed)
    chain.mine(blocks)
    return chain


# -- a follower subprocess ---------------------------------------------------------------------
def write_toml(path: Path, config: FollowConfig) -> Path:
    lines = [
        f'network = "{config.network}"',
        f'shard_root = "{config.shard_root}"',
        f"start_height = {config.first_height}",
        f"finality_depth = {config.finality_depth}",
        "vault_scripts = [" + ", ".join(f'"{s.hex()}"' for s in config.vault_scripts) + "]",
        "[node]",
        f'rpc_url = "{config.resolved_rpc_url}"',
        *(
            [f'rpc_user = "{config.rpc_user}"', f'rpc_password = "{config.rpc_password}"']
            if config.rpc_user is not None
            else [f'rpc_cookie = "{config.rpc_cookie}"']
        ),
    ]
    if config.rest_url:
        lines.append(f'rest_url = "{config.rest_url}"')
    if config.zmq:
        lines.append("zmq = [" + ", ".join(f'"{z}"' for z in config.zmq) + "]")
    lines += [
        "[storage]",
        f"range_blocks = {config.range_blocks}",
        f"bucket_blocks = {config.bucket_blocks}",
        f"retire_grace = {config.retire_grace}",
        "[tuning]",
        f"poll_interval = {config.poll_interval}",
        f"backoff_initial = {config.backoff_initial}",
        f"backoff_max = {config.backoff_max}",
    ]
    if config.blocks_dir:
        lines.insert(0, f'blocks_dir = "{config.blocks_dir}"')
    path.write_text("\n".join(lines) + "\n")
    return path


def follow_process(
    config_file: Path, *extra: str, env: dict[str, str] | None = None, log: Path | None = None
) -> subprocess.Popen:
    out = open(log, "ab") if log is not None else subprocess.DEVNULL  # noqa: SIM115
    return subprocess.Popen(
        [sys.executable, "-m", "indexer", "follow", "--config", str(config_file), *extra],
        cwd=REPO,
        env={**os.environ, **(env or {})},
        stdout=out,
        stderr=out,
    )


def sigkill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)


def follow_to_tip_cli(
    config_file: Path, *extra: str, timeout: float = 120
) -> subprocess.CompletedProcess:
    """``indexer follow --exit-at-tip --config F [extra]`` to completion, output captured as
    text."""
    return subprocess.run(
        [sys.executable, "-m", "indexer", "follow", "--exit-at-tip", "--config", str(config_file),
         *extra],
        cwd=REPO, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
