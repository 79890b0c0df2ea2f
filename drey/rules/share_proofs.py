"""Decryption-share proof verification, memoised by content and optionally on worker processes.

Verifying one share's Chaum–Pedersen proof costs four 4096-bit modular exponentiations (about
40 ms on one core), and a chain holds N·P of them per round: they are nearly all of an
evaluation's time. :func:`~drey.crypto.paillier.verify_share` is a pure function of the public
key, the package's kem and the share, so its verdicts can be kept:

- across evaluations, in the caller's :class:`~drey.rules.memo.Memo` (the pipelines persist
  theirs in the warehouse store), keyed by :func:`verdict_key`, a SHA-256 of every input the
  verdict depends on. A new evaluation of a grown chain then verifies only the new shares,
  which is what keeps block-to-warehouse latency low;
- on ``workers`` processes for the ones not yet known (gmpy2 holds the GIL, so threads would
  not help). Worker processes start from a ``forkserver``, never by forking the caller, which
  may have threads (Dagster's do).

Limits: with ``workers`` > 1 the program's main module must be importable without side
effects (the usual ``if __name__ == "__main__":`` guard), as for any ``spawn``/``forkserver``
pool. Verdicts are trusted as stored (as everything in a memo); a caller that shares its mapping with untrusted
writers gets their verdicts. The pool is created on first use and lives until :meth:`close`.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field

from drey.crypto.paillier import DecryptionShare, PaillierPublicKey, verify_share
from drey.rules.memo import Memo, memo_key

__all__ = ["ShareVerifier", "verdict_key"]


def verdict_key(pk: PaillierPublicKey, kem: int, ds: DecryptionShare) -> bytes:
    """The memo key of everything :func:`verify_share` reads: the key (n, v, roster size, the
    index's verification key), the kem and the share with its proof."""
    vk = pk.vks[ds.index - 1] if 1 <= ds.index <= len(pk.vks) else 0
    return memo_key(
        "share-proof/1", pk.n, pk.v, pk.players, ds.index, vk, kem, ds.share, ds.e, ds.z
    )


def _verify_chunk(pk: PaillierPublicKey, jobs: Sequence[tuple[int, DecryptionShare]]) -> list[bool]:
    return [verify_share(pk, kem, ds) for kem, ds in jobs]


@dataclass
class ShareVerifier:
    """Verifies share proofs for the rules engine. ``memo`` keeps the verdicts (the caller's,
    if they should outlive one evaluation); ``workers`` > 1 verifies unknown proofs on that
    many processes. Use as a context manager, or call :meth:`close`."""

    memo: Memo = field(default_factory=Memo)
    workers: int = 1
    # Below this many unknown proofs a pool costs more than it saves (its start is ~0.5 s).
    pool_min_jobs: int = 8
    verified: int = 0  # proofs actually checked (memo misses), for reports and tests
    remembered: int = 0  # proofs whose verdict the memo had
    _pool: Executor | None = field(default=None, repr=False)

    def verify(
        self, pk: PaillierPublicKey, jobs: Sequence[tuple[int, DecryptionShare]]
    ) -> list[bool]:
        """The verdict of each ``(kem, share)`` under ``pk``, in order."""
        keys = [verdict_key(pk, kem, ds) for kem, ds in jobs]
        unknown: dict[bytes, tuple[int, DecryptionShare]] = {}
        for key, job in zip(keys, jobs, strict=True):
            if key in unknown:
                continue
            if self.memo.lookup(key):
                self.remembered += 1
            else:
                unknown[key] = job
        if unknown:
            todo = list(unknown.values())
            for key, ok in zip(unknown, self._run(pk, todo), strict=True):
                self.memo.entries[key] = ok
            self.verified += len(todo)
        return [bool(self.memo.entries[k]) for k in keys]

    def _run(self, pk: PaillierPublicKey, jobs: list[tuple[int, DecryptionShare]]) -> list[bool]:
        if self.workers <= 1 or len(jobs) < self.pool_min_jobs:
            return _verify_chunk(pk, jobs)
        if self._pool is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["drey.rules.share_proofs"])
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=context)
        # Interleaved chunks, one per worker: proofs cost the same, so this balances.
        chunks = [jobs[w :: self.workers] for w in range(self.workers)]
        results = list(self._pool.map(_verify_chunk, [pk] * len(chunks), chunks))
        out: list[bool] = [False] * len(jobs)
        for w, chunk_result in enumerate(results):
            out[w :: self.workers] = chunk_result
        return out

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def __enter__(self) -> ShareVerifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
