"""Bitcoin primitives: CompactSize integers, transactions, blocks, scripts and hashes.

Pure functions and immutable data; no I/O. ``deserialize``/``serialize`` pairs are exact
inverses on valid input (property-tested).
"""

from btc.block import Block, BlockHeader
from btc.hashes import hash_to_hex, hex_to_hash, sha256d
from btc.transaction import OutPoint, Transaction, TxIn, TxOut

__all__ = [
    "Block",
    "BlockHeader",
    "OutPoint",
    "Transaction",
    "TxIn",
    "TxOut",
    "hash_to_hex",
    "hex_to_hash",
    "sha256d",
]
