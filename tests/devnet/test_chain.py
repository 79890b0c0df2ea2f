"""The chain builder: kernel validation, Core's data directory, forks, wallets, determinism."""

from __future__ import annotations

import calendar
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from btc import Block, BlockHeader, TxOut
from btc.ord.envelope import Envelope
from btc.scan import scan_block
from devnet.chain import Chain
from devnet.errors import (
    BadArgumentError,
    BlockRejectedError,
    DataDirBusyError,
    DataDirError,
    InsufficientFundsError,
)
from devnet.tx.wallet import Wallet

REPO = Path(__file__).resolve().parents[2]


def test_core_layout_and_reopen_gives_same_tip(tmp_path: Path, envelopes: list[Envelope]) -> None:
    root = tmp_path / "dd"
    with Chain.create(root, seed="layout") as c:
        c.mine(120)
        c.inscribe(envelopes)
        tip, height = c.tip.hash, c.height
    net = root / "regtest"
    for rel in (
        "blocks/blk00000.dat",
        "blocks/rev00000.dat",
        "blocks/xor.dat",
        ".lock",
        "blocks/.lock",
    ):
        assert (net / rel).is_file(), rel
    for rel in ("blocks/index/CURRENT", "chainstate/CURRENT"):
        assert (net / rel).is_file(), rel
    # The kernel reloads its own block index and chainstate: same tip, same UTXO-derived wallet.
    with Chain.open(root) as c:
        assert (c.tip.hash, c.height) == (tip, height)
        assert c.median_time_past() == c.tip.median_time_past
        block = Block.deserialize(c.read_block(tip))
        assert block.hash == tip
        c.mine(1)
        assert c.height == height + 1


def test_busy_datadir_in_process_and_from_another_process(tmp_path: Path) -> None:
    root = tmp_path / "dd"
    with Chain.create(root):
        with pytest.raises(DataDirBusyError, match="cannot obtain a lock"):
            Chain.open(root)
        proc = subprocess.run(
            [sys.executable, "-m", "devnet", "mine", "--datadir", str(root)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 3, proc.stderr
        assert "cannot obtain a lock" in proc.stderr
    with Chain.open(root) as c:  # released on close
        assert c.height == 0
    with pytest.raises(DataDirError, match="not a devnet data directory"):
        Chain.open(tmp_path / "missing")
    with pytest.raises(DataDirError, match="already holds a devnet"):
        Chain.create(root)


def test_invalid_blocks_are_rejected_with_the_kernels_reason(chain: Chain) -> None:
    tip = chain.tip.hash
    good = chain.build_block()
    # Bad merkle root: caught before storage (CheckBlock), reason from AcceptBlock.
    bad_root = Block(replace(good.header, merkle_root=bytes(32)), good.transactions)
    from devnet.chain import grind

    bad_root = Block(grind(bad_root.header), bad_root.transactions)
    with pytest.raises(BlockRejectedError) as exc:
        _submit_or_raise(chain, bad_root)
    assert exc.value.reason == "bad-txnmrklroot"
    assert exc.value.debug == "hashMerkleRoot mismatch"
    assert exc.value.result == "MUTATED"
    # Bad signature: accepted to disk, then ConnectBlock fails in script verification.
    cr = chain.wallet.inscribe([Envelope(body=b"x")], next_height=chain.height + 1)
    wit = list(cr.reveal.inputs[0].witness)
    wit[0] = bytes([wit[0][0] ^ 1]) + wit[0][1:]
    forged = replace(cr.reveal, inputs=(replace(cr.reveal.inputs[0], witness=tuple(wit)),))
    with pytest.raises(BlockRejectedError) as exc:
        chain.mine_block([cr.commit, forged])
    assert exc.value.reason == "block-script-verify-flag-failed (Invalid Schnorr signature)"
    assert exc.value.result == "CONSENSUS"
    # Coinbase paying too much.
    greedy = chain.build_block(coinbase_value=50 * 10**8 + 1)
    result = chain.submit_block(greedy)
    assert (result.status, result.reason) == ("rejected", "bad-cb-amount")
    assert chain.submit_block(greedy).status == "duplicate-invalid"
    # Timestamp not after the median time past.
    old = chain.build_block(time=chain.tip.median_time_past, check_time=False)
    assert chain.submit_block(old).reason == "time-too-old"
    with pytest.raises(BadArgumentError, match="must exceed the median time past"):
        chain.build_block(time=chain.tip.median_time_past)
    with pytest.raises(BadArgumentError, match="more than 2 hours in the future"):
        chain.build_block(time=2**32 - 1)
    # Nothing of that moved the tip; the reservations of the rejected block were released.
    assert chain.tip.hash == tip
    assert chain.mine_block().header.prev_hash == tip
    assert chain.status(greedy.hash) == "invalid"


def _submit_or_raise(chain: Chain, block: Block) -> None:
    result = chain.submit_block(block)
    if result.status == "rejected":
        raise BlockRejectedError(
            block.header.hash_hex, reason=result.reason, debug=result.debug, result=result.result
        )


def test_same_seed_gives_byte_identical_blocks(tmp_path: Path, envelopes: list[Envelope]) -> None:
    def build(root: Path) -> list[bytes]:
        with Chain.create(root, seed="det") as c:
            c.mine(101)
            c.inscribe(envelopes, fee_rate=3.0)
            w = Wallet(c.seed, name="actuary")
            c.add_wallet(w)
            c.mine_block([c.wallet.send(w.script_pubkey, 12345, next_height=c.height + 1)])
            c.fork(100)
            return [c.read_block(c.hash_at(h)) for h in range(c.height + 1)]

    a = build(tmp_path / "a")
    b = build(tmp_path / "b")
    assert a == b
    with Chain.create(tmp_path / "c", seed="other") as c:
        c.mine(2)
        assert c.read_block(c.hash_at(1)) != a[1]


def test_a_year_of_months_in_a_few_hundred_blocks(tmp_path: Path) -> None:
    """Monthly snapshots need MTP to cross month boundaries; 25 blocks a month suffice."""
    start = calendar.timegm((2024, 1, 1, 0, 0, 0))
    with Chain.create(tmp_path / "dd", seed="months") as c:
        times = []
        for month in range(12):
            first = calendar.timegm((2024, 1 + month, 1, 0, 0, 0))
            nxt = calendar.timegm((2024 + (month == 11), (month + 1) % 12 + 1, 1, 0, 0, 0))
            step = (nxt - first) // 25
            times += [first + k * step for k in range(25)]
        c.mine(len(times), times=times)
        assert c.height == 300
        crossed = []
        for month in range(1, 12):
            boundary = calendar.timegm((2024, 1 + month, 1, 0, 0, 0))
            snap = next(h for h in range(1, 301) if c.median_time_past(c.hash_at(h)) >= boundary)
            crossed.append(snap)
        assert crossed == sorted(crossed) and len(set(crossed)) == 11
        assert c.median_time_past(c.hash_at(1)) == start or c.record(c.hash_at(1)).time == start


def test_fork_reorgs_and_wallet_follows(chain: Chain) -> None:
    w = Wallet(chain.seed, name="user")
    chain.add_wallet(w)
    chain.mine_block([chain.wallet.send(w.script_pubkey, 70_000, next_height=chain.height + 1)])
    chain.mine(2)
    assert w.balance() == 70_000
    old_tip = chain.tip.hash
    fork_height = chain.height - 3  # below the payment
    # A shorter branch does not reorg; it is a valid-headers tip.
    side = chain.fork(fork_height, 2)
    assert chain.tip.hash == old_tip
    assert chain.status(side[-1].hash) == "valid-headers"
    # A longer one does: the payment is gone, the old tip becomes a valid fork.
    blocks = chain.fork(fork_height)
    assert chain.tip.hash == blocks[-1].hash and chain.height == fork_height + 4
    assert w.balance() == 0
    assert chain.status(old_tip) == "valid-fork"
    tips = {r.hash: chain.status(r.hash) for r in chain.tips()}
    assert tips == {
        blocks[-1].hash: "active",
        old_tip: "valid-fork",
        side[-1].hash: "valid-headers",
    }
    assert chain.fork_point(old_tip).height == fork_height
    with pytest.raises(BadArgumentError, match="outside the active chain"):
        chain.fork(chain.height + 1)


def test_coinbase_maturity_and_many_commits_in_one_block(tmp_path: Path, ord_decoder: Any) -> None:
    with Chain.create(tmp_path / "dd", seed="maturity") as c:
        c.mine(99)
        with pytest.raises(InsufficientFundsError, match="height 100"):
            c.wallet.send(c.wallet.script_pubkey, 1000, next_height=100)
        c.mine(1)  # the height-1 coinbase can be spent in block 101 (100 confirmations)
        pairs = [
            c.wallet.inscribe(
                [Envelope(body=f"msg {i}".encode(), metaprotocol="drey/1")], next_height=101
            )
            for i in range(20)
        ]
        txs = [tx for cr in pairs for tx in cr.transactions]
        block = c.mine_block(txs)
        assert len(block.transactions) == 41
        # Each commit spends the previous commit's change, all inside one block.
        assert pairs[1].commit.inputs[0].prevout.txid == pairs[0].commit.txid
        on_chain = Block.deserialize(c.read_block(block.hash))
        found = [ord_decoder.decode_tx(tx) for tx in on_chain.transactions]
        assert [len(f) for f in found] == [0] + [0, 1] * 20
        assert [f[0].body for f in found[2::2]] == [f"msg {i}".encode() for i in range(20)]
        assert {f[0].metaprotocol for f in found[2::2]} == {"drey/1"}
        # Fees went to the coinbase: subsidy + every commit and reveal fee.
        fees = sum(
            sum(c.output(i.prevout.txid, i.prevout.vout).value for i in tx.inputs)
            - sum(o.value for o in tx.outputs)
            for tx in txs
        )
        assert block.transactions[0].outputs[0].value == 50 * 10**8 + fees
        assert c.read_undo(block.hash) is not None


def test_outputs_to_arbitrary_scripts_and_spending_them(chain: Chain) -> None:
    """Vault-like outputs: a 2-leaf tree (two actuaries), paid and later spent by script path."""
    from btc import OutPoint, Transaction, TxIn
    from btc.script import OP_CHECKSIG, encode_script
    from devnet.tx.build import ScriptPathSpend, sign_transaction
    from devnet.tx.keys import derive_key
    from devnet.tx.taproot import TapLeaf, TaprootOutput

    a, b = derive_key(b"vault", "a"), derive_key(b"vault", "b")
    vault = TaprootOutput(
        derive_key(b"vault", "internal").xonly,
        (
            TapLeaf(encode_script(a.xonly, OP_CHECKSIG)),
            TapLeaf(encode_script(b.xonly, OP_CHECKSIG)),
        ),
    )
    pay = chain.wallet.fund([TxOut(500_000, vault.script_pubkey)], next_height=chain.height + 1)
    chain.mine_block([pay])
    spend = Transaction(
        2, (TxIn(OutPoint(pay.txid, 0)),), (TxOut(499_000, chain.wallet.script_pubkey),), 0
    )
    signed = sign_transaction(spend, [pay.outputs[0]], [ScriptPathSpend(vault, 1, (b,))])
    block = chain.mine_block([signed])
    assert chain.tip.hash == block.hash
    assert chain.output(signed.txid, 0) == TxOut(499_000, chain.wallet.script_pubkey)


def test_header_fields(chain: Chain) -> None:
    rec = chain.tip
    assert rec.chainwork == 2 * (rec.height + 1)  # regtest: work 2 per block
    assert rec.header.bits == 0x207FFFFF
    assert BlockHeader.deserialize(chain.read_block(rec.hash)[:80]) == rec.header
    assert rec.weight == rec.stripped_size * 3 + rec.size


def test_reveal_with_a_lead_input_carries_a_vault_deposit(chain: Chain, ord_decoder: Any) -> None:
    """A Drey stake: the envelope names the reveal's first input, which funds a vault output."""
    from devnet.tx.keys import derive_key
    from devnet.tx.taproot import TaprootOutput

    vault = TaprootOutput(derive_key(b"vault", "k").xonly).script_pubkey
    nxt = chain.height + 1
    lead = chain.wallet.select_coin(2_000_000, next_height=nxt)
    body = b"stake " + lead.outpoint.serialize()
    cr = chain.wallet.inscribe(
        [Envelope(body=body, metaprotocol="drey/1", content_type="application/cbor")],
        next_height=nxt,
        lead_input=lead,
        extra_outputs=[TxOut(1_000_000, vault)],
        fee_rate=2.0,
    )
    assert cr.reveal.inputs[0].prevout == lead.outpoint
    assert cr.reveal.inputs[1].prevout.txid == cr.commit.txid
    assert cr.reveal.outputs[1] == TxOut(1_000_000, vault)
    (found,) = ord_decoder.decode_tx(cr.reveal)
    assert found.input == 1 and found.body == body
    block = chain.mine_block(cr.transactions)
    scanned = scan_block(chain.read_block(block.hash), vault_scripts=[vault])
    assert [(i.id, i.first_input_prevout) for i in scanned.inscriptions] == [
        (f"{cr.reveal.txid_hex}i0", str(lead.outpoint))
    ]
    assert [(v.txid, v.vout, v.value) for v in scanned.vault_outputs] == [
        (cr.reveal.txid_hex, 1, 1_000_000)
    ]
    assert chain.tip.hash == block.hash
    spent_in = lead.value + cr.commit.outputs[0].value
    assert spent_in - sum(o.value for o in cr.reveal.outputs) == cr.fee
    assert cr.fee == -(-cr.reveal.vsize * 2 // 1)
