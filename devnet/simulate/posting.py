"""Putting messages on the chain: a signed Drey message (or a formula part) becomes an ord
envelope in a commit/reveal pair funded by the poster's wallet, and every inscription the
simulator makes is recorded with what it meant to do (the *intent*, for the answer key).

Reveals above Core's standard weight (400,000 WU; consensus allows a block's 4,000,000) are
built here rather than by :meth:`Wallet.inscribe`, which refuses them: an allocation
publication carries the whole file (about 800 kB for 100,000 users). The devnet miner mines
them directly; a real deployment would need a miner that accepts non-standard transactions.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from btc import OutPoint, Transaction, TxIn, TxOut
from btc.ord.envelope import Envelope, reveal_script
from devnet.tx.build import ScriptPathSpend, fee_for, sign_transaction, with_placeholders
from devnet.tx.taproot import TapLeaf, TaprootOutput
from devnet.tx.wallet import DEFAULT_POSTAGE, SEQUENCE_RBF, Coin, Wallet
from drey.crypto.tagged import tagged_hash
from drey.messages import Message, encode_message

__all__ = ["Intent", "Registry", "aux_for", "envelope_of", "inscribe"]

# Reveals whose envelope exceeds this go through the non-standard path.
_STANDARD_BODY_LIMIT = 380_000


def aux_for(secret: bytes, digest: bytes) -> bytes:
    """Deterministic BIP340 auxiliary randomness (blocks must be byte-identical per seed)."""
    return tagged_hash("drey-sim/aux", secret + digest)


def envelope_of(message: Message) -> Envelope:
    content = encode_message(message)
    return Envelope(
        body=content.body,
        content_type=content.content_type,
        metaprotocol=content.metaprotocol,
        metadata=content.metadata,
    )


def inscribe(
    wallet: Wallet,
    envelopes: list[Envelope],
    *,
    next_height: int,
    destination: bytes,
    lead_input: Coin | None = None,
    extra_outputs: tuple[TxOut, ...] = (),
) -> tuple[list[Transaction], list[str]]:
    """Commit and reveal transactions for ``envelopes`` (one reveal) and the inscription ids."""
    size = sum(len(e.body or b"") + len(e.metadata or b"") for e in envelopes)
    if size <= _STANDARD_BODY_LIMIT or lead_input is not None or extra_outputs:
        cr = wallet.inscribe(
            envelopes,
            next_height=next_height,
            destination=destination,
            lead_input=lead_input,
            extra_outputs=extra_outputs,
        )
        return list(cr.transactions), list(cr.inscription_ids)
    return _inscribe_large(wallet, envelopes, next_height=next_height, destination=destination)


def _inscribe_large(
    wallet: Wallet, envelopes: list[Envelope], *, next_height: int, destination: bytes
) -> tuple[list[Transaction], list[str]]:
    """Like :meth:`Wallet.inscribe` (layout "shared"), without the standardness limit."""
    key = wallet.new_key()
    script = reveal_script(key.xonly, envelopes)
    commit_out = TaprootOutput(key.xonly, (TapLeaf(script),))
    spend = ScriptPathSpend(commit_out, 0, (key,))
    outputs = (TxOut(DEFAULT_POSTAGE, destination),)
    dummy = TxIn(OutPoint(bytes(32), 0), b"", SEQUENCE_RBF)
    placeholder = Transaction(2, (dummy,), outputs, 0)
    reveal_fee = fee_for(with_placeholders(placeholder, [spend]).vsize, 1.0)
    wallet.watch(commit_out.script_pubkey, spend)
    commit = wallet.fund(
        [TxOut(DEFAULT_POSTAGE + reveal_fee, commit_out.script_pubkey)], next_height=next_height
    )
    commit_in = TxIn(OutPoint(commit.txid, 0), b"", SEQUENCE_RBF)
    reveal = sign_transaction(
        Transaction(2, (commit_in,), outputs, 0), [commit.outputs[0]], [spend]
    )
    # Reserve the commit output for this reveal, as Wallet.inscribe does.
    wallet._track_built(reveal, [commit_in.prevout])
    ids = [f"{reveal.txid_hex}i{i}" for i in range(len(envelopes))]
    return [commit, reveal], ids


@dataclass(slots=True)
class Intent:
    """One inscription the simulator made and why."""

    id: str
    kind: str
    sender: str
    month: str | None = None
    round: int | None = None
    intent: str = "honest"
    body_sha256: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


class Registry:
    """Every inscription the simulator made, in creation order."""

    def __init__(self) -> None:
        self.items: list[Intent] = []
        self.by_id: dict[str, Intent] = {}

    def add(self, intent: Intent) -> Intent:
        self.items.append(intent)
        self.by_id[intent.id] = intent
        return intent

    def record(
        self,
        ids: list[str],
        envelopes: list[Envelope],
        *,
        kind: str,
        sender: str,
        month: str | None = None,
        round: int | None = None,
        intent: str = "honest",
        **detail: Any,
    ) -> None:
        for iid, env in zip(ids, envelopes, strict=True):
            body = env.body or b""
            if env.metadata is not None:
                detail = {**detail, "metadata_sha256": hashlib.sha256(env.metadata).hexdigest()}
            self.add(
                Intent(
                    iid,
                    kind,
                    sender,
                    month,
                    round,
                    intent,
                    hashlib.sha256(body).hexdigest(),
                    dict(detail),
                )
            )
