"""Deterministic secp256k1 keys and BIP340 Schnorr signing for the devnet.

Keys are derived from a seed with a tagged hash, and BIP340's auxiliary randomness is derived
from the seed and the message, so the same seed always yields byte-identical signatures (BIP340
allows any aux value; a fixed derivation keeps its nonce-misuse protection while making blocks
reproducible). These keys guard regtest coins only: never reuse a devnet seed elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from hashlib import sha256

from coincurve import PrivateKey, PublicKeyXOnly

from devnet.errors import BadArgumentError

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def tagged_hash(tag: str, data: bytes) -> bytes:
    """BIP340 tagged hash: SHA256(SHA256(tag) ‖ SHA256(tag) ‖ data)."""
    t = sha256(tag.encode()).digest()
    return sha256(t + t + data).digest()


@dataclass(frozen=True, slots=True)
class KeyPair:
    """A secp256k1 secret with its BIP340 x-only public key.

    ``aux_seed`` feeds the deterministic BIP340 auxiliary randomness (see module docstring).
    """

    secret: bytes
    aux_seed: bytes = b""

    def __post_init__(self) -> None:
        if len(self.secret) != 32:
            raise BadArgumentError(f"secret key must be 32 bytes, got {len(self.secret)}")
        d = int.from_bytes(self.secret, "big")
        if not 0 < d < SECP256K1_N:
            raise BadArgumentError("secret key out of range [1, n-1]")

    @property
    def xonly(self) -> bytes:
        """The 32-byte x-only public key (BIP340)."""
        return PublicKeyXOnly.from_secret(self.secret).format()

    @property
    def has_odd_y(self) -> bool:
        return PrivateKey(self.secret).public_key.format(compressed=True)[0] == 3

    def sign(self, msg32: bytes) -> bytes:
        """BIP340 signature of a 32-byte message with deterministic aux randomness."""
        if len(msg32) != 32:
            raise BadArgumentError(f"BIP340 message must be 32 bytes, got {len(msg32)}")
        aux = tagged_hash("devnet/aux", self.aux_seed + self.secret + msg32)
        return PrivateKey(self.secret).sign_schnorr(msg32, aux)

    def tweaked(self, tweak: bytes) -> KeyPair:
        """The secret of the BIP341 output key Q = P + t·G with P the even-y lift of this key."""
        d = int.from_bytes(self.secret, "big")
        if self.has_odd_y:
            d = SECP256K1_N - d
        t = int.from_bytes(tweak, "big")
        if t >= SECP256K1_N:
            raise BadArgumentError("taproot tweak exceeds the curve order")
        d2 = (d + t) % SECP256K1_N
        if d2 == 0:
            raise BadArgumentError("tweaked secret is zero")
        return KeyPair(d2.to_bytes(32, "big"), self.aux_seed)


def derive_key(seed: bytes, label: str) -> KeyPair:
    """The key named ``label`` under ``seed`` (retries the astronomically rare invalid scalar)."""
    counter = 0
    while True:
        secret = tagged_hash("devnet/key", seed + label.encode() + counter.to_bytes(4, "big"))
        if 0 < int.from_bytes(secret, "big") < SECP256K1_N:
            return KeyPair(secret, aux_seed=seed)
        counter += 1


def verify_schnorr(xonly: bytes, msg32: bytes, sig: bytes) -> bool:
    """BIP340 verification (used in tests and sanity checks)."""
    return PublicKeyXOnly(xonly).verify(sig, msg32)
