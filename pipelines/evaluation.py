"""The one call into the rules engine: chain view and messages in, :class:`Evaluation` out.

Everything protocol-specific is :func:`drey.rules.evaluate`'s; this module only turns the
warehouse's tables into the engine's inputs (block hashes and header times, the vault ledger,
the positioned messages, the WebAssembly parts a formula manifest may name), says which
months an evaluation changed compared with the previous one, and carries a saved evaluation to
a higher tip (:class:`CarriedTip`) when a block changed nothing it reads.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import pickle
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import pyarrow as pa
import pyarrow.compute as pc

from drey.formula import FormulaPart
from drey.messages import FormulaManifest
from drey.messages.circuit import CircuitManifest
from drey.rules import (
    ChainView,
    Evaluation,
    FormulaPartInscription,
    PositionedMessage,
    VaultOutput,
    evaluate,
)
from drey.rules.advance import carried
from drey.rules.memo import Memo
from drey.rules.share_proofs import ShareVerifier
from pipelines.convert import outpoint_bytes

NULL_OUTPOINT = bytes(36)


_VAULT_COLUMNS = ("txid", "vout", "block_height", "tx_index", "value", "script_pubkey")


@dataclass(frozen=True, slots=True)
class VaultRows:
    """The engine's vault outputs and the ``vault_outputs`` rows they were made from: a later
    chain view whose rows start with these keeps their objects (rows only grow at the end
    until a reorg). ``spends`` and ``view``: the ``vault_spends`` rows and the chain view
    built with both; a later view with the same rows of each keeps its ledger whole."""

    rows: pa.Table
    outputs: tuple[VaultOutput, ...]
    spends: pa.Table | None = None
    view: ChainView | None = None

    def same_ledger(self, outputs: pa.Table, spends: pa.Table) -> bool:
        """Whether ``outputs`` and ``spends`` are the rows this ledger was built from."""
        return (
            self.view is not None
            and self.spends is not None
            and _same_rows(self.rows, outputs)
            and _same_rows(self.spends, spends)
        )


def _same_rows(a: pa.Table, b: pa.Table) -> bool:
    return a.num_rows == b.num_rows and a.schema == b.schema and a.equals(b)


def chain_view(
    blocks: pa.Table,
    outputs: pa.Table,
    spends: pa.Table,
    *,
    inscriptions: pa.Table,
    previous: VaultRows | None = None,
) -> tuple[ChainView, VaultRows]:
    """The engine's view of the committed chain, and its vault outputs for the next view.
    A vault output's first prevout comes from ``inscriptions`` (``txid``,
    ``first_input_prevout``) where the shards know it (transactions carrying an
    inscription); other vault-paying transactions get the null outpoint, which the engine
    does not read for them (only stake/plan carriers are bound). ``previous``: the last
    view's vault outputs, whose objects are kept for the rows that start this table (a
    transaction's first prevout is fixed by the transaction)."""
    heights = blocks.column("height").to_pylist()
    base = heights[0] if heights else 0
    block_hashes = tuple(bytes.fromhex(h)[::-1] for h in blocks.column("hash").to_pylist())
    times = tuple(blocks.column("time").to_pylist())
    outputs = outputs.select(list(_VAULT_COLUMNS))
    if previous is not None and previous.view is not None and previous.same_ledger(outputs, spends):
        # No vault output paid or spent since: the last view's ledger on the grown chain.
        grown = previous.view.with_blocks(base_height=base, block_hashes=block_hashes, times=times)
        return grown, replace(previous, view=grown)
    vault = _vault_rows(outputs, inscriptions, previous)
    spent_cols = [
        spends.column(c).to_pylist() for c in ("spent_txid", "spent_vout", "block_height")
    ]
    spent = {
        bytes.fromhex(txid_hex)[::-1] + vout.to_bytes(4, "little"): height
        for txid_hex, vout, height in zip(*spent_cols, strict=True)
    }
    view = ChainView(
        base_height=base,
        block_hashes=block_hashes,
        times=times,
        vault_outputs=vault.outputs,
        spends=spent,
    )
    return view, replace(vault, spends=spends, view=view)


def _vault_rows(rows: pa.Table, inscriptions: pa.Table, previous: VaultRows | None) -> VaultRows:
    kept = 0
    if previous is not None and previous.rows.num_rows <= rows.num_rows:
        head = rows.slice(0, previous.rows.num_rows)
        if head.schema == previous.rows.schema and head.equals(previous.rows):
            kept = previous.rows.num_rows
    new = rows.slice(kept)
    # Column lists zipped, not row dicts: on a fresh view this runs over every vault output
    # (330k at 100,000 users).
    cols = [new.column(c).to_pylist() for c in _VAULT_COLUMNS]
    carriers = inscriptions.filter(pc.is_in(inscriptions.column("txid"), value_set=new["txid"]))
    first_prevouts = dict(
        zip(
            carriers.column("txid").to_pylist(),
            carriers.column("first_input_prevout").to_pylist(),
            strict=True,
        )
    )
    scripts: dict[str, bytes] = {}  # a handful of vault scripts, decoded once each
    vouts = list(previous.outputs[:kept]) if previous is not None else []
    for txid_hex, vout, height, tx_index, value, script_hex in zip(*cols, strict=True):
        txid = bytes.fromhex(txid_hex)[::-1]
        prev = first_prevouts.get(txid_hex)
        script = scripts.get(script_hex)
        if script is None:
            script = scripts[script_hex] = bytes.fromhex(script_hex)
        vouts.append(
            VaultOutput(
                outpoint=txid + vout.to_bytes(4, "little"),
                height=height,
                tx_index=tx_index,
                value=value,
                script=script,
                txid=txid,
                first_input_prevout=NULL_OUTPOINT if prev is None else outpoint_bytes(prev),
            )
        )
    return VaultRows(rows, tuple(vouts))


PART_COLUMNS = (
    "id", "block_height", "content_type_raw", "content_encoding", "metaprotocol", "delegate_raw",
    "body",
)  # fmt: skip


def formula_part_ids(messages: Sequence[PositionedMessage]) -> list[str]:
    """The inscriptions any parsed formula manifest names as parts."""
    return sorted(
        {
            part
            for pm in messages
            if isinstance(pm.message, FormulaManifest)
            for part in pm.message.parts
        }
    )


def circuit_part_ids(
    messages: Sequence[PositionedMessage], *, files: Sequence[str] = ("vk",)
) -> list[str]:
    """The inscriptions any parsed circuit manifest names as parts of ``files`` (``vk``,
    ``source``, ``zkey``). The warehouse keeps no body of these content types (mainnet is
    full of JSON and text), so they are read from the shards by id."""
    wanted = {
        part
        for pm in messages
        if isinstance(pm.message, CircuitManifest)
        for name in files
        for part in getattr(pm.message, name).parts
    }
    return sorted(wanted)


def part_inscriptions(rows: pa.Table) -> list[FormulaPartInscription]:
    """``rows`` (with :data:`PART_COLUMNS`) as the engine's part inscriptions."""
    return [
        FormulaPartInscription(
            inscription_id=r["id"],
            height=r["block_height"],
            part=FormulaPart(
                content_type=r["content_type_raw"],
                content_encoding=r["content_encoding"],
                metaprotocol=r["metaprotocol"],
                delegate=r["delegate_raw"],
                body=r["body"],
            ),
        )
        for r in rows.select(list(PART_COLUMNS)).to_pylist()
    ]


def run_rules(
    chain: ChainView,
    messages: Sequence[PositionedMessage],
    *,
    founder: bytes,
    parts: Sequence[FormulaPartInscription],
    share_verifier: ShareVerifier | None = None,
    memo: Memo | None = None,
    resume_from: Evaluation | None = None,
) -> Evaluation:
    """:func:`drey.rules.evaluate` up to the chain's tip (the Python reference runs beside the
    inscribed module: a disagreement is the ``formula_reference`` alarm). ``share_verifier``
    verifies share proofs (maybe on worker processes); ``memo`` carries pure results (share
    verdicts, plan signatures, formula runs, month trees) over from earlier evaluations;
    ``resume_from`` (the last saved evaluation) lets the walk start after its final months."""
    return evaluate(
        chain,
        messages,
        founder=founder,
        tip_height=chain.tip,
        formula_parts=parts,
        reference_check=True,
        share_verifier=share_verifier,
        memo=memo,
        resume_from=resume_from,
    )


@dataclass(frozen=True, slots=True)
class CarriedTip:
    """A saved evaluation carried to a higher tip (:func:`drey.rules.advance.advance`): the
    tip and block of the evaluation it applies to, and the tip and block it is carried to.
    A block that changes nothing the rules read saves this instead of the whole evaluation
    (about 1 s at 100,000 users); it is ignored beside any other evaluation."""

    base_height: int
    base_hash: bytes
    height: int
    block_hash: bytes

    @classmethod
    def between(cls, base: Evaluation, to: Evaluation) -> CarriedTip:
        assert base.steady is not None and to.steady is not None
        return cls(base.tip_height, base.steady.tip_hash, to.tip_height, to.steady.tip_hash)

    def applies_to(self, base: Evaluation) -> bool:
        steady = getattr(base, "steady", None)  # None on an evaluation saved before it
        return (
            steady is not None
            and base.tip_height == self.base_height
            and steady.tip_hash == self.base_hash
        )


def carried_evaluation(saved: object, carried_tip: object) -> object:
    """The saved evaluation, carried to the tip of ``carried_tip`` when that applies to it."""
    if (
        isinstance(saved, Evaluation)
        and isinstance(carried_tip, CarriedTip)
        and carried_tip.applies_to(saved)
    ):
        return carried(saved, tip=carried_tip.height, tip_hash=carried_tip.block_hash)
    return saved


@dataclass(frozen=True, slots=True)
class MonthDigests:
    """A digest of everything the warehouse publishes about each month, and the block of the
    evaluation they were taken from (``of``: its tip's hash, empty when unknown)."""

    digests: Mapping[str, str]
    of: bytes = b""

    def describe(self, evaluation: Evaluation) -> bool:
        """Whether these are the digests of ``evaluation`` (taken from it, or carried with it)."""
        of = getattr(self, "of", b"")  # empty on digests saved before it was kept
        steady = getattr(evaluation, "steady", None)
        return bool(of) and steady is not None and of == steady.tip_hash

    def changed_since(self, previous: MonthDigests | None) -> list[str]:
        """Months whose rows differ from ``previous`` (new months included), in order."""
        old = {} if previous is None else previous.digests
        return sorted(m for m, d in self.digests.items() if old.get(m) != d)

    def removed_since(self, previous: MonthDigests | None) -> list[str]:
        old = {} if previous is None else previous.digests
        return sorted(m for m in old if m not in self.digests)


def month_keys(evaluation: Evaluation) -> list[str]:
    """The months the warehouse has partitions for: every evaluated month and the pending
    one (which may have messages already)."""
    months = [m.month for m in evaluation.months]
    if evaluation.pending_month is not None and evaluation.pending_month not in months:
        months.append(evaluation.pending_month)
    return months


def month_digests(evaluation: Evaluation) -> MonthDigests:
    """Per month: a hash of its evaluation, its messages' statuses, penalties,
    redistribution and checks, so an unchanged month keeps its digest (:class:`_ContentPickler`:
    timings and shared references do not count). A spurious difference would only cost a
    needless rebuild of that month."""
    out = {}
    for month in month_keys(evaluation):
        m = next((x for x in evaluation.months if x.month == month), None)
        part = (
            m,
            tuple(s for s in evaluation.statuses if s.month == month),
            tuple(p for p in evaluation.penalties if p.month == month),
            tuple(r for r in evaluation.redistribution if r.month == month),
            tuple(c for c in evaluation.checks if c.month == month),
            tuple(r for r in evaluation.months_roots if r[0] == month),
        )
        out[month] = hashlib.sha256(content_bytes(part)).hexdigest()
    steady = evaluation.steady
    return MonthDigests(out, of=b"" if steady is None else steady.tip_hash)


class _ContentPickler(pickle.Pickler):
    """Pickles what a value *is*: a dataclass as its type and the fields it compares by
    (``compare=False`` fields such as a proof check's ``seconds`` are measurements, not
    content), and with no memo (*fast* mode), so an object named twice (a memo hit) pickles as
    two equal objects do. The values are frozen dataclasses and tuples, never cyclic."""

    def reducer_override(self, obj: object) -> object:
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            fields = dataclasses.fields(obj)
            return type(obj), tuple(getattr(obj, f.name) for f in fields if f.compare)
        return NotImplemented


def content_bytes(value: object) -> bytes:
    buffer = io.BytesIO()
    pickler = _ContentPickler(buffer, protocol=5)
    pickler.fast = True
    pickler.dump(value)
    return buffer.getvalue()
