"""Every mainnet fixture transaction and block decodes to what INDEX.json and the README list."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from btc import Transaction
from btc.ord.transaction import inscriptions_in_transaction
from btc.scan import scan_block
from indexer.cli import inscription_json, main

BLOCK_ENVELOPES = {
    839999: 963,
    840002: 98,
    840003: 13,
    840004: 13,
    840005: 16,
    840006: 20,
    840007: 10,
    840672: 60,
}
BLOCK_TXS = {
    839999: 2328,
    840002: 4216,
    840003: 5288,
    840004: 5328,
    840005: 5136,
    840006: 4837,
    840007: 4864,
    840672: 4084,
}


def _expected(entry: dict) -> dict:
    """INDEX.json's sparse form (absent key = null/empty/false)."""
    return entry


def _sparse(obj: dict) -> dict:
    out = {
        "id": obj["id"],
        "input": obj["input"],
        "offset": obj["offset"],
        "body_len": obj["body_len"],
    }
    for key in ("content_type", "content_encoding", "metaprotocol", "pointer", "delegate"):
        if obj[key] is not None:
            out[key] = obj[key]
    if obj["parents"]:
        out["parents"] = obj["parents"]
    if obj["metadata_hex"] is not None:
        out["metadata_len"] = len(obj["metadata_hex"]) // 2
    if obj["flags"]:
        out["flags"] = obj["flags"]
    return out


def test_every_fixture_transaction_matches_index(tx_index: list[dict], mainnet_dir: Path) -> None:
    assert len(tx_index) == 23
    for entry in tx_index:
        tx = Transaction.deserialize(
            bytes.fromhex((mainnet_dir / "tx" / f"{entry['txid']}.hex").read_text().strip())
        )
        found = inscriptions_in_transaction(tx)
        assert len(found) == entry["envelopes"], entry["txid"]
        for number, (insc, expected) in enumerate(zip(found, entry["all"], strict=True)):
            got = _sparse(inscription_json(entry["txid"], number, insc))
            if insc.rune is not None:
                got["rune_commitment"] = insc.rune.hex()
            want = dict(expected)
            if "flags" in want:
                want["flags"] = sorted(want["flags"])
            assert got == want, entry["txid"]


@pytest.mark.parametrize("height", sorted(BLOCK_ENVELOPES))
def test_every_fixture_block_has_its_envelope_count(height: int, mainnet_dir: Path) -> None:
    raw = (mainnet_dir / "blocks" / f"{height}.bin").read_bytes()
    scanned = scan_block(raw)
    assert scanned.tx_count == BLOCK_TXS[height]
    assert len(scanned.inscriptions) == BLOCK_ENVELOPES[height]
    assert scanned.size == len(raw)
    ids = [f.id for f in scanned.inscriptions]
    assert len(set(ids)) == len(ids)


def test_block_scan_agrees_with_full_parse(mainnet_dir: Path) -> None:
    from btc import Block

    raw = (mainnet_dir / "blocks" / "839999.bin").read_bytes()
    block = Block.deserialize(raw)
    full = []
    for tx_index, tx in enumerate(block.transactions):
        for number, insc in enumerate(inscriptions_in_transaction(tx)):
            full.append((tx_index, tx.txid_hex, number, insc))
    scanned = scan_block(raw)
    assert [(f.tx_index, f.txid, f.number, f.inscription) for f in scanned.inscriptions] == full
    assert scanned.weight == sum(tx.weight for tx in block.transactions) + 4 * (
        len(raw) - sum(tx.size for tx in block.transactions)
    )
    # The fixture tx 42fae98b (BRC-20 deploy) sits in this block.
    assert any(
        f.txid == "42fae98b2b6c2241cf7215f542ed8398ae3e851e2089dd11dc73bc6ddcda72fb"
        for f in scanned.inscriptions
    )


def test_cli_decode_tx_prints_exact_keys(
    mainnet_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = (
        mainnet_dir / "tx" / "e0ca5e5faac5b1baceff2444411a9d90a0941fd750b84af454a38787080c9d19.hex"
    )
    assert main(["decode-tx", str(path)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [list(obj) for obj in lines] == [
        [
            "id",
            "txid",
            "input",
            "offset",
            "content_type",
            "content_encoding",
            "metaprotocol",
            "pointer",
            "parents",
            "delegate",
            "metadata_hex",
            "body_len",
            "body_sha256",
            "flags",
        ]
    ] * 2
    assert [obj["pointer"] for obj in lines] == [0, 546]
    assert main(["decode-tx", path.read_text().strip()]) == 0  # hex on the command line
    assert len(capsys.readouterr().out.splitlines()) == 2


def test_cli_decode_block_and_errors(
    mainnet_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    block = mainnet_dir / "blocks" / "840672.bin"
    assert main(["decode-block", str(block)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 60
    assert main(["decode-block", str(block), "--out", str(tmp_path)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["height"] == 840672  # from the coinbase's BIP34 height
    assert Path(result["files"]["inscriptions"]).exists()
    # Below mainnet's first inscription height nothing is indexed.
    assert main(["decode-block", str(block), "--height", "700000"]) == 0
    assert capsys.readouterr().out == ""
    truncated = tmp_path / "bad.bin"
    truncated.write_bytes(block.read_bytes()[:5000])
    assert main(["decode-block", str(truncated)]) == 2
    assert "cannot decode" in capsys.readouterr().err
    assert main(["decode-tx", "zz"]) == 2
