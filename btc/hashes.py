"""Double SHA-256 and the byte-order conventions of Bitcoin hashes."""

from __future__ import annotations

from hashlib import sha256


def sha256d(data: bytes | memoryview) -> bytes:
    """SHA256(SHA256(data)), in internal byte order."""
    return sha256(sha256(data).digest()).digest()


def hash_to_hex(h: bytes) -> str:
    """Internal byte order to the reversed hex people read (txids, block hashes)."""
    return h[::-1].hex()


def hex_to_hash(s: str) -> bytes:
    """Reversed display hex back to internal byte order; raises ValueError if not 32 bytes."""
    raw = bytes.fromhex(s)
    if len(raw) != 32:
        raise ValueError(f"expected 32-byte hash hex, got {len(raw)} bytes")
    return raw[::-1]
