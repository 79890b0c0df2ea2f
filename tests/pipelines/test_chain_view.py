"""The rules' chain view from the warehouse's tables (pipelines/evaluation.py): a view built
from the last one equals a view built from nothing, and keeps the last view's vault ledger
whole while no vault output was paid or spent."""

from __future__ import annotations

import hashlib

import pyarrow as pa

from pipelines.evaluation import chain_view


def _hex(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()


def _blocks(tip: int) -> pa.Table:
    return pa.table(
        {
            "height": list(range(tip + 1)),
            "hash": [_hex(f"block {h}") for h in range(tip + 1)],
            "time": [1_700_000_000 + 600 * h for h in range(tip + 1)],
        }
    )


def _outputs(count: int) -> pa.Table:
    return pa.table(
        {
            "txid": [_hex(f"tx {i}") for i in range(count)],
            "vout": [0] * count,
            "block_height": [1 + i for i in range(count)],
            "tx_index": [1] * count,
            "value": [10_000 + i for i in range(count)],
            "script_pubkey": ["5120" + "ab" * 32] * count,
        }
    )


def _spends(count: int) -> pa.Table:
    return pa.table(
        {
            "spent_txid": [_hex(f"tx {i}") for i in range(count)],
            "spent_vout": [0] * count,
            "block_height": [20 + i for i in range(count)],
        }
    )


INSCRIPTIONS = pa.table({"txid": [_hex("tx 0")], "first_input_prevout": [_hex("funding") + ":1"]})


def test_a_grown_chain_keeps_the_ledger_while_no_vault_output_moved() -> None:
    first, rows = chain_view(_blocks(30), _outputs(5), _spends(1), inscriptions=INSCRIPTIONS)
    grown, kept = chain_view(
        _blocks(31), _outputs(5), _spends(1), inscriptions=INSCRIPTIONS, previous=rows
    )
    fresh, _ = chain_view(_blocks(31), _outputs(5), _spends(1), inscriptions=INSCRIPTIONS)
    assert grown == fresh and grown.tip == 31
    assert grown.outputs_by_txid is first.outputs_by_txid  # the ledger kept, not rebuilt
    assert grown.vault_outputs[0].first_input_prevout == fresh.vault_outputs[0].first_input_prevout
    assert kept.view is grown

    # A spend in the new block: the ledger is built again, and still equals a fresh view.
    spent, _ = chain_view(
        _blocks(32), _outputs(5), _spends(2), inscriptions=INSCRIPTIONS, previous=kept
    )
    fresh, _ = chain_view(_blocks(32), _outputs(5), _spends(2), inscriptions=INSCRIPTIONS)
    assert spent == fresh and spent.spent_at(bytes.fromhex(_hex("tx 1"))[::-1] + bytes(4)) == 21
    assert spent.outputs_by_txid is not first.outputs_by_txid

    # A new vault output: likewise.
    paid, _ = chain_view(
        _blocks(32), _outputs(6), _spends(1), inscriptions=INSCRIPTIONS, previous=kept
    )
    fresh, _ = chain_view(_blocks(32), _outputs(6), _spends(1), inscriptions=INSCRIPTIONS)
    assert paid == fresh and len(paid.vault_outputs) == 6
