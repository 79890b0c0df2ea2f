"""A block's two merkle roots: the transactions' byte spans found and every txid and wtxid
hashed in native calls (``_block_hashes.c``, built by :mod:`native`), or in pure Python with
the same result where no compiler is available.

A span is ``(start, witness_start, end, segwit)`` of one transaction inside the block: the
txid hashes ``[start, start+4) ‖ [start+6, witness_start) ‖ [end-4, end)`` for a segwit
transaction (no marker, flag or witnesses: BIP144) and ``[start, end)`` otherwise; the wtxid
hashes ``[start, end)``. Hashing a whole block in Python costs ~40k hashlib calls (~45 ms for
a 1.5 MB mainnet block, more than the scan itself); the kernel takes ~7 ms with the SHA
extensions, without holding the GIL.
"""

from __future__ import annotations

import ctypes
import functools
from array import array
from hashlib import sha256
from pathlib import Path
from typing import Literal

from btc.compact_size import read_compact_size
from btc.errors import DecodeError
from btc.hashes import sha256d
from native import build_library, cpu_flags

__all__ = [
    "BlockRoots",
    "Kernel",
    "block_roots",
    "block_spans",
    "merkle_root_mutated",
    "native_sha256d",
]

_SOURCE = Path(__file__).with_name("_block_hashes.c")
_FLAGS = ("-O3", "-shared", "-fPIC")

Kernel = Literal["auto", "native", "python"]
BlockRoots = tuple[bytes, bytes, bool]  # merkle root, witness merkle root, mutated


@functools.cache
def _library() -> ctypes.CDLL | None:
    lib = build_library(_SOURCE, name="block-hashes", flags=_FLAGS)
    if lib is None:
        return None
    lib.drey_block_roots.argtypes = [
        ctypes.c_char_p,
        ctypes.c_void_p,
        ctypes.c_uint32,
        ctypes.c_int,
        ctypes.c_char_p,
    ]
    lib.drey_block_roots.restype = ctypes.c_int
    lib.drey_block_spans.argtypes = [
        ctypes.c_char_p,
        ctypes.c_size_t,
        ctypes.c_void_p,
        ctypes.c_uint32,
    ]
    lib.drey_block_spans.restype = ctypes.c_longlong
    lib.drey_sha256d.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_char_p]
    lib.drey_sha256d.restype = None
    return lib


@functools.cache
def _shani() -> bool:
    return "sha_ni" in cpu_flags()


def merkle_root_mutated(hashes: list[bytes]) -> tuple[bytes, bool]:
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


def block_spans(raw: bytes, tx_count: int, *, kernel: Kernel = "auto") -> array[int] | None:
    """The spans of the ``tx_count`` transactions of ``raw`` (``array('I')``, four per
    transaction), or None when the bytes do not parse as exactly that many transactions."""
    lib = _library() if kernel != "python" else None
    if lib is None:
        if kernel == "native":
            raise RuntimeError("the block hashing kernel could not be built (no C compiler?)")
        return _spans_python(raw, tx_count)
    spans = array("I", bytes(16 * tx_count))
    address, _ = spans.buffer_info()
    n = lib.drey_block_spans(raw, len(raw), address, tx_count)
    return spans if n == tx_count else None


def _spans_python(raw: bytes, tx_count: int) -> array[int] | None:
    """The pure-Python twin of ``drey_block_spans`` (same walk, same refusals)."""
    try:
        count, pos = read_compact_size(raw, 80)
        if count != tx_count:
            return None
        spans = array("I")
        for _ in range(tx_count):
            start = pos
            if len(raw) - pos < 10:
                return None
            pos += 4
            segwit = raw[pos] == 0
            if segwit:
                if raw[pos + 1] != 1:
                    return None
                pos += 2
            n_in, pos = read_compact_size(raw, pos)
            for _ in range(n_in):
                n, pos = read_compact_size(raw, pos + 36)
                pos += n + 4
            n_out, pos = read_compact_size(raw, pos)
            for _ in range(n_out):
                n, pos = read_compact_size(raw, pos + 8)
                pos += n
            witness_start = pos
            if segwit:
                for _ in range(n_in):
                    items, pos = read_compact_size(raw, pos)
                    for _ in range(items):
                        n, pos = read_compact_size(raw, pos)
                        pos += n
            pos += 4
            if pos > len(raw):
                return None
            spans.extend((start, witness_start, pos, int(segwit)))
    except DecodeError:
        return None
    return spans if pos == len(raw) else None


def _roots_python(raw: bytes, spans: array[int]) -> BlockRoots:
    view = memoryview(raw)
    txids: list[bytes] = []
    wtxids: list[bytes] = []
    for i in range(0, len(spans), 4):
        start, wstart, end, segwit = spans[i : i + 4]
        if segwit:
            h = sha256(view[start : start + 4])
            h.update(view[start + 6 : wstart])
            h.update(view[end - 4 : end])
            txid = sha256(h.digest()).digest()
            wtxids.append(sha256d(view[start:end]))
        else:
            txid = sha256d(view[start:end])
            wtxids.append(txid)
        txids.append(txid)
    root, mutated = merkle_root_mutated(txids)
    if wtxids:
        wtxids[0] = bytes(32)
    witness_root, _ = merkle_root_mutated(wtxids)
    return root, witness_root, mutated


def block_roots(raw: bytes, spans: array[int], *, kernel: Kernel = "auto") -> BlockRoots:
    """``(merkle root, witness merkle root, mutated)`` of the transactions at ``spans``
    (``array('I')``, four per transaction) in ``raw``; internal byte order."""
    lib = _library() if kernel != "python" else None
    if lib is None:
        if kernel == "native":
            raise RuntimeError("the block hashing kernel could not be built (no C compiler?)")
        return _roots_python(raw, spans)
    out = ctypes.create_string_buffer(64)
    address, _ = spans.buffer_info()
    status = lib.drey_block_roots(raw, address, len(spans) // 4, int(_shani()), out)
    if status < 0:
        raise MemoryError("block hashing kernel: out of memory")
    return out.raw[:32], out.raw[32:], bool(status)


def native_sha256d(data: bytes, *, shani: bool) -> bytes | None:
    """SHA256d by the kernel's portable or SHA-NI compression (None without the kernel, or
    SHA-NI asked for on a CPU without it): for the tests that pin both to hashlib."""
    lib = _library()
    if lib is None or (shani and not _shani()):
        return None
    out = ctypes.create_string_buffer(32)
    lib.drey_sha256d(data, len(data), int(shani), out)
    return out.raw
