"""Inscriptions of a whole decoded transaction (inputs in order, envelopes in each input)."""

from __future__ import annotations

from btc.ord.envelope import envelopes_from_tapscript, tapscript_from_witness
from btc.ord.inscription import Inscription
from btc.transaction import Transaction


def inscriptions_in_transaction(tx: Transaction) -> list[Inscription]:
    """Every inscription in ``tx``; the list index is n in ``<txid>i<n>``. The coinbase has none."""
    if tx.is_coinbase:
        return []
    found: list[Inscription] = []
    for index, txin in enumerate(tx.inputs):
        tapscript = tapscript_from_witness(txin.witness)
        if tapscript is not None and b"ord" in tapscript:
            found.extend(
                Inscription.from_envelope(e) for e in envelopes_from_tapscript(tapscript, index)
            )
    return found
