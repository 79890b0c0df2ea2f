"""What the rules engine reads: the chain (headers and the vault ledger) and the Drey
messages in chain order (PROTOCOL.md §1, §3, §4).

The chain view is columnar on purpose: block hashes and header times are tuples indexed by
``height − base_height``, the vault ledger is one tuple of outputs plus a dict of spends. The
indexer fills it from its shards; the devnet simulator fills it from its in-memory chain.
Nothing here validates protocol rules; constructors only check shapes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from drey.errors import ProtocolError
from drey.formula.assemble import FormulaPart
from drey.messages import Message, Quarantine

__all__ = [
    "ChainView",
    "FormulaPartInscription",
    "Position",
    "PositionedMessage",
    "RulesInputError",
    "VaultOutput",
    "median_time_past",
]

Position = tuple[int, int, int]
"""(height, transaction index in the block, inscription index in the transaction)."""

_MTP_SPAN = 11


class RulesInputError(ProtocolError):
    """The rules engine was given inputs no indexer can produce (caller mistake)."""


@dataclass(frozen=True, slots=True)
class VaultOutput:
    """One output paying a script that is (or may become) a vault script.

    ``outpoint`` is txid (internal byte order) ‖ vout (u32 LE); ``txid`` and
    ``first_input_prevout`` describe the carrying transaction (the prevout of its first
    input, 36 bytes, the null outpoint for a coinbase).
    """

    outpoint: bytes
    height: int
    tx_index: int
    value: int
    script: bytes
    txid: bytes
    first_input_prevout: bytes


@dataclass(frozen=True, slots=True)
class ChainView:
    """Block hashes, header times and the vault ledger for heights ``base_height`` …
    ``tip`` (= ``base_height + len(block_hashes) − 1``).

    ``spends`` maps a vault outpoint to the height of the block that spent it. MTP needs the
    ten headers before a height: a view that does not start at genesis must start at least
    ten blocks before the first params (otherwise MTP near its start uses fewer headers).
    """

    base_height: int
    block_hashes: tuple[bytes, ...]
    times: tuple[int, ...]
    vault_outputs: tuple[VaultOutput, ...] = ()
    spends: Mapping[bytes, int] = field(default_factory=dict)
    outputs_by_txid: Mapping[bytes, tuple[VaultOutput, ...]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if len(self.block_hashes) != len(self.times):
            raise RulesInputError(
                f"{len(self.block_hashes)} block hashes but {len(self.times)} header times"
            )
        if self.base_height < 0:
            raise RulesInputError(f"base height {self.base_height} is negative")
        for i, h in enumerate(self.block_hashes):
            if len(h) != 32:
                raise RulesInputError(f"block hash at height {self.base_height + i} is not 32 B")
        by_txid: dict[bytes, list[VaultOutput]] = {}
        for out in self.vault_outputs:
            if len(out.outpoint) != 36 or len(out.first_input_prevout) != 36:
                raise RulesInputError(f"vault output {out.outpoint.hex()}: outpoints are 36 B")
            by_txid.setdefault(out.txid, []).append(out)
        object.__setattr__(
            self,
            "outputs_by_txid",
            MappingProxyType({k: tuple(v) for k, v in by_txid.items()}),
        )
        object.__setattr__(self, "spends", MappingProxyType(dict(self.spends)))

    def with_blocks(
        self, *, base_height: int, block_hashes: tuple[bytes, ...], times: tuple[int, ...]
    ) -> ChainView:
        """This view's vault ledger (already checked and indexed) on other blocks: for a
        caller whose vault outputs and spends did not change while the chain grew."""
        view = ChainView(base_height=base_height, block_hashes=block_hashes, times=times)
        object.__setattr__(view, "vault_outputs", self.vault_outputs)
        object.__setattr__(view, "spends", self.spends)
        object.__setattr__(view, "outputs_by_txid", self.outputs_by_txid)
        return view

    @property
    def tip(self) -> int:
        """The highest height the view covers (``base_height − 1`` when empty)."""
        return self.base_height + len(self.block_hashes) - 1

    def has(self, height: int) -> bool:
        return self.base_height <= height <= self.tip

    def block_hash(self, height: int) -> bytes:
        """The block hash at ``height`` (internal byte order)."""
        if not self.has(height):
            raise RulesInputError(f"height {height} is outside {self.base_height} … {self.tip}")
        return self.block_hashes[height - self.base_height]

    def mtp(self, height: int) -> int:
        """Median time past: the median header time of heights h − 10 … h (Core's
        ``GetMedianTimePast``: sorted, element ⌊k/2⌋ of the k ≤ 11 available times)."""
        if not self.has(height):
            raise RulesInputError(f"height {height} is outside {self.base_height} … {self.tip}")
        lo = max(self.base_height, height - _MTP_SPAN + 1) - self.base_height
        return median_time_past(self.times[lo : height - self.base_height + 1])

    def spent_at(self, outpoint: bytes) -> int | None:
        """Height of the block spending ``outpoint``, or ``None`` while unspent."""
        return self.spends.get(outpoint)


def median_time_past(times: Sequence[int]) -> int:
    """Core's median: the element at index ⌊k/2⌋ of the k sorted times (k ≥ 1)."""
    if not times:
        raise RulesInputError("median of no header times")
    ordered = sorted(times)
    return ordered[len(ordered) // 2]


@dataclass(frozen=True, slots=True)
class PositionedMessage:
    """One Drey inscription where it was mined, with what :func:`parse_message` made of it.

    ``inscription_index`` is the ``n`` of the inscription id ``<txid>i<n>`` (envelope order in
    the transaction); ``first_input_prevout`` is the carrying transaction's first input's
    previous outpoint (36 bytes), which a ``stake`` / ``plan`` must name.
    """

    height: int
    tx_index: int
    inscription_index: int
    inscription_id: str
    txid: bytes
    first_input_prevout: bytes
    message: Message | Quarantine

    @property
    def position(self) -> Position:
        return (self.height, self.tx_index, self.inscription_index)

    @property
    def kind(self) -> str | None:
        """The message kind, ``None`` when parsing quarantined it."""
        if isinstance(self.message, Quarantine):
            return None
        return self.message.KIND


@dataclass(frozen=True, slots=True)
class FormulaPartInscription:
    """A non-Drey inscription that a formula manifest may name as a part (§6)."""

    inscription_id: str
    height: int
    part: FormulaPart


def sort_messages(messages: Sequence[PositionedMessage]) -> list[PositionedMessage]:
    """Messages in chain order; raises :class:`RulesInputError` on a repeated position or
    inscription id (an indexer bug)."""
    ordered = sorted(messages, key=lambda m: m.position)
    seen: set[str] = set()
    for i, m in enumerate(ordered):
        if i and ordered[i - 1].position == m.position:
            raise RulesInputError(f"two messages at position {m.position}")
        if m.inscription_id in seen:
            raise RulesInputError(f"inscription {m.inscription_id} appears twice")
        seen.add(m.inscription_id)
    return ordered
