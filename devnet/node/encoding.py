"""Address and descriptor encodings Core prints in RPC results.

Bech32/bech32m (BIP173/BIP350), Base58Check, and the output-descriptor checksum (BIP380,
Core's ``DescriptorChecksum``).
"""

from __future__ import annotations

from hashlib import sha256

_BECH32_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_CONST = 1
_BECH32M_CONST = 0x2BC830A3
_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

_DESC_INPUT_CHARSET = (
    "0123456789()[],'/*abcdefgh@:$%{}"
    "IJKLMNOPQRSTUVWXYZ&+-.;<=>?!^_|~"
    'ijklmnopqrstuvwxyzABCDEFGH`#"\\ '
)
_DESC_GENERATOR = (0xF5DEE51989, 0xA9FDCA3312, 0x1BAB10E32D, 0x3706B1677A, 0x644D626FFD)


def _bech32_polymod(values: list[int]) -> int:
    gen = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if (top >> i) & 1 else 0
    return chk


def _convertbits(data: bytes, frombits: int, tobits: int) -> list[int]:
    acc = bits = 0
    out = []
    maxv = (1 << tobits) - 1
    for b in data:
        acc = (acc << frombits) | b
        bits += frombits
        while bits >= tobits:
            bits -= tobits
            out.append((acc >> bits) & maxv)
    if bits:
        out.append((acc << (tobits - bits)) & maxv)
    return out


def encode_segwit_address(hrp: str, version: int, program: bytes) -> str:
    """Bech32 for witness v0, bech32m for v1+ (BIP350)."""
    data = [version, *_convertbits(program, 8, 5)]
    const = _BECH32_CONST if version == 0 else _BECH32M_CONST
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    polymod = _bech32_polymod(expanded + data + [0] * 6) ^ const
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(_BECH32_CHARSET[d] for d in data + checksum)


def encode_base58check(payload: bytes) -> str:
    data = payload + sha256(sha256(payload).digest()).digest()[:4]
    n = int.from_bytes(data, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = _B58[r] + out
    pad = len(data) - len(data.lstrip(b"\x00"))
    return "1" * pad + out


def descriptor_checksum(desc: str) -> str:
    """The 8-character BIP380 checksum (``raw(deadbeef)`` → ``89f8spxm``)."""
    symbols: list[int] = []
    groups: list[int] = []
    for ch in desc:
        v = _DESC_INPUT_CHARSET.find(ch)
        if v < 0:
            raise ValueError(f"character {ch!r} not allowed in a descriptor")
        symbols.append(v & 31)
        groups.append(v >> 5)
        if len(groups) == 3:
            symbols.append(groups[0] * 9 + groups[1] * 3 + groups[2])
            groups = []
    if len(groups) == 1:
        symbols.append(groups[0])
    elif len(groups) == 2:
        symbols.append(groups[0] * 3 + groups[1])
    chk = 1
    for value in [*symbols, 0, 0, 0, 0, 0, 0, 0, 0]:
        top = chk >> 35
        chk = (chk & 0x7FFFFFFFF) << 5 ^ value
        for i in range(5):
            chk ^= _DESC_GENERATOR[i] if (top >> i) & 1 else 0
    chk ^= 1
    return "".join(_BECH32_CHARSET[(chk >> (5 * (7 - i))) & 31] for i in range(8))


def with_checksum(desc: str) -> str:
    return f"{desc}#{descriptor_checksum(desc)}"
