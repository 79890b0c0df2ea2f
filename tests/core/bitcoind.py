"""A real Bitcoin Core for the tests: ``bitcoind -regtest`` in its own data directory, on free
ports, started and stopped by the test (and killed by the kernel if the test process dies, so
none is ever left running).

The binary is the one ``tools/find-bitcoind`` prints (``$BITCOIND``, ``bitcoind`` on PATH, or
one built once from the Bitcoin Core source beside the repository). ``make test`` resolves it
first and exports ``BITCOIND``; run alone, the fixture resolves it the same way.

Blocks reach Core the way they reach any node: ``submitblock``. A devnet :class:`Chain` is the
block producer (its wallet makes inscriptions and vault payments, libbitcoinkernel validates
them); :meth:`Bitcoind.sync_from` submits whatever of its active chain Core lacks, so a devnet
reorg becomes competing blocks Core must reorganise to. Core mines its own blocks with
``generatetodescriptor``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from devnet.chain import Chain
from indexer.follow import FollowConfig
from indexer.node import RPCClient
from indexer.node.errors import NodeError, RPCError

REPO = Path(__file__).resolve().parents[2]
FIND = REPO / "tools" / "find-bitcoind"
# Core's own blocks pay an OP_TRUE output: no wallet, no keys (nobody here spends them).
MINE_TO = "raw(51)"
Auth = Literal["cookie", "password"]
Zmq = Literal["sequence", "hashblock", "both", "none"]


class CoreUnavailableError(RuntimeError):
    """No bitcoind could be found or built; the message is ``tools/find-bitcoind``'s line."""


def find_bitcoind() -> Path:
    """``$BITCOIND`` (as ``make test`` exports it), else what ``tools/find-bitcoind`` prints."""
    given = os.environ.get("BITCOIND")
    if given and os.access(given, os.X_OK):
        return Path(given)
    found = subprocess.run([str(FIND)], capture_output=True, text=True, check=False)
    if found.returncode != 0:
        last = (found.stderr.strip().splitlines() or ["tools/find-bitcoind failed"])[-1]
        raise CoreUnavailableError(last)
    return Path(found.stdout.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# util-linux's setpriv (Debian essential) sets PR_SET_PDEATHSIG and execs bitcoind: the kernel
# SIGKILLs it when the test process goes away, even by SIGKILL. (A preexec_fn could do the same
# but is unsafe once the test has threads.)
DIE_WITH_PARENT = ("setpriv", "--pdeathsig", "KILL", "--")


@dataclass
class Bitcoind:
    """One ``bitcoind -regtest`` process; :meth:`start` it, :meth:`stop` or :meth:`kill` it."""

    binary: Path
    datadir: Path
    auth: Auth = "cookie"
    rest: bool = True
    zmq: Zmq = "both"
    extra_args: Sequence[str] = ()
    # Only -datadir: everything else comes from <datadir>/bitcoin.conf, as an operator runs it.
    from_conf: bool = False
    rpc_port: int = field(default_factory=free_port)
    zmq_port: int = field(default_factory=free_port)
    user: str = "drey"
    password: str = "correct-horse-battery"
    proc: subprocess.Popen[bytes] | None = None
    _rpc: RPCClient | None = None

    # -- where things are -----------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.rpc_port}/"

    @property
    def cookie(self) -> Path:
        return self.datadir / "regtest" / ".cookie"

    @property
    def blocks_dir(self) -> Path:
        return self.datadir / "regtest" / "blocks"

    @property
    def zmq_url(self) -> str:
        return f"tcp://127.0.0.1:{self.zmq_port}"

    @property
    def rpc(self) -> RPCClient:
        if self._rpc is None:
            self._rpc = self.client()
        return self._rpc

    def client(self) -> RPCClient:
        if self.auth == "password":
            return RPCClient(self.url, user=self.user, password=self.password, timeout=30)
        return RPCClient(self.url, cookie_file=self.cookie, timeout=30)

    def args(self) -> list[str]:
        if self.from_conf:
            return [f"-datadir={self.datadir}", "-printtoconsole=0", *self.extra_args]
        args = [
            "-regtest", f"-datadir={self.datadir}", "-server=1", "-listen=0", "-dnsseed=0",
            "-fixedseeds=0", "-printtoconsole=0", f"-rpcport={self.rpc_port}",
            "-rpcbind=127.0.0.1", "-rpcallowip=127.0.0.1", f"-rest={int(self.rest)}",
            "-fallbackfee=0.0001",
        ]  # fmt: skip
        if self.auth == "password":
            args += [f"-rpcuser={self.user}", f"-rpcpassword={self.password}"]
        topics = {"both": ("sequence", "hashblock"), "none": ()}.get(self.zmq, (self.zmq,))
        args += [f"-zmqpub{t}={self.zmq_url}" for t in topics]
        return [*args, *self.extra_args]

    def follow_config(self, shard_root: Path, **changes: object) -> FollowConfig:
        """The follower's settings for this node, as docs/follower.md's real-node section has
        them: RPC (cookie or user/password), REST when on, ZMQ when published."""
        auth: dict[str, object] = (
            {"rpc_user": self.user, "rpc_password": self.password}
            if self.auth == "password"
            else {"rpc_cookie": self.cookie}
        )
        base: dict[str, object] = {
            "shard_root": shard_root,
            "network": "regtest",
            "rpc_url": self.url,
            "rest_url": self.url.rstrip("/") if self.rest else None,
            "zmq": () if self.zmq == "none" else (self.zmq_url,),
            "start_height": 0,
            "finality_depth": 6,
            "range_blocks": 5,
            "bucket_blocks": 20,
            "retire_grace": 0.0,
            "poll_interval": 0.2,
            "backoff_initial": 0.02,
            "backoff_max": 0.3,
            "rpc_timeout": 10.0,
            **auth,
        }
        base.update(changes)
        return FollowConfig(**base)  # type: ignore[arg-type]

    # -- life cycle -----------------------------------------------------------------------------
    def start(self, *, wait: bool = True) -> Bitcoind:
        self.datadir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [*DIE_WITH_PARENT, str(self.binary), *self.args()],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 60) -> None:
        """Until RPC answers outside warm-up (-28)."""
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive()
            try:
                self.client().getblockcount()
                return
            except (NodeError, OSError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _check_alive(self) -> None:
        assert self.proc is not None, "bitcoind was not started"
        if self.proc.poll() is not None:
            err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
            raise RuntimeError(f"bitcoind exited with {self.proc.returncode}: {err.strip()}")

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 60) -> None:
        """A clean shutdown (RPC ``stop``), as an operator's service manager does it."""
        if not self.running:
            return
        assert self.proc is not None
        try:
            self.rpc.call("stop")
        except (NodeError, OSError):
            self.proc.terminate()
        self._close_rpc()
        self.proc.wait(timeout)

    def kill(self) -> None:
        """SIGKILL: no flush, no clean shutdown."""
        if self.running:
            assert self.proc is not None
            self.proc.kill()
            self.proc.wait(30)
        self._close_rpc()

    def _close_rpc(self) -> None:
        if self._rpc is not None:
            self._rpc.close()
            self._rpc = None

    def __enter__(self) -> Bitcoind:
        return self if self.running else self.start()

    def __exit__(self, *exc: object) -> None:
        self.kill() if exc[0] is not None else self.stop()

    # -- blocks ---------------------------------------------------------------------------------
    def submit(self, raws: Iterable[bytes]) -> list[str | None]:
        """``submitblock`` each block in order; Core's answers (None: accepted)."""
        return [self.rpc.submitblock(raw.hex()) for raw in raws]

    def sync_from(self, chain: Chain) -> int:
        """Submit every block of ``chain``'s active chain Core does not have on its active
        chain (a devnet reorg becomes a competing branch); returns how many. Raises if Core
        refuses one or ends on another tip."""
        with chain.lock:
            height = chain.height
            hashes = [chain.hash_at(h) for h in range(height + 1)]
            start = self._first_missing(hashes)
            raws = [chain.read_block(h) for h in hashes[start:]]
        # "inconclusive": stored on a side branch that the branch's later blocks will activate.
        answers = enumerate(self.submit(raws))
        refused = [(start + i, r) for i, r in answers if r not in (None, "inconclusive")]
        assert not refused, f"bitcoind refused devnet blocks: {refused[:3]}"
        tip = hashes[-1][::-1].hex()
        assert self.rpc.getbestblockhash() == tip, "bitcoind is not on the devnet's tip"
        return len(raws)

    def _first_missing(self, hashes: Sequence[bytes]) -> int:
        """The lowest height whose devnet block is not on Core's active chain."""
        count = self.rpc.getblockcount()
        lo = 0
        for h in range(min(count, len(hashes) - 1), -1, -1):
            if self.rpc.getblockhash(h) == hashes[h][::-1].hex():
                lo = h + 1
                break
        return lo

    def sync_to(self, chain: Chain) -> int:
        """The other way: submit Core's active blocks the devnet lacks (its kernel reorganises
        to them if they are Core's longer branch), so the devnet can build on Core's tip."""
        count = self.rpc.getblockcount()
        submitted = 0
        with chain.lock:
            for height in range(count + 1):
                ours = chain.hash_at(height) if height <= chain.height else None
                theirs = self.rpc.getblockhash(height)
                if ours is not None and ours[::-1].hex() == theirs:
                    continue
                result = chain.submit_block(self.rpc.getblock_raw(theirs))
                # "inconclusive": stored on a side branch until its last block gives it more work
                assert result.status in ("accepted", "duplicate", "inconclusive"), result
                submitted += 1
            assert chain.tip.hash_hex == self.rpc.getbestblockhash(), "devnet not on Core's tip"
        return submitted

    def mine(self, n: int = 1, *, to: str = MINE_TO) -> list[str]:
        """Core mines ``n`` blocks (coinbase only) on its tip, paying ``to`` (a descriptor:
        a different one makes a branch that cannot repeat an invalidated block)."""
        return list(self.rpc.call("generatetodescriptor", n, to))

    def block(self, height: int) -> bytes:
        return self.rpc.getblock_raw(self.rpc.getblockhash(height))

    def active_blocks(self, start: int = 0) -> list[bytes]:
        """Core's active chain from ``start``, raw."""
        return [self.block(h) for h in range(start, self.rpc.getblockcount() + 1)]

    def invalidate(self, height: int) -> str:
        """``invalidateblock`` the active block at ``height`` (Core rolls back below it)."""
        block_hash = self.rpc.getblockhash(height)
        self.rpc.call("invalidateblock", block_hash)
        return block_hash

    def reconsider(self, block_hash: str) -> None:
        self.rpc.call("reconsiderblock", block_hash)


# The ``make_core`` fixture: ``make_core(name, **fields)`` → a Bitcoind, not yet started.
MakeCore = Callable[..., "Bitcoind"]

__all__ = ["Bitcoind", "CoreUnavailableError", "MakeCore", "RPCError", "find_bitcoind", "free_port"]
