"""A read-only view of the active chain as any Drey reader sees it: headers, decoded Drey
messages at their positions, formula parts, and the vault ledger with its bindings.

Every block is decoded the way the indexer does it (``btc.scan.scan_block`` for the
envelopes and vault outputs, ``drey.messages.parse_message`` for the messages). Stakes and
plans are bound to their carrying transaction's vault outputs incrementally (§3): exactly one
stake/plan in the transaction, ``outpoint`` = the first input's previous outpoint, a roster
signer (stake) or the operator's signature (plan), and for a known user_id the same owner.
A reorg truncates the per-block records and rebuilds the indices from what is left.

The view knows only public data. Actuary clients share one instance (read-only for them).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from btc.ord import Inscription
from btc.scan import scan_block
from devnet.chain import Chain
from devnet.simulate.errors import ScenarioError
from drey.formula import FormulaPart
from drey.messages import (
    Message,
    Params,
    Plan,
    Quarantine,
    Stake,
    parse_message,
)
from drey.messages.circuit import CircuitContribution, CircuitManifest

__all__ = ["BlockData", "ChainView", "Holding", "Posted", "outpoint_bytes"]

WASM = b"application/wasm"
_MTP_SPAN = 11


def outpoint_bytes(text: str) -> bytes:
    """``<txid hex>:<vout>`` (display order) to 36 bytes (internal order ‖ u32 LE)."""
    txid, _, vout = text.partition(":")
    return bytes.fromhex(txid)[::-1] + int(vout).to_bytes(4, "little")


@dataclass(frozen=True, slots=True)
class Posted:
    """A Drey inscription on the active chain and what parsing made of it."""

    id: str
    height: int
    tx_index: int
    number: int
    txid: bytes
    first_prevout: bytes
    message: Message | Quarantine
    inscription: Inscription = field(repr=False, compare=False)

    @property
    def position(self) -> tuple[int, int, int]:
        return (self.height, self.tx_index, self.number)

    @property
    def kind(self) -> str | None:
        return None if isinstance(self.message, Quarantine) else self.message.KIND


@dataclass(slots=True)
class Holding:
    """A vault output: where it was created, its value, where it was spent (if it was)."""

    outpoint: bytes
    height: int
    tx_index: int
    txid: bytes
    value: int
    script: bytes
    first_prevout: bytes | None
    spent: int | None = None

    def counts_at(self, height: int) -> bool:
        return self.height <= height and (self.spent is None or self.spent > height)

    def heights_counted(self, lo: int, hi: int) -> int:
        start = max(lo, self.height)
        end = hi if self.spent is None else min(hi, self.spent - 1)
        return max(0, end - start + 1)


@dataclass(frozen=True, slots=True)
class BlockData:
    hash: bytes
    time: int
    messages: tuple[Posted, ...]
    wasm: tuple[tuple[str, int, FormulaPart], ...]
    created: tuple[Holding, ...]
    spends: tuple[tuple[bytes, int], ...]  # (outpoint, height)


class ChainView:
    """The decoded active chain up to its tip (call :meth:`sync` after mining)."""

    def __init__(self, *, founder: bytes) -> None:
        self.founder = founder
        self._blocks: list[BlockData] = []
        self._reset_indices()

    def _reset_indices(self) -> None:
        self.params: Posted | None = None
        self.vault_scripts: tuple[bytes, ...] = ()
        self.messages: list[Posted] = []
        self.by_id: dict[str, Posted] = {}
        self.by_kind: dict[str, list[Posted]] = {}
        self.by_round: dict[tuple[str, str, int], list[Posted]] = {}
        self.allocations: dict[str, list[Posted]] = {}
        self.manifests: dict[str, Posted] = {}
        self.wasm_parts: dict[str, tuple[int, FormulaPart]] = {}
        self.vault: dict[bytes, Holding] = {}
        self._unspent: set[bytes] = set()
        self.stakes: dict[bytes, list[Holding]] = {}
        self.deposits: dict[int, list[Holding]] = {}
        self.owners: dict[int, bytes] = {}
        # Statuses final as soon as the block is decoded: parse quarantines, params and
        # formula manifests, stake/plan bindings (§1, §3). The bookkeeping adds the rest.
        self.base_status: dict[str, tuple[str, str | None]] = {}
        self._tx_bindings: dict[bytes, list[Posted]] = {}

    # -- chain following ------------------------------------------------------------------
    @property
    def tip(self) -> int:
        return len(self._blocks) - 1

    def hash(self, height: int) -> bytes:
        return self._blocks[height].hash

    def time(self, height: int) -> int:
        return self._blocks[height].time

    def mtp(self, height: int) -> int:
        lo = max(0, height - _MTP_SPAN + 1)
        times = sorted(b.time for b in self._blocks[lo : height + 1])
        return times[len(times) // 2]

    def sync(self, chain: Chain) -> int | None:
        """Follow ``chain``'s active chain; returns the fork height if a reorg was undone."""
        fork = None
        top = min(self.tip, chain.height)
        h = top
        while h >= 0 and self._blocks[h].hash != chain.hash_at(h):
            h -= 1
        if h < self.tip:
            fork = h
            del self._blocks[h + 1 :]
            self._rebuild()
        for height in range(self.tip + 1, chain.height + 1):
            block_hash = chain.hash_at(height)
            raw = chain.read_block(block_hash)
            record = chain.record(block_hash)
            assert record is not None
            self._append(self._decode(height, block_hash, record.time, raw))
        return fork

    def _decode(self, height: int, block_hash: bytes, time: int, raw: bytes) -> BlockData:
        scanned = scan_block(raw, vault_scripts=self.vault_scripts, vault_outpoints=self._unspent)
        messages: list[Posted] = []
        wasm: list[tuple[str, int, FormulaPart]] = []
        first_prevouts: dict[int, bytes] = {}
        for found in scanned.inscriptions:
            insc = found.inscription
            txid = bytes.fromhex(found.txid)[::-1]
            first = outpoint_bytes(found.first_input_prevout)
            first_prevouts[found.tx_index] = first
            if insc.content_type_raw == WASM and insc.metaprotocol_raw is None:
                part = FormulaPart(
                    insc.content_type_raw,
                    insc.content_encoding_raw,
                    insc.metaprotocol_raw,
                    insc.delegate_raw,
                    insc.body,
                )
                wasm.append((found.id, height, part))
                continue
            if not _drey_like(insc.metaprotocol_raw):
                continue
            msg = parse_message(
                content_type=insc.content_type_raw,
                content_encoding=insc.content_encoding_raw,
                metaprotocol=insc.metaprotocol_raw,
                delegate=insc.delegate_raw,
                body=insc.body,
                metadata=insc.metadata,
                founder=self.founder,
            )
            messages.append(
                Posted(found.id, height, found.tx_index, found.number, txid, first, msg, insc)
            )
            if not self.vault_scripts and isinstance(msg, Params) and msg.effective_month is None:
                # The first params: its vault scripts apply to outputs after it in this
                # very block too, so scan the block again with them.
                self.vault_scripts = msg.vault
                return self._decode(height, block_hash, time, raw)
        created = tuple(
            Holding(
                bytes.fromhex(o.txid)[::-1] + o.vout.to_bytes(4, "little"),
                height,
                o.tx_index,
                bytes.fromhex(o.txid)[::-1],
                o.value,
                o.script_pubkey,
                first_prevouts.get(o.tx_index),
            )
            for o in scanned.vault_outputs
        )
        spends = tuple(
            (bytes.fromhex(s.spent_txid)[::-1] + s.spent_vout.to_bytes(4, "little"), height)
            for s in scanned.vault_spends
        )
        return BlockData(block_hash, time, tuple(messages), tuple(wasm), created, spends)

    def _rebuild(self) -> None:
        blocks = self._blocks
        self._blocks = []
        self._reset_indices()
        for block in blocks:
            self._append(block)

    def _append(self, block: BlockData) -> None:
        height = len(self._blocks)
        self._blocks.append(block)
        for pid, h, part in block.wasm:
            self.wasm_parts[pid] = (h, part)
        for holding in block.created:
            holding.spent = None
            self.vault[holding.outpoint] = holding
            self._unspent.add(holding.outpoint)
        for outpoint, spent_height in block.spends:
            hold = self.vault.get(outpoint)
            if hold is not None:
                hold.spent = spent_height
                self._unspent.discard(outpoint)
        per_tx: dict[bytes, list[Posted]] = {}
        for pm in block.messages:
            self.messages.append(pm)
            self.by_id[pm.id] = pm
            kind = pm.kind
            if kind is None:
                assert isinstance(pm.message, Quarantine)
                self.base_status[pm.id] = ("quarantined", pm.message.reason)
                continue
            if kind in ("formula", "circuit"):
                self.base_status[pm.id] = ("valid", None)
            if kind == "circuit_contribution":
                self.base_status[pm.id] = ("ignored", None)
            self.by_kind.setdefault(kind, []).append(pm)
            msg = pm.message
            if kind == "params" and self.params is not None:
                self.base_status[pm.id] = self._later_params(pm)
            elif kind == "params":
                assert isinstance(msg, Params)
                self.base_status[pm.id] = ("valid", None)
                self.params = pm
                self.vault_scripts = msg.vault
                self._mark_contributions(msg)
            elif kind in ("formula", "circuit"):
                self.manifests[pm.id] = pm
            elif kind in ("stake", "plan"):
                per_tx.setdefault(pm.txid, []).append(pm)
            elif kind == "circuit_contribution":
                pass  # judged when a params names the circuit that lists it
            elif kind == "allocation":
                self.allocations.setdefault(msg.month, []).append(pm)  # type: ignore[union-attr]
            else:
                key = (kind, msg.month, msg.round)  # type: ignore[union-attr]
                self.by_round.setdefault(key, []).append(pm)
        if per_tx:
            by_tx_outputs: dict[bytes, list[Holding]] = {}
            for holding in block.created:
                by_tx_outputs.setdefault(holding.txid, []).append(holding)
            for txid, pms in per_tx.items():
                self._bind(height, txid, pms, by_tx_outputs.get(txid, []))

    def _later_params(self, pm: Posted) -> tuple[str, str | None]:
        """§2 for a params after the first: an effective_month is required (``bad_params``)
        and must come after every earlier one (``stale_params``). The devnet follows one
        params: a later one that could be valid (a roster rotation) is not modelled."""
        assert self.params is not None and isinstance(pm.message, Params)
        first = self.params.message
        assert isinstance(first, Params)
        effective = pm.message.effective_month
        if effective is None:
            return ("quarantined", "bad_params")
        if effective <= first.first_month:
            return ("quarantined", "stale_params")
        raise ScenarioError(
            f"params {pm.id} could take effect in {effective}: the devnet's bookkeeping "
            "follows a single params (no roster rotation)"
        )

    def _mark_contributions(self, params: Params) -> None:
        """v1.1 §5: the phase-2 steps the params' circuit lists, each at its roster position
        and by that roster member, are valid (the rest stay ignored)."""
        manifest = self.manifests.get(params.circuit or "")
        if manifest is None or not isinstance(manifest.message, CircuitManifest):
            return
        for i, cid in enumerate(manifest.message.contributions):
            step = self.by_id.get(cid)
            if step is None or not isinstance(step.message, CircuitContribution):
                continue
            member = params.roster[i] if i < len(params.roster) else None
            if member is not None and (step.message.index, step.message.actuary) == (
                member.index,
                member.key,
            ):
                self.base_status[cid] = ("valid", None)

    def _bind(self, height: int, txid: bytes, pms: list[Posted], outputs: list[Holding]) -> None:
        """§3: bind one transaction's vault outputs to its single stake or plan message."""
        if len(pms) > 1:
            for pm in pms:
                self.base_status[pm.id] = ("quarantined", "multiple_bindings")
            return
        pm = pms[0]
        msg = pm.message
        params = self.params
        if params is None or pm.position < params.position:
            self.base_status[pm.id] = ("ignored", None)
            return
        p = params.message
        assert isinstance(p, Params)
        if msg.outpoint != pm.first_prevout:  # type: ignore[union-attr]
            self.base_status[pm.id] = ("quarantined", "outpoint_mismatch")
            return
        if isinstance(msg, Stake):
            if msg.actuary not in p.roster_keys:
                self.base_status[pm.id] = ("quarantined", "not_roster")
                return
            self.stakes.setdefault(msg.actuary, []).extend(outputs)
        else:
            assert isinstance(msg, Plan)
            if not msg.verify(p.operator):
                self.base_status[pm.id] = ("quarantined", "bad_signature")
                return
            owner = self.owners.get(msg.user_id)
            if owner is not None and owner != msg.owner:
                self.base_status[pm.id] = ("quarantined", "owner_mismatch")
                return
            self.owners.setdefault(msg.user_id, msg.owner)
            self.deposits.setdefault(msg.user_id, []).extend(outputs)
        self.base_status[pm.id] = ("valid", None)

    # -- reads ------------------------------------------------------------------------------
    def round_messages(self, kind: str, month: str, rnd: int) -> list[Posted]:
        return self.by_round.get((kind, month, rnd), [])

    def stake_at(self, actuary: bytes, height: int) -> int:
        return sum(h.value for h in self.stakes.get(actuary, ()) if h.counts_at(height))

    def unspent_vault(self, holdings: Iterable[Holding]) -> list[Holding]:
        return [h for h in holdings if h.spent is None]


def _drey_like(metaprotocol: bytes | None) -> bool:
    """A Drey candidate as the warehouse selects them (``drey/…`` in any case, trimmed): the
    ones other than ``drey/1`` are refused as ``bad_metaprotocol``, not overlooked."""
    if metaprotocol is None:
        return False
    try:
        return metaprotocol.decode().strip().lower().startswith("drey/")
    except UnicodeDecodeError:
        return False
