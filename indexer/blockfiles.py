"""Reading Bitcoin Core's block files (``<blocksdir>/blkNNNNN.dat``) directly.

Core appends each block it stores as a record ``[4-byte network magic][u32 LE size][block]``.
Records are in arrival order, not height order (headers-first download fetches blocks out of
order), a file is preallocated in chunks (the tail is zeros), and since Core 28 every byte of
``blk*.dat``/``rev*.dat`` is XORed with the 8-byte key in ``blocks/xor.dat``, cycling by file
offset: byte ``i`` of a file is stored as ``plain[i] ^ key[i % 8]``. A missing ``xor.dat`` (Core
before 28, or ``-blocksxor=0`` with an all-zero key) means no obfuscation.

:class:`BlockFileIndex` scans record headers (88 bytes each: the record header and the block
header) to map block hash → location and parent; :meth:`BlockFileIndex.best_chain` orders
blocks by following parent links from the chain tip with the most work (when no node is
available to say which chain is best). Reading is safe while the files are not being written;
on a running node the last record may be incomplete, which :meth:`BlockFileIndex.read` reports
as :class:`BlockFileError` (callers fall back to the node).

Limits: the whole index is kept in memory (~150 bytes per block: ~140 MB for mainnet; pass
``wanted`` to keep only the blocks you need). Blocks of stale branches are indexed like any
other; only :meth:`best_chain` decides between them.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from btc.block import HEADER_SIZE
from btc.hashes import hash_to_hex, sha256d
from indexer.errors import IndexerError

MAGIC: dict[str, bytes] = {
    "mainnet": bytes.fromhex("f9beb4d9"),
    "testnet": bytes.fromhex("0b110907"),
    "testnet4": bytes.fromhex("1c163f28"),
    "signet": bytes.fromhex("0a03cf40"),
    "regtest": bytes.fromhex("fabfb5da"),
}
XOR_KEY_SIZE = 8
_BLK_NAME = re.compile(r"blk(\d{5,})\.dat")
_ZERO_HASH = bytes(32)


class BlockFileError(IndexerError):
    """A block file that cannot be read as Core's record layout, or a record that is not the
    block it should be."""


def read_xor_key(blocks_dir: str | Path) -> bytes:
    """The obfuscation key of ``blocks_dir`` (eight zero bytes when there is no ``xor.dat``)."""
    path = Path(blocks_dir) / "xor.dat"
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        return bytes(XOR_KEY_SIZE)
    if len(key) != XOR_KEY_SIZE:
        raise BlockFileError(
            f"{path}: obfuscation key must be {XOR_KEY_SIZE} bytes, got {len(key)}"
        )
    return key


def xor_at(data: bytes, key: bytes, offset: int) -> bytes:
    """``data`` read at file ``offset`` with ``key`` removed (XOR is its own inverse, so this
    also obfuscates). Whole 8-byte words are XORed by Arrow's compute kernel (~10 GB/s, and it
    releases the GIL, so a fetch thread does not stall the decoder); the tail byte by byte."""
    if not data or key == bytes(XOR_KEY_SIZE):
        return bytes(data)
    shift = offset % XOR_KEY_SIZE
    rotated = key[shift:] + key[:shift]
    n = len(data)
    whole = n - n % XOR_KEY_SIZE
    tail = bytes(b ^ rotated[i] for i, b in enumerate(data[whole:]))
    if not whole:
        return tail
    if sys.byteorder != "little":  # the word trick reads the key as a native uint64
        stream = rotated * (whole // XOR_KEY_SIZE)
        value = int.from_bytes(data[:whole], "little") ^ int.from_bytes(stream, "little")
        return value.to_bytes(whole, "little") + tail
    words = pa.Array.from_buffers(pa.uint64(), whole // 8, [None, pa.py_buffer(data)])
    mask = pa.scalar(int.from_bytes(rotated, "little"), pa.uint64())
    out = pc.bit_wise_xor(words, mask).buffers()[1]
    return memoryview(out)[:whole].tobytes() + tail


def block_files(blocks_dir: str | Path) -> list[tuple[int, Path]]:
    """``(file number, path)`` of every ``blkNNNNN.dat``, in file order."""
    out = []
    for p in Path(blocks_dir).iterdir():
        m = _BLK_NAME.fullmatch(p.name)
        if m:
            out.append((int(m.group(1)), p))
    return sorted(out)


@dataclass(frozen=True, slots=True)
class BlockLocation:
    """Where a block's bytes are: ``offset`` is the first byte after the 8-byte record header."""

    file: Path
    offset: int
    size: int
    prev_hash: bytes  # internal order
    bits: int


def iter_records(path: Path, *, magic: bytes, key: bytes) -> Iterator[tuple[int, int, bytes]]:
    """``(data offset, size, 80-byte header)`` of every complete block record in one file,
    stopping at the zero-filled tail or at a record that runs past the end of the file."""
    file_size = path.stat().st_size
    with path.open("rb") as f:
        pos = 0
        while pos + 8 + HEADER_SIZE <= file_size:
            f.seek(pos)
            head = xor_at(f.read(8 + HEADER_SIZE), key, pos)
            if head[:4] != magic:
                # Zero preallocation (or a torn write) ends the usable part of the file.
                return
            size = int.from_bytes(head[4:8], "little")
            if size < HEADER_SIZE or pos + 8 + size > file_size:
                return
            yield pos + 8, size, head[8:]
            pos += 8 + size


class BlockFileIndex:
    """Locations of the blocks in a blocks directory, by internal-order hash."""

    def __init__(
        self,
        blocks_dir: str | Path,
        *,
        network: str,
        wanted: Collection[bytes] | None = None,
    ) -> None:
        """Scan every ``blk*.dat`` of ``blocks_dir``. With ``wanted`` (internal-order hashes),
        keep only those blocks (saves memory when a node already said which blocks to read)."""
        self.blocks_dir = Path(blocks_dir)
        if not self.blocks_dir.is_dir():
            raise BlockFileError(f"blocks directory {self.blocks_dir} does not exist")
        if network not in MAGIC:
            raise BlockFileError(f"unknown network {network!r}")
        self.magic = MAGIC[network]
        self.key = read_xor_key(self.blocks_dir)
        self.locations: dict[bytes, BlockLocation] = {}
        self.bytes_indexed = 0
        keep = None if wanted is None else set(wanted)
        files = block_files(self.blocks_dir)
        for _, path in files:
            for offset, size, header in iter_records(path, magic=self.magic, key=self.key):
                h = sha256d(header)
                if keep is not None and h not in keep:
                    continue
                bits = int.from_bytes(header[72:76], "little")
                self.locations[h] = BlockLocation(path, offset, size, header[4:36], bits)
                self.bytes_indexed += size
        self.file_count = len(files)

    def __len__(self) -> int:
        return len(self.locations)

    def __contains__(self, block_hash: bytes) -> bool:
        return block_hash in self.locations

    def read(self, block_hash: bytes) -> bytes:
        """The serialized block with internal-order ``block_hash``; checks that the bytes
        still hash to it (a rewritten or torn record raises :class:`BlockFileError`)."""
        loc = self.locations.get(block_hash)
        if loc is None:
            raise BlockFileError(f"block {hash_to_hex(block_hash)} is not in {self.blocks_dir}")
        fd = os.open(loc.file, os.O_RDONLY)
        try:
            data = os.pread(fd, loc.size, loc.offset)
        finally:
            os.close(fd)
        if len(data) != loc.size:
            raise BlockFileError(
                f"{loc.file.name} at {loc.offset}: record of {loc.size} bytes is truncated"
            )
        raw = xor_at(data, self.key, loc.offset)
        if sha256d(raw[:HEADER_SIZE]) != block_hash:
            raise BlockFileError(
                f"{loc.file.name} at {loc.offset}: record is not block {hash_to_hex(block_hash)}"
            )
        return raw

    def best_chain(self) -> list[bytes]:
        """Hashes (internal order) of the indexed chain with the most work, genesis first.

        Only blocks whose ancestry reaches a block with a null parent (genesis) count, so a
        directory must hold the chain from genesis (every full node's does)."""
        work: dict[bytes, int] = {}
        height: dict[bytes, int] = {}
        for start in self.locations:
            # Walk up to an ancestor with known work, then fill in downwards (iteratively: the
            # chain is far deeper than Python's recursion limit).
            path = []
            h = start
            while h not in work:
                loc = self.locations.get(h)
                if loc is None:
                    break
                path.append(h)
                if loc.prev_hash == _ZERO_HASH:
                    work[h] = _block_work(loc.bits)
                    height[h] = 0
                    path.pop()
                    break
                h = loc.prev_hash
            if h not in work:
                continue  # orphaned: its ancestry is not in the files
            for child in reversed(path):
                parent = self.locations[child].prev_hash
                work[child] = work[parent] + _block_work(self.locations[child].bits)
                height[child] = height[parent] + 1
        if not work:
            return []
        # Most work wins; on a tie Core keeps the first seen, which file order approximates
        # (max returns the first maximal key in insertion order).
        best = max(work, key=work.__getitem__)
        chain = []
        h = best
        while True:
            chain.append(h)
            prev = self.locations[h].prev_hash
            if prev == _ZERO_HASH:
                break
            h = prev
        chain.reverse()
        return chain


def _block_work(bits: int) -> int:
    """Core's ``GetBlockProof``: 2**256 / (target + 1)."""
    exponent = bits >> 24
    mantissa = bits & 0x007FFFFF
    target = mantissa >> (8 * (3 - exponent)) if exponent <= 3 else mantissa << (8 * (exponent - 3))
    return (1 << 256) // (target + 1)
