"""Per-network constants the indexer needs."""

from __future__ import annotations

from typing import Literal

from btc.block import HEADER_SIZE
from btc.compact_size import read_compact_size

Network = Literal["mainnet", "testnet", "testnet4", "signet", "regtest"]
NETWORKS: tuple[Network, ...] = ("mainnet", "testnet", "testnet4", "signet", "regtest")

# ord indexes mainnet inscriptions from the first one's height; other networks from genesis.
_FIRST_INSCRIPTION_HEIGHT: dict[str, int] = {"mainnet": 767430}


def first_inscription_height(network: str) -> int:
    return _FIRST_INSCRIPTION_HEIGHT.get(network, 0)


def bip34_height(raw_block: bytes) -> int | None:
    """The height a block's coinbase commits to (BIP34), or None when absent or unreadable."""
    try:
        _, pos = read_compact_size(raw_block, HEADER_SIZE)
        pos += 4  # version
        if raw_block[pos] == 0:  # segwit marker and flag
            pos += 2
        _, pos = read_compact_size(raw_block, pos)
        pos += 36
        script_len, pos = read_compact_size(raw_block, pos)
        if script_len == 0:
            return None
        op = raw_block[pos]
        if 0x51 <= op <= 0x60:  # OP_1..OP_16 (regtest heights 1-16)
            return op - 0x50
        if op == 0:
            return 0
        if 1 <= op <= 8 and op < script_len:
            return int.from_bytes(raw_block[pos + 1 : pos + 1 + op], "little", signed=False)
    except (IndexError, ValueError, Exception):
        return None
    return None
