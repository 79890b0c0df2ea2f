"""Where the chain comes from: the devnet simulator, the dev node serving it, and the block
follower writing its shards. The single call sites of ``devnet.simulate`` and
``indexer.follow`` for the main job and the benchmark.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devnet.chain import Chain
from devnet.node.server import DevNode
from devnet.node.zmqpub import NotifierConfig
from devnet.simulate import SimulationConfig, SimulationReport, parse_scenarios, run_simulation
from devnet.simulate.config import GROTH16_MAX_DEPTH, DevnetParams, ProofSystem
from devnet.simulate.identity import NetworkIdentity
from indexer.follow import FollowConfig, Follower, Manifest

ANSWER_KEY = "answer_key.json"


@dataclass(frozen=True, slots=True)
class Devnet:
    """A simulated devnet: its data directory, its identity (what a follower and the warehouse
    are told: founder key, vault scripts) and its answer key (read only by the comparison)."""

    datadir: Path
    identity: NetworkIdentity
    answer_key: dict[str, Any]

    @property
    def founder(self) -> str:
        return self.identity.founder.hex()

    @property
    def vault_scripts(self) -> tuple[bytes, ...]:
        return self.identity.vault_scripts

    @classmethod
    def load(cls, datadir: Path) -> Devnet:
        key = json.loads((datadir / ANSWER_KEY).read_text())
        return cls(datadir, NetworkIdentity.load(datadir), key)


def simulate(
    datadir: Path,
    *,
    months: int,
    users: int,
    scenarios: str = "all",
    seed: str = "drey-warehouse",
    proofs: ProofSystem = "groth16",
    log: Callable[[str], None] | None = None,
) -> tuple[Devnet, SimulationReport]:
    """Build a devnet with the actuary network (``devnet.simulate``) into ``datadir``. With
    ``groth16`` (protocol v1.1) the months tree has depth 7 (128 months), the deepest the
    devnet's phase-1 file proves."""
    config = SimulationConfig(
        datadir=datadir,
        months=months,
        users=users,
        seed=seed,
        scenarios=parse_scenarios(scenarios) if scenarios else (),
        proofs=proofs,
        params=DevnetParams(months_depth=GROTH16_MAX_DEPTH if proofs == "groth16" else None),
    )
    report = run_simulation(config, log=log)
    return Devnet.load(datadir), report


@dataclass
class Served:
    chain: Chain
    node: DevNode
    zmq: str

    def follow_config(
        self, shard_root: Path, vault_scripts: tuple[bytes, ...], **overrides: Any
    ) -> FollowConfig:
        """The follower's settings for this node: RPC with the cookie, REST, ZMQ
        ``sequence`` (never suppressed, even while the devnet is in IBD)."""
        return FollowConfig(
            shard_root=shard_root,
            network="regtest",
            rpc_url=self.node.url,
            rpc_cookie=self.chain.datadir.cookie_file,
            rest_url=self.node.url.rstrip("/"),
            zmq=(self.zmq,),
            start_height=0,
            vault_scripts=vault_scripts,
            **overrides,
        )


@contextmanager
def serve(datadir: Path) -> Iterator[Served]:
    """Open the devnet and serve it with the dev node (RPC, REST, ZMQ on free ports)."""
    chain = Chain.open(datadir)
    try:
        address = "tcp://127.0.0.1:0"
        node = DevNode(chain, rpc_port=0, rest=True, zmq=[NotifierConfig("sequence", address)])
        node.start()
        try:
            yield Served(chain, node, node.zmq_endpoints()[address])
        finally:
            node.stop()
    finally:
        chain.close()


def follow_to_tip(
    config: FollowConfig, *, on_commit: Callable[[Manifest], None] | None = None
) -> Manifest:
    """Follow the node until the shards reach its tip; return the committed manifest."""
    return Follower(config, on_commit=on_commit).run(exit_at_tip=True)


class BackgroundFollower:
    """The follower on a thread, staying at the tip (ZMQ wakes it), until :meth:`stop`.
    ``on_commit`` runs on the follower's thread after each commit."""

    def __init__(
        self, config: FollowConfig, *, on_commit: Callable[[Manifest], None] | None = None
    ) -> None:
        self.stop_event = threading.Event()
        self.error: BaseException | None = None
        self.follower = Follower(config, stop=self.stop_event, on_commit=on_commit)
        self.thread = threading.Thread(target=self._run, name="follower", daemon=True)

    def _run(self) -> None:
        try:
            self.follower.run(exit_at_tip=False)
        except BaseException as exc:
            self.error = exc

    def start(self) -> BackgroundFollower:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(timeout=30)
        if self.error is not None:
            raise self.error
