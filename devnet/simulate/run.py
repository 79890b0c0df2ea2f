"""The simulation driver: builds the devnet, runs every actor block by block, plays the
scenarios, writes the answer key.

Block by block from the first height after the params: the bookkeeping evaluates the chain
view at the tip, the director assigns roles for rounds whose lead just became known, the
customers' transactions for this height and every actuary client's transactions (clients in a
seeded order per block) go into one block, mined with the planned timestamp and validated by
the kernel. The ``reorg`` scenario mines the round's race block, lets the clients build the
next block on it, then forks from the block before: the new branch re-mines the race block
without one secondary's package (a block of equal work, so the kernel keeps the old one for
now) and a second block carrying that package and the next block's transactions, which
makes the branch longer (the kernel reorganises to it).

The run stops once the last month of the run is settled (its last share window is over) and,
if accepted, published.
"""

from __future__ import annotations

import hashlib
import json
import time as _time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from btc import Transaction, TxOut
from btc.ord.envelope import Envelope
from devnet.chain import Chain
from devnet.simulate import ceremony
from devnet.simulate.actors import ActuaryClient, Board, Operator, StepContext, seeded_rng
from devnet.simulate.answer_key import build_answer_key, cross_check, write_inscriptions
from devnet.simulate.calendar import SETUP_BLOCKS, TimePlan, add_months
from devnet.simulate.ceremony import Contributor
from devnet.simulate.config import SimulationConfig
from devnet.simulate.customers import MAX_DEPOSIT, Customers
from devnet.simulate.director import STRANGER_SCENARIOS, Director
from devnet.simulate.errors import ScenarioError, SimulationError
from devnet.simulate.hostile import Stranger
from devnet.simulate.identity import NetworkIdentity
from devnet.simulate.oracle import MonthState, Oracle, RoundState, State
from devnet.simulate.posting import Registry, aux_for, envelope_of, inscribe
from devnet.simulate.public import PublicComputations
from devnet.simulate.view import ChainView, Posted
from devnet.tx.wallet import Wallet
from drey.crypto.groth16 import Verifier, VerifyingKey
from drey.crypto.paillier import PaillierDealing, generate_key
from drey.formula import module_bytes, module_sha256
from drey.messages import FormulaManifest, Paillier, Params, RosterEntry, xonly_public_key
from drey.messages.circuit import Beacon, CircuitManifest, FileRef, PtauRef
from drey.proofs import SYSTEM
from drey.rules.circuit import VK_CONTENT_TYPE
from zk.prover import WarmProver
from zk.toolchain import sha256_file

__all__ = ["Simulation", "SimulationReport", "run_simulation"]

COIN = 100_000_000
#: A circuit file's part size: each reveal stays under Core's standard weight.
FILE_PART = 350_000


@dataclass(frozen=True, slots=True)
class SimulationReport:
    datadir: Path
    answer_key: Path
    identity: Path
    tip_height: int
    blocks: int
    seconds: float
    months: tuple[tuple[str, str | None], ...]
    timings: dict[str, float] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


def run_simulation(
    config: SimulationConfig,
    *,
    log: Callable[[str], None] | None = None,
    dealing: PaillierDealing | None = None,
) -> SimulationReport:
    """Run ``config`` into ``config.datadir`` (which must not hold a devnet yet).

    ``dealing`` replaces the dealer's fresh key (tests pass cached keys; it must match
    ``actuaries`` and the threshold).
    """
    return Simulation(config, log=log, dealing=dealing).run()


class Simulation:
    def __init__(
        self,
        config: SimulationConfig,
        *,
        log: Callable[[str], None] | None = None,
        dealing: PaillierDealing | None = None,
    ) -> None:
        self.config = config
        self.seed = config.seed.encode()
        self.log = log or (lambda _msg: None)
        self.plan = TimePlan(config.first_month_value, config.blocks_per_month)
        self.last_month = add_months(self.plan.first_month, config.months - 1)
        self._dealing = dealing
        self.timings: dict[str, float] = {}
        self.reorgs: list[dict[str, object]] = []
        self.prover: WarmProver | None = None

    def identity(self) -> NetworkIdentity:
        """The network's identity (founder, operator, vault scripts), for ``network.json``."""
        rp = self.state.resolved
        assert rp is not None
        return NetworkIdentity(
            network="regtest",
            founder=self.founder,
            operator=self.operator.key,
            vault_scripts=tuple(rp.vault),
        )

    # ------------------------------------------------------------------------------------
    def run(self) -> SimulationReport:
        cfg = self.config
        started = _time.perf_counter()
        horizon = self.plan.params_height + (cfg.months + 3) * cfg.blocks_per_month
        if self.plan.time(horizon) > int(_time.time()):
            raise ScenarioError(
                f"first month {self.plan.first_month} is too recent: blocks up to "
                f"{add_months(self.plan.first_month, cfg.months + 3)} must lie in the past"
            )
        cfg.datadir.mkdir(parents=True, exist_ok=True)
        chain = Chain.create(cfg.datadir, seed=self.seed)
        try:
            self._setup(chain)
            self._loop(chain)
            key = build_answer_key(self)
        finally:
            if self.prover is not None:
                self.prover.close()
            chain.close()
        identity_path = self.identity().write(cfg.datadir)
        key_path = cfg.datadir / "answer_key.json"
        key_path.write_text(json.dumps(key, indent=1, sort_keys=False) + "\n")
        write_inscriptions(self, cfg.datadir / "inscriptions.jsonl")
        warnings = cross_check(self)
        for w in warnings:
            self.log(f"warning: {w}")
        self.timings["total"] = _time.perf_counter() - started
        return SimulationReport(
            datadir=cfg.datadir,
            answer_key=key_path,
            identity=identity_path,
            tip_height=self.state.tip,
            blocks=self.state.tip,
            seconds=self.timings["total"],
            months=tuple((m.month, m.outcome) for m in self.state.months),
            timings=dict(self.timings),
            warnings=tuple(warnings),
        )

    # ------------------------------------------------------------------------------------
    def _setup(self, chain: Chain) -> None:
        """The network before its first month: actors and their keys, wallets and customers,
        funding, the formula and the params, inscribed on the chain up to the params height."""
        t0 = _time.perf_counter()
        seed = self.seed
        self.founder_secret = seeded_rng(seed, "founder").randbytes(32)
        self.founder = xonly_public_key(self.founder_secret)
        self.operator = Operator(seed)
        self.registry = Registry()
        self.board = Board()
        self.public = PublicComputations()
        self._actuaries(chain)
        self._key_ceremony()
        self._wallets_and_customers(chain)
        self._fund(chain, SETUP_BLOCKS + 1)
        h = SETUP_BLOCKS + 2
        chain.mine_block(self._inscribe_formula(h) + self._contribute(h), time=self.plan.time(h))
        h += 1
        circuit = self._inscribe_circuit(chain, h)
        chain.mine_block(circuit + self._inscribe_params(h), time=self.plan.time(h))
        self._start_views(chain)
        self.timings["setup"] = _time.perf_counter() - t0

    def _actuaries(self, chain: Chain) -> None:
        cfg, seed = self.config, self.seed
        stakes_rng = seeded_rng(seed, "stakes")
        self.clients: list[ActuaryClient] = []
        for i in range(1, cfg.actuaries + 1):
            wallet = Wallet(chain.seed, name=f"actuary-{i}")
            chain.add_wallet(wallet)
            stake = stakes_rng.randrange(50, 200) * COIN // 100
            self.clients.append(ActuaryClient(i, seed=seed, wallet=wallet, stake=stake))
        self.by_key = {c.key: c for c in self.clients}

    def _key_ceremony(self) -> None:
        cfg, seed = self.config, self.seed
        # The key ceremony: the founder deals the threshold Paillier key and hands each
        # actuary its share; only public values go on chain.
        t1 = _time.perf_counter()
        dealing = self._dealing or generate_key(
            cfg.paillier_bits,
            cfg.actuaries,
            cfg.threshold_value,
            rng=seeded_rng(seed, "paillier/dealer"),
        )
        if (
            dealing.public.players != cfg.actuaries
            or dealing.public.threshold != cfg.threshold_value
        ):
            raise ScenarioError("the given Paillier dealing does not match actuaries/threshold")
        self.timings["keygen"] = _time.perf_counter() - t1
        for c in self.clients:
            c.receive_share(dealing.share(c.index))
        self.pk = dealing.public

    def _wallets_and_customers(self, chain: Chain) -> None:
        cfg, seed = self.config, self.seed
        # Several funding wallets (by user) keep each wallet's per-block coin lists short.
        self.customer_wallets = [
            Wallet(chain.seed, name=f"customers-{i}")
            for i in range(max(1, min(8, cfg.users // 5000)))
        ]
        for wallet in self.customer_wallets:
            chain.add_wallet(wallet)
        self.founder_wallet = Wallet(chain.seed, name="founder")
        chain.add_wallet(self.founder_wallet)
        # The stranger exists only in runs that play its scenarios (others keep their blocks).
        self.stranger_wallet: Wallet | None = None
        if any(s.name in STRANGER_SCENARIOS for s in cfg.scenarios):
            self.stranger_wallet = Wallet(chain.seed, name="stranger")
            chain.add_wallet(self.stranger_wallet)
        snapshots = self.plan.planned_snapshots(cfg.months)
        bounds = [self.plan.params_height, *snapshots]
        self.customers = Customers(
            seed,
            users=cfg.users,
            month_heights=[(bounds[i] + 1, bounds[i + 1]) for i in range(cfg.months)],
            vault_scripts=self.operator.vault_scripts,
        )

    def _fund(self, chain: Chain, h: int) -> None:
        cfg = self.config
        # Empty blocks: coinbase maturity for the funding.
        chain.mine(SETUP_BLOCKS, times=[self.plan.time(h) for h in range(1, SETUP_BLOCKS + 1)])
        # Funding.
        need = self.customers.total_deposits * 21 // 20 + self.customers.event_count * 20_000
        coins = max(20, min(800, cfg.users // 20))
        per_coin = max(need // coins + 1, 4 * MAX_DEPOSIT)
        outputs = [
            TxOut(per_coin, self.customer_wallets[i % len(self.customer_wallets)].script_pubkey)
            for i in range(coins)
        ]
        for c in self.clients:
            outputs += [TxOut(5 * COIN, c.wallet.script_pubkey)] * 3
        outputs.append(TxOut(COIN, self.founder_wallet.script_pubkey))
        if self.stranger_wallet is not None:
            outputs += [TxOut(2 * COIN, self.stranger_wallet.script_pubkey)] * 16
        available = chain.wallet.balance(height=h)
        if sum(o.value for o in outputs) + COIN > available:
            raise ScenarioError(
                f"the setup miner has {available} sats mature; the run needs "
                f"{sum(o.value for o in outputs)} (fewer users or smaller deposits)"
            )
        fund = chain.wallet.fund(outputs, next_height=h)
        chain.mine_block([fund], time=self.plan.time(h))

    def _inscribe_formula(self, h: int) -> list[Transaction]:
        # The formula module in two parts (application/wasm, no metaprotocol) and its
        # founder-signed manifest.
        module = module_bytes()
        half = len(module) // 2
        parts_cr = self.founder_wallet.inscribe(
            [
                Envelope(body=module[:half], content_type="application/wasm"),
                Envelope(body=module[half:], content_type="application/wasm"),
            ],
            next_height=h,
        )
        self.formula_parts = list(parts_cr.inscription_ids)
        manifest = FormulaManifest(
            name="drey-v1", version=1, sha256=module_sha256(), parts=tuple(self.formula_parts)
        )
        manifest = manifest.signed(
            self.founder_secret, aux_rand=aux_for(self.founder_secret, manifest.digest())
        )
        man_env = envelope_of(manifest)
        man_cr = self.founder_wallet.inscribe([man_env], next_height=h)
        self.manifest_id = man_cr.inscription_ids[0]
        self.registry.record(
            self.formula_parts,
            list(parts_cr.envelopes),
            kind="formula_part",
            sender="founder",
        )
        self.registry.record([self.manifest_id], [man_env], kind="formula", sender="founder")
        return [*parts_cr.transactions, *man_cr.transactions]

    def _contribute(self, h: int) -> list[Transaction]:
        """Protocol v1.1's phase 2 (docs/protocol/proofs.md §5): every roster actuary in
        roster order contributes and inscribes its signed step; the circuit's source goes
        on chain in the same block (so a contributor can check what it keys)."""
        self.circuit_id: str | None = None
        if self.config.proofs != "groth16":
            return []
        t0 = _time.perf_counter()
        depth = self.config.params.months_depth
        assert depth is not None
        contributors = [Contributor(c.index, c.key, c.phase2_seed) for c in self.clients]
        self._contributed, self._steps = ceremony.phase2(depth, contributors)
        txs: list[Transaction] = []
        self.contribution_ids: list[str] = []
        for c, step in zip(self.clients, self._steps, strict=True):
            msg = c.sign_contribution(
                zkey_sha256=step.zkey_sha256, contribution_hash=step.contribution_hash
            )
            env = envelope_of(msg)
            t, ids = inscribe(c.wallet, [env], next_height=h, destination=c.identity_script)
            self.registry.record(ids, [env], kind="circuit_contribution", sender=c.name)
            self.contribution_ids += ids
            txs += t
        circuit, _, _ = ceremony.build_circuit(depth)
        source = circuit.source.read_bytes()
        self._source_ref, more = self._inscribe_file(source, "text/plain", h, "source")
        self.timings["phase2"] = _time.perf_counter() - t0
        return txs + more

    def _inscribe_file(
        self, data: bytes, content_type: str, h: int, name: str
    ) -> tuple[FileRef, list[Transaction]]:
        """A file in parts (§4: no metaprotocol, each reveal standard), by the founder."""
        chunks = [data[i : i + FILE_PART] for i in range(0, len(data), FILE_PART)]
        envs = [Envelope(body=chunk, content_type=content_type) for chunk in chunks]
        txs: list[Transaction] = []
        ids: list[str] = []
        wallet = self.founder_wallet
        for env in envs:
            t, i = inscribe(wallet, [env], next_height=h, destination=wallet.script_pubkey)
            txs += t
            ids += i
        self.registry.record(ids, envs, kind="circuit_part", sender="founder", file=name)
        return FileRef(sha256=hashlib.sha256(data).digest(), parts=tuple(ids)), txs

    def _inscribe_circuit(self, chain: Chain, h: int) -> list[Transaction]:
        """The beacon on the hash of the contributions' block, the final key and its
        verification key in parts, and the founder-signed ``circuit`` manifest."""
        if self.config.proofs != "groth16":
            return []
        t0 = _time.perf_counter()
        depth = self.config.params.months_depth
        assert depth is not None
        beacon_height = h - 1
        files = ceremony.finish(
            depth, self._contributed, self._steps, block_hash=chain.hash_at(beacon_height)[::-1]
        )
        self.setup_files, self.beacon_height = files, beacon_height
        zkey_ref, txs = self._inscribe_file(
            files.zkey.read_bytes(), "application/octet-stream", h, "zkey"
        )
        vk_ref, more = self._inscribe_file(files.vk_bytes, VK_CONTENT_TYPE, h, "vk")
        manifest = CircuitManifest(
            system=SYSTEM,
            months_depth=depth,
            source=self._source_ref,
            r1cs_sha256=sha256_file(files.circuit.r1cs),
            wasm_sha256=sha256_file(files.circuit.wasm),
            ptau=PtauRef(sha256=files.ptau_sha256, power=files.ptau_power),
            zkey=zkey_ref,
            vk=vk_ref,
            contributions=tuple(self.contribution_ids),
            beacon=Beacon(height=beacon_height, iterations=ceremony.BEACON_ITERATIONS),
        )
        manifest = manifest.signed(
            self.founder_secret, aux_rand=aux_for(self.founder_secret, manifest.digest())
        )
        env = envelope_of(manifest)
        t, ids = inscribe(
            self.founder_wallet, [env], next_height=h, destination=self.founder_wallet.script_pubkey
        )
        self.circuit_id = ids[0]
        self.registry.record(ids, [env], kind="circuit", sender="founder")
        self.prover = WarmProver(files.circuit.wasm, files.zkey)
        for c in self.clients:
            c.prover = self.prover
        self.timings["beacon"] = _time.perf_counter() - t0
        return txs + more + t

    def _inscribe_params(self, h: int) -> list[Transaction]:
        cfg = self.config
        # The params: roster (keys, Ed25519 vrf keys, Paillier vks), the threshold key.
        p = cfg.params
        roster = tuple(
            RosterEntry(index=c.index, key=c.key, vrf_key=c.vrf_key, vk=self.pk.vk_bytes(c.index))
            for c in self.clients
        )
        params = Params(
            first_month=self.plan.first_month,
            vault=tuple(self.operator.vault_scripts),
            operator=self.operator.key,
            roster=roster,
            paillier=Paillier(n=self.pk.n_bytes(), v=self.pk.v_bytes()),
            threshold=cfg.threshold_value,
            min_stake=p.min_stake,
            dreybits_per_month=p.dreybits_per_month,
            fee_bps=p.fee_bps,
            penalty_bps=p.penalty_bps,
            lead_bps=p.lead_bps,
            formula=self.manifest_id,
            supermajority=p.supermajority,
            confirmations=p.confirmations,
            race_offset=p.race_offset,
            vrf_window=p.vrf_window,
            lead_window=p.lead_window,
            race_window=p.race_window,
            share_window=p.share_window,
            max_rounds=p.max_rounds,
            months_depth=p.months_depth,
            circuit=self.circuit_id,
        )
        params = params.signed(
            self.founder_secret, aux_rand=aux_for(self.founder_secret, params.digest())
        )
        env = envelope_of(params)
        cr = self.founder_wallet.inscribe([env], next_height=h)
        self.params_id = cr.inscription_ids[0]
        self.registry.record([self.params_id], [env], kind="params", sender="founder")
        return list(cr.transactions)

    def _start_views(self, chain: Chain) -> None:
        cfg, seed = self.config, self.seed
        assert chain.height == self.plan.params_height
        self.view = ChainView(founder=self.founder)
        self.view.sync(chain)
        verifier = None
        if self.circuit_id is not None:
            verifier = Verifier(VerifyingKey.from_snarkjs(self.setup_files.vk))
        self.oracle = Oracle(founder=self.founder, public=self.public, proofs=verifier)
        self.director = Director(
            cfg.scenarios,
            seed=seed,
            first_month=self.plan.first_month,
            roster=[c.key for c in self.clients],
            threshold=cfg.threshold_value,
        )
        self.state = self.oracle.evaluate(self.view)
        self.stranger: Stranger | None = None
        if self.stranger_wallet is not None:
            self.stranger = Stranger(
                seed,
                wallet=self.stranger_wallet,
                triggers=self.director.stranger_scenarios(),
                founder_sign=self._founder_sign,
                first_params=self._first_params,
            )

    def _founder_sign(self, params: Params) -> Params:
        signed = params.signed(
            self.founder_secret, aux_rand=aux_for(self.founder_secret, params.digest())
        )
        assert isinstance(signed, Params)
        return signed

    def _first_params(self) -> Posted:
        assert self.view.params is not None
        return self.view.params

    # ------------------------------------------------------------------------------------
    def _context(self, height: int, state: State) -> StepContext:
        return StepContext(
            height=height,
            state=state,
            view=self.view,
            board=self.board,
            operator=self.operator,
            registry=self.registry,
            last_month=self.last_month,
            roles=self.director.roles,
            withdraw_months=self.director.withdraw_months,
            withhold_target=self.director.withhold_target,
            handout=self._handout,
            note=self.director.note,
        )

    def _handout(
        self, ctx: StepContext, ms: MonthState, rs: RoundState, copier: bytes
    ) -> bytes | None:
        del ctx
        author = self.director.author_for(ms.month, rs.round, copier)
        if author is None:
            return None
        return self.by_key[author].hand_out_result(ms, rs)

    def _block_txs(
        self, height: int, state: State
    ) -> tuple[list[Transaction], list[tuple[ActuaryClient, list[Transaction]]]]:
        t0 = _time.perf_counter()
        users = self.customers.transactions(
            height,
            wallets=self.customer_wallets,
            operator=self.operator,
            view=self.view,
            registry=self.registry,
        )
        t1 = _time.perf_counter()
        self.timings["customers"] = self.timings.get("customers", 0.0) + t1 - t0
        ctx = self._context(height, state)
        order = sorted(
            self.clients,
            key=lambda c: hashlib.sha256(
                self.seed + f"/order/{height}/{c.index}".encode()
            ).digest(),
        )
        per_client = [(c, c.step(ctx)) for c in order]
        if self.stranger is not None:
            users = users + self.stranger.step(ctx)
        self.timings["actuaries"] = self.timings.get("actuaries", 0.0) + _time.perf_counter() - t1
        return users, per_client

    def _evaluate(self) -> State:
        t0 = _time.perf_counter()
        state = self.oracle.evaluate(self.view)
        self.timings["bookkeeping"] = (
            self.timings.get("bookkeeping", 0.0) + _time.perf_counter() - t0
        )
        self.director.update(state)
        return state

    def _mine(self, chain: Chain, txs: list[Transaction], height: int) -> None:
        t0 = _time.perf_counter()
        chain.mine_block(txs, time=self.plan.time(height))
        t1 = _time.perf_counter()
        self.view.sync(chain)
        self.operator.forget_spending(self.view)
        t2 = _time.perf_counter()
        self.timings["mining"] = self.timings.get("mining", 0.0) + t1 - t0
        self.timings["decoding"] = self.timings.get("decoding", 0.0) + t2 - t1

    def _done(self, state: State) -> bool:
        ms = state.month(self.last_month)
        return (
            ms is not None
            and ms.settled
            and (ms.outcome != "accepted" or ms.publication is not None)
        )

    def _loop(self, chain: Chain) -> None:
        cfg = self.config
        limit = self.plan.params_height + (cfg.months + 3) * cfg.blocks_per_month
        h = self.plan.params_height + 1
        while True:
            state = self._evaluate()
            self.state = state
            if self._done(state):
                break
            if h > limit:
                raise SimulationError(
                    f"month {self.last_month} not settled by height {limit}; "
                    f"months so far: {[(m.month, m.outcome) for m in state.months]}"
                )
            users, per_client = self._block_txs(h, state)
            txs = users + [tx for _, t in per_client for tx in t]
            self._mine(chain, txs, h)
            if h % 50 == 0:
                self.log(f"height {h}: {len(txs)} transactions, {len(state.months)} months")
            reorg = self._reorg_target(state, h, per_client)
            if reorg is not None:
                h = self._play_reorg(chain, h, users, per_client, *reorg)
            h += 1

    # -- the reorg scenario ---------------------------------------------------------------
    def _reorg_target(
        self,
        state: State,
        height: int,
        per_client: list[tuple[ActuaryClient, list[Transaction]]],
    ) -> tuple[MonthState, RoundState, ActuaryClient] | None:
        rp = state.resolved
        if rp is None:
            return None
        for ms in state.months:
            for rs in ms.rounds:
                if rs.L is None or height != rs.L + rp.race_offset:
                    continue
                if not self.director.reorg_due(ms.month, rs.round):
                    continue
                roles = self.director.role_holders(ms.month, rs.round)
                for client, txs in per_client:
                    if (
                        txs
                        and client.key not in roles
                        and client.posted(("secondary", ms.month, rs.round))
                    ):
                        return ms, rs, client
        return None

    def _play_reorg(
        self,
        chain: Chain,
        height: int,
        users: list[Transaction],
        per_client: list[tuple[ActuaryClient, list[Transaction]]],
        ms: MonthState,
        rs: RoundState,
        victim: ActuaryClient,
    ) -> int:
        stale_hash = chain.hash_at(height)
        victim_txs = next(t for c, t in per_client if c is victim)
        rest = users + [tx for c, t in per_client if c is not victim for tx in t]
        package_id = victim.sent_ids(("secondary", ms.month, rs.round))[0]
        # The clients build the next block on what they see (the block about to go stale).
        state = self._evaluate()
        users2, per_client2 = self._block_txs(height + 1, state)
        second = victim_txs + users2 + [tx for _, t in per_client2 for tx in t]
        t0 = _time.perf_counter()
        chain.fork(
            height - 1,
            2,
            times=[self.plan.time(height), self.plan.time(height + 1)],
            txs=[rest, second],
        )
        self.timings["mining"] = self.timings.get("mining", 0.0) + _time.perf_counter() - t0
        fork = self.view.sync(chain)
        self.operator.forget_spending(self.view)
        moved = self.view.by_id.get(package_id)
        self.reorgs.append(
            {
                "month": ms.month,
                "round": rs.round,
                "fork_point": fork,
                "stale_block": stale_hash[::-1].hex(),
                "stale_height": height,
                "new_blocks": [
                    chain.hash_at(height)[::-1].hex(),
                    chain.hash_at(height + 1)[::-1].hex(),
                ],
                "victim": victim.index,
                "package": package_id,
                "from_height": height,
                "to_height": None if moved is None else moved.height,
            }
        )
        self.director.note("reorg", victim.key, ms.month, rs.round, [package_id])
        return height + 1
