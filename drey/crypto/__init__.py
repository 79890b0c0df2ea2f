"""Cryptographic primitives of the Drey protocol (PROTOCOL.md §1, §4, §5, §7, §8)."""
