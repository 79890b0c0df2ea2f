"""Results of the rules' pure and costly computations, kept by content between evaluations.

An evaluation re-applies the whole protocol to the whole chain (months depend on the months
before them), so a chain that grew by one block is evaluated again from its first params. Most
of that work is pure and its inputs rarely change: a plan's operator signature, a month's
formula run and its Poseidon tree, and every decryption-share proof
(:mod:`drey.rules.share_proofs`). :class:`Memo` keeps their results under a SHA-256 of every
input (:func:`memo_key`), in a mapping the caller owns; the pipelines persist it in the
warehouse store, so a sensor tick recomputes only what new blocks changed.

Limits: values are trusted as stored (a caller that shares its mapping with untrusted writers
gets their answers). :meth:`Memo.used_entries` leaves out what this evaluation did not ask
for, which keeps a persisted memo the size of the chain's current needs (results for rows a
reorg replaced are dropped).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from typing import TypeVar

__all__ = ["Memo", "memo_key"]

T = TypeVar("T")


def _encode(part: bytes | str | int) -> bytes:
    # Exact types, not isinstance: True must not key like 1, nor a bytes subclass like bytes.
    kind = type(part)
    if kind is bytes:
        assert isinstance(part, bytes)
        body, tag = part, b"b"
    elif kind is str:
        assert isinstance(part, str)
        body, tag = part.encode(), b"s"
    elif kind is int:
        assert isinstance(part, int)
        # Two's complement, big-endian: linear in the size (4096-bit Paillier values).
        body, tag = part.to_bytes(part.bit_length() // 8 + 1, "big", signed=True), b"i"
    else:
        raise TypeError(f"memo key parts are bytes, str or int, not {kind.__name__}")
    return tag + len(body).to_bytes(8, "big") + body


def memo_key(tag: str, *parts: bytes | str | int) -> bytes:
    """SHA-256 of ``tag`` and ``parts``, each typed and length-prefixed (no two different
    inputs share an encoding)."""
    return hashlib.sha256(b"".join([_encode(tag), *map(_encode, parts)])).digest()


@dataclass
class Memo:
    """A content-keyed cache of results; ``entries`` is the caller's mapping."""

    entries: MutableMapping[bytes, object] = field(default_factory=dict)
    hits: int = 0
    misses: int = 0
    _used: set[bytes] = field(default_factory=set, repr=False)

    def get_or_compute(self, key: bytes, compute: Callable[[], T]) -> T:
        """The stored result for ``key``, or ``compute()`` stored under it."""
        if self.lookup(key):
            return self.entries[key]  # type: ignore[return-value]
        value = compute()
        self.entries[key] = value
        return value

    def lookup(self, key: bytes) -> bool:
        """Whether ``key`` has a stored result (counted as a hit or a miss; a caller that
        computes results in batches stores them in :attr:`entries` itself)."""
        self._used.add(key)
        if key in self.entries:
            self.hits += 1
            return True
        self.misses += 1
        return False

    def used_entries(self) -> dict[bytes, object]:
        """The entries read or written by this memo's calls (what is worth keeping)."""
        return {k: self.entries[k] for k in self._used if k in self.entries}
