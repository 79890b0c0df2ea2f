"""A regtest chain built in Python and validated by Bitcoin Core's kernel (libbitcoinkernel).

:class:`Chain` mines blocks with caller-chosen timestamps, grinds the (trivial) regtest proof of
work, and hands every block to ``ChainstateManager.process_block``: the kernel runs Core's full
validation (scripts included) and writes a regular Core regtest data directory. Chain state the
rest of the devnet needs (active chain, block statuses, tx index, wallets) is driven by the
kernel's own validation events (``block_connected``/``block_disconnected``/``block_checked``
and the ``block_tip`` notification), the same events bitcoind's ZMQ and indexes consume.

Rejected blocks raise :class:`~devnet.errors.BlockRejectedError` with Core's reject reason. The C API
exposes only the ``BlockValidationResult`` enum, so the reason string is read from the kernel's
own log line for that block (``AcceptBlock FAILED (<reason>, <debug>)`` or
``ConnectBlock <hash> failed, <reason>, <debug>``), captured on the submitting thread.

Limits: block times must be ≤ now + 2 h (the kernel's ``time-too-new`` check uses the wall
clock); regtest difficulty never changes (``bits`` 0x207fffff); subsidy halves every 150 blocks.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import re
import threading
import time as _time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from struct import pack
from typing import Literal, Protocol

import pbk
import pbk.capi.bindings as k
from pbk.notifications import NotificationInterfaceCallbacks

from btc import Block, BlockHeader, Transaction, TxOut
from btc.block import merkle_root
from btc.errors import DecodeError
from btc.hashes import hash_to_hex
from btc.ord.envelope import Envelope
from devnet.datadir import CONFIG_VERSION, DataDir, DirLock
from devnet.errors import BadArgumentError, BlockRejectedError, DataDirError, KernelError
from devnet.tx.build import block_subsidy, coinbase_transaction, witness_commitment_script
from devnet.tx.wallet import CommitReveal, Wallet

REGTEST_BITS = 0x207FFFFF
BLOCK_VERSION = 0x20000000
MAX_FUTURE_BLOCK_TIME = 2 * 60 * 60
MEDIAN_TIME_SPAN = 11
DEFAULT_BLOCK_INTERVAL = 600
_RAW_CACHE_LIMIT = 512 * 1024 * 1024

# bitcoinkernel.h btck_SynchronizationState
_SYNC_POST_INIT = 2

_ACCEPT_FAILED = re.compile(r"AcceptBlock FAILED \((.*)\)\s*$")
_CONNECT_FAILED = re.compile(r"ConnectBlock ([0-9a-f]{64}) failed, (.*)$")


def block_work(bits: int) -> int:
    """Core's ``GetBlockProof``: 2**256 / (target + 1)."""
    target = BlockHeader(0, bytes(32), bytes(32), 0, bits, 0).target
    return (1 << 256) // (target + 1)


@dataclass(slots=True)
class BlockRecord:
    """What the devnet knows about one block in the kernel's block tree."""

    hash: bytes
    header: BlockHeader
    height: int
    chainwork: int
    median_time_past: int
    n_tx: int
    size: int
    stripped_size: int
    weight: int
    connected_ever: bool = False
    invalid: bool = False
    reason: str = ""

    @property
    def hash_hex(self) -> str:
        return hash_to_hex(self.hash)

    @property
    def prev_hash(self) -> bytes:
        return self.header.prev_hash

    @property
    def time(self) -> int:
        return self.header.time


@dataclass(frozen=True, slots=True)
class BlockEvent:
    """A block connected to or disconnected from the active chain."""

    hash: bytes
    height: int
    raw: bytes
    block: Block


@dataclass(frozen=True, slots=True)
class TipEvent:
    """The kernel's ``blockTip`` notification (Core's ``UpdatedBlockTip``)."""

    hash: bytes
    height: int
    raw: bytes
    initial_download: bool
    verification_progress: float


class ChainListener(Protocol):
    """Receives the kernel's validation events, in the kernel's order, on the thread that
    submitted the block (while the chain's lock is held: keep handlers short)."""

    def block_connected(self, event: BlockEvent) -> None: ...

    def block_disconnected(self, event: BlockEvent) -> None: ...

    def tip_updated(self, event: TipEvent) -> None: ...


@dataclass(frozen=True, slots=True)
class SubmitResult:
    """Outcome of :meth:`Chain.submit_block`, in Core's ``submitblock`` vocabulary."""

    status: Literal["accepted", "duplicate", "duplicate-invalid", "inconclusive", "rejected"]
    block_hash: bytes
    reason: str = ""
    debug: str = ""
    result: str = ""

    @property
    def bip22(self) -> str | None:
        """``submitblock``'s reply: null when accepted, else a status or the reject reason."""
        if self.status == "accepted":
            return None
        if self.status == "rejected":
            return self.reason or "rejected"
        return self.status


@dataclass(frozen=True, slots=True)
class SpentCoin:
    """One entry of a block's undo data (Core's ``Coin``)."""

    value: int
    script_pubkey: bytes
    height: int
    coinbase: bool


class Chain:
    """A devnet chain on a Core regtest data directory. Use :meth:`create` or :meth:`open`.

    Thread-safe: every public method takes the chain's lock. Close it (or use ``with``) so the
    kernel flushes its databases; the directory then opens in ``bitcoind -regtest``.
    """

    def __init__(self, datadir: str | Path, *, _create: dict[str, object] | None = None) -> None:
        self.datadir = DataDir(Path(datadir).absolute())
        self._lock = threading.RLock()
        self._dirlock = DirLock(self.datadir)
        if _create is None:
            cfg = self.datadir.read_config()
        else:
            if self.datadir.exists():
                raise DataDirError(f"{self.datadir.root} already holds a devnet")
            cfg = dict(_create)
        self._dirlock.acquire()
        try:
            if _create is not None:
                self.datadir.write_config(cfg)
            self._config = cfg
            self.seed = bytes.fromhex(str(cfg["seed"]))
            self.block_interval = int(cfg.get("block_interval", DEFAULT_BLOCK_INTERVAL))  # type: ignore[arg-type]
            with self._lock:
                self._init_state()
                self._start_kernel()
        except BaseException:
            self._dirlock.release()
            raise

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        datadir: str | Path,
        *,
        seed: bytes | str = b"devnet",
        block_interval: int = DEFAULT_BLOCK_INTERVAL,
    ) -> Chain:
        """A new devnet at ``datadir`` (genesis only). Same seed → same keys and blocks."""
        seed_bytes = seed.encode() if isinstance(seed, str) else bytes(seed)
        if block_interval < 1:
            raise BadArgumentError(f"block interval must be ≥ 1 s, got {block_interval}")
        return cls(
            datadir,
            _create={
                "version": CONFIG_VERSION,
                "chain": "regtest",
                "seed": seed_bytes.hex(),
                "block_interval": block_interval,
                "wallet_next_key": 0,
            },
        )

    @classmethod
    def open(cls, datadir: str | Path) -> Chain:
        """Reopen an existing devnet (the kernel reloads its block index and chainstate)."""
        return cls(datadir)

    def _init_state(self) -> None:
        self._index: dict[bytes, BlockRecord] = {}
        self._per_height: dict[int, int] = {}
        self._children: dict[bytes, list[bytes]] = {}
        self._active: list[bytes] = []
        self._outputs: dict[bytes, tuple[TxOut, ...]] = {}
        self._txindex: dict[bytes, bytes] = {}
        self._raw: dict[bytes, bytes] = {}
        self._raw_bytes = 0
        self._listeners: list[ChainListener] = []
        self.wallet = Wallet(self.seed, name="miner")
        self.wallet._next_key = int(self._config.get("wallet_next_key", 0))  # type: ignore[arg-type]
        self._wallets: list[Wallet] = [self.wallet]
        self._checked: dict[bytes, tuple[str, str]] = {}
        self._capture_thread: int | None = None
        self._captured: list[str] = []
        self._callback_error: BaseException | None = None
        self._loading = True
        self._ibd: bool | None = None
        self._progress = 1.0
        self._fatal: str | None = None
        self._tip_changed = threading.Condition(self._lock)
        self._journal = None
        self._pending: dict[bytes, tuple[bytes, Block]] = {}

    def _start_kernel(self) -> None:
        self._log_conn = pbk.LoggingConnection(cb=self._on_log)
        self._vcb = pbk.ValidationInterfaceCallbacks(
            block_checked=self._guard(self._on_block_checked),
            block_connected=self._guard(self._on_block_connected),
            block_disconnected=self._guard(self._on_block_disconnected),
        )
        self._ncb = NotificationInterfaceCallbacks(
            block_tip=self._guard(self._on_block_tip),
            fatal_error=self._guard(self._on_fatal),
            flush_error=self._guard(self._on_fatal),
        )
        opts = pbk.ContextOptions()
        opts.set_chainparams(pbk.ChainParameters(pbk.ChainType.REGTEST))
        opts.set_validation_interface(self._vcb)
        opts.set_notifications(self._ncb)
        self._context = pbk.Context(opts)
        cm_opts = pbk.ChainstateManagerOptions(
            self._context, str(self.datadir.net), str(self.datadir.blocks)
        )
        self._capture_thread = threading.get_ident()
        self._captured = []
        try:
            self._chainman = pbk.ChainstateManager(cm_opts)
        except RuntimeError:
            logs = "; ".join(m.strip() for m in self._captured[-5:])
            raise KernelError(
                f"libbitcoinkernel could not load {self.datadir.net}: {logs}"
            ) from None
        finally:
            self._capture_thread = None
        self._rebuild()
        self._journal = self.datadir.journal_file.open("a", encoding="utf-8")
        self._loading = False

    def close(self) -> None:
        """Flush and release: the kernel writes its chainstate and block index to disk."""
        with self._lock:
            if getattr(self, "_chainman", None) is None:
                return
            self._config["wallet_next_key"] = self.wallet._next_key
            self.datadir.write_config(self._config)
            # Destroying the chainstate manager is the kernel's clean shutdown (FlushStateToDisk).
            self._chainman.__exit__(None, None, None)
            self._chainman = None  # type: ignore[assignment]
            self._context.__exit__(None, None, None)
            self._log_conn.__exit__(None, None, None)
            if self._journal is not None:
                self._journal.close()
            self._dirlock.release()
            self._tip_changed.notify_all()

    def __enter__(self) -> Chain:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return getattr(self, "_chainman", None) is None

    @property
    def lock(self) -> threading.RLock:
        """The chain's reentrant lock: hold it to make several calls atomic (e.g. build
        transactions for a block and mine it with no other thread mining in between)."""
        return self._lock

    # -- listeners and wallets ----------------------------------------------------------------
    def add_listener(self, listener: ChainListener) -> None:
        with self._lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: ChainListener) -> None:
        with self._lock:
            self._listeners.remove(listener)

    def add_wallet(self, wallet: Wallet) -> None:
        """Track another wallet's coins; it is brought up to date with the active chain."""
        with self._lock:
            for height, h in enumerate(self._active):
                wallet.apply_block(Block.deserialize(self._raw_block(h)), h, height)
            self._wallets.append(wallet)

    # -- chain state --------------------------------------------------------------------------
    @property
    def height(self) -> int:
        with self._lock:
            return len(self._active) - 1

    @property
    def tip(self) -> BlockRecord:
        with self._lock:
            return self._index[self._active[-1]]

    @property
    def genesis_hash(self) -> bytes:
        return self._active[0]

    def hash_at(self, height: int) -> bytes:
        """Active-chain block hash at ``height`` (IndexError outside [0, tip])."""
        with self._lock:
            if not 0 <= height < len(self._active):
                raise IndexError(f"height {height} outside the active chain [0, {self.height}]")
            return self._active[height]

    def record(self, block_hash: bytes) -> BlockRecord | None:
        with self._lock:
            return self._index.get(block_hash)

    def records(self) -> list[BlockRecord]:
        with self._lock:
            return list(self._index.values())

    def in_active_chain(self, block_hash: bytes) -> bool:
        with self._lock:
            rec = self._index.get(block_hash)
            return (
                rec is not None
                and rec.height < len(self._active)
                and self._active[rec.height] == block_hash
            )

    def next_in_active_chain(self, block_hash: bytes) -> bytes | None:
        with self._lock:
            rec = self._index.get(block_hash)
            if rec is None or not self.in_active_chain(block_hash):
                return None
            nxt = rec.height + 1
            return self._active[nxt] if nxt < len(self._active) else None

    def fork_point(self, block_hash: bytes) -> BlockRecord:
        """The last block that ``block_hash``'s branch shares with the active chain."""
        with self._lock:
            rec = self._index[block_hash]
            while not self.in_active_chain(rec.hash):
                rec = self._index[rec.prev_hash]
            return rec

    def tips(self) -> list[BlockRecord]:
        """Blocks without children, plus the active tip (Core's ``getchaintips`` set)."""
        with self._lock:
            tips = [r for r in self._index.values() if not self._children.get(r.hash)]
            if self.tip not in tips:
                tips.append(self.tip)
            return tips

    def status(self, block_hash: bytes) -> str:
        """``getchaintips`` status of a block: active / invalid / valid-fork / valid-headers."""
        with self._lock:
            if self.in_active_chain(block_hash):
                return "active"
            rec = self._index[block_hash]
            walk: BlockRecord | None = rec
            while walk is not None and not self.in_active_chain(walk.hash):
                if walk.invalid:
                    return "invalid"
                walk = self._index.get(walk.prev_hash)
            return "valid-fork" if rec.connected_ever else "valid-headers"

    @property
    def initial_block_download(self) -> bool:
        """Core's ``IsInitialBlockDownload``: as last reported by the kernel's ``blockTip``
        notification; before any, Core's rule (tip older than 24 h)."""
        with self._lock:
            if self._ibd is not None:
                return self._ibd
            return self.tip.time < _time.time() - 24 * 60 * 60

    @property
    def verification_progress(self) -> float:
        with self._lock:
            return self._progress

    def best_header(self) -> BlockRecord:
        """The block with the most work the kernel knows (``headers`` in getblockchaininfo)."""
        with self._lock:
            entry = self._chainman.best_entry
            return self._index.get(bytes(entry.block_hash), self.tip)

    def median_time_past(self, block_hash: bytes | None = None) -> int:
        with self._lock:
            return self._index[block_hash or self._active[-1]].median_time_past

    def wait_for_tip_change(self, old_tip: bytes, timeout: float | None) -> BlockRecord:
        """Block until the active tip differs from ``old_tip`` (or the timeout elapses)."""
        with self._tip_changed:
            self._tip_changed.wait_for(
                lambda: self.closed or self._active[-1] != old_tip, timeout=timeout
            )
            return self.tip

    def wait_for(self, predicate: Callable[[], bool], timeout: float | None) -> bool:
        with self._tip_changed:
            return self._tip_changed.wait_for(lambda: self.closed or predicate(), timeout=timeout)

    # -- data ---------------------------------------------------------------------------------
    def read_block(self, block_hash: bytes) -> bytes:
        """Raw block bytes as stored in the kernel's ``blk*.dat`` (KeyError if unknown)."""
        with self._lock:
            if block_hash not in self._index:
                raise KeyError(hash_to_hex(block_hash))
            return self._raw_block(block_hash)

    def read_undo(self, block_hash: bytes) -> list[list[SpentCoin]] | None:
        """The block's undo data (spent coins per non-coinbase transaction) from the kernel's
        ``rev*.dat``; ``None`` when the block was never connected (Core has no undo then)."""
        with self._lock:
            rec = self._index.get(block_hash)
            if rec is None or rec.height == 0:
                return None
            entry = self._entry(block_hash)
            try:
                spent = self._chainman.block_spent_outputs[entry]
            except (RuntimeError, KeyError):
                return None
            out: list[list[SpentCoin]] = []
            for txs in spent.transactions:
                coins = []
                for coin in txs.coins:
                    o = coin.output
                    coins.append(
                        SpentCoin(
                            o.amount,
                            bytes(o.script_pubkey),
                            coin.confirmation_height,
                            coin.is_coinbase,
                        )
                    )
                out.append(coins)
            return out

    def find_transaction(self, txid: bytes) -> tuple[Transaction, bytes] | None:
        """Like Core's ``-txindex``: a transaction of a connected block and its block hash."""
        with self._lock:
            block_hash = self._txindex.get(txid)
            if block_hash is None:
                return None
            block = Block.deserialize(self._raw_block(block_hash))
            for tx in block.transactions:
                if tx.txid == txid:
                    return tx, block_hash
            return None

    def output(self, txid: bytes, vout: int) -> TxOut | None:
        """An output of any transaction seen in a processed block (spent or not)."""
        with self._lock:
            outs = self._outputs.get(txid)
            return outs[vout] if outs is not None and 0 <= vout < len(outs) else None

    # -- building -----------------------------------------------------------------------------
    def next_block_time(self, parent: bytes | None = None) -> int:
        """Default timestamp of a block on ``parent``: ``max(MTP + 1, parent time + interval)``,
        capped a minute under the kernel's now + 2 h limit. Deterministic (unlike Core's miner,
        which uses the wall clock) while the chain's times stay over two hours in the past."""
        with self._lock:
            rec = self._index[parent or self._active[-1]]
            # Near the wall clock, stay under the kernel's 2-hour future limit.
            limit = int(_time.time()) + MAX_FUTURE_BLOCK_TIME - 60
            return max(rec.median_time_past + 1, min(rec.time + self.block_interval, limit))

    def build_block(
        self,
        txs: Sequence[Transaction] = (),
        *,
        time: int | None = None,
        parent: bytes | None = None,
        coinbase_script: bytes | None = None,
        coinbase_value: int | None = None,
        extranonce: int | None = None,
        check_time: bool = True,
    ) -> Block:
        """A block with proof of work, not yet submitted. The coinbase pays subsidy plus fees
        (fees computed from every output this chain has seen) to ``coinbase_script`` (default:
        the miner wallet) and commits to the witness root (BIP141), as Core's miner does."""
        with self._lock:
            parent_hash = parent if parent is not None else self._active[-1]
            prev = self._index.get(parent_hash)
            if prev is None:
                raise BadArgumentError(f"parent block {hash_to_hex(parent_hash)} is unknown")
            height = prev.height + 1
            if time is None:
                time = self.next_block_time(parent_hash)
            if check_time:
                if time <= prev.median_time_past:
                    raise BadArgumentError(
                        f"block time {time} at height {height} must exceed the median time "
                        f"past {prev.median_time_past} of the previous 11 blocks"
                    )
                limit = int(_time.time()) + MAX_FUTURE_BLOCK_TIME
                if time > limit:
                    raise BadArgumentError(
                        f"block time {time} is more than 2 hours in the future (limit {limit}); "
                        "the kernel would reject it as time-too-new"
                    )
            if not 0 <= time <= 0xFFFFFFFF:
                raise BadArgumentError(f"block time {time} does not fit in 32 bits")
            if extranonce is None:
                # Distinct coinbases (hence blocks) for competing blocks at one height.
                extranonce = self._per_height.get(height, 0)
            if coinbase_value is None:
                coinbase_value = block_subsidy(height) + self._fees(txs)
            witness_root = merkle_root([bytes(32)] + [tx.wtxid for tx in txs])
            coinbase = coinbase_transaction(
                height,
                coinbase_value,
                coinbase_script if coinbase_script is not None else self.wallet.script_pubkey,
                extranonce=extranonce,
                witness_commitment=witness_commitment_script(witness_root),
            )
            all_txs = (coinbase, *txs)
            root = merkle_root([tx.txid for tx in all_txs])
            header = grind(BlockHeader(BLOCK_VERSION, parent_hash, root, time, REGTEST_BITS, 0))
            return Block(header, all_txs)

    def submit_block(self, block: Block | bytes) -> SubmitResult:
        """Hand a block to the kernel (Core's ``submitblock``), without raising on rejection.

        Raises :class:`KernelError` for kernel failures and ``BadArgumentError`` for bytes that are
        not a block."""
        raw = block if isinstance(block, bytes) else block.serialize()
        try:
            parsed = block if isinstance(block, Block) else Block.deserialize(raw)
        except DecodeError as exc:
            raise BadArgumentError(f"not a block: {exc}") from None
        with self._lock:
            self._check_open()
            h = parsed.hash
            rec = self._index.get(h)
            if rec is not None:
                if rec.invalid:
                    return SubmitResult("duplicate-invalid", h, rec.reason)
                if rec.connected_ever or self.in_active_chain(h):
                    return SubmitResult("duplicate", h)
            kblock = kernel_block(raw)
            self._checked.pop(h, None)
            self._pending = {h: (raw, parsed)}
            self._capture_thread = threading.get_ident()
            self._captured = []
            failed = False
            try:
                is_new = self._chainman.process_block(kblock)
            except pbk.ProcessBlockException:
                failed, is_new = True, False
            finally:
                self._capture_thread = None
                self._pending = {}
            if self._callback_error is not None:
                err, self._callback_error = self._callback_error, None
                raise KernelError(f"devnet state update failed during validation: {err!r}") from err
            if self._fatal is not None:
                raise KernelError(f"kernel fatal error: {self._fatal}")
            in_tree = h in self._index or self._has_entry(h)
            if in_tree and h not in self._index:
                self._add_record(parsed, raw)
            checked = self._checked.pop(h, None)
            if checked is not None and checked[0] != "VALID":
                reason, debug = self._reject_reason(h)
                if in_tree:
                    r = self._index[h]
                    r.invalid, r.reason = True, reason
                    self._journal_write(h, "invalid", reason)
                return SubmitResult("rejected", h, reason, debug, checked[1])
            if failed:
                reason, debug = self._reject_reason(h)
                return SubmitResult("rejected", h, reason or "rejected", debug)
            if in_tree:
                self._journal_write(h, "stored")
            if not is_new:
                return SubmitResult("duplicate", h)
            if checked is None:
                return SubmitResult("inconclusive", h)
            return SubmitResult("accepted", h)

    def mine_block(
        self,
        txs: Sequence[Transaction] = (),
        *,
        time: int | None = None,
        parent: bytes | None = None,
        coinbase_script: bytes | None = None,
    ) -> Block:
        """Build, validate and store one block; raises :class:`BlockRejectedError` with the kernel's
        reason (and releases the wallets' reservations for ``txs``). On a non-tip ``parent``
        the block extends that branch; the kernel reorganises once the branch has more work."""
        with self._lock:
            block = self.build_block(txs, time=time, parent=parent, coinbase_script=coinbase_script)
            result = self.submit_block(block)
            if result.status == "rejected":
                for tx in txs:
                    for w in self._wallets:
                        w.abandon(tx.txid)
                raise BlockRejectedError(
                    block.header.hash_hex,
                    reason=result.reason,
                    debug=result.debug,
                    result=result.result,
                )
            return block

    def mine(
        self,
        n: int = 1,
        *,
        times: Sequence[int] | None = None,
        parent: bytes | None = None,
    ) -> list[Block]:
        """``n`` blocks (coinbase only) on the tip or on ``parent``; ``times`` gives each
        block's timestamp."""
        if n < 0:
            raise BadArgumentError(f"block count must be ≥ 0, got {n}")
        if times is not None and len(times) != n:
            raise BadArgumentError(f"got {len(times)} times for {n} blocks")
        out: list[Block] = []
        with self._lock:
            for i in range(n):
                block = self.mine_block(time=None if times is None else times[i], parent=parent)
                out.append(block)
                parent = block.hash if parent is not None else None
            return out

    def fork(
        self,
        height: int,
        n: int | None = None,
        *,
        times: Sequence[int] | None = None,
        txs: Sequence[Sequence[Transaction]] | None = None,
    ) -> list[Block]:
        """Build a competing branch on the active block at ``height``: ``n`` new blocks at
        heights ``height + 1 ...`` (default: one more than the active chain has above
        ``height``, so the kernel reorganises to it)."""
        with self._lock:
            if not 0 <= height <= self.height:
                raise BadArgumentError(
                    f"fork height {height} outside the active chain [0, {self.height}]"
                )
            if n is None:
                n = self.height - height + 1
            if n < 1:
                raise BadArgumentError(f"a fork needs at least one block, got {n}")
            if times is not None and len(times) != n:
                raise BadArgumentError(f"got {len(times)} times for {n} fork blocks")
            if txs is not None and len(txs) != n:
                raise BadArgumentError(f"got {len(txs)} transaction lists for {n} fork blocks")
            parent = self.hash_at(height)
            out = []
            for i in range(n):
                block = self.mine_block(
                    txs[i] if txs is not None else (),
                    time=None if times is None else times[i],
                    parent=parent,
                )
                out.append(block)
                parent = block.hash
            return out

    def inscribe(
        self,
        envelopes: Sequence[Envelope],
        *,
        fee_rate: float = 1.0,
        mine: bool = True,
        time: int | None = None,
        **kwargs: object,
    ) -> CommitReveal:
        """Commit/reveal from the miner wallet (see :meth:`Wallet.inscribe`), mined in one
        block unless ``mine=False``."""
        with self._lock:
            cr = self.wallet.inscribe(
                envelopes,
                next_height=self.height + 1,
                fee_rate=fee_rate,
                **kwargs,  # type: ignore[arg-type]
            )
            if mine:
                self.mine_block(cr.transactions, time=time)
            return cr

    # -- kernel callbacks ---------------------------------------------------------------------
    def _guard(self, fn: Callable[..., None]) -> Callable[..., None]:
        def wrapped(*args: object) -> None:
            try:
                fn(*args)
            except BaseException as exc:  # never let an exception unwind through C
                if self._callback_error is None:
                    self._callback_error = exc

        return wrapped

    def _on_log(self, msg: str) -> None:
        if self._capture_thread is not None and threading.get_ident() == self._capture_thread:
            self._captured.append(msg)

    def _on_block_checked(
        self, _ud: object, block: pbk.Block, state: pbk.BlockValidationState
    ) -> None:
        if self._loading:
            return
        self._checked[bytes(block.block_hash)] = (
            state.validation_mode.name,
            state.block_validation_result.name,
        )

    def _on_block_connected(self, _ud: object, block: pbk.Block, entry: pbk.BlockTreeEntry) -> None:
        if self._loading:
            return
        h = bytes(entry.block_hash)
        raw, parsed = self._raw_and_parsed(h, block)
        if h not in self._index:
            self._add_record(parsed, raw)
        self._connect(h, parsed, raw, entry.height)
        self._journal_write(h, "connected")
        event = BlockEvent(h, entry.height, raw, parsed)
        for listener in list(self._listeners):
            listener.block_connected(event)

    def _on_block_disconnected(
        self, _ud: object, block: pbk.Block, entry: pbk.BlockTreeEntry
    ) -> None:
        if self._loading:
            return
        h = bytes(entry.block_hash)
        raw, parsed = self._raw_and_parsed(h, block)
        if self._active and self._active[-1] == h:
            self._active.pop()
        for w in self._wallets:
            w.undo_block(parsed, h)
        event = BlockEvent(h, entry.height, raw, parsed)
        for listener in list(self._listeners):
            listener.block_disconnected(event)
        self._tip_changed.notify_all()

    def _on_block_tip(self, _ud: object, state: int, entry_ptr: object, progress: float) -> None:
        if self._loading:
            return
        entry = pbk.BlockTreeEntry._from_view(entry_ptr)
        h = bytes(entry.block_hash)
        # Core latches IBD to false once left; the kernel's state reflects that.
        self._ibd = state != _SYNC_POST_INIT
        self._progress = progress
        event = TipEvent(h, entry.height, self._raw_block(h), self._ibd, progress)
        for listener in list(self._listeners):
            listener.tip_updated(event)
        self._tip_changed.notify_all()

    def _on_fatal(self, _ud: object, message: object, length: int) -> None:
        self._fatal = ctypes.string_at(message, length).decode("utf-8", "replace")

    # -- internals ----------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self.closed:
            raise KernelError("chain is closed")

    def _entry(self, block_hash: bytes) -> pbk.BlockTreeEntry:
        return self._chainman.block_tree_entries[pbk.BlockHash(block_hash)]

    def _has_entry(self, block_hash: bytes) -> bool:
        return pbk.BlockHash(block_hash) in self._chainman.block_tree_entries

    def _raw_block(self, block_hash: bytes) -> bytes:
        raw = self._raw.get(block_hash)
        if raw is None:
            raw = bytes(self._chainman.blocks[self._entry(block_hash)])
            self._cache_raw(block_hash, raw)
        return raw

    def _cache_raw(self, block_hash: bytes, raw: bytes) -> None:
        if block_hash not in self._raw and self._raw_bytes + len(raw) <= _RAW_CACHE_LIMIT:
            self._raw[block_hash] = raw
            self._raw_bytes += len(raw)

    def _raw_and_parsed(self, h: bytes, block: pbk.Block) -> tuple[bytes, Block]:
        pending = self._pending.get(h)
        if pending is not None:
            return pending
        raw = self._raw.get(h) or bytes(block)
        return raw, Block.deserialize(raw)

    def _add_record(self, block: Block, raw: bytes) -> BlockRecord:
        h = block.hash
        prev = self._index.get(block.header.prev_hash)
        height = 0 if prev is None else prev.height + 1
        times = [block.header.time]
        walk = prev
        while walk is not None and len(times) < MEDIAN_TIME_SPAN:
            times.append(walk.time)
            walk = self._index.get(walk.prev_hash)
        times.sort()
        stripped = len(
            b"".join(tx.serialize(include_witness=False) for tx in block.transactions)
        ) + (len(raw) - sum(len(tx.serialize()) for tx in block.transactions))
        rec = BlockRecord(
            hash=h,
            header=block.header,
            height=height,
            chainwork=(0 if prev is None else prev.chainwork) + block_work(block.header.bits),
            median_time_past=times[len(times) // 2],
            n_tx=len(block.transactions),
            size=len(raw),
            stripped_size=stripped,
            weight=stripped * 3 + len(raw),
        )
        self._index[h] = rec
        self._per_height[height] = self._per_height.get(height, 0) + 1
        self._children.setdefault(block.header.prev_hash, []).append(h)
        self._cache_raw(h, raw)
        for tx in block.transactions:
            self._outputs.setdefault(tx.txid, tx.outputs)
        return rec

    def _connect(self, h: bytes, block: Block, raw: bytes, height: int) -> None:
        del self._active[height:]
        self._active.append(h)
        rec = self._index[h]
        rec.connected_ever = True
        for tx in block.transactions:
            self._txindex[tx.txid] = h
        for w in self._wallets:
            w.apply_block(block, h, height)
        self._tip_changed.notify_all()

    def _fees(self, txs: Sequence[Transaction]) -> int:
        local: dict[bytes, tuple[TxOut, ...]] = {}
        total = 0
        for tx in txs:
            value_in = 0
            known = True
            for txin in tx.inputs:
                outs = local.get(txin.prevout.txid) or self._outputs.get(txin.prevout.txid)
                if outs is None or txin.prevout.vout >= len(outs):
                    known = False
                    break
                value_in += outs[txin.prevout.vout].value
            if known:
                total += max(0, value_in - sum(o.value for o in tx.outputs))
            local[tx.txid] = tx.outputs
        return total

    def _reject_reason(self, block_hash: bytes) -> tuple[str, str]:
        hex_hash = hash_to_hex(block_hash)
        for line in self._captured:
            m = _CONNECT_FAILED.search(line)
            if m and m.group(1) == hex_hash:
                return _split_state(m.group(2))
        for line in self._captured:
            m = _ACCEPT_FAILED.search(line)
            if m:
                return _split_state(m.group(1))
        return "", ""

    def _journal_write(self, h: bytes, event: str, reason: str = "") -> None:
        if self._journal is None or self._loading:
            return
        rec = self._index.get(h)
        line = {"hash": hash_to_hex(h), "event": event}
        if rec is not None:
            line["height"] = rec.height  # type: ignore[assignment]
        if reason:
            line["reason"] = reason
        self._journal.write(json.dumps(line) + "\n")
        self._journal.flush()

    def _rebuild(self) -> None:
        """Rebuild the devnet's view from the kernel's active chain, then add the stale and
        invalid blocks the journal remembers."""
        chain = self._chainman.get_active_chain()
        entries = chain.block_tree_entries
        for height in range(len(entries)):
            entry = entries[height]
            raw = bytes(self._chainman.blocks[entry])
            block = Block.deserialize(raw)
            self._add_record(block, raw)
            self._connect(block.hash, block, raw, height)
        events: dict[bytes, dict[str, object]] = {}
        try:
            lines = self.datadir.journal_file.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            lines = []
        for line in lines:
            try:
                item = json.loads(line)
                h = bytes.fromhex(item["hash"])[::-1]
            except (ValueError, KeyError, TypeError):
                continue  # a torn last line after a crash
            state = events.setdefault(h, {"height": item.get("height", 0)})
            state[item.get("event", "")] = item.get("reason", True)
        pending = sorted(
            (h for h in events if h not in self._index and self._has_entry(h)),
            key=lambda h: int(events[h]["height"]),  # type: ignore[call-overload]
        )
        for h in pending:
            try:
                raw = bytes(self._chainman.blocks[self._entry(h)])
            except RuntimeError:
                continue
            block = Block.deserialize(raw)
            if block.header.prev_hash not in self._index:
                continue
            rec = self._add_record(block, raw)
            rec.connected_ever = "connected" in events[h]
            if "invalid" in events[h]:
                rec.invalid, rec.reason = True, str(events[h]["invalid"])


def _split_state(text: str) -> tuple[str, str]:
    """``BlockValidationState::ToString()`` is ``reason`` or ``reason, debug``."""
    reason, _, debug = text.strip().partition(", ")
    return reason, debug


def grind(header: BlockHeader) -> BlockHeader:
    """Find a nonce meeting ``header.bits`` (regtest: about two tries)."""
    target = header.target
    prefix = header.serialize()[:76]
    for nonce in range(1 << 32):
        digest = hashlib.sha256(hashlib.sha256(prefix + pack("<I", nonce)).digest()).digest()
        if int.from_bytes(digest, "little") <= target:
            return BlockHeader(
                header.version,
                header.prev_hash,
                header.merkle_root,
                header.time,
                header.bits,
                nonce,
            )
    raise BadArgumentError("no nonce satisfies the target; change the time or the coinbase")


def kernel_block(raw: bytes) -> pbk.Block:
    """A kernel block from bytes (one copy, unlike ``pbk.Block(raw)``'s per-byte unpacking)."""
    buf = (ctypes.c_ubyte * len(raw)).from_buffer_copy(raw)
    ptr = k.btck_block_create(buf, len(raw))
    if not ptr:
        raise BadArgumentError("the kernel cannot parse these bytes as a block")
    return pbk.Block._from_handle(ptr)
