"""Decode one hostile block in a fresh process and report what it cost, as JSON on stdout.

    python tests/indexer/bomb_probe.py {decompression|references} N

``decompression``: N envelopes in one block, each a 54-byte brotli body that expands to
32 MiB (the attack of the hardening issue: 20 of them took 1.87 GiB before the block budget).
``references``: N text envelopes, each a brotli body of distinct ``/r/sat/<n>`` paths.
The block goes through what the follower does to it: verify, scan, decode within the block's
budgets, build the shard tables, write them. Memory is the process's own: resident before,
and the high-water mark from there (``tests/memory.py``).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import brotli

sys.path.insert(0, str(Path(__file__).parents[1] / "btc"))
sys.path.insert(0, str(Path(__file__).parents[1]))

from blocks import block_with_commitments, envelope, reveal_script
from memory import peak_rss_mb, reset_peak_rss, rss_mb

from btc import OutPoint, Transaction, TxIn, TxOut
from btc.commitments import verify_block
from btc.scan import scan_block
from indexer.shards import tables_for_blocks, write_shard

PER_TX = 50  # envelopes per reveal transaction


def bodies(kind: str, n: int) -> list[tuple[bytes, bytes]]:
    if kind == "decompression":
        bomb = brotli.compress(b"\0" * (32 << 20))
        return [(b"application/octet-stream", bomb)] * n
    text = "".join(f"/r/sat/{i} " for i in range(200_000)).encode()
    return [(b"text/plain", brotli.compress(text + str(i).encode(), quality=5)) for i in range(n)]


def block(kind: str, n: int) -> bytes:
    items = bodies(kind, n)
    txs = []
    for t in range(0, n, PER_TX):
        envs = [
            envelope(b"\x01", ctype, b"\x09", b"br", b"", body)
            for ctype, body in items[t : t + PER_TX]
        ]
        tapscript = reveal_script(*envs)
        witness = (b"\x01" * 64, tapscript, b"\xc0" + b"\x03" * 32)
        txs.append(
            Transaction(
                2,
                (TxIn(OutPoint(t.to_bytes(32, "little"), 0), b"", 0xFFFFFFFD, witness),),
                (TxOut(546, b"\x51\x20" + b"\x07" * 32),),
            )
        )
    return block_with_commitments(txs).serialize()


def main() -> None:
    kind, n = sys.argv[1], int(sys.argv[2])
    raw = block(kind, n)
    reset_peak_rss()
    before = rss_mb()
    start = time.perf_counter()
    verify_block(raw)
    scanned = scan_block(raw)
    tables = tables_for_blocks([(1, scanned)])
    with tempfile.TemporaryDirectory() as out:
        write_shard(tables, Path(out), name="000000001")
    seconds = time.perf_counter() - start
    ins = tables.inscriptions
    errors = Counter((e or "").split(";")[0] for e in ins.column("body_decode_error").to_pylist())
    decoded = [b for b in ins.column("body_decoded").to_pylist() if b is not None]
    print(
        json.dumps(
            {
                "block_bytes": len(raw),
                "envelopes": ins.num_rows,
                "decoded_bodies": len(decoded),
                "decoded_bytes": sum(map(len, decoded)),
                "errors": dict(errors),
                "refs": tables.inscription_refs.num_rows,
                "refs_errors": sum(e is not None for e in ins.column("refs_error").to_pylist()),
                "raw_kept": all(x is not None for x in ins.column("body_sha256").to_pylist()),
                "seconds": round(seconds, 2),
                "rss_before_mb": round(before),
                "peak_rss_mb": round(peak_rss_mb()),
            }
        )
    )


if __name__ == "__main__":
    main()
