"""A small real devnet chain for the pipeline tests, and shards written from it.

The chain carries a founder-signed formula (the real v1 module, inscribed), params with one
actuary and small windows, a bound stake and a plan with a deposit (vault outputs), a VRF
message that is not eligible where it lands, malformed Drey inscriptions of several kinds,
near-miss metaprotocols and ordinary inscriptions; then one block a day across three months
so that two months reach their snapshot. The one actuary never posts a lead package, so each
month is decided by the rules engine as failed (missed lead, withheld VRF): real penalties,
elections and verification rows without a simulator.

Shards are written block by block with ``btc.scan`` and ``indexer.shards`` (one shard per
block under ``<root>/<table>/<height>.parquet``), as the follower would commit them.
"""

from __future__ import annotations

import calendar
import hashlib
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from btc.ord.envelope import Envelope
from btc.scan import outpoint_key, scan_block
from btc.transaction import TxOut
from devnet.chain import Chain
from devnet.tx.wallet import Wallet
from drey.crypto import ecvrf
from drey.crypto.paillier import generate_key
from drey.formula import module_bytes
from drey.messages import (
    FormulaManifest,
    Paillier,
    Params,
    Plan,
    RosterEntry,
    Stake,
    Vrf,
    encode_message,
    xonly_public_key,
)
from indexer.shards import tables_for_blocks, write_shard

DAY = 86_400
FOUNDER_SECRET = hashlib.sha256(b"test founder").digest()
OPERATOR_SECRET = hashlib.sha256(b"test operator").digest()
ACTUARY_SECRET = hashlib.sha256(b"test actuary").digest()
VRF_SECRET = hashlib.sha256(b"test actuary vrf").digest()
# A P2TR-shaped script nobody can spend: the vault.
VAULT_SCRIPT = b"\x51\x20" + hashlib.sha256(b"test vault").digest()
FIRST_MONTH = "2024-02"


def utc(year: int, month: int, day: int) -> int:
    return calendar.timegm((year, month, day, 0, 0, 0))


@dataclass
class DemoChain:
    chain: Chain
    ids: dict[str, str] = field(default_factory=dict)
    next_time: int = 0
    unspent: set[bytes] = field(default_factory=set)
    written: int = -1

    @property
    def founder(self) -> bytes:
        return xonly_public_key(FOUNDER_SECRET)

    def mine_day(self, txs: Iterable = ()) -> int:
        self.chain.mine_block(tuple(txs), time=self.next_time)
        self.next_time += DAY
        return self.chain.height

    def inscribe(self, name: str, envelopes: list[Envelope], **kwargs: object) -> None:
        cr = self.chain.wallet.inscribe(
            envelopes, next_height=self.chain.height + 1, fee_rate=2.0, **kwargs
        )
        self.mine_day(cr.transactions)
        for i, inscription_id in enumerate(cr.inscription_ids):
            self.ids[name if len(envelopes) == 1 else f"{name}{i}"] = inscription_id

    def mine_days(self, n: int) -> None:
        for _ in range(n):
            self.mine_day()

    def write_shards(self, root: Path, *, skip_empty: bool = False) -> list[int]:
        """Shards for every block not written yet (one shard per block); return the heights.
        ``skip_empty``: as the follower commits, no file for a table without rows."""
        heights = list(range(self.written + 1, self.chain.height + 1))
        for h in heights:
            raw = self.chain.read_block(self.chain.hash_at(h))
            scanned = scan_block(raw, vault_scripts=[VAULT_SCRIPT], vault_outpoints=self.unspent)
            for spend in scanned.vault_spends:
                self.unspent.discard(outpoint_key(spend.spent_txid, spend.spent_vout))
            for out in scanned.vault_outputs:
                self.unspent.add(outpoint_key(out.txid, out.vout))
            tables = tables_for_blocks([(h, scanned)])
            if skip_empty:
                tables = {name: data for name, data in tables.items() if data.num_rows}
            write_shard(tables, root, name=f"{h:09d}")
        self.written = self.chain.height
        return heights


def _drey(message: object) -> Envelope:
    content = encode_message(message)  # type: ignore[arg-type]
    return Envelope(
        body=content.body,
        content_type=content.content_type,
        metaprotocol=content.metaprotocol,
        metadata=content.metadata,
    )


def build_chain(datadir: Path, *, days: int = 75) -> DemoChain:
    """The chain described in the module docstring, ``days`` daily blocks after setup."""
    chain = Chain.create(datadir, seed=b"pipelines-test")
    t0 = utc(2024, 1, 1)
    chain.mine(101, times=[t0 + 600 * i for i in range(101)])
    tc = DemoChain(chain, next_time=utc(2024, 1, 2))

    module = module_bytes()
    tc.inscribe("wasm", [Envelope(body=module, content_type="application/wasm")])
    manifest = FormulaManifest(
        name="drey-v1",
        version=1,
        sha256=hashlib.sha256(module).digest(),
        parts=(tc.ids["wasm"],),
    ).signed(FOUNDER_SECRET)
    tc.inscribe("formula", [_drey(manifest)])

    dealing = generate_key(512, 1, 1, rng=random.Random(7))
    actuary = xonly_public_key(ACTUARY_SECRET)
    params = Params(
        first_month=FIRST_MONTH,
        vault=(VAULT_SCRIPT,),
        operator=xonly_public_key(OPERATOR_SECRET),
        roster=(
            RosterEntry(
                index=1,
                key=actuary,
                vrf_key=ecvrf.public_key(VRF_SECRET),
                vk=dealing.public.vk_bytes(1),
            ),
        ),
        paillier=Paillier(n=dealing.public.n_bytes(), v=dealing.public.v_bytes()),
        threshold=1,
        min_stake=10_000,
        dreybits_per_month=1_000_000,
        fee_bps=100,
        penalty_bps=1_000,
        lead_bps=6_000,
        formula=tc.ids["formula"],
        confirmations=1,
        vrf_window=1,
        lead_window=2,
        race_window=2,
        share_window=2,
        max_rounds=2,
    ).signed(FOUNDER_SECRET)
    tc.inscribe("params", [_drey(params)])

    wallet: Wallet = chain.wallet
    coin = wallet.select_coin(200_000, next_height=chain.height + 1)
    stake = Stake(actuary=actuary, outpoint=coin.outpoint.serialize()).signed(ACTUARY_SECRET)
    tc.inscribe(
        "stake", [_drey(stake)], lead_input=coin, extra_outputs=[TxOut(50_000, VAULT_SCRIPT)]
    )
    coin = wallet.select_coin(200_000, next_height=chain.height + 1)
    plan = Plan(
        user_id=7, owner=xonly_public_key(b"\x07" * 32), outpoint=coin.outpoint.serialize()
    ).signed(OPERATOR_SECRET)
    tc.inscribe(
        "plan", [_drey(plan)], lead_input=coin, extra_outputs=[TxOut(100_000, VAULT_SCRIPT)]
    )

    vrf = Vrf(month=FIRST_MONTH, round=0, actuary=actuary, proof=bytes(80)).signed(ACTUARY_SECRET)
    tc.inscribe(
        "junk",
        [
            _drey(vrf),  # parses; the rules decide (too early for its window: early/ignored)
            Envelope(body=b"\xa1\x61v", content_type="application/cbor", metaprotocol="drey/1"),
            Envelope(body=b"{}", content_type="application/json", metaprotocol="drey/1"),
            Envelope(
                body=_drey(stake).body,
                content_type="application/cbor",
                metaprotocol="drey/1",
                content_encoding="br",
            ),
            Envelope(
                body=_drey(stake).body, content_type="application/cbor", metaprotocol="DREY/1"
            ),
            Envelope(body=b"gm", content_type="text/plain;charset=utf-8"),
        ],
    )
    tc.mine_days(days)
    return tc
