"""Bitcoin codec: CompactSize, transactions, blocks, scripts."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from btc import (
    Block,
    BlockHeader,
    OutPoint,
    Transaction,
    TxIn,
    TxOut,
    hash_to_hex,
    hex_to_hash,
)
from btc.compact_size import MAX_SIZE, encode_compact_size, read_compact_size
from btc.errors import (
    BadVarintError,
    DecodeError,
    MalformedTransactionError,
    TrailingBytesError,
    TruncatedError,
    TruncatedPushError,
)
from btc.script import encode_push, iter_instructions


@pytest.mark.parametrize(
    "value", [0, 1, 0xFC, 0xFD, 0xFFFF, 0x10000, MAX_SIZE, 0xFFFFFFFF, 2**64 - 1]
)
def test_compact_size_roundtrip(value: int) -> None:
    encoded = encode_compact_size(value)
    assert read_compact_size(encoded, 0, range_check=False) == (value, len(encoded))
    assert len(encoded) == (
        1 if value < 0xFD else 3 if value <= 0xFFFF else 5 if value <= 0xFFFFFFFF else 9
    )


@pytest.mark.parametrize(
    "raw",
    [
        bytes.fromhex("fdfc00"),
        bytes.fromhex("fe ffff0000".replace(" ", "")),
        bytes.fromhex("ff ffffffff00000000".replace(" ", "")),
    ],
)
def test_compact_size_rejects_non_canonical(raw: bytes) -> None:
    with pytest.raises(BadVarintError, match="non-canonical"):
        read_compact_size(raw, 0)


def test_compact_size_rejects_above_max_size_and_truncation() -> None:
    with pytest.raises(BadVarintError, match="MAX_SIZE"):
        read_compact_size(encode_compact_size(MAX_SIZE + 1), 0)
    assert read_compact_size(encode_compact_size(2**40), 0, range_check=False)[0] == 2**40
    with pytest.raises(TruncatedError):
        read_compact_size(b"\xfd\x01", 0)
    with pytest.raises(TruncatedError):
        read_compact_size(b"", 0)


def test_every_fixture_transaction_roundtrips_with_its_txid(mainnet_dir: Path) -> None:
    files = sorted((mainnet_dir / "tx").glob("*.hex"))
    assert len(files) == 23
    for path in files:
        raw = bytes.fromhex(path.read_text().strip())
        tx = Transaction.deserialize(raw)
        assert tx.serialize() == raw
        assert tx.txid_hex == path.stem
        assert tx.has_witness


def test_fixture_values_match_index(tx_index: list[dict], mainnet_dir: Path) -> None:
    for entry in tx_index:
        tx = Transaction.deserialize(
            bytes.fromhex((mainnet_dir / "tx" / f"{entry['txid']}.hex").read_text().strip())
        )
        assert len(tx.inputs) == entry["n_in"]
        assert [o.value for o in tx.outputs] == entry["output_values"]
        assert tx.size == entry["size"]


def test_every_fixture_block_roundtrips_and_commits_to_its_transactions(mainnet_dir: Path) -> None:
    for path in sorted((mainnet_dir / "blocks").glob("*.bin")):
        raw = path.read_bytes()
        block = Block.deserialize(raw)
        assert block.serialize() == raw
        assert block.compute_merkle_root() == block.header.merkle_root
        assert int.from_bytes(block.hash, "little") <= block.header.target
        coinbase = block.transactions[0]
        assert coinbase.is_coinbase
        commitment = next(
            o.script_pubkey
            for o in reversed(coinbase.outputs)
            if o.script_pubkey.startswith(b"\x6a\x24\xaa\x21\xa9\xed")
        )
        from btc.hashes import sha256d

        assert (
            sha256d(block.compute_witness_merkle_root() + coinbase.inputs[0].witness[0])
            == commitment[6:38]
        )


def test_consecutive_blocks_link(mainnet_dir: Path) -> None:
    headers = {
        int(p.stem): BlockHeader.deserialize(p.read_bytes())
        for p in (mainnet_dir / "blocks").glob("*.bin")
    }
    for height in range(840003, 840008):
        assert headers[height].prev_hash == headers[height - 1].hash
    assert (
        headers[839999].hash_hex
        == "0000000000000000000172014ba58d66455762add0512355ad651207918494ab"
    )


def test_transaction_errors_are_precise(mainnet_dir: Path) -> None:
    raw = bytes.fromhex(
        (
            mainnet_dir
            / "tx"
            / "c1e013bdd1434450c6e1155417c81eb888e20cbde2e0cde37ec238d91cf37045.hex"
        )
        .read_text()
        .strip()
    )
    with pytest.raises(TrailingBytesError, match="1 bytes after"):
        Transaction.deserialize(raw + b"\x00")
    with pytest.raises(TruncatedError, match="locktime"):
        Transaction.deserialize(raw[:-2])
    # A witness flag with every witness empty is "superfluous witness record", as in Core.
    tx = Transaction.deserialize(raw)
    stripped = Transaction(
        tx.version,
        tuple(TxIn(i.prevout, i.script_sig, i.sequence) for i in tx.inputs),
        tx.outputs,
        tx.locktime,
    )
    body = stripped.serialize()
    empty_witness = body[:4] + b"\x00\x01" + body[4:-4] + b"\x00" * len(tx.inputs) + body[-4:]
    with pytest.raises(MalformedTransactionError, match="superfluous witness"):
        Transaction.deserialize(empty_witness)
    with pytest.raises(MalformedTransactionError, match="unknown transaction optional data"):
        Transaction.deserialize(body[:4] + b"\x00\x02" + body[4:])


def test_hash_hex_roundtrip() -> None:
    h = bytes(range(32))
    assert hex_to_hash(hash_to_hex(h)) == h
    with pytest.raises(ValueError):
        hex_to_hash("00")


def test_script_tokenizer_reads_non_minimal_pushes() -> None:
    script = (
        b"\x00" + b"\x4c\x00" + b"\x4d\x00\x00" + b"\x4e\x00\x00\x00\x00" + b"\x4c\x03ord" + b"\x63"
    )
    assert list(iter_instructions(script)) == [
        (0, b""),
        (0x4C, b""),
        (0x4D, b""),
        (0x4E, b""),
        (0x4C, b"ord"),
        (0x63, None),
    ]
    for truncated in (b"\x05ab", b"\x4c", b"\x4d\x01", b"\x4c\x05abc"):
        with pytest.raises(TruncatedPushError):
            list(iter_instructions(truncated))
    for n in (0, 1, 75, 76, 255, 256, 520, 70000):
        data = bytes(n)
        assert next(iter_instructions(encode_push(data)))[1] == data


# -- property tests ---------------------------------------------------------------------------

_bytes32 = st.binary(min_size=32, max_size=32)
_txin = st.builds(
    TxIn,
    st.builds(OutPoint, _bytes32, st.integers(0, 2**32 - 1)),
    st.binary(max_size=80),
    st.integers(0, 2**32 - 1),
    st.lists(st.binary(max_size=300), max_size=4).map(tuple),
)
_txout = st.builds(TxOut, st.integers(-(2**63), 2**63 - 1), st.binary(max_size=80))
_tx = st.builds(
    Transaction,
    st.integers(-(2**31), 2**31 - 1),
    st.lists(_txin, min_size=1, max_size=5).map(tuple),
    st.lists(_txout, max_size=5).map(tuple),
    st.integers(0, 2**32 - 1),
)


@settings(max_examples=300, deadline=None)
@given(_tx)
def test_serialize_deserialize_roundtrip(tx: Transaction) -> None:
    raw = tx.serialize()
    assert Transaction.deserialize(raw) == tx
    assert Transaction.deserialize(raw).serialize() == raw
    assert Transaction.deserialize(tx.serialize(include_witness=False)).txid == tx.txid


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=400))
def test_deserialize_raises_only_decode_errors(data: bytes) -> None:
    try:
        tx = Transaction.deserialize(data)
    except DecodeError:
        return
    assert tx.serialize() == data


@settings(max_examples=200, deadline=None)
@given(_tx, st.data())
def test_mutated_transactions_raise_only_decode_errors(
    tx: Transaction, data: st.DataObject
) -> None:
    raw = bytearray(tx.serialize())
    for _ in range(data.draw(st.integers(1, 4))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    for candidate in (bytes(raw), bytes(raw[:cut])):
        with contextlib.suppress(DecodeError):
            Transaction.deserialize(candidate)
