"""Decode a simulated devnet the way the warehouse will: raw blocks from the kernel's data
directory, envelopes by ``btc.scan.scan_block``, messages by ``parse_message``, the vault
ledger from the transactions, everything shaped as ``drey.rules`` inputs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from btc import Block
from btc.scan import scan_block
from devnet.chain import Chain
from drey.formula import FormulaPart
from drey.messages import parse_message
from drey.rules import ChainView, FormulaPartInscription, PositionedMessage, VaultOutput

WASM = b"application/wasm"


@dataclass(frozen=True, slots=True)
class Decoded:
    tip: int
    hashes: tuple[bytes, ...]
    raw_blocks: tuple[bytes, ...]
    stale_blocks: tuple[bytes, ...]
    chain: ChainView
    messages: tuple[PositionedMessage, ...]
    parts: tuple[FormulaPartInscription, ...]
    drey_inscriptions: dict[str, tuple[int, str | None, bytes]]  # id -> (height, kind, body)


def _outpoint(text: str) -> bytes:
    txid, _, vout = text.partition(":")
    return bytes.fromhex(txid)[::-1] + int(vout).to_bytes(4, "little")


def decode_datadir(datadir: Path, *, founder: bytes, vault: list[bytes]) -> Decoded:
    with Chain.open(datadir) as chain:
        tip = chain.height
        hashes = tuple(chain.hash_at(h) for h in range(tip + 1))
        raws = tuple(chain.read_block(h) for h in hashes)
        active = set(hashes)
        stale = tuple(chain.read_block(r.hash) for r in chain.records() if r.hash not in active)
    times: list[int] = []
    messages: list[PositionedMessage] = []
    parts: list[FormulaPartInscription] = []
    drey: dict[str, tuple[int, str | None, bytes]] = {}
    vault_set = set(vault)
    outputs: list[VaultOutput] = []
    spends: dict[bytes, int] = {}
    unspent: set[bytes] = set()
    for height, raw in enumerate(raws):
        scanned = scan_block(raw)
        times.append(scanned.header.time)
        for found in scanned.inscriptions:
            insc = found.inscription
            if insc.content_type_raw == WASM and insc.metaprotocol_raw is None:
                parts.append(
                    FormulaPartInscription(
                        found.id,
                        height,
                        FormulaPart(
                            insc.content_type_raw,
                            insc.content_encoding_raw,
                            insc.metaprotocol_raw,
                            insc.delegate_raw,
                            insc.body,
                        ),
                    )
                )
                continue
            meta = (insc.metaprotocol_raw or b"").decode("utf-8", "replace").strip().lower()
            if not meta.startswith("drey/"):  # the warehouse's selection (drey/2: refused)
                continue
            msg = parse_message(
                content_type=insc.content_type_raw,
                content_encoding=insc.content_encoding_raw,
                metaprotocol=insc.metaprotocol_raw,
                delegate=insc.delegate_raw,
                body=insc.body,
                metadata=insc.metadata,
                founder=founder,
            )
            messages.append(
                PositionedMessage(
                    height=height,
                    tx_index=found.tx_index,
                    inscription_index=found.number,
                    inscription_id=found.id,
                    txid=bytes.fromhex(found.txid)[::-1],
                    first_input_prevout=_outpoint(found.first_input_prevout),
                    message=msg,
                )
            )
            drey[found.id] = (height, getattr(msg, "KIND", None), insc.body or b"")
        block = Block.deserialize(raw)
        for tx_index, tx in enumerate(block.transactions):
            if not tx.is_coinbase:
                for txin in tx.inputs:
                    op = txin.prevout.serialize()
                    if op in unspent:
                        unspent.discard(op)
                        spends[op] = height
            first = tx.inputs[0].prevout.serialize()
            for vout, out in enumerate(tx.outputs):
                if out.script_pubkey in vault_set:
                    op = tx.txid + vout.to_bytes(4, "little")
                    unspent.add(op)
                    outputs.append(
                        VaultOutput(
                            op, height, tx_index, out.value, out.script_pubkey, tx.txid, first
                        )
                    )
    view = ChainView(
        base_height=0,
        block_hashes=hashes,
        times=tuple(times),
        vault_outputs=tuple(outputs),
        spends=spends,
    )
    return Decoded(tip, hashes, raws, stale, view, tuple(messages), tuple(parts), drey)
