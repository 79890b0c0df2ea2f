"""What a block header commits to: the merkle root of txids and, through the coinbase, the
BIP141 witness commitment of wtxids.

The block hash covers only the 80-byte header, and the header's merkle root covers only txids,
which leave witnesses out: one flipped bit in an inscription body (witness data) keeps the block
hash and the merkle root. Only the witness commitment catches it, so a block whose bytes were
altered anywhere fails one of these checks:

- merkle root of the txids = the header's (and no duplicated subtree, CVE-2012-2459: Core's
  ``ComputeMerkleRoot`` "mutated" flag, which lets two transaction lists share a root);
- BIP141: if any transaction (the coinbase included) has witness data, the coinbase carries an output whose script
  starts ``OP_RETURN 0x24 aa21a9ed`` (the last such output counts), its input witness is one
  32-byte item (the witness reserved value), and the 32 bytes after the prefix equal
  SHA256d(witness merkle root ‖ reserved value), where the witness merkle root is over the
  wtxids with the coinbase's counted as zero.
"""

from __future__ import annotations

from collections.abc import Sequence

from btc.block import HEADER_SIZE, Block, BlockHeader
from btc.block_hashes import Kernel, block_roots, block_spans, merkle_root_mutated
from btc.compact_size import read_compact_size
from btc.errors import BlockCommitmentError, MalformedBlockError
from btc.hashes import hash_to_hex, sha256d
from btc.transaction import Transaction

__all__ = ["WITNESS_COMMITMENT_PREFIX", "check_commitments", "verify_block"]

WITNESS_COMMITMENT_PREFIX = bytes.fromhex("6a24aa21a9ed")


def check_commitments(
    *,
    header_merkle_root: bytes,
    merkle_root: bytes,
    mutated: bool,
    witness_root: bytes,
    has_witness: bool,
    coinbase_scripts: Sequence[bytes],
    coinbase_witness: Sequence[bytes],
) -> None:
    """Raise :class:`BlockCommitmentError` unless the transactions are the ones the header
    commits to. ``merkle_root``, ``mutated`` and ``witness_root`` are the transactions' own
    (:func:`btc.block_hashes.block_roots`); ``has_witness`` says whether any
    transaction carries witness data."""
    if merkle_root != header_merkle_root:
        raise BlockCommitmentError(
            "bad_merkle_root",
            f"transactions hash to merkle root {hash_to_hex(merkle_root)}, the header says "
            f"{hash_to_hex(header_merkle_root)}",
        )
    if mutated:
        raise BlockCommitmentError(
            "mutated_merkle", "duplicate transactions in the merkle tree (CVE-2012-2459)"
        )
    if not has_witness:
        # Nothing outside the txids to protect (and blocks mined before segwit may carry
        # outputs that merely look like a commitment).
        return
    commitment = None
    for script in coinbase_scripts:
        if len(script) >= 38 and script[:6] == WITNESS_COMMITMENT_PREFIX:
            commitment = script[6:38]
    if commitment is None:
        raise BlockCommitmentError(
            "unexpected_witness", "witness data without a witness commitment in the coinbase"
        )
    if len(coinbase_witness) != 1 or len(coinbase_witness[0]) != 32:
        raise BlockCommitmentError(
            "bad_witness_nonce", "the coinbase witness is not one 32-byte reserved value"
        )
    if sha256d(witness_root + coinbase_witness[0]) != commitment:
        raise BlockCommitmentError(
            "bad_witness_commitment",
            "witness data does not match the coinbase's witness commitment (BIP141)",
        )


def verify_block(raw: bytes, *, kernel: Kernel = "auto") -> None:
    """Raise unless ``raw`` is a block whose transactions are the ones its header commits to:
    :class:`BlockCommitmentError` when a commitment fails, a
    :class:`~indexer.errors.DecodeError` when the bytes do not even parse (the scanner gives
    the precise reason). The header's own hash is the caller's to check."""
    header = BlockHeader.deserialize(raw)
    tx_count, pos = read_compact_size(raw, HEADER_SIZE)
    if tx_count == 0 or tx_count > len(raw) // 10:
        raise MalformedBlockError(f"{tx_count} transactions in {len(raw)} bytes", offset=80)
    spans = block_spans(raw, tx_count, kernel=kernel)
    if spans is None:
        # Bytes that do not parse: deserializing names the precise reason (and should it
        # ever accept them, the roots below are still computed from what it read).
        block = Block.deserialize(raw)
        coinbase = block.transactions[0]
        merkle_root, mutated = merkle_root_mutated([tx.txid for tx in block.transactions])
        witness_root, _ = merkle_root_mutated(
            [bytes(32)] + [tx.wtxid for tx in block.transactions[1:]]
        )
        has_witness = any(tx.has_witness for tx in block.transactions)
    else:
        merkle_root, witness_root, mutated = block_roots(raw, spans, kernel=kernel)
        coinbase, _ = Transaction.parse(raw, pos)
        has_witness = any(spans[3::4])
    check_commitments(
        header_merkle_root=header.merkle_root,
        merkle_root=merkle_root,
        mutated=mutated,
        witness_root=witness_root,
        has_witness=has_witness,
        coinbase_scripts=[out.script_pubkey for out in coinbase.outputs],
        coinbase_witness=coinbase.inputs[0].witness if coinbase.inputs else (),
    )
