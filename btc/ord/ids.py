"""Inscription ids: ``<txid>i<n>`` text and the binary form used in parent/delegate fields."""

from __future__ import annotations

import re
from dataclasses import dataclass

from btc.hashes import hash_to_hex

_ID_RE = re.compile(r"^([0-9a-f]{64})i(0|[1-9][0-9]*)$")


@dataclass(frozen=True, slots=True, order=True)
class InscriptionId:
    txid: str  # display hex
    index: int

    def __str__(self) -> str:
        return f"{self.txid}i{self.index}"

    @classmethod
    def parse(cls, text: str) -> InscriptionId:
        match = _ID_RE.match(text)
        if match is None or int(match.group(2)) > 0xFFFFFFFF:
            raise ValueError(f"not an inscription id: {text!r}")
        return cls(match.group(1), int(match.group(2)))

    def to_field(self) -> bytes:
        """The binary field form: txid in internal order, index LE with trailing zeros trimmed."""
        index = self.index.to_bytes(4, "little").rstrip(b"\x00")
        return bytes.fromhex(self.txid)[::-1] + index


def decode_inscription_id_field(value: bytes) -> InscriptionId | None:
    """ord's ``inscription_id_field``: 32 bytes of txid then a 0-4 byte LE index.

    A 1-3 byte index ending in a zero byte is invalid; a full 4-byte index may end in zeros.
    """
    if not 32 <= len(value) <= 36:
        return None
    index_bytes = value[32:]
    if index_bytes and len(index_bytes) != 4 and index_bytes[-1] == 0:
        return None
    return InscriptionId(hash_to_hex(value[:32]), int.from_bytes(index_bytes, "little"))
