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

from indexer.bitcoin.hashes import hash_to_hex, sha256d
from indexer.errors import BlockCommitmentError

__all__ = ["WITNESS_COMMITMENT_PREFIX", "check_commitments", "merkle_root_mutated"]

WITNESS_COMMITMENT_PREFIX = bytes.fromhex("6a24aa21a9ed")


def merkle_root_mutated(hashes: Sequence[bytes]) -> tuple[bytes, bool]:
    """The merkle root of ``hashes`` and whether any level held two equal sibling hashes
    (the list was mutated by duplicating a subtree), as Core's ``ComputeMerkleRoot``."""
    if not hashes:
        return bytes(32), False
    level = list(hashes)
    mutated = False
    while len(level) > 1:
        for i in range(0, len(level) - 1, 2):
            if level[i] == level[i + 1]:
                mutated = True
        if len(level) % 2:
            level.append(level[-1])
        level = [sha256d(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
    return level[0], mutated


def check_commitments(
    *,
    header_merkle_root: bytes,
    txids: Sequence[bytes],
    wtxids: Sequence[bytes],
    has_witness: bool,
    coinbase_scripts: Sequence[bytes],
    coinbase_witness: Sequence[bytes],
) -> None:
    """Raise :class:`BlockCommitmentError` unless the transactions are the ones the header
    commits to. ``wtxids[0]`` (the coinbase's) is ignored; ``has_witness`` says whether any
    transaction carries witness data."""
    root, mutated = merkle_root_mutated(txids)
    if root != header_merkle_root:
        raise BlockCommitmentError(
            "bad_merkle_root",
            f"transactions hash to merkle root {hash_to_hex(root)}, the header says "
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
    witness_root, _ = merkle_root_mutated([bytes(32), *wtxids[1:]])
    if sha256d(witness_root + coinbase_witness[0]) != commitment:
        raise BlockCommitmentError(
            "bad_witness_commitment",
            "witness data does not match the coinbase's witness commitment (BIP141)",
        )
