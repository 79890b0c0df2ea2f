"""Protocol crypto throughput: threshold Paillier shares (§8), packages (§5), ECVRF (§4).

    uv run python bench/protocol_crypto.py [--key 2048_n9_t5] [--repeat 20] [--keygen 0]

Single core, wall clock (time.perf_counter), median of ``--repeat`` runs per operation.
Uses the cached TEST key from tests/drey/data/paillier_test_keys.json (``--keygen K``
also times K fresh key generations at the same size).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from drey.crypto import ecvrf
from drey.crypto import package as pkg
from drey.crypto import paillier as pl

KEYS_FILE = (
    Path(__file__).resolve().parents[1] / "tests" / "drey" / "data" / "paillier_test_keys.json"
)


def _median(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _row(name: str, seconds: float) -> None:
    print(f"| {name:<52} | {seconds * 1e3:10.3f} ms | {1 / seconds:12.1f} /s |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--key", default="2048_n9_t5", help="cached key set name")
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--keygen", type=int, default=0, help="also time this many key generations")
    args = ap.parse_args()

    doc = json.loads(KEYS_FILE.read_text())
    d = pl.PaillierDealing.from_dict(doc["keys"][args.key])
    pk = d.public
    n_bits = pk.n.bit_length()
    print(
        f"key {args.key}: n {n_bits} bits, N = {pk.players}, t = {pk.threshold}, "
        f"ℓ₂ = {pk.l2} B, z = {pk.z_len} B; repeat {args.repeat}; pid {os.getpid()}"
    )
    print("| operation | median | rate |")
    print("|---|---|---|")

    k = os.urandom(32)
    kem = pl.encrypt(pk, int.from_bytes(k, "big"))
    ks = d.share(1)
    _row(
        f"paillier encrypt (m < 2^256), {n_bits}-bit n",
        _median(lambda: pl.encrypt(pk, 12345), args.repeat),
    )
    _row(
        "decryption share c_i + proof (per share)",
        _median(lambda: pl.decryption_share(pk, ks, kem), args.repeat),
    )
    ds = pl.decryption_share(pk, ks, kem)
    _row(
        "verify share proof (per share)", _median(lambda: pl.verify_share(pk, kem, ds), args.repeat)
    )
    wire = ds.serialize(pk)
    _row(
        "decode + size/range check of a share entry",
        _median(
            lambda: (
                pl.share_entry_reason(pk, *wire),
                pl.DecryptionShare.deserialize(pk, 1, *wire),
            ),
            args.repeat,
        ),
    )
    shares = [pl.decryption_share(pk, d.share(i), kem) for i in range(1, pk.threshold + 1)]
    _row(
        f"combine t = {pk.threshold} shares",
        _median(lambda: pl.combine_shares(pk, shares), args.repeat),
    )
    assert pl.combine_shares(pk, shares) == int.from_bytes(k, "big")

    ad = pkg.package_ad("lead", "2026-01", 0, b"\x01" * 32)
    for size in (1_000, 350_000):
        body = os.urandom(size)
        _row(
            f"package seal {size:,} B (k, Paillier kem, AEAD)",
            _median(lambda b=body: pkg.seal(pk, b, ad), args.repeat),
        )
        sealed, key = pkg.seal(pk, body, ad)
        _row(
            f"package decrypt {size:,} B given k",
            _median(
                lambda s=sealed, kk=key: pkg.decrypt_package(kk, s.nonce, s.ct, ad), args.repeat
            ),
        )
        _row(
            f"package size/range checks {size:,} B",
            _median(lambda s=sealed: pkg.package_reason(pk, s.kem, s.nonce, s.ct), args.repeat),
        )

    sk = os.urandom(32)
    vpk = ecvrf.public_key(sk)
    alpha = b"drey/1/vrf" + b"2026-01" + bytes(4) + bytes(32)
    reps = max(args.repeat, 200)
    _row("ecvrf prove", _median(lambda: ecvrf.prove(sk, alpha), reps))
    pi = ecvrf.prove(sk, alpha)
    _row("ecvrf verify (with key validation)", _median(lambda: ecvrf.verify(vpk, pi, alpha), reps))

    for _ in range(args.keygen):
        start = time.perf_counter()
        pl.generate_key(n_bits, pk.players, pk.threshold)
        _row(f"key generation {n_bits} bits, N = {pk.players}", time.perf_counter() - start)


if __name__ == "__main__":
    main()
